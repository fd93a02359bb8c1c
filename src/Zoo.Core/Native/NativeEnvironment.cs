using System.Runtime.InteropServices;
using System.Text;
using System.Text.RegularExpressions;
using TorchSharp;
using Zoo.Core.Options;

namespace Zoo.Core.Native;

/// <summary>
/// What <c>zoo doctor</c> reports: OS, C/C++ runtime versions, the native files actually loaded, torch version,
/// threads and CUDA. When libtorch cannot load it finds the real cause (TorchSharp's own message blames a
/// missing package reference; docs/architecture.md, 'Native loading').
/// </summary>
public static partial class NativeEnvironment
{
    /// <summary>Result of <see cref="Check"/>: report lines and whether torch works (and its first op on the requested device).</summary>
    public sealed record Report(bool TorchLoaded, IReadOnlyList<(string Key, string Value)> Lines);

    /// <summary>
    /// Loads torch (if it can) and describes the environment. With <paramref name="device"/> (<c>cpu</c>, <c>cuda</c>,
    /// <c>cuda:N</c>) it also runs a first op there (a matmul, autograd through it, read back), so a shim that loads but
    /// cannot run on that device is reported, with the cause, instead of passing.
    /// </summary>
    public static Report Check(string? device = null)
    {
        var lines = new List<(string, string)>
        {
            ("os", RuntimeInformation.OSDescription + " " + RuntimeInformation.OSArchitecture),
            ("dotnet", RuntimeInformation.FrameworkDescription),
            ("glibc", GlibcVersion()),
            ("libstdc++", LibStdCxxVersion()),
        };
        // The bundle for a machine with its own torch (scripts/gpu-run.sh) finds libtorch through LD_LIBRARY_PATH.
        if (Environment.GetEnvironmentVariable("LD_LIBRARY_PATH") is { Length: > 0 } searchPath) lines.Add(("loader", "LD_LIBRARY_PATH=" + searchPath));
        bool ok;
        try
        {
            using var t = torch.ones(2, 2);
            ok = t.matmul(t).sum().item<float>() == 8f;
            lines.Add(("torch", "loaded; libtorch " + torch.__version__ + ", TorchSharp " + typeof(torch).Assembly.GetName().Version));
            lines.Add(("threads", $"{torch.get_num_threads()} intra-op, {Environment.ProcessorCount} logical CPUs"));
            lines.Add(("cuda", torch.cuda.is_available() ? $"available, {torch.cuda.device_count()} device(s)" : "not available"));
            if (device is not null)
            {
                var (deviceOk, text) = FirstOp(device);
                ok &= deviceOk;
                lines.Add(("device", text));
            }
        }
        catch (Exception e) when (e is not ZooConfigException)
        {
            ok = false;
            lines.Add(("torch", "FAILED to load: " + RealCause(e)));
        }
        foreach (var f in LoadedNativeFiles()) lines.Add(("native", f));
        return new Report(ok, lines);
    }

    // 2×2 matmul with autograd on the device, read back to the host: (x·x)·sum with x = ones gives 8 and grad 4 per entry.
    private static (bool Ok, string Text) FirstOp(string name)
    {
        if (name != "cpu" && !Regex.IsMatch(name, @"^cuda(:\d+)?$"))
            throw new ZooConfigException(null, "--device", $"'{name}' is not a device; allowed: cpu, cuda, cuda:N");
        if (name != "cpu" && !torch.cuda.is_available())
            return (false, $"{name}: not available (this process found no CUDA device through the libtorch it loaded)");
        var device = Device(name);
        try
        {
            using var scope = torch.NewDisposeScope();
            var x = torch.ones(2, 2, device: device).requires_grad_(true);
            var y = x.matmul(x).sum();
            y.backward();
            if (device.type == DeviceType.CUDA) torch.cuda.synchronize(device);
            float value = y.item<float>(), grad = x.grad!.sum().item<float>();
            return value == 8f && grad == 16f
                ? (true, $"{name}: first op ok (matmul, backward, read back)")
                : (false, $"{name}: first op gave {value} and gradient sum {grad}, expected 8 and 16");
        }
        catch (Exception e)
        {
            var inner = e;
            while (inner.InnerException is not null) inner = inner.InnerException;
            return (false, $"{name}: first op FAILED: {inner.Message.Split('\n')[0]}");
        }
    }

