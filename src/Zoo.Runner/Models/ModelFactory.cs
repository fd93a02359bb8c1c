using Zoo.Core.Registry;
using Zoo.Core.Tasks;

namespace Zoo.Runner.Models;

/// <summary>Builds a model of the spec's kind around the named layer, or a backbone around a <see cref="HybridStack"/>.</summary>
public static class ModelFactory
{
    /// <summary>
    /// Builds the model; <paramref name="layerOptions"/> must already be bound to the layer's options type, or be the
    /// <see cref="HybridStack"/> a stack entry expanded to (then <paramref name="layer"/> is its name and block i of the
    /// backbone is the stack's block i).
    /// </summary>
    public static SequenceModel Build(ComponentRegistry registry, string layer, object layerOptions, TaskSignature signature, ModelSpec spec)
    {
        if (layerOptions is HybridStack stack)
        {
            // The suite expander and the checkpoint loader refuse both as config errors naming their file; this guards other callers.
            if (spec.Kind != ModelKind.Backbone || spec.NLayers % stack.Period.Count != 0)
                throw new ArgumentException($"stack {stack.Name} needs the backbone with n_layers a multiple of {stack.Period.Count}; got {spec.Kind}, n_layers {spec.NLayers}");
            return new Backbone(signature, spec, i => registry.CreateLayer(stack.BlockAt(i).Layer, spec.DModel, stack.BlockAt(i).Options));
        }
        return spec.Kind switch
        {
            ModelKind.Backbone => new Backbone(signature, spec, _ => registry.CreateLayer(layer, spec.DModel, layerOptions)),
            ModelKind.Bare => new BareModel(signature, spec, registry.CreateLayer(layer, spec.DModel, layerOptions)),
            _ => throw new ArgumentOutOfRangeException(nameof(spec)),
        };
    }
}
