using System.Text.Json;
using Zoo.Core.Options;
using Zoo.Core.Tasks;
using Zoo.Tasks.Selectivity;
using static TorchSharp.torch;

namespace Zoo.Tests;

/// <summary>SelectivBench: labels checked against the grammar, determinism, chance, gaps and distractors.</summary>
public sealed class SelectivBenchTests
{
    private static readonly SelectivBenchOptions Small = new()
    {
        Vocab = 9, Ambiguities = 5, AmbiguityDepth = 3, Length = 120, GapProbability = 0.5, GapMin = 1, GapMax = 3,
        TestExamples = 64,
    };

    public static TheoryData<string> Settings => new() { "blank", "distractors", "noise" };

    private static SelectivBenchOptions Setting(string name) => name switch
    {
        "distractors" => Small with { GapFill = SelectivGapFill.Distractors, GapStart = 5, GrammarSeed = 3 },
        "noise" => Small with { Noise = 0.2, GrammarSeed = 7, Ambiguities = 8 },
        _ => Small,
    };

    // Recovers the hidden state from the symbols alone: a symbol the current state may not be followed by is a distractor
    // (skipped), after '#' (or at the start) the symbol names the start state, otherwise (state, symbol) fixes the next state.
    private static int[] Parse(SelectivGrammar g, int[] symbols)
    {
        var parsed = new int[symbols.Length];
        int state = SelectivGrammar.End;
        for (int t = 0; t < symbols.Length; t++)
        {
            int a = symbols[t];
            if (a >= 0)
            {
                int next = state == SelectivGrammar.End ? g.StartStates.FirstOrDefault(s => g.SymbolOf(s) == a, -1) : g.Next(state, a);
                if (next >= 0) state = next;
            }
            parsed[t] = state;
        }
        return parsed;
    }

    [Theory]
    [MemberData(nameof(Settings))]
    public void Every_scored_label_is_the_state_the_grammar_reaches_from_the_symbols_alone(string setting)
    {
        var task = new SelectivBench(Setting(setting));
        var g = task.Grammar;
        int scored = 0;
        foreach (var split in new[] { Split.Train, Split.Test })
            for (int i = 0; i < 40; i++)
            {
                var e = task.Generate(5, split, i);
                var parsed = Parse(g, e.Symbols);
                for (int t = 0; t < e.Symbols.Length; t++)
                {
                    Assert.Equal(e.States[t], parsed[t]);                                   // the state is determined by the input
                    if (e.Steps[t] == SelectivStep.Symbol)
                    {
                        Assert.Equal(g.SymbolOf(e.States[t]), e.Symbols[t]);
                        bool legal = t == 0 || e.States[t - 1] == SelectivGrammar.End
                            ? g.StartStates.Contains(e.States[t])
                            : g.Next(e.States[t - 1], e.Symbols[t]) == e.States[t];
                        Assert.True(legal, $"step {t}: state {e.States[t]} cannot follow {(t == 0 ? "the start" : e.States[t - 1].ToString())}");
                    }
                    if (e.Steps[t] == SelectivStep.Distractor)
                        Assert.True(e.States[t] == SelectivGrammar.End ? !g.StartStates.Any(s => g.SymbolOf(s) == e.Symbols[t]) : g.Next(e.States[t], e.Symbols[t]) < 0);
                    bool ambiguous = g.Depth(g.SymbolOf(e.States[t])) > 1;
                    bool expectScored = ambiguous && (e.Steps[t] == SelectivStep.Symbol || split == Split.Train);
                    Assert.Equal(expectScored ? g.InstanceOf(e.States[t]) : TokenExamples.Ignore, e.Labels[t]);
                    if (expectScored && split == Split.Test) scored++;
                }
            }
        Assert.True(scored > 300, $"only {scored} scored steps");
    }

    [Fact]
    public void Examples_are_a_pure_function_of_seed_split_and_index()
    {
        var a = new SelectivBench(Small with { Noise = 0.1 });
        var b = new SelectivBench(Small with { Noise = 0.1 });
        var x = a.Generate(3, Split.Train, 17);
        Assert.Equal(x.Inputs, b.Generate(3, Split.Train, 17).Inputs);
        Assert.Equal(x.Labels, b.Generate(3, Split.Train, 17).Labels);
        Assert.NotEqual(x.Symbols, a.Generate(3, Split.Test, 17).Symbols);
        Assert.NotEqual(x.Symbols, a.Generate(4, Split.Train, 17).Symbols);
        using var scope = NewDisposeScope();
        using var batch = a.Batch(Split.Train, 3, 15, 4);
        Assert.Equal(new long[] { 4, 120, 9 }, batch.Inputs.shape);
        Assert.Equal(x.Inputs, batch.Inputs[2].flatten().data<float>().ToArray());
        Assert.Equal(x.Labels.Select(v => v < 0 ? 0 : v), batch.Targets[2].data<long>().ToArray());
        Assert.Equal(x.Labels.Select(v => v >= 0), batch.Mask[2].data<bool>().ToArray());
        // The grammar depends on grammar_seed only.
        static int[] Table(SelectivGrammar g) => Enumerable.Range(0, g.States).SelectMany(s => Enumerable.Range(0, g.Vocab).Select(c => g.Next(s, c))).ToArray();
        Assert.Equal(Table(a.Grammar), Table(new SelectivBench(Small with { Noise = 0.3, Length = 10 }).Grammar));
        Assert.NotEqual(Table(a.Grammar), Table(new SelectivBench(Small with { GrammarSeed = 1 }).Grammar));
    }

