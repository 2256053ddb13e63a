using System.Runtime.CompilerServices;
using System.Numerics.Tensors;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace MetaGrad.Backends.Cpu;

// Products too small to pack: read in place by the micro-kernel (A and B fit in L1/L2), or, the
// smallest and types without a vector kernel, a plain loop. The bias for these paths is added to
// the finished rows.
internal static unsafe partial class Gemm
{
    /// <summary>From this many multiply-adds an in-place product is split between threads.</summary>
    const long InPlaceParallelWork = 100 * 100 * 100;

    /// <summary>Deepest K for which a column panel of B (K×NR) read in place stays in L1.</summary>
    const int InPlaceDepth = 512;

    /// <summary>
    /// Whether a K-deep column panel of B read in place, one 64-byte line a row at this row stride,
    /// would outgrow its share of L1: a stride of a multiple of 256 bytes maps the rows to a
    /// fraction of L1's 64 sets (8 ways each), so 128³ of float (512-byte rows, 8 sets) evicted its
    /// own panel between row panels. Such panels are copied first (bench/results/TUNING.md).
    /// </summary>
    static bool Aliases<T>(int rowStride, int k) where T : unmanaged
    {
        int bytes = rowStride * sizeof(T);
        if (bytes % 256 != 0) return false;
        int sets = 64 / Math.Min(64, (bytes & -bytes) / 64);   // consecutive rows step through the sets by the stride's power of two
        return k > sets * 4;   // half of the sets' ways, the rest left to A and C
    }

    /// <summary>Whether a small float B stored column by column is made row-major for the in-place path (tests switch it off to compare).</summary>
    internal static bool TransposeSmallB = true;

    /// <summary>
    /// Up to this many columns (and under 100³ multiply-adds, the caller's part) a B stored column by
    /// column is transposed for the in-place path; wider ones lost to the blocked path's packed
    /// panels (bench/results/TUNING.md).
    /// </summary>
    const int TransposedInPlaceColumns = 64;

    // The row-major copy of a small transposed B: per thread.
    [ThreadStatic] static float[]? t_smallB;

    /// <summary>
    /// A small float B stored column by column (x·Wᵀ, a head's q·kᵀ) copied row-major into per-thread
    /// scratch, to be read in place: the blocked path's setup cost more than these products'
    /// multiply-adds. Null where it does not apply. Rows a multiple of 256 bytes long get 64 bytes
    /// more, so that a panel's rows do not crowd a few sets of L1 (see Aliases).
    /// </summary>
    static StridedMatrix<T>? RowMajorCopy<T>(int n, int k, StridedMatrix<T> mb) where T : unmanaged
    {
        if (!TransposeSmallB || n > TransposedInPlaceColumns || mb.RowStride != 1 || typeof(T) != typeof(float) || !Transpose.IsAccelerated) return null;
        int stride = n * sizeof(float) % 256 == 0 ? n + 16 : n;
        var rows = t_smallB is { } kept && kept.Length >= k * stride ? kept : t_smallB = new float[Math.Max(k * stride, 1024)];
        fixed (T* src = mb.Data)
        fixed (float* dst = rows)
            Transpose.ColumnsToRows((float*)(src + mb.Offset), mb.ColumnStride, dst, k, n, stride);
        return StridedMatrix.Of((T[])(object)rows, 0, stride, 1);
    }

