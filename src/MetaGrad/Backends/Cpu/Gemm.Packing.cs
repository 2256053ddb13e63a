using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace MetaGrad.Backends.Cpu;

// Packing: A's rows into panels of 6 or 4 interleaved rows, B's columns into panels of NR
// columns, so that the micro-kernel reads both front to back. Each operand layout has its own
// fast way in: rows read whole where they are contiguous, transposed operands moved through
// register transposes or wide loads.
internal static unsafe partial class Gemm
{
    // Row panels of h rows (see Height): for each p, the h values A[i..i+h, p] side by side (zero past the edge).
    static void PackA<T>(Span<T> dst, T[] a, int off, int rowStride, int colStride, int mc, int kc) where T : unmanaged
    {
        fixed (T* pd = dst, ps = a)
        {
            T* d = pd;
            int i0 = 0;
            if (rowStride == 1 && colStride != 1 && typeof(T) == typeof(float) && Vector256.IsHardwareAccelerated && kc > 1)
            {
                i0 = PackTransposedSixes((float*)d, (float*)(ps + off), colStride, mc, kc);
                d += i0 * kc;
            }
            for (int i = i0, mr; i < mc; i += mr)
            {
                mr = Height(mc, i);
                int rows = Math.Min(mr, mc - i);
                T* src = ps + off + i * rowStride;
                if (rows == 6)
                {
                    // A whole panel with the six rows' pointers held: no inner loop, no index products.
                    T* r0 = src, r1 = src + rowStride, r2 = r1 + rowStride, r3 = r2 + rowStride, r4 = r3 + rowStride, r5 = r4 + rowStride;
                    int p = 0, at = 0;
                    // Contiguous rows: eight steps at a time through a register transpose (value by
                    // value, the six loads and stores a step were most of the time of packing A). A
                    // block's two spilled values land in the next step, stored later; hence "<".
                    if (colStride == 1 && typeof(T) == typeof(float) && Transpose.IsAccelerated)
                        for (; p + 8 < kc; p += 8, at += 8, d += 48)
                            Transpose.SixRowsToSteps((float*)src + p, rowStride, (float*)d);
                    for (; p < kc; p++, at += colStride, d += 6)
                    {
                        d[0] = r0[at]; d[1] = r1[at]; d[2] = r2[at];
                        d[3] = r3[at]; d[4] = r4[at]; d[5] = r5[at];
                    }
                    continue;
                }
                for (int p = 0; p < kc; p++, d += mr)
                {
                    T* col = src + p * colStride;
                    int r = 0;
                    for (; r < rows; r++) d[r] = col[r * rowStride];
                    for (; r < mr; r++) d[r] = default;
                }
            }
        }
    }

    // Source rows ahead that PackTransposedSixes asks for, into L2 (bench/results/TUNING.md).
    const int PrefetchRows = 8;

    // The whole 6-row panels of a transposed A (A[i, p] at a[i + p·colStride]: Wᵀ, or a weight
    // gradient's dGᵀ), packed one source row (one p) at a time across all the
    // panels: panel by panel, each of the kc steps was a new page (a 1024-wide dG puts p's 4 KB
    // apart), so every panel walked kc pages again. Each step's six values move as one 8-wide load
    // and store whose two extra lanes the next step overwrites; the last step (whose spill would
    // land in the next panel) and a load that would read past the block's last row go value by
    // value. Returns the rows packed (a multiple of 6); the caller packs the rest.
    static int PackTransposedSixes(float* d, float* a, int colStride, int mc, int kc)
    {
        int sixes = 0;
        while (sixes * 6 + 6 <= mc && Height(mc, sixes * 6) == 6) sixes++;
        if (sixes == 0) return 0;
        // Panels whose 8-wide load stays within the block's rows.
        int wide = mc < 8 ? 0 : Math.Min(sixes, (mc - 8) / 6 + 1);
        nint panel = 6 * kc;
        for (int p = 0; p < kc; p++)
        {
            float* src = a + (nint)p * colStride;
            // The source rows are colStride apart (4 KB and more for a weight gradient's dGᵀ), past
            // what the processor's stride prefetcher follows: ask for a later row's lines now.
            if (p + PrefetchRows < kc && Sse.IsSupported)
                for (int f = 0; f < sixes * 6; f += 64 / sizeof(float)) Sse.Prefetch1(src + PrefetchRows * (nint)colStride + f);
            float* to = d + p * 6;
            int q = 0;
            if (p < kc - 1)
                for (; q < wide; q++) Vector256.Store(Vector256.Load(src + q * 6), to + q * panel);
            for (; q < sixes; q++)
                for (int r = 0; r < 6; r++) to[q * panel + r] = src[q * 6 + r];
        }
        return sixes * 6;
    }

