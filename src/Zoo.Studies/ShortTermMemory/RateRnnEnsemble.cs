using TorchSharp;
using Zoo.Core.Options;
using Zoo.Core.Tasks;
using static TorchSharp.torch;

namespace Zoo.Studies.ShortTermMemory;

/// <summary>Options of the rate RNN of Kurtkaya et al. (defaults: the paper's).</summary>
public sealed record RateRnnOptions
{
    /// <summary>Units N.</summary>
    [Option("recurrent units N", Min = 1, Max = 10000)]
    public int Hidden { get; init; } = 100;

    /// <summary>α = dt/τ in r ← (1 − α) r + α tanh(W_rec r + W_in u + b + ε).</summary>
    [Option("leak α = dt/τ (paper: 5 ms / 10 ms)", Min = 0, Max = 1, MinExclusive = true)]
    public double Alpha { get; init; } = 0.5;

    /// <summary>Standard deviation of the pre-activation noise ε.</summary>
    [Option("standard deviation of the pre-activation noise ε", Min = 0)]
    public double NoiseSigma { get; init; } = 0.001;

    /// <summary>r₀ = tanh(N(0, σ₀²)) per trial.</summary>
    [Option("initial rates r₀ = tanh(N(0, σ₀²)): σ₀", Min = 0)]
    public double InitialRateSigma { get; init; } = 0.1;
}

/// <summary>
/// E independent rate RNNs of Kurtkaya et al. stacked along a leading dimension (docs/architecture.md, 'Ensembles'): per network
/// r ← (1 − α) r + α tanh(W_rec r + W_in u + b_in + b_rec + ε), ε ~ N(0, σ²), r₀ = tanh(N(0, σ₀²)), readout
/// σ(W_out r + b_out), with weights <c>[E, out, in]</c> so one batched matmul serves every network. The parametrisation
/// is the authors' three <c>nn.Linear</c>s: Xavier-uniform weights with the recurrent diagonal zeroed at init, PyTorch's
/// default uniform biases (two in the recurrence, both trained). As in the authors' code the output at step t reads
/// the state before input t is taken in. Each network draws its initial weights from one generator and its
/// initial rates and noise from another, both seeded from its own seed, so a network's numbers do not depend on E
/// or on its position in the ensemble.
/// </summary>
public sealed class RateRnnEnsemble : IDisposable
{
    /// <summary>Input channels (the two cue channels).</summary>
    public const int Inputs = 2;

    /// <summary>Output channels.</summary>
    public const int Outputs = 2;

    private const ulong InitTag = 0x494E_4954_5354_4D01UL, NoiseTag = 0x4E4F_4953_4553_544DUL;
    private readonly RateRnnOptions _o;
    private readonly long[] _seeds;
    private readonly Generator[] _noise;
    private readonly bool _ownsNoise = true;

    /// <summary>Builds one network per seed in <paramref name="seeds"/>, in <paramref name="dtype"/> on <paramref name="device"/>.</summary>
    public RateRnnEnsemble(IReadOnlyList<long> seeds, RateRnnOptions options, ScalarType dtype, Device device)
    {
        _o = options;
        Dtype = dtype;
        Device = device;
        Size = seeds.Count;
        int n = options.Hidden;
        var perNetwork = seeds.Select(s => Init(s, n)).ToList();
        Tensor Stack(int k) => stack(perNetwork.Select(p => p[k]).ToArray()).to(dtype, device).requires_grad_();
        WIn = Stack(0);
        WRec = Stack(1);
        WOut = Stack(2);
        BIn = Stack(3);
        BRec = Stack(4);
        BOut = Stack(5);
        foreach (var p in perNetwork.SelectMany(p => p)) p.Dispose();
        _seeds = seeds.ToArray();
        _noise = _seeds.Select(s => new Generator(SplitMix64.Mix((ulong)s ^ NoiseTag), device)).ToArray();
    }

