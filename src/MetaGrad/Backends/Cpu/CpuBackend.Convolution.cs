using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.Intrinsics;

namespace MetaGrad.Backends.Cpu;

// A 2-D convolution as implicit GEMM: per sample, y = W·cols with W [O, C·kh·kw] and cols the
// image's windows [C·kh·kw, L], but cols is never stored. The GEMM packs its B operand into
// panels anyway, so the panels are written straight from the image (Gemm.Pack with a panel
// writer): one pass over an L2/L3-resident buffer per sample, where im2col wrote the whole batch's
// column matrix to memory (75 MB for a 3×3 layer of 64 channels on 32×32 at batch 32) and the
// GEMM read it back to pack it. The weight's gradient packs colsᵀ the same way; the input's
// gradient of a stride-1 convolution is itself a convolution (of the output's gradient with the
// flipped, transposed kernel), and otherwise Wᵀ·dY per sample folded back with col2im.
// Threads take whole samples when there are enough of them, else share each sample's products.
internal sealed partial class CpuBackend
{
    public RawTensor Conv2dForward(RawTensor x, RawTensor weight, RawTensor? bias, Windows2d g) => x.DType switch
    {
        DType.Float32 => Conv2dForwardTyped<float>(x, weight, bias, g),
        DType.Float64 => Conv2dForwardTyped<double>(x, weight, bias, g),
        _ => throw new ArgumentException($"Conv2d: expected floating tensors, got {x.DType}"),
    };

    public ConvGradients Conv2dBackward(RawTensor x, RawTensor weight, RawTensor gradOutput, Windows2d g, bool needInput, bool needWeight, bool needBias) => x.DType switch
    {
        DType.Float32 => Conv2dBackwardTyped<float>(x, weight, gradOutput, g, needInput, needWeight, needBias),
        DType.Float64 => Conv2dBackwardTyped<double>(x, weight, gradOutput, g, needInput, needWeight, needBias),
        _ => throw new ArgumentException($"Conv2d: expected floating tensors, got {x.DType}"),
    };

    /// <summary>One sample's planes [C, H, W] inside a dense batch.</summary>
    readonly record struct SampleImage<T>(T[] Data, int Offset, int H, int W) where T : unmanaged
    {
        public ReadOnlySpan<T> Plane(int channel) => Data.AsSpan(Offset + channel * H * W, H * W);
    }

