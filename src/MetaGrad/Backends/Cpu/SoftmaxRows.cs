using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace MetaGrad.Backends.Cpu;

/// <summary>
/// Softmax, log-softmax and log-sum-exp of one float row, in as few passes as the definition
/// allows: the max; then exp(x − max) summed as it is made (and stored only where softmax keeps
/// it); then one pass that writes the result, softmax multiplying by 1/Σ as PyTorch does.
/// Through TensorPrimitives these took five or six passes, two of them dear: Max carries NaN lane
/// by lane (several times a sum's time) and Divide is a division per element.
///
/// The max here is the processor's, which may let a NaN through or not: a row holding a NaN still
/// comes out all NaN, since its exp is NaN and so is the sum every result goes through. An
/// infinite max shifts by 0, as the callers always did. Only where <see cref="FloatMath.IsAccelerated"/>.
/// </summary>
internal static class SoftmaxRows
{
    /// <summary>y = softmax(x), or log-softmax with <paramref name="log"/>; y may be x.</summary>
    public static void Softmax(ReadOnlySpan<float> x, Span<float> y, bool log)
    {
        if (FloatMath.UseVector512) Softmax<Floats16>(x, y, log);
        else Softmax<Floats8>(x, y, log);
    }

    /// <summary>Rows shorter than this go through <see cref="ShortRows"/>.</summary>
    public const int ShortRow = 16;

    /// <summary>
    /// Softmax (or log-softmax) of the rows of <paramref name="n"/> values lying back to back in x
    /// into y, for rows shorter than <see cref="ShortRow"/> (a small attention's [L, S] scores): each
    /// row's max, sum and scaling as short scalar loops, the exponentials as one vector pass over
    /// the block: row by row, each short row paid for a padded tail vector and a call of its own
    /// (bench/results/TUNING.md). The same definition as <see cref="Softmax(ReadOnlySpan{float}, Span{float}, bool)"/>; the sum
    /// is added in order, so it may round differently in its last bit.
    /// </summary>
    public static void ShortRows(ReadOnlySpan<float> x, Span<float> y, int n, bool log)
    {
        if (x.Length != y.Length || n <= 0 || x.Length % n != 0) throw new ArgumentException($"Softmax: {x.Length} values as rows of {n} into {y.Length}");
        int rows = x.Length / n;
        for (int r = 0, at = 0; r < rows; r++, at += n)
        {
            float max = float.NegativeInfinity;
            for (int j = at; j < at + n; j++) max = Math.Max(max, x[j]);
            float shift = float.IsInfinity(max) ? 0f : max;
            for (int j = at; j < at + n; j++) y[j] = x[j] - shift;
        }
        if (!log)
        {
            FloatMath.Exp(y, y);
            for (int at = 0; at < y.Length; at += n)
            {
                var row = y.Slice(at, n);
                float sum = 0;
                foreach (float e in row) sum += e;
                float inverse = 1f / sum;
                for (int j = 0; j < n; j++) row[j] *= inverse;
            }
            return;
        }
        // Log-softmax keeps x − max; the exponentials go to scratch, a block at a time.
        Span<float> exps = stackalloc float[Math.Min(y.Length, 1024 / n * n)];
        for (int start = 0; start < y.Length; start += exps.Length)
        {
            var block = y.Slice(start, Math.Min(exps.Length, y.Length - start));
            FloatMath.Exp(block, exps[..block.Length]);
            for (int at = 0; at < block.Length; at += n)
            {
                float sum = 0;
                foreach (float e in exps.Slice(at, n)) sum += e;
                float logSum = MathF.Log(sum);
                var row = block.Slice(at, n);
                for (int j = 0; j < n; j++) row[j] -= logSum;
            }
        }
    }

    /// <summary>log Σ exp(x), shifted by the max as softmax is (−inf for an empty row).</summary>
    public static float LogSumExp(ReadOnlySpan<float> x)
    {
        if (FloatMath.UseVector512) return LogSumExp<Floats16>(x);
        return LogSumExp<Floats8>(x);
    }

    /// <summary>y = scale·exp(x − shift): a cross-entropy row's gradient, given its log-sum-exp; y may be x.</summary>
    public static void ScaledExp(ReadOnlySpan<float> x, float shift, float scale, Span<float> y)
    {
        if (FloatMath.UseVector512) ExpShifted<Floats16>(x, shift, scale, y, store: true);
        else ExpShifted<Floats8>(x, shift, scale, y, store: true);
    }

