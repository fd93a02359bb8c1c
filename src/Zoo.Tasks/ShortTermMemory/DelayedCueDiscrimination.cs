using Zoo.Core.Options;
using Zoo.Core.Registry;
using Zoo.Core.Tasks;
using static TorchSharp.torch;

namespace Zoo.Tasks.ShortTermMemory;

/// <summary>Options of <see cref="DelayedCueDiscrimination"/>; one step is dt = 5 ms.</summary>
public sealed record DelayedCueOptions
{
    /// <summary>Delay T between the end of the cue and the response window (paper: 0–80 steps = 0–400 ms, in steps of 4).</summary>
    [Option("delay T between cue and response window, in steps of dt = 5 ms (paper grid: 0, 4, …, 80)", Min = 0, Max = 80)]
    public int Delay { get; init; } = 20;

    /// <summary>Cue length: one of the two input channels is 1 for these first steps (30 ms).</summary>
    [Option("cue length in steps (paper: 6 = 30 ms)", Min = 1, Max = 1000)]
    public int CueSteps { get; init; } = 6;

    /// <summary>Response window: the target is the cue's one-hot code for these steps (50 ms).</summary>
    [Option("response window in steps (paper: 10 = 50 ms)", Min = 1, Max = 1000)]
    public int ResponseSteps { get; init; } = 10;

    /// <summary>Steps after the window where the target is 0 again (the paper's "post" variant uses 6); 0 = none.</summary>
    [Option("post-response steps with target 0 (0 = none; the paper's post variant: 6)", Min = 0, Max = 1000)]
    public int PostSteps { get; init; }

    /// <summary>Test set size (the trials alternate between the two cues).</summary>
    [Option("test examples", Min = 2)]
    public int TestExamples { get; init; } = 128;
}

/// <summary>
/// Where the phases of a delayed-cue trial lie on the time axis: cue [0, C), delay [C, C + T), response window
/// [C + T, C + T + R), post-response [C + T + R, L). The loss weight is shared by every trial of a layout.
/// </summary>
/// <param name="CueSteps">C.</param>
/// <param name="Delay">T.</param>
/// <param name="ResponseSteps">R.</param>
/// <param name="PostSteps">P.</param>
public sealed record DelayedCueLayout(int CueSteps, int Delay, int ResponseSteps, int PostSteps)
{
    /// <summary>The layout of <paramref name="o"/>.</summary>
    public static DelayedCueLayout From(DelayedCueOptions o) => new(o.CueSteps, o.Delay, o.ResponseSteps, o.PostSteps);

    /// <summary>Trial length L = C + T + R + P.</summary>
    public int Length => CueSteps + Delay + ResponseSteps + PostSteps;

    /// <summary>First step of the response window.</summary>
    public int ResponseStart => CueSteps + Delay;

    /// <summary>One past the last step of the response window.</summary>
    public int ResponseEnd => ResponseStart + ResponseSteps;

    /// <summary>
    /// Per-step loss weights [L]: the last k = R + P steps (the response window and the post-response period) weigh
    /// 1 − k/L and every earlier step k/L. This is the authors' code (<c>weights[:, -k:] = 1 − k/T</c>, k = 10 without
    /// and 16 with the post period), which the paper summarises as "1 − 10/T_total on response steps".
    /// </summary>
    public double[] Weights()
    {
        int k = ResponseSteps + PostSteps, l = Length;
        double w = (double)k / l;
        return Enumerable.Range(0, l).Select(t => t >= l - k ? 1 - w : w).ToArray();
    }
}

/// <summary>
/// Delayed cue discrimination (Kurtkaya et al., "Dynamical phases of short-term memory mechanisms in RNNs"; settings
/// from the authors' public code): a cue on one of two input channels for 6 steps, a silent delay of T steps, then a
/// 10-step response window in which the output must show the cue's one-hot code; no go cue, so the network times its
/// own answer. Targets are 0 outside the window. The model's outputs are read through a sigmoid (the paper's readout)
/// and scored by a weighted MSE (<see cref="DelayedCueLayout.Weights"/>). Accuracy is the fraction of window steps
/// whose larger output is the cue's channel; reliability is the mean share x_c / (x_0 + x_1) of the cue's channel c
/// over the window (the authors' <c>calculate_accuracy</c>). Chance is 1/2 for both.
/// </summary>
/// <remarks>
/// Example i cues channel i mod 2, so every even-sized batch is balanced like the authors' full batch (64 trials of
/// each cue). Trials carry no randomness (the paper's noise lives in the network), so seed and split do not change
/// them. The authors score the window shifted one step early (<c>reaction_start = (input + delay)/dt − 1</c>); Zoo
/// scores the window itself.
/// </remarks>
[ZooTask("delayed-cue", typeof(DelayedCueOptions), Summary = "delayed cue discrimination: remember which of 2 channels was cued across a delay (Kurtkaya et al.)")]
public sealed class DelayedCueDiscrimination : ISequenceTask
{
    private readonly DelayedCueOptions _o;

