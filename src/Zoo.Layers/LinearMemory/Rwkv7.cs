using TorchSharp;
using TorchSharp.Modules;
using Zoo.Core.Layers;
using Zoo.Core.Options;
using Zoo.Core.Registry;
using static TorchSharp.torch;

namespace Zoo.Layers.LinearMemory;

/// <summary>Options of <see cref="Rwkv7"/>.</summary>
/// <remarks>
/// Defaults follow fla's <c>RWKV7Attention</c> (fla-org/flash-linear-attention, fla/layers/rwkv7.py), scaled to Zoo's
/// widths: heads · head dim = d_model (fla: heads of 64; here 2 heads of d_model / 2, 32 at d_model 64, a state of
/// 2 · 32 · 32 = 2,048 numbers as a default gated-deltanet's), value dim = key dim. The low-rank (LoRA) widths default to
/// fla's formulas without their floor of 32 and rounding to multiples of 32 (which at d_model 64 would make every LoRA
/// half the model's width): decay and in-context rate round(2.5 · √d_model · head_dim / 64), output gate round(5 · √d_model)
/// (10, 10 and 40 at d_model 64). Chunk 16 with sub-chunks of 4: the exact chunked form materialises its relative decays
/// only within sub-chunks (secondary chunking, see <see cref="GeneralizedDelta.Chunked"/>; fla's kernels chunk 64 with
/// secondary chunking): at d_model 64, B 4, L 1,024 (zoo bench forward+backward, one thread, a shared 2-core machine at
/// load 5–10, medians of 6 runs) it is 4.4× the reference loop (3.6× with the reference timed first); the former chunk 8
/// without sub-chunks was 2.4× (2.6×). Chunk 32 is about as fast, sub-chunk 8 and chunk 64 slower. The key dim is the
/// width of the receptance, key, decay, removal key and rate.
/// </remarks>
public sealed record Rwkv7Options : HeadedMemoryOptions
{
    /// <summary>LoRA width of the decay w; 0 means round(2.5 · √d_model · key_dim / 64).</summary>
    [Option("LoRA width of the decay w (0 = round(2.5·√d_model·key_dim/64), fla's without its floor of 32)", Min = 0)]
    public int DecayRank { get; init; }

    /// <summary>LoRA width of the in-context learning rate a; 0 means round(2.5 · √d_model · key_dim / 64).</summary>
    [Option("LoRA width of the in-context learning rate a (0 = round(2.5·√d_model·key_dim/64))", Min = 0)]
    public int RateRank { get; init; }

    /// <summary>LoRA width of the output gate g; 0 means round(5 · √d_model).</summary>
    [Option("LoRA width of the output gate g (0 = round(5·√d_model), fla's without its floor of 32)", Min = 0)]
    public int GateRank { get; init; }

    /// <summary>Chunk size of the chunked form (steps per iteration of its sequential across-chunk loop).</summary>
    [Option("chunk size C of the chunked form", Min = 1, Max = 256)]
    public int ChunkSize { get; init; } = 16;

    /// <summary>Sub-chunk size of the chunked form: relative decays are materialised only within sub-chunks (2·B·H·L·c·K numbers, c the sub-chunk), matmuls between them.</summary>
    [Option("sub-chunk size of the chunked form's secondary chunking (relative decays materialised only within sub-chunks)", Min = 1, Max = 256)]
    public int SubChunk { get; init; } = 4;

    /// <summary>A LoRA width: given, or round(scale · √d_model · key_dim / 64) (at least 1).</summary>
    internal static int Rank(int given, double scale, int dModel, double headFactor) =>
        given > 0 ? given : Math.Max(1, (int)Math.Round(scale * Math.Sqrt(dModel) * headFactor));
}