    // Small products: A and B fit in L1/L2, so packing them (a pass over each, plus the copies)
    // costs more than it saves; the micro-kernel reads B's rows and A's elements where they are.
    // Only the partial panels at
    // the edges are copied, zero-padded, so that every tile runs the full kernel.
    // Every stack buffer here is written whole before it is read (the packing pads with zeros, the
    // kernel writes its tile): clearing them first cost a good part of a small product's time.
    [SkipLocalsInit]
    static void InPlace<T>(int m, int n, int k, StridedMatrix<T> ma, StridedMatrix<T> mb, T[] c, int cOff, int ldc, int nr) where T : unmanaged
    {
        T[] a = ma.Data;
        int aOff = ma.Offset, aRow = ma.RowStride, aCol = ma.ColumnStride;
        T[] b = mb.Data;
        int bOff = mb.Offset, bRow = mb.RowStride;   // columns contiguous (the caller checked)

        int fullCols = n / nr * nr;
        // Only the last row panel can be partial: it is the one copied.
        int last = LastPanel(m), lastHeight = Height(m, last);
        bool partialRows = m - last < lastHeight;
        T* tile = stackalloc T[6 * MaxNR];
        T* edgeA = stackalloc T[partialRows ? lastHeight * k : 0];
        T* edgeB = stackalloc T[n > fullCols ? nr * k : 0];
        // Copying pays where the panel is reused by many row panels (16+; at 16 rows it lost).
        bool copyB = m >= 96 && Aliases<T>(bRow, k);
        T* copied = stackalloc T[copyB ? nr * k : 0];
        fixed (T* pa = a, pb = b, pc = c)
        {
            if (partialRows) PackA(new Span<T>(edgeA, lastHeight * k), a, aOff + last * aRow, aRow, aCol, m - last, k);
            if (n > fullCols) PackB(new Span<T>(edgeB, nr * k), b, bOff + fullCols, bRow, 1, n - fullCols, k, nr);
            for (int j = 0; j < n; j += nr)
            {
                int cols = Math.Min(nr, n - j);
                if (copyB && cols == nr) PackRows(copied, pb + bOff + j, bRow, nr, k, nr);
                // B's panel read in place (row stride bRow), or a copy (row stride NR): zero-padded
                // at the edge, or whole where B's rows alias in L1 (see Aliases).
                T* panelB = cols < nr ? edgeB : copyB ? copied : pb + bOff + j;
                int ldb = cols == nr && !copyB ? bRow : nr;
                for (int i = 0, h; i < m; i += h)
                {
                    h = Height(m, i);
                    int rows = Math.Min(h, m - i);
                    // A's rows read in place (row r at r·aRow, step aCol), or the packed edge (r, step h).
                    bool whole = rows == h;
                    T* panelA = whole ? pa + aOff + i * aRow : edgeA;
                    int lda = whole ? aRow : 1, step = whole ? aCol : h;
                    T* dst = pc + cOff + i * ldc + j;
                    if (cols == nr && PairsWithNext<T>(nr, m, i, h, lda))
                    {
                        KernelPair(h, k, panelA, panelA + h * aRow, lda, step, panelB, ldb, dst, ldc, accumulate: false);
                        h *= 2;
                    }
                    else if (whole && cols == nr) Kernel(h, nr, k, panelA, lda, step, panelB, ldb, dst, ldc, accumulate: false);
                    else
                    {
                        Kernel(h, nr, k, panelA, lda, step, panelB, ldb, tile, nr, accumulate: false);
                        for (int r = 0; r < rows; r++) new ReadOnlySpan<T>(tile + r * nr, cols).CopyTo(new Span<T>(dst + r * ldc, cols));
                    }
                }
            }
        }
    }

    static void Direct<T>(int m, int n, int k, StridedMatrix<T> ma, StridedMatrix<T> mb, T[] c, int cOff) where T : unmanaged
    {
        T[] a = ma.Data;
        int aOff = ma.Offset, aRow = ma.RowStride, aCol = ma.ColumnStride;
        T[] b = mb.Data;
        int bOff = mb.Offset, bRow = mb.RowStride, bCol = mb.ColumnStride;
        if (typeof(T) == typeof(float)) DirectTyped((float[])(object)a, aOff, aRow, aCol, (float[])(object)b, bOff, bRow, bCol, (float[])(object)c, cOff, m, n, k);
        else if (typeof(T) == typeof(double)) DirectTyped((double[])(object)a, aOff, aRow, aCol, (double[])(object)b, bOff, bRow, bCol, (double[])(object)c, cOff, m, n, k);
        else throw new NotSupportedException($"Gemm: {typeof(T).Name} is not a GEMM type");
    }

    static void DirectTyped<T>(T[] a, int aOff, int aRow, int aCol, T[] b, int bOff, int bRow, int bCol, T[] c, int cOff, int m, int n, int k)
        where T : unmanaged, System.Numerics.INumber<T>
    {
        if (aCol == 1 && bRow == 1)
        {
            // A's rows and B's columns both contiguous (x·Wᵀ): each output a vectorised dot product.
            for (int i = 0; i < m; i++)
                for (int j = 0; j < n; j++)
                    c[cOff + i * n + j] = TensorPrimitives.Dot<T>(a.AsSpan(aOff + i * aRow, k), b.AsSpan(bOff + j * bCol, k));
            return;
        }
        for (int i = 0; i < m; i++)
        {
            var row = c.AsSpan(cOff + i * n, n);
            row.Clear();
            for (int p = 0; p < k; p++)
            {
                T aip = a[aOff + i * aRow + p * aCol];
                int bo = bOff + p * bRow;
                if (bCol == 1) for (int j = 0; j < n; j++) row[j] += aip * b[bo + j];
                else for (int j = 0; j < n; j++) row[j] += aip * b[bo + j * bCol];
            }
        }
    }

    // C's rows += bias, for the paths whose kernels do not take it (small products): the same
    // rounding, the bias added to each finished sum.
    static void AddRows<T>(int m, int n, T[] c, int cOff, T[]? bias, int biasOff) where T : unmanaged
    {
        if (bias is null) return;
        for (int i = 0; i < m; i++)
        {
            var row = c.AsSpan(cOff + i * n, n);
            AddSpans(row, bias.AsSpan(biasOff, n), row);
        }
    }
}
