using System.Globalization;
using CsvHelper;
using CsvHelper.Configuration;
using CsvHelper.TypeConversion;
using Zoo.Core.Options;

namespace Zoo.Runner.Results;

/// <summary>
/// A CSV file of records of type <typeparamref name="T"/>, appended atomically: the new content is written to a
/// temporary file in the same folder and renamed over the old one, so a process killed at any moment leaves either
/// the old file or the new one, never a half row. A lock file serialises writers from several processes.
/// Reading accepts CRLF line endings (kept when appending) and an empty file; an incomplete last row (no newline at the
/// end, as a crash of a non-atomic writer leaves) is reported and skipped; any other unreadable row stops with its
/// line number.
/// </summary>
public sealed class CsvTable<T>
{
    private static readonly CsvConfiguration ReadConfig = new(CultureInfo.InvariantCulture);
    private readonly Action<string> _note;
    private bool _noted;

    /// <summary>Table stored at <paramref name="path"/>; <paramref name="note"/> hears about skipped incomplete rows.</summary>
    public CsvTable(string path, Action<string>? note = null) => (Path, _note) = (path, note ?? (_ => { }));

    /// <summary>Where the table lives.</summary>
    public string Path { get; }

    /// <summary>The temporary file this process writes before renaming it over <see cref="Path"/>.</summary>
    public string TemporaryPath => $"{Path}.{Environment.ProcessId}.tmp";

    /// <summary>The header line this schema writes.</summary>
    public static string Header()
    {
        using var w = new StringWriter();
        using (var csv = new CsvWriter(w, WriteConfig("\n")))
        {
            csv.WriteHeader<T>();
        }
        return w.ToString();
    }

    /// <summary>
    /// All rows; an empty list when the file does not exist or is empty. A file of an older layout of this schema
    /// (without columns marked <see cref="CsvHelper.Configuration.Attributes.OptionalAttribute"/>, which are added at
    /// the end) reads with those columns empty; a file of another schema is an error.
    /// </summary>
    public IReadOnlyList<T> Read() => File.Exists(Path) ? Parse(File.ReadAllText(Path)).Rows : Array.Empty<T>();

    /// <summary>Replaces the whole file with <paramref name="rows"/>, atomically.</summary>
    public void Write(IEnumerable<T> rows) => Save(rows, keepExisting: false);

    /// <summary>Appends <paramref name="rows"/> atomically.</summary>
    public void Append(IEnumerable<T> rows) => Save(rows, keepExisting: true);

    private static CsvConfiguration WriteConfig(string newLine) => new(CultureInfo.InvariantCulture) { NewLine = newLine };

    // The rows of the file's text, and where an incomplete last row starts (-1: none).
    private (List<T> Rows, int Incomplete) Parse(string text)
    {
        var rows = new List<T>();
        if (string.IsNullOrWhiteSpace(text)) return (rows, -1);
        Columns(text.Split('\n')[0]);
        bool endsCleanly = text.EndsWith('\n');
        int lastLine = text.Count(c => c == '\n') + 1;
        using var csv = new CsvReader(new StringReader(text), ReadConfig);
        csv.Read();
        csv.ReadHeader();
        int columns = csv.HeaderRecord!.Length;
        while (csv.Read())
        {
            int line = csv.Parser.RawRow;
            try
            {
                if (csv.Parser.Count != columns)
                    throw new BadRow($"it has {csv.Parser.Count} fields, the header {columns}");
                rows.Add(csv.GetRecord<T>());
            }
            catch (Exception e) when (e is BadRow or CsvHelperException)
            {
                if (!endsCleanly && line >= lastLine)
                {
                    if (!_noted) _note($"{Path}: line {lastLine} is an incomplete last row (no newline at the end; left by a crash?): skipped");
                    _noted = true;
                    return (rows, text.LastIndexOf('\n') + 1);
                }
                throw new ZooConfigException(Path, $"line {line}", $"unreadable row: {Describe(e)}; fix or remove that line");
            }
        }
        return (rows, -1);
    }

