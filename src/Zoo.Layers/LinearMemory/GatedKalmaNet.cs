using TorchSharp;
using TorchSharp.Modules;
using Zoo.Core.Layers;
using Zoo.Core.Options;
using Zoo.Core.Registry;
using static TorchSharp.torch;

namespace Zoo.Layers.LinearMemory;

/// <summary>How <see cref="TestTimeRidge"/> solves (H_t + λ_t I) x = q_t.</summary>
public enum RidgeSolver
{
    /// <summary>The paper's: a fixed number of Chebyshev iterations on the eigenvalue bracket [λ_t, λ_t + ‖H_t‖_F].</summary>
    Chebyshev,
    /// <summary>A direct solve (torch.linalg.solve): the ridge regression's exact minimiser, for checks.</summary>
    Exact,
}

/// <summary>Options of <see cref="GatedKalmaNet"/>.</summary>
/// <remarks>
/// Defaults follow the reference layer released with the paper (<c>GatedKalmaNet</c>: ridge_strength 0.02, num_iter 30,
/// short conv of 4 on q, k and v, β gate, α connection, forgetting gate shared by the key-key and key-value states,
/// A ~ U(0, 16), one head dim for q, k and v, heads · head dim = d_model: 16 heads of 128 at 2,048). Scaled to Zoo's
/// widths: 2 heads of d_model / 2 (32 at d_model 64), and chunk 16 for the chunked form (the reference's Triton kernels
/// use 64; here 16, 32 and 64 train at the same speed).
/// </remarks>
public sealed record GatedKalmaNetOptions : ConvolvedMemoryOptions
{
    /// <summary>Ridge ratio r: the regulariser is λ_t = r · ‖H_t‖_F (adaptive regularisation), so cond(H_t + λ_t I) ≤ 1 + 1/r.</summary>
    [Option("ridge ratio r: λ_t = r·‖H_t‖_F, cond(H_t + λ_t I) ≤ 1 + 1/r (reference: 0.02)", Min = 1e-6, Max = 100)]
    public double RidgeStrength { get; init; } = 0.02;

    /// <summary>Chebyshev iterations per token (the reference's num_iter).</summary>
    [Option("Chebyshev iterations per token (reference: 30)", Min = 1, Max = 1000)]
    public int Iterations { get; init; } = 30;

    /// <summary>Solver of the ridge system: the paper's Chebyshev iteration or an exact solve.</summary>
    [Option("ridge solver: chebyshev (the paper's) or exact (direct solve)")]
    public RidgeSolver Solver { get; init; } = RidgeSolver.Chebyshev;

    /// <summary>α connection: read with q + α_t (x_t − q_t), α_t = σ(W_α x + b); off reads with x_t (α = 1).</summary>
    [Option("α connection: read with q + α(x − q), α = σ(W_α x + b); off: α = 1")]
    public bool AlphaConnection { get; init; } = true;

    /// <summary>Chunk size of the chunked form.</summary>
    [Option("chunk size C of the chunked form", Min = 1, Max = 256)]
    public int ChunkSize { get; init; } = 16;
}

