using System.Text.Json;
using TorchSharp;
using Zoo.Core.Layers;
using Zoo.Core.Registry;
using static TorchSharp.torch;

namespace Zoo.Testing;

/// <summary>
/// Layers for exact comparisons: built from the registry, in float64, with every parameter redrawn from a seed, so a
/// test depends neither on the layer's own initialisation nor on torch's global generator.
/// </summary>
public static class Float64Layer
{
    /// <summary>Builds <paramref name="name"/> of width <paramref name="dModel"/> with options <paramref name="optionsJson"/> and initialises it from <paramref name="seed"/>.</summary>
    public static SequenceLayer Create(ComponentRegistry registry, string name, string optionsJson, int dModel, ulong seed)
    {
        using var options = JsonDocument.Parse(optionsJson);
        var layer = registry.CreateLayer(name, dModel, registry.BindLayerOptions(name, options.RootElement, dModel));
        Initialise(layer, seed);
        return layer;
    }

    /// <summary>
    /// Moves <paramref name="layer"/> to float64 and redraws every parameter as N(0, 1) · 0.8 / √fan-in from
    /// <paramref name="seed"/>, which keeps activations in range at any depth and gates away from saturation.
    /// </summary>
    public static void Initialise(SequenceLayer layer, ulong seed)
    {
        layer.to(ScalarType.Float64);
        using var g = new Generator(seed);
        using (no_grad())
        {
            foreach (var p in layer.parameters())
            {
                long fanIn = p.dim() == 0 ? 1 : Math.Max(1, p.shape[^1]);
                p.copy_(randn(p.shape, dtype: ScalarType.Float64, generator: g) * (0.8 / Math.Sqrt(fanIn)));
            }
        }
    }
}
