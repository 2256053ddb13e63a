using System.Numerics;
using System.Numerics.Tensors;

namespace MetaGrad.Backends.Cpu;

// Layer normalisation over rows of D contiguous values: per row, the mean (its sum accumulated in
// double), the centred values written into the output row, their squares summed, then the row
// scaled (and γ, β applied) in place while it is in L1 — three short passes per row where the
// formula in tensor operations made about ten passes over the whole tensor forwards and twenty-odd
// backwards. The backward per row, with x̂ = (x − μ)·r and gγ = g·γ:
//   dx = r·(gγ − mean(gγ) − x̂·mean(gγ·x̂)),   dγ = Σ_rows g·x̂,   dβ = Σ_rows g,
// rows shared out between threads, each summing its own dγ and dβ, added in thread order at the end.
// Float rows go through LayerNormRows: the same passes as loops of vectors, without a call per step.
internal sealed partial class CpuBackend
{
    public LayerNormStatistics LayerNormForward(RawTensor x, int rowLength, RawTensor? weight, RawTensor? bias, double eps) => x.DType switch
    {
        DType.Float32 => LayerNormForwardTyped<float>(x, rowLength, weight, bias, eps),
        DType.Float64 => LayerNormForwardTyped<double>(x, rowLength, weight, bias, eps),
        _ => throw new ArgumentException($"LayerNorm: expected a floating input, got {x.DType}"),
    };

    public LayerNormGradients LayerNormBackward(RawTensor x, int rowLength, RawTensor? weight, LayerNormStatistics forward, RawTensor grad,
        bool input, bool needWeight, bool needBias) => x.DType switch
    {
        DType.Float32 => LayerNormBackwardTyped<float>(x, rowLength, weight, forward, grad, input, needWeight, needBias),
        DType.Float64 => LayerNormBackwardTyped<double>(x, rowLength, weight, forward, grad, input, needWeight, needBias),
        _ => throw new ArgumentException($"LayerNorm: expected a floating input, got {x.DType}"),
    };

