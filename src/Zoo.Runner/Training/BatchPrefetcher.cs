using Zoo.Core.Tasks;
using static TorchSharp.torch;

namespace Zoo.Runner.Training;

/// <summary>
/// Hands the trainer the training batch of each step and meanwhile builds the next step's on a background thread, so
/// that on a GPU the host-side generator runs while the device trains. Batches stay exactly those of
/// <see cref="Generate"/> (examples <c>[step · B, (step + 1) · B)</c> of the training split, a pure function of the
/// task, seed and step), in the same order; a request the prefetch did not foresee (a curriculum's next level) is
/// built on the spot.
/// </summary>
/// <remarks>
/// The background build is used on a GPU only. On the CPU it gains nothing (the trainer and the generator share the
/// process's cores, one thread per process in Zoo's suites), and with it CPU runs failed mid-training with native
/// errors ("Expected false to be true", "Unknown scalar type", an internal assert in c10's Scalar): 6 of 10 runs in a
/// SelectivBench suite and 1 of 9 MQAR runs. The errors look like a native object (a scalar or tensor handle) freed by
/// the garbage collector's finalizer during a native call, which a second allocating thread makes far more likely; the
/// same error appeared twice, without the prefetcher, in a long single-threaded bench. Whether a GPU run is exposed the
/// same way is not yet checked.
/// </remarks>
public sealed class BatchPrefetcher : IDisposable
{
    private readonly long _seed;
    private readonly int _batch, _steps;
    private readonly Device _device;
    private readonly bool _background;
    private (ISequenceTask Task, int Step, Task<TaskBatch> Batch)? _next;

    /// <summary>Batches of <paramref name="batch"/> examples with data seed <paramref name="seed"/>, for steps below
    /// <paramref name="steps"/>, moved to <paramref name="device"/>; the next batch is built on a background thread when
    /// <paramref name="background"/> is true (default: on a GPU, not on the CPU; see the remarks).</summary>
    public BatchPrefetcher(long seed, int batch, int steps, Device device, bool? background = null) =>
        (_seed, _batch, _steps, _device, _background) = (seed, batch, steps, device, background ?? device.type != TorchSharp.DeviceType.CPU);

    /// <summary>The reference form: the training batch of <paramref name="step"/>, built on the calling thread.</summary>
    public static TaskBatch Generate(ISequenceTask task, long seed, int batch, int step) =>
        task.Batch(Split.Train, seed, (long)step * batch, batch);

    /// <summary>
    /// The batch of <paramref name="step"/> on the device (the caller disposes it), starting the build of step + 1's.
    /// </summary>
    public TaskBatch Take(ISequenceTask task, int step)
    {
        TaskBatch? built = null;   // host tensors a background thread made: released there too (see Release)
        TaskBatch moved;
        if (_next is { } next && ReferenceEquals(next.Task, task) && next.Step == step)
        {
            _next = null;
            built = Wait(next.Batch);   // a failed build rethrows the task's own exception, trace kept
            try
            {
                moved = built.To(_device);   // always new tensors, made by (and counted on) the caller's thread
            }
            catch (Exception)
            {
                Release(built);   // a device that cannot take the batch (out of memory) must not leak the host copy
                throw;
            }
        }
        else
        {
            Discard();
            using var host = Generate(task, _seed, _batch, step);
            moved = host.To(_device);
        }
        if (_background && step + 1 < _steps)
            _next = (task, step + 1, Task.Run(() =>
            {
                built?.Dispose();
                return Generate(task, _seed, _batch, step + 1);
            }));
        else if (built is not null)
            Release(built);
        return moved;
    }

    /// <summary>Waits for a batch still being built and disposes it.</summary>
    public void Dispose() => Discard();

    private void Discard()
    {
        if (_next is not { } next) return;
        _next = null;
        TaskBatch batch;
        try
        {
            batch = Wait(next.Batch);
        }
        catch (Exception)
        {
            return;   // a batch nobody asked for failed to build: the step that would have used it never runs
        }
        Release(batch);
    }

    // Host tensors are disposed on a background thread like the one that made them, so the caller's per-thread
    // tensor statistics (DisposeScopeManager.Statistics, which the trainer's leak test reads) stay balanced.
    private static void Release(TaskBatch batch) => Wait(Task.Run(() => { batch.Dispose(); return batch; }));

    // Waits for background work without doing it here: Task.Wait and GetResult run a task that has not started yet on
    // the waiting thread (inlining, the usual case when the thread pool is busy), which built or released batches on
    // the trainer's thread, inside its step's dispose scope, and unbalanced its tensor statistics.
    private static T Wait<T>(Task<T> task)
    {
        ((IAsyncResult)task).AsyncWaitHandle.WaitOne();
        return task.GetAwaiter().GetResult();   // completed by now; a failure rethrows its own exception
    }
}