    // Column panels of NR columns: for each p, the NR values B[p, j..j+NR] side by side (zero past the edge).
    static void PackB<T>(Span<T> dst, T[] b, int off, int rowStride, int colStride, int nc, int kc, int nr) where T : unmanaged
    {
        fixed (T* pd = dst, ps = b)
        {
            if (colStride == 1 && Vector256.IsHardwareAccelerated)
            {
                PackRows(pd, ps + off, rowStride, nc, kc, nr);
                return;
            }
            // Column by column of each panel: a column of B (a row of Bᵀ when B is a transposed view,
            // as x·Wᵀ in Linear) is read along its own stride, and written NR apart within the panel.
            T* d = pd;
            for (int j = 0; j < nc; j += nr, d += kc * nr)
            {
                int cols = Math.Min(nr, nc - j);
                int done = 0;
                if (cols == nr && rowStride == 1 && typeof(T) == typeof(float) && Transpose.IsAccelerated)
                    done = PackTransposed((float*)d, (float*)(ps + off + j * colStride), colStride, kc, nr);
                // A partial panel (a narrow B: the 6 or 16 channels of a small convolution's weight
                // gradient) is cleared whole at once, rather than its missing columns value by value.
                if (cols < nr) new Span<T>(d, kc * nr).Clear();
                for (int s = 0; s < cols; s++)
                {
                    T* column = ps + off + (j + s) * colStride;
                    for (int p = done; p < kc; p++) d[p * nr + s] = column[p * rowStride];
                }
            }
        }
    }

    // A whole nr-column panel of a transposed B (its columns contiguous, colStride apart), eight
    // steps at a time: eight columns' next eight values are eight loads, transposed in registers
    // into the panel's eight rows of those columns (one 8×8 block per eight columns). Element by
    // element it was a scalar load and store each, most of the time of x·Wᵀ at batch 64.
    // Returns how many steps it packed (a multiple of 8); the caller packs the rest.
    static int PackTransposed(float* d, float* b, int colStride, int kc, int nr)
    {
        int p = 0;
        for (; p + 8 <= kc; p += 8)
            for (int eighth = 0; eighth < nr; eighth += 8)
                Transpose.Block8x8(b + eighth * colStride + p, colStride, d + p * nr + eighth, nr);
        return p;
    }

    // B with contiguous rows, packed row by row: each row is read once front to back and its
    // NR-wide pieces go to their panels. Panel by panel instead reads one piece per row at a row
    // stride, a cache miss each that no prefetcher follows across pages: that packing once took
    // longer than the 32-row product it fed.
    static void PackRows<T>(T* d, T* b, int rowStride, int nc, int kc, int nr) where T : unmanaged
    {
        int full = nc / nr, rest = nc - full * nr, w = Vector256<T>.Count, panel = kc * nr;
        for (int p = 0; p < kc; p++)
        {
            T* src = b + p * rowStride;
            T* dst = d + p * nr;
            for (int jp = 0; jp < full; jp++, src += nr, dst += panel)
                for (int v = 0; v < nr; v += w)
                    Vector256.Load(src + v).Store(dst + v);
            if (rest == 0) continue;
            // The partial last panel: its columns, then zeros to the panel's width (as spans: a
            // small product's edge was mostly these element loops).
            new ReadOnlySpan<T>(src, rest).CopyTo(new Span<T>(dst, rest));
            new Span<T>(dst + rest, nr - rest).Clear();
        }
    }
}
