using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace MetaGrad.Backends.Cpu;

// A depthwise convolution (groups = input channels: output channel o reads input plane o / m alone,
// m = O / C) has a kh·kw-long dot product per output: as a matrix product it is C products of one
// row each, which im2col and a batched product ran at a twentieth of libtorch's speed. Here each
// plane is convolved directly, vectorised along output columns: the plane is first copied into a
// zero-bordered scratch whose rows are split by stride phase (column q of a padded row goes to
// phase q % s at q / s), so that the taps of a strided convolution read contiguous vectors too.
// The backward runs the same walks: the weight's gradient a dot product of dy with each tap's
// shifted plane, the input's the taps spreading dy back into a phased scratch, folded out at the end.
internal sealed unsafe partial class CpuBackend
{
    static bool IsDepthwise(RawTensor x, RawTensor weight, int groups) =>
        Depthwise.Covers(x.Shape[1], weight.Shape[1], weight.Shape[2], weight.Shape[3], groups);

    /// <summary>
    /// Where the taps read: a padded plane of hp rows, each row s phases of PhaseLength values
    /// (the last vector's width of zeros to spare, so a row's last vector may be loaded whole).
    /// </summary>
    readonly struct PhasedPlane
    {
        public readonly int Rows, Stride, PhaseLength, RowLength, PadH, PadW, H, W;

        public PhasedPlane(Windows2d g, int h, int w, int width)
        {
            (H, W, PadH, PadW, Stride) = (h, w, g.PadH, g.PadW, g.StrideW);
            Rows = h + 2 * g.PadH;
            int wp = w + 2 * g.PadW;
            PhaseLength = (wp + Stride - 1) / Stride + width;
            RowLength = Stride * PhaseLength;
        }

        public int Length => Rows * RowLength;

        // Where padded column q of a row lies within it.
        public int At(int q) => q % Stride * PhaseLength + q / Stride;

        /// <summary>Where tap (ki, kj) reads relative to its window's corner.</summary>
        public nint TapOffset(Windows2d g, int ki, int kj) => (nint)ki * g.DilationH * RowLength + At(kj * g.DilationW);

        /// <summary>The plane (H × W from src) into dst, zeros around it.</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public void Fill<T>(T* dst, T* src) where T : unmanaged
        {
            // Clearing the whole plane (a few KB, in L1) and copying rows over it took less time
            // than clearing only the border around each row.
            new Span<T>(dst, Length).Clear();
            for (int y = 0; y < H; y++)
            {
                T* row = dst + (y + PadH) * RowLength, from = src + y * W;
                if (Stride != 1)
                {
                    for (int x = 0; x < W; x++) row[At(x + PadW)] = from[x];
                    continue;
                }
                row += PadW;
                int v = Vector256<T>.Count, x0 = 0;
                for (; x0 + v <= W; x0 += v) Vector256.Store(Vector256.Load(from + x0), row + x0);
                for (; x0 < W; x0++) row[x0] = from[x0];
            }
        }

        /// <summary>The plane's values (the padding dropped) from src into dst (H × W).</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public void Extract<T>(T* dst, T* src) where T : unmanaged
        {
            for (int y = 0; y < H; y++)
            {
                T* row = src + (y + PadH) * RowLength;
                if (Stride == 1) new ReadOnlySpan<T>(row + PadW, W).CopyTo(new Span<T>(dst + y * W, W));
                else
                    for (int x = 0; x < W; x++) dst[y * W + x] = row[At(x + PadW)];
            }
        }
    }

    // Threads take ranges of planes when the work is worth it.
    static void EachPlaneRange(int planes, long workPerPlane, Action<int, int> body)
    {
        int parts = Threading.NumThreads > 1 && planes * workPerPlane >= Gemm.ParallelWork / 4 ? Math.Min(Threading.NumThreads, planes) : 1;
        if (parts == 1) body(0, planes);
        else Threading.For(parts, part => body(part * planes / parts, (part + 1) * planes / parts));
    }

