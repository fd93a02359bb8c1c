using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;
using System.Text.RegularExpressions;
using Zoo.Core.Options;

namespace Zoo.Tasks.Files;

/// <summary>
/// A numeric array as read from a file: its shape and its values, as integers (integer and bool dtypes) or reals
/// (float dtypes), in C order.
/// </summary>
/// <param name="Source">File (and array) it came from, for messages.</param>
/// <param name="Dtype">NumPy dtype text, e.g. <c>&lt;i8</c> (<c>json</c> for JSON Lines).</param>
/// <param name="Shape">Dimensions.</param>
/// <param name="Integers">Values when the dtype is an integer or bool type; otherwise null.</param>
/// <param name="Reals">Values when the dtype is a float type; otherwise null.</param>
public sealed record NumericArray(string Source, string Dtype, long[] Shape, long[]? Integers, double[]? Reals)
{
    /// <summary>True for integer and bool dtypes.</summary>
    public bool IsInteger => Integers is not null;

    /// <summary>Value <paramref name="i"/> (C order) as a double.</summary>
    public double this[long i] => Integers is { } n ? n[i] : Reals![i];

    /// <summary>The shape as text, e.g. <c>[100, 32]</c>.</summary>
    public string ShapeText => ShapeString(Shape);

    /// <summary><c>[a, b, …]</c>.</summary>
    public static string ShapeString(IEnumerable<long> shape) => "[" + string.Join(", ", shape) + "]";
}

/// <summary>
/// Reads NumPy's <c>.npy</c> format (versions 1–3: magic, a header dict with <c>descr</c>, <c>fortran_order</c>,
/// <c>shape</c>, then raw C-order data) and <c>.npz</c> archives (a zip of <c>.npy</c> files, stored or deflated).
/// Little-endian bool, int8/16/32/64, uint8/16/32 and float32/64 are accepted; anything else is an error naming the
/// file, the array and the dtype.
/// </summary>
public static class Npy
{
    private const long MaxHeaderBytes = 1 << 20;
    private const long MaxDataBytes = int.MaxValue;

