using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.InteropServices;

namespace MetaGrad.Backends.Cpu;

// Attention without the score matrix (FlashAttention's idea, Dao et al. 2022, on the CPU): the
// keys are visited in blocks, each block's scores live only in a tile, and the softmax is made
// online — every query row keeps its running maximum m and sum l of exp(score − m), and whatever
// was accumulated is rescaled by exp(m_old − m_new) when a later block raises the maximum. Memory
// is O(T·d) (the output and one log-sum-exp per row) instead of the T×T weights, and the backward
// recomputes each tile's probabilities from that log-sum-exp instead of reading them back.
internal sealed partial class CpuBackend
{
    /// <summary>Query rows per tile: 64 rows of scores, their output accumulators and statistics stay in L1/L2.</summary>
    const int AttentionRows = 64;
    /// <summary>Keys per block.</summary>
    const int AttentionKeys = 64;

    public AttentionResult AttentionForward(RawTensor q, RawTensor k, RawTensor v, bool causal, double scale, AttentionBias? bias) => q.DType switch
    {
        DType.Float32 => AttentionForwardTyped<float>(q, k, v, causal, (float)scale, bias),
        DType.Float64 => AttentionForwardTyped<double>(q, k, v, causal, scale, bias),
        _ => throw new ArgumentException($"ScaledDotProductAttention: expected floating tensors, got {q.DType}"),
    };

    public AttentionGradients AttentionBackward(RawTensor q, RawTensor k, RawTensor v, AttentionResult forward, RawTensor gradOutput, bool causal, double scale,
        AttentionBias? bias) =>
        q.DType switch
        {
            DType.Float32 => AttentionBackwardTyped<float>(q, k, v, forward, gradOutput, causal, (float)scale, bias),
            DType.Float64 => AttentionBackwardTyped<double>(q, k, v, forward, gradOutput, causal, scale, bias),
            _ => throw new ArgumentException($"ScaledDotProductAttention: expected floating tensors, got {q.DType}"),
        };

    /// <summary>
    /// How many keys query row i of a block sees among the block's keys [j0, j0 + cols): all of them,
    /// or under the causal mask (PyTorch's top-left alignment: query i sees keys j ≤ i) those up to i.
    /// </summary>
    static int VisibleKeys(bool causal, int i, int j0, int cols) => causal ? Math.Clamp(i - j0 + 1, 0, cols) : cols;