/// <summary>
/// Gated KalmaNet (Peng, Chattopadhyay, Zancato, Nunez, Xia, Soatto 2025, "Gated KalmaNet: A Fading Memory Layer
/// Through Test-Time Ridge Regression", arXiv 2511.21016): the state is the solution of a weighted ridge regression of
/// values on keys over the whole past, the steady-state form of the Kalman filter's recurrence.
/// </summary>
/// <remarks>
/// Per head, with q_t, k_t L2-normalised after the short conv + SiLU, β_t = σ(W_β x_t), k_t ← (β_t + 10⁻⁶) k_t,
/// v_t ← (β_t + 10⁻⁶) v_t, log γ_t = −exp(A_log) · softplus(W_a x_t + b_dt) and η_{t,i} = Π_{j=i+1..t} γ_j:
/// <list type="bullet">
/// <item>S_t = argmin_S λ_t ‖S‖²_F + Σ_{i≤t} η_{t,i} ‖Sᵀ k_i − v_i‖² = (H_t + λ_t I)⁻¹ U_t (the paper's objective;
/// Zoo stores S as K×V);</item>
/// <item>H_t = γ_t H_{t−1} + k_t k_tᵀ (K×K), U_t = γ_t U_{t−1} + k_t v_tᵀ (K×V): both carried in the state;</item>
/// <item>λ_t = r · ‖H_t‖_F (adaptive regularisation; cond(H_t + λ_t I) ≤ 1 + 1/r);</item>
/// <item>x_t ≈ (H_t + λ_t I)⁻¹ q_t by n Chebyshev iterations on the bracket [λ_t, λ_t + ‖H_t‖_F] (step 2/(2λ_t + ‖H_t‖_F),
/// ρ = ‖H_t‖_F / (2λ_t + ‖H_t‖_F), x₀ = 0);</item>
/// <item>o_t = U_tᵀ q̃_t / √K with q̃_t = q_t + α_t (x_t − q_t), α_t = σ(W_α x_t + b_α) (the reference's α connection;
/// α = 1 is o_t = S_tᵀ q_t / √K);</item>
/// <item>y_t = W_o (RMSNorm(o_t) ⊙ SiLU(W_g x_t)) per head.</item>
/// </list>
/// The q, k, v, β and γ side is <see cref="MemoryFeatures"/> (Gated DeltaNet's; its q is already scaled by 1/√K, which
/// the linear solve passes through), the read-out <see cref="MemoryReadout"/>, and U_t with its read is the scalar-gated
/// linear attention of <see cref="GatedDelta"/> (erase off, β = 1) applied to q̃. Differences from the reference code:
/// fla-style l2norm x/√(Σx² + 10⁻⁶) (the reference divides by ‖x‖ + 10⁻⁶), no bias on W_β (the reference has one), and
/// with short_conv off q, k, v get no SiLU.
/// Cost per head and token: O(K²) for H_t and ‖H_t‖_F, O(n·K²) for the solve, O(K·V) for U_t: O(L·(n+2)·K² + L·K·V)
/// per sequence; the state is H·(K·V + K²) numbers plus the conv caches. The reference form is sequential in L. The
/// chunked form never builds the per-token H_t: as the paper's chunk-wise kernel, it applies H_t to all of a chunk's
/// tokens through the chunk's keys (H_t y = e^{G_t} H_0 y + Σ_s D_ts (k_s · y) k_s) and gets ‖H_t‖_F from the keys'
/// Gram matrix, equal to the reference in float64. Building every H_t as a K × K matrix and applying it by batched
/// matrix-vector products was 3.5–3.8× slower (755–763 against 2,654–2,886 training tokens/s, zoo bench, d_model 64,
/// batch 64, L 64, forward+backward, one thread, interleaved runs); the chunk size hardly matters now (16, 32 and 64
/// within ±10%).
/// </remarks>
[ZooLayer("gated-kalmanet", typeof(GatedKalmaNetOptions), Summary = "Gated KalmaNet: test-time ridge regression over the whole past, Chebyshev-solved (arXiv 2511.21016)")]
[ContractCase("{}")]
[ContractCase("{\"chunk_size\": 4}")]
[ContractCase("{\"heads\": 3, \"key_dim\": 5, \"value_dim\": 3, \"chunk_size\": 3, \"solver\": \"exact\"}")]
[ContractCase("{\"form\": \"reference\", \"conv_size\": 2, \"iterations\": 5}")]
[ContractCase("{\"short_conv\": false, \"alpha_connection\": false, \"chunk_size\": 64}")]
public sealed class GatedKalmaNet : SequenceLayer
{
    private readonly GatedKalmaNetOptions _o;
    private readonly int _dk, _dv;
    private readonly MemoryFeatures features;
    private readonly MemoryReadout readout;
    private readonly Linear? alpha_proj;

    /// <summary>Builds the layer.</summary>
    public GatedKalmaNet(int dModel, GatedKalmaNetOptions options) : base("GatedKalmaNet", dModel)
    {
        _o = options;
        (_dk, _dv) = (options.KeyDimFor(dModel), options.ValueDimFor(dModel));
        var memory = options.Features(dModel) with { AInitMin = 0 };                   // the reference's A ~ U(0, 16)
        features = new MemoryFeatures(dModel, memory, MemoryRule.GatedDelta);
        readout = new MemoryReadout(dModel, memory);
        if (options.AlphaConnection) alpha_proj = nn.Linear(dModel, options.Heads, hasBias: true);
        RegisterComponents();
    }

    /// <summary>State: "S" = U [B, H, K, V], "H" the key covariance [B, H, K, K], and the conv caches (child "conv").</summary>
    public override LayerState InitialState(long batch, Device device, ScalarType dtype) =>
        new LayerState()
            .With("S", zeros(new long[] { batch, _o.Heads, _dk, _dv }, dtype: dtype, device: device))
            .With("H", zeros(new long[] { batch, _o.Heads, _dk, _dk }, dtype: dtype, device: device))
            .With("conv", features.InitialCaches(batch, device, dtype));

