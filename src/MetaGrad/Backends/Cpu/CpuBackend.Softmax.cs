using System.Numerics;
using System.Numerics.Tensors;

namespace MetaGrad.Backends.Cpu;

internal sealed partial class CpuBackend
{
    public RawTensor Softmax(RawTensor x, int dim, bool log, bool zeroEmptyRows = false) => x.DType switch
    {
        DType.Float32 => SoftmaxTyped<float>(x, dim, log, zeroEmptyRows),
        DType.Float64 => SoftmaxTyped<double>(x, dim, log, zeroEmptyRows),
        _ => throw new ArgumentException($"{(log ? "LogSoftmax" : "Softmax")}: expected a floating tensor, got {x.DType}"),
    };

    // Lines along the last dim are contiguous runs: each is shifted by its max, exponentiated and
    // normalised with vector operations. Along another dim, the lines of a block lie side by side
    // (Columns).
    static RawTensor SoftmaxTyped<T>(RawTensor x, int dim, bool log, bool zeroEmptyRows) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int rank = x.Layout.Rank;
        if (zeroEmptyRows && (log || (dim != rank - 1 && dim != -1)))
            throw new ArgumentException($"Softmax: zeros for empty rows are for softmax along the last dim, not {(log ? "log-softmax" : $"dim {dim} of {rank}")}");
        if (rank == 0) return Instance.Cast(Instance.FromArray(new[] { log ? 0.0 : 1.0 }, []), x.DType);
        if (InnerOf(x.Layout.Shape, dim) > 1) return Columns<T>(null, x, dim, log);
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
        bool floatRows = typeof(T) == typeof(float) && FloatMath.IsAccelerated;
        Threading.For(parts, part =>
        {
            int first = part * rows / parts, end = (part + 1) * rows / parts;
            if (floatRows && n > 0 && n < SoftmaxRows.ShortRow)
            {
                // A block of short rows at a time, its exponentials in one vector pass.
                for (int r = first, block = Math.Max(1, 4096 / n); r < end; r += block)
                {
                    int count = Math.Min(block, end - r);
                    SoftmaxRows.ShortRows(FloatMath.AsFloat<T>(X.AsSpan(xAt + r * n, count * n)), FloatMath.AsFloat(Y.AsSpan(r * n, count * n)), n, log);
                }
                return;
            }
            var exps = log && !floatRows ? RunScratch<T>(n) : default;   // log-softmax needs Σ exp, not the exps themselves
            for (int r = first; r < end; r++)
            {
                var row = X.AsSpan(xAt + r * n, n);
                var output = Y.AsSpan(r * n, n);
                if (floatRows)
                {
                    SoftmaxRows.Softmax(FloatMath.AsFloat<T>(row), FloatMath.AsFloat(output), log);
                    continue;
                }
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
        // A row of all -inf came out NaN (0/0); its first value says so without a pass over the rest.
        if (zeroEmptyRows)
            for (int r = 0; r < rows; r++)
                if (T.IsNaN(Y[r * n]) && AllNegativeInfinity<T>(X.AsSpan(xAt + r * n, n))) Y.AsSpan(r * n, n).Clear();
        GC.KeepAlive(src);   // a contiguous copy's storage holds its pooled array's lease until the rows are read
        return dim == last ? y : Contiguous(new RawTensor(y.Storage, y.Layout.Permute(perm)));
    }

    static bool AllNegativeInfinity<T>(ReadOnlySpan<T> row) where T : unmanaged, IFloatingPointIeee754<T>
    {
        foreach (var v in row) if (v != T.NegativeInfinity) return false;
        return true;
    }

    public RawTensor SoftmaxBackward(RawTensor y, RawTensor grad, int dim, bool log) => (y.DType, dim < 0 ? dim + y.Layout.Rank : dim) switch
    {
        (DType.Float32, var d) => InnerOf(y.Layout.Shape, d) > 1 ? Columns<float>(grad, y, d, log) : SoftmaxBackwardTyped<float>(y, grad, d, log),
        (DType.Float64, var d) => InnerOf(y.Layout.Shape, d) > 1 ? Columns<double>(grad, y, d, log) : SoftmaxBackwardTyped<double>(y, grad, d, log),
        _ => throw new ArgumentException($"{(log ? "LogSoftmax" : "Softmax")}: expected a floating tensor, got {y.DType}"),
    };

    // How many values follow each one of dim's in memory order: 1 for the last dim (and for dims
    // followed only by dims of size 1), where a line is a contiguous row.
    static int InnerOf(int[] shape, int dim)
    {
        int inner = 1;
        for (int d = dim + 1; d < shape.Length; d++) inner *= shape[d];
        return inner;
    }

    // Softmax (or log-softmax) along a dim followed by inner values, seen as [outer, n, inner]: the
    // inner lines of a block of columns side by side, each step of the dim a contiguous row of the
    // block, so that every pass is a vector operation over a row (moving the dim last and back
    // took two strided copies). Forward
    // when grad is null (x the input), else the backward (x the output y): y·(g − Σ g·y), or
    // g − exp(y)·Σ g. Units of up to 512 columns of one outer index are shared between threads.
    static RawTensor Columns<T>(RawTensor? grad, RawTensor x, int dim, bool log) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var shape = x.Layout.Shape;
        int n = shape[dim], inner = InnerOf(shape, dim), outer = 1;
        for (int d = 0; d < dim; d++) outer *= shape[d];
        using var input = Dense<T>(x);
        using var upstream = Dense<T>(grad);
        var (X, xAt) = input;
        var (G, gAt) = (upstream.Array, upstream.Offset);
        var result = NewUninitialized<T>(shape);
        var Y = Data<T>(result);
        if (result.Numel == 0) return result;
        const int Block = 512;
        int blocks = (inner + Block - 1) / Block, units = outer * blocks;
        int parts = RowParts(units, result.Numel);
        Threading.For(parts, part =>
        {
            var scratch = RunScratch<T>(3 * Math.Min(Block, inner));
            for (int unit = (int)((long)part * units / parts); unit < (int)((long)(part + 1) * units / parts); unit++)
            {
                int c0 = unit % blocks * Block, width = Math.Min(Block, inner - c0), at = unit / blocks * n * inner + c0;
                var total = scratch[..width];
                var extra = scratch.Slice(width, width);
                var exps = scratch.Slice(2 * width, width);
                Span<T> Row(T[] data, int offset, int k) => data.AsSpan(offset + at + k * inner, width);
                if (G is not null)
                {
                    total.Clear();
                    for (int k = 0; k < n; k++)
                    {
                        if (log) TensorPrimitives.Add(total, Row(G, gAt, k), total);
                        else TensorPrimitives.MultiplyAdd(Row(G, gAt, k), Row(X, xAt, k), total, total);
                    }
                    for (int k = 0; k < n; k++)
                    {
                        var into = Row(Y, 0, k);
                        if (log)
                        {
                            FloatMath.Exp<T>(Row(X, xAt, k), into);
                            TensorPrimitives.Multiply(into, total, into);
                            TensorPrimitives.Subtract(Row(G, gAt, k), into, into);
                        }
                        else
                        {
                            TensorPrimitives.Subtract(Row(G, gAt, k), total, into);
                            TensorPrimitives.Multiply(into, Row(X, xAt, k), into);
                        }
                    }
                    continue;
                }
                // The max of each line (NaN anywhere makes the line NaN; an infinite max shifts by 0, as PyTorch).
                var max = extra;
                Row(X, xAt, 0).CopyTo(max);
                for (int k = 1; k < n; k++) TensorPrimitives.Max(max, Row(X, xAt, k), max);
                for (int c = 0; c < width; c++) if (T.IsInfinity(max[c])) max[c] = T.Zero;
                total.Clear();
                for (int k = 0; k < n; k++)
                {
                    var into = Row(Y, 0, k);
                    TensorPrimitives.Subtract(Row(X, xAt, k), max, into);
                    if (log)
                    {
                        FloatMath.Exp<T>(into, exps);
                        TensorPrimitives.Add(total, exps, total);
                    }
                    else
                    {
                        FloatMath.Exp<T>(into, into);
                        TensorPrimitives.Add(total, into, total);
                    }
                }
                if (log) TensorPrimitives.Log(total, total);
                for (int k = 0; k < n; k++)
                {
                    var into = Row(Y, 0, k);
                    if (log) TensorPrimitives.Subtract(into, total, into);
                    else TensorPrimitives.Divide(into, total, into);
                }
            }
        });
        return result;
    }

    // One pass per row over y and g (the formula in tensor operations made four over the whole
    // tensor, exp's included for log-softmax): a row's sum, then its gradient while it is in L1.
    // Lines along dim are contiguous rows (dim is last, or only dims of size 1 follow it).
    static RawTensor SoftmaxBackwardTyped<T>(RawTensor y, RawTensor grad, int dim, bool log) where T : unmanaged, IFloatingPointIeee754<T>
    {
        using var output = Dense<T>(y);
        using var gradRun = Dense<T>(grad);
        var (Y, yAt) = output;
        var (G, gAt) = gradRun;
        int n = y.Layout.Rank == 0 ? 1 : y.Layout.Shape[dim], rows = n == 0 ? 0 : y.Numel / n;
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