    // A subset: copies of the chosen networks' weights, drawing from the same generator objects as the parent, so a
    // network's noise goes on exactly where it was. The parent keeps owning the generators.
    private RateRnnEnsemble(RateRnnEnsemble parent, long[] positions)
    {
        _o = parent._o;
        Dtype = parent.Dtype;
        Device = parent.Device;
        Size = positions.Length;
        using var index = tensor(positions, device: parent.Device);
        Tensor Pick(Tensor p)
        {
            using var noGrad = no_grad();
            return p.index_select(0, index).requires_grad_();
        }
        (WIn, WRec, WOut, BIn, BRec, BOut) = (Pick(parent.WIn), Pick(parent.WRec), Pick(parent.WOut), Pick(parent.BIn), Pick(parent.BRec), Pick(parent.BOut));
        _seeds = positions.Select(i => parent._seeds[i]).ToArray();
        _noise = positions.Select(i => parent._noise[i]).ToArray();
        _ownsNoise = false;
    }

    /// <summary>
    /// The networks at <paramref name="positions"/> as an ensemble of their own: copies of their current weights, and
    /// the same noise streams (shared with this ensemble, which must outlive the subset). Training a subset and
    /// writing it back with <see cref="CopyFrom"/> gives exactly what training those networks here would have given.
    /// </summary>
    public RateRnnEnsemble Subset(long[] positions) => new(this, positions);

    /// <summary>Writes the weights of <paramref name="subset"/> back into the networks at <paramref name="positions"/>.</summary>
    public void CopyFrom(RateRnnEnsemble subset, long[] positions)
    {
        using var noGrad = no_grad();
        using var index = tensor(positions, device: Device);
        var mine = Parameters;
        var theirs = subset.Parameters;
        for (int i = 0; i < mine.Count; i++) mine[i].index_copy_(0, index, theirs[i]);
    }

    /// <summary>
    /// Restarts every network's noise stream (initial rates and ε) at stream <paramref name="stream"/> of its seed, so
    /// what it draws next depends on its seed alone, not on how many epochs its ensemble ran (a network whose budget
    /// ended early keeps drawing while the others train).
    /// </summary>
    public void RestartNoise(ulong stream)
    {
        if (!_ownsNoise) throw new InvalidOperationException("a subset shares its parent's noise streams; restart them on the parent");
        for (int i = 0; i < _noise.Length; i++)
        {
            _noise[i].Dispose();
            _noise[i] = new Generator(SplitMix64.Mix((ulong)_seeds[i] ^ NoiseTag ^ SplitMix64.Mix(stream)), Device);
        }
    }

    /// <summary>Number of networks E.</summary>
    public int Size { get; }

    /// <summary>Element type of the weights.</summary>
    public ScalarType Dtype { get; }

    /// <summary>Where the weights live.</summary>
    public Device Device { get; }

    /// <summary>Units per network.</summary>
    public int Hidden => _o.Hidden;

    /// <summary>Input weights <c>[E, N, 2]</c>.</summary>
    public Tensor WIn { get; }

    /// <summary>Recurrent weights <c>[E, N, N]</c>.</summary>
    public Tensor WRec { get; }

    /// <summary>Readout weights <c>[E, 2, N]</c>.</summary>
    public Tensor WOut { get; }

    /// <summary>Input bias <c>[E, N]</c>.</summary>
    public Tensor BIn { get; }

    /// <summary>Recurrent bias <c>[E, N]</c>.</summary>
    public Tensor BRec { get; }

    /// <summary>Readout bias <c>[E, 2]</c>.</summary>
    public Tensor BOut { get; }

    /// <summary>Every trained tensor, each stacked over the E networks.</summary>
    public IReadOnlyList<Tensor> Parameters => new[] { WIn, WRec, WOut, BIn, BRec, BOut };

