namespace MetaGrad.Backends.Cpu;

// LU, Cholesky, QR, symmetric eigen- and singular value decompositions, one matrix of the batch at
// a time. Every matrix is read into doubles and factored there, so float32 inputs accumulate in
// double (the rounding happens once, on the way out); these are reference loops, O(n³) per matrix.
internal sealed partial class CpuBackend
{
    // x [..., m, n] as row-major doubles, with the number of matrices.
    static (double[] Values, int Count) Matrices(RawTensor x)
    {
        var s = x.Layout.Shape;
        int count = 1;
        for (int d = 0; d < s.Length - 2; d++) count *= s[d];
        var c = CastTo<double>(x);
        return (Data<double>(c).AsSpan(0, x.Numel).ToArray(), count);
    }

    // Doubles of this shape, returned in the dtype of the input they came from.
    RawTensor Shaped(double[] values, int[] shape, DType dtype)
    {
        var r = FromArray(values, shape);
        return dtype == DType.Float64 ? r : Cast(r, dtype);
    }

    static int[] BatchShape(RawTensor x) => x.Layout.Shape[..^2];

    public (RawTensor Diagonal, RawTensor Sign) LuDiagonal(RawTensor a)
    {
        var (v, count) = Matrices(a);
        int n = a.Layout.Shape[^1];
        var diagonal = new double[count * n];
        var sign = new double[count];
        var pivots = new int[n];
        for (int b = 0; b < count; b++)
        {
            var m = v.AsSpan(b * n * n, n * n);
            (int s, _) = LuInPlace(m, n, pivots);
            sign[b] = s;
            for (int i = 0; i < n; i++) diagonal[b * n + i] = m[i * n + i];
        }
        return (Shaped(diagonal, [.. BatchShape(a), n], a.DType), Shaped(sign, BatchShape(a), a.DType));
    }

    public (RawTensor X, int[] Info) LuSolve(RawTensor a, RawTensor? b)
    {
        var (v, count) = Matrices(a);
        int n = a.Layout.Shape[^1];
        int k = b is { } bb ? bb.Layout.Shape[^1] : n;
        double[] x;
        if (b is { } rhs) x = Matrices(rhs).Values;
        else
        {
            x = new double[count * n * n];
            for (int i = 0; i < count * n; i++) x[i * n + i % n] = 1;   // one identity per matrix
        }
        var info = new int[count];
        var pivots = new int[n];
        for (int e = 0; e < count; e++)
        {
            var m = v.AsSpan(e * n * n, n * n);
            var y = x.AsSpan(e * n * k, n * k);
            (_, info[e]) = LuInPlace(m, n, pivots);
            if (info[e] != 0) continue;
            for (int r = 0; r < n; r++)                    // the row swaps, in the order they were made
                if (pivots[r] != r)
                    for (int j = 0; j < k; j++) (y[r * k + j], y[pivots[r] * k + j]) = (y[pivots[r] * k + j], y[r * k + j]);
            for (int r = 1; r < n; r++)                    // L (unit diagonal) forward
                for (int c = 0; c < r; c++)
                {
                    double l = m[r * n + c];
                    if (l != 0) for (int j = 0; j < k; j++) y[r * k + j] -= l * y[c * k + j];
                }
            for (int r = n - 1; r >= 0; r--)               // U backward
            {
                for (int c = r + 1; c < n; c++)
                {
                    double u = m[r * n + c];
                    if (u != 0) for (int j = 0; j < k; j++) y[r * k + j] -= u * y[c * k + j];
                }
                double d = m[r * n + r];
                for (int j = 0; j < k; j++) y[r * k + j] /= d;
            }
        }
        return (Shaped(x, [.. BatchShape(a), n, k], a.DType), info);
    }

