using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace MetaGrad.Backends.Cpu;

// A stride-1 convolution's product W·cols reads cols[p, j] = image[j's place + shift p] from a
// zero-bordered image: every row of B is the image itself, read from a fixed shift. Where each of
// the kernel's vectors of B lies within one output row, the micro-kernel can load those vectors
// straight from the image, and B is never written anywhere: the panels the written-B product
// fills (one copy of every value of cols, a seventh of a 3×3 layer's time, perf, Zen 5) are skipped.
internal static unsafe partial class Gemm
{
    /// <summary>
    /// Whether <see cref="MultiplyShifted{T}"/> runs for C [m, n] = A [m, k]·B with output rows of
    /// <paramref name="rowLength"/> positions: the packed kernels exist, the columns fill whole
    /// panels, each of the kernel's vectors lies within one output row, and A is small enough to be
    /// read in place (<see cref="DirectAElements"/>).
    /// </summary>
    public static bool ReadsShifted<T>(int m, int n, int k, int rowLength) where T : unmanaged =>
        WritesPanels<T>() && n % NR<T>() == 0 && rowLength % (NR<T>() / 2) == 0 && (long)m * k <= DirectAElements;

    /// <summary>
    /// C = A·B on the calling thread, where B[p, j] = image[origin + (j / rowLength)·width + j % rowLength + shifts[p]]
    /// and A is row-contiguous [m, k] from <paramref name="aOff"/>; C contiguous [m, n], overwritten,
    /// with bias[biasOff + i] added to row i where a bias is given (the first K slice starts from it,
    /// so C is not read again to add it). Only where <see cref="ReadsShifted{T}"/> said so.
    /// </summary>
    public static void MultiplyShifted<T>(int m, int n, int k, T[] a, int aOff, T[] image, int origin, int width, int rowLength, int[] shifts, T[] c, int cOff,
        T[]? bias = null, int biasOff = 0)
        where T : unmanaged
    {
        int nr = NR<T>(), w = nr / 2;
        int last = LastPanel(m);
        bool partial = m - last < Height(m, last);
        // A partial last row panel is copied, zero-padded to its kernel's height, one K slice at a time.
        T* edgeA = stackalloc T[partial ? 6 * (KC + KC / 4) : 0];
        T* tile = stackalloc T[6 * MaxNR];
        bool twelve = UseTwelveRows && nr == Vector512<T>.Count * 2 && TwelveRowsFit<T>(k);
        fixed (T* pa = a, pi = image, pc = c, pb = bias)
        fixed (int* ps = shifts)
            for (int p0 = 0, kc; p0 < k; p0 += kc)
            {
                kc = Depth<T>(k, p0, nr);
                bool accumulate = p0 > 0;
                // The first slice starts from the bias, so C is written once with it.
                T* rowBias = accumulate || pb is null ? null : pb + biasOff;
                if (partial) PackA(new Span<T>(edgeA, 6 * kc), a, aOff + last * k + p0, k, 1, m - last, kc);
                for (int j = 0; j < n; j += nr)
                {
                    // The panel's two vectors: each within one output row (possibly not the same one).
                    T* b0 = pi + origin + j / rowLength * width + j % rowLength;
                    T* b1 = pi + origin + (j + w) / rowLength * width + (j + w) % rowLength;
                    for (int i = 0, h; i < m; i += h)
                    {
                        h = Height(m, i);
                        T* dst = pc + cOff + i * n + j;
                        if (twelve && h == 6 && m - i >= 12 && Height(m, i + 6) == 6)
                        {
                            KernelShifted512Twelve(kc, pa + aOff + i * k + p0, k, b0, b1, ps + p0, rowBias is null ? null : rowBias + i, dst, n, accumulate);
                            h = 12;
                            continue;
                        }
                        if (m - i >= h)
                        {
                            KernelShifted(h, nr, kc, pa + aOff + i * k + p0, k, 1, b0, b1, ps + p0, rowBias is null ? null : rowBias + i, dst, n, accumulate);
                            continue;
                        }
                        KernelShifted(h, nr, kc, edgeA, 1, h, b0, b1, ps + p0, null, tile, nr, accumulate: false);
                        for (int r = 0; r < m - i; r++)
                            for (int s = 0; s < nr; s++)
                                dst[r * n + s] = accumulate ? Add(dst[r * n + s], tile[r * nr + s]) : rowBias is null ? tile[r * nr + s] : Add(tile[r * nr + s], rowBias[i + r]);
                    }
                }
            }
    }

    static void KernelShifted<T>(int rows, int nr, int kc, T* a, int lda, int aStep, T* b0, T* b1, int* shifts, T* bias, T* c, int ldc, bool accumulate) where T : unmanaged
    {
        if (nr == Vector256<T>.Count * 2)
        {
            if (rows == 6) KernelShifted<T, SixRows>(kc, a, lda, aStep, b0, b1, shifts, bias, c, ldc, accumulate);
            else KernelShifted<T, FourRows>(kc, a, lda, aStep, b0, b1, shifts, bias, c, ldc, accumulate);
        }
        else if (rows == 6) KernelShifted512<T, SixRows>(kc, a, lda, aStep, b0, b1, shifts, bias, c, ldc, accumulate);
        else KernelShifted512<T, FourRows>(kc, a, lda, aStep, b0, b1, shifts, bias, c, ldc, accumulate);
    }