    // One network's initial weights, drawn in float64 on the CPU from its own generator (the same numbers on any
    // device): Xavier-uniform U(±√(6/(fan_in + fan_out))) for weights, U(±1/√fan_in) for biases (nn.Linear's default).
    private static Tensor[] Init(long seed, int n)
    {
        var g = new Generator(SplitMix64.Mix((ulong)seed ^ InitTag));
        Tensor Uniform(long[] shape, double bound) => (rand(shape, dtype: ScalarType.Float64, generator: g) * 2 - 1) * bound;
        double Xavier(int fanIn, int fanOut) => Math.Sqrt(6.0 / (fanIn + fanOut));
        var wIn = Uniform(new long[] { n, Inputs }, Xavier(Inputs, n));
        var wRec = Uniform(new long[] { n, n }, Xavier(n, n));
        wRec.diagonal().zero_();  // the authors zero the diagonal once, at init; it is trained afterwards
        var wOut = Uniform(new long[] { Outputs, n }, Xavier(n, Outputs));
        var bIn = Uniform(new long[] { n }, 1 / Math.Sqrt(Inputs));
        var bRec = Uniform(new long[] { n }, 1 / Math.Sqrt(n));
        var bOut = Uniform(new long[] { Outputs }, 1 / Math.Sqrt(n));
        g.Dispose();
        return new[] { wIn, wRec, wOut, bIn, bRec, bOut };
    }

    /// <summary>
    /// Runs every network on the same trials <paramref name="inputs"/> <c>[B, L, 2]</c> with fresh initial rates and
    /// noise from each network's generator, under autograd. Returns the readout pre-activations <c>[E, B, L, 2]</c>
    /// (output t reads the state before input t) and the rates after each step <c>[E, B, L, N]</c>. This is the
    /// reference form; training uses <see cref="Gradients"/>, tested against it.
    /// </summary>
    public (Tensor Readout, Tensor Rates) Forward(Tensor inputs)
    {
        var (x, r0, drive) = Prepare(inputs);
        var recurrentT = WRec.transpose(1, 2);
        var alpha = tensor(_o.Alpha, dtype: Dtype, device: Device);
        long l = x.shape[1];
        var before = new Tensor[l];
        var after = new Tensor[l];
        var r = r0;
        for (int t = 0; t < l; t++)
        {
            before[t] = r;
            // W_in u_t + b + ε + W_rec r (add + bmm: TorchSharp 0.107's baddbmm rejects these shapes, it seems to mix up its arguments)
            var z = (drive.select(2, t) + r.bmm(recurrentT)).tanh();
            r = r.lerp(z, alpha);  // (1 − α) r + α z
            after[t] = r;
        }
        return (Readout(stack(before, 2)), stack(after, 2));
    }

