using System.Numerics;
using System.Numerics.Tensors;

namespace MetaGrad.Backends.Cpu;

// Cross-entropy of logits [N, C] against class indices without the log-probabilities ever being
// stored: forward, per row, the max, Σ exp(x − max) (float rows by SoftmaxRows, summed as they
// are made; double ones through a per-thread scratch row) and the target's logit; backward, per
// row, exp(x − lse)·g with g subtracted at the target. Through
// log-softmax and a gather, a language model's [1536, 2500] logits were written as log-probabilities,
// a dense zero gradient was scattered into, and the backward read both again: about twice the
// memory traffic, which is what these rows cost.
internal sealed partial class CpuBackend
{
    public (RawTensor Losses, RawTensor LogSumExp) CrossEntropyForward(RawTensor x, RawTensor target, int ignoreIndex) => x.DType switch
    {
        DType.Float32 => CrossEntropyForwardTyped<float>(x, target, ignoreIndex),
        DType.Float64 => CrossEntropyForwardTyped<double>(x, target, ignoreIndex),
        _ => throw new ArgumentException($"CrossEntropy: expected floating logits, got {x.DType}"),
    };

    public RawTensor CrossEntropyBackward(RawTensor x, RawTensor target, RawTensor logSumExp, RawTensor grad, int ignoreIndex) => x.DType switch
    {
        DType.Float32 => CrossEntropyBackwardTyped<float>(x, target, logSumExp, grad, ignoreIndex),
        DType.Float64 => CrossEntropyBackwardTyped<double>(x, target, logSumExp, grad, ignoreIndex),
        _ => throw new ArgumentException($"CrossEntropy: expected floating logits, got {x.DType}"),
    };

    static (RawTensor, RawTensor) CrossEntropyForwardTyped<T>(RawTensor x, RawTensor target, int ignoreIndex) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int n = x.Layout.Shape[0], c = x.Layout.Shape[1];
        using var logits = Dense<T>(x);
        using var targets = Dense<long>(Instance.Cast(target, DType.Int64));
        var (X, xAt) = logits;
        var (Ids, idAt) = targets;
        var losses = NewUninitialized<T>([n]);
        var lse = NewUninitialized<T>([n]);
        T[] L = Data<T>(losses), Lse = Data<T>(lse);
        int parts = RowParts(n, (long)n * c);
        bool floatRows = typeof(T) == typeof(float) && FloatMath.IsAccelerated;
        Threading.For(parts, part =>
        {
            var exps = floatRows ? default : RunScratch<T>(c);
            for (int r = part * n / parts; r < (part + 1) * n / parts; r++)
            {
                long id = Ids[idAt + r];
                if (id != ignoreIndex && (id < 0 || id >= c))
                    throw new ArgumentOutOfRangeException(nameof(target), $"CrossEntropy: target {id} is out of bounds for {c} classes");
                var row = X.AsSpan(xAt + r * c, c);
                T logSum;
                if (floatRows) logSum = T.CreateTruncating(SoftmaxRows.LogSumExp(FloatMath.AsFloat<T>(row)));
                else
                {
                    T max = TensorPrimitives.Max<T>(row);
                    if (T.IsInfinity(max)) max = T.Zero;   // as log-softmax: no shift for an infinite max
                    TensorPrimitives.Subtract(row, max, exps);
                    FloatMath.Exp<T>(exps, exps);
                    logSum = max + T.Log(TensorPrimitives.Sum<T>(exps));
                }
                Lse[r] = logSum;
                L[r] = id == ignoreIndex ? T.Zero : logSum - row[(int)id];
            }
        });
        return (losses, lse);
    }

    static RawTensor CrossEntropyBackwardTyped<T>(RawTensor x, RawTensor target, RawTensor logSumExp, RawTensor grad, int ignoreIndex)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int n = x.Layout.Shape[0], c = x.Layout.Shape[1];
        using var logits = Dense<T>(x);
        using var targets = Dense<long>(Instance.Cast(target, DType.Int64));
        using var lseRun = Dense<T>(logSumExp);
        using var gradRun = Dense<T>(grad);
        var (X, xAt) = logits;
        var (Ids, idAt) = targets;
        var (Lse, lAt) = lseRun;
        var (G, gAt) = gradRun;
        var dx = NewUninitialized<T>([n, c]);
        var DX = Data<T>(dx);
        int parts = RowParts(n, (long)n * c);
        bool floatRows = typeof(T) == typeof(float) && FloatMath.IsAccelerated;
        Threading.For(parts, part =>
        {
            for (int r = part * n / parts; r < (part + 1) * n / parts; r++)
            {
                var into = DX.AsSpan(r * c, c);
                long id = Ids[idAt + r];
                T g = G[gAt + r];
                if (id == ignoreIndex) { into.Clear(); continue; }
                // g·exp(x − lse), and g less at the target
                if (floatRows) SoftmaxRows.ScaledExp(FloatMath.AsFloat<T>(X.AsSpan(xAt + r * c, c)), float.CreateTruncating(Lse[lAt + r]), float.CreateTruncating(g), FloatMath.AsFloat(into));
                else
                {
                    TensorPrimitives.Subtract(X.AsSpan(xAt + r * c, c), Lse[lAt + r], into);
                    FloatMath.Exp<T>(into, into);
                    TensorPrimitives.Multiply(into, g, into);
                }
                into[(int)id] -= g;
            }
        });
        return dx;
    }
}