    static RawTensor DepthwiseForward<T>(RawTensor x, RawTensor weight, RawTensor? bias, Windows2d g) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int n = x.Shape[0], c = x.Shape[1], h = x.Shape[2], w = x.Shape[3], o = weight.Shape[0], m = o / c;
        int oh = g.OutH(h), ow = g.OutW(w);
        using var input = Dense<T>(x);
        using var kernel = Dense<T>(weight);
        using var shift = Dense<T>(bias);
        var (X, xAt) = input;
        var (W, wAt) = kernel;
        var (B, bAt) = (shift.Array, shift.Offset);
        var y = NewUninitialized<T>([n, o, oh, ow]);
        var Y = Data<T>(y);
        var plane = new PhasedPlane(g, h, w, Vector256<T>.Count);
        EachPlaneRange(n * c, (long)m * g.Size * oh * ow, (first, end) =>
        {
            var scratch = ScratchOf<T>(plane.Length);
            fixed (T* px = X, pw = W, py = Y, padded = scratch)
                for (int p = first; p < end; p++)
                {
                    plane.Fill(padded, px + xAt + p * h * w);
                    int sample = p / c, channel = p % c;
                    for (int j = 0; j < m; j++)
                    {
                        int oc = channel * m + j;
                        T start = B is null ? T.Zero : B[bAt + oc];
                        ConvolvePlane(padded, plane, pw + wAt + oc * g.Size, start, g, py + (sample * o + oc) * oh * ow, oh, ow);
                    }
                }
            ReleaseScratch(scratch);
        });
        return y;
    }

    // y (oh × ow) = start + Σ taps · the padded plane's shifted windows, eight output vectors at a
    // time (the plane's vectors in row order, a row's last one possibly partial): eight chains of
    // multiply-adds across the taps, each tap's value and offset loaded once for the eight. (One
    // vector at a time, a 7×7 kernel's 49-long chain waited on every add; rows of two vectors
    // leave too few for blocks of whole rows.)
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void ConvolvePlane<T>(T* padded, in PhasedPlane plane, T* taps, T start, Windows2d g, T* y, int oh, int ow) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int v = Vector256<T>.Count, kh = g.KernelH, kw = g.KernelW, size = kh * kw;
        nint down = (nint)g.StrideH * plane.RowLength;
        // Each tap's value in a whole vector, and where it reads relative to the window's corner.
        var tapVectors = stackalloc Vector256<T>[size];
        nint* offsets = stackalloc nint[size];
        for (int ki = 0; ki < kh; ki++)
            for (int kj = 0; kj < kw; kj++)
            {
                tapVectors[ki * kw + kj] = Vector256.Create(taps[ki * kw + kj]);
                offsets[ki * kw + kj] = plane.TapOffset(g, ki, kj);
            }
        var first = Vector256.Create(start);
        // Where each of the eight reads and writes, and how many of its columns are the row's; a
        // block past the plane's end reads the plane's corner and writes a spare vector.
        T* spare = stackalloc T[v];
        nint* from = stackalloc nint[8], to = stackalloc nint[8];
        int* columns = stackalloc int[8];
        for (int oy = 0, ox = 0; oy < oh;)
        {
            for (int k = 0; k < 8; k++)
            {
                if (oy < oh)
                {
                    (from[k], to[k], columns[k]) = ((nint)(padded + oy * down + ox), (nint)(y + oy * ow + ox), Math.Min(v, ow - ox));
                    if ((ox += v) >= ow) (oy, ox) = (oy + 1, 0);
                }
                else (from[k], to[k], columns[k]) = ((nint)padded, (nint)spare, v);
            }
            T* s0 = (T*)from[0], s1 = (T*)from[1], s2 = (T*)from[2], s3 = (T*)from[3];
            T* s4 = (T*)from[4], s5 = (T*)from[5], s6 = (T*)from[6], s7 = (T*)from[7];
            var (a0, a1, a2, a3, a4, a5, a6, a7) = (first, first, first, first, first, first, first, first);
            for (int t = 0; t < size; t++)
            {
                var tap = tapVectors[t];
                nint at = offsets[t];
                a0 = Gemm.Fma(tap, Vector256.Load(s0 + at), a0);
                a1 = Gemm.Fma(tap, Vector256.Load(s1 + at), a1);
                a2 = Gemm.Fma(tap, Vector256.Load(s2 + at), a2);
                a3 = Gemm.Fma(tap, Vector256.Load(s3 + at), a3);
                a4 = Gemm.Fma(tap, Vector256.Load(s4 + at), a4);
                a5 = Gemm.Fma(tap, Vector256.Load(s5 + at), a5);
                a6 = Gemm.Fma(tap, Vector256.Load(s6 + at), a6);
                a7 = Gemm.Fma(tap, Vector256.Load(s7 + at), a7);
            }
            StoreColumns(a0, (T*)to[0], columns[0]); StoreColumns(a1, (T*)to[1], columns[1]);
            StoreColumns(a2, (T*)to[2], columns[2]); StoreColumns(a3, (T*)to[3], columns[3]);
            StoreColumns(a4, (T*)to[4], columns[4]); StoreColumns(a5, (T*)to[5], columns[5]);
            StoreColumns(a6, (T*)to[6], columns[6]); StoreColumns(a7, (T*)to[7], columns[7]);
        }
    }

    // A vector of outputs: whole, or its first `count` (a row's last, the rest would land on the next row).
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void StoreColumns<T>(Vector256<T> values, T* at, int count) where T : unmanaged
    {
        if (count == Vector256<T>.Count) values.Store(at);
        else
            for (int i = 0; i < count; i++) at[i] = values.GetElement(i);
    }

    static ConvGradients DepthwiseBackward<T>(RawTensor x, RawTensor weight, RawTensor gradOutput, Windows2d g, bool wantInput, bool wantWeight, bool wantBias)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int n = x.Shape[0], c = x.Shape[1], h = x.Shape[2], w = x.Shape[3], o = weight.Shape[0], m = o / c;
        int oh = g.OutH(h), ow = g.OutW(w), v = Vector256<T>.Count;
        using var input = Dense<T>(x);
        using var kernel = Dense<T>(weight);
        using var gradRun = Dense<T>(gradOutput);
        var (X, xAt) = input;
        var (W, wAt) = kernel;
        var (D, dAt) = gradRun;
        var plane = new PhasedPlane(g, h, w, v);
        RawTensor? gradInput = wantInput ? NewUninitialized<T>([n, c, h, w]) : default(RawTensor?);
        RawTensor? gradWeight = wantWeight ? New<T>([.. weight.Shape]) : default(RawTensor?);
        RawTensor? gradBias = wantBias ? New<T>([o]) : default(RawTensor?);
        var DX = gradInput is { } dx ? Data<T>(dx) : null;
        var DW = gradWeight is { } dw ? Data<T>(dw) : null;
        var DB = gradBias is { } db ? Data<T>(db) : null;
        // The weight's and bias's gradients sum over samples: threads take channels, each all its
        // samples, so no two write the same gradient. The input's take planes.
        if (DW is not null || DB is not null)
            EachPlaneRange(c, (long)n * m * g.Size * oh * ow, (first, end) =>
            {
                var scratch = ScratchOf<T>(plane.Length);
                fixed (T* px = X, pd = D, pdw = DW, pdb = DB, padded = scratch)
                    for (int channel = first; channel < end; channel++)
                        for (int sample = 0; sample < n; sample++)
                        {
                            if (DW is not null) plane.Fill(padded, px + xAt + (sample * c + channel) * h * w);
                            for (int j = 0; j < m; j++)
                            {
                                int oc = channel * m + j;
                                T* dy = pd + dAt + (sample * o + oc) * oh * ow;
                                if (pdb is not null) pdb[oc] += TensorSum(dy, oh * ow);
                                if (pdw is not null) AddTapGradients(padded, plane, dy, g, oh, ow, pdw + oc * g.Size);
                            }
                        }
                ReleaseScratch(scratch);
            });
        // With stride 1 the input's gradient is itself a convolution: of dy, padded by d·(k − 1) − p,
        // with the taps flipped; the forward's kernel then gathers where spreading stored every tap.
        var adjoint = g with { PadH = g.DilationH * (g.KernelH - 1) - g.PadH, PadW = g.DilationW * (g.KernelW - 1) - g.PadW };
        if (DX is not null && g.StrideH == 1 && g.StrideW == 1 && adjoint.PadH >= 0 && adjoint.PadW >= 0)
        {
            var dyPlane = new PhasedPlane(adjoint, oh, ow, v);
            EachPlaneRange(n * c, (long)m * g.Size * oh * ow, (first, end) =>
            {
                var scratch = ScratchOf<T>(dyPlane.Length + (m > 1 ? h * w : 0));
                T* flipped = stackalloc T[g.Size];
                fixed (T* pw = W, pd = D, pdx = DX, padded = scratch)
                    for (int p = first; p < end; p++)
                    {
                        int sample = p / c, channel = p % c;
                        T* target = pdx + p * h * w, single = padded + dyPlane.Length;
                        for (int j = 0; j < m; j++)
                        {
                            int oc = channel * m + j;
                            for (int t = 0; t < g.Size; t++) flipped[t] = pw[wAt + oc * g.Size + g.Size - 1 - t];
                            dyPlane.Fill(padded, pd + dAt + (sample * o + oc) * oh * ow);
                            // Several outputs per channel: each one's part summed into the first's.
                            ConvolvePlane(padded, dyPlane, flipped, T.Zero, adjoint, j == 0 ? target : single, h, w);
                            if (j > 0) System.Numerics.Tensors.TensorPrimitives.Add(new ReadOnlySpan<T>(target, h * w), new ReadOnlySpan<T>(single, h * w), new Span<T>(target, h * w));
                        }
                    }
                ReleaseScratch(scratch);
            });
        }
        else if (DX is not null)
            EachPlaneRange(n * c, (long)m * g.Size * oh * ow, (first, end) =>
            {
                var scratch = ScratchOf<T>(plane.Length);
                fixed (T* pw = W, pd = D, pdx = DX, spread = scratch)
                    for (int p = first; p < end; p++)
                    {
                        int sample = p / c, channel = p % c;
                        new Span<T>(spread, plane.Length).Clear();
                        for (int j = 0; j < m; j++)
                        {
                            int oc = channel * m + j;
                            SpreadTaps(spread, plane, pd + dAt + (sample * o + oc) * oh * ow, g, oh, ow, pw + wAt + oc * g.Size);
                        }
                        plane.Extract(pdx + p * h * w, spread);
                    }
                ReleaseScratch(scratch);
            });
        return new ConvGradients(gradInput, gradWeight, gradBias);
    }

    static T TensorSum<T>(T* values, int count) where T : unmanaged, IFloatingPointIeee754<T> =>
        System.Numerics.Tensors.TensorPrimitives.Sum<T>(new ReadOnlySpan<T>(values, count));

    // gradient[tap] += Σ dy · the padded plane's window of that tap: nine taps at a time (a 3×3
    // kernel's all), each of dy's vectors loaded once for the nine; each row's last columns one by
    // one (a vector there would pair dy's next row with the tap).
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void AddTapGradients<T>(T* padded, in PhasedPlane plane, T* dy, Windows2d g, int oh, int ow, T* gradient) where T : unmanaged, IFloatingPointIeee754<T>
    {
        const int Group = 9;
        int v = Vector256<T>.Count, size = g.Size, whole = ow / v * v;
        nint* offsets = stackalloc nint[size];
        for (int ki = 0; ki < g.KernelH; ki++)
            for (int kj = 0; kj < g.KernelW; kj++)
                offsets[ki * g.KernelW + kj] = plane.TapOffset(g, ki, kj);
        nint down = (nint)g.StrideH * plane.RowLength;
        T* rest = stackalloc T[Group];
        var sums = stackalloc Vector256<T>[Group];
        nint* o = stackalloc nint[Group];
        for (int t0 = 0; t0 < size; t0 += Group)
        {
            int count = Math.Min(Group, size - t0);
            // A group of fewer than nine repeats its last tap in the spare places, summed and dropped.
            for (int k = 0; k < Group; k++) o[k] = offsets[t0 + Math.Min(k, count - 1)];
            nint o0 = o[0], o1 = o[1], o2 = o[2], o3 = o[3], o4 = o[4], o5 = o[5], o6 = o[6], o7 = o[7], o8 = o[8];
            var (a0, a1, a2, a3, a4, a5, a6, a7, a8) = (Vector256<T>.Zero, Vector256<T>.Zero, Vector256<T>.Zero, Vector256<T>.Zero,
                Vector256<T>.Zero, Vector256<T>.Zero, Vector256<T>.Zero, Vector256<T>.Zero, Vector256<T>.Zero);
            new Span<T>(rest, Group).Clear();
            for (int oy = 0; oy < oh; oy++)
            {
                T* s = padded + oy * down, d = dy + oy * ow;
                for (int ox = 0; ox < whole; ox += v)
                {
                    var e = Vector256.Load(d + ox);
                    T* at = s + ox;
                    a0 = Gemm.Fma(e, Vector256.Load(at + o0), a0);
                    a1 = Gemm.Fma(e, Vector256.Load(at + o1), a1);
                    a2 = Gemm.Fma(e, Vector256.Load(at + o2), a2);
                    a3 = Gemm.Fma(e, Vector256.Load(at + o3), a3);
                    a4 = Gemm.Fma(e, Vector256.Load(at + o4), a4);
                    a5 = Gemm.Fma(e, Vector256.Load(at + o5), a5);
                    a6 = Gemm.Fma(e, Vector256.Load(at + o6), a6);
                    a7 = Gemm.Fma(e, Vector256.Load(at + o7), a7);
                    a8 = Gemm.Fma(e, Vector256.Load(at + o8), a8);
                }
                for (int ox = whole; ox < ow; ox++)
                    for (int k = 0; k < count; k++) rest[k] += d[ox] * s[ox + o[k]];
            }
            (sums[0], sums[1], sums[2], sums[3], sums[4], sums[5], sums[6], sums[7], sums[8]) = (a0, a1, a2, a3, a4, a5, a6, a7, a8);
            for (int k = 0; k < count; k++) gradient[t0 + k] += Vector256.Sum(sums[k]) + rest[k];
        }
    }

    // spread (a phased padded plane) += each tap · dy, placed where that tap read the forward's input.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void SpreadTaps<T>(T* spread, in PhasedPlane plane, T* dy, Windows2d g, int oh, int ow, T* taps) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int v = Vector256<T>.Count;
        for (int ki = 0; ki < g.KernelH; ki++)
            for (int kj = 0; kj < g.KernelW; kj++)
            {
                T value = taps[ki * g.KernelW + kj];
                var tap = Vector256.Create(value);
                T* target = spread + plane.TapOffset(g, ki, kj);
                for (int oy = 0; oy < oh; oy++)
                {
                    T* t = target + oy * g.StrideH * plane.RowLength, d = dy + oy * ow;
                    int ox = 0;
                    for (; ox + v <= ow; ox += v)
                        Gemm.Fma(tap, Vector256.Load(d + ox), Vector256.Load(t + ox)).Store(t + ox);
                    for (; ox < ow; ox++) t[ox] += value * d[ox];
                }
            }
    }
}