    /// <inheritdoc />
    public override (Tensor Output, LayerState State) Forward(Tensor x, LayerState? state = null) => Run(x, state);

    /// <summary>One token through the per-token recurrence.</summary>
    public override (Tensor Output, LayerState State) Step(Tensor x, LayerState state) => AsOneToken(x, t => Run(t, state));

    /// <summary>H·(K·V + K²) plus the conv caches (kernel − 1)·H·(2K + V).</summary>
    public override long StateSize(long sequenceLength) => (long)_o.Heads * _dk * (_dv + _dk) + features.CacheSize;

    private (Tensor Output, LayerState State) Run(Tensor x, LayerState? state)
    {
        using var scope = NewDisposeScope();
        long b = x.shape[0], l = x.shape[1];
        state ??= InitialState(b, x.device, x.dtype);
        var m = features.Compute(x, state.Child("conv"));
        var w = (m.Beta + 1e-6).unsqueeze(-1);                                        // the reference scales k and v by β + 1e-6
        var alpha = alpha_proj is null
            ? ones(new[] { b, (long)_o.Heads, l }, dtype: x.dtype, device: x.device)
            : sigmoid(alpha_proj.forward(x)).transpose(1, 2);
        var (o, u, h) = TestTimeRidge.Apply(_o.Form, m.Q, m.K * w, m.V * w, m.LogDecay, alpha, state["H"], state["S"],
            _o.RidgeStrength, _o.Iterations, _o.Solver, _o.ChunkSize);
        var output = readout.Compute(o, x);
        var next = new LayerState().With("S", u).With("H", h).With("conv", m.ConvCaches);
        return (output.MoveToOuterDisposeScope(), next.MoveToOuterDisposeScope());
    }
}

/// <summary>
/// Gated KalmaNet's op: the online ridge regression of <see cref="GatedKalmaNet"/> (see there for the equations), with a
/// per-token <see cref="Reference"/> loop and a <see cref="Chunked"/> form that equals it.
/// </summary>
/// <remarks>
/// Shapes: q, k [B, H, L, K]; v [B, H, L, V]; logDecay = log γ_t ≤ 0 and alpha [B, H, L]; covariance [B, H, K, K];
/// state U [B, H, K, V]. q is used as given (scale it by 1/√K before calling), k and v already carry β.
/// Returns the outputs [B, H, L, V], the final U and the final H.
/// </remarks>
public static class TestTimeRidge
{
    /// <summary>The form a layer's options choose (the reference for a single token).</summary>
    public static (Tensor Output, Tensor State, Tensor Covariance) Apply(MemoryForm form, Tensor q, Tensor k, Tensor v,
        Tensor logDecay, Tensor alpha, Tensor covariance, Tensor state, double ridge, int iterations, RidgeSolver solver, int chunkSize) =>
        form == MemoryForm.Reference || q.shape[2] == 1
            ? Reference(q, k, v, logDecay, alpha, covariance, state, ridge, iterations, solver)
            : Chunked(q, k, v, logDecay, alpha, covariance, state, ridge, iterations, solver, chunkSize);

    /// <summary>Per-token loop: the definition.</summary>
    public static (Tensor Output, Tensor State, Tensor Covariance) Reference(Tensor q, Tensor k, Tensor v, Tensor logDecay,
        Tensor alpha, Tensor covariance, Tensor state, double ridge, int iterations, RidgeSolver solver)
    {
        using var scope = NewDisposeScope();
        long l = q.shape[2];
        var (hk, u) = (covariance, state);
        var outputs = new Tensor[l];
        var (qs, ks, vs, gammas, alphas) = (q.unbind(2), k.unbind(2), v.unbind(2), logDecay.exp().unbind(2), alpha.unbind(2));
        for (long t = 0; t < l; t++)
        {
            var g = gammas[t].unsqueeze(-1).unsqueeze(-1);
            var kt = ks[t].unsqueeze(-1);                                              // [B, H, K, 1]
            hk = g * hk + kt.matmul(kt.transpose(-1, -2));                             // H_t = γ_t H_{t−1} + k_t k_tᵀ
            u = g * u + kt.matmul(vs[t].unsqueeze(-2));                                // U_t = γ_t U_{t−1} + k_t v_tᵀ
            var xt = Solve(hk.unsqueeze(2), qs[t].unsqueeze(2), ridge, iterations, solver).squeeze(2);
            var qt = qs[t] + alphas[t].unsqueeze(-1) * (xt - qs[t]);                   // q̃_t = q_t + α_t (x_t − q_t)
            outputs[t] = qt.unsqueeze(-2).matmul(u).squeeze(-2);                       // o_t = U_tᵀ q̃_t
        }
        return (stack(outputs, 2).MoveToOuterDisposeScope(), u.MoveToOuterDisposeScope(), hk.MoveToOuterDisposeScope());
    }

