using System.Globalization;
using Zoo.Core.Options;
using Zoo.Core.Registry;
using Zoo.Core.Tasks;
using static TorchSharp.torch;

namespace Zoo.Tasks.Selectivity;

/// <summary>What fills a gap of <see cref="SelectivBench"/>.</summary>
public enum SelectivGapFill
{
    /// <summary>Zero input (SelectivBench's time gaps, tasks 1, 2 and 4).</summary>
    Blank,
    /// <summary>Symbols that may not follow the current state (SelectivBench's <c>grammar_gap</c>, task 3): distractors that violate the transition rules.</summary>
    Distractors,
}

/// <summary>How the test split of <see cref="SelectivBench"/> sets its gap lengths (training is the same under both).</summary>
public enum SelectivTestProtocol
{
    /// <summary>Zoo's first test: each gap's length drawn uniformly, from [gap_min, gap_max] or from <c>test_gap_lengths</c>
    /// (so one sequence mixes the T4 lengths and the longer ones hold few symbols).</summary>
    Uniform,
    /// <summary>The authors' test (SymSeq's <c>selectivbench</c>): every gap of a test sequence has one fixed length, gap_max
    /// (T2), or with <c>test_gap_lengths</c> one of those lengths per sequence, each length scored as a metric of its own,
    /// <c>accuracy_gap_N</c> (T4). A test sequence's first symbol is not scored: its state is the start state its letter
    /// names, known from the position alone, and at a long gap it would be a quarter of a window's symbols.</summary>
    Authors,
}

/// <summary>
/// Options of <see cref="SelectivBench"/>. Defaults are a CPU-sized task 1: the published 41-symbol vocabulary with all
/// 40 letters ambiguous, but two states per letter instead of 40, and 200 time steps. <see cref="SelectivBenchPresets"/>
/// holds the four published tasks.
/// </summary>
public sealed record SelectivBenchOptions : IValidatableOptions
{
    /// <summary>Symbols V: the end marker <c>#</c> and V − 1 letters (one-hot input width).</summary>
    [Option("symbols: '#' and V − 1 letters (one-hot input width)", Min = 3)]
    public int Vocab { get; init; } = 41;

    /// <summary>Letters emitted by several states.</summary>
    [Option("letters emitted by several states (SymSeq's ambiguities)", Min = 1)]
    public int Ambiguities { get; init; } = 40;

    /// <summary>States per ambiguous letter; the number of classes.</summary>
    [Option("states per ambiguous letter (SymSeq's ambiguity_depth); the number of classes, chance 1/depth", Min = 2)]
    public int AmbiguityDepth { get; init; } = 2;

    /// <summary>Probability that a symbol may follow a state.</summary>
    [Option("probability that a given symbol may follow a given state", Min = 0, Max = 1, MinExclusive = true)]
    public double TransitionDensity { get; init; } = 0.4;

    /// <summary>States a string may start in.</summary>
    [Option("start states (distinct letters)", Min = 1)]
    public int StartStates { get; init; } = 4;

    /// <summary>Seed of the grammar: part of the task, the same for every run seed.</summary>
    [Option("seed of the grammar (the same grammar for every run seed)", Min = 0)]
    public int GrammarSeed { get; init; }

    /// <summary>Time steps per sequence (symbols and gap steps).</summary>
    [Option("time steps per sequence, symbols and gap steps together", Min = 2)]
    public int Length { get; init; } = 200;

    /// <summary>Probability that a gap follows a symbol (from symbol <see cref="GapStart"/> on).</summary>
    [Option("probability that a gap follows a symbol", Min = 0, Max = 1)]
    public double GapProbability { get; init; } = 1.0;

    /// <summary>Shortest gap in steps.</summary>
    [Option("shortest gap (steps); lengths are uniform in [gap_min, gap_max]", Min = 1)]
    public int GapMin { get; init; } = 1;

    /// <summary>Longest gap in steps.</summary>
    [Option("longest gap (steps)", Min = 1)]
    public int GapMax { get; init; } = 1;

    /// <summary>Symbols before the first gap may occur.</summary>
    [Option("symbols before the first gap may occur", Min = 0)]
    public int GapStart { get; init; }

    /// <summary>What fills the gaps.</summary>
    [Option("gap content: blank (zero input) or distractors (symbols that may not follow the current state)")]
    public SelectivGapFill GapFill { get; init; } = SelectivGapFill.Blank;

