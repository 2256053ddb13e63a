namespace MetaGrad.Functions;

// Inverse, solve, determinants and Cholesky: the LU and Cholesky kernels forward, and backward as
// products, inverses and solves of tensors, so each gradient differentiates again. The public
// checks (square, floating, batch broadcast) live in Linalg; singular inputs are reported here.

/// <summary>
/// A⁻¹ of square matrices [..., n, n] (torch.linalg.inv); with check false a singular matrix does
/// not throw and <see cref="Info"/> says which failed (torch.linalg.inv_ex).
/// </summary>
internal sealed class Inverse(bool check = true) : UnaryFunction
{
    public override string Name => "LinalgInvExBackward0";

    /// <summary>Per matrix of the batch: 0, or the 1-based index of its first zero pivot.</summary>
    public int[] Info { get; private set; } = [];

    protected override Tensor Forward(Context ctx, Tensor a)
    {
        var (raw, info) = a.Backend.LuSolve(a, null);
        Info = info;
        if (check) Singular.ThrowIfAny("linalg.inv", info, a,
            k => $"The diagonal element {k} is zero, the inversion could not be completed because the input matrix is singular.");
        Tensor y = raw;
        ctx.Save(y);
        return y;
    }

    // d(A⁻¹) = −A⁻¹·dA·A⁻¹, so gA = −A⁻ᵀ·G·A⁻ᵀ (the saved output is linked, so this differentiates again).
    protected override Tensor Backward(Context ctx, Tensor grad)
    {
        var yt = ctx.Saved[0].MT;
        return -yt.Matmul(grad).Matmul(yt);
    }
}

/// <summary>X with A·X = B for A [..., n, n] and B [..., n, k] of one batch shape (torch.linalg.solve).</summary>
internal sealed class Solve : BinaryFunction
{
    public override string Name => "LinalgSolveExBackward0";

    protected override Tensor Forward(Context ctx, Tensor a, Tensor b)
    {
        var (raw, info) = a.Backend.LuSolve(a, b);
        Singular.ThrowIfAny("linalg.solve", info, a, _ => "The solver failed because the input matrix is singular.");
        Tensor x = raw;
        ctx.Save(a, x);
        return x;
    }

    // X = A⁻¹B: gB = A⁻ᵀ·G (one more solve, with Aᵀ), gA = −gB·Xᵀ.
    protected override (Tensor?, Tensor?) Backward(Context ctx, Tensor grad)
    {
        var (a, x) = ctx.Saved;
        var gb = Linalg.Solve(a.MT, grad);
        return (ctx.NeedsInputGrad[0] ? -gb.Matmul(x.MT) : null, ctx.NeedsInputGrad[1] ? gb : null);
    }
}

/// <summary>det A of square matrices [..., n, n] (torch.linalg.det): sign·Π diag U of the LU factorization.</summary>
internal sealed class Determinant : UnaryFunction
{
    public override string Name => "LinalgDetBackward0";

    protected override Tensor Forward(Context ctx, Tensor a)
    {
        var (diagonal, sign) = a.Backend.LuDiagonal(a);
        var det = (Tensor)sign * ((Tensor)diagonal).Prod(-1);
        ctx.Save(a, det);
        return det;
    }

    // ∂det/∂A is the cofactor matrix: det·A⁻ᵀ (Jacobi's formula) where A is invertible. A batch
    // holding a singular matrix takes it from the SVD instead, as libtorch does: with A = U·S·Vh,
    // cof(A) = det(U)·det(Vh)·U·diag(Π_{j≠i} s_j)·Vh, which stays finite at a zero singular value.
    protected override Tensor Backward(Context ctx, Tensor grad)
    {
        var (a, det) = ctx.Saved;
        bool singular = (det == 0.0).To(det.DType).Sum().Item() > 0;
        if (!singular) return (grad * det).Unsqueeze(-1).Unsqueeze(-1) * Linalg.Inv(a).MT;
        var (u, s, vh) = Linalg.SVD(a, fullMatrices: false);
        var scale = (grad * Linalg.Det(u) * Linalg.Det(vh)).Unsqueeze(-1);
        return (u * (scale * ProductsOfOthers(s)).Unsqueeze(-2)).Matmul(vh);
    }

