using TorchSharp;
using Xunit.Abstractions;
using Zoo.Layers.LinearMemory;
using static TorchSharp.torch;

namespace Zoo.Tests;

/// <summary>
/// Gated KalmaNet's op, TestTimeRidge: Chunked against the per-token Reference in float64 (outputs, final U and H, every
/// gradient including both initial states'; lengths the chunk does not divide; decays near and at 1; both solvers);
/// with α = 1 and the exact solver the output is the paper's ridge-regression minimiser built from the explicit weighted
/// sums over the past; the Chebyshev iteration converges to the exact solve within its bound; α = 0 is scalar-gated
/// linear attention (GatedDelta, erase off); the key covariance stays symmetric with H + λI positive definite and
/// conditioned within 1 + 1/r over 200 random float32 tokens.
/// </summary>
public sealed class GatedKalmaNetTests(ITestOutputHelper output)
{
    private static readonly string[] Names = { "q", "k", "v", "log_decay", "alpha", "H0", "U0" };

    /// <param name="gate">"random": log γ ∈ (−4, 0); "near1": γ = 1 − 1e-6; "one": γ = 1.</param>
    private static Tensor[] Make(long b, long h, long l, long dk, long dv, ScalarType dtype, string gate, ulong seed)
    {
        var g = new Generator(seed);
        Tensor R(params long[] shape) => randn(shape, dtype: ScalarType.Float64, generator: g);
        var logDecay = gate switch
        {
            "near1" => full(new[] { b, h, l }, Math.Log(1 - 1e-6), dtype: ScalarType.Float64),
            "one" => zeros(new[] { b, h, l }, dtype: ScalarType.Float64),
            _ => -4 * rand(new[] { b, h, l }, dtype: ScalarType.Float64, generator: g).pow(2),
        };
        // Keys as the layer feeds them: L2-normalised, scaled by β + 1e-6.
        var beta = sigmoid(R(b, h, l, 1));
        var k = nn.functional.normalize(R(b, h, l, dk), dim: -1) * beta;
        var a = R(b, h, dk, dk);
        Tensor Leaf(Tensor t) => t.to(dtype).detach().requires_grad_(true);
        return new[]
        {
            Leaf(R(b, h, l, dk) / Math.Sqrt(dk)), Leaf(k), Leaf(R(b, h, l, dv) * beta), Leaf(logDecay),
            Leaf(sigmoid(R(b, h, l))), Leaf(a.matmul(a.transpose(-1, -2)) * 0.1), Leaf(R(b, h, dk, dv) * 0.3),
        };
    }

    private static (Tensor O, Tensor U, Tensor H, Tensor[] Grads) Run(Tensor[] x, bool chunked, int chunk, RidgeSolver solver, int iterations = 30)
    {
        foreach (var t in x) t.grad?.zero_();
        var (o, u, h) = chunked
            ? TestTimeRidge.Chunked(x[0], x[1], x[2], x[3], x[4], x[5], x[6], 0.02, iterations, solver, chunk)
            : TestTimeRidge.Reference(x[0], x[1], x[2], x[3], x[4], x[5], x[6], 0.02, iterations, solver);
        // A loss weighing every entry differently, so no gradient cancels by symmetry.
        Tensor W(Tensor t, double a, double b) => linspace(a, b, t.numel(), dtype: t.dtype).reshape(t.shape);
        ((o * W(o, -1, 1)).sum() + (u * W(u, 1, -0.5)).sum() + (h * W(h, 0.3, -0.7)).sum()).backward();
        return (o.detach(), u.detach(), h.detach(), x.Select(t => t.grad!.clone()).ToArray());
    }

