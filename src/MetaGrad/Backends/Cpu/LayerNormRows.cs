using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace MetaGrad.Backends.Cpu;

/// <summary>
/// Layer normalisation of one float row, forward in three passes and backward in two, each a loop
/// of whole vectors with the tail element by element. A transformer's rows are short (256 values:
/// sixteen 512-bit vectors), so the six TensorPrimitives calls a row took forwards and eleven
/// backwards cost more in calls than in arithmetic. Only where <see cref="FloatMath.IsAccelerated"/>.
/// </summary>
internal static class LayerNormRows
{
    /// <summary>
    /// y = (x − μ)·r·γ + β (γ and β optional: empty spans), returning μ and r = 1/√(σ² + ε), the
    /// statistics as the double path takes them (each sum in float, divided in double). y may be x.
    /// </summary>
    public static (float Mean, float InvStd) Forward(ReadOnlySpan<float> x, Span<float> y, ReadOnlySpan<float> gamma, ReadOnlySpan<float> beta, double eps) =>
        FloatMath.UseVector512 ? Forward<Floats16>(x, y, gamma, beta, eps) : Forward<Floats8>(x, y, gamma, beta, eps);

    /// <summary>
    /// One row's backward, with x̂ = (x − μ)·r and gγ = g·γ: dγ += g·x̂ and dβ += g (where given),
    /// and dx = r·(gγ − mean(gγ) − x̂·mean(gγ·x̂)) where dx is given; scratch holds 2·D values.
    /// </summary>
    public static void Backward(ReadOnlySpan<float> x, ReadOnlySpan<float> g, float mean, float invStd, ReadOnlySpan<float> gamma,
        Span<float> dGamma, Span<float> dBeta, Span<float> dx, Span<float> scratch)
    {
        if (FloatMath.UseVector512) Backward<Floats16>(x, g, mean, invStd, gamma, dGamma, dBeta, dx, scratch);
        else Backward<Floats8>(x, g, mean, invStd, gamma, dGamma, dBeta, dx, scratch);
    }

    static (float, float) Forward<TV>(ReadOnlySpan<float> x, Span<float> y, ReadOnlySpan<float> gamma, ReadOnlySpan<float> beta, double eps)
        where TV : struct, IFloatVector<TV>
    {
        int d = x.Length, w = TV.Count, body = d - d % w;
        ref float xs = ref MemoryMarshal.GetReference(x);
        ref float ys = ref MemoryMarshal.GetReference(y);
        TV s0 = TV.Create(0f), s1 = s0;
        int i = 0;
        for (; i + 2 * w <= body; i += 2 * w)
        {
            s0 += TV.Load(ref xs, (nuint)i);
            s1 += TV.Load(ref xs, (nuint)(i + w));
        }
        if (i < body) s0 += TV.Load(ref xs, (nuint)i);
        float sum = (s0 + s1).HorizontalSum();
        for (i = body; i < d; i++) sum += x[i];
        float mean = (float)((double)sum / d);

        // The centred values, and their squares summed.
        var mu = TV.Create(mean);
        TV q0 = TV.Create(0f), q1 = q0;
        for (i = 0; i + 2 * w <= body; i += 2 * w)
        {
            var c0 = TV.Load(ref xs, (nuint)i) - mu;
            var c1 = TV.Load(ref xs, (nuint)(i + w)) - mu;
            c0.Store(ref ys, (nuint)i);
            c1.Store(ref ys, (nuint)(i + w));
            q0 = TV.Fma(c0, c0, q0);
            q1 = TV.Fma(c1, c1, q1);
        }
        if (i < body)
        {
            var c = TV.Load(ref xs, (nuint)i) - mu;
            c.Store(ref ys, (nuint)i);
            q0 = TV.Fma(c, c, q0);
        }
        float squares = (q0 + q1).HorizontalSum();
        for (i = body; i < d; i++)
        {
            y[i] = x[i] - mean;
            squares += y[i] * y[i];
        }
        float inv = (float)(1 / Math.Sqrt((double)squares / d + eps));
        Scale<TV>(y, inv, gamma, beta);
        return (mean, inv);
    }

