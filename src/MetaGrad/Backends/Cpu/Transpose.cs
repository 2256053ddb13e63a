using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace MetaGrad.Backends.Cpu;

/// <summary>
/// An 8×8 block of floats transposed in AVX registers: eight loads, three rounds of shuffles
/// (pairs interleaved, then quadruples, then the 128-bit halves), eight stores. Packing a
/// transposed GEMM operand and copying a transposed matrix both move data this way instead of
/// one element at a time.
/// </summary>
internal static unsafe class Transpose
{
    public static bool IsAccelerated => Avx.IsSupported;

    /// <summary>dst row q, element k = src row k, element q, for q, k &lt; 8 (rows are the strides apart).</summary>
    public static void Block8x8(float* src, nint srcStride, float* dst, nint dstStride) =>
        Store8x8(Avx.LoadVector256(src), Avx.LoadVector256(src + srcStride), Avx.LoadVector256(src + 2 * srcStride),
            Avx.LoadVector256(src + 3 * srcStride), Avx.LoadVector256(src + 4 * srcStride), Avx.LoadVector256(src + 5 * srcStride),
            Avx.LoadVector256(src + 6 * srcStride), Avx.LoadVector256(src + 7 * srcStride), dst, dstStride);

    /// <summary>
    /// dst[q·6 + k] = src row k, element q, for k &lt; 6, q &lt; 8: eight steps of a GEMM row panel of
    /// six rows. Each step is stored eight wide, so it also writes dst[48] and dst[49] (zero): the
    /// caller keeps them inside its buffer and writes them afterwards.
    /// </summary>
    public static void SixRowsToSteps(float* src, nint srcStride, float* dst) =>
        Store8x8(Avx.LoadVector256(src), Avx.LoadVector256(src + srcStride), Avx.LoadVector256(src + 2 * srcStride),
            Avx.LoadVector256(src + 3 * srcStride), Avx.LoadVector256(src + 4 * srcStride), Avx.LoadVector256(src + 5 * srcStride),
            Vector256<float>.Zero, Vector256<float>.Zero, dst, 6);

    // The transpose of the eight rows r0..r7 stored as eight rows dstStride apart, row 0 first (a
    // caller storing them overlapped relies on that order).
    static void Store8x8(Vector256<float> r0, Vector256<float> r1, Vector256<float> r2, Vector256<float> r3,
        Vector256<float> r4, Vector256<float> r5, Vector256<float> r6, Vector256<float> r7, float* dst, nint dstStride)
    {
        var t0 = Avx.UnpackLow(r0, r1); var t1 = Avx.UnpackHigh(r0, r1);
        var t2 = Avx.UnpackLow(r2, r3); var t3 = Avx.UnpackHigh(r2, r3);
        var t4 = Avx.UnpackLow(r4, r5); var t5 = Avx.UnpackHigh(r4, r5);
        var t6 = Avx.UnpackLow(r6, r7); var t7 = Avx.UnpackHigh(r6, r7);
        var u0 = Avx.Shuffle(t0, t2, 0x44); var u1 = Avx.Shuffle(t0, t2, 0xEE);
        var u2 = Avx.Shuffle(t1, t3, 0x44); var u3 = Avx.Shuffle(t1, t3, 0xEE);
        var u4 = Avx.Shuffle(t4, t6, 0x44); var u5 = Avx.Shuffle(t4, t6, 0xEE);
        var u6 = Avx.Shuffle(t5, t7, 0x44); var u7 = Avx.Shuffle(t5, t7, 0xEE);
        Avx.Store(dst, Avx.Permute2x128(u0, u4, 0x20));
        Avx.Store(dst + dstStride, Avx.Permute2x128(u1, u5, 0x20));
        Avx.Store(dst + 2 * dstStride, Avx.Permute2x128(u2, u6, 0x20));
        Avx.Store(dst + 3 * dstStride, Avx.Permute2x128(u3, u7, 0x20));
        Avx.Store(dst + 4 * dstStride, Avx.Permute2x128(u0, u4, 0x31));
        Avx.Store(dst + 5 * dstStride, Avx.Permute2x128(u1, u5, 0x31));
        Avx.Store(dst + 6 * dstStride, Avx.Permute2x128(u2, u6, 0x31));
        Avx.Store(dst + 7 * dstStride, Avx.Permute2x128(u3, u7, 0x31));
    }

    /// <summary>
    /// dst[r·dstStride + c] = src[r + c·srcStride] for r &lt; rows, c &lt; cols (dstStride: cols unless
    /// given): a matrix stored column by column (a transposed view) copied row by row, in 8×8 blocks
    /// and element by element at the edges.
    /// </summary>
    public static void ColumnsToRows(float* src, nint srcStride, float* dst, int rows, int cols, int dstStride = 0)
    {
        nint to = dstStride == 0 ? cols : dstStride;
        int fullRows = rows & ~7, fullCols = cols & ~7;
        for (int r = 0; r < fullRows; r += 8)
        {
            for (int c = 0; c < fullCols; c += 8)
                Block8x8(src + r + c * srcStride, srcStride, dst + r * to + c, to);
            for (int q = r; q < r + 8; q++)
                for (int c = fullCols; c < cols; c++) dst[q * to + c] = src[q + c * srcStride];
        }
        for (int q = fullRows; q < rows; q++)
            for (int c = 0; c < cols; c++) dst[q * to + c] = src[q + c * srcStride];
    }
}
