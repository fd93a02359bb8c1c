using System.Text.RegularExpressions;

namespace Zoo.Runner.Results;

/// <summary>
/// Orders strings with runs of digits compared as numbers and the rest ordinally, so task settings come as a reader
/// counts them (<c>"length":64</c> before <c>"length":128</c>) in leaderboard tables and plot panels.
/// </summary>
internal sealed partial class NaturalOrder : IComparer<string>
{
    public static readonly NaturalOrder Instance = new();

    public int Compare(string? x, string? y)
    {
        var (a, b) = (Runs().Matches(x ?? "").Select(m => m.Value).ToArray(), Runs().Matches(y ?? "").Select(m => m.Value).ToArray());
        for (int i = 0; i < Math.Min(a.Length, b.Length); i++)
        {
            int c = char.IsDigit(a[i][0]) && char.IsDigit(b[i][0]) ? CompareNumbers(a[i].TrimStart('0'), b[i].TrimStart('0')) : string.CompareOrdinal(a[i], b[i]);
            if (c != 0) return c;
        }
        return a.Length.CompareTo(b.Length);
    }

    // Digit strings of any length without leading zeros: the longer is larger, equal lengths compare ordinally.
    private static int CompareNumbers(string a, string b) => a.Length != b.Length ? a.Length.CompareTo(b.Length) : string.CompareOrdinal(a, b);

    [GeneratedRegex(@"\d+|\D+")]
    private static partial Regex Runs();
}