    private static readonly byte[] Magic = { 0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y' };

    // dtype (byte order stripped) → item size and kind: i = signed, u = unsigned, b = bool, f = float.
    private static readonly Dictionary<string, (int Size, char Kind)> Types = new()
    {
        ["b1"] = (1, 'b'), ["i1"] = (1, 'i'), ["u1"] = (1, 'u'), ["i2"] = (2, 'i'), ["u2"] = (2, 'u'),
        ["i4"] = (4, 'i'), ["u4"] = (4, 'u'), ["i8"] = (8, 'i'), ["f4"] = (4, 'f'), ["f8"] = (8, 'f'),
    };

    /// <summary>Reads a <c>.npy</c> file.</summary>
    public static NumericArray ReadFile(string path)
    {
        using var stream = File.OpenRead(path);
        return Read(stream, path, Path.GetFileNameWithoutExtension(path));
    }

    /// <summary>Reads every array of a <c>.npz</c> archive, by name (the entry name without <c>.npy</c>).</summary>
    public static IReadOnlyDictionary<string, NumericArray> ReadArchive(string path)
    {
        ZipArchive zip;
        try
        {
            zip = ZipFile.OpenRead(path);
        }
        catch (InvalidDataException e)
        {
            throw new ZooConfigException(path, null, $"not a .npz (zip) archive: {e.Message}");
        }
        using (zip)
        {
            var arrays = new Dictionary<string, NumericArray>(StringComparer.Ordinal);
            foreach (var entry in zip.Entries.Where(e => e.FullName.EndsWith(".npy", StringComparison.Ordinal)))
            {
                var name = entry.FullName[..^4];
                using var s = entry.Open();
                // Deflate streams cannot seek; read the entry into memory once.
                using var buffer = new MemoryStream();
                s.CopyTo(buffer);
                buffer.Position = 0;
                arrays[name] = Read(buffer, path, name);
            }
            return arrays;
        }
    }

    /// <summary>Reads one <c>.npy</c> array from <paramref name="stream"/>; <paramref name="file"/> and <paramref name="array"/> name it in errors.</summary>
    public static NumericArray Read(Stream stream, string file, string array)
    {
        ZooConfigException Bad(string problem) => new(file, array, problem);
        var prefix = ReadExactly(stream, 8, () => Bad("not a .npy array: shorter than its 8-byte preamble"));
        if (!prefix.AsSpan(0, 6).SequenceEqual(Magic)) throw Bad("not a .npy array: the magic string \\x93NUMPY is missing");
        int major = prefix[6];
        if (major is < 1 or > 3) throw Bad($".npy format version {major}.{prefix[7]} is not supported; allowed: 1, 2, 3");
        long headerLength = major == 1
            ? BinaryPrimitives.ReadUInt16LittleEndian(ReadExactly(stream, 2, () => Bad("truncated header")))
            : BinaryPrimitives.ReadUInt32LittleEndian(ReadExactly(stream, 4, () => Bad("truncated header")));
        // NumPy headers are a short dict padded to 64 bytes; a length beyond this is a damaged file, not a big header.
        if (headerLength > MaxHeaderBytes) throw Bad($"header length {headerLength} bytes is implausible; allowed: at most {MaxHeaderBytes} (a damaged or foreign file?)");
        var header = Encoding.UTF8.GetString(ReadExactly(stream, (int)headerLength, () => Bad("truncated header")));

        var descr = Regex.Match(header, @"'descr'\s*:\s*'([^']*)'");
        var fortran = Regex.Match(header, @"'fortran_order'\s*:\s*(True|False)");
        var shapeText = Regex.Match(header, @"'shape'\s*:\s*\(([^)]*)\)");
        if (!descr.Success || !fortran.Success || !shapeText.Success) throw Bad($"unreadable .npy header: {header.Trim()}");
        if (fortran.Groups[1].Value == "True") throw Bad("is stored in Fortran order; save a C-order array (np.ascontiguousarray)");
        var dtype = descr.Groups[1].Value;
        var shape = Shape(shapeText.Groups[1].Value, Bad);

        char order = dtype.Length > 0 ? dtype[0] : '?';
        var code = order is '<' or '>' or '|' or '=' ? dtype[1..] : dtype;
        if (!Types.TryGetValue(code, out var type))
            throw Bad($"dtype '{dtype}' is not supported; allowed: little-endian bool, int8/16/32/64, uint8/16/32, float32/64");
        if (order == '>' && type.Size > 1)
            throw Bad($"dtype '{dtype}' is big-endian; save it little-endian (arr.astype('<{code}'))");

        long count = 1;
        foreach (var d in shape)
        {
            // Multiply with a ceiling instead of overflowing: a header may claim any shape.
            count = d == 0 || count == 0 ? 0 : count > MaxDataBytes / d ? MaxDataBytes + 1 : count * d;
        }
        long bytes = count > MaxDataBytes / type.Size ? MaxDataBytes + 1 : count * type.Size;
        if (bytes > MaxDataBytes) throw Bad($"shape {NumericArray.ShapeString(shape)} of {dtype} is larger than 2 GiB; allowed: at most {MaxDataBytes} bytes of data per array (split the data)");
        ZooConfigException Truncated() => Bad($"truncated: shape {NumericArray.ShapeString(shape)} of {dtype} needs {bytes} bytes of data");
        // Both callers' streams can seek: refuse a short file before allocating what its header claims.
        if (stream.CanSeek && stream.Length - stream.Position < bytes) throw Truncated();
        var data = ReadExactly(stream, (int)bytes, Truncated);
        var span = data.AsSpan();
        if (type.Kind == 'f')
        {
            var reals = new double[count];
            for (long i = 0; i < count; i++)
                reals[i] = type.Size == 4
                    ? BinaryPrimitives.ReadSingleLittleEndian(span.Slice((int)(i * 4), 4))
                    : BinaryPrimitives.ReadDoubleLittleEndian(span.Slice((int)(i * 8), 8));
            return new NumericArray($"{file}: {array}", dtype, shape, null, reals);
        }
        var integers = new long[count];
        for (long i = 0; i < count; i++)
        {
            var item = span.Slice((int)(i * type.Size), type.Size);
            integers[i] = (type.Kind, type.Size) switch
            {
                ('b', _) or ('u', 1) => item[0],
                ('i', 1) => (sbyte)item[0],
                ('i', 2) => BinaryPrimitives.ReadInt16LittleEndian(item),
                ('u', 2) => BinaryPrimitives.ReadUInt16LittleEndian(item),
                ('i', 4) => BinaryPrimitives.ReadInt32LittleEndian(item),
                ('u', 4) => BinaryPrimitives.ReadUInt32LittleEndian(item),
                _ => BinaryPrimitives.ReadInt64LittleEndian(item),
            };
        }
        return new NumericArray($"{file}: {array}", dtype, shape, integers, null);
    }

    // The shape tuple of a header, e.g. "100, 32": non-negative dimensions, each small enough to index an array.
    private static long[] Shape(string text, Func<string, ZooConfigException> bad)
    {
        var parts = text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var shape = new long[parts.Length];
        for (int i = 0; i < parts.Length; i++)
        {
            if (!long.TryParse(parts[i], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out shape[i]) || shape[i] > int.MaxValue)
                throw bad($"header claims shape ({text}); allowed: dimensions that are integers in [0, {int.MaxValue}]");
        }
        return shape;
    }

    private static byte[] ReadExactly(Stream stream, int count, Func<Exception> short_)
    {
        var buffer = new byte[count];
        int read = 0;
        while (read < count)
        {
            int n = stream.Read(buffer, read, count - read);
            if (n == 0) throw short_();
            read += n;
        }
        return buffer;
    }
}
