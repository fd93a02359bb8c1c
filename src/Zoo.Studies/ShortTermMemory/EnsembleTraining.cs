using System.Diagnostics;
using Zoo.Tasks.ShortTermMemory;
using static TorchSharp.torch;

namespace Zoo.Studies.ShortTermMemory;

/// <summary>One network of an ensemble: its learning rate, seed and epoch budget.</summary>
/// <param name="Lr">Learning rate η.</param>
/// <param name="Seed">Seed of its initial weights, initial rates and noise.</param>
/// <param name="Epochs">Full-batch epochs it trains for.</param>
public sealed record EnsembleMember(double Lr, long Seed, int Epochs);

/// <summary>How one network of an ensemble trained: per-epoch loss, accuracy and reliability, and whether it diverged.</summary>
/// <param name="Member">The network.</param>
/// <param name="Loss">Weighted MSE per epoch (of the forward pass that epoch's step used).</param>
/// <param name="Accuracy">Response-window accuracy per epoch.</param>
/// <param name="Reliability">Response-window reliability per epoch.</param>
/// <param name="DivergedAt">First epoch whose loss or gradient was NaN/Inf (the network froze there), or −1.</param>
public sealed record NetworkHistory(EnsembleMember Member, double[] Loss, double[] Accuracy, double[] Reliability, int DivergedAt)
{
    /// <summary>Epochs actually trained.</summary>
    public int Epochs => Loss.Length;
}

/// <summary>Everything a sweep records about one trained network.</summary>
public sealed record NetworkResult(
    NetworkHistory History,
    TrainingOutcome Outcome,
    double Accuracy,
    double Reliability,
    double PowerShare,
    double OutputRms)
{
    /// <summary>FFT-test mechanism (trained networks only).</summary>
    public Mechanism? ByFft => Outcome == TrainingOutcome.Trained ? MemoryMechanism.FromPowerShare(PowerShare) : null;

    /// <summary>RMS-test mechanism (trained networks only).</summary>
    public Mechanism? ByRms => Outcome == TrainingOutcome.Trained ? MemoryMechanism.FromRms(OutputRms) : null;
}

/// <summary>
/// Trains a <see cref="RateRnnEnsemble"/> on the delayed cue task (Kurtkaya et al.): full batch of trials every epoch,
/// the task's weighted MSE per network, summed (networks share nothing, so each gets its own gradient), and
/// <see cref="StackedSgd"/>. A network stops at its own epoch budget; one whose loss or gradient becomes NaN/Inf is
/// frozen and marked diverged while the others go on. All bookkeeping stays on the device (no per-epoch sync);
/// one dispose scope per epoch.
/// </summary>
public static class EnsembleTraining
{
    /// <summary>How much longer than a trial the mechanism run lasts (the authors' 9×).</summary>
    public const int ExtendFactor = 9;

    /// <summary>
    /// Epochs between reads of which networks diverged (one device → host copy of <c>[E]</c> flags), so that diverged
    /// networks leave the computation even when no budget ends.
    /// </summary>
    public const int LeaveCheckEvery = 50;

    // Noise stream of the mechanism run (any fixed number other than the training stream's).
    private const ulong AnalysisStream = 0xA11A_1_5E5UL;

