using System.Numerics;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace MetaGrad.Backends.Cpu;

// im2col and its adjoint col2im: a convolution becomes one matrix product over the columns, and a
// pooling a reduction over them. Each (image, channel) plane is one job: it reads (im2col) or
// writes (col2im) only its own kernel-sized band of rows, so planes run in parallel without locks.
internal sealed unsafe partial class CpuBackend
{
    public RawTensor Im2Col(RawTensor x, Windows2d g) => x.DType switch
    {
        DType.Float32 => Im2ColTyped<float>(x, g),
        DType.Float64 => Im2ColTyped<double>(x, g),
        _ => throw new ArgumentException($"Unfold: expected a floating input, got {x.DType}"),
    };

    public RawTensor Col2Im(RawTensor cols, int height, int width, Windows2d g) => cols.DType switch
    {
        DType.Float32 => Col2ImTyped<float>(cols, height, width, g),
        DType.Float64 => Col2ImTyped<double>(cols, height, width, g),
        _ => throw new ArgumentException($"Fold: expected a floating input, got {cols.DType}"),
    };

    static RawTensor Im2ColTyped<T>(RawTensor x, Windows2d g) where T : unmanaged, INumber<T>
    {
        int n = x.Shape[0], c = x.Shape[1], h = x.Shape[2], w = x.Shape[3];
        int oh = g.OutH(h), ow = g.OutW(w), positions = oh * ow;
        using var input = Dense<T>(x);
        var (X, xAt) = input;
        var y = NewUninitialized<T>([n, c * g.Size, positions]);
        var Y = Data<T>(y);
        var windows = WindowsOf(g, 1, h, w, ow);
        Threading.For(Planes(n * c, (long)g.Size * positions), job =>
        {
            foreach (int plane in PlaneRange(job, n * c, (long)g.Size * positions))
                fixed (T* dst = Y)
                    FillWindows(dst + plane * g.Size * positions, positions, windows, PlaneRuns(oh, ow), new SampleImage<T>(X, xAt + plane * h * w, h, w), g);
        });
        return y;
    }

    static RawTensor Col2ImTyped<T>(RawTensor cols, int h, int w, Windows2d g) where T : unmanaged, INumber<T>
    {
        int n = cols.Shape[0], c = cols.Shape[1] / g.Size;
        int oh = g.OutH(h), ow = g.OutW(w), positions = oh * ow;
        using var columns = Dense<T>(cols);
        var (C, cAt) = columns;
        var y = New<T>([n, c, h, w]);
        var Y = Data<T>(y);
        Threading.For(Planes(n * c, (long)g.Size * positions), job =>
        {
            foreach (int plane in PlaneRange(job, n * c, (long)g.Size * positions))
                FoldPlane(C.AsSpan(cAt + plane * g.Size * positions, g.Size * positions), Y.AsSpan(plane * h * w, h * w), h, w, g);
        });
        return y;
    }

    // The runs of a whole plane of window positions: one per output row.
    static Run[] PlaneRuns(int oh, int ow) => [.. Enumerable.Range(0, oh).Select(oy => new Run(oy, 0, ow, oy * ow))];

    // One plane's columns [kh·kw, oh·ow] added into its image [h, w] (which overlapping windows share).
    static void FoldPlane<T>(ReadOnlySpan<T> cols, Span<T> image, int h, int w, Windows2d g) where T : unmanaged, INumber<T>
    {
        int oh = g.OutH(h), ow = g.OutW(w), positions = oh * ow;
        for (int ki = 0; ki < g.KernelH; ki++)
            for (int kj = 0; kj < g.KernelW; kj++)
            {
                var row = cols.Slice((ki * g.KernelW + kj) * positions, positions);
                var (lo, hi) = Inside(w, ow, kj * g.DilationW - g.PadW, g.StrideW);
                if (lo >= hi) continue;
                for (int oy = 0; oy < oh; oy++)
                {
                    int iy = oy * g.StrideH - g.PadH + ki * g.DilationH;
                    if (iy < 0 || iy >= h) continue;
                    var line = row.Slice(oy * ow, ow);
                    var dst = image.Slice(iy * w);
                    int ix = lo * g.StrideW - g.PadW + kj * g.DilationW;
                    if (g.StrideW == 1) System.Numerics.Tensors.TensorPrimitives.Add(dst.Slice(ix, hi - lo), line[lo..hi], dst.Slice(ix, hi - lo));
                    else for (int ox = lo; ox < hi; ox++, ix += g.StrideW) dst[ix] += line[ox];
                }
            }
    }

    public (RawTensor Indices, bool AnyEmpty) MaxPoolIndices(RawTensor x, Windows2d g, int outH, int outW) => x.DType switch
    {
        DType.Float32 => MaxPoolIndicesTyped<float>(x, g, outH, outW),
        DType.Float64 => MaxPoolIndicesTyped<double>(x, g, outH, outW),
        _ => throw new ArgumentException($"MaxPool2d: expected a floating input, got {x.DType}"),
    };

