using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace MetaGrad.Backends.Cpu;

// The micro-kernels with 512-bit vectors (AVX-512), twice the columns of the 256-bit ones per
// multiply-add: one panel of six or four rows, or two whole panels at once.
internal static unsafe partial class Gemm
{
    // The same micro-kernel with 512-bit vectors: 6 rows × 2 vectors of 16 floats (8 doubles),
    // twice the columns per multiply-add; 12 accumulators still cover the latency of two FMA pipes.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void Kernel512<T, TRows>(int kc, T* a, int lda, int aStep, T* b, int ldb, T* c, int ldc, bool accumulate)
        where T : unmanaged where TRows : struct, IPanelRows
    {
        var c00 = Vector512<T>.Zero; var c01 = Vector512<T>.Zero;
        var c10 = Vector512<T>.Zero; var c11 = Vector512<T>.Zero;
        var c20 = Vector512<T>.Zero; var c21 = Vector512<T>.Zero;
        var c30 = Vector512<T>.Zero; var c31 = Vector512<T>.Zero;
        var c40 = Vector512<T>.Zero; var c41 = Vector512<T>.Zero;
        var c50 = Vector512<T>.Zero; var c51 = Vector512<T>.Zero;
        int w = Vector512<T>.Count;
        T* a1 = a + lda, a2 = a + 2 * lda, a3 = a + 3 * lda, a4 = a + 4 * lda, a5 = a + 5 * lda;
        nint step = aStep, rowB = ldb, depth = kc;
        if (accumulate)
        {
            int rows = TRows.Six ? 6 : 4;
            for (int r = 0; r < rows; r++)
            {
                Sse.Prefetch0(c + r * ldc);
                Sse.Prefetch0(c + r * ldc + 2 * w - 1);
            }
        }
        for (nint p = 0, at = 0; p < depth; p++, at += step)
        {
            var b0 = Vector512.Load(b);
            var b1 = Vector512.Load(b + w);
            var x = Vector512.Create(a[at]); c00 = Fma(x, b0, c00); c01 = Fma(x, b1, c01);
            x = Vector512.Create(a1[at]); c10 = Fma(x, b0, c10); c11 = Fma(x, b1, c11);
            x = Vector512.Create(a2[at]); c20 = Fma(x, b0, c20); c21 = Fma(x, b1, c21);
            x = Vector512.Create(a3[at]); c30 = Fma(x, b0, c30); c31 = Fma(x, b1, c31);
            if (TRows.Six)
            {
                x = Vector512.Create(a4[at]); c40 = Fma(x, b0, c40); c41 = Fma(x, b1, c41);
                x = Vector512.Create(a5[at]); c50 = Fma(x, b0, c50); c51 = Fma(x, b1, c51);
            }
            b += rowB;
        }
        StorePanel<T, TRows>(c, ldc, w, accumulate, c00, c01, c10, c11, c20, c21, c30, c31, c40, c41, c50, c51);
    }

