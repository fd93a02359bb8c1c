using TorchSharp;
using TorchSharp.Modules;
using Zoo.Core.Layers;
using Zoo.Core.Registry;
using Zoo.Layers.LinearMemory;
using static TorchSharp.torch;

namespace Zoo.Layers.DeepMemory;

/// <summary>
/// Titans' neural long-term memory as a layer (LMM; Behrouz, Zhong, Mirrokni 2024, §3.1, §4.4): q, k, v = projections
/// → short causal depthwise conv → SiLU (q, k L2-normalised), a per-head memory MLP written by gradient descent with momentum and forgetting
/// (<see cref="NeuralMemory"/>), with data-dependent θ_t = inner_lr·σ(W_θ x), η_t = σ(W_η x), α_t = σ(W_α x); read-out
/// y_t = M_t(q_t) → per-head RMSNorm → output gate → projection. The memory's initial weights are learned.
/// </summary>
/// <remarks>
/// State: the weights, their momentum, the weights at the start of the current gradient chunk (children "weights",
/// "momentum", "chunk_start", each with one tensor per MLP layer, "0" … depth − 1), the short-conv caches (child "conv":
/// "q", "k", "v") and the position in the chunk, so <see cref="Step"/> (one token of the chunked form) and segment-by-segment forwards follow the same chunk
/// boundaries as one forward over the whole sequence.
/// </remarks>
[ZooLayer("titans-lmm", typeof(TitansMemoryOptions), Summary = "Titans neural long-term memory: MLP memory written by gradient descent with momentum and forgetting")]
[ContractCase("{}")]
[ContractCase("{\"chunk_size\": 4}")]
[ContractCase("{\"chunk_size\": 1, \"depth\": 3, \"activation\": \"tanh\", \"heads\": 3, \"key_dim\": 5, \"value_dim\": 3}")]
[ContractCase("{\"chunk_size\": 4, \"form\": \"reference\"}")]
[ContractCase("{\"chunk_size\": 3, \"momentum\": false, \"forgetting\": false, \"output_gate\": false, \"short_conv\": false}")]
[ContractCase("{\"chunk_size\": 4, \"residual_norm\": true, \"conv_size\": 2}")]
[ContractCase("{\"chunk_size\": 4, \"residual_norm\": true, \"form\": \"reference\"}")]
public sealed class TitansMemory : SequenceLayer, ISoupMemory
{
    private readonly TitansMemoryOptions _o;
    private readonly int _dk, _dv;
    private readonly Linear q_proj, k_proj, v_proj, theta_proj;
    private readonly Linear? eta_proj, alpha_proj;
    private readonly Parameter? q_conv, k_conv, v_conv;
    private readonly ParameterList memory_init;
    private readonly MemoryReadout readout;

    /// <summary>Builds the layer.</summary>
    public TitansMemory(int dModel, TitansMemoryOptions options) : base("TitansMemory", dModel)
    {
        _o = options;
        (_dk, _dv) = (options.KeyDimFor(dModel), options.ValueDimFor(dModel));
        int h = options.Heads;
        q_proj = nn.Linear(dModel, h * _dk, hasBias: false);
        k_proj = nn.Linear(dModel, h * _dk, hasBias: false);
        v_proj = nn.Linear(dModel, h * _dv, hasBias: false);
        theta_proj = nn.Linear(dModel, h);
        if (options.Momentum) eta_proj = nn.Linear(dModel, h);
        if (options.Forgetting) alpha_proj = nn.Linear(dModel, h);
        using (no_grad())
        {
            eta_proj?.bias!.fill_(0.0);     // η ≈ momentum_max / 2 at init (η ≈ 0.88 diverged)
            alpha_proj?.bias!.fill_(-5.0);  // α ≈ 0.007 at init: forget slowly
        }
        if (options.ShortConv)
        {
            q_conv = ShortConvolution.Weight(h * _dk, options.ConvSize);
            k_conv = ShortConvolution.Weight(h * _dk, options.ConvSize);
            v_conv = ShortConvolution.Weight(h * _dv, options.ConvSize);
        }
        int hidden = Math.Max(1, (int)Math.Round(options.HiddenMult * _dk));
        var dims = new List<int> { _dk };
        for (int i = 0; i < options.Depth - 1; i++) dims.Add(hidden);
        dims.Add(_dv);
        memory_init = new ParameterList();
        for (int l = 0; l < options.Depth; l++)
            memory_init.Add(nn.Parameter(randn(h, dims[l + 1], dims[l]) / Math.Sqrt(dims[l])));
        readout = new MemoryReadout(dModel, options.Readout(dModel));
        RegisterComponents();
    }

    private int Depth => _o.Depth;

    // Inputs the short conv keeps from before the current token (0 without it).
    private int Cached => _o.ShortConv ? _o.ConvSize - 1 : 0;