    /// <summary>Amplitude of uniform noise added to every input value.</summary>
    [Option("uniform noise in [0, noise) added to every input value", Min = 0)]
    public double Noise { get; init; }

    /// <summary>Gap lengths of the test split (comma-separated; drawn uniformly, or one per sequence under the authors'
    /// protocol); empty: as in training.</summary>
    [Option("test-split gap lengths, comma-separated (e.g. \"10,20,50,100\"): drawn per gap (uniform protocol) or one per sequence, each scored as accuracy_gap_N (authors); empty: as in training")]
    public string TestGapLengths { get; init; } = "";

    /// <summary>How the test split sets its gap lengths. Added after the first results, defaulting to their test.</summary>
    [Option("test-split gaps: uniform (each gap's length drawn, Zoo's first test) or authors (one fixed length per sequence: gap_max, or each of test_gap_lengths scored as accuracy_gap_N; first symbol unscored)", AddedLater = true)]
    public SelectivTestProtocol TestProtocol { get; init; } = SelectivTestProtocol.Uniform;

    /// <summary>Training set size (0 = fresh examples).</summary>
    [Option("training examples (0 = fresh examples every step)", Min = 0)]
    public int TrainExamples { get; init; }

    /// <summary>Test set size.</summary>
    [Option("test examples", Min = 1)]
    public int TestExamples { get; init; } = 512;

    /// <summary>The parsed <see cref="TestGapLengths"/> (empty: test gaps as in training).</summary>
    public IReadOnlyList<int> ParsedTestGapLengths() =>
        TestGapLengths.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)
            .Select(s => int.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out var v) && v >= 1 ? v : -1).ToList();

    /// <inheritdoc />
    public IEnumerable<(string Field, string Message)> Validate(int dModel)
    {
        if (Ambiguities > Vocab - 1) yield return ("ambiguities", $"{Ambiguities} exceeds the {Vocab - 1} letters; allowed: 1 … {Vocab - 1}");
        if (StartStates > Vocab - 1) yield return ("start_states", $"{StartStates} start states need as many letters; allowed: 1 … {Vocab - 1}");
        if (GapMax < GapMin) yield return ("gap_max", $"{GapMax} is below gap_min {GapMin}; allowed: ≥ {GapMin}");
        var testGaps = ParsedTestGapLengths();
        if (testGaps.Contains(-1)) yield return ("test_gap_lengths", $"\"{TestGapLengths}\" is not a list of positive integers; allowed: e.g. \"10,20,50,100\" or \"\"");
        else if (TestProtocol == SelectivTestProtocol.Authors)
        {
            // Each fixed-gap test sequence must hold a scored symbol after its (unscored) first one.
            var fixedGaps = testGaps.Count > 0 ? testGaps : new[] { GapMax };
            string field = testGaps.Count > 0 ? "test_gap_lengths" : "gap_max";
            if (fixedGaps.Max() > Length - 2) yield return (field, $"a gap of {fixedGaps.Max()} steps leaves no second symbol in {Length} steps under the authors' test; allowed: ≤ {Length - 2}");
            if (testGaps.Distinct().Count() < testGaps.Count) yield return ("test_gap_lengths", $"\"{TestGapLengths}\" repeats a length; allowed: distinct lengths (one metric each)");
        }
    }
}

/// <summary>One step of a <see cref="SelectivBench"/> sequence.</summary>
public enum SelectivStep
{
    /// <summary>A symbol the grammar emitted.</summary>
    Symbol,
    /// <summary>A blank gap step.</summary>
    Blank,
    /// <summary>A distractor: a symbol that may not follow the current state.</summary>
    Distractor,
}

/// <summary>A generated sequence with the generator's hidden state, for inspection and tests.</summary>
/// <param name="Symbols">Symbol per step; −1 for a blank.</param>
/// <param name="States">The grammar's state per step (held through gaps).</param>
/// <param name="Steps">What each step is.</param>
/// <param name="Labels">Class per step (the state's index among the states emitting its symbol); −100 where unscored.</param>
/// <param name="Inputs">One-hot symbols plus noise, [L × V] row-major.</param>
public sealed record SelectivSequence(int[] Symbols, int[] States, SelectivStep[] Steps, long[] Labels, float[] Inputs);