    /// <summary>
    /// Gradients of <paramref name="objective"/> (a scalar function of the readout <c>[E, B, L, 2]</c>, e.g. the sum of
    /// the networks' losses) with respect to <see cref="Parameters"/>, by hand-written backpropagation through time:
    /// the forward loop runs without autograd, autograd gives only the objective's gradient dR with respect to the
    /// readout, and the recurrence is walked back with δ_t = ∂/∂r_t: g_t = α (1 − z_t²) ⊙ δ_{t+1},
    /// δ_t = dR_t W_out + (1 − α) δ_{t+1} + g_t W_rec.
    /// The weight gradients are then one batched product each (∂W_rec = Σ_t g_tᵀ r_t), instead of one small product
    /// and one E·N² accumulation per step as autograd does them; that is most of the backward time at small batches.
    /// Draws the same initial rates and noise as <see cref="Forward"/> would. Returns the readout (detached) and the
    /// gradients in <see cref="Parameters"/> order.
    /// </summary>
    public (Tensor Readout, Tensor[] Grads) Gradients(Tensor inputs, Func<Tensor, Tensor> objective)
    {
        long b = inputs.shape[0], l = inputs.shape[1], n = _o.Hidden, e = Size;
        double alpha = _o.Alpha;
        using var noGrad = no_grad();
        // The recurrence runs over two step-major [E, L, B, N] buffers (88 MB each at E 72, B 32, L 96, N 100): `work`
        // holds the drive, then z_t = tanh(pre_t) in the forward loop, then g_t = ∂/∂pre_t in the backward loop, each
        // overwriting the last in place; `steps` holds r_t. Each step reads and writes one contiguous [B, N] block per
        // network, which stays in cache. The products over all steps (readout, weight gradients) read batch-major
        // copies, so every sum runs in the order of the earlier form, and both give the same numbers bit for bit;
        // the earlier form stacked per-step tensors and let autograd differentiate the readout of the full state
        // tensor: about eight passes over buffers of this size per epoch, where this makes three copies.
        var (x, r0, drive) = Prepare(inputs);
        var work = drive.transpose(1, 2).contiguous();
        drive.Dispose();
        var steps = empty(new[] { e, l, b, n }, dtype: Dtype, device: Device);
        var recurrentT = WRec.transpose(1, 2);
        using var a = tensor(alpha, dtype: Dtype, device: Device);
        // Scalars held for the whole call. TorchSharp's implicit number → Scalar conversions hand libtorch only the
        // native handle, so a garbage collection during the native call can finalize the Scalar under it: long STM runs
        // died twice that way ("Expected false to be true", toFloat at Scalar.h:140, inside this loop's add_).
        using Scalar one = 1.0.ToScalar(), two = 2.0.ToScalar(), alphaS = alpha.ToScalar(), keep = (1 - alpha).ToScalar();
        var r = r0;
        for (int t = 0; t < l; t++)
        {
            steps.select(1, t).copy_(r);
            var z = work.select(1, t).add_(r.bmm(recurrentT), one).tanh_();  // z_t = tanh(drive_t + W_rec r_t)
            if (t < l - 1) r = r.lerp(z, a);                             // (1 − α) r + α z; r_L is never read out
        }
        var states = steps.transpose(1, 2).contiguous();  // [E, B, L, N]
        steps.Dispose();
        var flatStates = states.view(e, b * l, n);
        var readout = Readout(states);

        // The objective's gradient with respect to the readout (small: [E, B, L, 2]) is autograd's; the rest is by hand.
        Tensor dReadout;
        using (enable_grad())
        {
            var leaf = readout.detach().requires_grad_();
            dReadout = autograd.grad(new[] { objective(leaf) }, new[] { leaf })[0];
        }
        var dFlat = dReadout.view(e, b * l, Outputs);
        var gWOut = flatStates.transpose(1, 2).bmm(dFlat).transpose(1, 2);  // (Σ r_tᵀ dR_t)ᵀ, as autograd forms it
        var gBOut = dReadout.sum(new long[] { 1, 2 });
        var delta = zeros(new[] { e, b, n }, dtype: Dtype, device: Device);  // ∂/∂r_L: the last state is never read out
        for (long t = l - 1; t >= 0; t--)
        {
            // g_t = α (1 − z_t²) ⊙ δ_{t+1}, written over z_t
            var g = work.select(1, t).pow_(two).neg_().add_(one, one).mul_(alphaS).mul_(delta);
            // δ_t = dR_t W_out + (1 − α) δ_{t+1} + g_t W_rec
            delta = dReadout.select(2, t).bmm(WOut).add_(delta, keep).add_(g.bmm(WRec), one);
        }
        var gPre = work.transpose(1, 2).contiguous().view(e, b * l, n);              // [E, B·L, N]
        var gPreT = gPre.transpose(1, 2);                                            // [E, N, B·L]
        var gWRec = gPreT.bmm(flatStates);
        var gWIn = x.reshape(b * l, Inputs).t().matmul(gPre).transpose(1, 2);          // [E, N, 2], reading gPre in order
        var gBias = gPre.sum(1);
        return (readout, new[] { gWIn, gWRec, gWOut, gBias, gBias.clone(), gBOut });
    }

