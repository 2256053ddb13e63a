using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace MetaGrad.Backends.Cpu;

// The pointwise work of one LSTM row, forwards and backwards: the part of a step around its matrix
// product. Each has a plain form (passes over spans, scalar loops) that the vectorised one is held
// equal to, bit for bit.
internal sealed partial class CpuBackend
{
    /// <summary>
    /// One row of an LSTM step: a = activated gates of (r + bias) + (input + inputBias), c ← σ(f)⊙c + σ(i)⊙tanh(g)
    /// (its old value kept in cPrev when that is given), tanhC = tanh(c), output = σ(o)⊙tanhC.
    /// </summary>
    internal static void LstmRow<T>(Span<T> r, ReadOnlySpan<T> bias, ReadOnlySpan<T> input, ReadOnlySpan<T> inputBias, Span<T> a, Span<T> c, Span<T> cPrev,
        Span<T> tanhC, Span<T> output) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (typeof(T) == typeof(float) && FloatMath.IsAccelerated)
            LstmRowFused(Floats(r), Floats(bias), Floats(input), Floats(inputBias), Floats(a), Floats(c), Floats(cPrev), Floats(tanhC), Floats(output));
        else LstmRowPasses(r, bias, input, inputBias, a, c, cPrev, tanhC, output);
    }

    static Span<float> Floats<T>(Span<T> x) where T : unmanaged => MemoryMarshal.Cast<T, float>(x);

    static ReadOnlySpan<float> Floats<T>(ReadOnlySpan<T> x) where T : unmanaged => MemoryMarshal.Cast<T, float>(x);

    // The row as passes over spans (double, or no AVX2): the reference the fused float row must equal.
    internal static void LstmRowPasses<T>(Span<T> r, ReadOnlySpan<T> bias, ReadOnlySpan<T> input, ReadOnlySpan<T> inputBias, Span<T> a, Span<T> c, Span<T> cPrev,
        Span<T> tanhC, Span<T> output) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int hidden = c.Length;
        if (!bias.IsEmpty) TensorPrimitives.Add(r, bias, r);
        if (inputBias.IsEmpty) TensorPrimitives.Add(r, input, a);
        else
        {
            TensorPrimitives.Add(input, inputBias, a);
            TensorPrimitives.Add(r, a, a);
        }
        FloatMath.Sigmoid<T>(a[..(2 * hidden)], a[..(2 * hidden)]);
        FloatMath.Tanh<T>(a.Slice(2 * hidden, hidden), a.Slice(2 * hidden, hidden));
        FloatMath.Sigmoid<T>(a.Slice(3 * hidden, hidden), a.Slice(3 * hidden, hidden));
        if (!cPrev.IsEmpty) c.CopyTo(cPrev);
        TensorPrimitives.Multiply(a.Slice(hidden, hidden), c, c);
        TensorPrimitives.MultiplyAdd(a[..hidden], a.Slice(2 * hidden, hidden), c, c);
        FloatMath.Tanh<T>(c, tanhC);
        TensorPrimitives.Multiply(a.Slice(3 * hidden, hidden), tanhC, output);
    }

    // The same row in one pass, a vector of hidden units at a time with every intermediate in
    // registers: the dozen passes above (a few hundred elements each, with a call and a trip to L1
    // apiece) were a tenth of an LSTM training step. The same operations in the same order: bit-identical.
    internal static void LstmRowFused(Span<float> r, ReadOnlySpan<float> bias, ReadOnlySpan<float> input, ReadOnlySpan<float> inputBias, Span<float> a,
        Span<float> c, Span<float> cPrev, Span<float> tanhC, Span<float> output)
    {
        if (FloatMath.UseVector512) LstmRowFused<Floats16>(r, bias, input, inputBias, a, c, cPrev, tanhC, output);
        else LstmRowFused<Floats8>(r, bias, input, inputBias, a, c, cPrev, tanhC, output);
    }

    static void LstmRowFused<TV>(Span<float> r, ReadOnlySpan<float> bias, ReadOnlySpan<float> input, ReadOnlySpan<float> inputBias, Span<float> a,
        Span<float> c, Span<float> cPrev, Span<float> tanhC, Span<float> output) where TV : struct, IFloatVector<TV>
    {
        int hidden = c.Length, j = 0, w = TV.Count;
        bool hasBias = !bias.IsEmpty, hasInputBias = !inputBias.IsEmpty, keepPrev = !cPrev.IsEmpty;
        for (; j <= hidden - w; j += w)
            LstmChunk<TV>(ref MemoryMarshal.GetReference(r), ref MemoryMarshal.GetReference(bias), hasBias, ref MemoryMarshal.GetReference(input),
                ref MemoryMarshal.GetReference(inputBias), hasInputBias,
                ref MemoryMarshal.GetReference(a), ref MemoryMarshal.GetReference(c), ref MemoryMarshal.GetReference(cPrev), keepPrev,
                ref MemoryMarshal.GetReference(tanhC), ref MemoryMarshal.GetReference(output), (nuint)hidden, (nuint)j);
        int rest = hidden - j;
        if (rest == 0) return;
        // The last units through full vectors on the stack (gate stride w), for the body's rounding.
        Span<float> tr = stackalloc float[64], tb = stackalloc float[64], tx = stackalloc float[64], ti = stackalloc float[64], ta = stackalloc float[64];
        Span<float> tc = stackalloc float[16], tp = stackalloc float[16], tt = stackalloc float[16], to = stackalloc float[16];
        for (int q = 0; q < 4; q++)
        {
            r.Slice(q * hidden + j, rest).CopyTo(tr[(q * w)..]);
            if (hasBias) bias.Slice(q * hidden + j, rest).CopyTo(tb[(q * w)..]);
            input.Slice(q * hidden + j, rest).CopyTo(tx[(q * w)..]);
            if (hasInputBias) inputBias.Slice(q * hidden + j, rest).CopyTo(ti[(q * w)..]);
        }
        c.Slice(j, rest).CopyTo(tc);
        LstmChunk<TV>(ref tr[0], ref tb[0], hasBias, ref tx[0], ref ti[0], hasInputBias, ref ta[0], ref tc[0], ref tp[0], keepPrev, ref tt[0], ref to[0], (nuint)w, 0);
        for (int q = 0; q < 4; q++) ta.Slice(q * w, rest).CopyTo(a[(q * hidden + j)..]);
        tc[..rest].CopyTo(c[j..]);
        if (keepPrev) tp[..rest].CopyTo(cPrev[j..]);
        tt[..rest].CopyTo(tanhC[j..]);
        to[..rest].CopyTo(output[j..]);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void LstmChunk<TV>(ref float r, ref float bias, bool hasBias, ref float input, ref float inputBias, bool hasInputBias, ref float a,
        ref float c, ref float cPrev, bool keepPrev, ref float tanhC, ref float output, nuint stride, nuint j) where TV : struct, IFloatVector<TV>
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        static TV Pre(ref float r, ref float bias, bool hasBias, ref float input, ref float inputBias, bool hasInputBias, nuint at)
        {
            var x = TV.Load(ref r, at);
            if (hasBias) x += TV.Load(ref bias, at);
            var y = TV.Load(ref input, at);
            if (hasInputBias) y += TV.Load(ref inputBias, at);
            return x + y;
        }
        var i = FloatMath.Sigmoid(Pre(ref r, ref bias, hasBias, ref input, ref inputBias, hasInputBias, j));
        var f = FloatMath.Sigmoid(Pre(ref r, ref bias, hasBias, ref input, ref inputBias, hasInputBias, j + stride));
        var g = FloatMath.Tanh(Pre(ref r, ref bias, hasBias, ref input, ref inputBias, hasInputBias, j + 2 * stride));
        var o = FloatMath.Sigmoid(Pre(ref r, ref bias, hasBias, ref input, ref inputBias, hasInputBias, j + 3 * stride));
        i.Store(ref a, j);
        f.Store(ref a, j + stride);
        g.Store(ref a, j + 2 * stride);
        o.Store(ref a, j + 3 * stride);
        var previous = TV.Load(ref c, j);
        if (keepPrev) previous.Store(ref cPrev, j);
        var next = f * previous;
        next = i * g + next;
        next.Store(ref c, j);
        var t = FloatMath.Tanh(next);
        t.Store(ref tanhC, j);
        (o * t).Store(ref output, j);
    }

    /// <summary>
    /// One row of the LSTM backward: dh += dOut (the gradient reaching this step's output), the
    /// gates' gradients into d (as <see cref="LstmBackward"/>), dc carried to the previous step,
    /// and d added into dBias. Vectorised (Vector256 of float or double); the tail as scalars, with
    /// the same operations in the same order, so every element rounds as the scalar loop's would.
    /// </summary>
    internal static void LstmBackwardRow<T>(Span<T> dh, ReadOnlySpan<T> dOut, Span<T> dc, ReadOnlySpan<T> a, ReadOnlySpan<T> cells, Span<T> d, Span<T> dBias)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int hidden = dh.Length, j = 0;
        if (Vector256.IsHardwareAccelerated && (typeof(T) == typeof(float) || typeof(T) == typeof(double)))
        {
            ref T rdh = ref MemoryMarshal.GetReference(dh), rdo = ref MemoryMarshal.GetReference(dOut), rdc = ref MemoryMarshal.GetReference(dc);
            ref T ra = ref MemoryMarshal.GetReference(a), rcell = ref MemoryMarshal.GetReference(cells);
            ref T rd = ref MemoryMarshal.GetReference(d), rb = ref MemoryMarshal.GetReference(dBias);
            nuint h = (nuint)hidden;
            var one = Vector256<T>.One;
            for (; j <= hidden - Vector256<T>.Count; j += Vector256<T>.Count)
            {
                nuint at = (nuint)j;
                var g0 = Vector256.LoadUnsafe(ref rdh, at) + Vector256.LoadUnsafe(ref rdo, at);
                g0.StoreUnsafe(ref rdh, at);
                var i = Vector256.LoadUnsafe(ref ra, at);
                var f = Vector256.LoadUnsafe(ref ra, at + h);
                var g = Vector256.LoadUnsafe(ref ra, at + 2 * h);
                var o = Vector256.LoadUnsafe(ref ra, at + 3 * h);
                var cPrev = Vector256.LoadUnsafe(ref rcell, at);
                var tanhC = Vector256.LoadUnsafe(ref rcell, at + h);
                var dcTotal = Vector256.LoadUnsafe(ref rdc, at) + g0 * o * (one - tanhC * tanhC);
                var di = dcTotal * g * i * (one - i);
                var df = dcTotal * cPrev * f * (one - f);
                var dg = dcTotal * i * (one - g * g);
                var dO = g0 * tanhC * o * (one - o);
                di.StoreUnsafe(ref rd, at);
                df.StoreUnsafe(ref rd, at + h);
                dg.StoreUnsafe(ref rd, at + 2 * h);
                dO.StoreUnsafe(ref rd, at + 3 * h);
                (Vector256.LoadUnsafe(ref rb, at) + di).StoreUnsafe(ref rb, at);
                (Vector256.LoadUnsafe(ref rb, at + h) + df).StoreUnsafe(ref rb, at + h);
                (Vector256.LoadUnsafe(ref rb, at + 2 * h) + dg).StoreUnsafe(ref rb, at + 2 * h);
                (Vector256.LoadUnsafe(ref rb, at + 3 * h) + dO).StoreUnsafe(ref rb, at + 3 * h);
                (dcTotal * f).StoreUnsafe(ref rdc, at);
            }
        }
        for (int k = j; k < hidden; k++) dh[k] += dOut[k];
        LstmBackward<T>(dh, dc, a, cells, d, j);
        for (int q = 0; q < 4; q++)
            for (int k = j; k < hidden; k++) dBias[q * hidden + k] += d[q * hidden + k];
    }

    // With a = (i, f, g, o) activated and cells = (c_prev, tanh c'): the total gradient reaching c' is
    // dc + dh·o·(1 - tanh²c'); each gate's pre-activation gradient is that through its product and
    // its activation's derivative (σ' = σ(1-σ), tanh' = 1 - tanh²); dc becomes the part through f.
    // Units from `from` on; the reference the vectorised row must equal.
    internal static void LstmBackward<T>(ReadOnlySpan<T> dh, Span<T> dc, ReadOnlySpan<T> a, ReadOnlySpan<T> cells, Span<T> d, int from = 0)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int hidden = dh.Length;
        for (int j = from; j < hidden; j++)
        {
            T i = a[j], f = a[hidden + j], g = a[2 * hidden + j], o = a[3 * hidden + j];
            T cPrev = cells[j], tanhC = cells[hidden + j];
            T dcTotal = dc[j] + dh[j] * o * (T.One - tanhC * tanhC);
            d[j] = dcTotal * g * i * (T.One - i);
            d[hidden + j] = dcTotal * cPrev * f * (T.One - f);
            d[2 * hidden + j] = dcTotal * i * (T.One - g * g);
            d[3 * hidden + j] = dh[j] * tanhC * o * (T.One - o);
            dc[j] = dcTotal * f;
        }
    }
}