    [Theory]
    [InlineData(37, 16, "random", RidgeSolver.Chebyshev)]
    [InlineData(32, 8, "random", RidgeSolver.Chebyshev)]
    [InlineData(9, 16, "random", RidgeSolver.Chebyshev)]    // shorter than one chunk
    [InlineData(23, 5, "near1", RidgeSolver.Chebyshev)]
    [InlineData(20, 7, "one", RidgeSolver.Chebyshev)]
    [InlineData(29, 6, "random", RidgeSolver.Exact)]
    public void Chunked_equals_reference_in_float64(int length, int chunk, string gate, RidgeSolver solver)
    {
        using var scope = NewDisposeScope();
        var x = Make(2, 3, length, 6, 5, ScalarType.Float64, gate, seed: (ulong)(length * 13 + chunk));
        var (ro, ru, rh, rg) = Run(x, chunked: false, chunk, solver);
        var (co, cu, ch, cg) = Run(x, chunked: true, chunk, solver);
        double dO = TestSupport.MaxAbsDiff(ro, co), dU = TestSupport.MaxAbsDiff(ru, cu), dH = TestSupport.MaxAbsDiff(rh, ch);
        double dG = rg.Zip(cg).Max(p => TestSupport.MaxAbsDiff(p.First, p.Second));
        output.WriteLine($"L {length} C {chunk} {gate} {solver}: |Δo| {dO:E2} |ΔU| {dU:E2} |ΔH| {dH:E2} max |Δgrad| {dG:E2}");
        Assert.True(dO < 1e-10, $"outputs differ by {dO}");
        Assert.True(dU < 1e-10, $"final U differs by {dU}");
        Assert.True(dH < 1e-10, $"final H differs by {dH}");
        for (int i = 0; i < rg.Length; i++)
        {
            Assert.True(rg[i].abs().max().item<double>() > 0, $"grad of {Names[i]} is zero");
            Assert.True(TestSupport.MaxAbsDiff(rg[i], cg[i]) < 1e-9, $"grad of {Names[i]} differs by {TestSupport.MaxAbsDiff(rg[i], cg[i])}");
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void With_alpha_one_and_the_exact_solver_the_output_is_the_ridge_regression_minimiser(bool chunked)
    {
        // S_t = argmin_S λ_t‖S‖² + Σ_{i≤t} η_{t,i} ‖Sᵀk_i − v_i‖², η_{t,i} = exp(Σ_{j=i+1..t} log γ_j), from H_0 = U_0 = 0,
        // built from the explicit weighted sums (no recurrence): S_t = (H_t + λ_t I)⁻¹ U_t, o_t = S_tᵀ q_t.
        using var scope = NewDisposeScope();
        long b = 1, h = 2, l = 11, dk = 4, dv = 3;
        var x = Make(b, h, l, dk, dv, ScalarType.Float64, "random", seed: 21);
        var alpha = ones(b, h, l, dtype: ScalarType.Float64);
        var (h0, u0) = (zeros(b, h, dk, dk, dtype: ScalarType.Float64), zeros(b, h, dk, dv, dtype: ScalarType.Float64));
        var (o, _, _) = chunked
            ? TestTimeRidge.Chunked(x[0], x[1], x[2], x[3], alpha, h0, u0, 0.02, 30, RidgeSolver.Exact, 4)
            : TestTimeRidge.Reference(x[0], x[1], x[2], x[3], alpha, h0, u0, 0.02, 30, RidgeSolver.Exact);
        var worst = 0.0;
        for (int bh = 0; bh < h; bh++)
        for (int t = 0; t < l; t++)
        {
            var ht = zeros(dk, dk, dtype: ScalarType.Float64);
            var ut = zeros(dk, dv, dtype: ScalarType.Float64);
            for (int i = 0; i <= t; i++)
            {
                double eta = Math.Exp(x[3][0, bh, TensorIndex.Slice(i + 1, t + 1)].sum().item<double>());
                var ki = x[1][0, bh, i].detach().unsqueeze(-1);
                ht += eta * ki.matmul(ki.T);
                ut += eta * ki.matmul(x[2][0, bh, i].detach().unsqueeze(0));
            }
            double lambda = 0.02 * ht.pow(2).sum().sqrt().item<double>();
            var s = linalg.solve(ht + lambda * eye(dk, dtype: ScalarType.Float64), ut);
            var expected = s.T.matmul(x[0][0, bh, t].detach());
            worst = Math.Max(worst, TestSupport.MaxAbsDiff(o[0, bh, t].detach(), expected));
        }
        output.WriteLine($"chunked {chunked}: max |o − S_tᵀq_t| {worst:E2}");
        Assert.True(worst < 1e-12, $"outputs differ from the ridge minimiser by {worst}");
    }

    [Fact]
    public void Chebyshev_iteration_converges_to_the_exact_solve_within_its_bound()
    {
        // Eigenvalues of H + λI lie in [λ, λ + ‖H‖_F] with λ = r‖H‖_F, so κ ≤ 1 + 1/r and the error after n steps is
        // at most 2 c^n √κ relative to ‖(H + λI)⁻¹q‖ with c = (√κ − 1)/(√κ + 1).
        using var scope = NewDisposeScope();
        var x = Make(2, 2, 40, 8, 4, ScalarType.Float64, "near1", seed: 5);
        var a = x[1].detach();
        var hs = a.unsqueeze(-1).matmul(a.unsqueeze(-2)).cumsum(2);                 // H_t without decay [B, H, L, K, K]
        var q = x[0].detach();
        var exact = TestTimeRidge.Solve(hs, q, 0.02, 0, RidgeSolver.Exact);
        double kappa = 1 + 1 / 0.02, c = (Math.Sqrt(kappa) - 1) / (Math.Sqrt(kappa) + 1);
        foreach (int n in new[] { 5, 10, 30 })
        {
            var approx = TestTimeRidge.Solve(hs, q, 0.02, n, RidgeSolver.Chebyshev);
            double rel = ((approx - exact).pow(2).sum(-1).sqrt() / exact.pow(2).sum(-1).sqrt()).max().item<double>();
            double bound = 2 * Math.Pow(c, n) * Math.Sqrt(kappa);
            output.WriteLine($"n {n}: max relative error {rel:E2} (bound {bound:E2})");
            Assert.True(rel <= bound, $"n {n}: relative error {rel} above the bound {bound}");
        }
        var converged = TestTimeRidge.Solve(hs, q, 0.02, 200, RidgeSolver.Chebyshev);
        Assert.True(TestSupport.MaxAbsDiff(converged, exact) < 1e-10);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void With_alpha_zero_it_is_scalar_gated_linear_attention(bool chunked)
    {
        // q̃ = q: the read ignores the ridge solve (the reference's num_iter = 0 path is chunk_simple_gla).
        using var scope = NewDisposeScope();
        var x = Make(2, 2, 19, 5, 3, ScalarType.Float64, "random", seed: 8);
        var alpha = zeros_like(x[4]);
        var (o, u, _) = chunked
            ? TestTimeRidge.Chunked(x[0], x[1], x[2], x[3], alpha, x[5], x[6], 0.02, 30, RidgeSolver.Chebyshev, 6)
            : TestTimeRidge.Reference(x[0], x[1], x[2], x[3], alpha, x[5], x[6], 0.02, 30, RidgeSolver.Chebyshev);
        var (go, gu) = GatedDelta.Reference(x[0], x[1], x[2], x[3], ones_like(x[3]), x[6], erase: false);
        Assert.True(TestSupport.MaxAbsDiff(o, go) < 1e-12, $"outputs differ by {TestSupport.MaxAbsDiff(o, go)}");
        Assert.True(TestSupport.MaxAbsDiff(u, gu) < 1e-12, $"states differ by {TestSupport.MaxAbsDiff(u, gu)}");
    }

    [Fact]
    public void The_key_covariance_stays_symmetric_positive_definite_over_200_float32_tokens()
    {
        // Token by token (as Step runs), gates near 1 so H accumulates: H_t symmetric, the eigenvalues of H_t + λ_t I in
        // [λ_t, λ_t + ‖H_t‖_F] (so positive definite with cond ≤ 1 + 1/r), outputs finite.
        using var scope = NewDisposeScope();
        var x = Make(2, 2, 200, 8, 4, ScalarType.Float32, "near1", seed: 9);
        var h = zeros(2, 2, 8, 8);
        var u = zeros(2, 2, 8, 4);
        double worstAsym = 0, worstCond = 0;
        using var noGrad = no_grad();
        for (int t = 0; t < 200; t++)
        {
            var one = TensorIndex.Slice(t, t + 1);
            var (o, u1, h1) = TestTimeRidge.Reference(x[0][.., .., one], x[1][.., .., one], x[2][.., .., one], x[3][.., .., one],
                x[4][.., .., one], h, u, 0.02, 30, RidgeSolver.Chebyshev);
            (h, u) = (h1, u1);
            Assert.True(o.isfinite().all().item<bool>(), $"token {t}: output not finite");
            var fro = h.pow(2).sum(new long[] { -2, -1 }).sqrt();
            worstAsym = Math.Max(worstAsym, ((h - h.transpose(-1, -2)).abs().amax(new long[] { -2, -1 }) / fro).max().item<float>());
            var eig = linalg.eigvalsh(h.to(ScalarType.Float64)) + 0.02 * fro.to(ScalarType.Float64).unsqueeze(-1);
            var lambda = 0.02 * fro.to(ScalarType.Float64);
            Assert.True((eig.amin(new long[] { -1 }) >= lambda * (1 - 1e-3)).all().item<bool>(), $"token {t}: H + λI has an eigenvalue below λ");
            worstCond = Math.Max(worstCond, (eig.amax(new long[] { -1 }) / eig.amin(new long[] { -1 })).max().item<double>());
        }
        output.WriteLine($"max relative asymmetry {worstAsym:E2}, max cond(H + λI) {worstCond:F2} (bound {1 + 1 / 0.02})");
        Assert.True(worstAsym < 1e-6, $"H lost symmetry: {worstAsym}");
        Assert.True(worstCond <= (1 + 1 / 0.02) * (1 + 1e-3), $"cond(H + λI) {worstCond} above 1 + 1/r");
    }
}