    // The 256-bit micro-kernel (see Kernel) with B's row p loaded from b0 + shifts[p] and b1 + shifts[p].
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void KernelShifted<T, TRows>(int kc, T* a, int lda, int aStep, T* b0, T* b1, int* shifts, T* bias, T* c, int ldc, bool accumulate)
        where T : unmanaged where TRows : struct, IPanelRows
    {
        var c00 = Vector256<T>.Zero; var c10 = Vector256<T>.Zero; var c20 = Vector256<T>.Zero;
        var c30 = Vector256<T>.Zero; var c40 = Vector256<T>.Zero; var c50 = Vector256<T>.Zero;
        if (bias is not null)
        {
            c00 = Vector256.Create(bias[0]); c10 = Vector256.Create(bias[1]);
            c20 = Vector256.Create(bias[2]); c30 = Vector256.Create(bias[3]);
            if (TRows.Six) { c40 = Vector256.Create(bias[4]); c50 = Vector256.Create(bias[5]); }
        }
        var c01 = c00; var c11 = c10; var c21 = c20; var c31 = c30; var c41 = c40; var c51 = c50;
        T* a1 = a + lda, a2 = a + 2 * lda, a3 = a + 3 * lda, a4 = a + 4 * lda, a5 = a + 5 * lda;
        nint step = aStep, depth = kc;
        for (nint p = 0, at = 0; p < depth; p++, at += step)
        {
            nint shift = shifts[p];
            var v0 = Vector256.Load(b0 + shift);
            var v1 = Vector256.Load(b1 + shift);
            var x = Vector256.Create(a[at]); c00 = Fma(x, v0, c00); c01 = Fma(x, v1, c01);
            x = Vector256.Create(a1[at]); c10 = Fma(x, v0, c10); c11 = Fma(x, v1, c11);
            x = Vector256.Create(a2[at]); c20 = Fma(x, v0, c20); c21 = Fma(x, v1, c21);
            x = Vector256.Create(a3[at]); c30 = Fma(x, v0, c30); c31 = Fma(x, v1, c31);
            if (TRows.Six)
            {
                x = Vector256.Create(a4[at]); c40 = Fma(x, v0, c40); c41 = Fma(x, v1, c41);
                x = Vector256.Create(a5[at]); c50 = Fma(x, v0, c50); c51 = Fma(x, v1, c51);
            }
        }
        int w = Vector256<T>.Count;
        Store(c, c00, c01, w, accumulate);
        Store(c + ldc, c10, c11, w, accumulate);
        Store(c + 2 * ldc, c20, c21, w, accumulate);
        Store(c + 3 * ldc, c30, c31, w, accumulate);
        if (!TRows.Six) return;
        Store(c + 4 * ldc, c40, c41, w, accumulate);
        Store(c + 5 * ldc, c50, c51, w, accumulate);
    }

    // The 512-bit micro-kernel (see Kernel512) with B's row p loaded from b0 + shifts[p] and b1 + shifts[p].
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void KernelShifted512<T, TRows>(int kc, T* a, int lda, int aStep, T* b0, T* b1, int* shifts, T* bias, T* c, int ldc, bool accumulate)
        where T : unmanaged where TRows : struct, IPanelRows
    {
        var c00 = Vector512<T>.Zero; var c10 = Vector512<T>.Zero; var c20 = Vector512<T>.Zero;
        var c30 = Vector512<T>.Zero; var c40 = Vector512<T>.Zero; var c50 = Vector512<T>.Zero;
        if (bias is not null)
        {
            c00 = Vector512.Create(bias[0]); c10 = Vector512.Create(bias[1]);
            c20 = Vector512.Create(bias[2]); c30 = Vector512.Create(bias[3]);
            if (TRows.Six) { c40 = Vector512.Create(bias[4]); c50 = Vector512.Create(bias[5]); }
        }
        var c01 = c00; var c11 = c10; var c21 = c20; var c31 = c30; var c41 = c40; var c51 = c50;
        T* a1 = a + lda, a2 = a + 2 * lda, a3 = a + 3 * lda, a4 = a + 4 * lda, a5 = a + 5 * lda;
        nint step = aStep, depth = kc;
        for (nint p = 0, at = 0; p < depth; p++, at += step)
        {
            nint shift = shifts[p];
            var v0 = Vector512.Load(b0 + shift);
            var v1 = Vector512.Load(b1 + shift);
            var x = Vector512.Create(a[at]); c00 = Fma(x, v0, c00); c01 = Fma(x, v1, c01);
            x = Vector512.Create(a1[at]); c10 = Fma(x, v0, c10); c11 = Fma(x, v1, c11);
            x = Vector512.Create(a2[at]); c20 = Fma(x, v0, c20); c21 = Fma(x, v1, c21);
            x = Vector512.Create(a3[at]); c30 = Fma(x, v0, c30); c31 = Fma(x, v1, c31);
            if (TRows.Six)
            {
                x = Vector512.Create(a4[at]); c40 = Fma(x, v0, c40); c41 = Fma(x, v1, c41);
                x = Vector512.Create(a5[at]); c50 = Fma(x, v0, c50); c51 = Fma(x, v1, c51);
            }
        }
        int w = Vector512<T>.Count;
        Store(c, c00, c01, w, accumulate);
        Store(c + ldc, c10, c11, w, accumulate);
        Store(c + 2 * ldc, c20, c21, w, accumulate);
        Store(c + 3 * ldc, c30, c31, w, accumulate);
        if (!TRows.Six) return;
        Store(c + 4 * ldc, c40, c41, w, accumulate);
        Store(c + 5 * ldc, c50, c51, w, accumulate);
    }