    /// <summary>
    /// Chunked form. Within a chunk of C tokens H_t = e^{G_t} H_0 + Σ_{s≤t} e^{G_t − G_s} k_s k_sᵀ (G the within-chunk
    /// cumulative log-decay, H_0 the covariance at the chunk's start) is never formed: the Chebyshev iteration applies
    /// it to all the chunk's tokens at once as H_t y_t = e^{G_t} H_0 y_t + Σ_s D_ts (k_s · y_t) k_s (three batched
    /// matmuls, the paper's chunk-wise form), and ‖H_t‖_F² comes from the same pieces (<see cref="ChunkCovariance"/>).
    /// Only the chunk-start covariances H_0 are passed on sequentially (one K × K update per chunk); the solves depend
    /// on nothing else, so every chunk's tokens are solved in one batch, and the iteration's 30 steps run once per call
    /// rather than once per chunk. U_t and the read-out with q̃ are <see cref="GatedDelta.Chunked"/> (erase off, β = 1).
    /// The exact solver builds each H_t (it is for checks). Lengths the chunk does not divide are padded with steps that
    /// neither decay nor write (zero key and query), whose solutions are cut.
    /// </summary>
    public static (Tensor Output, Tensor State, Tensor Covariance) Chunked(Tensor q, Tensor k, Tensor v, Tensor logDecay,
        Tensor alpha, Tensor covariance, Tensor state, double ridge, int iterations, RidgeSolver solver, int chunkSize = 16)
    {
        if (chunkSize < 1) throw new ArgumentOutOfRangeException(nameof(chunkSize));
        using var scope = NewDisposeScope();
        long b = q.shape[0], nh = q.shape[1], l = q.shape[2], dk = q.shape[3];
        int c = chunkSize;
        long pad = (c - l % c) % c, n = (l + pad) / c;
        var qc = GatedDelta.Chunks(q, pad, n, c);                                        // [B, H, N, C, K]
        var kc = GatedDelta.Chunks(k, pad, n, c);
        var g = GatedDelta.Chunks(logDecay, pad, n, c).cumsum(-1);                       // G: [B, H, N, C]
        var future = ones(c, c, dtype: ScalarType.Bool, device: q.device).triu(1);
        var decay = (g.unsqueeze(-1) - g.unsqueeze(-2)).masked_fill(future, double.NegativeInfinity).exp();   // D_ts
        var fromStart = g.exp().unsqueeze(-1);                                          // e^{G_t} [B, H, N, C, 1]

        // H at each chunk's end is e^{G_C} H_0 + Σ_s D_Cs k_s k_sᵀ: the written part for all chunks at once, then the
        // chunk-start covariances by a sequential pass of N small updates.
        var written = (kc * decay[.., .., .., -1].unsqueeze(-1)).transpose(-1, -2).matmul(kc);    // [B, H, N, K, K]
        var (writes, carries) = (written.unbind(2), fromStart[.., .., .., -1].unsqueeze(-1).unbind(2));
        var starts = new Tensor[n];
        var hk = covariance;
        for (long i = 0; i < n; i++)
        {
            starts[i] = hk;
            hk = carries[i] * hk + writes[i];
        }
        var h0 = stack(starts, 2);                                                      // [B, H, N, K, K]

        Tensor solved;
        if (solver == RidgeSolver.Exact)
        {
            var outer = (kc.unsqueeze(-1) * kc.unsqueeze(-2)).reshape(b, nh, n, c, dk * dk);
            var hc = decay.matmul(outer).view(b, nh, n, c, dk, dk) + fromStart.unsqueeze(-1) * h0.unsqueeze(3);
            solved = Solve(hc, qc, ridge, iterations, solver);
        }
        else
        {
            var cov = new ChunkCovariance(h0, kc, decay, fromStart);
            solved = Chebyshev(cov.Apply, qc, cov.FrobeniusNorm(), ridge, iterations);
        }
        var x = solved.reshape(b, nh, n * c, dk);
        if (pad > 0) x = x[.., .., ..(int)l];
        var qt = q + alpha.unsqueeze(-1) * (x - q);
        var ones_ = ones_like(alpha);
        var (o, u) = GatedDelta.Chunked(qt, k, v, logDecay, ones_, state, chunkSize, erase: false);
        return (o.MoveToOuterDisposeScope(), u.MoveToOuterDisposeScope(), hk.MoveToOuterDisposeScope());
    }

