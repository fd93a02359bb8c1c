using Zoo.Core.Tasks;

namespace Zoo.Tasks.Selectivity;

/// <summary>
/// The hidden finite-state grammar of <see cref="SelectivBench"/>, drawn as SymSeq's <c>generate_grammar</c> does
/// (Bouhadjar et al. 2026, arXiv 2601.12598, §3): symbol 0 is the end marker <c>#</c>, symbols 1 … V − 1 are letters;
/// <c>ambiguities</c> letters are each emitted by <c>ambiguity_depth</c> states (A0, A1, …), the others by one state.
/// From every state other than <c>#</c>, each symbol is a successor with probability <c>transition_density</c>, and
/// the edge leads to one uniformly chosen state emitting that symbol, so (state, symbol) fixes the next state: the
/// hidden state is a function of the symbols seen, but for an ambiguous symbol only through the context before it.
/// Transitions from a state are equiprobable. A string runs from a start state to <c>#</c>.
/// </summary>
public sealed class SelectivGrammar
{
    /// <summary>The end-of-string state and symbol (<c>#</c>).</summary>
    public const int End = 0;

    private readonly int[] _symbol;       // state → symbol it emits
    private readonly int[] _instance;     // state → its index among the states emitting the same symbol
    private readonly int[] _depth;        // symbol → number of states emitting it
    private readonly int[][] _next;       // state → symbol → next state, −1 when the symbol may not follow

    private SelectivGrammar(int[] symbol, int[] instance, int[] depth, int[][] next, int[] starts)
    {
        (_symbol, _instance, _depth, _next) = (symbol, instance, depth, next);
        StartStates = starts;
    }

    /// <summary>Number of symbols V (including <c>#</c>).</summary>
    public int Vocab => _depth.Length;

    /// <summary>Number of states (including <c>#</c>).</summary>
    public int States => _symbol.Length;

    /// <summary>States a string may start in; their symbols are distinct, so the first state of a string is known.</summary>
    public IReadOnlyList<int> StartStates { get; }

    /// <summary>The symbol <paramref name="state"/> emits.</summary>
    public int SymbolOf(int state) => _symbol[state];

    /// <summary>Which of the states emitting its symbol <paramref name="state"/> is (0 for an unambiguous symbol).</summary>
    public int InstanceOf(int state) => _instance[state];

    /// <summary>How many states emit <paramref name="symbol"/> (1: unambiguous).</summary>
    public int Depth(int symbol) => _depth[symbol];

    /// <summary>The state after <paramref name="state"/> when <paramref name="symbol"/> follows, or −1 when it may not.</summary>
    public int Next(int state, int symbol) => _next[state][symbol];

    /// <summary>Symbols that may follow <paramref name="state"/>.</summary>
    public IEnumerable<int> Successors(int state) => Enumerable.Range(0, Vocab).Where(a => _next[state][a] >= 0);

    /// <summary>
    /// Draws a grammar from <paramref name="rng"/>, redrawing until every state can reach <c>#</c> (SymSeq's
    /// <c>require_exit_from_all</c>); start states are drawn with distinct symbols (SymSeq draws them from all states, so
    /// two could share a symbol and the first state of a string would be a guess).
    /// </summary>
    public static SelectivGrammar Draw(int vocab, int ambiguities, int depth, double density, int startStates, SplitMix64 rng)
    {
        for (int attempt = 0; attempt < 10_000; attempt++)
        {
            var ambiguous = rng.Distinct(1, vocab, ambiguities).ToHashSet();
            var symbolDepth = Enumerable.Range(0, vocab).Select(a => ambiguous.Contains(a) ? depth : 1).ToArray();
            var symbol = new List<int>();
            var instance = new List<int>();
            var statesOf = new List<int>[vocab];
            for (int a = 0; a < vocab; a++)
            {
                statesOf[a] = new List<int>();
                for (int k = 0; k < symbolDepth[a]; k++)
                {
                    statesOf[a].Add(symbol.Count);
                    symbol.Add(a);
                    instance.Add(k);
                }
            }
            int n = symbol.Count;
            var next = new int[n][];
            for (int s = 0; s < n; s++)
            {
                next[s] = Enumerable.Repeat(-1, vocab).ToArray();
                if (s == End) continue;                       // no transitions leave '#'
                for (int a = 0; a < vocab; a++)
                {
                    int target = statesOf[a][rng.NextInt(statesOf[a].Count)];
                    if (rng.NextDouble() < density) next[s][a] = target;
                }
            }
            if (!AllReachEnd(next)) continue;
            var startSymbols = rng.Distinct(1, vocab, startStates);
            var starts = startSymbols.Select(a => statesOf[a][rng.NextInt(statesOf[a].Count)]).ToArray();
            return new SelectivGrammar(symbol.ToArray(), instance.ToArray(), symbolDepth, next, starts);
        }
        throw new InvalidOperationException($"no grammar in which every state reaches '#' after 10000 draws (vocab {vocab}, density {density})");
    }

    // Backward search from '#' over reversed edges.
    private static bool AllReachEnd(int[][] next)
    {
        int n = next.Length;
        var reaches = new bool[n];
        reaches[End] = true;
        for (bool changed = true; changed;)
        {
            changed = false;
            for (int s = 0; s < n; s++)
                if (!reaches[s] && next[s].Any(t => t >= 0 && reaches[t])) reaches[s] = changed = true;
        }
        return reaches.All(r => r);
    }
}