/// <summary>
/// RWKV-7 "Goose" time mixing (Peng et al. 2025, "RWKV-7 'Goose' with Expressive Dynamic State Evolution", arXiv
/// 2503.14456, §4): the generalized delta rule with vector-valued decay and in-context learning rate, a removal key
/// separate from the write key, token-shift inputs, per-head GroupNorm, a bonus term and a low-rank output gate.
/// </summary>
/// <remarks>
/// With x'_t = x_t + (x_{t−1} − x_t) ⊙ μ_• (token shift, a learned lerp per channel and per use •; x_{−1} from the state):
/// <list type="bullet">
/// <item>r = W_r x'_r, k = W_k x'_k, v = W_v x'_v;
/// w_t = exp(−e^{−0.5} σ(tanh(x'_w A_w) B_w + b_w)) ∈ (e^{−e^{−0.5}}, 1)^K (decay per key channel);
/// a_t = σ(x'_a A_a B_a + b_a) ∈ (0, 1)^K (in-context learning rate); g_t = σ(x'_g A_g) B_g (output gate);</item>
/// <item>κ̂_t = L2norm(k_t ⊙ ξ) per head (removal key), k̃_t = k_t ⊙ lerp(1, a_t, α) = k_t ⊙ (1 + (a_t − 1) ⊙ α) (write key);</item>
/// <item>state, in Zoo's [K, V] convention (the paper's S is its transpose):
/// S_t = (Diag(w_t) − (a_t ⊙ κ̂_t) κ̂_tᵀ) S_{t−1} + k̃_t v_tᵀ, o_t = S_tᵀ r_t (the <see cref="GeneralizedDelta"/> op);</item>
/// <item>y_t = W_o (g_t ⊙ (GroupNorm_h(o_t) + ((r_t ⊙ ρ ⊙ k̃_t) summed per head) v_t)) — per-head GroupNorm
/// (eps head_dim · 1e-5) and the bonus term with a learned ρ [H, K].</item>
/// </list>
/// The parametrisation is fla's <c>RWKV7Attention</c>: ξ = k_k, α = k_a, ρ = r_k, the LoRAs' activations (tanh in the
/// decay's, none in the rate's, sigmoid in the gate's) and its initialisation for layer 0 (token-shift lerps
/// 1 − (n/d)^p, decay and rate biases with the per-head zigzag, k_k = 0.71 − 0.1·lin, k_a = 1.02, r_k = −0.04, first LoRA
/// matrices zero and second orthogonal × 0.1, orthogonal r, v, k (gain 0.1) projections, zero output projection).
/// Omitted, as in a single layer: the value residual (v lerped towards the first layer's v; fla's layer 0 has none),
/// so every Zoo rwkv7 block is fla's first layer; the GroupNorm gain starts at 1 ((layer + 1)/n_layers)^0.7 with
/// n_layers 1, since a layer does not know its depth). The channel-mixing (FFN) half of an RWKV-7 block is the
/// backbone's SwiGLU.
/// </remarks>
[ZooLayer("rwkv7", typeof(Rwkv7Options), Summary = "RWKV-7 Goose: generalized delta rule with vector decay and in-context learning rate (Peng et al. 2025)")]
[ContractCase("{}")]
[ContractCase("{\"chunk_size\": 4}")]
[ContractCase("{\"chunk_size\": 24, \"sub_chunk\": 8}")]
[ContractCase("{\"heads\": 3, \"key_dim\": 5, \"value_dim\": 3, \"decay_rank\": 2, \"rate_rank\": 3, \"gate_rank\": 2, \"chunk_size\": 8}")]
[ContractCase("{\"form\": \"reference\"}")]
[ContractCase("{\"chunk_size\": 64}")]
public sealed class Rwkv7 : SequenceLayer
{
    private readonly Rwkv7Options _o;
    private readonly int _dk, _dv;
    private readonly Linear r_proj, k_proj, v_proj, o_proj, w_down, w_up, a_down, a_up, g_down, g_up;
    private readonly Parameter x_r, x_w, x_k, x_v, x_a, x_g, k_k, k_a, r_k, gn_weight, gn_bias;

    /// <summary>Builds the layer.</summary>
    public Rwkv7(int dModel, Rwkv7Options options) : base("Rwkv7", dModel)
    {
        _o = options;
        (_dk, _dv) = (options.KeyDimFor(dModel), options.ValueDimFor(dModel));
        int h = options.Heads, key = h * _dk, value = h * _dv;
        double headFactor = _dk / 64.0;
        int wRank = Rwkv7Options.Rank(options.DecayRank, 2.5, dModel, headFactor);
        int aRank = Rwkv7Options.Rank(options.RateRank, 2.5, dModel, headFactor);
        int gRank = Rwkv7Options.Rank(options.GateRank, 5, dModel, 1);
        r_proj = nn.Linear(dModel, key, hasBias: false);
        k_proj = nn.Linear(dModel, key, hasBias: false);
        v_proj = nn.Linear(dModel, value, hasBias: false);
        o_proj = nn.Linear(value, dModel, hasBias: false);
        (w_down, w_up) = (nn.Linear(dModel, wRank, hasBias: false), nn.Linear(wRank, key, hasBias: true));
        (a_down, a_up) = (nn.Linear(dModel, aRank, hasBias: false), nn.Linear(aRank, key, hasBias: true));
        (g_down, g_up) = (nn.Linear(dModel, gRank, hasBias: false), nn.Linear(gRank, value, hasBias: false));

        // fla's initialisation of layer 0 (ratio_0_to_1 = 0, ratio_1_to_almost0 = 1), computed on the host at construction.
        double[] Channels(int count, Func<int, double> f) => Enumerable.Range(0, count).Select(f).ToArray();
        Parameter P(double[] values, params long[] shape) => nn.Parameter(tensor(values, dtype: get_default_dtype()).reshape(shape));
        double Linear(int i, int count) => count > 1 ? (double)i / (count - 1) - 0.5 : 0;
        double Zigzag(int i)
        {
            double half = (_dk - 1) / 2.0, z = half > 0 ? (i % _dk - half) / half : 0;
            return z * Math.Abs(z);
        }
        double[] Lerp(double p) => Channels(dModel, i => 1 - Math.Pow((double)i / dModel, p));
        (x_r, x_w, x_k, x_v, x_a, x_g) = (P(Lerp(0.2), dModel), P(Lerp(0.9), dModel), P(Lerp(0.7), dModel),
            P(Lerp(0.7), dModel), P(Lerp(0.9), dModel), P(Lerp(0.2), dModel));
        k_k = P(Channels(key, i => 0.71 - 0.1 * Linear(i, key)), key);
        k_a = P(Channels(key, _ => 1.02), key);
        r_k = P(Channels(key, _ => -0.04), h, _dk);
        gn_weight = nn.Parameter(ones(h, _dv));
        gn_bias = nn.Parameter(zeros(h, _dv));
        using (no_grad())
        {
            foreach (var (down, up) in new[] { (w_down, w_up), (a_down, a_up), (g_down, g_up) })
            {
                down.weight!.zero_();
                long rank = up.weight!.shape[1], width = up.weight.shape[0];
                nn.init.orthogonal_(up.weight, 0.1 * (rank > width ? Math.Sqrt((double)rank / width) : 1));
            }
            w_up.bias!.copy_(tensor(Channels(key, i => -6 + 6 * (key > 1 ? (double)i / (key - 1) : 0) + 0.5 + 2.5 * Zigzag(i))));
            a_up.bias!.copy_(tensor(Channels(key, i => -0.19 + 0.3 * Zigzag(i) + 0.4 * Linear(i, key))));
            nn.init.orthogonal_(r_proj.weight!);
            nn.init.orthogonal_(k_proj.weight!, 0.1);
            nn.init.orthogonal_(v_proj.weight!);
            o_proj.weight!.zero_();
        }
        RegisterComponents();
    }

