namespace Zoo.Core.Numerics;

/// <summary>How <see cref="LevenbergMarquardt.Minimize"/> ended: MINPACK's <c>info</c> codes.</summary>
public enum LmStop
{
    /// <summary>1: the relative reduction of the sum of squares is at most <c>ftol</c>.</summary>
    SumOfSquares = 1,
    /// <summary>2: the relative change of x is at most <c>xtol</c>.</summary>
    Step = 2,
    /// <summary>3: both 1 and 2.</summary>
    Both = 3,
    /// <summary>4: the residuals are orthogonal to the Jacobian's columns (gradient zero).</summary>
    Gradient = 4,
    /// <summary>5: the evaluation budget ran out.</summary>
    Budget = 5,
    /// <summary>6–8: a tolerance is too small to make further progress.</summary>
    TooSmallFtol = 6,
    /// <summary>7: no further improvement of x is possible at machine precision.</summary>
    TooSmallXtol = 7,
    /// <summary>8: the gradient is zero to machine precision.</summary>
    TooSmallGtol = 8,
}

/// <summary>The result of <see cref="LevenbergMarquardt.Minimize"/>.</summary>
/// <param name="X">The last accepted parameters.</param>
/// <param name="Stop">Why it stopped. scipy's <c>curve_fit</c> accepts 1–4 and raises otherwise.</param>
/// <param name="Evaluations">Residual evaluations, Jacobian columns included.</param>
public sealed record LmResult(double[] X, LmStop Stop, int Evaluations)
{
    /// <summary>Whether scipy's <c>curve_fit</c> would return this fit rather than raise "optimal parameters not found".</summary>
    public bool Converged => Stop is LmStop.SumOfSquares or LmStop.Step or LmStop.Both or LmStop.Gradient;
}

/// <summary>
/// Unbounded nonlinear least squares by MINPACK's <c>lmdif</c> (Moré 1978): Levenberg–Marquardt with a trust region
/// scaled by the Jacobian's column norms, the Jacobian by forward differences. It is a local method, so where it ends
/// depends on its path; this is a step-for-step port (QR with column pivoting, Givens solves, the same step-bound rules,
/// MINPACK's overflow-safe norm) so that a fit started where scipy's <c>curve_fit</c> starts ends where scipy's ends:
/// <c>curve_fit</c> without bounds calls <c>lmdif</c> with these defaults. Used to reproduce published fits made that
/// way (the short-term-memory study's critical points); a global search answers a different question on noisy data.
/// </summary>
public static class LevenbergMarquardt
{
    private const double Eps = 2.220446049250313e-16;     // machine epsilon (DBL_EPSILON)
    private const double Dwarf = 2.2250738585072014e-308;                       // smallest normal double

