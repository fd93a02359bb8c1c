using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Zoo.Layers;

/// <summary>Splits a projection [B, L, H·d] into heads [B, H, L, d], the layout the memory ops take.</summary>
internal static class HeadLayout
{
    public static Tensor Split(Tensor t, int heads, int dim) => t.view(t.shape[0], t.shape[1], heads, dim).transpose(1, 2);

    /// <summary>
    /// Attention-style q, k, v of x [B, L, D] in heads [B, H, L, d], q scaled by 1/√d_k (the memory ops take queries as
    /// given). One matmul over the three weights side by side, as <see cref="LinearMemory.MemoryFeatures"/> does: a
    /// third of the kernel launches and autograd nodes; the parameters stay separate, so checkpoints keep their names.
    /// </summary>
    public static (Tensor Q, Tensor K, Tensor V) ScaledQkv(Tensor x, Linear q, Linear k, Linear v, int heads, int dk, int dv)
    {
        var qkv = nn.functional.linear(x, cat(new Tensor[] { q.weight!, k.weight!, v.weight! }, 0))
            .split(new long[] { (long)heads * dk, (long)heads * dk, (long)heads * dv }, -1);
        return (Split(qkv[0], heads, dk) / Math.Sqrt(dk), Split(qkv[1], heads, dk), Split(qkv[2], heads, dv));
    }
}