    // Π_{j≠i} s_j along the last dim without dividing (s may hold zeros): the running product
    // before i times the running product after i.
    static Tensor ProductsOfOthers(Tensor s)
    {
        int n = s.Shape[^1];
        if (n == 0) return s;
        var one = Tensor.OnesLike(s.Narrow(-1, 0, 1));
        var before = Tensor.Cat([one, s.Narrow(-1, 0, n - 1).Cumprod(-1)], -1);
        var after = Tensor.Cat([s.Narrow(-1, 1, n - 1).Flip(-1).Cumprod(-1).Flip(-1), one], -1);
        return before * after;
    }
}

/// <summary>(sign, log |det A|) of square matrices [..., n, n] (torch.linalg.slogdet).</summary>
internal sealed class SignLogDeterminant : MultiOutputFunction
{
    public override string Name => "LinalgSlogdetBackward0";

    protected override Tensor[] Forward(Context ctx, Tensor[] inputs)
    {
        var a = inputs[0];
        var (rawDiagonal, rawSign) = a.Backend.LuDiagonal(a);
        Tensor diagonal = rawDiagonal, sign = rawSign;
        ctx.Save(a);
        // A zero pivot makes the sign 0 and log |det| −inf, as libtorch.
        return [sign * diagonal.Sign().Prod(-1), diagonal.Abs().Log().Sum(-1)];
    }

    // The sign is piecewise constant; ∂ log|det A|/∂A = A⁻ᵀ.
    protected override Tensor?[] Backward(Context ctx, Tensor?[] grads)
    {
        if (grads[1] is not { } g) return [null];
        return [g.Unsqueeze(-1).Unsqueeze(-1) * Linalg.Inv(ctx.Saved[0]).MT];
    }
}

/// <summary>
/// The lower Cholesky factor L of symmetric positive-definite matrices (torch.linalg.cholesky); with
/// check false a failure does not throw and <see cref="Info"/> says where (torch.linalg.cholesky_ex).
/// </summary>
internal sealed class CholeskyFactor(bool check = true) : UnaryFunction
{
    public override string Name => "LinalgCholeskyExBackward0";

    /// <summary>Per matrix of the batch: 0, or the order of its first leading minor that is not positive-definite.</summary>
    public int[] Info { get; private set; } = [];

    protected override Tensor Forward(Context ctx, Tensor a)
    {
        var (raw, info) = a.Backend.Cholesky(a);
        Info = info;
        if (check) Singular.ThrowIfAny("linalg.cholesky", info, a, k =>
            $"The factorization could not be completed because the input is not positive-definite (the leading minor of order {k} is not positive-definite).");
        Tensor l = raw;
        ctx.Save(l);
        return l;
    }

    // A = L·Lᵀ: with Φ = tril(Lᵀ·G) and its diagonal halved, symmetrised, gA = L⁻ᵀ·Φ·L⁻¹ (as
    // libtorch's cholesky_backward; only the lower triangle of G matters, Lᵀ·triu(G, 1) being upper).
    protected override Tensor Backward(Context ctx, Tensor grad)
    {
        var l = ctx.Saved[0];
        var phi = l.MT.Matmul(grad).Tril();
        phi = 0.5 * (phi + phi.Tril(-1).MT);
        var inverse = Linalg.Inv(l);
        return inverse.MT.Matmul(phi).Matmul(inverse);
    }
}

/// <summary>The errors of a factorization that failed on some matrix of the batch, worded as libtorch's.</summary>
internal static class Singular
{
    public static void ThrowIfAny(string op, int[] info, Tensor a, Func<int, string> reason)
    {
        int e = Array.FindIndex(info, i => i != 0);
        if (e < 0) return;
        // libtorch names the batch element only for a batch.
        string where = a.NDim > 2 ? $"(Batch element {e}): " : "";
        throw new ArgumentException($"{op}: {where}{reason(info[e])}");
    }
}