    /// <summary>State: the memory "S" [B, H, K, V] and the previous token "shift" [B, 1, d_model] for the token shift.</summary>
    public override LayerState InitialState(long batch, Device device, ScalarType dtype) =>
        new LayerState()
            .With("S", zeros(new long[] { batch, _o.Heads, _dk, _dv }, dtype: dtype, device: device))
            .With("shift", zeros(new long[] { batch, 1, DModel }, dtype: dtype, device: device));

    /// <inheritdoc />
    public override (Tensor Output, LayerState State) Forward(Tensor x, LayerState? state = null) => Run(x, state);

    /// <summary>One token through the per-token recurrence.</summary>
    public override (Tensor Output, LayerState State) Step(Tensor x, LayerState state) => AsOneToken(x, t => Run(t, state));

    /// <summary>Memory H·K·V plus the previous token (d_model).</summary>
    public override long StateSize(long sequenceLength) => (long)_o.Heads * _dk * _dv + DModel;

    private (Tensor Output, LayerState State) Run(Tensor x, LayerState? state)
    {
        using var scope = NewDisposeScope();
        long b = x.shape[0], l = x.shape[1];
        int h = _o.Heads;
        state ??= InitialState(b, x.device, x.dtype);
        // Token shift: x_{t−1} − x_t, with the previous call's last token in front; the new cache is copied, not a view.
        var full = cat(new[] { state["shift"], x }, 1);
        var delta = full.narrow(1, 0, l) - x;
        var shift = full.narrow(1, l, 1).contiguous();
        Tensor Mix(Parameter mu) => x + delta * mu;

        Tensor Heads(Tensor t, int dim) => t.view(b, l, h, dim);
        var r = Heads(r_proj.forward(Mix(x_r)), _dk);
        var k = k_proj.forward(Mix(x_k));
        var v = Heads(v_proj.forward(Mix(x_v)), _dv);
        var logDecay = -Math.Exp(-0.5) * sigmoid(w_up.forward(tanh(w_down.forward(Mix(x_w)))));            // log w_t
        var a = sigmoid(a_up.forward(a_down.forward(Mix(x_a))));
        var g = g_up.forward(sigmoid(g_down.forward(Mix(x_g))));
        var removal = nn.functional.normalize(Heads(k * k_k, _dk), p: 2, dim: -1);                         // κ̂
        var write = Heads(k * (1 + (a - 1) * k_a), _dk);                                                   // k̃ = k ⊙ lerp(1, a, k_a)
        var rate = Heads(a, _dk);

        static Tensor Op(Tensor t) => t.transpose(1, 2);                                                    // [B, L, H, d] → [B, H, L, d]
        var (o, s) = GeneralizedDelta.Apply(_o.Form, Op(r), Op(write), Op(v), Op(Heads(logDecay, _dk)), Op(removal), Op(rate),
            state["S"], _o.ChunkSize, _o.SubChunk);
        // GroupNorm with one group per head (eps head_dim · 1e-5, as fla), then the bonus (r ⊙ ρ ⊙ k̃)·v and the gate.
        var y = nn.functional.layer_norm(o.transpose(1, 2), new long[] { _dv }, eps: _dk * 1e-5) * gn_weight + gn_bias;
        var bonus = (r * r_k * write).sum(-1, keepdim: true) * v;
        var output = o_proj.forward(((y + bonus).reshape(b, l, h * _dv)) * g);
        var next = new LayerState().With("S", s).With("shift", shift);
        return (output.MoveToOuterDisposeScope(), next.MoveToOuterDisposeScope());
    }
}