    /// <summary>Builds the task.</summary>
    public DelayedCueDiscrimination(DelayedCueOptions options)
    {
        _o = options;
        Layout = DelayedCueLayout.From(options);
    }

    /// <summary>Phase boundaries of every trial.</summary>
    public DelayedCueLayout Layout { get; }

    /// <inheritdoc />
    public TaskSignature Signature => new(0, 2, 2, Layout.Length);

    /// <inheritdoc />
    public string PrimaryMetric => "accuracy";

    /// <inheritdoc />
    public bool HigherIsBetter => true;

    /// <inheritdoc />
    public int TestExamples => _o.TestExamples;

    /// <summary>The channel cued in example <paramref name="index"/>.</summary>
    public static int CueChannel(long index) => (int)(index % 2);

    /// <inheritdoc />
    public TaskBatch Batch(Split split, long seed, long firstExample, int count) => Trials(Layout, firstExample, count);

    /// <summary>Trials <c>[first, first + count)</c> of <paramref name="layout"/> (float32 on the CPU).</summary>
    public static TaskBatch Trials(DelayedCueLayout layout, long first, int count)
    {
        int l = layout.Length;
        var x = new float[count * l * 2];
        var y = new float[count * l * 2];
        var mask = new bool[count * l];
        for (int b = 0; b < count; b++)
        {
            int c = CueChannel(first + b);
            for (int t = 0; t < layout.CueSteps; t++) x[(b * l + t) * 2 + c] = 1;
            for (int t = layout.ResponseStart; t < layout.ResponseEnd; t++)
            {
                y[(b * l + t) * 2 + c] = 1;
                mask[b * l + t] = true;
            }
        }
        return new TaskBatch(tensor(x, new long[] { count, l, 2 }), tensor(y, new long[] { count, l, 2 }), tensor(mask, new long[] { count, l }));
    }

    /// <inheritdoc />
    public Tensor Loss(Tensor output, TaskBatch batch) => WeightedMse(Layout, output.sigmoid(), batch.Targets);

    /// <inheritdoc />
    public IReadOnlyDictionary<string, MetricTally> Metrics(Tensor output, TaskBatch batch)
    {
        using var scope = NewDisposeScope();
        var (acc, rel) = Scores(Layout, output.sigmoid(), batch.Targets);
        double n = batch.Size * Layout.ResponseSteps;
        return new Dictionary<string, MetricTally>
        {
            ["accuracy"] = new(acc.to(ScalarType.Float64).item<double>() * n, n),
            ["reliability"] = new(rel.to(ScalarType.Float64).item<double>() * n, n),
        };
    }

    /// <summary>
    /// Weighted MSE of sigmoid outputs <paramref name="probs"/> <c>[..., B, L, 2]</c> against <paramref name="targets"/>
    /// <c>[B, L, 2]</c>: the mean over B, L and channels of w_t (p − y)², one value per leading index (an ensemble's
    /// networks get one loss each).
    /// </summary>
    public static Tensor WeightedMse(DelayedCueLayout layout, Tensor probs, Tensor targets)
    {
        var w = tensor(layout.Weights(), dtype: probs.dtype, device: probs.device).unsqueeze(-1);
        return ((probs - targets).square() * w).mean(new long[] { -3, -2, -1 });
    }

    /// <summary>
    /// Accuracy and reliability of <paramref name="probs"/> <c>[..., B, L, 2]</c> over the response window, averaged
    /// over trials and window steps (one value per leading index). The outputs are normalised to shares
    /// p_c / (p_0 + p_1) (NaN → 0, as the authors' <c>nan_to_num</c>); a tie counts as channel 0, as argmax does.
    /// <paramref name="shift"/> moves the scored window: −1 is the authors' window (one step early: the last delay
    /// step, whose all-zero target makes channel 0 the "truth", and the window without its last step).
    /// </summary>
    public static (Tensor Accuracy, Tensor Reliability) Scores(DelayedCueLayout layout, Tensor probs, Tensor targets, int shift = 0)
    {
        int start = layout.ResponseStart + shift;
        if (start < 0 || start + layout.ResponseSteps > layout.Length)
            throw new ArgumentOutOfRangeException(nameof(shift), $"window shifted by {shift} leaves the trial of {layout.Length} steps");
        var p = probs.narrow(-2, start, layout.ResponseSteps);
        var share = (p / p.sum(-1, keepdim: true)).nan_to_num(0, 0, 0);
        var truth = targets.narrow(-2, start, layout.ResponseSteps).argmax(-1);
        var truthFull = truth.expand(share.shape[..^1]);
        var accuracy = (share.argmax(-1) == truthFull).to(probs.dtype).mean(new long[] { -2, -1 });
        var reliability = share.gather(-1, truthFull.unsqueeze(-1)).squeeze(-1).mean(new long[] { -2, -1 });
        return (accuracy, reliability);
    }
}