    /// <summary>
    /// Trains the networks of <paramref name="net"/> (one <see cref="EnsembleMember"/> each, same order), recording
    /// accuracy and reliability over the response window moved by <paramref name="scoreShift"/> steps (scores only:
    /// training does not read them).
    /// </summary>
    public static IReadOnlyList<NetworkHistory> Train(RateRnnEnsemble net, IReadOnlyList<EnsembleMember> members, DelayedCueLayout layout,
        int trials, double momentum, double weightDecay, Action<int, int>? progress = null, int scoreShift = 0)
    {
        if (members.Count != net.Size) throw new ArgumentException($"{members.Count} members for {net.Size} networks");
        var device = net.Device;
        int maxEpochs = members.Max(m => m.Epochs), e = net.Size;
        using var batch = DelayedCueDiscrimination.Trials(layout, 0, trials);
        using var inputs = batch.Inputs.to(net.Dtype, device);
        using var targets = batch.Targets.to(net.Dtype, device);
        using var sgd = new StackedSgd(net.Parameters, members.Select(m => m.Lr).ToList(), momentum, weightDecay);
        using var budget = tensor(members.Select(m => (long)m.Epochs).ToArray(), device: device);
        using var alive = ones(e, dtype: ScalarType.Bool, device: device);
        using var divergedAt = full(e, -1L, dtype: ScalarType.Int64, device: device);
        using var history = zeros(new long[] { maxEpochs, 3, e }, dtype: ScalarType.Float64, device: device);

        // Networks leave the computation when their budget ends or once they have diverged: the loop trains a subset
        // holding the rest, so an ensemble mixing budgets of 1,000 and 30,000 epochs costs what its networks need, not
        // E × 30,000. The ends are known in advance; divergence is read back at those moments and every
        // LeaveCheckEvery epochs (budgets that all end together give no other moment, and an ensemble of large
        // learning rates would otherwise compute its frozen networks to the end). The subset's weights go back into
        // the full ensemble when it shrinks and at the end.
        var work = net;
        long[] active = Enumerable.Range(0, e).Select(i => (long)i).ToArray();
        var index = tensor(active, device: device);
        var ends = members.Select(m => m.Epochs).Where(n => n < maxEpochs).ToHashSet();
        try
        {
            for (int epoch = 0; epoch < maxEpochs; epoch++)
            {
                if (ends.Contains(epoch) || (epoch > 0 && epoch % LeaveCheckEvery == 0))
                {
                    var stillAlive = alive.cpu().data<bool>().ToArray();
                    long[] keep = Enumerable.Range(0, active.Length).Where(p => members[(int)active[p]].Epochs > epoch && stillAlive[active[p]])
                        .Select(p => (long)p).ToArray();
                    if (keep.Length == 0) break;
                    if (keep.Length < active.Length)
                    {
                        var next = work.Subset(keep);
                        sgd.Narrow(keep, next.Parameters);
                        if (!ReferenceEquals(work, net))
                        {
                            net.CopyFrom(work, active);
                            work.Dispose();
                        }
                        work = next;
                        active = keep.Select(p => active[p]).ToArray();
                        index.Dispose();
                        index = tensor(active, device: device);
                    }
                }
                using var scope = NewDisposeScope();
                var running = (alive & budget.gt(epoch)).index_select(0, index);
                Tensor loss = null!;
                var (readout, grads) = work.Gradients(inputs, output =>
                {
                    loss = DelayedCueDiscrimination.WeightedMse(layout, output.sigmoid(), targets);  // [E]
                    return where(running, loss, zeros_like(loss)).sum();
                });
                using (no_grad())
                {
                    var (accuracy, reliability) = DelayedCueDiscrimination.Scores(layout, readout.sigmoid(), targets, scoreShift);
                    history[epoch].index_copy_(1, index, stack(new[] { loss.detach(), accuracy, reliability }).to(ScalarType.Float64));
                    var finite = loss.isfinite();
                    foreach (var g in grads) finite = finite & g.isfinite().flatten(1).all(1, false);
                    var failed = running & finite.logical_not();
                    divergedAt.index_copy_(0, index, where(failed, full_like(failed, epoch, dtype: ScalarType.Int64), divergedAt.index_select(0, index)));
                    alive.index_copy_(0, index, alive.index_select(0, index) & finite.logical_or(running.logical_not()));
                    sgd.Step(grads, running & finite);
                }
                progress?.Invoke(epoch + 1, maxEpochs);
            }
        }
        finally
        {
            if (!ReferenceEquals(work, net))
            {
                net.CopyFrom(work, active);
                work.Dispose();
            }
            index.Dispose();
        }

        var h = history.cpu().data<double>().ToArray();
        var at = divergedAt.cpu().data<long>().ToArray();
        return members.Select((m, i) =>
        {
            int n = at[i] >= 0 ? (int)at[i] : m.Epochs;
            double[] Series(int k) => Enumerable.Range(0, n).Select(ep => h[(ep * 3 + k) * e + i]).ToArray();
            return new NetworkHistory(m, Series(0), Series(1), Series(2), (int)at[i]);
        }).ToList();
    }

    /// <summary>
    /// Judges each trained network (<see cref="TrainingVerdict"/>) and runs every network for
    /// <see cref="ExtendFactor"/>× the trial length (cue, then zeros; noise on, as in the authors' code, from a fresh
    /// stream of each network's seed) for the two
    /// mechanism tests: the FFT test on the rates of the first trial, the output RMS over the last trial-length window
    /// of both trials (one per cue).
    /// </summary>
    public static IReadOnlyList<NetworkResult> Analyse(RateRnnEnsemble net, IReadOnlyList<NetworkHistory> histories, DelayedCueLayout layout)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        net.RestartNoise(AnalysisStream);
        int l = layout.Length;
        using var trial = DelayedCueDiscrimination.Trials(layout, 0, 2);
        var extended = zeros(new long[] { 2, ExtendFactor * l, 2 });
        extended.narrow(1, 0, l).copy_(trial.Inputs);
        var (readout, rates) = net.Forward(extended);
        var probs = readout.sigmoid().to(ScalarType.Float64).cpu();
        var r = rates.to(ScalarType.Float64).cpu();
        return histories.Select((hist, i) =>
        {
            if (hist.DivergedAt >= 0)
                return new NetworkResult(hist, TrainingOutcome.Diverged, double.NaN, double.NaN, double.NaN, double.NaN);
            var (outcome, acc, rel) = TrainingVerdict.Judge(hist.Accuracy, hist.Reliability);
            double share = MemoryMechanism.CentralPowerShare(r[i, 0]);
            double rms = MemoryMechanism.OutputRms(probs[i], l);
            return new NetworkResult(hist, outcome, acc, rel, share, rms);
        }).ToList();
    }

    /// <summary>The paper's epoch budget max(<paramref name="minEpochs"/>, <paramref name="epochsTimesLr"/>/η), then capped (0 = no cap).</summary>
    public static int Epochs(double lr, int minEpochs, double epochsTimesLr, int cap)
    {
        int paper = (int)Math.Max(minEpochs, Math.Floor(epochsTimesLr / lr));
        return cap > 0 ? Math.Min(cap, paper) : paper;
    }
}
