using Zoo.Runner.Plots;
using Zoo.Runner.Results;

namespace Zoo.Tests;

/// <summary>What the leaderboard tells a reader beyond the metric: how runs ended, how fast they learned, which ranks are provisional.</summary>
public sealed class LeaderboardTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("zoo-board-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static ResultRow R(string layer, long seed, double value, string end, int? to09, int bestStep = 100, string task = "mqar", string options = "{\"pairs\":8}") => new()
    {
        Suite = "s", Task = task, TaskOptionsHash = options, TaskOptions = options, Layer = layer, LayerOptionsHash = "l", Metric = "accuracy",
        Lr = 1e-3, Seed = seed, Value = value, Status = "ok", DModel = 64, Params = 1000, TrainTokensPerSecond = 10,
        ConfigHash = $"{layer}-{seed}-{options}", Steps = 400, BestStep = bestStep, End = end, StepsToNineTenths = to09,
    };

    [Fact]
    public void Entries_count_how_runs_ended_and_the_median_steps_to_0_9_over_the_seeds_that_got_there()
    {
        var entries = Leaderboard.Build(new[]
        {
            R("attention", 0, 0.99, "target", 100), R("attention", 1, 0.99, "target", 300), R("attention", 2, 0.95, "cap", 200),
            R("lstm", 0, 0.10, "plateau", null), R("lstm", 1, 0.12, "plateau", null),
        });
        var attention = entries.Single(e => e.Layer == "attention");
        Assert.Equal("target 2, cap 1", attention.Ends);
        Assert.Equal(200, attention.StepsToNineTenths);
        Assert.Equal(3, attention.ReachedNineTenths);
        Assert.Equal(1, attention.StillImproving);
        var lstm = entries.Single(e => e.Layer == "lstm");
        Assert.Null(lstm.StepsToNineTenths);
        Assert.Equal(0, lstm.StillImproving);

        var md = Leaderboard.Markdown(entries);
        Assert.Contains("| 1 ↑ | attention | 0.9767 (0.990, 0.990, 0.950) | 3 | target 2, cap 1 | 200 (3/3) |", md);
        Assert.Contains("| 2 | lstm | 0.1100 (0.100, 0.120) | 2 | plateau 2 | – |", md);
    }

    [Fact]
    public void A_setting_run_at_several_widths_gets_a_table_of_each_layers_best_value_per_width()
    {
        ResultRow W(string layer, int d, double value, long state, string end = "plateau") =>
            R(layer, 0, value, end, null) with { DModel = d, StateSize = state, ConfigHash = $"{layer}-{d}" };
        var rows = new[] { W("gdn", 32, 0.40, 1_000, "cap"), W("gdn", 64, 0.99, 4_000), W("lstm", 32, 0.01, 64), W("lstm", 64, 0.02, 128),
            W("attention", 64, 1.0, 16_000) };
        var md = Leaderboard.Markdown(Leaderboard.Build(rows), perWidth: Leaderboard.Build(rows, perWidth: true));
        Assert.Contains("| layer | d_model 32 | d_model 64 |", md);
        Assert.Contains("| attention | – | 1.000 (16,000) |", md);
        Assert.Contains("| gdn | 0.400 ↑ (1,000) | 0.990 (4,000) |", md);
        Assert.Contains("| lstm | 0.010 (64) | 0.020 (128) |", md);
        // One width only: no extra table.
        var single = rows.Where(r => r.DModel == 64).ToList();
        Assert.DoesNotContain("By width", Leaderboard.Markdown(Leaderboard.Build(single), perWidth: Leaderboard.Build(single, perWidth: true)));
    }

    [Fact]
    public void Settings_come_in_numeric_order()
    {
        var entries = Leaderboard.Build(new[] { R("gdn", 0, 0.5, "cap", null, options: "{\"length\":128}"),
            R("gdn", 0, 0.9, "cap", null, options: "{\"length\":64}"), R("gdn", 0, 0.7, "cap", null, options: "{\"length\":1024}") });
        Assert.Equal(new[] { "{\"length\":64}", "{\"length\":128}", "{\"length\":1024}" }, entries.Select(e => e.TaskOptions));
    }

    [Fact]
    public void A_labelled_variant_is_its_own_line_while_unlabelled_options_fold_into_the_layers_best()
    {
        ResultRow V(string options, string label, double value) =>
            R("attention", 0, value, "cap", null) with { LayerOptionsHash = options, ConfigHash = $"attention-{options}", Label = label };
        var entries = Leaderboard.Build(new[] { V("rope", "", 0.05), V("rope-base-500", "", 0.07), V("conv", "attention-short-conv", 0.99) });
        Assert.Equal(new[] { "attention-short-conv", "attention" }, entries.Select(e => e.Layer));
        Assert.Equal(0.07, entries.Single(e => e.Layer == "attention").Mean);
    }

    [Theory]
    [InlineData("steps", 400, true)]    // a fixed budget whose best evaluation was its last: still improving
    [InlineData("steps", 200, false)]
    [InlineData("cap", 200, true)]      // an until run that met neither target nor patience
    [InlineData("plateau", 400, false)]
    [InlineData("target", 400, false)]
    [InlineData("", 400, false)]        // an older file without the end column: nothing to say
    public void A_run_stopped_improving_only_when_its_budget_cut_it_off(string end, int bestStep, bool improving) =>
        Assert.Equal(improving, Leaderboard.StoppedImproving(R("gru", 0, 0.5, end, null, bestStep)));

    [Fact]
    public void Panel_titles_name_the_options_that_differ_between_settings()
    {
        var a = "{\"vocab\":16,\"length\":64,\"pairs\":8}";
        var b = "{\"vocab\":16,\"length\":128,\"pairs\":16}";
        Assert.Equal("mqar: length 64, pairs 8", SmallMultiples.SettingTitle("mqar", a, new[] { a, b }));
        Assert.Equal("mqar: length 128, pairs 16", SmallMultiples.SettingTitle("mqar", b, new[] { a, b }));
        Assert.Equal("mqar: vocab 16, length 64, pairs 8", SmallMultiples.SettingTitle("mqar", a, new[] { a }));
        // Four settings differing in four options: each title keeps going until it names its panel alone, and an option
        // only another setting has is shown as "none".
        string[] sel = { "{\"gap_max\":1,\"ambiguities\":20}", "{\"gap_max\":1,\"ambiguities\":40}", "{\"gap_max\":4,\"ambiguities\":40,\"noise\":0.2,\"protocol\":\"authors\"}",
            "{\"gap_max\":4,\"ambiguities\":40,\"noise\":0.2,\"protocol\":\"authors\",\"gaps\":\"4,8\"}" };
        var titles = sel.Select(o => SmallMultiples.SettingTitle("sb", o, sel)).ToList();
        Assert.Equal(titles.Count, titles.Distinct().Count());
        Assert.Equal("sb: gap_max 4, ambiguities 40, noise 0.2, protocol authors, gaps none", titles[2]);
        Assert.Contains("gaps 4,8", titles[3]);
    }

    [Fact]
    public void State_axes_are_labelled_at_round_values()
    {
        var labels = SmallMultiples.LogTicks(1_585, 67_840).Where(t => t.IsMajor).Select(t => t.Label).ToList();
        Assert.Contains("2,000", labels);
        Assert.Contains("5,000", labels);
        Assert.Contains("50,000", labels);
        Assert.DoesNotContain("1,585", labels);
        // Over more than three decades only the powers of ten are named.
        var wide = SmallMultiples.LogTicks(64, 200_000).Where(t => t.IsMajor).Select(t => t.Label).ToList();
        Assert.Contains("100,000", wide);
        Assert.DoesNotContain("2,000", wide);
    }

    [Fact]
    public void Panel_titles_wider_than_the_panel_break_after_a_comma()
    {
        var plot = new ScottPlot.Plot();
        Assert.Equal(1, SmallMultiples.PanelTitle(plot, "mqar: length 64, pairs 8", 400));
        Assert.Equal("mqar: length 64, pairs 8", plot.Axes.Title.Label.Text);
        const string title = "selectivbench: ambiguities 40, gap_probability 0.1, gap_start 50, gap_fill distractors";
        int n = SmallMultiples.PanelTitle(plot, title, 400);
        var lines = plot.Axes.Title.Label.Text.Split('\n');
        Assert.True(n > 1);
        Assert.Equal(n, lines.Length);
        Assert.Equal(title, string.Join(" ", lines));                     // nothing dropped; each break after a comma
        Assert.All(lines.SkipLast(1), l => Assert.EndsWith(",", l));
        Assert.Equal(1, SmallMultiples.PanelTitle(plot, title, 1200));
    }

    [Fact]
    public void Figures_draw_one_panel_per_task_setting_with_chance_lines_and_curricula_as_levels()
    {
        var rows = new[] { R("attention", 0, 0.9, "target", 100), R("lstm", 0, 0.1, "plateau", null),
            R("attention", 0, 0.5, "cap", null, options: "{\"pairs\":16}"), R("lstm", 0, 0.05, "cap", null, options: "{\"pairs\":16}") };
        var entries = Leaderboard.Build(rows);
        string bars = Path.Combine(_dir, "bars.png"), state = Path.Combine(_dir, "state.png");
        LeaderboardPlots.Bars(entries, bars, "t", (_, _) => 1.0 / 64);
        LeaderboardPlots.StateSize(entries.Select(e => e with { StateSize = 100 }).ToList(), state, "t", (_, _) => null);
        // Two settings side by side: wider than one panel.
        Assert.True(Png.Width(bars) == 2 * 360 && Png.Width(state) == 2 * 760);

        var curves = new[] { 50, 100, 150 }.SelectMany(step => new[] { 0L, 1L }.Select(seed => new CurveRow
        {
            ConfigHash = $"c{seed}", Layer = "lstm", Task = "curriculum", Seed = seed, Step = step, Metric = "accuracy", Value = 0.9, Level = step / 50 + (int)seed,
        }));
        var info = new Dictionary<string, CurveRunInfo> { ["c0"] = new("{}", "one", null), ["c1"] = new("{}", "one", null) };
        var files = LearningCurvePlot.Write(curves, _dir, "s", info);
        Assert.Equal(Path.Combine(_dir, "curves-curriculum.png"), Assert.Single(files));
        Assert.Equal(760, Png.Width(files[0]));
    }

    [Fact]
    public void Per_width_entries_keep_each_width_for_the_state_size_figure()
    {
        var rows = new[] { 32, 64, 128 }.SelectMany(d => new[] { 1e-3, 3e-3 }.Select(lr => R("gdn", 0, d / 1000.0 + lr, "target", 100) with
        {
            DModel = d, Lr = lr, StateSize = d * d, ConfigHash = $"gdn-{d}-{lr}",
        })).ToList();
        var best = Assert.Single(Leaderboard.Build(rows));
        Assert.Equal((128, 3e-3), (best.DModel, best.Lr));
        var perWidth = Leaderboard.Build(rows, perWidth: true);
        Assert.Equal(new[] { 32, 64, 128 }, perWidth.Select(e => e.DModel).Order());
        Assert.All(perWidth, e => Assert.Equal(3e-3, e.Lr));           // still the best lr at each width
        string png = Path.Combine(_dir, "state-widths.png");
        LeaderboardPlots.StateSize(perWidth, png, "t", (_, _) => 1.0 / 64);
        Assert.Equal(760, Png.Width(png));
    }

    [Fact]
    public void Series_styles_differ_in_colour_or_marker_past_the_palette()
    {
        var styles = Enumerable.Range(0, 40).Select(i => SmallMultiples.Style(i)).Select(st => (st.Color.ToHex(), st.Marker)).ToList();
        Assert.Equal(styles.Count, styles.Distinct().Count());
    }

    private static class Png
    {
        // Width from the IHDR chunk: bytes 16-19, big-endian.
        public static int Width(string path)
        {
            var b = File.ReadAllBytes(path);
            return b[16] << 24 | b[17] << 16 | b[18] << 8 | b[19];
        }
    }
}
