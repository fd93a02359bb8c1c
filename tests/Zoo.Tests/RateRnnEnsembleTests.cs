using Zoo.Studies.ShortTermMemory;
using Zoo.Tasks.ShortTermMemory;
using static TorchSharp.torch;

namespace Zoo.Tests;

/// <summary>
/// The stacked ensemble (docs/architecture.md, 'Ensembles'): each network's training equals training it alone, whatever E and its position,
/// and a diverging network is frozen without touching the others. float64, tiny sizes, a few epochs.
/// </summary>
public sealed class RateRnnEnsembleTests
{
    private static readonly RateRnnOptions Small = new() { Hidden = 8 };
    private static readonly DelayedCueLayout Layout = new(CueSteps: 2, Delay: 3, ResponseSteps: 3, PostSteps: 1);
    private const int Trials = 4;

    private static (IReadOnlyList<NetworkHistory> History, double[][] Weights) Run(IReadOnlyList<EnsembleMember> members)
    {
        var (history, weights, _) = RunAndAnalyse(members, analyse: false);
        return (history, weights);
    }

    private static (IReadOnlyList<NetworkHistory> History, double[][] Weights, IReadOnlyList<NetworkResult>? Results) RunAndAnalyse(
        IReadOnlyList<EnsembleMember> members, bool analyse = true)
    {
        using var net = new RateRnnEnsemble(members.Select(m => m.Seed).ToList(), Small, ScalarType.Float64, CPU);
        var history = EnsembleTraining.Train(net, members, Layout, Trials, momentum: 0.9, weightDecay: 1e-3);
        var weights = Enumerable.Range(0, members.Count)
            .Select(i => net.Parameters.SelectMany(p => p[i].detach().flatten().data<double>().ToArray()).ToArray()).ToArray();
        return (history, weights, analyse ? EnsembleTraining.Analyse(net, history, Layout) : null);
    }