    static void Softmax<TV>(ReadOnlySpan<float> x, Span<float> y, bool log) where TV : struct, IFloatVector<TV>
    {
        if (x.Length != y.Length) throw new ArgumentException($"Softmax: row of {x.Length} into {y.Length}");
        if (x.IsEmpty) return;
        float shift = Shift<TV>(x);
        if (log)
        {
            // (x − max) − log Σ, in PyTorch's order: adding the two first loses x − max's low bits.
            float logSum = MathF.Log(ExpShifted<TV>(x, shift, 1f, default, store: false));
            Subtract<TV>(x, shift, logSum, y);
        }
        else TensorPrimitives.Multiply(y, 1f / ExpShifted<TV>(x, shift, 1f, y, store: true), y);
    }

    static float LogSumExp<TV>(ReadOnlySpan<float> x) where TV : struct, IFloatVector<TV>
    {
        if (x.IsEmpty) return float.NegativeInfinity;
        float shift = Shift<TV>(x);
        return shift + MathF.Log(ExpShifted<TV>(x, shift, 1f, default, store: false));
    }

    // The max of a non-empty row, or 0 where it is infinite.
    static float Shift<TV>(ReadOnlySpan<float> x) where TV : struct, IFloatVector<TV>
    {
        int n = x.Length, w = TV.Count, i = 0;
        ref float src = ref MemoryMarshal.GetReference(x);
        var lowest = TV.Create(float.NegativeInfinity);
        TV m0 = lowest, m1 = lowest, m2 = lowest, m3 = lowest;
        // Four chains, so that the max's latency is not the pace.
        for (; i <= n - 4 * w; i += 4 * w)
        {
            m0 = TV.Max(m0, TV.Load(ref src, (nuint)i));
            m1 = TV.Max(m1, TV.Load(ref src, (nuint)(i + w)));
            m2 = TV.Max(m2, TV.Load(ref src, (nuint)(i + 2 * w)));
            m3 = TV.Max(m3, TV.Load(ref src, (nuint)(i + 3 * w)));
        }
        for (; i <= n - w; i += w) m0 = TV.Max(m0, TV.Load(ref src, (nuint)i));
        float max = TV.Max(TV.Max(m0, m1), TV.Max(m2, m3)).HorizontalMax();
        for (; i < n; i++) max = Math.Max(max, x[i]);
        return float.IsInfinity(max) ? 0f : max;
    }

    // Σ exp(x − shift), each term also stored as scale·exp(x − shift) into y when asked.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static float ExpShifted<TV>(ReadOnlySpan<float> x, float shift, float scale, Span<float> y, bool store) where TV : struct, IFloatVector<TV>
    {
        if (store && x.Length != y.Length) throw new ArgumentException($"Softmax: row of {x.Length} into {y.Length}");
        int n = x.Length, w = TV.Count, i = 0;
        ref float src = ref MemoryMarshal.GetReference(x);
        ref float dst = ref MemoryMarshal.GetReference(y);
        var by = TV.Create(shift);
        var times = TV.Create(scale);
        var sum = TV.Create(0f);
        for (; i <= n - w; i += w)
        {
            var e = FloatMath.ExpVector(TV.Load(ref src, (nuint)i) - by);
            sum += e;
            if (store) (e * times).Store(ref dst, (nuint)i);
        }
        if (i < n)
        {
            // The tail through a full vector padded with -inf, whose exp adds nothing.
            Span<float> tail = stackalloc float[16];
            tail.Fill(float.NegativeInfinity);
            x[i..].CopyTo(tail);
            ref float t = ref MemoryMarshal.GetReference(tail);
            var e = FloatMath.ExpVector(TV.Load(ref t, 0) - by);
            sum += e;
            if (store)
            {
                (e * times).Store(ref t, 0);
                tail[..(n - i)].CopyTo(y[i..]);
            }
        }
        return sum.HorizontalSum();
    }

    // y = (x − shift) − logSum.
    static void Subtract<TV>(ReadOnlySpan<float> x, float shift, float logSum, Span<float> y) where TV : struct, IFloatVector<TV>
    {
        int n = x.Length, w = TV.Count, i = 0;
        ref float src = ref MemoryMarshal.GetReference(x);
        ref float dst = ref MemoryMarshal.GetReference(y);
        TV by = TV.Create(shift), less = TV.Create(logSum);
        for (; i <= n - w; i += w) (TV.Load(ref src, (nuint)i) - by - less).Store(ref dst, (nuint)i);
        for (; i < n; i++) y[i] = x[i] - shift - logSum;
    }
}