    static (RawTensor, bool) MaxPoolIndicesTyped<T>(RawTensor x, Windows2d g, int oh, int ow) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int n = x.Shape[0], c = x.Shape[1], h = x.Shape[2], w = x.Shape[3];
        using var input = Dense<T>(x);
        var (X, xAt) = input;
        var indices = NewUninitialized<long>([n, c, oh, ow]);
        var I = Data<long>(indices);
        int empty = 0;
        // The output columns whose windows lie inside the image's width.
        var inside = Inside(w - (g.KernelW - 1) * g.DilationW, ow, -g.PadW, g.StrideW);
        bool narrowInside = typeof(T) == typeof(float) && Avx2.IsSupported && ow < 8 && oh * ow >= 8 && g.PadH == 0 && g.PadW == 0
            && inside.Lo == 0 && inside.Hi == ow && (oh - 1) * g.StrideH + (g.KernelH - 1) * g.DilationH < h;
        Threading.For(Planes(n * c, (long)g.Size * oh * ow), job =>
        {
            foreach (int plane in PlaneRange(job, n * c, (long)g.Size * oh * ow))
            {
                var image = X.AsSpan(xAt + plane * h * w, h * w);
                var output = I.AsSpan(plane * oh * ow, oh * ow);
                if (narrowInside)
                {
                    // Rows too short for eight windows, but every window inside: eight at a time
                    // in output order, across rows (LeNet's second pool, 10×10 → 5×5).
                    fixed (T* from = image)
                    fixed (long* to = output)
                        for (int q = 0; q < oh * ow; q += 8)
                        {
                            int at = Math.Min(q, oh * ow - 8);
                            var starts = Vector256.Create(0, 1, 2, 3, 4, 5, 6, 7) + Vector256.Create(at);
                            var rows = Vector256.Create(
                                (at) / ow, (at + 1) / ow, (at + 2) / ow, (at + 3) / ow, (at + 4) / ow, (at + 5) / ow, (at + 6) / ow, (at + 7) / ow);
                            var columns = starts - rows * ow;
                            ArgMaxInside8((float*)from, w, rows * (g.StrideH * w) + columns * g.StrideW, g, to + at);
                        }
                    continue;
                }
                for (int oy = 0; oy < oh; oy++)
                {
                    int hs = oy * g.StrideH - g.PadH;
                    bool vectors = typeof(T) == typeof(float) && Avx2.IsSupported && inside.Hi - inside.Lo >= 8
                        && hs >= 0 && hs + (g.KernelH - 1) * g.DilationH < h;
                    if (vectors)
                        fixed (T* from = image)
                        fixed (long* to = output)
                            for (int ox = inside.Lo; ox < inside.Hi; ox += 8)
                            {
                                int at = Math.Min(ox, inside.Hi - 8);   // the last eight overlap the ones before
                                ArgMaxInside8((float*)from, w, Vector256.Create(0, 1, 2, 3, 4, 5, 6, 7) * g.StrideW + Vector256.Create(hs * w + at * g.StrideW - g.PadW), g,
                                    to + oy * ow + at);
                            }
                    for (int ox = 0; ox < ow; ox++)
                    {
                        if (vectors && ox == inside.Lo) ox = inside.Hi;
                        if (ox >= ow) break;
                        int ws = ox * g.StrideW - g.PadW;
                        long best = -1;
                        T max = T.NegativeInfinity;
                        for (int ki = 0; ki < g.KernelH; ki++)
                        {
                            int iy = hs + ki * g.DilationH;
                            if ((uint)iy >= (uint)h) continue;
                            for (int kj = 0; kj < g.KernelW; kj++)
                            {
                                int ix = ws + kj * g.DilationW;
                                if ((uint)ix >= (uint)w) continue;
                                T v = image[iy * w + ix];
                                if (best < 0 || v > max || T.IsNaN(v)) (best, max) = (iy * w + ix, v);
                            }
                        }
                        if (best < 0) Interlocked.Exchange(ref empty, 1);
                        output[oy * ow + ox] = best;
                    }
                }
            }
        });
        return (indices, empty != 0);
    }

    // The index of each of eight windows' maximum (the first, or the last NaN, as the scalar loop
    // picks), for windows inside the image whose first values are at the eight lanes: their values
    // gathered eight at a time, the winners chosen by masks (a branch per value, on random data,
    // mispredicted often enough to be most of a 2×2 pool's time).
    static void ArgMaxInside8(float* image, int w, Vector256<int> lanes, Windows2d g, long* output)
    {
        var best = lanes;
        var max = Avx2.GatherVector256(image, lanes, 4);
        for (int ki = 0; ki < g.KernelH; ki++)
            for (int kj = ki == 0 ? 1 : 0; kj < g.KernelW; kj++)
            {
                var at = lanes + Vector256.Create(ki * g.DilationH * w + kj * g.DilationW);
                var v = Avx2.GatherVector256(image, at, 4);
                var wins = Vector256.GreaterThan(v, max) | ~Vector256.Equals(v, v);
                max = Vector256.ConditionalSelect(wins, v, max);
                best = Vector256.ConditionalSelect(wins.AsInt32(), at, best);
            }
        Avx2.ConvertToVector256Int64(best.GetLower()).Store(output);
        Avx2.ConvertToVector256Int64(best.GetUpper()).Store(output + 4);
    }

    // The window positions [lo, hi) whose column ox·stride + shift falls inside [0, size).
    static (int Lo, int Hi) Inside(int size, int positions, int shift, int stride)
    {
        int lo = shift >= 0 ? 0 : (-shift + stride - 1) / stride;
        int hi = size - shift <= 0 ? 0 : Math.Min(positions, (size - shift - 1) / stride + 1);
        return (Math.Min(lo, hi), hi);
    }

    // Planes split into one job per thread once the work is worth handing out.
    const long PlaneWork = 1 << 15;

    static int Planes(int planes, long perPlane) =>
        planes * perPlane < PlaneWork ? 1 : Math.Min(planes, Threading.NumThreads);

    static IEnumerable<int> PlaneRange(int job, int planes, long perPlane)
    {
        int jobs = Planes(planes, perPlane);
        int lo = (int)((long)planes * job / jobs), hi = (int)((long)planes * (job + 1) / jobs);
        for (int p = lo; p < hi; p++) yield return p;
    }
}