    // The 512-bit kernel over two whole panels at once (rows 0..h-1 from `upper`, h..2h-1 from
    // `lower`, each row lda after the last and a step aStep on): twelve rows (two 6-row panels, 24
    // accumulators) or eight (two 4-row ones, 16), two loads of B for 2h broadcasts of A where a
    // single panel's kernel has h. On a core whose load ports a neighbour shares, that ratio, not
    // the multiply-adds, set the pace (bench/results/TUNING.md); a block that ends in two 4-row
    // panels (a batch of 32 is 6 + 6 + 6 + 6 + 4 + 4) gains from it anywhere. Each element is the
    // same chain of multiply-adds as in the one-panel kernel, so the bits are the same.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void Kernel512Pair<T, TRows>(int kc, T* upper, T* lower, int lda, int aStep, T* b, int ldb, T* c, int ldc, bool accumulate)
        where T : unmanaged where TRows : struct, IPanelRows
    {
        Vector512<T> c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default,
            c30 = default, c31 = default, c40 = default, c41 = default, c50 = default, c51 = default,
            c60 = default, c61 = default, c70 = default, c71 = default, c80 = default, c81 = default,
            c90 = default, c91 = default, ca0 = default, ca1 = default, cb0 = default, cb1 = default;
        int w = Vector512<T>.Count, h = TRows.Six ? 6 : 4;
        nint l = lda, step = aStep, rowB = ldb;
        T* end = b + (nint)kc * ldb;
        if (accumulate)
            for (int r = 0; r < 2 * h; r++)
            {
                Sse.Prefetch0(c + r * ldc);
                Sse.Prefetch0(c + r * ldc + 2 * w - 1);
            }
        for (T* a = upper, a2 = lower; b < end; b += rowB, a += step, a2 += step)
        {
            var b0 = Vector512.Load(b);
            var b1 = Vector512.Load(b + w);
            var x = Vector512.Create(a[0]); c00 = Fma(x, b0, c00); c01 = Fma(x, b1, c01);
            x = Vector512.Create(a[l]); c10 = Fma(x, b0, c10); c11 = Fma(x, b1, c11);
            x = Vector512.Create(a[2 * l]); c20 = Fma(x, b0, c20); c21 = Fma(x, b1, c21);
            x = Vector512.Create(a[3 * l]); c30 = Fma(x, b0, c30); c31 = Fma(x, b1, c31);
            if (TRows.Six)
            {
                x = Vector512.Create(a[4 * l]); c40 = Fma(x, b0, c40); c41 = Fma(x, b1, c41);
                x = Vector512.Create(a[5 * l]); c50 = Fma(x, b0, c50); c51 = Fma(x, b1, c51);
            }
            x = Vector512.Create(a2[0]); c60 = Fma(x, b0, c60); c61 = Fma(x, b1, c61);
            x = Vector512.Create(a2[l]); c70 = Fma(x, b0, c70); c71 = Fma(x, b1, c71);
            x = Vector512.Create(a2[2 * l]); c80 = Fma(x, b0, c80); c81 = Fma(x, b1, c81);
            x = Vector512.Create(a2[3 * l]); c90 = Fma(x, b0, c90); c91 = Fma(x, b1, c91);
            if (TRows.Six)
            {
                x = Vector512.Create(a2[4 * l]); ca0 = Fma(x, b0, ca0); ca1 = Fma(x, b1, ca1);
                x = Vector512.Create(a2[5 * l]); cb0 = Fma(x, b0, cb0); cb1 = Fma(x, b1, cb1);
            }
        }
        StorePanel<T, TRows>(c, ldc, w, accumulate, c00, c01, c10, c11, c20, c21, c30, c31, c40, c41, c50, c51);
        StorePanel<T, TRows>(c + h * ldc, ldc, w, accumulate, c60, c61, c70, c71, c80, c81, c90, c91, ca0, ca1, cb0, cb1);
    }

    // A panel's rows of C from its accumulators (two vectors a row; rows 4 and 5 only for six-row panels).
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void StorePanel<T, TRows>(T* c, int ldc, int w, bool accumulate, Vector512<T> r00, Vector512<T> r01, Vector512<T> r10, Vector512<T> r11,
        Vector512<T> r20, Vector512<T> r21, Vector512<T> r30, Vector512<T> r31, Vector512<T> r40, Vector512<T> r41, Vector512<T> r50, Vector512<T> r51)
        where T : unmanaged where TRows : struct, IPanelRows
    {
        Store(c, r00, r01, w, accumulate);
        Store(c + ldc, r10, r11, w, accumulate);
        Store(c + 2 * ldc, r20, r21, w, accumulate);
        Store(c + 3 * ldc, r30, r31, w, accumulate);
        if (!TRows.Six) return;
        Store(c + 4 * ldc, r40, r41, w, accumulate);
        Store(c + 5 * ldc, r50, r51, w, accumulate);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Vector512<T> Fma<T>(Vector512<T> x, Vector512<T> y, Vector512<T> z) where T : unmanaged
    {
        if (typeof(T) == typeof(float))
            return Vector512.FusedMultiplyAdd(x.AsSingle(), y.AsSingle(), z.AsSingle()).As<float, T>();
        return Vector512.FusedMultiplyAdd(x.AsDouble(), y.AsDouble(), z.AsDouble()).As<double, T>();
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void Store<T>(T* row, Vector512<T> v0, Vector512<T> v1, int w, bool accumulate) where T : unmanaged
    {
        if (accumulate)
        {
            v0 += Vector512.Load(row);
            v1 += Vector512.Load(row + w);
        }
        v0.Store(row);
        v1.Store(row + w);
    }
}