    static RawTensor Conv2dForwardTyped<T>(RawTensor x, RawTensor weight, RawTensor? bias, Windows2d g) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int n = x.Shape[0], c = x.Shape[1], h = x.Shape[2], w = x.Shape[3], o = weight.Shape[0];
        var (X, xAt) = Dense<T>(x);
        var (W, wAt) = Dense<T>(weight);
        T[]? B = null;
        int bAt = 0;
        if (bias is { } b) (B, bAt) = Dense<T>(b);
        int oh = g.OutH(h), ow = g.OutW(w);
        var y = NewUninitialized<T>([n, o, oh, ow]);
        Convolve(X, xAt, n, c, h, w, W, wAt, o, B, bAt, g, Data<T>(y));
        return y;
    }

    // y[s] = W·cols(x[s]) (+ bias per output channel) for every sample s, y dense [n, o, oh, ow].
    static void Convolve<T>(T[] X, int xAt, int n, int c, int h, int w, T[] W, int wAt, int o, T[]? B, int bAt, Windows2d g, T[] Y)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int oh = g.OutH(h), ow = g.OutW(w), l = oh * ow, k = c * g.Size;
        var weight = StridedMatrix.Of(W, wAt, k, 1);
        EachSample(n, (long)o * k * l, (sample, parallel) =>
        {
            var image = new SampleImage<T>(X, xAt + sample * c * h * w, h, w);
            int yAt = sample * o * l;
            var packed = Gemm.Pack<T>(k, l, (dst, p0, kc, j0, cols, nr) => WindowPanels(dst, image, g, ow, p0, kc, j0, cols, nr), parallel);
            if (packed is null) Gemm.Multiply(o, l, k, weight, StridedMatrix.Of(Columns(image, g, oh, ow, k), 0, l, 1), Y, yAt, parallel);
            else
            {
                Gemm.Multiply(o, weight, packed, Y, yAt, parallel);
                packed.Release();
            }
            if (B is null) return;
            for (int r = 0; r < o; r++)
            {
                var row = Y.AsSpan(yAt + r * l, l);
                TensorPrimitives.Add(row, B[bAt + r], row);
            }
        });
    }

    static ConvGradients Conv2dBackwardTyped<T>(RawTensor x, RawTensor weight, RawTensor gradOutput, Windows2d g, bool wantInput, bool wantWeight, bool wantBias)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int n = x.Shape[0], c = x.Shape[1], h = x.Shape[2], w = x.Shape[3], o = weight.Shape[0];
        int oh = g.OutH(h), ow = g.OutW(w), l = oh * ow, k = c * g.Size;
        var (X, xAt) = Dense<T>(x);
        var (W, wAt) = Dense<T>(weight);
        var (D, dAt) = Dense<T>(gradOutput);
        RawTensor? gradInput = wantInput ? InputGradient(D, dAt, n, c, h, w, W, wAt, o, g) : default(RawTensor?);

        RawTensor? gradWeight = null, gradBias = null;
        if (wantWeight || wantBias)
        {
            // Each thread sums its own samples' products into its own [O, K] (and [O]) partial;
            // the partials are added at the end.
            int parts = Parts(n, (long)o * k * l);
            var weightSums = wantWeight ? new T[parts][] : null;
            var biasSums = wantBias ? new T[parts][] : null;
            Threading.For(parts, part =>
            {
                bool parallel = parts == 1;
                T[]? dw = wantWeight ? weightSums![part] = new T[o * k] : null;
                T[]? db = wantBias ? biasSums![part] = new T[o] : null;
                for (int sample = part * n / parts, first = sample; sample < (part + 1) * n / parts; sample++)
                {
                    int dyAt = dAt + sample * o * l;
                    if (db is not null)
                        for (int r = 0; r < o; r++) db[r] += TensorPrimitives.Sum<T>(D.AsSpan(dyAt + r * l, l));
                    if (dw is null) continue;
                    var image = new SampleImage<T>(X, xAt + sample * c * h * w, h, w);
                    var gradY = StridedMatrix.Of(D, dyAt, l, 1);
                    var packed = Gemm.Pack<T>(l, k, (dst, p0, kc, j0, cols, nr) => WindowColumnPanels(dst, image, g, ow, p0, kc, j0, cols, nr), parallel);
                    if (packed is null)
                    {
                        var product = new T[o * k];
                        Gemm.Multiply(o, k, l, gradY, StridedMatrix.Of(Columns(image, g, oh, ow, k), 0, 1, l), product, 0, parallel);
                        TensorPrimitives.Add(dw, product, dw);
                        continue;
                    }
                    Gemm.Multiply(o, gradY, packed, dw, 0, parallel, accumulate: sample > first);
                    packed.Release();
                }
            });
            if (wantWeight)
            {
                var dw = NewUninitialized<T>([.. weight.Shape]);
                Sum(weightSums!, Data<T>(dw).AsSpan(0, o * k));
                gradWeight = dw;
            }
            if (wantBias)
            {
                var db = NewUninitialized<T>([o]);
                Sum(biasSums!, Data<T>(db).AsSpan(0, o));
                gradBias = db;
            }
        }
        return new ConvGradients(gradInput, gradWeight, gradBias);
    }

    static void Sum<T>(T[][] parts, Span<T> into) where T : unmanaged, IFloatingPointIeee754<T>
    {
        parts[0].AsSpan(0, into.Length).CopyTo(into);
        for (int i = 1; i < parts.Length; i++) TensorPrimitives.Add(into, parts[i], into);
    }

    // dx = the adjoint of the convolution applied to dy. With stride 1 that is a convolution of dy,
    // padded by d·(k − 1) − p, with the kernel flipped and its channels swapped (W'[c, o, i, j] =
    // W[o, c, kh − 1 − i, kw − 1 − j]): the same implicit GEMM as the forward. Otherwise each
    // sample's column gradient Wᵀ·dy is folded back into the image (col2im) from a scratch buffer.
    static RawTensor InputGradient<T>(T[] D, int dAt, int n, int c, int h, int w, T[] W, int wAt, int o, Windows2d g)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int oh = g.OutH(h), ow = g.OutW(w), l = oh * ow, k = c * g.Size;
        int padH = g.DilationH * (g.KernelH - 1) - g.PadH, padW = g.DilationW * (g.KernelW - 1) - g.PadW;
        if (g.StrideH == 1 && g.StrideW == 1 && padH >= 0 && padW >= 0)
        {
            var flipped = new T[c * o * g.Size];
            for (int co = 0; co < o; co++)
                for (int ci = 0; ci < c; ci++)
                    for (int i = 0; i < g.Size; i++)
                        flipped[(ci * o + co) * g.Size + g.Size - 1 - i] = W[wAt + (co * c + ci) * g.Size + i];
            var adjoint = g with { PadH = padH, PadW = padW };
            var dx = NewUninitialized<T>([n, c, h, w]);
            Convolve(D, dAt, n, o, oh, ow, flipped, 0, c, null, 0, adjoint, Data<T>(dx));
            return dx;
        }
        var gradInput = New<T>([n, c, h, w]);
        var DX = Data<T>(gradInput);
        var transposed = StridedMatrix.Of(W, wAt, 1, k);
        EachSample(n, (long)o * k * l, (sample, parallel) =>
        {
            var cols = BufferPool<T>.Rent(k * l, clear: false);
            Gemm.Multiply(k, l, o, transposed, StridedMatrix.Of(D, dAt + sample * o * l, l, 1), cols, 0, parallel);
            for (int ch = 0; ch < c; ch++)
                FoldPlane(cols.AsSpan(ch * g.Size * l, g.Size * l), DX.AsSpan((sample * c + ch) * h * w, h * w), h, w, g);
            BufferPool<T>.Return(cols);
        });
        return gradInput;
    }

    // Samples split into one contiguous range per thread when there are at least as many samples
    // as threads and the work is worth it; else one range, whose products use the threads themselves.
    static int Parts(int n, long workPerSample) =>
        Threading.NumThreads > 1 && n >= Threading.NumThreads && n * workPerSample >= Gemm.ParallelWork ? Threading.NumThreads : 1;

    static void EachSample(int n, long workPerSample, Action<int, bool> body)
    {
        int parts = Parts(n, workPerSample);
        if (parts == 1)
        {
            for (int s = 0; s < n; s++) body(s, true);
            return;
        }
        Threading.For(parts, part =>
        {
            for (int s = part * n / parts; s < (part + 1) * n / parts; s++) body(s, false);
        });
    }

    [ThreadStatic] static object? t_windowScratch;

    static Span<T> WindowScratch<T>(int length) where T : unmanaged
    {
        if (t_windowScratch is not T[] buffer || buffer.Length < length) t_windowScratch = buffer = new T[Math.Max(length, 4096)];
        return buffer.AsSpan(0, length);
    }

    // Panels of cols (rows p = (channel, ki, kj), columns the window positions), one panel at a
    // time and written front to back: a panel's nr positions are a few runs along output rows,
    // found once, and each row p copies those runs out of its image row. (Row by row, each row's
    // nr-value pieces went to panels kc·nr apart, strides that share cache sets: the packing took
    // as long as the product.)
    static unsafe void WindowPanels<T>(Span<T> dst, SampleImage<T> image, Windows2d g, int ow, int p0, int kc, int j0, int cols, int nr) where T : unmanaged
    {
        Span<(int Oy, int Ox, int Length)> runs = stackalloc (int, int, int)[nr];
        // The rows' windows, decoded once for all panels (three integer divisions each).
        Span<WindowOf> windows = kc <= 512 ? stackalloc WindowOf[kc] : new WindowOf[kc];
        for (int p = 0; p < kc; p++) windows[p] = new WindowOf(g, image.W, ow, p0 + p);
        for (int q = 0, jq = j0; jq < j0 + cols; q++, jq += nr)
        {
            int count = Math.Min(nr, j0 + cols - jq), found = 0;
            for (int j = jq; j < jq + count; found++)
            {
                int oy = Math.DivRem(j, ow, out int ox), length = Math.Min(ow - ox, jq + count - j);
                runs[found] = (oy, ox, length);
                j += length;
            }
            fixed (T* panel = dst.Slice(q * kc * nr, kc * nr), planes = image.Data)
                for (int p = 0; p < kc; p++)
                {
                    T* line = panel + p * nr;
                    ref readonly var window = ref windows[p];
                    T* plane = planes + image.Offset + window.Channel * image.H * image.W;
                    for (int r = 0, at = 0; r < found; at += runs[r].Length, r++)
                        window.Fill(line + at, runs[r].Length, plane, image.H, runs[r].Oy, runs[r].Ox);
                    for (int i = count; i < nr; i++) line[i] = default;
                }
        }
    }

    // Panels of colsᵀ (rows the window positions, columns p): nr rows of cols over the positions
    // [l0, l0 + kc) are made side by side, then transposed into the panel.
    static unsafe void WindowColumnPanels<T>(Span<T> dst, SampleImage<T> image, Windows2d g, int ow, int l0, int kc, int j0, int cols, int nr) where T : unmanaged
    {
        var block = WindowScratch<T>(nr * kc);
        for (int q = 0; q * nr < cols; q++)
        {
            int first = j0 + q * nr, count = Math.Min(nr, cols - q * nr);
            for (int s = 0; s < nr; s++)
            {
                var row = block.Slice(s * kc, kc);
                if (s < count) WindowRow(row, image, g, ow, first + s, l0);
                else row.Clear();
            }
            var panel = dst.Slice(q * kc * nr, kc * nr);
            if (typeof(T) == typeof(float) && Transpose.IsAccelerated)
                fixed (T* from = block, to = panel) Transpose.ColumnsToRows((float*)from, kc, (float*)to, kc, nr);
            else
                for (int p = 0; p < kc; p++)
                    for (int s = 0; s < nr; s++) panel[p * nr + s] = block[s * kc + p];
        }
    }

    // line[i] = cols[p, j0 + i]: row p = (channel, ki, kj) of the image's windows, from position j0
    // on, one run along an output row at a time.
    static void WindowRow<T>(Span<T> line, SampleImage<T> image, Windows2d g, int ow, int p, int j0) where T : unmanaged
    {
        var window = new WindowOf(g, image.W, ow, p);
        var plane = image.Plane(window.Channel);
        for (int j = j0, end = j0 + line.Length; j < end;)
        {
            int oy = Math.DivRem(j, ow, out int ox), length = Math.Min(ow - ox, end - j);
            window.Fill(line.Slice(j - j0, length), plane, image.H, oy, ox);
            j += length;
        }
    }

    /// <summary>Row p = (channel, ki, kj) of the windows' columns: what its runs along output rows read.</summary>
    readonly unsafe struct WindowOf
    {
        readonly Windows2d _g;
        readonly int _w, _ki, _kj, _lo, _hi;
        public readonly int Channel;

        public WindowOf(Windows2d g, int w, int ow, int p)
        {
            (_g, _w) = (g, w);
            Channel = Math.DivRem(p, g.Size, out int r);
            _ki = Math.DivRem(r, g.KernelW, out _kj);
            (_lo, _hi) = Inside(w, ow, _kj * g.DilationW - g.PadW, g.StrideW);
        }

        // run[i] = the value window (oy, ox + i) reads, zero where that is padding.
        public void Fill<T>(Span<T> run, ReadOnlySpan<T> plane, int h, int oy, int ox) where T : unmanaged
        {
            fixed (T* to = run, from = plane) Fill(to, run.Length, from, h, oy, ox);
        }

        // Through pointers: a panel's runs are short (often one vector or two), where span slicing,
        // Clear and CopyTo calls cost more than the copy.
        public void Fill<T>(T* run, int length, T* plane, int h, int oy, int ox) where T : unmanaged
        {
            int iy = oy * _g.StrideH - _g.PadH + _ki * _g.DilationH;
            int a = Math.Max(ox, _lo), b = Math.Min(ox + length, _hi);
            if ((uint)iy >= (uint)h || a >= b)
            {
                Zero(run, length);
                return;
            }
            if (a > ox) Zero(run, a - ox);
            if (b < ox + length) Zero(run + (b - ox), ox + length - b);
            T* src = plane + iy * _w + a * _g.StrideW - _g.PadW + _kj * _g.DilationW;
            T* dst = run + (a - ox);
            if (_g.StrideW == 1) Copy(dst, src, b - a);
            else for (int i = 0; i < b - a; i++) dst[i] = src[i * _g.StrideW];
        }

        static void Copy<T>(T* dst, T* src, int count) where T : unmanaged
        {
            byte* d = (byte*)dst, s = (byte*)src;
            nint bytes = count * sizeof(T), i = 0, v = Vector256<byte>.Count;
            for (; i + v <= bytes; i += v) Vector256.Store(Vector256.Load(s + i), d + i);
            for (; i < bytes; i += sizeof(T)) *(T*)(d + i) = *(T*)(s + i);
        }

        static void Zero<T>(T* dst, int count) where T : unmanaged
        {
            for (int i = 0; i < count; i++) dst[i] = default;
        }
    }

    // One sample's whole column matrix [k, oh·ow], for a machine without the packed GEMM.
    static T[] Columns<T>(SampleImage<T> image, Windows2d g, int oh, int ow, int k) where T : unmanaged
    {
        var cols = new T[k * oh * ow];
        for (int p = 0; p < k; p++) WindowRow(cols.AsSpan(p * oh * ow, oh * ow), image, g, ow, p, 0);
        return cols;
    }
}
