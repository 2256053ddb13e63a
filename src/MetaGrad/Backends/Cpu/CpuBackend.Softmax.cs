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
        int n = src.Layout.Shape[last], rows = n == 0 ? 0 : y.Numel / n;
        var X = Data<T>(src);
        int xAt = src.Layout.Offset;
        var Y = Data<T>(y);
        // Rows shared out between threads when the tensor is large (a language model's logits).
        int parts = RowParts(rows, y.Numel);
        Threading.For(parts, part =>
        {
            var exps = log ? RunScratch<T>(n) : default;   // log-softmax needs Σ exp, not the exps themselves
            for (int r = part * rows / parts; r < (part + 1) * rows / parts; r++)
            {
                var row = X.AsSpan(xAt + r * n, n);
                var output = Y.AsSpan(r * n, n);
                T max = TensorPrimitives.Max<T>(row);
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
                    TensorPrimitives.Divide(output, TensorPrimitives.Sum<T>(output), output);
                }
            }
        });
        GC.KeepAlive(src);   // a contiguous copy's storage holds its pooled array's lease until the rows are read
        return dim == last ? y : Contiguous(new RawTensor(y.Storage, y.Layout.Permute(perm)));
    }

    public RawTensor SoftmaxBackward(RawTensor y, RawTensor grad, bool log) => y.DType switch
    {
        DType.Float32 => SoftmaxBackwardTyped<float>(y, grad, log),
        DType.Float64 => SoftmaxBackwardTyped<double>(y, grad, log),
        _ => throw new ArgumentException($"{(log ? "LogSoftmax" : "Softmax")}: expected a floating tensor, got {y.DType}"),
    };

    // One pass per row over y and g (the formula in tensor operations made four over the whole
    // tensor, exp's included for log-softmax): a row's sum, then its gradient while it is in L1.
    static RawTensor SoftmaxBackwardTyped<T>(RawTensor y, RawTensor grad, bool log) where T : unmanaged, IFloatingPointIeee754<T>
    {
        using var output = Dense<T>(y);
        using var gradRun = Dense<T>(grad);
        var (Y, yAt) = output;
        var (G, gAt) = gradRun;
        int n = y.Layout.Rank == 0 ? 1 : y.Layout.Shape[^1], rows = n == 0 ? 0 : y.Numel / n;
        var dx = NewUninitialized<T>([.. y.Layout.Shape]);
        var DX = Data<T>(dx);
        int parts = RowParts(rows, y.Numel);
        Threading.For(parts, part =>
        {
            for (int r = part * rows / parts; r < (part + 1) * rows / parts; r++)
            {
                var g = G.AsSpan(gAt + r * n, n);
                var yRow = Y.AsSpan(yAt + r * n, n);
                var into = DX.AsSpan(r * n, n);
                if (log)
                {
                    // g − exp(y)·Σ g
                    T sum = TensorPrimitives.Sum<T>(g);
                    FloatMath.Exp<T>(yRow, into);
                    TensorPrimitives.MultiplyAdd(into, -sum, g, into);
                }
                else
                {
                    // y·(g − Σ g·y)
                    TensorPrimitives.Subtract(g, TensorPrimitives.Dot<T>(g, yRow), into);
                    TensorPrimitives.Multiply<T>(into, yRow, into);
                }
            }
        });
        return dx;
    }
}
