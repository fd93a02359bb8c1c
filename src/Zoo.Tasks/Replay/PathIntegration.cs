using TorchSharp;
using Zoo.Core.Options;
using Zoo.Core.Registry;
using Zoo.Core.Tasks;
using static TorchSharp.torch;

namespace Zoo.Tasks.Replay;

/// <summary>Environment of <see cref="PathIntegration"/>.</summary>
public enum ArenaKind
{
    /// <summary>The predecessor's 2.2 m open box (<see cref="Replay.OpenBox"/>).</summary>
    OpenBox,
    /// <summary>A triangular track (<see cref="Replay.Triangle"/>).</summary>
    Triangle,
    /// <summary>A T-maze track (<see cref="Replay.TMaze"/>).</summary>
    TMaze,
}

/// <summary>What the readout must produce.</summary>
public enum PathTarget
{
    /// <summary>The softmax-normalised place-cell population code; positions are decoded from its 3 most active cells.</summary>
    PlaceCode,
    /// <summary>The 2-D position itself.</summary>
    Position,
}

/// <summary>Loss on a place-code target.</summary>
public enum PlaceCodeLoss
{
    /// <summary>Mean squared error between the linear readout and the code (Krishna et al. 2024).</summary>
    Mse,
    /// <summary>Cross-entropy between the code and the softmax of the readout (Sorscher et al. 2019).</summary>
    CrossEntropy,
}

/// <summary>
/// Options of <see cref="PathIntegration"/>; defaults are the published set-up (docs/architecture.md, 'Task sources'): 100-step trajectories, 512
/// place cells of σ = 0.2 m, replay with noise σ = √2 × the training noise 0.01.
/// </summary>
public sealed record PathIntegrationOptions
{
    /// <summary>Environment.</summary>
    [Option("environment")]
    public ArenaKind Environment { get; init; } = ArenaKind.OpenBox;

    /// <summary>Steps per trajectory (dt = 0.02 s).</summary>
    [Option("steps per trajectory", Min = 2)]
    public int Steps { get; init; } = 100;

    /// <summary>Readout target.</summary>
    [Option("readout target")]
    public PathTarget Target { get; init; } = PathTarget.PlaceCode;

    /// <summary>
    /// Loss on the place code. Cross-entropy by default: with MSE on the softmax-normalised code a 128-unit network at our
    /// CPU budget collapsed to the mean code (open box, 300 steps: test error 1.07 m, chance level), while cross-entropy
    /// reached 0.48 m in 150 steps.
    /// </summary>
    [Option("loss on the place code (ignored for position targets, which use MSE)")]
    public PlaceCodeLoss Loss { get; init; } = PlaceCodeLoss.CrossEntropy;

    /// <summary>Number of place cells.</summary>
    [Option("place cells", Min = 3)]
    public int PlaceCells { get; init; } = 512;

    /// <summary>Place-field width σ in metres.</summary>
    [Option("place-field width σ (m)", Min = 0, MinExclusive = true)]
    public double PlaceCellSigma { get; init; } = 0.2;

    /// <summary>Seed of the place-cell centres (part of the environment, the same for every run seed).</summary>
    [Option("seed of the place-cell centres", Min = 0)]
    public int PlaceCellSeed { get; init; }

    /// <summary>Training set size (0 = a fresh trajectory every time).</summary>
    [Option("training trajectories (0 = fresh every step)", Min = 0)]
    public int TrainExamples { get; init; }

    /// <summary>Test set size.</summary>
    [Option("test trajectories", Min = 1)]
    public int TestExamples { get; init; } = 512;

    /// <summary>Replays run after training from random start positions (distribution metrics).</summary>
    [Option("replays from random starts", Min = 1)]
    public int Replays { get; init; } = 64;

    /// <summary>Replays run from the environment's fixed start (reach-time metric).</summary>
    [Option("replays from the fixed start (reach time)", Min = 1)]
    public int ReachReplays { get; init; } = 32;

    /// <summary>Steps per replay.</summary>
    [Option("steps per replay", Min = 2)]
    public int ReplaySteps { get; init; } = 500;

    /// <summary>Noise σ during replay.</summary>
    [Option("noise σ during replay (√2 × training σ 0.01 by default)", Min = 0)]
    public double ReplayNoise { get; init; } = 0.01 * Math.Sqrt(2);

    /// <summary>Trajectories whose positions make the training distribution the replay is compared with.</summary>
    [Option("training trajectories sampled as the reference distribution", Min = 1)]
    public int ReferenceTrajectories { get; init; } = 256;
}