    public (RawTensor LU, RawTensor Pivots, int[] Info) LuFactor(RawTensor a)
    {
        var (v, count) = Matrices(a);
        int rows = a.Layout.Shape[^2], cols = a.Layout.Shape[^1], k = Math.Min(rows, cols);
        var pivots = new int[count * k];
        var info = new int[count];
        var steps = new int[k];
        for (int b = 0; b < count; b++)
        {
            (_, info[b]) = LuInPlace(v.AsSpan(b * rows * cols, rows * cols), rows, cols, steps);
            for (int i = 0; i < k; i++) pivots[b * k + i] = steps[i] + 1;
        }
        return (Shaped(v, a.Layout.Shape.ToArray(), a.DType), FromArray(pivots, [.. BatchShape(a), k]), info);
    }

    static (int Sign, int Info) LuInPlace(Span<double> m, int n, Span<int> pivots) => LuInPlace(m, n, n, pivots);

    // L and U in place of m [rows, cols] (L's unit diagonal implied), pivots[k] the row swapped
    // with row k at step k, for min(rows, cols) steps. Returns the permutation's sign and LAPACK's
    // info: 0, or the 1-based index of the first exactly zero pivot (that column is skipped and
    // the factorization goes on).
    static (int Sign, int Info) LuInPlace(Span<double> m, int rows, int cols, Span<int> pivots)
    {
        int sign = 1, info = 0;
        for (int k = 0; k < Math.Min(rows, cols); k++)
        {
            int p = k;
            double best = Math.Abs(m[k * cols + k]);
            for (int i = k + 1; i < rows; i++)
                if (Math.Abs(m[i * cols + k]) > best) (p, best) = (i, Math.Abs(m[i * cols + k]));
            pivots[k] = p;
            if (best == 0)
            {
                if (info == 0) info = k + 1;
                continue;
            }
            if (p != k)
            {
                for (int j = 0; j < cols; j++) (m[k * cols + j], m[p * cols + j]) = (m[p * cols + j], m[k * cols + j]);
                sign = -sign;
            }
            double inverse = 1 / m[k * cols + k];
            for (int i = k + 1; i < rows; i++)
            {
                double l = m[i * cols + k] *= inverse;
                if (l != 0) for (int j = k + 1; j < cols; j++) m[i * cols + j] -= l * m[k * cols + j];
            }
        }
        return (sign, info);
    }

    public (RawTensor L, int[] Info) Cholesky(RawTensor a)
    {
        var (v, count) = Matrices(a);
        int n = a.Layout.Shape[^1];
        var l = new double[v.Length];
        var info = new int[count];
        for (int e = 0; e < count; e++)
        {
            int o = e * n * n;
            for (int j = 0; j < n && info[e] == 0; j++)
            {
                double d = v[o + j * n + j];
                for (int k = 0; k < j; k++) d -= l[o + j * n + k] * l[o + j * n + k];
                if (!(d > 0)) { info[e] = j + 1; break; }   // NaN fails too
                double root = Math.Sqrt(d);
                l[o + j * n + j] = root;
                for (int i = j + 1; i < n; i++)
                {
                    double s = v[o + i * n + j];
                    for (int k = 0; k < j; k++) s -= l[o + i * n + k] * l[o + j * n + k];
                    l[o + i * n + j] = s / root;
                }
            }
        }
        return (Shaped(l, a.Layout.Shape, a.DType), info);
    }

