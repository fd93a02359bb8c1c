using Zoo.Core.Registry;
using Zoo.Core.Tasks;

namespace Zoo.Runner.Models;

/// <summary>Builds a model of the spec's kind around the named layer.</summary>
public static class ModelFactory
{
    /// <summary>
    /// Builds the model; <paramref name="layerOptions"/> must already be bound to the layer's options type.
    /// </summary>
    public static SequenceModel Build(ComponentRegistry registry, string layer, object layerOptions, TaskSignature signature, ModelSpec spec) =>
        spec.Kind switch
        {
            ModelKind.Backbone => new Backbone(signature, spec, _ => registry.CreateLayer(layer, spec.DModel, layerOptions)),
            ModelKind.Bare => new BareModel(signature, spec, registry.CreateLayer(layer, spec.DModel, layerOptions)),
            _ => throw new ArgumentOutOfRangeException(nameof(spec)),
        };
}