    // Inputs in the ensemble's dtype, r₀ [E, B, N] and the input drive W_in u + b_in + b_rec + ε of all steps,
    // [E, B, L, N]. Each network draws r₀ then ε from its own generator; the draws do not depend on E.
    private (Tensor X, Tensor R0, Tensor Drive) Prepare(Tensor inputs)
    {
        long b = inputs.shape[0], l = inputs.shape[1], n = _o.Hidden, e = Size;
        var x = inputs.to(Dtype, Device);
        Tensor r0, noise;
        using (no_grad())
        {
            r0 = stack(_noise.Select(g => (randn(new[] { b, n }, dtype: Dtype, device: Device, generator: g) * _o.InitialRateSigma).tanh()).ToArray());
            noise = stack(_noise.Select(g => randn(new[] { b, l, n }, dtype: Dtype, device: Device, generator: g) * _o.NoiseSigma).ToArray());
        }
        // [1, B·L, 2] @ [E, 2, N] → [E, B·L, N]: one product for all steps.
        var drive = x.reshape(1, b * l, Inputs).matmul(WIn.transpose(1, 2)).view(e, b, l, n)
                    + (BIn + BRec).view(e, 1, 1, n) + noise;
        return (x, r0, drive);
    }

    // Readout pre-activations W_out r + b_out of states [E, B, L, N] → [E, B, L, 2].
    private Tensor Readout(Tensor states)
    {
        long e = states.shape[0], b = states.shape[1], l = states.shape[2], n = states.shape[3];
        return states.reshape(e, b * l, n).bmm(WOut.transpose(1, 2)).view(e, b, l, Outputs) + BOut.view(e, 1, 1, Outputs);
    }

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (var p in Parameters) p.Dispose();
        if (_ownsNoise)
            foreach (var g in _noise) g.Dispose();
    }
}

/// <summary>
/// SGD with momentum and weight decay, written on the stacked tensors so each network has its own learning rate and
/// can be frozen. Per network, as <c>torch.optim.SGD</c> (dampening 0, no Nesterov): g ← ∇ + λ p; v ← μ v + g;
/// p ← p − η_e v.
/// </summary>
public sealed class StackedSgd : IDisposable
{
    private IReadOnlyList<Tensor> _parameters;
    private Tensor[] _velocity;
    private Tensor _lr;
    private readonly double _momentum, _weightDecay;

    /// <summary>Optimises <paramref name="parameters"/> (each <c>[E, ...]</c>) with per-network rates <paramref name="lr"/>.</summary>
    public StackedSgd(IReadOnlyList<Tensor> parameters, IReadOnlyList<double> lr, double momentum, double weightDecay)
    {
        _parameters = parameters;
        _velocity = parameters.Select(p => zeros_like(p).requires_grad_(false)).ToArray();
        _lr = tensor(lr.ToArray(), dtype: parameters[0].dtype, device: parameters[0].device);
        (_momentum, _weightDecay) = (momentum, weightDecay);
    }

    /// <summary>
    /// Keeps only the networks at <paramref name="positions"/> (their velocity and learning rate), now optimising
    /// <paramref name="parameters"/>: the tensors of the matching <see cref="RateRnnEnsemble.Subset"/>.
    /// </summary>
    public void Narrow(long[] positions, IReadOnlyList<Tensor> parameters)
    {
        using var index = tensor(positions, device: _lr.device);
        Tensor Pick(Tensor t)
        {
            var picked = t.index_select(0, index);
            t.Dispose();
            return picked;
        }
        _velocity = _velocity.Select(Pick).ToArray();
        _lr = Pick(_lr);
        _parameters = parameters;
    }

    /// <summary>
    /// Applies one step with <paramref name="grads"/> to the networks where <paramref name="step"/> (bool <c>[E]</c>) is
    /// true; the others keep their weights and velocity exactly.
    /// </summary>
    public void Step(IList<Tensor> grads, Tensor step)
    {
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        using Scalar one = 1.0.ToScalar(), decay = _weightDecay.ToScalar(), momentum = _momentum.ToScalar();  // held: see Gradients
        for (int i = 0; i < _parameters.Count; i++)
        {
            var p = _parameters[i];
            var shape = new long[p.dim()];
            Array.Fill(shape, 1L);
            shape[0] = p.shape[0];
            var mask = step.view(shape);
            var g = grads[i].add(p, decay);
            var v = _velocity[i].mul(momentum).add_(g, one);
            _velocity[i].copy_(where(mask, v, _velocity[i]));
            p.copy_(where(mask, p - _lr.view(shape) * _velocity[i], p));
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (var v in _velocity) v.Dispose();
        _lr.Dispose();
    }
}