/// <summary>
/// SelectivBench-style selectivity (Bouhadjar, Fabre, Schmidt, Neftci 2026, "Dissecting Linear Recurrent Models: How
/// Different Gating Strategies Drive Selectivity and Generalization", arXiv 2601.12598; generator from SymSeq/SeqBench):
/// strings from a random finite-state grammar (<see cref="SelectivGrammar"/>), each ended by <c>#</c>, follow one another;
/// after each symbol a gap may follow: blank steps, or distractor symbols that the grammar forbids there. Inputs are
/// one-hot symbols plus uniform noise. The target is the grammar's hidden state, as in the paper's classification
/// setting (<c>--classify</c>): here the index of the state among the states that emit the current letter, which the
/// model can only infer from context (which state came before), since the letter itself is in the input.
/// Scored: every step that holds an ambiguous letter (the state there is determined by the symbols so far, as start
/// states have distinct letters and (state, symbol) fixes the next state). Training also labels gap steps with the held
/// state, as the paper's loss does; test scores only letters. The test split is disjoint from training (its own example
/// seeds); under <see cref="SelectivTestProtocol.Authors"/> its gaps have the authors' fixed lengths. Chance is the
/// letter-only baseline (<see cref="LetterOnlyChance"/>), above 1 / ambiguity_depth, which a fixed index scores on average
/// over grammar seeds.
/// </summary>
[ZooTask("selectivbench", typeof(SelectivBenchOptions), Summary = "SelectivBench (arXiv 2601.12598): track a grammar's hidden state through gaps, noise and distractors (chance: the letter-only guess)")]
public sealed class SelectivBench : ISequenceTask, IChanceLevel, ISecondaryMetrics
{
    // Test sequences of the authors' T4 are assigned to gap lengths by the golden-ratio sequence frac(i·φ⁻¹), which
    // spreads any prefix of the split (an evaluation's first eval_examples) over the lengths in proportion to their shares.
    private const double InverseGolden = 0.6180339887498949;
    private const ulong GrammarTag = 0x5345_4C45_4354_4956UL; // "SELECTIV"
    private readonly SelectivBenchOptions _o;
    private readonly int[][] _successors;   // state → next states (equiprobable)
    private readonly int[][] _forbidden;    // state → symbols that may not follow it (distractors)
    private readonly IReadOnlyList<int> _testGaps;
    private readonly bool _authors;
    private readonly double[] _groupEdges;  // cumulative share of test sequences per test gap length (authors' T4)
    private readonly Lazy<double> _chance;

    /// <summary>Builds the task and draws its grammar.</summary>
    public SelectivBench(SelectivBenchOptions options)
    {
        _o = options;
        Grammar = SelectivGrammar.Draw(options.Vocab, options.Ambiguities, options.AmbiguityDepth, options.TransitionDensity,
            options.StartStates, new SplitMix64(SplitMix64.Mix((ulong)options.GrammarSeed ^ GrammarTag)));
        var startSymbols = Grammar.StartStates.Select(Grammar.SymbolOf).ToHashSet();
        _successors = Enumerable.Range(0, Grammar.States)
            .Select(s => Grammar.Successors(s).Select(a => Grammar.Next(s, a)).ToArray()).ToArray();
        // After '#' the next string's start symbols are the legal continuations.
        _forbidden = Enumerable.Range(0, Grammar.States)
            .Select(s => Enumerable.Range(0, Grammar.Vocab).Where(a => s == SelectivGrammar.End ? !startSymbols.Contains(a) : Grammar.Next(s, a) < 0).ToArray())
            .ToArray();
        _testGaps = options.ParsedTestGapLengths();
        _authors = options.TestProtocol == SelectivTestProtocol.Authors;
        // A sequence with gap g holds ⌈L / (g + 1)⌉ symbols, the first unscored: giving each length sequences in inverse
        // proportion to its scored symbols makes every length about equally well measured, and the pooled accuracy about
        // the mean of the per-length ones.
        var weights = _testGaps.Select(g => 1.0 / Math.Max(1, (options.Length + g) / (g + 1) - 1)).ToArray();
        double cumulative = 0;
        _groupEdges = weights.Select(w => cumulative += w / weights.Sum()).ToArray();
        SecondaryMetrics = _authors ? _testGaps.Select(GapMetric).ToArray() : Array.Empty<string>();
        _chance = new Lazy<double>(() => LetterOnlyChance.Of(Grammar));
    }

    /// <summary>The name of the authors' T4 metric for test gaps of <paramref name="gap"/> steps.</summary>
    public static string GapMetric(int gap) => $"accuracy_gap_{gap}";