    /// <summary>State: the learned initial weights, zero momentum, chunk start = the weights, empty conv caches, position 0.</summary>
    public override LayerState InitialState(long batch, Device device, ScalarType dtype)
    {
        var w = memory_init.Select(p => p.to(dtype, device).unsqueeze(0).expand(batch, -1, -1, -1)).ToArray();
        var conv = new LayerState().With("q", QueryCache(batch, device, dtype))
            .With("k", zeros(new long[] { batch, Cached, _o.Heads * _dk }, dtype: dtype, device: device))
            .With("v", zeros(new long[] { batch, Cached, _o.Heads * _dv }, dtype: dtype, device: device));
        return State(new NeuralMemoryState(w, Array.ConvertAll(w, x => zeros_like(x)), Array.ConvertAll(w, x => x.alias()), 0), conv);
    }

    /// <summary>Numbers in one sequence's query conv cache.</summary>
    public long QueryCacheSize => (long)Cached * _o.Heads * _dk;

    /// <summary>An empty short-conv cache for the queries alone [B, kernel − 1, H·K], as <see cref="Recall"/> carries it.</summary>
    public Tensor QueryCache(long batch, Device device, ScalarType dtype) =>
        zeros(new long[] { batch, Cached, _o.Heads * _dk }, dtype: dtype, device: device);

    /// <inheritdoc />
    public override (Tensor Output, LayerState State) Forward(Tensor x, LayerState? state = null) => Run(x, state, step: false);

    /// <summary>One token of the chunked form (gradients at the stored chunk-start weights).</summary>
    public override (Tensor Output, LayerState State) Step(Tensor x, LayerState state) =>
        AsOneToken(x, t => Run(t, state, step: true));

    /// <summary>Weights, momentum and chunk-start weights of every head's MLP, and the short-conv caches.</summary>
    public override long StateSize(long sequenceLength) => 3L * memory_init.Sum(p => p.numel()) + (long)Cached * _o.Heads * (2 * _dk + _dv);

    /// <inheritdoc />
    public (Tensor Reads, Tensor Queries, LayerState State) Memorize(Tensor x, LayerState? state) => Memorize(x, state, step: false);

    /// <summary>
    /// The soup read with the online memory inside it: each MLP layer's pre-activation is
    /// w_t,online · W_t h + Σ_i w_ti W⁽ⁱ⁾ h, with W_t the online weights after token t, so token t reads one MLP whose
    /// weights are the mixture (the nonlinearity acts on the mixed pre-activation, as in <see cref="ReadMixture"/>).
    /// </summary>
    public (Tensor Reads, Tensor Queries, LayerState State) MemorizeSoup(Tensor x, LayerState? state, IReadOnlyList<LayerState> memories, Tensor weights)
    {
        var cached = memories.Select(m => Layers(m.Child("weights"))).ToList();
        Tensor Mix(int layer, Tensor input, Tensor online, long start)
        {
            long n = input.shape[2];
            // Weights of tokens start … start + n − 1 as [B, 1, n, 1], to scale per-head pre-activations [B, H, n, out].
            Tensor W(int i) => weights[.., (int)start..(int)(start + n), i][.., TensorIndex.None, .., TensorIndex.None];
            var mixed = W(cached.Count) * online;
            for (int i = 0; i < cached.Count; i++) mixed = mixed + W(i) * input.matmul(cached[i][layer].transpose(-1, -2));
            return mixed;
        }
        return Memorize(x, state, step: false, Mix);
    }

    /// <summary>M(q) with the stored weights.</summary>
    public Tensor Read(LayerState memory, Tensor queries) => NeuralMemory.Apply(Layers(memory.Child("weights")), queries, _o.Activation, _o.ResidualNorm);

    /// <summary>
    /// The soup M_t with parameters Σ_i w_ti W⁽ⁱ⁾, layer by layer: each layer is linear in its weights, so
    /// (Σ_i w_ti W⁽ⁱ⁾_l) h = Σ_i w_ti (W⁽ⁱ⁾_l h), and the nonlinearity is applied to the mixed pre-activation.
    /// </summary>
    public Tensor ReadMixture(IReadOnlyList<LayerState> memories, Tensor weights, Tensor queries)
    {
        using var scope = NewDisposeScope();
        var layers = memories.Select(m => Layers(m.Child("weights"))).ToList();
        var h = queries;
        for (int l = 0; l < Depth; l++)
        {
            Tensor? mixed = null;
            for (int i = 0; i < memories.Count; i++)
            {
                var part = weights[.., .., i][.., TensorIndex.None, .., TensorIndex.None] * h.matmul(layers[i][l].transpose(-1, -2));
                mixed = mixed is null ? part : mixed + part;
            }
            h = l < Depth - 1 ? NeuralMemory.Phi(mixed!, _o.Activation) : mixed!;
        }
        if (_o.ResidualNorm) h = NeuralMemory.Normalize(h) + queries;
        return h.MoveToOuterDisposeScope();
    }

    /// <inheritdoc />
    public Tensor Output(Tensor reads, Tensor x) => readout.Compute(reads, x);