    /// <summary>
    /// Minimises Σ rᵢ(x)² from <paramref name="start"/>. Defaults are scipy's <c>leastsq</c>: ftol = xtol = 1.49012e-8,
    /// gtol 0, 200 (n + 1) evaluations, step bound factor 100.
    /// </summary>
    public static LmResult Minimize(Func<double[], double[]> residuals, double[] start,
        double ftol = 1.49012e-8, double xtol = 1.49012e-8, int maxEvaluations = 0, double factor = 100)
    {
        var x = (double[])start.Clone();
        int n = x.Length;
        if (maxEvaluations <= 0) maxEvaluations = 200 * (n + 1);
        var fvec = residuals(x);
        int m = fvec.Length, nfev = 1;
        if (m < n) throw new ArgumentException($"{m} residuals for {n} parameters: least squares needs at least as many");
        double fnorm = Norm(fvec), par = 0, delta = 0, xnorm = 0;
        var diag = new double[n];
        double h0 = Math.Sqrt(Eps);
        for (int iter = 1; ; )
        {
            // Forward-difference Jacobian, column j from a step of √ε |x_j|.
            var a = new double[m, n];
            for (int j = 0; j < n; j++)
            {
                double keep = x[j], h = h0 * Math.Abs(keep);
                if (h == 0) h = h0;
                x[j] = keep + h;
                var shifted = residuals(x);
                x[j] = keep;
                for (int i = 0; i < m; i++) a[i, j] = (shifted[i] - fvec[i]) / h;
            }
            nfev += n;
            var (ipvt, rdiag, acnorm) = QrFactor(a);
            if (iter == 1)
            {
                for (int j = 0; j < n; j++) diag[j] = acnorm[j] == 0 ? 1 : acnorm[j];
                xnorm = Norm(Scaled(diag, x));
                delta = factor * xnorm;
                if (delta == 0) delta = factor;
            }
            // Qᵀ f (its first n entries) and R with its diagonal restored.
            var wa4 = (double[])fvec.Clone();
            var qtf = new double[n];
            for (int j = 0; j < n; j++)
            {
                if (a[j, j] != 0)
                {
                    double sum = 0;
                    for (int i = j; i < m; i++) sum += a[i, j] * wa4[i];
                    double t = -sum / a[j, j];
                    for (int i = j; i < m; i++) wa4[i] += a[i, j] * t;
                }
                a[j, j] = rdiag[j];
                qtf[j] = wa4[j];
            }
            var r = new double[n, n];
            for (int i = 0; i < n; i++)
                for (int j = 0; j < n; j++) r[i, j] = a[i, j];
            double gnorm = 0;
            if (fnorm != 0)
                for (int j = 0; j < n; j++)
                {
                    int l = ipvt[j];
                    if (acnorm[l] == 0) continue;
                    double sum = 0;
                    for (int i = 0; i <= j; i++) sum += r[i, j] * (qtf[i] / fnorm);
                    gnorm = Math.Max(gnorm, Math.Abs(sum / acnorm[l]));
                }
            if (gnorm <= 0) return new LmResult(x, LmStop.Gradient, nfev);  // gtol = 0
            for (int j = 0; j < n; j++) diag[j] = Math.Max(diag[j], acnorm[j]);

            while (true)
            {
                var step = Parameter(r, ipvt, diag, qtf, delta, ref par);
                var trial = new double[n];
                for (int j = 0; j < n; j++) { step[j] = -step[j]; trial[j] = x[j] + step[j]; }
                double pnorm = Norm(Scaled(diag, step));
                if (iter == 1) delta = Math.Min(delta, pnorm);
                var ftrial = residuals(trial);
                nfev++;
                double fnorm1 = Norm(ftrial);
                // Scaled actual and predicted reductions; a NaN norm (MINPACK's norm of two infinite residuals) counts
                // as "no reduction" without forcing the smallest step-bound cut, as in MINPACK.
                double actred = 0.1 * fnorm1 < fnorm ? 1 - (fnorm1 / fnorm) * (fnorm1 / fnorm) : -1;
                var jp = new double[n];
                for (int j = 0; j < n; j++)
                {
                    double t = step[ipvt[j]];
                    for (int i = 0; i <= j; i++) jp[i] += r[i, j] * t;
                }
                double t1 = Norm(jp) / fnorm, t2 = Math.Sqrt(par) * pnorm / fnorm;
                double prered = t1 * t1 + t2 * t2 / 0.5, dirder = -(t1 * t1 + t2 * t2);
                double ratio = prered != 0 ? actred / prered : 0;
                if (ratio <= 0.25)
                {
                    double t = actred >= 0 ? 0.5 : 0.5 * dirder / (dirder + 0.5 * actred);
                    if (0.1 * fnorm1 >= fnorm || t < 0.1) t = 0.1;
                    delta = t * Math.Min(delta, pnorm / 0.1);
                    par /= t;
                }
                else if (par == 0 || ratio >= 0.75)
                {
                    delta = pnorm / 0.5;
                    par *= 0.5;
                }
                if (ratio >= 1e-4)
                {
                    x = trial;
                    fvec = ftrial;
                    xnorm = Norm(Scaled(diag, x));
                    fnorm = fnorm1;
                    iter++;
                }
                bool reduced = Math.Abs(actred) <= ftol && prered <= ftol && 0.5 * ratio <= 1;
                bool small = delta <= xtol * xnorm;
                if (reduced || small) return new LmResult(x, reduced && small ? LmStop.Both : reduced ? LmStop.SumOfSquares : LmStop.Step, nfev);
                if (nfev >= maxEvaluations) return new LmResult(x, LmStop.Budget, nfev);
                if (Math.Abs(actred) <= Eps && prered <= Eps && 0.5 * ratio <= 1) return new LmResult(x, LmStop.TooSmallFtol, nfev);
                if (delta <= Eps * xnorm) return new LmResult(x, LmStop.TooSmallXtol, nfev);
                if (gnorm <= Eps) return new LmResult(x, LmStop.TooSmallGtol, nfev);
                if (ratio >= 1e-4) break;
            }
        }
    }

