using System.Globalization;
using CsvHelper;
using CsvHelper.Configuration;
using Zoo.Core.Options;

namespace Zoo.Runner.Results;

/// <summary>
/// A CSV file of records of type <typeparamref name="T"/>, appended atomically: the new content is written to a
/// temporary file in the same folder and renamed over the old one, so a process killed at any moment leaves either
/// the old file or the new one, never a half row. A lock file serialises writers from several processes.
/// </summary>
public sealed class CsvTable<T>
{
    private static readonly CsvConfiguration Config = new(CultureInfo.InvariantCulture) { NewLine = "\n" };

    /// <summary>Table stored at <paramref name="path"/>.</summary>
    public CsvTable(string path) => Path = path;

    /// <summary>Where the table lives.</summary>
    public string Path { get; }

    /// <summary>The header line this schema writes.</summary>
    public static string Header()
    {
        using var w = new StringWriter();
        using (var csv = new CsvWriter(w, Config))
        {
            csv.WriteHeader<T>();
        }
        return w.ToString();
    }

    /// <summary>
    /// All rows; an empty list when the file does not exist. A file of an older layout of this schema (without
    /// columns marked <see cref="CsvHelper.Configuration.Attributes.OptionalAttribute"/>, which are added at the end)
    /// reads with those columns empty; a file of another schema is an error.
    /// </summary>
    public IReadOnlyList<T> Read()
    {
        if (!File.Exists(Path)) return Array.Empty<T>();
        Columns(File.ReadLines(Path).FirstOrDefault() ?? "");
        using var reader = new StreamReader(Path);
        using var csv = new CsvReader(reader, Config);
        return csv.GetRecords<T>().ToList();
    }

    /// <summary>Replaces the whole file with <paramref name="rows"/>, atomically.</summary>
    public void Write(IEnumerable<T> rows) => Save(rows, keepExisting: false);

    /// <summary>Appends <paramref name="rows"/> atomically.</summary>
    public void Append(IEnumerable<T> rows) => Save(rows, keepExisting: true);

    private void Save(IEnumerable<T> rows, bool keepExisting)
    {
        var dir = System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(Path))!;
        Directory.CreateDirectory(dir);
        using var fileLock = AcquireLock();
        var existing = keepExisting && File.Exists(Path) ? File.ReadAllText(Path) : "";
        var columns = AllColumns;
        if (existing.Length > 0)
        {
            columns = Columns(existing.Split('\n')[0]);
            if (!existing.EndsWith('\n')) existing += "\n";
        }
        var tmp = $"{Path}.{Environment.ProcessId}.tmp";
        using (var writer = new StreamWriter(tmp))
        {
            if (existing.Length == 0)
            {
                writer.Write(Header().TrimEnd('\n') + "\n");
            }
            else
            {
                writer.Write(existing);
            }
            using var csv = new CsvWriter(writer, Config);
            // Rows join a file in its own layout, so appending never changes a file's columns (a committed results
            // file stays readable by the Zoo that wrote it).
            var map = csv.Context.AutoMap<T>();
            foreach (var member in map.MemberMaps.Where(m => !columns.Contains(m.Data.Names[0])).ToList()) map.MemberMaps.Remove(member);
            csv.Context.RegisterClassMap(map);
            foreach (var row in rows)
            {
                csv.WriteRecord(row);
                csv.NextRecord();
            }
            writer.Flush();
            writer.BaseStream.Flush();
            ((FileStream)writer.BaseStream).Flush(flushToDisk: true);
        }
        File.Move(tmp, Path, overwrite: true);
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
