using System.IO.Compression;
using System.Text;

namespace Zoo.Tests;

/// <summary>NumPy files written byte by byte, as <c>np.save</c> / <c>np.savez</c> lay them out, for the file task's tests.</summary>
internal static class NpyFiles
{
    /// <summary>A .npy (format 1.0) of <paramref name="descr"/> with the given shape and little-endian payload.</summary>
    public static byte[] Npy(string descr, long[] shape, byte[] payload, bool fortran = false) =>
        Npy(descr, shape.Length == 1 ? $"{shape[0]}," : string.Join(", ", shape), payload, fortran);

    /// <summary>A .npy whose header's shape tuple is <paramref name="dims"/> as written (e.g. a damaged or hostile header).</summary>
    public static byte[] Npy(string descr, string dims, byte[] payload, bool fortran = false)
    {
        var header = $"{{'descr': '{descr}', 'fortran_order': {(fortran ? "True" : "False")}, 'shape': ({dims}), }}";
        int total = 10 + header.Length + 1;
        header += new string(' ', (64 - total % 64) % 64) + "\n";           // NumPy pads the header to 64 bytes
        var bytes = new List<byte> { 0x93 };
        bytes.AddRange("NUMPY"u8.ToArray());
        bytes.AddRange(new byte[] { 1, 0 });
        bytes.AddRange(BitConverter.GetBytes((ushort)header.Length));
        bytes.AddRange(Encoding.ASCII.GetBytes(header));
        bytes.AddRange(payload);
        return bytes.ToArray();
    }

    public static byte[] I64(params long[] v) => v.SelectMany(BitConverter.GetBytes).ToArray();
    public static byte[] I32(params int[] v) => v.SelectMany(BitConverter.GetBytes).ToArray();
    public static byte[] F32(params float[] v) => v.SelectMany(BitConverter.GetBytes).ToArray();
    public static byte[] F64(params double[] v) => v.SelectMany(BitConverter.GetBytes).ToArray();

    /// <summary>A .npz at <paramref name="path"/> holding <paramref name="arrays"/> (inputs deflated, the rest stored).</summary>
    public static string Npz(string path, params (string Array, byte[] Npy)[] arrays)
    {
        using var zip = ZipFile.Open(path, ZipArchiveMode.Create);
        foreach (var (array, npy) in arrays)
        {
            // np.savez_compressed deflates; np.savez stores: cover both.
            var entry = zip.CreateEntry(array + ".npy", array == "inputs" ? CompressionLevel.Optimal : CompressionLevel.NoCompression);
            using var s = entry.Open();
            s.Write(npy);
        }
        return path;
    }
}