    public (RawTensor Q, RawTensor R) Qr(RawTensor a, bool complete)
    {
        var (v, count) = Matrices(a);
        int m = a.Layout.Shape[^2], n = a.Layout.Shape[^1], k = Math.Min(m, n), qCols = complete ? m : k;
        int rRows = complete ? m : k;                      // complete: R has m rows, zero below the first k
        var q = new double[count * m * qCols];
        var r = new double[count * rRows * n];
        var u = new double[m];
        var reflectors = new double[k * m];
        var taus = new double[k];
        for (int e = 0; e < count; e++)
        {
            var w = v.AsSpan(e * m * n, m * n);
            for (int c = 0; c < k; c++)
            {
                // The reflector H = I - τ·u·uᵀ (u[c] = 1) that maps column c below the diagonal to
                // β·e_c, β = -sign(α)·‖x‖ as LAPACK's larfg; a column already zero below needs none (τ = 0).
                double alpha = w[c * n + c], tail = 0;
                for (int i = c + 1; i < m; i++) tail += w[i * n + c] * w[i * n + c];
                double tau = 0;
                Array.Clear(u);
                u[c] = 1;
                if (tail > 0)
                {
                    double norm = Math.Sqrt(alpha * alpha + tail);
                    double beta = alpha >= 0 ? -norm : norm;
                    tau = (beta - alpha) / beta;
                    for (int i = c + 1; i < m; i++) u[i] = w[i * n + c] / (alpha - beta);
                    for (int j = c; j < n; j++)
                    {
                        double dot = 0;
                        for (int i = c; i < m; i++) dot += u[i] * w[i * n + j];
                        dot *= tau;
                        for (int i = c; i < m; i++) w[i * n + j] -= dot * u[i];
                    }
                    w[c * n + c] = beta;
                    for (int i = c + 1; i < m; i++) w[i * n + c] = 0;
                }
                taus[c] = tau;
                u.AsSpan().CopyTo(reflectors.AsSpan(c * m, m));
            }
            var rOut = r.AsSpan(e * rRows * n, rRows * n);
            for (int i = 0; i < k; i++)
                for (int j = i; j < n; j++) rOut[i * n + j] = w[i * n + j];
            // Q = H₀·H₁·…·H_{k-1} applied to the first qCols columns of the identity, last reflector first.
            var qOut = q.AsSpan(e * m * qCols, m * qCols);
            for (int i = 0; i < Math.Min(m, qCols); i++) qOut[i * qCols + i] = 1;
            for (int c = k - 1; c >= 0; c--)
            {
                if (taus[c] == 0) continue;
                var h = reflectors.AsSpan(c * m, m);
                for (int j = 0; j < qCols; j++)
                {
                    double dot = 0;
                    for (int i = c; i < m; i++) dot += h[i] * qOut[i * qCols + j];
                    dot *= taus[c];
                    for (int i = c; i < m; i++) qOut[i * qCols + j] -= dot * h[i];
                }
            }
        }
        var batch = BatchShape(a);
        return (Shaped(q, [.. batch, m, qCols], a.DType), Shaped(r, [.. batch, rRows, n], a.DType));
    }

    public (RawTensor Values, RawTensor Vectors) Eigh(RawTensor a)
    {
        var (v, count) = Matrices(a);
        int n = a.Layout.Shape[^1];
        var values = new double[count * n];
        var vectors = new double[count * n * n];
        var s = new double[n * n];
        var z = new double[n * n];
        for (int e = 0; e < count; e++)
        {
            var src = v.AsSpan(e * n * n, n * n);
            for (int i = 0; i < n; i++)                    // the lower triangle, mirrored (UPLO = 'L')
                for (int j = 0; j <= i; j++) s[i * n + j] = s[j * n + i] = src[i * n + j];
            Array.Clear(z);
            for (int i = 0; i < n; i++) z[i * n + i] = 1;
            JacobiEigen(s, z, n);
            var order = Enumerable.Range(0, n).OrderBy(i => s[i * n + i]).ToArray();
            for (int c = 0; c < n; c++)
            {
                values[e * n + c] = s[order[c] * n + order[c]];
                for (int i = 0; i < n; i++) vectors[e * n * n + i * n + c] = z[i * n + order[c]];
            }
        }
        var batch = BatchShape(a);
        return (Shaped(values, [.. batch, n], a.DType), Shaped(vectors, [.. batch, n, n], a.DType));
    }