    // y = y·inv·γ + β in place, γ and β where given.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void Scale<TV>(Span<float> y, float inv, ReadOnlySpan<float> gamma, ReadOnlySpan<float> beta) where TV : struct, IFloatVector<TV>
    {
        int d = y.Length, w = TV.Count, body = d - d % w, i = 0;
        ref float ys = ref MemoryMarshal.GetReference(y);
        ref float gs = ref MemoryMarshal.GetReference(gamma);
        ref float bs = ref MemoryMarshal.GetReference(beta);
        var r = TV.Create(inv);
        bool hasGamma = !gamma.IsEmpty, hasBeta = !beta.IsEmpty;
        for (; i < body; i += w)
        {
            var v = TV.Load(ref ys, (nuint)i) * r;
            if (hasGamma && hasBeta) v = TV.Fma(v, TV.Load(ref gs, (nuint)i), TV.Load(ref bs, (nuint)i));
            else if (hasGamma) v *= TV.Load(ref gs, (nuint)i);
            else if (hasBeta) v += TV.Load(ref bs, (nuint)i);
            v.Store(ref ys, (nuint)i);
        }
        for (; i < d; i++)
        {
            float v = y[i] * inv;
            if (hasGamma && hasBeta) v = MathF.FusedMultiplyAdd(v, gamma[i], beta[i]);
            else if (hasGamma) v *= gamma[i];
            else if (hasBeta) v += beta[i];
            y[i] = v;
        }
    }

    static void Backward<TV>(ReadOnlySpan<float> x, ReadOnlySpan<float> g, float mean, float invStd, ReadOnlySpan<float> gamma,
        Span<float> dGamma, Span<float> dBeta, Span<float> dx, Span<float> scratch) where TV : struct, IFloatVector<TV>
    {
        int d = x.Length, w = TV.Count, body = d - d % w;
        Span<float> xHat = scratch[..d], gGamma = scratch.Slice(d, d);
        ref float xs = ref MemoryMarshal.GetReference(x);
        ref float gs = ref MemoryMarshal.GetReference(g);
        ref float ws = ref MemoryMarshal.GetReference(gamma);
        ref float hs = ref MemoryMarshal.GetReference(xHat);
        ref float ggs = ref MemoryMarshal.GetReference(gGamma);
        ref float dws = ref MemoryMarshal.GetReference(dGamma);
        ref float dbs = ref MemoryMarshal.GetReference(dBeta);
        bool hasGamma = !gamma.IsEmpty, sums = !dGamma.IsEmpty, input = !dx.IsEmpty;
        TV mu = TV.Create(mean), r = TV.Create(invStd), sumG = TV.Create(0f), sumGX = sumG;
        int i = 0;
        // x̂ and gγ, the parameters' sums, and the row's Σ gγ and Σ gγ·x̂ in one pass.
        for (; i < body; i += w)
        {
            var h = (TV.Load(ref xs, (nuint)i) - mu) * r;
            var gi = TV.Load(ref gs, (nuint)i);
            if (sums)
            {
                TV.Fma(gi, h, TV.Load(ref dws, (nuint)i)).Store(ref dws, (nuint)i);
                (TV.Load(ref dbs, (nuint)i) + gi).Store(ref dbs, (nuint)i);
            }
            if (!input) continue;
            var gg = hasGamma ? gi * TV.Load(ref ws, (nuint)i) : gi;
            h.Store(ref hs, (nuint)i);
            gg.Store(ref ggs, (nuint)i);
            sumG += gg;
            sumGX = TV.Fma(gg, h, sumGX);
        }
        float totalG = sumG.HorizontalSum(), totalGX = sumGX.HorizontalSum();
        for (; i < d; i++)
        {
            float h = (x[i] - mean) * invStd;
            if (sums)
            {
                dGamma[i] = MathF.FusedMultiplyAdd(g[i], h, dGamma[i]);
                dBeta[i] += g[i];
            }
            if (!input) continue;
            float gg = hasGamma ? g[i] * gamma[i] : g[i];
            (xHat[i], gGamma[i]) = (h, gg);
            totalG += gg;
            totalGX = MathF.FusedMultiplyAdd(gg, h, totalGX);
        }
        if (!input) return;
        float meanG = (float)((double)totalG / d), meanGX = (float)((double)totalGX / d);
        // dx = r·(gγ − x̂·mean(gγ·x̂) − mean(gγ))
        ref float dxs = ref MemoryMarshal.GetReference(dx);
        TV byGX = TV.Create(-meanGX), lessG = TV.Create(meanG);
        for (i = 0; i < body; i += w)
            ((TV.Fma(TV.Load(ref hs, (nuint)i), byGX, TV.Load(ref ggs, (nuint)i)) - lessG) * r).Store(ref dxs, (nuint)i);
        for (; i < d; i++) dx[i] = (MathF.FusedMultiplyAdd(xHat[i], -meanGX, gGamma[i]) - meanG) * invStd;
    }
}