    private static double[] Scaled(double[] d, double[] v) => d.Zip(v, (p, q) => p * q).ToArray();

    /// <summary>
    /// MINPACK's <c>enorm</c>: the Euclidean norm, accumulated in three ranges so it neither overflows nor underflows.
    /// Kept exactly, because its answer for infinite entries (∞ for one, NaN for two or more) steers the step bound.
    /// </summary>
    public static double Norm(IReadOnlyList<double> v)
    {
        const double rdwarf = 3.834e-20, rgiant = 1.304e19;
        double s1 = 0, s2 = 0, s3 = 0, x1max = 0, x3max = 0, agiant = rgiant / v.Count;
        foreach (var value in v)
        {
            double xabs = Math.Abs(value);
            if (xabs > rdwarf && xabs < agiant) s2 += xabs * xabs;
            else if (xabs <= rdwarf)
            {
                if (xabs <= x3max) { if (xabs != 0) s3 += (xabs / x3max) * (xabs / x3max); }
                else { s3 = 1 + s3 * (x3max / xabs) * (x3max / xabs); x3max = xabs; }
            }
            else if (xabs <= x1max) s1 += (xabs / x1max) * (xabs / x1max);
            else { s1 = 1 + s1 * (x1max / xabs) * (x1max / xabs); x1max = xabs; }
        }
        if (s1 != 0) return x1max * Math.Sqrt(s1 + (s2 / x1max) / x1max);
        if (s2 == 0) return x3max * Math.Sqrt(s3);
        return s2 >= x3max ? Math.Sqrt(s2 * (1 + (x3max / s2) * (x3max * s3))) : Math.Sqrt(x3max * ((s2 / x3max) + (x3max * s3)));
    }