/// <summary>
/// Path integration then noise-driven replay (Krishna et al. ICLR 2024; Casco-Rodriguez, Krishna, Baraniuk 2026,
/// arXiv 2602.18401; docs/architecture.md, 'Task sources'). Inputs are velocities [B, T, 2] (m/s); the context is the target code of the start
/// position, which the bare model encodes into the initial hidden state; the readout must track the place code (or the
/// position) along the trajectory. Targets are <c>[B, T, O + 2]</c>: the code followed by the true position, which only
/// the position-error metric reads. After training, <see cref="EvaluateAfterTraining"/> runs the network on zero input
/// with replay noise and measures the decoded replay (<see cref="ReplayMetrics"/>).
/// </summary>
[ZooTask("path-integration", typeof(PathIntegrationOptions), Summary = "path integration in a box / triangle / T-maze, then noise-driven replay and its statistics (arXiv 2602.18401)")]
public sealed class PathIntegration : ISequenceTask, IPostTrainingEvaluation
{
    private readonly PathIntegrationOptions _o;
    private readonly IArena _arena;
    private readonly PlaceCells _cells;
    private readonly Tensor _centres;   // [N, 2], float32, for decoding in torch

    /// <summary>Builds the task.</summary>
    public PathIntegration(PathIntegrationOptions options)
    {
        _o = options;
        _arena = options.Environment switch
        {
            ArenaKind.OpenBox => new OpenBox(),
            ArenaKind.Triangle => new Triangle(),
            ArenaKind.TMaze => new TMaze(),
            _ => throw new ArgumentOutOfRangeException(nameof(options)),
        };
        _cells = new PlaceCells(_arena, options.PlaceCells, options.PlaceCellSigma, new SplitMix64((ulong)options.PlaceCellSeed));
        _centres = tensor(_cells.Centres.SelectMany(c => c).Select(v => (float)v).ToArray(), new long[] { _cells.Count, 2 });
    }

    /// <summary>The environment.</summary>
    public IArena Arena => _arena;

    /// <summary>The place cells.</summary>
    public PlaceCells Cells => _cells;

    private int CodeDim => _o.Target == PathTarget.PlaceCode ? _cells.Count : 2;

    /// <inheritdoc />
    public TaskSignature Signature => new(0, 2, CodeDim, _o.Steps, CodeDim);

    /// <summary>Mean distance in metres between decoded and true position over all steps.</summary>
    public string PrimaryMetric => "position_error";

    /// <inheritdoc />
    public bool HigherIsBetter => false;

    /// <inheritdoc />
    public int TestExamples => _o.TestExamples;

    /// <summary>Trajectory <paramref name="index"/> of <paramref name="split"/>.</summary>
    public Trajectory Example(long seed, Split split, long index) =>
        _arena.Sample(SeedStream.ForExample(seed, split, split == Split.Train && _o.TrainExamples > 0 ? index % _o.TrainExamples : index), _o.Steps);

    /// <summary>Target codes <c>[.., O]</c> of positions <c>[.., 2]</c>: the place code (softmax over cells of −‖x − c‖²/2σ²) or the position.</summary>
    public Tensor Code(Tensor positions)
    {
        if (_o.Target == PathTarget.Position) return positions.alias();
        using var scope = NewDisposeScope();
        var centres = _centres.to(positions.dtype);
        var d2 = (positions.unsqueeze(-2) - centres).pow(2).sum(-1);           // [.., N]
        return nn.functional.softmax(-d2 / (2 * _o.PlaceCellSigma * _o.PlaceCellSigma), -1).MoveToOuterDisposeScope();
    }

    /// <inheritdoc />
    public TaskBatch Batch(Split split, long seed, long firstExample, int count)
    {
        using var scope = NewDisposeScope();
        int T = _o.Steps;
        var velocities = new float[count * T * 2];
        var positions = new float[count * (T + 1) * 2];
        for (int b = 0; b < count; b++)
        {
            var run = Example(seed, split, firstExample + b);
            for (int t = 0; t <= T; t++)
            {
                positions[(b * (T + 1) + t) * 2] = (float)run.Positions[t][0];
                positions[(b * (T + 1) + t) * 2 + 1] = (float)run.Positions[t][1];
                if (t == T) continue;
                velocities[(b * T + t) * 2] = (float)run.Velocities[t][0];
                velocities[(b * T + t) * 2 + 1] = (float)run.Velocities[t][1];
            }
        }
        var path = tensor(positions, new long[] { count, T + 1, 2 });
        var after = path[.., 1..];
        var targets = cat(new[] { Code(after), after }, -1).MoveToOuterDisposeScope();
        var context = Code(path[.., 0]).MoveToOuterDisposeScope();
        return new TaskBatch(tensor(velocities, new long[] { count, T, 2 }).MoveToOuterDisposeScope(), targets,
            ones(count, T, dtype: ScalarType.Bool).MoveToOuterDisposeScope(), context);
    }

