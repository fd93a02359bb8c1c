using System.CommandLine;
using Zoo.Core.Native;

namespace Zoo.Cli;

/// <summary><c>zoo doctor [--device D]</c>: describes the environment and checks that libtorch loads (exit code 1 when not).</summary>
internal static class DoctorCommand
{
    /// <summary>The command.</summary>
    public static Command Create(CliContext cli)
    {
        var doctorDevice = new Option<string?>("--device") { Description = "also run a first op (matmul, backward, read back) on cpu, cuda or cuda:N" };
        var doctor = new Command("doctor", "check that libtorch loads and describe the environment") { doctorDevice };
        doctor.SetAction(p => cli.Guard(p, () =>
        {
            var report = NativeEnvironment.Check(p.GetValue(doctorDevice));
            foreach (var (k, v) in report.Lines) cli.Out.WriteLine($"{k,-10} {v}");
            if (!report.TorchLoaded) cli.Err.WriteLine("zoo doctor: libtorch could not be loaded or the first op failed (see the torch and device lines above).");
            return report.TorchLoaded ? ExitCode.Ok : ExitCode.RunFailed;
        }));
        return doctor;
    }
}