    // The twelve-row 512-bit kernel (see Kernel512Pair) with B's row p loaded from b0 + shifts[p]
    // and b1 + shifts[p]; A's rows lda apart, one step a column; the bias (12 values, or null)
    // starts each row's sums.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void KernelShifted512Twelve<T>(int kc, T* a, int lda, T* b0, T* b1, int* shifts, T* bias, T* c, int ldc, bool accumulate) where T : unmanaged
    {
        Vector512<T> c00 = default, c10 = default, c20 = default, c30 = default, c40 = default, c50 = default,
            c60 = default, c70 = default, c80 = default, c90 = default, ca0 = default, cb0 = default;
        if (bias is not null)
        {
            c00 = Vector512.Create(bias[0]); c10 = Vector512.Create(bias[1]); c20 = Vector512.Create(bias[2]);
            c30 = Vector512.Create(bias[3]); c40 = Vector512.Create(bias[4]); c50 = Vector512.Create(bias[5]);
            c60 = Vector512.Create(bias[6]); c70 = Vector512.Create(bias[7]); c80 = Vector512.Create(bias[8]);
            c90 = Vector512.Create(bias[9]); ca0 = Vector512.Create(bias[10]); cb0 = Vector512.Create(bias[11]);
        }
        var c01 = c00; var c11 = c10; var c21 = c20; var c31 = c30; var c41 = c40; var c51 = c50;
        var c61 = c60; var c71 = c70; var c81 = c80; var c91 = c90; var ca1 = ca0; var cb1 = cb0;
        nint l = lda;
        T* a6 = a + 6 * l;
        for (int* end = shifts + kc; shifts < end; shifts++, a++, a6++)
        {
            nint shift = *shifts;
            var v0 = Vector512.Load(b0 + shift);
            var v1 = Vector512.Load(b1 + shift);
            var x = Vector512.Create(a[0]); c00 = Fma(x, v0, c00); c01 = Fma(x, v1, c01);
            x = Vector512.Create(a[l]); c10 = Fma(x, v0, c10); c11 = Fma(x, v1, c11);
            x = Vector512.Create(a[2 * l]); c20 = Fma(x, v0, c20); c21 = Fma(x, v1, c21);
            x = Vector512.Create(a[3 * l]); c30 = Fma(x, v0, c30); c31 = Fma(x, v1, c31);
            x = Vector512.Create(a[4 * l]); c40 = Fma(x, v0, c40); c41 = Fma(x, v1, c41);
            x = Vector512.Create(a[5 * l]); c50 = Fma(x, v0, c50); c51 = Fma(x, v1, c51);
            x = Vector512.Create(a6[0]); c60 = Fma(x, v0, c60); c61 = Fma(x, v1, c61);
            x = Vector512.Create(a6[l]); c70 = Fma(x, v0, c70); c71 = Fma(x, v1, c71);
            x = Vector512.Create(a6[2 * l]); c80 = Fma(x, v0, c80); c81 = Fma(x, v1, c81);
            x = Vector512.Create(a6[3 * l]); c90 = Fma(x, v0, c90); c91 = Fma(x, v1, c91);
            x = Vector512.Create(a6[4 * l]); ca0 = Fma(x, v0, ca0); ca1 = Fma(x, v1, ca1);
            x = Vector512.Create(a6[5 * l]); cb0 = Fma(x, v0, cb0); cb1 = Fma(x, v1, cb1);
        }
        int w = Vector512<T>.Count;
        Store(c, c00, c01, w, accumulate);
        Store(c + ldc, c10, c11, w, accumulate);
        Store(c + 2 * ldc, c20, c21, w, accumulate);
        Store(c + 3 * ldc, c30, c31, w, accumulate);
        Store(c + 4 * ldc, c40, c41, w, accumulate);
        Store(c + 5 * ldc, c50, c51, w, accumulate);
        Store(c + 6 * ldc, c60, c61, w, accumulate);
        Store(c + 7 * ldc, c70, c71, w, accumulate);
        Store(c + 8 * ldc, c80, c81, w, accumulate);
        Store(c + 9 * ldc, c90, c91, w, accumulate);
        Store(c + 10 * ldc, ca0, ca1, w, accumulate);
        Store(c + 11 * ldc, cb0, cb1, w, accumulate);
    }
}
