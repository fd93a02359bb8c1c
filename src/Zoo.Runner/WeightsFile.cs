using System.Text;

namespace Zoo.Runner;

/// <summary>
/// Reads the names and shapes stored in a TorchSharp <c>.weights</c> file (count, then per tensor: name, dtype, rank,
/// dims, data) without loading it, so a file that does not fit the model can be explained: which parameter, which
/// shapes. Returns what it could read; a file cut short or not in this format yields fewer entries.
/// </summary>
public static class WeightsFile
{
    /// <summary>(name, shape) of each tensor stored in <paramref name="path"/>, as far as the file can be read.</summary>
    public static IReadOnlyList<(string Name, long[] Shape)> Entries(string path)
    {
        var entries = new List<(string, long[])>();
        try
        {
            using var reader = new BinaryReader(File.OpenRead(path), Encoding.UTF8);
            long count = Leb128(reader);
            for (long i = 0; i < count && i < 1_000_000; i++)
            {
                var name = reader.ReadString();
                int dtype = (int)Leb128(reader);
                long rank = Leb128(reader);
                if (rank is < 0 or > 16) break;
                var shape = new long[rank];
                for (int d = 0; d < rank; d++) shape[d] = Leb128(reader);
                long bytes = ElementSize(dtype) * shape.Aggregate(1L, (a, b) => a * b);
                if (bytes <= 0 || reader.BaseStream.Position + bytes > reader.BaseStream.Length) break; // data cut short
                entries.Add((name, shape));
                reader.BaseStream.Seek(bytes, SeekOrigin.Current);
            }
        }
        catch (Exception e) when (e is IOException or FormatException or OverflowException or ArgumentException)
        {
            // A cut or foreign file: what was read so far is the answer.
        }
        return entries;
    }

    private static long Leb128(BinaryReader reader)
    {
        long value = 0;
        for (int shift = 0; shift < 64; shift += 7)
        {
            byte b = reader.ReadByte();
            value |= (long)(b & 0x7F) << shift;
            if ((b & 0x80) == 0) return value;
        }
        throw new FormatException("varint too long");
    }

    // Bytes per element of TorchSharp's ScalarType codes; 0 for codes this reader does not know.
    private static long ElementSize(int dtype) => dtype switch
    {
        0 or 1 or 11 => 1,   // uint8, int8, bool
        2 or 5 or 15 => 2,   // int16, float16, bfloat16
        3 or 6 => 4,         // int32, float32
        4 or 7 or 9 => 8,    // int64, float64, complex64
        10 => 16,            // complex128
        _ => 0,
    };
}