    /// <summary>
    /// Retrieval without update (Titans' M*): reads <paramref name="memory"/> with the queries of x and applies the output
    /// stage, giving one D-wide token per input token. The queries' short conv runs over x, continuing from
    /// <paramref name="queryCache"/> (x is a different stream from the one the memory writes, so it has its own cache).
    /// </summary>
    public (Tensor Output, Tensor QueryCache) Recall(Tensor x, LayerState memory, Tensor queryCache)
    {
        using var scope = NewDisposeScope();
        var (f, c) = Features(x, new[] { q_proj }, q_conv is null ? null : new Tensor[] { q_conv }, new[] { queryCache });
        return (readout.Compute(Read(memory, Normalize(Heads(f[0], _dk))), x).MoveToOuterDisposeScope(), c[0].MoveToOuterDisposeScope());
    }

    private (Tensor Output, LayerState State) Run(Tensor x, LayerState? state, bool step)
    {
        using var scope = NewDisposeScope();
        var (o, _, next) = Memorize(x, state, step);
        return (readout.Compute(o, x).MoveToOuterDisposeScope(), next.MoveToOuterDisposeScope());
    }

    // Titans' features (§4.4): projections → short conv → SiLU (SiLU alone without the conv), one matmul and one conv
    // for all of them; the outputs are still [B, L, H·d].
    private static (Tensor[] Features, Tensor[] Caches) Features(Tensor x, Linear[] projections, Tensor[]? convs, Tensor[] caches)
    {
        var (f, c) = ShortConvolution.Project(x, Array.ConvertAll(projections, p => p.weight!), convs, caches);
        return (convs is null ? Array.ConvertAll(f, u => nn.functional.silu(u)) : f, c);
    }

    private Tensor Heads(Tensor u, int dim) => HeadLayout.Split(u, _o.Heads, dim);

    // Queries and keys are L2-normalised as titans-pytorch does (F.normalize, max(‖x‖, 1e-12)), not with fla's
    // eps-in-the-root l2norm of MemoryFeatures: each layer keeps its reference implementation's numbers.
    private static Tensor Normalize(Tensor u) => nn.functional.normalize(u, dim: -1);

    private (Tensor Reads, Tensor Queries, LayerState State) Memorize(Tensor x, LayerState? state, bool step, LayerMix? mix = null)
    {
        using var scope = NewDisposeScope();
        long b = x.shape[0], l = x.shape[1];
        state ??= InitialState(b, x.device, x.dtype);
        var caches = state.Child("conv");
        var (f, c) = Features(x, new[] { q_proj, k_proj, v_proj }, q_conv is null ? null : new Tensor[] { q_conv, k_conv!, v_conv! },
            new[] { caches["q"], caches["k"], caches["v"] });
        var (q, k, v) = (Normalize(Heads(f[0], _dk)), Normalize(Heads(f[1], _dk)), Heads(f[2], _dv));
        var theta = (_o.InnerLrFor(DModel) * sigmoid(theta_proj.forward(x))).transpose(1, 2);
        var eta = eta_proj is not null ? (_o.MomentumMax * sigmoid(eta_proj.forward(x))).transpose(1, 2) : zeros(b, _o.Heads, l, dtype: x.dtype, device: x.device);
        var alpha = alpha_proj is not null ? sigmoid(alpha_proj.forward(x)).transpose(1, 2) : zeros(b, _o.Heads, l, dtype: x.dtype, device: x.device);
        var memory = new NeuralMemoryState(Layers(state.Child("weights")), Layers(state.Child("momentum")),
            Layers(state.Child("chunk_start")), state.Counter("position"));
        var (o, next) = !step && _o.Form == NeuralMemoryForm.Reference
            ? NeuralMemory.Reference(q, k, v, theta, eta, alpha, memory, _o.ChunkSize, _o.Activation, _o.ResidualNorm, mix)
            : NeuralMemory.Chunked(q, k, v, theta, eta, alpha, memory, _o.ChunkSize, _o.Activation, _o.Momentum, _o.ResidualNorm, mix);
        var conv = new LayerState().With("q", c[0]).With("k", c[1]).With("v", c[2]);
        return (o.MoveToOuterDisposeScope(), q.MoveToOuterDisposeScope(), State(next, conv).MoveToOuterDisposeScope());
    }

    private static LayerState State(NeuralMemoryState m, LayerState conv) => new LayerState()
        .With("weights", Layers(m.Weights)).With("momentum", Layers(m.Momentum)).With("chunk_start", Layers(m.ChunkStart))
        .With("conv", conv).WithCounter("position", m.Position);

    // One tensor per MLP layer, named by the layer's index: a list of like tensors, read back in layer order.
    private static LayerState Layers(Tensor[] layers)
    {
        var s = new LayerState();
        for (int l = 0; l < layers.Length; l++) s.With(l.ToString(System.Globalization.CultureInfo.InvariantCulture), layers[l]);
        return s;
    }

    private static Tensor[] Layers(LayerState layers) => [.. layers.Tensors.Select(t => t.Tensor)];
}
