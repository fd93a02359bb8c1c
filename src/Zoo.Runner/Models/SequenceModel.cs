using Zoo.Core.Layers;
using Zoo.Core.Tasks;
using static TorchSharp.torch;

namespace Zoo.Runner.Models;

/// <summary>A trainable model built around one or more sequence layers.</summary>
public abstract class SequenceModel : nn.Module<Tensor, Tensor>
{
    /// <summary>Names the module.</summary>
    protected SequenceModel(string name) : base(name) { }

    /// <summary>Model output for a batch; models that use the batch's <see cref="TaskBatch.Context"/> override this.</summary>
    public virtual Tensor Forward(TaskBatch batch) => forward(batch.Inputs);

    /// <summary>The sequence layers inside, for auxiliary losses and state-size reporting.</summary>
    public abstract IReadOnlyList<SequenceLayer> SequenceLayers { get; }

    /// <summary>Sum of the layers' auxiliary losses from the last forward, or null when none has one.</summary>
    public Tensor? AuxiliaryLoss()
    {
        Tensor? total = null;
        foreach (var l in SequenceLayers)
            if (l.AuxiliaryLoss is { } a) total = total is null ? a : total + a;
        return total;
    }

    /// <summary>Recurrent state numbers per sequence of length <paramref name="length"/>, over all layers.</summary>
    public long StateSize(long length) => SequenceLayers.Sum(l => l.StateSize(length));

    /// <summary>Number of trainable parameters.</summary>
    public long ParameterCount() => parameters().Where(p => p.requires_grad).Sum(p => p.numel());
}