    // Cyclic Jacobi: rotations Pᵀ·S·P that zero one off-diagonal pair at a time (Rutishauser's
    // formulas, the smaller rotation angle), accumulated in Z, until the off-diagonal part is
    // below rounding relative to the whole matrix.
    static void JacobiEigen(double[] s, double[] z, int n)
    {
        double total = 0;
        foreach (var x in s.AsSpan(0, n * n)) total += x * x;
        for (int sweep = 0; sweep < 100; sweep++)
        {
            double off = 0;
            for (int p = 0; p < n; p++)
                for (int q = p + 1; q < n; q++) off += s[p * n + q] * s[p * n + q];
            if (off <= 1e-34 * total || off == 0) return;
            for (int p = 0; p < n; p++)
                for (int q = p + 1; q < n; q++)
                {
                    double apq = s[p * n + q];
                    if (apq == 0) continue;
                    double theta = (s[q * n + q] - s[p * n + p]) / (2 * apq);
                    double t = (theta >= 0 ? 1 : -1) / (Math.Abs(theta) + Math.Sqrt(theta * theta + 1));
                    if (double.IsInfinity(theta)) t = 0.5 / theta;
                    double c = 1 / Math.Sqrt(t * t + 1), sn = t * c;
                    Rotate(s, n, p, q, c, sn, columns: true);
                    Rotate(s, n, p, q, c, sn, columns: false);
                    Rotate(z, n, p, q, c, sn, columns: true);
                    s[p * n + q] = s[q * n + p] = 0;
                }
        }
    }

    // Columns (or rows) p and q of the n×n matrix x become c·p − s·q and s·p + c·q.
    static void Rotate(double[] x, int n, int p, int q, double c, double s, bool columns)
    {
        for (int k = 0; k < n; k++)
        {
            int ip = columns ? k * n + p : p * n + k, iq = columns ? k * n + q : q * n + k;
            double xp = x[ip], xq = x[iq];
            x[ip] = c * xp - s * xq;
            x[iq] = s * xp + c * xq;
        }
    }

    public (RawTensor U, RawTensor S, RawTensor Vh) Svd(RawTensor a)
    {
        var (v, count) = Matrices(a);
        int m = a.Layout.Shape[^2], n = a.Layout.Shape[^1], k = Math.Min(m, n);
        var us = new double[count * m * k];
        var ss = new double[count * k];
        var vhs = new double[count * k * n];
        // A wide matrix is factored through its transpose: Aᵀ = U'·S·V'ᵀ gives A = V'·S·U'ᵀ.
        bool wide = m < n;
        int rows = wide ? n : m, cols = k;
        var w = new double[rows * cols];
        var z = new double[cols * cols];
        for (int e = 0; e < count; e++)
        {
            var src = v.AsSpan(e * m * n, m * n);
            for (int i = 0; i < m; i++)
                for (int j = 0; j < n; j++)
                    if (wide) w[j * cols + i] = src[i * n + j]; else w[i * cols + j] = src[i * n + j];
            Array.Clear(z);
            for (int i = 0; i < cols; i++) z[i * cols + i] = 1;
            var sigma = OneSidedJacobi(w, z, rows, cols);
            var order = Enumerable.Range(0, cols).OrderByDescending(j => sigma[j]).ToArray();
            for (int c = 0; c < k; c++)
            {
                int j = order[c];
                ss[e * k + c] = sigma[j];
                for (int i = 0; i < rows; i++)                 // left vectors of the factored matrix
                {
                    double x = w[i * cols + j];
                    if (wide) vhs[e * k * n + c * n + i] = x; else us[e * m * k + i * k + c] = x;
                }
                for (int i = 0; i < cols; i++)                 // its right vectors
                {
                    double x = z[i * cols + j];
                    if (wide) us[e * m * k + i * k + c] = x; else vhs[e * k * n + c * n + i] = x;
                }
            }
        }
        var batch = BatchShape(a);
        return (Shaped(us, [.. batch, m, k], a.DType), Shaped(ss, [.. batch, k], a.DType), Shaped(vhs, [.. batch, k, n], a.DType));
    }