    private static void AssertSame(double[] expected, double[] actual, double tol)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++) Assert.True(Math.Abs(expected[i] - actual[i]) <= tol, $"[{i}] {expected[i]} vs {actual[i]}");
    }

    [Fact]
    public void The_authors_score_window_moves_the_scores_not_the_training()
    {
        var members = new[] { new EnsembleMember(0.3, 31, 5), new EnsembleMember(0.1, 32, 5) };
        History Train(int shift)
        {
            using var net = new RateRnnEnsemble(members.Select(m => m.Seed).ToList(), Small, ScalarType.Float64, CPU);
            var h = EnsembleTraining.Train(net, members, Layout, Trials, momentum: 0.9, weightDecay: 1e-3, scoreShift: shift);
            return new History(h, net.Parameters.Select(p => p.detach().flatten().data<double>().ToArray()).ToArray());
        }
        var response = Train(0);
        var authors = Train(-1);
        for (int i = 0; i < members.Length; i++)
        {
            AssertSame(response.Networks[i].Loss, authors.Networks[i].Loss, 0);
            Assert.NotEqual(response.Networks[i].Reliability, authors.Networks[i].Reliability);
        }
        for (int p = 0; p < response.Weights.Length; p++) AssertSame(response.Weights[p], authors.Weights[p], 0);

        // The window itself (3 steps here). Perfect outputs score 1 on the response window. One step early the window
        // starts on the last delay step, whose all-zero target makes channel 0 "right": outputs that are silent there
        // tie (argmax 0: right, share 0.5), outputs that already show the cue are wrong on channel-1 trials.
        var batch = DelayedCueDiscrimination.Trials(Layout, 0, 2);  // trial 0 cues channel 0, trial 1 channel 1
        var perfect = batch.Targets.to(ScalarType.Float64) * 0.98 + 0.01;
        var (accuracy, reliability) = DelayedCueDiscrimination.Scores(Layout, perfect, batch.Targets);
        Assert.Equal(1.0, accuracy.item<double>(), 12);
        Assert.Equal(0.99, reliability.item<double>(), 12);
        var (early, earlyReliability) = DelayedCueDiscrimination.Scores(Layout, perfect, batch.Targets, shift: -1);
        Assert.Equal(1.0, early.item<double>(), 12);
        Assert.Equal((0.5 + 2 * 0.99) / 3, earlyReliability.item<double>(), 12);
        var anticipating = perfect.clone();
        anticipating[.., Layout.ResponseStart - 1] = perfect[.., Layout.ResponseStart];
        var (anticipated, _) = DelayedCueDiscrimination.Scores(Layout, anticipating, batch.Targets, shift: -1);
        Assert.Equal((1 + 2.0 / 3) / 2, anticipated.item<double>(), 12);
        Assert.Throws<ArgumentOutOfRangeException>(() => DelayedCueDiscrimination.Scores(Layout, perfect, batch.Targets, shift: -6));
    }

    private sealed record History(IReadOnlyList<NetworkHistory> Networks, double[][] Weights);

    [Fact]
    public void Each_network_of_an_ensemble_trains_as_it_would_alone()
    {
        var members = new[]
        {
            new EnsembleMember(Lr: 0.3, Seed: 11, Epochs: 6),
            new EnsembleMember(Lr: 0.05, Seed: 12, Epochs: 4),  // shorter budget: frozen after 4 epochs
            new EnsembleMember(Lr: 1.0, Seed: 13, Epochs: 6),
        };
        var (together, weights, results) = RunAndAnalyse(members);
        var (reversed, weightsReversed) = Run(members.Reverse().ToList());
        for (int i = 0; i < members.Length; i++)
        {
            var (alone, aloneWeights, aloneResults) = RunAndAnalyse(new[] { members[i] });
            // The mechanism run too: the shorter member kept drawing noise after its budget, yet analyses the same.
            Assert.Equal(aloneResults![0].PowerShare, results![i].PowerShare, 10);
            Assert.Equal(aloneResults[0].OutputRms, results[i].OutputRms, 10);
            Assert.Equal(members[i].Epochs, together[i].Epochs);
            AssertSame(alone[0].Loss, together[i].Loss, 1e-12);
            AssertSame(alone[0].Accuracy, together[i].Accuracy, 1e-12);
            AssertSame(alone[0].Reliability, together[i].Reliability, 1e-12);
            AssertSame(aloneWeights[0], weights[i], 1e-12);
            AssertSame(aloneWeights[0], weightsReversed[members.Length - 1 - i], 1e-12);
        }
        Assert.True(together[0].Loss[^1] < together[0].Loss[0], "loss falls");
        Assert.NotEqual(together[0].Loss[0], together[1].Loss[0]);  // seeds differ
    }

    [Fact]
    public void A_diverging_network_is_frozen_and_the_others_are_untouched()
    {
        var good = new[] { new EnsembleMember(0.2, 21, 5), new EnsembleMember(0.1, 22, 5) };
        // An infinite learning rate turns the weights non-finite at the first step; the next loss is NaN.
        var bad = new EnsembleMember(double.PositiveInfinity, 23, 5);
        var (history, _) = Run(new[] { good[0], bad, good[1] });
        Assert.Equal(1, history[1].DivergedAt);
        Assert.Equal(1, history[1].Epochs);
        for (int i = 0; i < 2; i++)
        {
            var (alone, _) = Run(new[] { good[i] });
            var other = history[i == 0 ? 0 : 2];
            Assert.Equal(-1, other.DivergedAt);
            AssertSame(alone[0].Loss, other.Loss, 1e-12);
        }
    }

    [Fact]
    public void Networks_leaving_at_their_budget_or_after_diverging_leave_the_others_exact()
    {
        // Budgets 7, 3 and 5 make the loop shrink twice (at epochs 3 and 5); the diverged network leaves at the first.
        var members = new[]
        {
            new EnsembleMember(0.2, 61, 7),
            new EnsembleMember(double.PositiveInfinity, 62, 7),
            new EnsembleMember(0.1, 63, 3),
            new EnsembleMember(0.3, 64, 5),
        };
        var (history, weights) = Run(members);
        Assert.Equal(1, history[1].DivergedAt);
        Assert.Equal(new[] { 7, 1, 3, 5 }, history.Select(h => h.Epochs));
        foreach (int i in new[] { 0, 2, 3 })
        {
            var (alone, aloneWeights) = Run(new[] { members[i] });
            Assert.Equal(-1, history[i].DivergedAt);
            AssertSame(alone[0].Loss, history[i].Loss, 1e-12);
            AssertSame(aloneWeights[0], weights[i], 1e-12);  // the weights written back from the shrunken loop
        }
    }

    [Fact]
    public void An_ensemble_whose_networks_all_diverged_stops_instead_of_running_out_its_budget()
    {
        // Equal budgets give the loop no budget end to shrink at; the diverged networks must leave all the same, or an
        // ensemble of large learning rates computes its frozen networks for the whole budget.
        var members = new[] { new EnsembleMember(double.PositiveInfinity, 71, 1000), new EnsembleMember(double.PositiveInfinity, 72, 1000) };
        using var net = new RateRnnEnsemble(members.Select(m => m.Seed).ToList(), Small, ScalarType.Float64, CPU);
        int last = 0;
        var history = EnsembleTraining.Train(net, members, Layout, Trials, 0.9, 1e-3, (epoch, _) => last = epoch);
        Assert.All(history, h => Assert.Equal(1, h.DivergedAt));
        Assert.True(last < 100, $"trained {last} epochs though every network diverged at epoch 1");
    }

    [Fact]
    public void Hand_written_backpropagation_matches_autograd()
    {
        // Two ensembles with the same seeds draw the same initial rates and noise.
        var seeds = new long[] { 41, 42, 43 };
        using var reference = new RateRnnEnsemble(seeds, Small, ScalarType.Float64, CPU);
        using var fast = new RateRnnEnsemble(seeds, Small, ScalarType.Float64, CPU);
        using var batch = DelayedCueDiscrimination.Trials(Layout, 0, Trials);
        var targets = batch.Targets.to(ScalarType.Float64);
        var weight = tensor(new[] { 1.0, 0.0, 2.5 }, dtype: ScalarType.Float64);  // per-network weights, one masked out
        Tensor Objective(Tensor readout) => (DelayedCueDiscrimination.WeightedMse(Layout, readout.sigmoid(), targets) * weight).sum();

        var (readoutRef, _) = reference.Forward(batch.Inputs);
        var expected = autograd.grad(new[] { Objective(readoutRef) }, reference.Parameters.ToList());
        var (readout, grads) = fast.Gradients(batch.Inputs, Objective);

        Assert.True(TestSupport.MaxAbsDiff(readoutRef.detach(), readout) < 1e-13);
        Assert.Equal(expected.Count, grads.Length);
        for (int i = 0; i < grads.Length; i++)
        {
            Assert.Equal(expected[i].shape, grads[i].shape);
            double scale = expected[i].abs().max().item<double>();
            Assert.True(TestSupport.MaxAbsDiff(expected[i], grads[i]) <= 1e-12 * Math.Max(1, scale), $"parameter {i}");
            Assert.Equal(0.0, grads[i][1].abs().max().item<double>());  // the masked network gets no gradient
        }
        Assert.True(grads[1].abs().max().item<double>() > 0);
    }

    [Fact]
    public void Live_tensor_count_does_not_grow_with_epochs()
    {
        long Leftover(int epochs)
        {
            var members = new[] { new EnsembleMember(0.1, 51, epochs), new EnsembleMember(0.2, 52, epochs) };
            using var net = new RateRnnEnsemble(members.Select(m => m.Seed).ToList(), Small, ScalarType.Float64, CPU);
            long before = TorchSharp.DisposeScopeManager.Statistics.ThreadTotalLiveCount;
            EnsembleTraining.Train(net, members, Layout, Trials, 0.9, 1e-7);
            return TorchSharp.DisposeScopeManager.Statistics.ThreadTotalLiveCount - before;
        }
        Leftover(2);  // warm-up
        Assert.Equal(Leftover(3), Leftover(12));
    }

    [Fact]
    public void Initial_weights_follow_the_paper()
    {
        using var net = new RateRnnEnsemble(new long[] { 1, 2 }, new RateRnnOptions(), ScalarType.Float64, CPU);
        Assert.Equal(new long[] { 2, 100, 100 }, net.WRec.shape);
        Assert.Equal(0.0, net.WRec.diagonal(0, 1, 2).abs().max().item<double>());
        Assert.True(net.WRec.abs().max().item<double>() <= Math.Sqrt(6.0 / 200));
        Assert.True(net.WIn.abs().max().item<double>() <= Math.Sqrt(6.0 / 102));
        Assert.True(net.BIn.abs().max().item<double>() <= 1 / Math.Sqrt(2));
        Assert.NotEqual(net.WRec[0, 0, 1].item<double>(), net.WRec[1, 0, 1].item<double>());
        // Same seed, same network, wherever it sits.
        using var other = new RateRnnEnsemble(new long[] { 2 }, new RateRnnOptions(), ScalarType.Float64, CPU);
        Assert.Equal(0.0, (other.WRec[0] - net.WRec[1]).abs().max().item<double>());
    }

    [Fact]
    public void Epoch_budget_is_max_1000_or_30_over_lr_with_an_optional_cap()
    {
        Assert.Equal(1000, EnsembleTraining.Epochs(0.316, 1000, 30, 0));
        Assert.Equal(30000, EnsembleTraining.Epochs(0.001, 1000, 30, 0));
        Assert.Equal(300, EnsembleTraining.Epochs(0.001, 1000, 30, 300));
    }

    [Fact]
    public void Analysis_of_an_untrained_ensemble_gives_a_verdict_and_finite_mechanism_numbers()
    {
        var members = new[] { new EnsembleMember(0.1, 31, 3), new EnsembleMember(0.1, 32, 3) };
        using var net = new RateRnnEnsemble(members.Select(m => m.Seed).ToList(), Small, ScalarType.Float64, CPU);
        var history = EnsembleTraining.Train(net, members, Layout, Trials, 0.9, 1e-7);
        var results = EnsembleTraining.Analyse(net, history, Layout);
        Assert.Equal(2, results.Count);
        Assert.All(results, r =>
        {
            Assert.NotEqual(TrainingOutcome.Diverged, r.Outcome);
            Assert.InRange(r.PowerShare, 0, 1);
            Assert.True(double.IsFinite(r.OutputRms));
        });
    }
}