    /// <inheritdoc />
    public IReadOnlyList<string> SecondaryMetrics { get; }

    /// <summary>
    /// Which of <c>test_gap_lengths</c> (index) fills every gap of test example <paramref name="index"/> under the authors'
    /// protocol; −1 for other splits and protocols, and without test_gap_lengths.
    /// </summary>
    public int TestGroup(Split split, long index)
    {
        if (split != Split.Test || !_authors || _testGaps.Count == 0) return -1;
        double u = index * InverseGolden;
        u -= Math.Floor(u);
        int group = Array.FindIndex(_groupEdges, edge => u < edge);
        return group < 0 ? _testGaps.Count - 1 : group;        // u just below 1 against a rounded last edge
    }

    /// <summary>The hidden grammar.</summary>
    public SelectivGrammar Grammar { get; }

    /// <summary>
    /// Accuracy of a predictor that ignores context: each letter's most frequent state (<see cref="LetterOnlyChance"/>),
    /// computed from the grammar on first use; 1 / ambiguity_depth is what a fixed index scores on average over grammars.
    /// </summary>
    public double Chance => _chance.Value;

    /// <inheritdoc />
    public TaskSignature Signature => new(0, _o.Vocab, _o.AmbiguityDepth, _o.Length);

    /// <inheritdoc />
    public string PrimaryMetric => "accuracy";

    /// <inheritdoc />
    public bool HigherIsBetter => true;

    /// <inheritdoc />
    public int TestExamples => _o.TestExamples;

    /// <summary>Example <paramref name="index"/> of <paramref name="split"/>, with the generator's hidden states.</summary>
    public SelectivSequence Generate(long seed, Split split, long index)
    {
        var rng = SeedStream.ForExample(seed, split, split == Split.Train && _o.TrainExamples > 0 ? index % _o.TrainExamples : index);
        int l = _o.Length;
        var symbols = new int[l];
        var states = new int[l];
        var steps = new SelectivStep[l];
        var labels = TokenExamples.Unscored(l);
        int group = TestGroup(split, index);
        int fixedGap = split == Split.Test && _authors ? (group >= 0 ? _testGaps[group] : _o.GapMax) : 0;
        int state = Grammar.StartStates[rng.NextInt(Grammar.StartStates.Count)];
        for (int t = 0, element = 0; t < l; element++)
        {
            bool ambiguous = Grammar.Depth(Grammar.SymbolOf(state)) > 1;
            (symbols[t], states[t], steps[t]) = (Grammar.SymbolOf(state), state, SelectivStep.Symbol);
            if (ambiguous && !(fixedGap > 0 && t == 0)) labels[t] = Grammar.InstanceOf(state);
            t++;
            if (element >= _o.GapStart && rng.NextDouble() < _o.GapProbability)
            {
                int gap = fixedGap > 0 ? fixedGap
                    : split == Split.Test && _testGaps.Count > 0 ? _testGaps[rng.NextInt(_testGaps.Count)] : rng.NextInt(_o.GapMin, _o.GapMax + 1);
                var forbidden = _forbidden[state];
                for (int g = 0; g < gap && t < l; g++, t++)
                {
                    bool distract = _o.GapFill == SelectivGapFill.Distractors && forbidden.Length > 0;
                    symbols[t] = distract ? forbidden[rng.NextInt(forbidden.Length)] : -1;
                    (states[t], steps[t]) = (state, distract ? SelectivStep.Distractor : SelectivStep.Blank);
                    // The paper's loss covers gap steps with the state held; its accuracy (and ours) scores symbols.
                    if (ambiguous && split == Split.Train) labels[t] = Grammar.InstanceOf(state);
                }
            }
            state = state == SelectivGrammar.End
                ? Grammar.StartStates[rng.NextInt(Grammar.StartStates.Count)]
                : _successors[state][rng.NextInt(_successors[state].Length)];
        }
        int v = _o.Vocab;
        var inputs = new float[l * v];
        for (int t = 0; t < l; t++)
        {
            if (symbols[t] >= 0) inputs[t * v + symbols[t]] = 1f;
            if (_o.Noise > 0)
                for (int a = 0; a < v; a++) inputs[t * v + a] += (float)(rng.NextDouble() * _o.Noise);
        }
        return new SelectivSequence(symbols, states, steps, labels, inputs);
    }

