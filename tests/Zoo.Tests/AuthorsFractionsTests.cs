using Zoo.Studies.ShortTermMemory;

namespace Zoo.Tests;

public class AuthorsFractionsTests
{
    private static readonly string FractionsPath = Path.Combine(TestSupport.RepoRoot, "tasks", "stm-authors-fractions.csv");

    [Fact]
    public void Authors_fractions_reproduce_their_critical_points_under_their_fit()
    {
        // The provenance check of the extracted fractions: the authors' fit of them gives back their 30 published
        // critical points (no-solution onsets) to the 0.1 ms those were read to, and their three classes sum to 1.
        var fractions = AuthorsFractions.Load(FractionsPath);
        var config = StmConfig.Load(Path.Combine(TestSupport.RepoRoot, "tasks", "stm-paper-budget.json"));
        var points = new Zoo.Runner.Results.CsvTable<AuthorsCriticalPoint>(config.ReferencePoints).Read();
        Assert.Equal(30, fractions.LearningRates.Count);
        var x = AuthorsFractions.Delays.ToArray();
        foreach (var p in points)
        {
            var y = x.Select(d => fractions.At(p.Lr, "no_solution", d)!.Value).ToArray();
            var fit = CriticalLearningRate.AuthorsFit(x, y, CriticalLearningRate.Onset);
            Assert.NotNull(fit);
            Assert.True(Math.Abs(fit!.Value.X0 - p.NoSolutionOnsetMs) <= 0.1, $"lr {p.Lr}: {fit.Value.X0} vs {p.NoSolutionOnsetMs}");
            foreach (var d in x)
                Assert.Equal(1, new[] { "no_solution", "lc", "sp" }.Sum(c => fractions.At(p.Lr, c, d)!.Value), 6);
        }
        Assert.Null(fractions.At(0.5, "sp", 40));       // not one of their rates
        Assert.Null(fractions.At(0.316228, "sp", 50));  // not one of their delays
    }

    [Fact]
    public void Cells_are_compared_with_the_authors_shares()
    {
        var fractions = AuthorsFractions.Load(FractionsPath);
        // lr 0.316228 at 160 ms: authors no solution 0.57. Eight seeds, two of which fail.
        var rows = Enumerable.Range(0, 8).Select(s => new StmRow
        {
            Lr = 0.316228, DelayMs = 160, Seed = s, Trained = s < 2 ? "no" : "yes", MechanismFft = s < 2 ? "" : "lc",
        }).ToList();
        var cells = FractionComparison.Compare(rows, fractions);
        var fail = cells.Single(c => c.Category == "no_solution");
        Assert.Equal(2, fail.ZooCount);
        Assert.Equal(0.57, fail.AuthorsFraction, 9);
        Assert.Equal((2 - 8 * 0.57) / Math.Sqrt(8 * 0.57 * 0.43), fail.Z, 9);
        Assert.Equal(6, cells.Single(c => c.Category == "lc").ZooCount);
        Assert.Equal(0, cells.Single(c => c.Category == "sp").ZooCount);
    }

    [Fact]
    public void Simulated_authors_design_recovers_their_exponents_and_few_seeds_widen_the_band()
    {
        // Draws from the authors' fractions at their own design must give back their published slopes; at 8 seeds the
        // same truth must scatter far more. A study of 8 seeds on 4 of their rates and 11 delays:
        var fractions = AuthorsFractions.Load(FractionsPath);
        var rates = new[] { 0.316228, 0.0615848, 0.01, 0.0026827 };
        var rows = (from lr in rates
                    from d in Enumerable.Range(0, 11).Select(i => 40.0 * i)
                    from s in Enumerable.Range(0, 8)
                    select new StmRow { Lr = lr, DelayMs = d, Seed = s, Trained = "yes", MechanismFft = "lc" }).ToList();
        var observed = new[] { new CriticalFit { Method = "paper_fit", Category = "no_solution", Slope = -1.0, Rates = "all" } };
        var spread = SamplingSpread.Simulate(rows, fractions, observed, spMinLr: 0.004, replicates: 60);
        var authors = spread.Single(s => s.Design == "authors' design" && s.Category == "no_solution");
        Assert.Equal((100, 21, 4), (authors.Seeds, authors.Delays, authors.LearningRates));
        Assert.InRange(authors.Median, -3.1, -2.4);  // their −2.72 over all 30 rates; four rates scatter a little more
        var mine = spread.Single(s => s.Design == "this study" && s.Category == "no_solution");
        Assert.Equal((8, 11), (mine.Seeds, mine.Delays));
        Assert.True(mine.P95 - mine.P05 > 2 * (authors.P95 - authors.P05), $"{mine.P05}…{mine.P95} vs {authors.P05}…{authors.P95}");
        Assert.Equal(-1.0, mine.Observed);
        Assert.InRange(mine.ShareFlatter!.Value, 0, 1);
        Assert.Null(authors.Observed);
    }
}
