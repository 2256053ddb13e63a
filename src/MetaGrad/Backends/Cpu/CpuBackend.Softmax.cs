using System.Numerics;
using System.Numerics.Tensors;

namespace MetaGrad.Backends.Cpu;

internal sealed partial class CpuBackend
{
    public RawTensor Softmax(RawTensor x, int dim, bool log) => x.DType switch
    {
        DType.Float32 => SoftmaxTyped<float>(x, dim, log),
        DType.Float64 => SoftmaxTyped<double>(x, dim, log),
        _ => throw new ArgumentException($"{(log ? "LogSoftmax" : "Softmax")}: expected a floating tensor, got {x.DType}"),
    };

    // Lines along the last dim are contiguous runs: each is shifted by its max, exponentiated and
    // normalised with vector operations. Another dim is moved last first (a copy), then moved back.
    static RawTensor SoftmaxTyped<T>(RawTensor x, int dim, bool log) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int rank = x.Layout.Rank;
        if (rank == 0) return Instance.Cast(Instance.FromArray(new[] { log ? 0.0 : 1.0 }, []), x.DType);
        int last = rank - 1;
        var perm = Enumerable.Range(0, rank).ToArray();
        (perm[dim], perm[last]) = (perm[last], perm[dim]);
        var moved = dim == last ? x : new RawTensor(x.Storage, x.Layout.Permute(perm));
        var src = moved.Layout.IsContiguous ? moved : Contiguous(moved);
        var y = NewUninitialized<T>(src.Layout.Shape);
        var X = Data<T>(src).AsSpan(src.Layout.Offset, y.Numel);
        var Y = Data<T>(y).AsSpan();
        int n = src.Layout.Shape[last];
        var exps = log ? new T[n] : null;   // log-softmax needs Σ exp, not the exps themselves
        for (int start = 0; start + n <= Y.Length && n > 0; start += n)
        {
            var row = X.Slice(start, n);
            var output = Y.Slice(start, n);
            T max = TensorPrimitives.Max(row);
            if (T.IsInfinity(max)) max = T.Zero;   // all -inf (or an inf) lines: no shift, as PyTorch
            TensorPrimitives.Subtract(row, max, output);
            if (log)
            {
                // (x - m) - log Σ exp(x - m)
                FloatMath.Exp<T>(output, exps);
                TensorPrimitives.Subtract(output, T.Log(TensorPrimitives.Sum<T>(exps)), output);
            }
            else
            {
                FloatMath.Exp<T>(output, output);
                TensorPrimitives.Divide(output, TensorPrimitives.Sum(output), output);
            }
        }
        return dim == last ? y : Contiguous(new RawTensor(y.Storage, y.Layout.Permute(perm)));
    }
}