    // MINPACK's qrfac with pivoting: Householder QR of a (in place: the vectors below and on the diagonal, R above),
    // the permutation, R's diagonal and the column norms of the original a.
    private static (int[] Ipvt, double[] Rdiag, double[] Acnorm) QrFactor(double[,] a)
    {
        int m = a.GetLength(0), n = a.GetLength(1);
        var acnorm = new double[n];
        for (int j = 0; j < n; j++) acnorm[j] = Norm(Column(a, j, 0));
        var rdiag = (double[])acnorm.Clone();
        var wa = (double[])acnorm.Clone();
        var ipvt = Enumerable.Range(0, n).ToArray();
        for (int j = 0; j < Math.Min(m, n); j++)
        {
            int kmax = j;
            for (int k = j; k < n; k++) if (rdiag[k] > rdiag[kmax]) kmax = k;
            if (kmax != j)
            {
                for (int i = 0; i < m; i++) (a[i, j], a[i, kmax]) = (a[i, kmax], a[i, j]);
                rdiag[kmax] = rdiag[j];
                wa[kmax] = wa[j];
                (ipvt[j], ipvt[kmax]) = (ipvt[kmax], ipvt[j]);
            }
            double ajnorm = Norm(Column(a, j, j));
            if (ajnorm != 0)
            {
                if (a[j, j] < 0) ajnorm = -ajnorm;
                for (int i = j; i < m; i++) a[i, j] /= ajnorm;
                a[j, j] += 1;
                for (int k = j + 1; k < n; k++)
                {
                    double sum = 0;
                    for (int i = j; i < m; i++) sum += a[i, j] * a[i, k];
                    double t = sum / a[j, j];
                    for (int i = j; i < m; i++) a[i, k] -= t * a[i, j];
                    if (rdiag[k] != 0)
                    {
                        t = a[j, k] / rdiag[k];
                        rdiag[k] *= Math.Sqrt(Math.Max(0, 1 - t * t));
                        if (0.05 * (rdiag[k] / wa[k]) * (rdiag[k] / wa[k]) <= Eps)
                        {
                            rdiag[k] = Norm(Column(a, k, j + 1));
                            wa[k] = rdiag[k];
                        }
                    }
                }
            }
            rdiag[j] = -ajnorm;
        }
        return (ipvt, rdiag, acnorm);
    }

    private static double[] Column(double[,] a, int j, int from)
    {
        var c = new double[a.GetLength(0) - from];
        for (int i = from; i < a.GetLength(0); i++) c[i - from] = a[i, j];
        return c;
    }

    // MINPACK's lmpar: the Levenberg–Marquardt parameter par for which the scaled step ‖D x‖ is within 10% of delta
    // (or par = 0 when the Gauss–Newton step already fits), at most 10 Newton iterations; returns the step x.
    private static double[] Parameter(double[,] r, int[] ipvt, double[] diag, double[] qtb, double delta, ref double par)
    {
        int n = diag.Length, nsing = n;
        var wa1 = (double[])qtb.Clone();
        for (int j = 0; j < n; j++)
        {
            if (r[j, j] == 0 && nsing == n) nsing = j;
            if (nsing < n) wa1[j] = 0;
        }
        for (int j = nsing - 1; j >= 0; j--)
        {
            wa1[j] /= r[j, j];
            for (int i = 0; i < j; i++) wa1[i] -= r[i, j] * wa1[j];
        }
        var x = new double[n];
        for (int j = 0; j < n; j++) x[ipvt[j]] = wa1[j];
        var wa2 = Scaled(diag, x);
        double dxnorm = Norm(wa2), fp = dxnorm - delta;
        if (fp <= 0.1 * delta) { par = 0; return x; }

        double parl = 0;
        if (nsing >= n)
        {
            for (int j = 0; j < n; j++) wa1[j] = diag[ipvt[j]] * (wa2[ipvt[j]] / dxnorm);
            for (int j = 0; j < n; j++)
            {
                double sum = 0;
                for (int i = 0; i < j; i++) sum += r[i, j] * wa1[i];
                wa1[j] = (wa1[j] - sum) / r[j, j];
            }
            double t = Norm(wa1);
            parl = fp / delta / t / t;
        }
        for (int j = 0; j < n; j++)
        {
            double sum = 0;
            for (int i = 0; i <= j; i++) sum += r[i, j] * qtb[i];
            wa1[j] = sum / diag[ipvt[j]];
        }
        double gnorm = Norm(wa1), paru = gnorm / delta;
        if (paru == 0) paru = Dwarf / Math.Min(delta, 0.1);
        par = Math.Min(Math.Max(par, parl), paru);
        if (par == 0) par = gnorm / dxnorm;
        for (int iter = 1; ; iter++)
        {
            if (par == 0) par = Math.Max(Dwarf, 0.001 * paru);
            double sp = Math.Sqrt(par);
            var (step, sdiag, s) = Solve(r, ipvt, diag.Select(d => sp * d).ToArray(), qtb);
            x = step;
            wa2 = Scaled(diag, x);
            dxnorm = Norm(wa2);
            double previous = fp;
            fp = dxnorm - delta;
            if (Math.Abs(fp) <= 0.1 * delta || (parl == 0 && fp <= previous && previous < 0) || iter == 10) return x;
            // Newton correction from S (Sᵀ S = Pᵀ (JᵀJ + par D²) P).
            for (int j = 0; j < n; j++) wa1[j] = diag[ipvt[j]] * (wa2[ipvt[j]] / dxnorm);
            for (int j = 0; j < n; j++)
            {
                wa1[j] /= sdiag[j];
                for (int i = j + 1; i < n; i++) wa1[i] -= s[i, j] * wa1[j];
            }
            double t = Norm(wa1), parc = fp / delta / t / t;
            if (fp > 0) parl = Math.Max(parl, par);
            if (fp < 0) paru = Math.Min(paru, par);
            par = Math.Max(parl, par + parc);
        }
    }