    /// <inheritdoc />
    public Tensor Loss(Tensor output, TaskBatch batch)
    {
        using var scope = NewDisposeScope();
        var code = batch.Targets[.., .., ..CodeDim];
        var loss = _o.Target == PathTarget.PlaceCode && _o.Loss == PlaceCodeLoss.CrossEntropy
            ? -(code * nn.functional.log_softmax(output, -1)).sum(-1).mean()
            : nn.functional.mse_loss(output, code);
        return loss.MoveToOuterDisposeScope();
    }

    /// <summary>Decoded positions [.., 2] of readouts [.., O]: the mean centre of the 3 most active cells, or the readout itself.</summary>
    public Tensor Decode(Tensor output)
    {
        if (_o.Target == PathTarget.Position) return output.alias();
        using var scope = NewDisposeScope();
        var top = output.topk(3, -1).indexes;                                  // [.., 3]
        var centres = _centres.to(output.device).to(output.dtype);
        var picked = centres.index_select(0, top.flatten()).reshape(top.shape.Append(2L).ToArray());
        return picked.mean(new long[] { -2 }).MoveToOuterDisposeScope();
    }

    /// <inheritdoc />
    public IReadOnlyDictionary<string, MetricTally> Metrics(Tensor output, TaskBatch batch)
    {
        using var scope = NewDisposeScope();
        var truth = batch.Targets[.., .., CodeDim..];
        var error = (Decode(output) - truth).pow(2).sum(-1).sqrt();
        return new Dictionary<string, MetricTally> { [PrimaryMetric] = new(error.sum().item<float>(), error.numel()) };
    }

    /// <summary>
    /// Replay: zero velocity input and noise σ = <see cref="PathIntegrationOptions.ReplayNoise"/>, from start positions
    /// drawn like training starts (distribution metrics) and from the environment's fixed start (reach time); decoded
    /// positions are compared with the positions of <see cref="PathIntegrationOptions.ReferenceTrajectories"/> training
    /// trajectories (Zoo's measures) and with the network's own decoded outputs while driven by test trajectories at
    /// the training noise σ/√2 (the predecessor's KDE-KL). Two baselines place each KL value: a replay frozen at its
    /// starts, and held-out training paths in the replay's place. Deterministic from <paramref name="seed"/>.
    /// </summary>
    public PostTrainingResult EvaluateAfterTraining(IDrivableModel model, long seed)
    {
        var referencePaths = Enumerable.Range(0, _o.ReferenceTrajectories).Select(i => Example(seed, Split.Train, i).Positions).ToList();
        var reference = referencePaths.SelectMany(p => p).ToList();
        var starts = Enumerable.Range(0, _o.Replays).Select(i => Example(seed, Split.Test, _o.TestExamples + i).Positions[0]).ToList();
        var (free, replayPeak) = ReplayWithPeak(model, starts, seed * 2 + 1);
        var fixedStart = Replay(model, Enumerable.Repeat(_arena.ReplayStart, _o.ReachReplays).ToList(), seed * 2 + 2);

        var pooled = free.SelectMany(p => p).Where((_, i) => i % 4 == 0).ToList();      // thinned: successive points are near-duplicates
        var reach = fixedStart.Select(p => ReplayMetrics.TimeToReach(p, _arena.InTarget)).ToList();
        var (active, activePeak) = ActiveWithPeak(model, seed);
        // A jump: one replay step longer than ten steps of behaviour, so the decoded point leapt rather than moved.
        double behaviourStep = referencePaths.Average(ReplayMetrics.MeanStepLength);
        // Baselines of as many points as the pooled replay: every replay frozen at its start, and held-out training paths.
        var frozen = starts.SelectMany(p => Enumerable.Repeat(p, Math.Max(1, pooled.Count / starts.Count))).ToList();
        var trainingPath = Enumerable.Range(_o.ReferenceTrajectories, (pooled.Count + _o.Steps) / (_o.Steps + 1))
            .SelectMany(i => Example(seed, Split.Train, i).Positions).ToList();
        ulong klSeed = (ulong)seed * 4 + 3;
        var metrics = new Dictionary<string, double>
        {
            ["replay_speed"] = free.Average(ReplayMetrics.MeanStepLength),
            ["replay_exploration"] = free.Average(ReplayMetrics.Exploration),
            ["replay_coverage"] = free.Average(p => ReplayMetrics.Coverage(p, _arena.Bounds)),
            ["replay_path_length"] = free.Average(ReplayMetrics.PathLength),
            ["replay_sliced_w1"] = ReplayMetrics.SlicedWasserstein(pooled, reference),
            ["replay_kde_kl"] = ReplayMetrics.KdeKl(reference, pooled, _arena.Bounds),
            ["replay_kde_kl_frozen"] = ReplayMetrics.KdeKl(reference, frozen, _arena.Bounds),
            ["replay_kde_kl_training"] = ReplayMetrics.KdeKl(reference, trainingPath, _arena.Bounds),
            ["replay_kde_kl_active"] = ReplayMetrics.KdeKlMonteCarlo(pooled, active, seed: klSeed),
            ["replay_kde_kl_active_frozen"] = ReplayMetrics.KdeKlMonteCarlo(frozen, active, seed: klSeed),
            ["replay_kde_kl_active_training"] = ReplayMetrics.KdeKlMonteCarlo(trainingPath, active, seed: klSeed),
            ["replay_jump_fraction"] = free.Average(p => ReplayMetrics.JumpFraction(p, 10 * behaviourStep)),
            ["replay_diffusion_exponent"] = ReplayMetrics.DiffusionExponent(free, Math.Max(2, _o.ReplaySteps / 10)),
            ["replay_reach_fraction"] = reach.Count(r => r is not null) / (double)reach.Count,
            ["replay_reach_time"] = reach.Average(r => (double)(r ?? _o.ReplaySteps)),
        };
        if (_o.Target == PathTarget.PlaceCode)
        {
            metrics["replay_code_peak"] = replayPeak;
            metrics["replay_code_peak_active"] = activePeak;
        }
        var samples = free.Take(4).Select((p, i) => new TrajectorySample("replay", i, p))
            .Concat(Enumerable.Range(0, 4).Select(i => new TrajectorySample("training", i, Example(seed, Split.Train, i).Positions)))
            .ToList();
        return new PostTrainingResult(metrics, samples);
    }

