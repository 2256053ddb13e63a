namespace MetaGrad.Functions;

// QR, the symmetric eigendecomposition and the SVD: Jacobi and Householder kernels forward, and
// the standard backward formulas written in tensor operations (so they differentiate again).
// Decompositions are defined up to signs of vectors: their gradients are meaningful for losses
// that do not depend on those signs, and the eigen and singular value ones need distinct values.

/// <summary>A = Q·R, Q with orthonormal columns, R upper triangular (torch.linalg.qr).</summary>
internal sealed class QrDecomposition(bool complete) : MultiOutputFunction
{
    public override string Name => "LinalgQrBackward0";

    protected override Tensor[] Forward(Context ctx, Tensor[] inputs)
    {
        var a = inputs[0];
        var (rawQ, rawR) = a.Backend.Qr(a, complete);
        Tensor q = rawQ, r = rawR;
        ctx.Save(a, q, r);
        return [q, r];
    }

    protected override Tensor?[] Backward(Context ctx, Tensor?[] grads)
    {
        var (a, q, r) = ctx.Saved;
        int m = a.Shape[^2], n = a.Shape[^1];
        if (complete && m > n)
            throw new InvalidOperationException("linalg.qr: The QR decomposition is not differentiable when mode='complete' and nrows > ncols.");
        var gq = grads[0] ?? Tensor.ZerosLike(q);
        var gr = grads[1] ?? Tensor.ZerosLike(r);
        if (m >= n) return [Square(q, r, gq, gr)];
        // A wide matrix is [X | Y] with X = Q·R₁ square and R₂ = Qᵀ·Y: Y's gradient is Q·gR₂, and
        // through R₂ Q receives Y·gR₂ᵀ more.
        var y = a.Narrow(-1, m, n - m);
        var gr2 = gr.Narrow(-1, m, n - m);
        var gx = Square(q, r.Narrow(-1, 0, m), gq + y.Matmul(gr2.MT), gr.Narrow(-1, 0, m));
        return [Tensor.Cat([gx, q.Matmul(gr2)], -1)];
    }

    // m ≥ n: M = R·gRᵀ − gQᵀ·Q, gA = (gQ + Q·copyltu(M))·R⁻ᵀ, copyltu(M) the symmetric matrix with
    // M's lower triangle (Liao et al. 2019, "Differentiable programming tensor networks").
    static Tensor Square(Tensor q, Tensor r, Tensor gq, Tensor gr)
    {
        var m = r.Matmul(gr.MT) - gq.MT.Matmul(q);
        var copyltu = m.Tril() + m.Tril(-1).MT;
        var b = gq + q.Matmul(copyltu);
        return Linalg.Solve(r, b.MT).MT;                   // B·R⁻ᵀ = (R⁻¹·Bᵀ)ᵀ
    }
}

/// <summary>Eigenvalues (ascending) and eigenvectors of symmetric matrices (torch.linalg.eigh).</summary>
internal sealed class SymmetricEigen : MultiOutputFunction
{
    public override string Name => "LinalgEighBackward0";

    protected override Tensor[] Forward(Context ctx, Tensor[] inputs)
    {
        var (rawValues, rawVectors) = inputs[0].Backend.Eigh(inputs[0]);
        Tensor values = rawValues, vectors = rawVectors;
        ctx.Save(values, vectors);
        return [values, vectors];
    }

    // gA = V·(diag(gL) + K)·Vᵀ with K = skew(Vᵀ·gV)/2 divided by E, E_ij = λ_j − λ_i: the
    // eigenvector part needs distinct eigenvalues (libtorch's linalg_eig_backward, Hermitian case).
    protected override Tensor?[] Backward(Context ctx, Tensor?[] grads)
    {
        var (values, vectors) = ctx.Saved;
        var (gl, gv) = (grads[0], grads[1]);
        Tensor inner;
        if (gv is null) inner = gl!.DiagEmbed();
        else
        {
            var vhgv = vectors.MT.Matmul(gv);
            var skew = 0.5 * (vhgv - vhgv.MT);
            int n = values.Shape[^1];
            var e = values.Unsqueeze(-2) - values.Unsqueeze(-1) + Tensor.Eye(n, dtype: values.DType);
            inner = skew / e;
            if (gl is not null) inner = inner + gl.DiagEmbed();
        }
        return [vectors.Matmul(inner).Matmul(vectors.MT)];
    }
}

/// <summary>The reduced SVD A = U·diag(S)·Vh (torch.linalg.svd with full_matrices=False).</summary>
internal sealed class SingularValueDecomposition : MultiOutputFunction
{
    public override string Name => "LinalgSvdBackward0";

    protected override Tensor[] Forward(Context ctx, Tensor[] inputs)
    {
        var (rawU, rawS, rawVh) = inputs[0].Backend.Svd(inputs[0]);
        Tensor u = rawU, s = rawS, vh = rawVh;
        ctx.Save(u, s, vh);
        return [u, s, vh];
    }

    // libtorch's svd_backward (real case): with E_ij = S_j² − S_i²,
    //   K = (skew(Uᵀ·gU)·S_j + S_i·skew(Vᵀ·gV)) / E + diag(gS),   skew(X) = X − Xᵀ,
    // gA = U·K·Vh, plus (I − U·Uᵀ)·gU·S⁻¹·Vh for a tall A or U·S⁻¹·gVh·(I − V·Vᵀ) for a wide one.
    protected override Tensor?[] Backward(Context ctx, Tensor?[] grads)
    {
        var (u, s, vh) = ctx.Saved;
        var (gu, gs, gvh) = (grads[0], grads[1], grads[2]);
        int m = u.Shape[^2], n = vh.Shape[^1], k = s.Shape[^1];
        if (gu is null && gvh is null) return [(u * gs!.Unsqueeze(-2)).Matmul(vh)];
        var v = vh.MT;
        var s2 = s * s;
        var e = s2.Unsqueeze(-2) - s2.Unsqueeze(-1) + Tensor.Eye(k, dtype: s.DType);
        Tensor? uhgu = gu is null ? null : u.MT.Matmul(gu);
        Tensor? gv = gvh?.MT;
        Tensor? vhgv = gv is null ? null : v.MT.Matmul(gv);
        Tensor? inner = null;
        if (uhgu is not null) inner = (uhgu - uhgu.MT) * s.Unsqueeze(-2);
        if (vhgv is not null)
        {
            var right = s.Unsqueeze(-1) * (vhgv - vhgv.MT);
            inner = inner is null ? right : inner + right;
        }
        inner = inner! / e;
        if (gs is not null) inner = inner + gs.DiagEmbed();
        if (m > k && gu is not null)
            return [(u.Matmul(inner) + (gu - u.Matmul(uhgu!)) / s.Unsqueeze(-2)).Matmul(vh)];
        if (n > k && gv is not null)
            return [u.Matmul(inner.Matmul(vh) + (gv - v.Matmul(vhgv!)).MT / s.Unsqueeze(-1))];
        return [u.Matmul(inner).Matmul(vh)];
    }
}
