using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace MetaGrad.Backends.Cpu;

// A 2-D convolution as implicit GEMM: per sample, y = W·cols with W [O, C·kh·kw] and cols the
// image's windows [C·kh·kw, L], but cols is never stored whole. The GEMM packs its B operand into
// panels anyway, so the panels are written straight from the image, slice by slice, into the
// GEMM's own L2-sized scratch (Gemm.Multiply with a panel writer), where im2col wrote the whole
// batch's column matrix to memory (75 MB for a 3×3 layer of 64 channels on 32×32 at batch 32) and
// the GEMM read it back to pack it. The weight's gradient, dWᵀ = cols·dyᵀ, makes cols a chunk of
// positions at a time, small enough for the kernel to read in place as its A. The input's gradient
// of a stride-1 convolution is itself a convolution (of the output's gradient with the flipped,
// transposed kernel); otherwise Wᵀ·dy per sample is folded back with col2im.
// Threads take whole samples when there are enough of them, else share each sample's products.
internal sealed unsafe partial class CpuBackend
{
    public RawTensor Conv2dForward(RawTensor x, RawTensor weight, RawTensor? bias, Windows2d g, int groups) => x.DType switch
    {
        DType.Float32 when IsDepthwise(x, weight, groups) => DepthwiseForward<float>(x, weight, bias, g),
        DType.Float64 when IsDepthwise(x, weight, groups) => DepthwiseForward<double>(x, weight, bias, g),
        DType.Float32 => Conv2dForwardTyped<float>(x, weight, bias, g, groups),
        DType.Float64 => Conv2dForwardTyped<double>(x, weight, bias, g, groups),
        _ => throw new ArgumentException($"Conv2d: expected floating tensors, got {x.DType}"),
    };

    public ConvGradients Conv2dBackward(RawTensor x, RawTensor weight, RawTensor gradOutput, Windows2d g, int groups, bool needInput, bool needWeight, bool needBias) =>
        x.DType switch
        {
            DType.Float32 when IsDepthwise(x, weight, groups) => DepthwiseBackward<float>(x, weight, gradOutput, g, needInput, needWeight, needBias),
            DType.Float64 when IsDepthwise(x, weight, groups) => DepthwiseBackward<double>(x, weight, gradOutput, g, needInput, needWeight, needBias),
            DType.Float32 => Conv2dBackwardTyped<float>(x, weight, gradOutput, g, groups, needInput, needWeight, needBias),
            DType.Float64 => Conv2dBackwardTyped<double>(x, weight, gradOutput, g, groups, needInput, needWeight, needBias),
            _ => throw new ArgumentException($"Conv2d: expected floating tensors, got {x.DType}"),
        };

    /// <summary>One sample's planes [C, H, W] inside a dense batch, from Data[Offset] on.</summary>
    readonly record struct SampleImage<T>(T[] Data, int Offset, int H, int W) where T : unmanaged;

