using System.Globalization;
using Zoo.Core.Tasks;
using Zoo.Runner.Models;

namespace Zoo.Runner.Suites;

/// <summary>
/// A lower bound on the memory one run needs to train, computed from its shapes alone (nothing is allocated), so a
/// configuration that cannot fit is refused at planning instead of failing inside libtorch or after minutes of data
/// generation. It counts only what every model of the spec's kind must hold: the embedding and head, one d_model ×
/// d_model map per layer (every built-in layer mixes its channels with at least one) and the SwiGLU MLP, each as
/// float32 weights, gradients and AdamW's two moments; and per step the batch, one d_model activation per block
/// and position plus the MLP's hidden ones, and the logits with their gradient. Layers need more than this, never less.
/// </summary>
/// <param name="Parameters">Parameters counted.</param>
/// <param name="ParameterBytes">Weights, gradients and optimizer moments.</param>
/// <param name="ActivationBytes">The batch, activations kept for the backward pass and the logits.</param>
public sealed record MemoryEstimate(double Parameters, double ParameterBytes, double ActivationBytes)
{
    private const double Float = 4, Id = 8;

    /// <summary>Parameter and activation bytes together.</summary>
    public double TotalBytes => ParameterBytes + ActivationBytes;

    /// <summary>The lower bound for <paramref name="run"/> on a task of <paramref name="signature"/>.</summary>
    public static MemoryEstimate For(RunSpec run, TaskSignature signature)
    {
        double d = run.Model.DModel, batchTokens = (double)run.Train.Batch * signature.Length;
        double inputs = signature.TokenInputs ? signature.InputVocab : signature.InputDim;
        double io = inputs * d + d * signature.OutputDim + signature.ContextDim * d;
        double parameters, perToken;
        if (run.Model.Kind == ModelKind.Bare)
        {
            parameters = io + d * d;
            perToken = 2 * d;
        }
        else
        {
            double hidden = Math.Round(run.Model.MlpRatio * d);
            parameters = io + run.Model.NLayers * (d * d + 3 * d * hidden);
            perToken = run.Model.NLayers * (2 * d + 3 * hidden);
        }
        double data = batchTokens * (signature.TokenInputs ? Id : signature.InputDim * Float) + batchTokens * Id;
        double activations = data + batchTokens * (perToken + 2 * signature.OutputDim) * Float;
        return new MemoryEstimate(parameters, parameters * Float * 4, activations);
    }

    /// <summary>The memory a run may use: the machine's (or its container's) physical memory.</summary>
    public static double AvailableBytes => GC.GetGCMemoryInfo().TotalAvailableMemoryBytes;

    /// <summary>Bytes as text in the largest binary unit from MiB to EiB that keeps the number ≥ 1, e.g. <c>596 GiB</c>.</summary>
    public static string Size(double bytes)
    {
        string[] units = { "MiB", "GiB", "TiB", "PiB", "EiB" };
        double v = bytes / (1L << 20);
        int u = 0;
        while (v >= 1024 && u < units.Length - 1) (v, u) = (v / 1024, u + 1);
        return v.ToString(v < 10 ? "0.##" : "0", CultureInfo.InvariantCulture) + " " + units[u];
    }

    /// <summary>One line for a refusal: the estimate, its parts and the memory there is.</summary>
    public string Describe(double available) =>
        $"needs at least {Size(TotalBytes)} to train ({Parameters.ToString(Parameters < 1e6 ? "#,0" : "G3", CultureInfo.InvariantCulture)} parameters: {Size(ParameterBytes)} with gradients and AdamW state; " +
        $"batch and activations: {Size(ActivationBytes)}), more than this machine's {Size(available)} of memory";
}
