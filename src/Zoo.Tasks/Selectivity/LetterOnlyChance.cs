namespace Zoo.Tasks.Selectivity;

/// <summary>
/// The letter-only baseline of a <see cref="SelectivGrammar"/>: the accuracy of a predictor that sees only the current
/// letter and always answers that letter's most frequent state. 1 / depth is what a fixed index scores, averaged over
/// grammars; but in one grammar the states of a letter are not visited equally often, so the best index per letter scores
/// more (0.13–0.15 at depth 20, not 0.05), and a model learns these frequencies before it learns any context: this, not
/// 1 / depth, is the level above which a model uses context.
/// Computed exactly from the grammar's chain, so it costs no sampling and is the same for every run seed.
/// </summary>
public static class LetterOnlyChance
{
    /// <summary>
    /// Long-run fraction of the symbols of an endless stream of strings (each <c>#</c> followed by a uniformly drawn start
    /// state, transitions equiprobable) that each state emits: the stationary distribution of that chain, by power
    /// iteration of the lazy chain (½ stay, ½ move), which converges even where the chain is periodic.
    /// </summary>
    public static double[] Occupancy(SelectivGrammar grammar)
    {
        int n = grammar.States;
        var next = Enumerable.Range(0, n).Select(s => s == SelectivGrammar.End
            ? grammar.StartStates.ToArray()
            : grammar.Successors(s).Select(a => grammar.Next(s, a)).ToArray()).ToArray();
        var p = new double[n];
        foreach (var s in grammar.StartStates) p[s] = 1.0 / grammar.StartStates.Count;
        var q = new double[n];
        for (int iteration = 0; iteration < 200_000; iteration++)
        {
            for (int s = 0; s < n; s++) q[s] = 0.5 * p[s];
            for (int s = 0; s < n; s++)
            {
                if (p[s] == 0) continue;
                double share = 0.5 * p[s] / next[s].Length;
                foreach (var t in next[s]) q[t] += share;
            }
            double change = 0;
            for (int s = 0; s < n; s++) change += Math.Abs(q[s] - p[s]);
            (p, q) = (q, p);
            if (change < 1e-13) break;
        }
        return p;
    }

    /// <summary>
    /// Accuracy over the stream's ambiguous letters (the scored ones) of always answering, for each letter, the index of
    /// its most visited state.
    /// </summary>
    public static double Of(SelectivGrammar grammar)
    {
        var occupancy = Occupancy(grammar);
        var best = new double[grammar.Vocab];
        var total = new double[grammar.Vocab];
        for (int s = 0; s < grammar.States; s++)
        {
            int a = grammar.SymbolOf(s);
            if (grammar.Depth(a) < 2) continue;
            best[a] = Math.Max(best[a], occupancy[s]);
            total[a] += occupancy[s];
        }
        double sum = total.Sum();
        return sum > 0 ? best.Sum() / sum : double.NaN;
    }
}