    private static string Describe(Exception e) => e switch
    {
        TypeConverterException t => $"column '{t.MemberMapData?.Names.FirstOrDefault()}' holds '{t.Text}', not a {t.MemberMapData?.Type.Name.ToLowerInvariant()}",
        _ => e.Message.Split('\n')[0].Trim(),
    };

    private sealed class BadRow(string message) : Exception(message);

    private void Save(IEnumerable<T> rows, bool keepExisting)
    {
        var dir = System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(Path))!;
        Directory.CreateDirectory(dir);
        using var fileLock = AcquireLock();
        var existing = keepExisting && File.Exists(Path) ? File.ReadAllText(Path) : "";
        if (string.IsNullOrWhiteSpace(existing)) existing = "";
        var newLine = existing.Split('\n')[0].EndsWith('\r') ? "\r\n" : "\n";
        var columns = AllColumns;
        if (existing.Length > 0)
        {
            columns = Columns(existing.Split('\n')[0]);
            var (_, incomplete) = Parse(existing);
            if (incomplete >= 0)
            {
                // Appending after it would bury it mid-file as a broken row: keep it beside the table instead.
                File.AppendAllText(Path + ".incomplete", existing[incomplete..] + newLine);
                existing = existing[..incomplete];
                _note($"{Path}: moved the incomplete last row to {Path}.incomplete");
            }
            if (!existing.EndsWith('\n')) existing += newLine;
        }
        AtomicFile.Write(Path, TemporaryPath, tmp =>
        {
            using var writer = new StreamWriter(tmp);
            writer.Write(existing.Length == 0 ? Header().TrimEnd('\n') + newLine : existing);
            using var csv = new CsvWriter(writer, WriteConfig(newLine));
            // Rows join a file in its own layout, so appending never changes a file's columns (a committed
            // results file stays readable by the Zoo that wrote it).
            var map = csv.Context.AutoMap<T>();
            foreach (var member in map.MemberMaps.Where(m => !columns.Contains(m.Data.Names[0])).ToList()) map.MemberMaps.Remove(member);
            csv.Context.RegisterClassMap(map);
            foreach (var row in rows)
            {
                csv.WriteRecord(row);
                csv.NextRecord();
            }
            csv.Flush();
            writer.Flush();
            ((FileStream)writer.BaseStream).Flush(flushToDisk: true);   // on disk before the rename makes it the table
        });
    }

    private static string[] AllColumns => Header().TrimEnd('\n').Split(',');

    // The columns a file's header line names: this schema's, or this schema's without some of its trailing optional
    // (later added) columns. Anything else is another schema.
    private string[] Columns(string line)
    {
        var expected = AllColumns;
        var found = line.TrimEnd('\r').Split(',');
        var optional = typeof(T).GetProperties()
            .Where(p => p.GetCustomAttributes(typeof(CsvHelper.Configuration.Attributes.OptionalAttribute), true).Length > 0)
            .Select(p => ((CsvHelper.Configuration.Attributes.NameAttribute?)p.GetCustomAttributes(typeof(CsvHelper.Configuration.Attributes.NameAttribute), true).FirstOrDefault())?.Names[0] ?? p.Name)
            .ToHashSet();
        if (found.Length <= expected.Length && expected.Take(found.Length).SequenceEqual(found) && expected.Skip(found.Length).All(optional.Contains))
            return found;
        throw new ZooConfigException(Path, null,
            "results file has another column layout (an older schema?); move it aside or write to another --out folder. " +
            $"Expected header: {string.Join(',', expected)}");
    }

    private FileStream AcquireLock()
    {
        var lockPath = Path + ".lock";
        for (int attempt = 0; ; attempt++)
        {
            try
            {
                return new FileStream(lockPath, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None, 1, FileOptions.DeleteOnClose);
            }
            catch (IOException) when (attempt < 600)
            {
                Thread.Sleep(50);
            }
        }
    }
}