    // MINPACK's qrsolv: solves [R; D] z ≈ [Qᵀb; 0] in the least-squares sense by Givens rotations that eliminate the
    // diagonal D from R. Returns z, the diagonal of S and S's strict lower triangle (in the returned matrix).
    private static (double[] X, double[] Sdiag, double[,] S) Solve(double[,] rIn, int[] ipvt, double[] diag, double[] qtb)
    {
        int n = diag.Length;
        var r = (double[,])rIn.Clone();
        var x = new double[n];
        var wa = (double[])qtb.Clone();
        var sdiag = new double[n];
        for (int j = 0; j < n; j++)
        {
            for (int i = j; i < n; i++) r[i, j] = r[j, i];
            x[j] = r[j, j];
        }
        for (int j = 0; j < n; j++)
        {
            int l = ipvt[j];
            if (diag[l] != 0)
            {
                for (int k = j; k < n; k++) sdiag[k] = 0;
                sdiag[j] = diag[l];
                double qtbpj = 0;
                for (int k = j; k < n; k++)
                {
                    if (sdiag[k] == 0) continue;
                    double cos, sin;
                    if (Math.Abs(r[k, k]) >= Math.Abs(sdiag[k]))
                    {
                        double tan = sdiag[k] / r[k, k];
                        cos = 0.5 / Math.Sqrt(0.25 + 0.25 * tan * tan);
                        sin = cos * tan;
                    }
                    else
                    {
                        double cotan = r[k, k] / sdiag[k];
                        sin = 0.5 / Math.Sqrt(0.25 + 0.25 * cotan * cotan);
                        cos = sin * cotan;
                    }
                    r[k, k] = cos * r[k, k] + sin * sdiag[k];
                    double t = cos * wa[k] + sin * qtbpj;
                    qtbpj = -sin * wa[k] + cos * qtbpj;
                    wa[k] = t;
                    for (int i = k + 1; i < n; i++)
                    {
                        t = cos * r[i, k] + sin * sdiag[i];
                        sdiag[i] = -sin * r[i, k] + cos * sdiag[i];
                        r[i, k] = t;
                    }
                }
            }
            sdiag[j] = r[j, j];
            r[j, j] = x[j];
        }
        int nsing = n;
        for (int j = 0; j < n; j++)
        {
            if (sdiag[j] == 0 && nsing == n) nsing = j;
            if (nsing < n) wa[j] = 0;
        }
        for (int j = nsing - 1; j >= 0; j--)
        {
            double sum = 0;
            for (int i = j + 1; i < nsing; i++) sum += r[i, j] * wa[i];
            wa[j] = (wa[j] - sum) / sdiag[j];
        }
        var z = new double[n];
        for (int j = 0; j < n; j++) z[ipvt[j]] = wa[j];
        return (z, sdiag, r);
    }
}