    /// <summary>
    /// Decoded outputs [R·T][2] of the network driven by the velocities of <see cref="PathIntegrationOptions.Replays"/>
    /// test trajectories at the training noise (the predecessor's "active" distribution).
    /// </summary>
    public List<double[]> Active(IDrivableModel model, long seed) => ActiveWithPeak(model, seed).Points;

    /// <summary>Decoded replay trajectories [R][T][2] from <paramref name="starts"/>.</summary>
    public List<double[][]> Replay(IDrivableModel model, IReadOnlyList<double[]> starts, long noiseSeed) =>
        ReplayWithPeak(model, starts, noiseSeed).Paths;

    private (List<double[]> Points, double CodePeak) ActiveWithPeak(IDrivableModel model, long seed)
    {
        using var scope = NewDisposeScope();
        var batch = Batch(Split.Test, seed, 0, _o.Replays);
        return DriveAndDecode(model, batch.Inputs, batch.Context, _o.ReplayNoise / Math.Sqrt(2), (ulong)seed * 2 + 3);
    }

    private (List<double[][]> Paths, double CodePeak) ReplayWithPeak(IDrivableModel model, IReadOnlyList<double[]> starts, long noiseSeed)
    {
        using var scope = NewDisposeScope();
        int R = starts.Count, T = _o.ReplaySteps;
        var context = Code(tensor(starts.SelectMany(p => p).Select(v => (float)v).ToArray(), new long[] { R, 2 }));
        var (points, peak) = DriveAndDecode(model, zeros(R, T, 2), context, _o.ReplayNoise, (ulong)noiseSeed);
        return (points.Chunk(T).ToList(), peak);
    }

    /// <summary>
    /// Drives the model and returns its decoded positions [B·T][2] and the place code's mean peak: the highest
    /// softmax probability of a cell, averaged over steps (1/cells for a flat code, near 1 for one sharp cell; NaN
    /// when the target is the position itself). A replay whose peak falls far below the driven network's reads mostly
    /// the injected noise, and its decoded "path" jumps between cells.
    /// </summary>
    private (List<double[]> Points, double CodePeak) DriveAndDecode(IDrivableModel model, Tensor inputs, Tensor? context, double noise, ulong noiseSeed)
    {
        using var scope = NewDisposeScope();
        using var generator = new Generator(noiseSeed);
        var output = model.Drive(inputs, context, noise, generator).cpu().to(ScalarType.Float64);
        double peak = _o.Target == PathTarget.PlaceCode ? nn.functional.softmax(output, -1).amax(-1).mean().item<double>() : double.NaN;
        var decoded = Decode(output).data<double>().ToArray();
        return (decoded.Chunk(2).ToList(), peak);
    }
}