    static LayerNormStatistics LayerNormForwardTyped<T>(RawTensor x, int d, RawTensor? weight, RawTensor? bias, double eps)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        using var input = Dense<T>(x);
        using var scale = Dense<T>(weight);
        using var shift = Dense<T>(bias);
        var (X, xAt) = input;
        var (G, gAt) = (scale.Array, scale.Offset);
        var (B, bAt) = (shift.Array, shift.Offset);
        int rows = d == 0 ? 0 : x.Numel / d;
        var y = NewUninitialized<T>([.. x.Shape]);
        var mean = NewUninitialized<T>([rows]);
        var invStd = NewUninitialized<T>([rows]);
        T[] Y = Data<T>(y), Mean = Data<T>(mean), Inv = Data<T>(invStd);
        int parts = RowParts(rows, x.Numel);
        bool floatRows = typeof(T) == typeof(float) && FloatMath.IsAccelerated;
        Threading.For(parts, part =>
        {
            for (int r = part * rows / parts; r < (part + 1) * rows / parts; r++)
            {
                var row = Y.AsSpan(r * d, d);
                if (floatRows)
                {
                    var (m, s) = LayerNormRows.Forward(FloatMath.AsFloat<T>(X.AsSpan(xAt + r * d, d)), FloatMath.AsFloat(row),
                        G is null ? default : FloatMath.AsFloat<T>(G.AsSpan(gAt, d)), B is null ? default : FloatMath.AsFloat<T>(B.AsSpan(bAt, d)), eps);
                    (Mean[r], Inv[r]) = (T.CreateTruncating(m), T.CreateTruncating(s));
                    continue;
                }
                T mu = T.CreateTruncating(double.CreateTruncating(TensorPrimitives.Sum<T>(X.AsSpan(xAt + r * d, d))) / d);
                TensorPrimitives.Subtract(X.AsSpan(xAt + r * d, d), mu, row);
                double variance = double.CreateTruncating(TensorPrimitives.SumOfSquares<T>(row)) / d;
                T inv = T.CreateTruncating(1 / Math.Sqrt(variance + eps));
                (Mean[r], Inv[r]) = (mu, inv);
                TensorPrimitives.Multiply(row, inv, row);
                if (G is not null) TensorPrimitives.Multiply<T>(row, G.AsSpan(gAt, d), row);
                if (B is not null) TensorPrimitives.Add<T>(row, B.AsSpan(bAt, d), row);
            }
        });
        return new LayerNormStatistics(y, mean, invStd);
    }

    static LayerNormGradients LayerNormBackwardTyped<T>(RawTensor x, int d, RawTensor? weight, LayerNormStatistics forward, RawTensor grad,
        bool wantInput, bool needWeight, bool needBias) where T : unmanaged, IFloatingPointIeee754<T>
    {
        using var input = Dense<T>(x);
        using var gradRun = Dense<T>(grad);
        using var scale = Dense<T>(weight);
        var (X, xAt) = input;
        var (Dy, dAt) = gradRun;
        var (G, gAt) = (scale.Array, scale.Offset);
        T[] Mean = Data<T>(forward.Mean), Inv = Data<T>(forward.InvStd);
        int meanAt = forward.Mean.Layout.Offset, invAt = forward.InvStd.Layout.Offset;
        int rows = d == 0 ? 0 : x.Numel / d;
        var dx = wantInput ? NewUninitialized<T>([.. x.Shape]) : default(RawTensor?);
        T[]? DX = dx is { } a ? Data<T>(a) : null;
        int parts = RowParts(rows, x.Numel);
        // Each part's Σ g·x̂ and Σ g, then added in part order (the same bits for any thread timing).
        var partials = needWeight || needBias ? new T[parts * 2 * d] : null;
        bool floatRows = typeof(T) == typeof(float) && FloatMath.IsAccelerated;
        Threading.For(parts, part =>
        {
            var scratch = RunScratch<T>(2 * d);
            Span<T> xHat = scratch[..d], gGamma = scratch[d..];
            Span<T> dGamma = partials is null ? default : partials.AsSpan(part * 2 * d, d), dBeta = partials is null ? default : partials.AsSpan(part * 2 * d + d, d);
            for (int r = part * rows / parts; r < (part + 1) * rows / parts; r++)
            {
                var g = Dy.AsSpan(dAt + r * d, d);
                T inv = Inv[invAt + r];
                if (floatRows)
                {
                    LayerNormRows.Backward(FloatMath.AsFloat<T>(X.AsSpan(xAt + r * d, d)), FloatMath.AsFloat<T>(g), float.CreateTruncating(Mean[meanAt + r]),
                        float.CreateTruncating(inv), G is null ? default : FloatMath.AsFloat<T>(G.AsSpan(gAt, d)), FloatMath.AsFloat(dGamma), FloatMath.AsFloat(dBeta),
                        DX is null ? default : FloatMath.AsFloat(DX.AsSpan(r * d, d)), FloatMath.AsFloat(scratch));
                    continue;
                }
                TensorPrimitives.Subtract(X.AsSpan(xAt + r * d, d), Mean[meanAt + r], xHat);
                TensorPrimitives.Multiply(xHat, inv, xHat);
                if (partials is not null)
                {
                    TensorPrimitives.MultiplyAdd<T>(g, xHat, dGamma, dGamma);
                    TensorPrimitives.Add<T>(g, dBeta, dBeta);
                }
                if (DX is null) continue;
                if (G is not null) TensorPrimitives.Multiply<T>(g, G.AsSpan(gAt, d), gGamma);
                else g.CopyTo(gGamma);
                double meanG = double.CreateTruncating(TensorPrimitives.Sum<T>(gGamma)) / d;
                double meanGX = double.CreateTruncating(TensorPrimitives.Dot<T>(gGamma, xHat)) / d;
                // dx = r·gγ − r·x̂·mean(gγ·x̂) − r·mean(gγ)
                var into = DX.AsSpan(r * d, d);
                TensorPrimitives.Multiply(xHat, T.CreateTruncating(-meanGX), into);
                TensorPrimitives.Add<T>(into, gGamma, into);
                TensorPrimitives.Add(into, T.CreateTruncating(-meanG), into);
                TensorPrimitives.Multiply(into, inv, into);
            }
        });
        RawTensor? dWeight = null, dBias = null;
        if (partials is not null)
        {
            for (int part = 1; part < parts; part++)
            {
                TensorPrimitives.Add<T>(partials.AsSpan(0, d), partials.AsSpan(part * 2 * d, d), partials.AsSpan(0, d));
                TensorPrimitives.Add<T>(partials.AsSpan(d, d), partials.AsSpan(part * 2 * d + d, d), partials.AsSpan(d, d));
            }
            if (needWeight) { dWeight = NewUninitialized<T>([d]); partials.AsSpan(0, d).CopyTo(Data<T>(dWeight.Value)); }
            if (needBias) { dBias = NewUninitialized<T>([d]); partials.AsSpan(d, d).CopyTo(Data<T>(dBias.Value)); }
        }
        return new LayerNormGradients(dx, dWeight, dBias);
    }
}