    // Groups: a dense [N, C, H, W] batch is [N·G, C/G, H, W] as well, and its output [N·G, O/G, oh,
    // ow]: each (sample, group) is a one-group convolution of its own "sample" with group s mod G's
    // slice of the weight: no dense copy of a group's channels, no node per group, no concatenation
    // of their outputs (bench/results/TUNING.md).
    static RawTensor Conv2dForwardTyped<T>(RawTensor x, RawTensor weight, RawTensor? bias, Windows2d g, int groups) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int n = x.Shape[0], c = x.Shape[1], h = x.Shape[2], w = x.Shape[3], o = weight.Shape[0];
        using var input = Dense<T>(x);
        using var kernel = Dense<T>(weight);
        using var shift = Dense<T>(bias);
        var (X, xAt) = input;
        var (W, wAt) = kernel;
        var (B, bAt) = (shift.Array, shift.Offset);
        int oh = g.OutH(h), ow = g.OutW(w);
        var y = NewUninitialized<T>([n, o, oh, ow]);
        Convolve(X, xAt, n * groups, c / groups, h, w, W, wAt, o / groups, B, bAt, g, Data<T>(y), groups);
        return y;
    }

    // y[s] = W·cols(x[s]) (+ bias per output channel) for every sample s, y dense [n, o, oh, ow]
    // (with groups, n samples of one group's c channels each, sample s of group s mod groups).
    static void Convolve<T>(T[] X, int xAt, int n, int c, int h, int w, T[] W, int wAt, int o, T[]? B, int bAt, Windows2d g, T[] Y, int groups = 1)
        where T : unmanaged, IFloatingPointIeee754<T> =>
        EachSample(n, (long)o * c * g.Size * g.OutH(h) * g.OutW(w), Convolution(X, xAt, c, h, w, W, wAt, o, B, bAt, g, Y, groups));

    // The convolution of one sample (sample, parallel), for a caller that runs the samples. With
    // groups, sample s is a group's channels and takes group s mod groups's weight [o, c·kh·kw] and bias.
    static Action<int, bool> Convolution<T>(T[] X, int xAt, int c, int h, int w, T[] W, int wAt0, int o, T[]? B, int bAt0, Windows2d g, T[] Y, int groups = 1)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int oh = g.OutH(h), ow = g.OutW(w), l = oh * ow, k = c * g.Size;
        var windows = WindowsOf(g, c, h, w, ow);
        var shifts = ShiftsOf(g, c, h, w);
        return (sample, parallel) =>
        {
            int wAt = wAt0 + sample % groups * o * k, bAt = bAt0 + sample % groups * o;
            var weight = StridedMatrix.Of(W, wAt, k, 1);
            var image = new SampleImage<T>(X, xAt + sample * c * h * w, h, w);
            int yAt = sample * o * l;
            if (Gemm.WritesPanels<T>())
            {
                var rows = SampleWindows<T>.Of(image, c, g, windows, shifts);
                // On one thread the kernel can read the windows from the shifted image itself,
                // and it starts its sums from the bias.
                bool shifted = !(parallel && Threading.NumThreads > 1) && rows.TryMultiply(o, l, k, W, wAt, ow, Y, yAt, B, bAt);
                if (!shifted)
                    Gemm.Multiply(o, l, k, weight, (dst, p0, kc, j0, cols, nr) => WindowPanels(dst, rows, p0, kc, ow, j0, cols, nr), Y, yAt, parallel);
                rows.Release();
                if (shifted) return;
            }
            else Gemm.Multiply(o, l, k, weight, StridedMatrix.Of(Columns(SampleWindows<T>.Of(image, c, g, windows, null), ow, l), 0, l, 1), Y, yAt, parallel);
            if (B is null) return;
            for (int r = 0; r < o; r++)
            {
                var row = Y.AsSpan(yAt + r * l, l);
                TensorPrimitives.Add(row, B[bAt + r], row);
            }
        };
    }

    // With groups, as the forward: n·groups samples of a group's channels each (see Conv2dForwardTyped).
    static ConvGradients Conv2dBackwardTyped<T>(RawTensor x, RawTensor weight, RawTensor gradOutput, Windows2d g, int groups, bool wantInput, bool wantWeight, bool wantBias)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int n = x.Shape[0] * groups, c = x.Shape[1] / groups, h = x.Shape[2], w = x.Shape[3], o = weight.Shape[0] / groups;
        int oh = g.OutH(h), ow = g.OutW(w), l = oh * ow, k = c * g.Size;
        using var input = Dense<T>(x);
        using var kernel = Dense<T>(weight);
        using var gradRun = Dense<T>(gradOutput);
        var (X, xAt) = input;
        var (W, wAt) = kernel;
        var (D, dAt) = gradRun;
        int parts = Parts(n, (long)o * k * l);
        RawTensor? gradInput = null;
        Action<int, bool>? inputOfSample = null;
        T[]? flipped = null;
        if (wantInput)
        {
            (gradInput, inputOfSample, flipped) = InputGradient(D, dAt, n, c, h, w, W, wAt, o, g, groups);
            // With the threads taking whole samples, each computes its samples' input gradients
            // together with their weight gradients below, while each sample's dy is in its cache
            // (and with one hand-off between threads instead of two).
            if (parts == 1 || !(wantWeight || wantBias))
            {
                EachSample(n, (long)o * k * l, inputOfSample);
                inputOfSample = null;
            }
        }

        RawTensor? gradWeight = null, gradBias = null;
        if (wantWeight || wantBias)
        {
            // Each thread sums its own samples' products into its own dWᵀ [K, O] (and [O])
            // partial, one for each group; the partials are added at the end.
            var weightSums = wantWeight ? new T[parts][] : null;
            var biasSums = wantBias ? new T[parts][] : null;
            var windows = WindowsOf(g, c, h, w, ow);
            var shifts = ShiftsOf(g, c, h, w);
            // Positions per chunk: the chunk's columns [K, chunk] are read in place by the kernel
            // (Gemm.DirectAElements) in one K slice.
            int chunk = (int)Math.Clamp(Gemm.DirectAElements / k, 8, 256);
            // With fewer output channels than a panel is wide (LeNet's 6 and 16), dyᵀ as B would be
            // mostly zero padding; the other orientation, dW = dy·colsᵀ, pads the K·kh·kw side instead.
            bool narrow = Gemm.WritesPanels<T>() && o < Gemm.PanelWidth<T>();
            Threading.For(parts, part =>
            {
                bool parallel = parts == 1;
                T[]? dwTs = wantWeight ? weightSums![part] = ScratchOf<T>(groups * k * o) : null;
                T[]? dbs = wantBias ? biasSums![part] = new T[groups * o] : null;
                var cols = dwTs is null || narrow ? null : BufferPool<T>.Rent(k * chunk, clear: false);
                var started = new bool[groups];   // whether this part has written its partial of each group yet
                for (int sample = part * n / parts; sample < (part + 1) * n / parts; sample++)
                {
                    inputOfSample?.Invoke(sample, parallel);
                    int dyAt = dAt + sample * o * l, group = sample % groups;
                    if (dbs is not null)
                        for (int r = 0; r < o; r++) dbs[group * o + r] += TensorPrimitives.Sum<T>(D.AsSpan(dyAt + r * l, l));
                    if (dwTs is null) continue;
                    // This group's partial: dWᵀ [K, O], or dW [O, K] in the narrow orientation.
                    var dwT = dwTs;
                    int dwAt = group * k * o;
                    bool first = !started[group];
                    started[group] = true;
                    var rows = SampleWindows<T>.Of(new SampleImage<T>(X, xAt + sample * c * h * w, h, w), c, g, windows, shifts);
                    if (narrow)
                    {
                        // dW += dy·colsᵀ, colsᵀ's panels written by transposing blocks of window rows.
                        Gemm.Multiply(o, k, l, StridedMatrix.Of(D, dyAt, l, 1),
                            (dst, l0, kc, j0, count, nr) => TransposedWindowPanels(dst, rows, j0, count, ow, l0, kc, nr), dwT, dwAt, parallel,
                            accumulate: !first);
                        rows.Release();
                        continue;
                    }
                    for (int l0 = 0; l0 < l; l0 += chunk, first = false)
                    {
                        int positions = Math.Min(chunk, l - l0);
                        WindowRows(cols!, positions, rows, ow, l0);
                        // dWᵀ += cols[:, chunk]·dy[:, chunk]ᵀ
                        var gradYT = StridedMatrix.Of(D, dyAt + l0, 1, l);
                        if (Gemm.WritesPanels<T>())
                            Gemm.Multiply(k, o, positions, StridedMatrix.Of(cols!, 0, positions, 1), Gemm.PanelsOf(gradYT), dwT, dwAt, parallel, accumulate: !first);
                        else
                        {
                            var product = new T[k * o];
                            Gemm.Multiply(k, o, positions, StridedMatrix.Of(cols!, 0, positions, 1), gradYT, product, 0, parallel);
                            TensorPrimitives.Add(dwT.AsSpan(dwAt, k * o), product, dwT.AsSpan(dwAt, k * o));
                        }
                    }
                    rows.Release();
                }
                if (cols is not null) BufferPool<T>.Return(cols);
            });
            if (wantWeight)
            {
                var dw = NewUninitialized<T>([.. weight.Shape]);
                var sum = weightSums![0];
                Sum(weightSums, sum.AsSpan(0, groups * k * o));
                var DW = Data<T>(dw);
                // Group by group: dW [O/G, K] is the weight's rows of that group as they lie.
                if (narrow) sum.AsSpan(0, groups * k * o).CopyTo(DW);
                else
                    for (int group = 0; group < groups; group++)
                        for (int p = 0; p < k; p++)
                            for (int r = 0; r < o; r++) DW[(group * o + r) * k + p] = sum[group * k * o + p * o + r];
                foreach (var partial in weightSums) ReleaseScratch(partial);
                gradWeight = dw;
            }
            if (wantBias)
            {
                var db = NewUninitialized<T>([groups * o]);
                Sum(biasSums!, Data<T>(db).AsSpan(0, groups * o));
                gradBias = db;
            }
        }
        if (flipped is not null) ReleaseScratch(flipped);
        return new ConvGradients(gradInput, gradWeight, gradBias);
    }

    // into = the sum of the parts (into may be the first part itself).
    static void Sum<T>(T[][] parts, Span<T> into) where T : unmanaged, IFloatingPointIeee754<T>
    {
        parts[0].AsSpan(0, into.Length).CopyTo(into);
        for (int i = 1; i < parts.Length; i++) TensorPrimitives.Add(into, parts[i].AsSpan(0, into.Length), into);
    }

    // dx = the adjoint of the convolution applied to dy. With stride 1 that is a convolution of dy,
    // padded by d·(k − 1) − p, with the kernel flipped and its channels swapped (W'[c, o, i, j] =
    // W[o, c, kh − 1 − i, kw − 1 − j]): the same implicit GEMM as the forward. Otherwise each
    // sample's column gradient Wᵀ·dy is folded back into the image (col2im) from a scratch buffer.
    // The convolution writes O·kh·kw panel rows per input position and col2im C·kh·kw column
    // rows, each then read back again: so the convolution only where O is below twice C (a layer
    // that widens, such as LeNet's 6 → 16, folds back: its adjoint convolution packed mostly
    // padding for a 6-row product).
    // Returns dx, the computation of one sample's part of it for the caller to run, and the
    // flipped kernel's scratch (to ReleaseScratch when every sample is done), if any.
    // With groups, n samples of a group's channels (sample s of group s mod groups), W holding the
    // groups' weights one after another.
    static (RawTensor Dx, Action<int, bool> OfSample, T[]? Scratch) InputGradient<T>(T[] D, int dAt, int n, int c, int h, int w, T[] W, int wAt, int o, Windows2d g,
        int groups = 1) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int oh = g.OutH(h), ow = g.OutW(w), l = oh * ow, k = c * g.Size;
        int padH = g.DilationH * (g.KernelH - 1) - g.PadH, padW = g.DilationW * (g.KernelW - 1) - g.PadW;
        if (g.StrideH == 1 && g.StrideW == 1 && padH >= 0 && padW >= 0 && o <= 2 * c)
        {
            var flipped = ScratchOf<T>(groups * c * o * g.Size);
            for (int group = 0, at = 0; group < groups; group++, at += c * o * g.Size)
                for (int co = 0; co < o; co++)
                    for (int ci = 0; ci < c; ci++)
                        for (int i = 0; i < g.Size; i++)
                            flipped[at + (ci * o + co) * g.Size + g.Size - 1 - i] = W[wAt + at + (co * c + ci) * g.Size + i];
            var adjoint = g with { PadH = padH, PadW = padW };
            var dx = NewUninitialized<T>([n / groups, c * groups, h, w]);
            return (dx, Convolution(D, dAt, o, oh, ow, flipped, 0, c, null, 0, adjoint, Data<T>(dx), groups), flipped);
        }
        var gradInput = New<T>([n / groups, c * groups, h, w]);
        var DX = Data<T>(gradInput);
        return (gradInput, (sample, parallel) =>
        {
            var transposed = StridedMatrix.Of(W, wAt + sample % groups * o * k, 1, k);
            var cols = BufferPool<T>.Rent(k * l, clear: false);
            Gemm.Multiply(k, l, o, transposed, StridedMatrix.Of(D, dAt + sample * o * l, l, 1), cols, 0, parallel);
            for (int ch = 0; ch < c; ch++)
                FoldPlane(cols.AsSpan(ch * g.Size * l, g.Size * l), DX.AsSpan((sample * c + ch) * h * w, h * w), h, w, g);
            BufferPool<T>.Return(cols);
        }, null);
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

    /// <summary>
    /// Row p = (channel, ki, kj) of an image's window columns, decoded once per call (three integer
    /// divisions, which per value copied cost more than the copy): where output row oy reads
    /// (iy = oy·strideH + RowShift), where output column ox reads (ix = ox·strideW + ColumnShift),
    /// and the output columns [Lo, Hi) whose ix falls inside the image.
    /// </summary>
    readonly record struct WindowOf(int Plane, int RowShift, int ColumnShift, int Lo, int Hi);

    /// <summary>A run of window positions along one output row: Length positions from (Oy, Ox), At values into the destination row.</summary>
    readonly record struct Run(int Oy, int Ox, int Length, int At);

    static WindowOf[] WindowsOf(Windows2d g, int channels, int h, int w, int ow)
    {
        var windows = new WindowOf[channels * g.Size];
        for (int p = 0; p < windows.Length; p++)
        {
            int channel = Math.DivRem(p, g.Size, out int r), ki = Math.DivRem(r, g.KernelW, out int kj);
            int columnShift = kj * g.DilationW - g.PadW;
            var (lo, hi) = Inside(w, ow, columnShift, g.StrideW);
            windows[p] = new WindowOf(channel * h * w, ki * g.DilationH - g.PadH, columnShift, lo, hi);
        }
        return windows;
    }

    // The runs covering positions [j0, j0 + count), into runs; returns how many.
    static int Runs(int j0, int count, int ow, Span<Run> runs)
    {
        int found = 0;
        for (int j = j0; j < j0 + count; found++)
        {
            int oy = Math.DivRem(j, ow, out int ox), length = Math.Min(ow - ox, j0 + count - j);
            runs[found] = new Run(oy, ox, length, j - j0);
            j += length;
        }
        return found;
    }

    // Row p of dst (rowStride apart) = window p's values at the runs' positions, for each window given.
    static void FillWindows<T>(T* dst, int rowStride, ReadOnlySpan<WindowOf> windows, ReadOnlySpan<Run> runs, SampleImage<T> image, Windows2d g) where T : unmanaged
    {
        fixed (T* data = image.Data)
        {
            T* planes = data + image.Offset;
            for (int p = 0; p < windows.Length; p++, dst += rowStride)
            {
                ref readonly var window = ref windows[p];
                foreach (ref readonly var run in runs)
                    FillRun(dst + run.At, window, run, planes, image.H, image.W, g);
            }
        }
    }

    // One run of a window's values, zero where it reads padding. Most runs lie inside the image:
    // one copy of contiguous values.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void FillRun<T>(T* to, in WindowOf window, in Run run, T* planes, int h, int w, Windows2d g) where T : unmanaged
    {
        int iy = run.Oy * g.StrideH + window.RowShift, ox = run.Ox, length = run.Length;
        T* row = planes + window.Plane + iy * w;
        if ((uint)iy < (uint)h && ox >= window.Lo && ox + length <= window.Hi && g.StrideW == 1)
        {
            Copy(to, row + ox + window.ColumnShift, length);
            return;
        }
        int a = Math.Max(ox, window.Lo), b = Math.Min(ox + length, window.Hi);
        if ((uint)iy >= (uint)h || a >= b)
        {
            new Span<T>(to, length).Clear();
            return;
        }
        // Padding at a run's ends is a value or two: cleared in place, not by a call.
        for (int i = 0; i < a - ox; i++) to[i] = default;
        for (int i = b - ox; i < length; i++) to[i] = default;
        T* src = row + a * g.StrideW + window.ColumnShift;
        if (g.StrideW == 1) Copy(to + (a - ox), src, b - a);
        else for (int i = 0; i < b - a; i++) to[a - ox + i] = src[i * g.StrideW];
    }

    // Whole vectors, the last one ending at the run's end (overlapping the one before, so a run
    // cut short by padding takes no scalar tail); short runs value by value.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void Copy<T>(T* dst, T* src, int count) where T : unmanaged
    {
        byte* d = (byte*)dst, s = (byte*)src;
        nint bytes = count * sizeof(T), v = Vector256<byte>.Count;
        if (bytes < v)
        {
            for (int i = 0; i < count; i++) dst[i] = src[i];
            return;
        }
        if (Vector512.IsHardwareAccelerated && bytes >= 2 * v)
        {
            nint wide = 2 * v;
            for (nint i = 0; i < bytes - wide; i += wide) Vector512.Store(Vector512.Load(s + i), d + i);
            Vector512.Store(Vector512.Load(s + bytes - wide), d + bytes - wide);
            return;
        }
        for (nint i = 0; i < bytes - v; i += v) Vector256.Store(Vector256.Load(s + i), d + i);
        Vector256.Store(Vector256.Load(s + bytes - v), d + bytes - v);
    }

    /// <summary>
    /// One sample's window rows as the products read them: row p = (channel, ki, kj), at output
    /// position (oy, ox). With stride 1 each row is the image read at a fixed shift once its zero
    /// border is written around it (a copy [C, H + 2·padH, W + 2·padW], or the image itself when
    /// there is no padding), so filling a panel is one copy per row and nothing to test: deciding
    /// per row and run where the padding was took a fifth of a 3×3 layer's time (perf, Zen 5).
    /// Other strides decode each row's window (<see cref="WindowOf"/>) and test every run.
    /// </summary>
    readonly struct SampleWindows<T> where T : unmanaged
    {
        readonly SampleImage<T> image;   // the padded copy, for shifted rows
        readonly Windows2d g;
        readonly WindowOf[] windows;
        readonly int[]? shifts;
        readonly bool rented, cached;

        // A small padded copy (under the pool's smallest length) kept per thread for the next sample:
        // a grouped convolution pads every group of every sample, and a fresh array for each kept
        // the young collections busy while both threads waited on them (bench/results/TUNING.md).
        [ThreadStatic] static T[]? t_padded;
        [ThreadStatic] static bool t_paddedInUse;

        SampleWindows(SampleImage<T> image, Windows2d g, WindowOf[] windows, int[]? shifts, bool rented, bool cached = false) =>
            (this.image, this.g, this.windows, this.shifts, this.rented, this.cached) = (image, g, windows, shifts, rented, cached);

        /// <summary>The rows of a sample's windows, shifted when <paramref name="shifts"/> (from <see cref="ShiftsOf"/>) is given.</summary>
        public static SampleWindows<T> Of(SampleImage<T> image, int channels, Windows2d g, WindowOf[] windows, int[]? shifts)
        {
            if (shifts is null || (g.PadH == 0 && g.PadW == 0)) return new(image, g, windows, shifts, rented: false);
            int h = image.H, w = image.W, hp = h + 2 * g.PadH, wp = w + 2 * g.PadW, length = channels * hp * wp;
            bool rent = length >= BufferPool<T>.MinLength, cache = !rent && !t_paddedInUse;
            T[] padded;
            if (rent) padded = BufferPool<T>.Rent(length, clear: false);
            else if (cache)
            {
                if (t_padded?.Length != length) t_padded = new T[length];
                padded = t_padded;
                t_paddedInUse = true;
            }
            else padded = new T[length];
            bool reused = rent || cache;   // not fresh zeros: the border is cleared
            fixed (T* from = image.Data, to = padded)
                for (int ch = 0; ch < channels; ch++)
                {
                    T* plane = to + ch * hp * wp;
                    if (reused)
                    {
                        // Only the border is cleared: the copies overwrite the rest.
                        new Span<T>(plane, g.PadH * wp).Clear();
                        new Span<T>(plane + (g.PadH + h) * wp, g.PadH * wp).Clear();
                    }
                    for (int y = 0; y < h; y++)
                    {
                        T* row = plane + (y + g.PadH) * wp;
                        if (reused)
                        {
                            for (int i = 0; i < g.PadW; i++) row[i] = default;
                            for (int i = g.PadW + w; i < wp; i++) row[i] = default;
                        }
                        Copy(row + g.PadW, from + image.Offset + (ch * h + y) * w, w);
                    }
                }
            return new(new SampleImage<T>(padded, 0, hp, wp), g, windows, shifts, rent, cache);
        }

        /// <summary>How many rows: channels · kh · kw.</summary>
        public int Count => windows.Length;

        /// <summary>Gives a rented padded copy back to the pool; the rows must not be read after.</summary>
        public void Release()
        {
            if (rented) BufferPool<T>.Return(image.Data);
            if (cached) t_paddedInUse = false;
        }

        /// <summary>
        /// C [m, n] = A [m, k]·(these rows over n positions, rowLength to an output row) with the kernel
        /// reading the rows from the shifted image (<see cref="Gemm.MultiplyShifted{T}"/>), on the
        /// calling thread; false, with nothing done, where that does not apply.
        /// </summary>
        public bool TryMultiply(int m, int n, int k, T[] a, int aOff, int rowLength, T[] c, int cOff, T[]? bias = null, int biasOff = 0)
        {
            if (shifts is null || !Gemm.ReadsShifted<T>(m, n, k, rowLength)) return false;
            Gemm.MultiplyShifted(m, n, k, a, aOff, image.Data, image.Offset, image.W, rowLength, shifts, c, cOff, bias, biasOff);
            return true;
        }

        /// <summary>Rows [first, first + count) over the runs' positions into dst, rowStride apart.</summary>
        public void Fill(T* dst, int rowStride, int first, int count, ReadOnlySpan<Run> runs)
        {
            if (shifts is null)
            {
                FillWindows(dst, rowStride, windows.AsSpan(first, count), runs, image, g);
                return;
            }
            fixed (T* data = image.Data)
            {
                T* origin = data + image.Offset;
                for (int p = first; p < first + count; p++, dst += rowStride)
                    foreach (ref readonly var run in runs)
                        Copy(dst + run.At, origin + run.Oy * image.W + run.Ox + shifts[p], run.Length);
            }
        }
    }

    /// <summary>
    /// Where each window row p = (channel, ki, kj) reads relative to its output position in the
    /// padded planes of <see cref="SampleWindows{T}"/>: null unless the stride is 1.
    /// </summary>
    static int[]? ShiftsOf(Windows2d g, int channels, int h, int w)
    {
        if (g.StrideH != 1 || g.StrideW != 1) return null;
        int hp = h + 2 * g.PadH, wp = w + 2 * g.PadW;
        var shifts = new int[channels * g.Size];
        for (int p = 0; p < shifts.Length; p++)
        {
            int channel = Math.DivRem(p, g.Size, out int r), ki = Math.DivRem(r, g.KernelW, out int kj);
            shifts[p] = checked(channel * hp * wp + ki * g.DilationH * wp + kj * g.DilationW);
        }
        return shifts;
    }

    // Panels of cols (rows [p0, p0 + kc) of the windows, columns the positions [j0, j0 + cols)),
    // one panel at a time, written front to back: a panel's nr positions are a few runs along
    // output rows, found once, that every row copies out of its image row. (Row by row, each
    // row's nr-value pieces went to panels kc·nr apart, strides that share cache sets.)
    static void WindowPanels<T>(Span<T> dst, SampleWindows<T> rows, int p0, int kc, int ow, int j0, int cols, int nr) where T : unmanaged
    {
        Span<Run> runs = stackalloc Run[nr];
        fixed (T* start = dst)
            for (int q = 0, jq = j0; jq < j0 + cols; q++, jq += nr)
            {
                int count = Math.Min(nr, j0 + cols - jq);
                T* panel = start + q * kc * nr;
                rows.Fill(panel, nr, p0, kc, runs[..Runs(jq, count, ow, runs)]);
                if (count < nr)
                    for (int p = 0; p < kc; p++) new Span<T>(panel + p * nr + count, nr - count).Clear();
            }
    }

    // Panels of colsᵀ (rows the positions [l0, l0 + kc), columns the window rows [first, first + windows)):
    // for each panel, its nr window rows over those positions side by side, then transposed into the panel.
    static void TransposedWindowPanels<T>(Span<T> dst, SampleWindows<T> rows, int first, int windows, int ow, int l0, int kc, int nr)
        where T : unmanaged
    {
        int most = kc / ow + 2;
        Span<Run> runs = most <= 256 ? stackalloc Run[most] : new Run[most];
        runs = runs[..Runs(l0, kc, ow, runs)];
        var block = RunScratch<T>(nr * kc);
        fixed (T* values = block, panels = dst)
            for (int q = 0; q * nr < windows; q++)
            {
                int count = Math.Min(nr, windows - q * nr);
                rows.Fill(values, kc, first + q * nr, count, runs);
                if (count < nr) block[(count * kc)..].Clear();
                T* panel = panels + q * kc * nr;
                if (typeof(T) == typeof(float) && Transpose.IsAccelerated) Transpose.ColumnsToRows((float*)values, kc, (float*)panel, kc, nr);
                else
                    for (int p = 0; p < kc; p++)
                        for (int s = 0; s < nr; s++) panel[p * nr + s] = values[s * kc + p];
            }
    }

    // cols[:, l0 .. l0 + positions) of a sample into rows of `positions` values, the first of them at cols[0].
    static void WindowRows<T>(T[] cols, int positions, SampleWindows<T> rows, int ow, int l0) where T : unmanaged
    {
        int most = positions / ow + 2;
        Span<Run> runs = most <= 256 ? stackalloc Run[most] : new Run[most];
        fixed (T* dst = cols) rows.Fill(dst, positions, 0, rows.Count, runs[..Runs(l0, positions, ow, runs)]);
    }

    // One sample's whole column matrix [k, l], for a machine without the packed GEMM, and for im2col.
    static T[] Columns<T>(SampleWindows<T> rows, int ow, int l) where T : unmanaged
    {
        var cols = new T[rows.Count * l];
        WindowRows(cols, l, rows, ow, 0);
        return cols;
    }
}
