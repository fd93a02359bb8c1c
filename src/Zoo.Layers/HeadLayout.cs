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
        var (qs, ks, vs, _) = ScaledQkv(x, q, k, v, null, null, heads, dk, dv);
        return (qs, ks, vs);
    }

    /// <summary>
    /// As above, with fla's optional short conv (<c>use_short_conv</c>): each projection through its own causal
    /// depthwise kernel and SiLU (<see cref="LinearMemory.ShortConvolution"/>), continuing from <paramref name="cache"/>
    /// [B, kernel − 1, 2·H·d_k + H·d_v]; returns the new cache. Without <paramref name="kernel"/> (q, k and v kernels
    /// side by side) the projections pass through and the cache is null.
    /// </summary>
    public static (Tensor Q, Tensor K, Tensor V, Tensor? Cache) ScaledQkv(Tensor x, Linear q, Linear k, Linear v,
        Tensor? kernel, Tensor? cache, int heads, int dk, int dv)
    {
        var projected = nn.functional.linear(x, cat(new Tensor[] { q.weight!, k.weight!, v.weight! }, 0));
        Tensor? next = null;
        if (kernel is not null) (projected, next) = LinearMemory.ShortConvolution.Apply(projected, kernel, cache!);
        var qkv = projected.split(new long[] { (long)heads * dk, (long)heads * dk, (long)heads * dv }, -1);
        return (Split(qkv[0], heads, dk) / Math.Sqrt(dk), Split(qkv[1], heads, dk), Split(qkv[2], heads, dv), next);
    }
}