    [Theory]
    [InlineData(2)]
    [InlineData(3)]
    public void A_constant_predictor_scores_one_over_depth_averaged_over_grammars(int depth)
    {
        using var scope = NewDisposeScope();
        var total = new MetricTally(0, 0);
        for (int grammar = 0; grammar < 24; grammar++)
        {
            var task = new SelectivBench(new SelectivBenchOptions { AmbiguityDepth = depth, Length = 100, GrammarSeed = grammar });
            Assert.Equal(1.0 / depth, task.Chance);
            using var batch = task.Batch(Split.Test, 0, 0, 40);
            var constant = zeros(40, 100, depth);
            constant.select(2, 1).fill_(1);                       // always the second state of a letter
            total += task.Metrics(constant, batch)["accuracy"];
        }
        Assert.InRange(total.Mean, 1.0 / depth - 0.03, 1.0 / depth + 0.03);
    }

    private static List<int> GapRuns(SelectivSequence e)
    {
        var runs = new List<int>();
        int run = 0;
        for (int t = 0; t < e.Steps.Length; t++)
        {
            if (e.Steps[t] != SelectivStep.Symbol)
            {
                run++;
            }
            else if (run > 0)
            {
                runs.Add(run);
                run = 0;
            }
        }
        return runs;                                              // a run cut by the sequence end is left out
    }

    [Fact]
    public void T4_tests_only_the_unseen_gap_lengths_and_trains_on_the_others()
    {
        var task = new SelectivBench(Small with { GapProbability = 1, GapMin = 1, GapMax = 3, TestGapLengths = "5, 8", Length = 200 });
        var train = Enumerable.Range(0, 30).SelectMany(i => GapRuns(task.Generate(0, Split.Train, i))).ToList();
        var test = Enumerable.Range(0, 30).SelectMany(i => GapRuns(task.Generate(0, Split.Test, i))).ToList();
        Assert.Equal(new[] { 1, 2, 3 }, train.Distinct().Order());
        Assert.Equal(new[] { 5, 8 }, test.Distinct().Order());
        Assert.Equal(new[] { 10, 20, 50, 100 }, SelectivBenchPresets.T4.ParsedTestGapLengths());
    }

    [Fact]
    public void Distractors_start_at_gap_start_with_the_gap_probability_and_noise_stays_in_range()
    {
        var task = new SelectivBench(Small with { GapFill = SelectivGapFill.Distractors, GapProbability = 0.25, GapStart = 10, GapMin = 1, GapMax = 1, Noise = 0.3 });
        int gaps = 0, chances = 0;
        for (int i = 0; i < 50; i++)
        {
            var e = task.Generate(1, Split.Test, i);
            var symbolSteps = Enumerable.Range(0, e.Steps.Length).Where(t => e.Steps[t] == SelectivStep.Symbol).ToList();
            Assert.All(symbolSteps.Take(10), t => Assert.True(t + 1 >= e.Steps.Length || e.Steps[t + 1] == SelectivStep.Symbol));
            foreach (var t in symbolSteps.Skip(10).Where(t => t + 1 < e.Steps.Length))
            {
                chances++;
                if (e.Steps[t + 1] == SelectivStep.Distractor) gaps++;
            }
            Assert.DoesNotContain(SelectivStep.Blank, e.Steps);
            for (int t = 0; t < e.Symbols.Length; t++)
                for (int a = 0; a < 9; a++)
                    Assert.InRange(e.Inputs[t * 9 + a] - (a == e.Symbols[t] ? 1 : 0), 0f, 0.3f);
        }
        Assert.InRange((double)gaps / chances, 0.2, 0.3);
    }

    [Fact]
    public void Presets_are_valid_and_bad_fields_are_named()
    {
        foreach (var preset in new[] { SelectivBenchPresets.T1(20), SelectivBenchPresets.T1(40), SelectivBenchPresets.T2, SelectivBenchPresets.T3, SelectivBenchPresets.T4 })
        {
            var bound = OptionsBinder.Bind<SelectivBenchOptions>(JsonDocument.Parse(OptionsBinder.ToJson(preset).ToJsonString()).RootElement);
            Assert.Equal(preset, bound);
        }
        Assert.Equal(40 * 40 + 1, new SelectivBench(SelectivBenchPresets.T2 with { Length = 10 }).Grammar.States); // 40 letters × 40 states + '#'
        var e = Assert.Throws<ZooConfigException>(() => OptionsBinder.Bind<SelectivBenchOptions>(JsonDocument.Parse("{\"test_gap_lengths\": \"10,x\"}").RootElement, "s.json", "tasks[0].options"));
        Assert.Equal("tasks[0].options.test_gap_lengths", e.Field);
        e = Assert.Throws<ZooConfigException>(() => OptionsBinder.Bind<SelectivBenchOptions>(JsonDocument.Parse("{\"gap_min\": 4, \"gap_max\": 2}").RootElement, "s.json", "o"));
        Assert.Equal("o.gap_max", e.Field);
    }
}