    /// <summary>Picks a device by name (<c>cpu</c>, <c>cuda</c>, <c>cuda:1</c>), with a clear error when CUDA is missing.</summary>
    public static torch.Device Device(string name)
    {
        if (name == "cpu") return torch.CPU;
        if (name.StartsWith("cuda", StringComparison.Ordinal))
        {
            if (!torch.cuda.is_available())
                throw new ZooConfigException(null, "device",
                    "CUDA is not available in this build or on this machine; build with -p:TorchBackend=cuda on a CUDA machine, or use --device cpu");
            return new torch.Device(name);
        }
        throw new ZooConfigException(null, "device", $"'{name}' is not a device; allowed: cpu, cuda, cuda:N");
    }

    /// <summary>A short device description for result rows.</summary>
    public static string DeviceLabel(torch.Device device) =>
        device.type == DeviceType.CUDA ? $"cuda:{device.index}" : $"cpu x{torch.get_num_threads()}";

    private static string RealCause(Exception e)
    {
        var shim = FindShim();
        if (shim is not null)
        {
            try
            {
                NativeLibrary.Free(NativeLibrary.Load(shim));
            }
            catch (Exception loadError)
            {
                return $"{shim}: {loadError.Message}. On Debian 12 this is the GLIBCXX_3.4.32 check; rebuild with dotnet build so the build patches the library (docs/architecture.md, 'Native loading').";
            }
        }
        var inner = e;
        while (inner.InnerException is not null) inner = inner.InnerException;
        return inner.Message.Split('\n')[0];
    }

    private static string? FindShim()
    {
        var dir = AppContext.BaseDirectory;
        return new[] { Path.Combine(dir, "runtimes", "linux-x64", "native", "libLibTorchSharp.so"), Path.Combine(dir, "libLibTorchSharp.so") }
            .FirstOrDefault(File.Exists);
    }

    /// <summary>Native libraries of torch and its runtime mapped into this process (from /proc/self/maps).</summary>
    public static IReadOnlyList<string> LoadedNativeFiles()
    {
        const string maps = "/proc/self/maps";
        if (!File.Exists(maps)) return Array.Empty<string>();
        return File.ReadLines(maps)
            .Select(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            .Where(p => p.Length >= 6)
            .Select(p => string.Join(' ', p.Skip(5)))
            .Where(p => p.Contains(".so") && Regex.IsMatch(Path.GetFileName(p), "torch|c10|gomp|stdc\\+\\+|cuda|cudnn", RegexOptions.IgnoreCase))
            .Distinct()
            .ToList();
    }

    [LibraryImport("libc", EntryPoint = "gnu_get_libc_version")]
    private static partial IntPtr GnuGetLibcVersion();

    private static string GlibcVersion()
    {
        try
        {
            return Marshal.PtrToStringAnsi(GnuGetLibcVersion()) ?? "unknown";
        }
        catch (Exception)
        {
            return "unknown (not glibc)";
        }
    }

    /// <summary>Highest GLIBCXX symbol version the system libstdc++ provides, read from the file itself.</summary>
    private static string LibStdCxxVersion()
    {
        var candidates = new[] { "/usr/lib/x86_64-linux-gnu/libstdc++.so.6", "/usr/lib64/libstdc++.so.6", "/usr/lib/libstdc++.so.6", "/usr/lib/aarch64-linux-gnu/libstdc++.so.6" };
        var file = candidates.FirstOrDefault(File.Exists);
        if (file is null) return "not found";
        var text = Encoding.ASCII.GetString(File.ReadAllBytes(file));
        var best = Regex.Matches(text, @"GLIBCXX_3\.4\.(\d+)").Select(m => int.Parse(m.Groups[1].Value)).DefaultIfEmpty(-1).Max();
        var real = new FileInfo(file).LinkTarget ?? file;
        return best < 0 ? real : $"{real} (up to GLIBCXX_3.4.{best})";
    }
}
