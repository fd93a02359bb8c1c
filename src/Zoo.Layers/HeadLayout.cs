using static TorchSharp.torch;

namespace Zoo.Layers;

/// <summary>Splits a projection [B, L, H·d] into heads [B, H, L, d], the layout the memory ops take.</summary>
internal static class HeadLayout
{
    public static Tensor Split(Tensor t, int heads, int dim) => t.view(t.shape[0], t.shape[1], heads, dim).transpose(1, 2);
}