    // A tile row's scaled scores plus the bias of query row i from key j0 on (see AttentionBias): the
    // row's share of a mask, read through its strides (a padding mask's row stride is 0).
    static void ScaleAndBias<T>(Span<T> seen, T scale, T[]? bias, AttentionBias? layout, int b, int i, int j0) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (bias is null)
        {
            TensorPrimitives.Multiply(seen, scale, seen);
            return;
        }
        int columnStride = layout!.Value.ColumnStride, at = layout.Value.At(b, i, j0);
        if (columnStride == 1) TensorPrimitives.MultiplyAdd(seen, scale, bias.AsSpan(at, seen.Length), seen);
        else if (columnStride == 0)
        {
            TensorPrimitives.Multiply(seen, scale, seen);
            TensorPrimitives.Add(seen, bias[at], seen);
        }
        else for (int j = 0; j < seen.Length; j++) seen[j] = seen[j] * scale + bias[at + j * columnStride];
    }

    // Whether the bias hides every key of the tile (query rows [i0, i0 + rows), keys [j0, j0 + cols))
    // from entry b: such a tile adds nothing, forwards or backwards (a padded batch's last key blocks).
    // A bias that does not vary by row (a padding mask) is read for one row.
    static bool Hidden<T>(T[] bias, AttentionBias layout, int b, int i0, int rows, int j0, int cols) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int columnStride = layout.ColumnStride;
        if (layout.RowStride == 0) rows = 1;
        for (int r = 0; r < rows; r++)
        {
            int at = layout.At(b, i0 + r, j0);
            for (int j = 0; j < cols; j++)
                if (!T.IsNegativeInfinity(bias[at + j * columnStride])) return false;
        }
        return true;
    }

    // A backward tile row's probabilities exp(scale·s + bias − lse) over the keys it sees, zero past
    // them: float rows in one vector pass where FloatMath runs (AttentionTileRows), else by calls.
    static void BackwardProbabilities<T>(Span<T> row, int visible, T scale, T[]? biasValues, AttentionBias? bias, int b, int i, int j0, T lse)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (typeof(T) == typeof(float) && FloatMath.IsAccelerated && (bias is not { } layout || layout.ColumnStride is 0 or 1))
        {
            ReadOnlySpan<float> perKey = default;
            float perRow = 0;
            if (bias is { } some)
            {
                var values = (float[])(object)biasValues!;
                int at = some.At(b, i, j0);
                if (some.ColumnStride == 1) perKey = values.AsSpan(at, visible);
                else perRow = values[at];
            }
            AttentionTileRows.Probabilities(MemoryMarshal.Cast<T, float>(row), visible, float.CreateTruncating(scale), perKey, perRow, float.CreateTruncating(lse));
            return;
        }
        ScaleAndBias(row[..visible], scale, biasValues, bias, b, i, j0);
        ExpShifted(row, visible, lse);
    }

    // A tile row's probabilities: exp(score − shift) over the keys the row sees, zero past them.
    // The forward shifts by the running maximum, the backward by the saved log-sum-exp.
    static void ExpShifted<T>(Span<T> row, int visible, T shift) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var seen = row[..visible];
        TensorPrimitives.Subtract(seen, shift, seen);
        FloatMath.Exp<T>(seen, seen);
        row[visible..].Clear();
    }

    // Work items are (batch entry, block of query rows); each runs its key blocks alone.
    static AttentionResult AttentionForwardTyped<T>(RawTensor q, RawTensor k, RawTensor v, bool causal, T scale, AttentionBias? bias)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        T[]? biasValues = bias is { } some ? Data<T>(some.Values) : null;
        int batch = q.Shape[0], l = q.Shape[1], e = q.Shape[2], s = k.Shape[1], ev = v.Shape[2];
        var output = NewUninitialized<T>([batch, l, ev]);
        var logSumExp = NewUninitialized<T>([batch, l]);
        T[] Q = Data<T>(q), K = Data<T>(k), V = Data<T>(v), O = Data<T>(output), Lse = Data<T>(logSumExp);
        int qOff = q.Layout.Offset, kOff = k.Layout.Offset, vOff = v.Layout.Offset;
        int blocks = (l + AttentionRows - 1) / AttentionRows;
        Threading.For(batch * blocks, item =>
        {
            int b = item / blocks, i0 = item % blocks * AttentionRows, rows = Math.Min(AttentionRows, l - i0);
            var scratch = AttentionScratch<T>.Rent(AttentionRows * AttentionKeys + 2 * AttentionRows * ev + 3 * AttentionRows);
            var tile = scratch.AsSpan(0, AttentionRows * AttentionKeys);
            var acc = scratch.AsSpan(tile.Length, rows * ev);
            var product = scratch.AsSpan(tile.Length + AttentionRows * ev, rows * ev);
            var stats = scratch.AsSpan(tile.Length + 2 * AttentionRows * ev, 3 * AttentionRows);
            Span<T> max = stats[..rows], sum = stats.Slice(AttentionRows, rows), rescale = stats.Slice(2 * AttentionRows, rows);
            acc.Clear();
            max.Fill(T.NegativeInfinity);
            sum.Clear();
            var qBlock = StridedMatrix.Of(Q, qOff + (b * l + i0) * e, e, 1);
            int keys = causal ? Math.Min(s, i0 + rows) : s;
            for (int j0 = 0; j0 < keys; j0 += AttentionKeys)
            {
                int cols = Math.Min(AttentionKeys, keys - j0);
                if (biasValues is not null && Hidden(biasValues, bias!.Value, b, i0, rows, j0, cols)) continue;
                // Scores of the tile: Q_i·K_jᵀ, K read through transposed strides.
                Gemm.Multiply(rows, cols, e, qBlock, StridedMatrix.Of(K, kOff + (b * s + j0) * e, 1, e), scratch, 0, parallel: false);
                for (int r = 0; r < rows; r++)
                {
                    var row = tile.Slice(r * cols, cols);
                    int visible = VisibleKeys(causal, i0 + r, j0, cols);
                    if (visible == 0)
                    {
                        row.Clear();
                        rescale[r] = T.One;
                        continue;
                    }
                    var seen = row[..visible];
                    ScaleAndBias(seen, scale, biasValues, bias, b, i0 + r, j0);
                    T next = T.Max(max[r], TensorPrimitives.Max<T>(seen));
                    if (T.IsNegativeInfinity(next))
                    {
                        // Every key so far hidden by the bias: nothing to add, nothing to rescale.
                        row.Clear();
                        rescale[r] = T.One;
                        continue;
                    }
                    ExpShifted(row, visible, next);
                    rescale[r] = T.Exp(max[r] - next);   // 0 for the first block seen: m was -inf
                    sum[r] = sum[r] * rescale[r] + TensorPrimitives.Sum<T>(seen);
                    max[r] = next;
                }
                Gemm.Multiply(rows, ev, cols, StridedMatrix.Of(scratch, 0, cols, 1), StridedMatrix.Of(V, vOff + (b * s + j0) * ev, ev, 1),
                    scratch, tile.Length + AttentionRows * ev, parallel: false);
                for (int r = 0; r < rows; r++)
                {
                    var accRow = acc.Slice(r * ev, ev);
                    TensorPrimitives.MultiplyAdd(accRow, rescale[r], product.Slice(r * ev, ev), accRow);
                }
            }
            for (int r = 0; r < rows; r++)
            {
                var outputRow = O.AsSpan((b * l + i0 + r) * ev, ev);
                if (sum[r] == T.Zero)
                {
                    // A row whose every key the bias hides attends to nothing (PyTorch's safe softmax).
                    outputRow.Clear();
                    Lse[b * l + i0 + r] = T.NegativeInfinity;
                    continue;
                }
                TensorPrimitives.Divide(acc.Slice(r * ev, ev), sum[r], outputRow);
                Lse[b * l + i0 + r] = max[r] + T.Log(sum[r]);
            }
        });
        return new AttentionResult(output, logSumExp);
    }

    // Work items are batch entries, each owning its slices of dQ, dK and dV (no two threads add to
    // the same rows). For each key block, every query block that sees it: the tile's probabilities
    // P = exp(scale·Q_i·K_jᵀ + bias − lse_i) again, then dV_j += Pᵀ·dO_i, dP = dO_i·V_jᵀ,
    // dS = P ∘ (dP − D_i)·scale with D_i = Σ dO_i ∘ O_i per row, dQ_i += dS·K_j, dK_j += dSᵀ·Q_i.
    static AttentionGradients AttentionBackwardTyped<T>(RawTensor q, RawTensor k, RawTensor v, AttentionResult forward, RawTensor gradOutput, bool causal, T scale,
        AttentionBias? bias)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        T[]? biasValues = bias is { } some ? Data<T>(some.Values) : null;
        int batch = q.Shape[0], l = q.Shape[1], e = q.Shape[2], s = k.Shape[1], ev = v.Shape[2];
        var dq = New<T>([batch, l, e]);
        var dk = New<T>([batch, s, e]);
        var dv = New<T>([batch, s, ev]);
        T[] Q = Data<T>(q), K = Data<T>(k), V = Data<T>(v), O = Data<T>(forward.Output), Lse = Data<T>(forward.LogSumExp), dO = Data<T>(gradOutput);
        T[] dQ = Data<T>(dq), dK = Data<T>(dk), dV = Data<T>(dv);
        int qOff = q.Layout.Offset, kOff = k.Layout.Offset, vOff = v.Layout.Offset, oOff = forward.Output.Layout.Offset,
            lseOff = forward.LogSumExp.Layout.Offset, gOff = gradOutput.Layout.Offset;
        int width = Math.Max(e, ev);
        Threading.For(batch, b =>
        {
            // D_i for every row of this entry, then the tiles: P and dS [rows, cols], one product of
            // up to [AttentionKeys, width] or [AttentionRows, width] to add in.
            var scratch = AttentionScratch<T>.Rent(l + 2 * AttentionRows * AttentionKeys + Math.Max(AttentionRows, AttentionKeys) * width);
            var delta = scratch.AsSpan(0, l);
            int pAt = l, dsAt = pAt + AttentionRows * AttentionKeys, productAt = dsAt + AttentionRows * AttentionKeys;
            for (int i = 0; i < l; i++)
                delta[i] = TensorPrimitives.Dot<T>(dO.AsSpan(gOff + (b * l + i) * ev, ev), O.AsSpan(oOff + (b * l + i) * ev, ev));
            for (int j0 = 0; j0 < s; j0 += AttentionKeys)
            {
                int cols = Math.Min(AttentionKeys, s - j0);
                var kBlock = StridedMatrix.Of(K, kOff + (b * s + j0) * e, e, 1);
                int first = causal ? j0 / AttentionRows * AttentionRows : 0;   // earlier queries see none of these keys
                for (int i0 = first; i0 < l; i0 += AttentionRows)
                {
                    int rows = Math.Min(AttentionRows, l - i0);
                    if (biasValues is not null && Hidden(biasValues, bias!.Value, b, i0, rows, j0, cols)) continue;
                    var qBlock = StridedMatrix.Of(Q, qOff + (b * l + i0) * e, e, 1);
                    var gBlock = StridedMatrix.Of(dO, gOff + (b * l + i0) * ev, ev, 1);
                    var p = scratch.AsSpan(pAt, rows * cols);
                    var ds = scratch.AsSpan(dsAt, rows * cols);
                    Gemm.Multiply(rows, cols, e, qBlock, StridedMatrix.Of(K, kOff + (b * s + j0) * e, 1, e), scratch, pAt, parallel: false);
                    for (int r = 0; r < rows; r++)
                    {
                        var row = p.Slice(r * cols, cols);
                        int visible = VisibleKeys(causal, i0 + r, j0, cols);
                        T lse = Lse[lseOff + b * l + i0 + r];
                        if (T.IsNegativeInfinity(lse))
                        {
                            row.Clear();   // a row that attended to nothing: no probability, no gradient
                            continue;
                        }
                        BackwardProbabilities(row, visible, scale, biasValues, bias, b, i0 + r, j0, lse);
                    }
                    // dV_j += Pᵀ·dO_i (P read through transposed strides)
                    Gemm.Multiply(cols, ev, rows, StridedMatrix.Of(scratch, pAt, 1, cols), gBlock, scratch, productAt, parallel: false);
                    TensorPrimitives.Add(dV.AsSpan((b * s + j0) * ev, cols * ev), scratch.AsSpan(productAt, cols * ev), dV.AsSpan((b * s + j0) * ev, cols * ev));
                    // dP = dO_i·V_jᵀ, then dS = P ∘ (dP − D_i)·scale
                    Gemm.Multiply(rows, cols, ev, gBlock, StridedMatrix.Of(V, vOff + (b * s + j0) * ev, 1, ev), scratch, dsAt, parallel: false);
                    for (int r = 0; r < rows; r++)
                    {
                        var dsRow = ds.Slice(r * cols, cols);
                        if (typeof(T) == typeof(float) && FloatMath.IsAccelerated)
                        {
                            AttentionTileRows.ScoreGradient(MemoryMarshal.Cast<T, float>(dsRow), MemoryMarshal.Cast<T, float>(p.Slice(r * cols, cols)),
                                float.CreateTruncating(delta[i0 + r]), float.CreateTruncating(scale));
                            continue;
                        }
                        TensorPrimitives.Subtract(dsRow, delta[i0 + r], dsRow);
                        TensorPrimitives.Multiply(dsRow, p.Slice(r * cols, cols), dsRow);
                        TensorPrimitives.Multiply(dsRow, scale, dsRow);
                    }
                    // dQ_i += dS·K_j
                    Gemm.Multiply(rows, e, cols, StridedMatrix.Of(scratch, dsAt, cols, 1), kBlock, scratch, productAt, parallel: false);
                    TensorPrimitives.Add(dQ.AsSpan((b * l + i0) * e, rows * e), scratch.AsSpan(productAt, rows * e), dQ.AsSpan((b * l + i0) * e, rows * e));
                    // dK_j += dSᵀ·Q_i
                    Gemm.Multiply(cols, e, rows, StridedMatrix.Of(scratch, dsAt, 1, cols), qBlock, scratch, productAt, parallel: false);
                    TensorPrimitives.Add(dK.AsSpan((b * s + j0) * e, cols * e), scratch.AsSpan(productAt, cols * e), dK.AsSpan((b * s + j0) * e, cols * e));
                }
            }
        });
        return new AttentionGradients(dq, dk, dv);
    }

    /// <summary>Tiles and statistics of attention's work items, one buffer per thread, reused across calls.</summary>
    static class AttentionScratch<T> where T : unmanaged
    {
        [ThreadStatic] static T[]? t_buffer;

        public static T[] Rent(int length)
        {
            if (t_buffer is null || t_buffer.Length < length) t_buffer = new T[length];
            return t_buffer;
        }
    }
}