    /// <inheritdoc />
    public TaskBatch Batch(Split split, long seed, long firstExample, int count)
    {
        int l = _o.Length, v = _o.Vocab;
        var inputs = new float[count * l * v];
        var labels = new long[count * l];
        for (int b = 0; b < count; b++)
        {
            var e = Generate(seed, split, firstExample + b);
            e.Inputs.CopyTo(inputs, b * l * v);
            e.Labels.CopyTo(labels, b * l);
        }
        using var raw = tensor(labels, new long[] { count, l });
        var groups = TestGroup(split, firstExample) >= 0
            ? tensor(Enumerable.Range(0, count).Select(b => (long)TestGroup(split, firstExample + b)).ToArray())
            : null;
        return new TaskBatch(tensor(inputs, new long[] { count, l, v }), raw.clamp_min(0), raw.ne(TokenExamples.Ignore), Groups: groups);
    }

    /// <inheritdoc />
    public Tensor Loss(Tensor output, TaskBatch batch) => TokenClassification.Loss(output, batch);

    /// <inheritdoc />
    public IReadOnlyDictionary<string, MetricTally> Metrics(Tensor output, TaskBatch batch)
    {
        var metrics = new Dictionary<string, MetricTally> { [PrimaryMetric] = TokenClassification.Accuracy(output, batch) };
        if (SecondaryMetrics.Count == 0 || batch.Groups is null) return metrics;
        // The authors' T4: one accuracy per test gap length, over the sequences of that length.
        using var scope = NewDisposeScope();
        var correct = output.argmax(-1).eq(batch.Targets).logical_and(batch.Mask).sum(1).cpu().data<long>().ToArray();
        var scored = batch.Mask.sum(1).cpu().data<long>().ToArray();
        var groups = batch.Groups.cpu().data<long>().ToArray();
        var tallies = new MetricTally[_testGaps.Count];
        for (int b = 0; b < groups.Length; b++) tallies[groups[b]] += new MetricTally(correct[b], scored[b]);
        for (int j = 0; j < tallies.Length; j++) metrics[SecondaryMetrics[j]] = tallies[j];
        return metrics;
    }
}

/// <summary>
/// The four published SelectivBench tasks (arXiv 2601.12598, §4; the authors' sweep files <c>wb_configs/task*.yaml</c>),
/// in Zoo's units: a gap of duration d in the paper's units (time step 0.1) is 10·d steps here, and <c>length</c> counts
/// time steps, chosen to hold about the paper's 200 symbols. These are GPU-sized (up to 1,600 states and 40 classes);
/// <c>tasks/selectivity.json</c> has CPU-sized versions.
/// </summary>
public static class SelectivBenchPresets
{
    /// <summary>Task 1, complexity: <paramref name="ambiguities"/> ∈ 20 … 40 letters, each emitted by as many states
    /// (the authors' <c>grammar_scale</c>: vocabulary = ambiguities + 1, depth = ambiguities), a one-step blank after every symbol.</summary>
    public static SelectivBenchOptions T1(int ambiguities) => new()
    {
        Vocab = ambiguities + 1, Ambiguities = ambiguities, AmbiguityDepth = ambiguities, GapMin = 1, GapMax = 1, Length = 400,
    };

    /// <summary>Task 2, gaps and noise: 40 letters × 40 states, blanks of 1 … 10 steps after every symbol, input noise 0.2;
    /// tested as the authors test it, with a 10-step blank after every symbol.</summary>
    public static SelectivBenchOptions T2 => new()
    {
        Vocab = 41, Ambiguities = 40, AmbiguityDepth = 40, GapMin = 1, GapMax = 10, Noise = 0.2, Length = 1300,
        TestProtocol = SelectivTestProtocol.Authors,
    };

    /// <summary>Task 3, grammar gaps: after symbol 50, one distractor (a symbol the grammar forbids there) with probability 0.1.</summary>
    public static SelectivBenchOptions T3 => new()
    {
        Vocab = 41, Ambiguities = 40, AmbiguityDepth = 40, GapProbability = 0.1, GapStart = 50, GapMin = 1, GapMax = 1,
        GapFill = SelectivGapFill.Distractors, Length = 220,
    };

    /// <summary>Task 4, generalisation: trained as task 2, tested with gaps of the durations 1, 2, 5, 10 (10 … 100 steps),
    /// each length in sequences of its own and scored as its own metric (the authors' test).</summary>
    public static SelectivBenchOptions T4 => T2 with { TestGapLengths = "10,20,50,100" };
}
