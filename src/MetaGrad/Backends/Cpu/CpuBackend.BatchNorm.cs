using System.Numerics;
using System.Numerics.Tensors;

namespace MetaGrad.Backends.Cpu;

// Batch normalisation in training mode, per channel over its N·S values (x [N, C, S...] read as
// N contiguous runs of S per channel): the statistics in two passes (the mean, then the centred
// squares, each run's sum accumulated in double as ATen does), the output in one, and the
// backward's closed form in two (the sums of g and g·(x − μ), then dx = k₁·g + k₂·x + k₃), where
// the same formulas as tensor operations passed over the batch about a dozen times. Channels are
// shared out between threads.
internal sealed partial class CpuBackend
{
    public BatchNormStatistics BatchNormForward(RawTensor x, RawTensor? weight, RawTensor? bias, double eps) => x.DType switch
    {
        DType.Float32 => BatchNormForwardTyped<float>(x, weight, bias, eps),
        DType.Float64 => BatchNormForwardTyped<double>(x, weight, bias, eps),
        _ => throw new ArgumentException($"BatchNorm: expected a floating input, got {x.DType}"),
    };

    public BatchNormGradients BatchNormBackward(RawTensor x, RawTensor? weight, BatchNormStatistics forward, RawTensor grad, bool input, bool affine) => x.DType switch
    {
        DType.Float32 => BatchNormBackwardTyped<float>(x, weight, forward, grad, input, affine),
        DType.Float64 => BatchNormBackwardTyped<double>(x, weight, forward, grad, input, affine),
        _ => throw new ArgumentException($"BatchNorm: expected a floating input, got {x.DType}"),
    };

    /// <summary>N, C and S (the product of the dims after the channels) of x.</summary>
    static (int N, int C, int S) ChannelRuns(RawTensor x)
    {
        int s = 1;
        for (int d = 2; d < x.Rank; d++) s *= x.Shape[d];
        return (x.Shape[0], x.Shape[1], s);
    }

    static void EachChannel(int c, long total, Action<int> body)
    {
        int parts = RowParts(c, total);
        Threading.For(parts, part =>
        {
            for (int ch = part * c / parts; ch < (part + 1) * c / parts; ch++) body(ch);
        });
    }