    // Hestenes' one-sided Jacobi on w [rows, cols] (rows ≥ cols): rotate pairs of columns until all
    // are orthogonal, accumulating the rotations in z; then the column norms are the singular values
    // and the normalised columns the left vectors. This never forms AᵀA, whose condition number is
    // the square of A's. Columns of a zero singular value are completed to an orthonormal set.
    static double[] OneSidedJacobi(double[] w, double[] z, int rows, int cols)
    {
        for (int sweep = 0; sweep < 100; sweep++)
        {
            bool rotated = false;
            for (int p = 0; p < cols; p++)
                for (int q = p + 1; q < cols; q++)
                {
                    double alpha = 0, beta = 0, gamma = 0;
                    for (int i = 0; i < rows; i++)
                    {
                        double wp = w[i * cols + p], wq = w[i * cols + q];
                        alpha += wp * wp; beta += wq * wq; gamma += wp * wq;
                    }
                    if (gamma == 0 || Math.Abs(gamma) <= 1e-16 * Math.Sqrt(alpha * beta)) continue;
                    rotated = true;
                    double zeta = (beta - alpha) / (2 * gamma);
                    double t = (zeta >= 0 ? 1 : -1) / (Math.Abs(zeta) + Math.Sqrt(1 + zeta * zeta));
                    double c = 1 / Math.Sqrt(1 + t * t), s = c * t;
                    RotateColumns(w, rows, cols, p, q, c, s);
                    RotateColumns(z, cols, cols, p, q, c, s);
                }
            if (!rotated) break;
        }
        var sigma = new double[cols];
        for (int j = 0; j < cols; j++)
        {
            double sum = 0;
            for (int i = 0; i < rows; i++) sum += w[i * cols + j] * w[i * cols + j];
            sigma[j] = Math.Sqrt(sum);
        }
        // Normalise first, then complete: completion must see every non-zero column as a unit vector.
        for (int j = 0; j < cols; j++)
            if (sigma[j] > 0) for (int i = 0; i < rows; i++) w[i * cols + j] /= sigma[j];
        for (int j = 0; j < cols; j++)
            if (sigma[j] == 0) CompleteColumn(w, rows, cols, j, sigma);
        return sigma;
    }

    // Column j becomes a unit vector orthogonal to the other columns that are already unit vectors:
    // the first standard basis vector that survives Gram-Schmidt against them.
    static void CompleteColumn(double[] w, int rows, int cols, int j, double[] sigma)
    {
        for (int basis = 0; basis < rows; basis++)
        {
            for (int i = 0; i < rows; i++) w[i * cols + j] = i == basis ? 1 : 0;
            for (int pass = 0; pass < 2; pass++)
                for (int o = 0; o < cols; o++)
                {
                    if (o == j || (sigma[o] == 0 && o > j)) continue;   // later zero columns are not yet completed
                    double dot = 0;
                    for (int i = 0; i < rows; i++) dot += w[i * cols + o] * w[i * cols + j];
                    for (int i = 0; i < rows; i++) w[i * cols + j] -= dot * w[i * cols + o];
                }
            double norm = 0;
            for (int i = 0; i < rows; i++) norm += w[i * cols + j] * w[i * cols + j];
            norm = Math.Sqrt(norm);
            if (norm < 1e-8) continue;
            for (int i = 0; i < rows; i++) w[i * cols + j] /= norm;
            return;
        }
    }

    static void RotateColumns(double[] x, int rows, int cols, int p, int q, double c, double s)
    {
        for (int i = 0; i < rows; i++)
        {
            double xp = x[i * cols + p], xq = x[i * cols + q];
            x[i * cols + p] = c * xp - s * xq;
            x[i * cols + q] = s * xp + c * xq;
        }
    }
}