    /// <summary>
    /// The covariances H_t = e^{G_t} H_0 + Σ_{s≤t} D_ts k_s k_sᵀ of every chunk's tokens, held as the chunk-start H_0
    /// [.., K, K], the chunk's keys [.., c, K], D [.., c, c] and e^{G_t} [.., c, 1] (leading dims B, H, N), never as c
    /// matrices of K × K per chunk.
    /// </summary>
    private sealed record ChunkCovariance(Tensor H0, Tensor Keys, Tensor Decay, Tensor FromStart)
    {
        /// <summary>H_t y_t for every token t: y [.., c, K] → [.., c, K].</summary>
        public Tensor Apply(Tensor y) =>
            FromStart * y.matmul(H0.transpose(-1, -2)) + (Decay * y.matmul(Keys.transpose(-1, -2))).matmul(Keys);

        /// <summary>
        /// ‖H_t‖_F [.., c, 1] = √(e^{2G_t} ‖H_0‖² + 2 e^{G_t} Σ_s D_ts k_sᵀH_0k_s + Σ_{s,s'} D_ts D_ts' (k_s · k_s')²).
        /// </summary>
        public Tensor FrobeniusNorm()
        {
            var gram = Keys.matmul(Keys.transpose(-1, -2));                            // k_s · k_s' [.., c, c]
            var kh0k = (Keys.matmul(H0) * Keys).sum(-1, keepdim: true);                // k_sᵀ H_0 k_s [.., c, 1]
            var h0 = H0.pow(2).sum(new long[] { -2, -1 }, keepdim: true);              // ‖H_0‖² [.., 1, 1]
            var squared = FromStart.pow(2) * h0 + 2 * FromStart * Decay.matmul(kh0k)
                          + (Decay.matmul(gram.pow(2)) * Decay).sum(-1, keepdim: true);
            return squared.clamp_min(0).sqrt();
        }
    }

    /// <summary>
    /// x ≈ (H + λI)⁻¹ q with λ = ridge · ‖H‖_F, for H [B, H, T, K, K] and q [B, H, T, K]: the paper's Chebyshev
    /// iteration (eigenvalues bracketed by [λ, λ + ‖H‖_F]) or an exact solve.
    /// </summary>
    public static Tensor Solve(Tensor h, Tensor q, double ridge, int iterations, RidgeSolver solver)
    {
        using var scope = NewDisposeScope();
        var fro = h.pow(2).sum(new long[] { -2, -1 }).sqrt().unsqueeze(-1);         // ‖H‖_F [B, H, T, 1]
        if (solver == RidgeSolver.Exact)
        {
            var eye = torch.eye(h.shape[^1], dtype: h.dtype, device: h.device);
            return linalg.solve(h + (ridge * fro).unsqueeze(-1) * eye, q.unsqueeze(-1)).squeeze(-1).MoveToOuterDisposeScope();
        }
        return Chebyshev(y => h.matmul(y.unsqueeze(-1)).squeeze(-1), q, fro, ridge, iterations).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// The paper's Chebyshev iteration for (H + λI) x = q, λ = ridge · ‖H‖_F, given H's action <paramref name="applyH"/>
    /// on [.., T, K] and ‖H‖_F [.., T, 1]: eigenvalues bracketed by [λ, λ + ‖H‖_F], x₀ = 0.
    /// </summary>
    private static Tensor Chebyshev(Func<Tensor, Tensor> applyH, Tensor q, Tensor fro, double ridge, int iterations)
    {
        var lambda = ridge * fro;
        var step = 2 / (2 * lambda + fro);
        var rho = fro / (2 * lambda + fro);
        var quarterRho2 = (rho / 2).pow(2);
        var previous = zeros_like(q);
        var x = step * q;                                                              // x₁ = step · q (from x₀ = 0)
        Tensor omega = full_like(fro, 2.0);
        for (int i = 0; i < iterations; i++)
        {
            omega = 1 / (1 - quarterRho2 * omega);
            var next = omega * (x - step * (applyH(x) + lambda * x - q)) + (1 - omega) * previous;
            (previous, x) = (x, next);
        }
        return x;
    }
}