    static BatchNormStatistics BatchNormForwardTyped<T>(RawTensor x, RawTensor? weight, RawTensor? bias, double eps) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var (n, c, s) = ChannelRuns(x);
        using var input = Dense<T>(x);
        using var scale = Dense<T>(weight);
        using var shift = Dense<T>(bias);
        var (X, xAt) = input;
        var (G, gAt) = (scale.Array, scale.Offset);
        var (B, bAt) = (shift.Array, shift.Offset);
        var y = NewUninitialized<T>([.. x.Shape]);
        var mean = NewUninitialized<T>([c]);
        var variance = NewUninitialized<T>([c]);
        var invStd = NewUninitialized<T>([c]);
        T[] Y = Data<T>(y), Mean = Data<T>(mean), Var = Data<T>(variance), Inv = Data<T>(invStd);
        long count = (long)n * s;
        EachChannel(c, count * c, ch =>
        {
            double sum = 0;
            for (int i = 0; i < n; i++) sum += double.CreateTruncating(TensorPrimitives.Sum<T>(X.AsSpan(xAt + (i * c + ch) * s, s)));
            T mu = T.CreateTruncating(sum / count);
            var centred = RunScratch<T>(s);
            double squares = 0;
            for (int i = 0; i < n; i++)
            {
                TensorPrimitives.Subtract(X.AsSpan(xAt + (i * c + ch) * s, s), mu, centred);
                squares += double.CreateTruncating(TensorPrimitives.SumOfSquares<T>(centred));
            }
            double var = squares / count, inv = 1 / Math.Sqrt(var + eps);
            (Mean[ch], Var[ch], Inv[ch]) = (mu, T.CreateTruncating(var), T.CreateTruncating(inv));
            // y = x·scale + shift, the scale and shift folded per channel.
            double gamma = G is null ? 1 : double.CreateTruncating(G[gAt + ch]), beta = B is null ? 0 : double.CreateTruncating(B[bAt + ch]);
            T scale = T.CreateTruncating(inv * gamma), shift = T.CreateTruncating(beta - double.CreateTruncating(mu) * inv * gamma);
            for (int i = 0; i < n; i++)
            {
                int at = (i * c + ch) * s;
                var into = Y.AsSpan(at, s);   // written, then added to while in L1
                TensorPrimitives.Multiply<T>(X.AsSpan(xAt + at, s), scale, into);
                TensorPrimitives.Add<T>(into, shift, into);
            }
        });
        return new BatchNormStatistics(y, mean, variance, invStd);
    }

    static BatchNormGradients BatchNormBackwardTyped<T>(RawTensor x, RawTensor? weight, BatchNormStatistics forward, RawTensor grad, bool wantInput, bool affine)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var (n, c, s) = ChannelRuns(x);
        using var input = Dense<T>(x);
        using var gradRun = Dense<T>(grad);
        using var scale = Dense<T>(weight);
        var (X, xAt) = input;
        var (D, dAt) = gradRun;
        var (G, gAt) = (scale.Array, scale.Offset);
        T[] Mean = Data<T>(forward.Mean), Inv = Data<T>(forward.InvStd);
        var dx = wantInput ? NewUninitialized<T>([.. x.Shape]) : default(RawTensor?);
        var dWeight = affine ? NewUninitialized<T>([c]) : default(RawTensor?);
        var dBias = affine ? NewUninitialized<T>([c]) : default(RawTensor?);
        T[]? DX = dx is { } a ? Data<T>(a) : null, DW = dWeight is { } b ? Data<T>(b) : null, DB = dBias is { } d ? Data<T>(d) : null;
        long count = (long)n * s;
        EachChannel(c, count * c, ch =>
        {
            T mu = Mean[forward.Mean.Layout.Offset + ch];
            double inv = double.CreateTruncating(Inv[forward.InvStd.Layout.Offset + ch]);
            var centred = RunScratch<T>(s);
            double sumG = 0, sumGC = 0;   // Σ g and Σ g·(x − μ)
            for (int i = 0; i < n; i++)
            {
                int at = (i * c + ch) * s;
                var g = D.AsSpan(dAt + at, s);
                TensorPrimitives.Subtract(X.AsSpan(xAt + at, s), mu, centred);
                sumG += double.CreateTruncating(TensorPrimitives.Sum<T>(g));
                sumGC += double.CreateTruncating(TensorPrimitives.Dot<T>(g, centred));
            }
            double dBeta = sumG, dGamma = sumGC * inv;   // dγ = Σ g·x̂
            if (DW is not null) (DW[ch], DB![ch]) = (T.CreateTruncating(dGamma), T.CreateTruncating(dBeta));
            if (DX is null) return;
            // dx = γ·inv·(g − dβ/M − x̂·dγ/M) = k1·g + k2·x + k3.
            double gamma = G is null ? 1 : double.CreateTruncating(G[gAt + ch]);
            double k1 = gamma * inv, k2 = -k1 * inv * dGamma / count, k3 = -k1 * dBeta / count - k2 * double.CreateTruncating(mu);
            T t1 = T.CreateTruncating(k1), t2 = T.CreateTruncating(k2), t3 = T.CreateTruncating(k3);
            for (int i = 0; i < n; i++)
            {
                int at = (i * c + ch) * s;
                var into = DX.AsSpan(at, s);
                TensorPrimitives.Multiply<T>(X.AsSpan(xAt + at, s), t2, into);
                TensorPrimitives.Add<T>(into, t3, into);
                TensorPrimitives.MultiplyAdd<T>(D.AsSpan(dAt + at, s), t1, into, into);
            }
        });
        return new BatchNormGradients(dx, dWeight, dBias);
    }
}
