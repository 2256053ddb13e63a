using System.Runtime.InteropServices;
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace MetaGrad.Backends.Cpu;

/// <summary>
/// Matrix multiply C = A·B for float and double, after the BLIS design: the output is cut into
/// tiles that threads take independently; inside a tile, K is cut into slices, a slice of A is
/// packed into row panels (6 or 4 rows, interleaved) and a slice of B into column panels (NR
/// columns), and a register-blocked micro-kernel of 6×NR (or 4×NR) accumulators runs over them
/// with fused multiply-adds. Operands are read through their strides while packing, so a
/// transposed operand costs nothing extra (Gemm.Packing.cs); small products, and A's blocks that
/// stay in L2, are read in place instead. The plain loop in <see cref="CpuBackend"/> is the
/// reference it is tested against.
/// </summary>
internal static unsafe partial class Gemm
{
    // K slice: a KC×NR panel of B (24 KB; 30 KB for a last slice that took in the remainder) stays
    // in L1 and an MC×KC block of A in L2; deeper slices send the C tile to memory fewer times
    // (384 against 256: bench/results/TUNING.md). The 512-bit kernel's panels are twice as wide,
    // so its slices are shallower (KC512) for the same share of L1.
    const int KC = 384;
    const int KC512 = 256;
    const int MC = 96;    // rows per tile: a multiple of 6, so that only a product's last block has 4-row panels
    // Columns per tile: B's packed slice (KC×NC, up to 8 MB of float) stays in L3 and A is packed once per
    // K slice, as BLIS sets it for AVX2; 512 packed A again for every 512 columns, which cost up to
    // a seventh at 2 threads (bench/results/TUNING.md). Rounded down to whole panels of each width.
    static int NC(int nr) => 4080 / nr * nr;

    /// <summary>
    /// The depth of the K slice starting at p0: KC (for panels nr wide), except that a remainder of
    /// up to a quarter more joins the last slice rather than make a thin one of its own (K = 784 was
    /// 384 + 384 + 16, a whole pass over C and two hand-offs between threads for 16 steps of depth).
    /// </summary>
    static int Depth<T>(int k, int p0, int nr) where T : unmanaged
    {
        int kc = nr > Vector256<T>.Count * 2 ? KC512 : KC;
        return k - p0 <= kc + kc / 4 ? k - p0 : kc;
    }

    /// <summary>Whether a product of depth k runs in one K slice with the kernel in use (a bias then joins the finished sums).</summary>
    internal static bool IsOneSlice<T>(int k) where T : unmanaged => Depth<T>(k, 0, NR<T>()) == k;

    /// <summary>
    /// Below this many multiply-adds a plain loop beats the vector kernels' fixed costs; above it,
    /// even a decoding step's [4, 64]·[64, 64]ᵀ is far faster in the kernels (bench/results/TUNING.md).
    /// </summary>
    const long SmallWork = 256;

    /// <summary>
    /// A product deeper than this with fewer than <see cref="FewOutputs"/> outputs is a few dot
    /// products: packing B into whole panels of NR columns (a 4096-deep B of one column is 32
    /// columns of packing) would cost more than they do.
    /// </summary>
    const int DotDepth = 256;
    const int FewOutputs = 16;

    /// <summary>Below this many multiply-adds one thread is faster than two (measured on the 2-core runner).</summary>
    internal const long ParallelWork = 160 * 160 * 160;

    static int MR<T>() => 6;

    /// <summary>
    /// The height of the row panel starting at row i of a block of mc rows: 6, except that the last
    /// rows take 4-row panels where that covers them exactly (mc = 16 is 6 + 6 + 4, mc = 32 is
    /// 6·4 + 4 + 4), since batch sizes are mostly multiples of 4 and a partial 6-row panel computes
    /// its missing rows anyway (16 rows cost 18, 32 cost 36). A last partial panel (odd mc) is 6
    /// high for 5 rows, else 4.
    /// </summary>
    static int Height(int mc, int i)
    {
        int sixes = mc / 6;
        if (mc % 6 == 2 && sixes > 0) sixes--;
        return i < sixes * 6 || mc - i == 5 ? 6 : 4;
    }

    /// <summary>Where the last row panel of a block of mc rows starts.</summary>
    static int LastPanel(int mc)
    {
        int i = 0;
        while (i + Height(mc, i) < mc) i += Height(mc, i);
        return i;
    }

    /// <summary>
    /// Whether the micro-kernel uses 512-bit vectors (AVX-512: twice the multiply-adds per
    /// instruction of the 256-bit kernel, which runs elsewhere). Within a K slice both compute each
    /// element of C as the same chain of fused multiply-adds, so a product of one slice gives the
    /// same bits in both; the 512-bit kernel's slices are shallower, so deeper products round
    /// differently. Tests switch it off to cover the 256-bit kernel on an AVX-512 machine. Read
    /// once per product.
    /// </summary>
    internal static bool UseVector512 { get; set; } = Vector512.IsHardwareAccelerated;

    /// <summary>
    /// Whether the 512-bit kernel takes two whole 6-row panels at once (twelve rows, 24
    /// accumulators). It gives the bits of the 6-row kernel; tests switch it on and off to show that.
    /// </summary>
    internal static bool UseTwelveRows { get; set; } = TwelveRowsByDefault;

    /// <summary>
    /// Whether the 512-bit kernel takes two whole 4-row panels at once (eight rows). It gives the
    /// bits of the 4-row kernel; tests switch it off to show that.
    /// </summary>
    internal static bool UseEightRows { get; set; } = true;

    /// <summary>
    /// The twelve-row kernel where it paid: on the Intel Xeon kind, whose load ports a neighbour's
    /// hyperthread can share, fewer loads per multiply-add set the pace; on AMD's Zen 5 it was no
    /// faster on any product and slower on large ones with A packed (bench/results/TUNING.md).
    /// </summary>
    internal static readonly bool TwelveRowsByDefault = !Processor.IsAmd;

    /// <summary>
    /// Whether the whole panel of h rows at row i of a block of mc and the next one, as high, run
    /// as one two-panel 512-bit kernel (<see cref="KernelPair{T}"/>): twelve rows where the machine
    /// takes them and A's rows (lda apart) do not crowd one L1 set, eight rows wherever a block
    /// ends in two 4-row panels.
    /// </summary>
    static bool PairsWithNext<T>(int nr, int mc, int i, int h, int lda) where T : unmanaged =>
        nr == Vector512<T>.Count * 2 && mc - i >= 2 * h && Height(mc, i + h) == h
        && (h == 6 ? UseTwelveRows && TwelveRowsFit<T>(lda) : UseEightRows);

    // The two-panel kernel for panels of h rows (6 or 4), rows h..2h-1 from `lower`.
    static void KernelPair<T>(int h, int kc, T* upper, T* lower, int lda, int aStep, T* b, int ldb, T* c, int ldc, bool accumulate) where T : unmanaged
    {
        if (h == 6) Kernel512Pair<T, SixRows>(kc, upper, lower, lda, aStep, b, ldb, c, ldc, accumulate);
        else Kernel512Pair<T, FourRows>(kc, upper, lower, lda, aStep, b, ldb, c, ldc, accumulate);
    }

    /// <summary>
    /// Whether twelve rows of A read in place, <paramref name="lda"/> apart (1: packed), may go to
    /// the twelve-row kernel. With a row stride of a multiple of 4 KiB every row's current line falls
    /// in the same one of L1's 64 sets, 12 ways on the AVX-512 machines this runs on: the six-row
    /// kernel's six lines share it with B's, the twelve-row kernel's twelve evict each other before
    /// their sixteen values are used (bench/results/TUNING.md).
    /// </summary>
    static bool TwelveRowsFit<T>(int lda) where T : unmanaged => (long)lda * sizeof(T) % 4096 != 0;

    /// <summary>The widest panel any kernel uses (the 512-bit kernel's, for float), for scratch tiles.</summary>
    const int MaxNR = 32;

    /// <summary>Columns per panel: two vectors of the kernel in use.</summary>
    static int NR<T>() where T : unmanaged => UseVector512 ? Vector512<T>.Count * 2 : Vector256<T>.Count * 2;

    /// <summary>How many columns of B a panel holds with the kernel in use (a narrower B is padded to it).</summary>
    internal static int PanelWidth<T>() where T : unmanaged => NR<T>();

    /// <summary>
    /// C[i, j] = Σ_p A[i, p]·B[p, j] (+ bias[j]) for i &lt; m, j &lt; n, p &lt; k, with A and B given by
    /// offset and (row, column) strides and C contiguous with row length n (overwritten). With
    /// <paramref name="parallel"/> false it stays on the calling thread (a caller already split the work).
    /// A bias (n values from <paramref name="biasOff"/>) is added to each tile's rows right after the
    /// tile is stored, while it is in L1 (no pass over C of its own), to the finished sum as
    /// PyTorch's addmm rounds it.
    /// </summary>
    public static void Multiply<T>(int m, int n, int k, StridedMatrix<T> ma, StridedMatrix<T> mb,
        T[] c, int cOff, bool parallel = true, T[]? bias = null, int biasOff = 0) where T : unmanaged
    {
        if (m == 0 || n == 0) return;
        int bCol = mb.ColumnStride;
        if (k == 0)
        {
            c.AsSpan(cOff, m * n).Clear();
            AddRows(m, n, c, cOff, bias, biasOff);
            return;
        }
        long work = (long)m * n * k;
        if (work < SmallWork || (k > DotDepth && (long)m * n < FewOutputs)
            || !Vector256.IsHardwareAccelerated || (typeof(T) != typeof(float) && typeof(T) != typeof(double)))
        {
            Direct(m, n, k, ma, mb, c, cOff);
            AddRows(m, n, c, cOff, bias, biasOff);
            return;
        }
        bool threads = parallel && Threading.NumThreads > 1;
        int nr = NR<T>();
        if (work < InPlaceParallelWork && k <= InPlaceDepth && bCol != 1 && RowMajorCopy(n, k, mb) is { } copy) (mb, bCol) = (copy, 1);
        if (work < ParallelWork && bCol == 1 && k <= InPlaceDepth)
        {
            // Column panels split between threads: with no packing there is one hand-off in all,
            // which pays from about 100³ (InPlaceParallelWork).
            int panels = (n + nr - 1) / nr;
            int parts = threads && work >= InPlaceParallelWork ? Math.Min(Threading.NumThreads, panels) : 1;
            if (parts == 1) InPlace(m, n, k, ma, mb, c, cOff, n, nr);
            else Threading.For(parts, part =>
            {
                int first = part * panels / parts * nr, last = Math.Min(n, (part + 1) * panels / parts * nr);
                InPlace(m, last - first, k, ma, mb.At(0, first), c, cOff + first, n, nr);
            });
            AddRows(m, n, c, cOff, bias, biasOff);
            return;
        }
        if (threads && work >= ColumnSplitWork && (n + nr - 1) / nr >= 2 * Threading.NumThreads)
            ColumnSplit(m, n, k, ma, mb, c, cOff, bias, biasOff, nr);
        else
            fixed (T* pBias = bias)
                Blocked<T>(m, n, k, ma, mb, null, nr, c, cOff, n, threads && work >= ParallelWork, bias is null ? null : pBias + biasOff);
    }

    /// <summary>From this many multiply-adds the threads split the columns once for the whole product.</summary>
    const long ColumnSplitWork = 1024L * 1024 * 1024;

    // Each thread takes a range of whole column panels for the whole product and runs the blocked
    // product on it alone, packing its own part of every B slice and its own A blocks: the threads
    // never wait for each other until the end, where splitting each K slice's packing and kernel
    // work takes two hand-offs per slice. That wins for the largest products, but the products of
    // training steps (MLP batch 256, LSTM: 50-270M multiply-adds) lost a step's time to a late
    // worker leaving its fixed half to wait for, where per-slice work items let the calling thread
    // take more. So only the largest split this way (bench/results/TUNING.md).
    internal static void ColumnSplit<T>(int m, int n, int k, StridedMatrix<T> ma, StridedMatrix<T> mb, T[] c, int cOff,
        T[]? bias = null, int biasOff = 0, int nr = 0) where T : unmanaged
    {
        if (nr == 0) nr = NR<T>();
        int panelsN = (n + nr - 1) / nr, parts = Threading.NumThreads;
        fixed (T* pBias = bias)
        {
            var at = bias is null ? 0 : (IntPtr)(pBias + biasOff);
            Threading.For(parts, part =>
            {
                int j0 = part * panelsN / parts * nr, j1 = Math.Min(n, (part + 1) * panelsN / parts * nr);
                if (j1 > j0) Blocked<T>(m, j1 - j0, k, ma, mb.At(0, j0), null, nr, c, cOff + j0, n, parallel: false,
                    at == 0 ? null : (T*)at + j0);
            });
        }
    }

    /// <summary>
    /// Up to this many elements a row-contiguous A is read in place by the blocked path (1 MB of
    /// float: a 96-row block of it still fits L2); a larger A read in place loses to packing
    /// (bench/results/TUNING.md).
    /// </summary>
    internal const long DirectAElements = 256 * 1024;

    /// <summary>
    /// B [k, n] packed once into the panels the micro-kernel reads, for many products with it (a
    /// recurrent layer's weight, used at every step): each product then packs only its A. Null
    /// where the blocked path does not run (no Vector256, or not float/double).
    /// </summary>
    public static PackedB<T>? Pack<T>(int k, int n, StridedMatrix<T> mb) where T : unmanaged => Pack<T>(k, n, PanelsOf(mb));

    /// <summary>The panel writer of a B in memory: its strided packing, for a product that takes a writer.</summary>
    public static PanelWriter<T> PanelsOf<T>(StridedMatrix<T> mb) where T : unmanaged => (dst, p0, kc, j0, cols, nr) =>
        PackB(dst, mb.Data, mb.Offset + p0 * mb.RowStride + j0 * mb.ColumnStride, mb.RowStride, mb.ColumnStride, cols, kc, nr);

    /// <summary>
    /// Writes the panels of rows [p0, p0 + kc) and columns [j0, j0 + cols) of a B into dst: for each
    /// panel of nr columns, kc rows of nr values side by side (zero past the last column).
    /// </summary>
    public delegate void PanelWriter<T>(Span<T> dst, int p0, int kc, int j0, int cols, int nr) where T : unmanaged;

    // The packing loop of Pack, for any panel writer.
    static PackedB<T>? Pack<T>(int k, int n, PanelWriter<T> write) where T : unmanaged
    {
        if (!Vector256.IsHardwareAccelerated || (typeof(T) != typeof(float) && typeof(T) != typeof(double)) || k == 0 || n == 0) return null;
        int nr = NR<T>(), nc0 = NC(nr);
        long total = 0;
        for (int j0 = 0; j0 < n; j0 += nc0) total += (long)(Math.Min(nc0, n - j0) + nr - 1) / nr * nr * k;
        // From the tensor pool: a recurrent layer packs its weight at every forward and backward,
        // and a fresh megabyte each time on the large-object heap drove full collections.
        // 64 bytes to spare, so the panels can start on a cache line (see Scratch). Pooled buffers
        // are on the large-object heap and small ones pinned, so that boundary stays where it is.
        int length = checked((int)total + 64 / sizeof(T));
        var buffer = length >= BufferPool<T>.MinLength ? BufferPool<T>.Rent(length, clear: false) : GC.AllocateUninitializedArray<T>(length, pinned: true);
        int origin;
        fixed (T* start = buffer) origin = (int)((64 - ((nint)start & 63)) & 63) / sizeof(T);
        // The slices in the order Blocked visits them: column blocks, then K slices within each;
        // a large B in column ranges of whole panels, one per thread (packed serially, it held up
        // every recurrent layer's time loop, forwards and backwards).
        int parts = total >= PackParallelElements ? Math.Min(Threading.NumThreads, (n + nr - 1) / nr) : 1;
        Threading.For(parts, part =>
        {
            int at = 0;
            for (int j0 = 0; j0 < n; j0 += nc0)
            {
                int nc = Math.Min(nc0, n - j0), panels = (nc + nr - 1) / nr;
                int first = part * panels / parts, last = (part + 1) * panels / parts;
                int cols = Math.Min(last * nr, nc) - first * nr;
                for (int p0 = 0, kc; p0 < k; p0 += kc)
                {
                    kc = Depth<T>(k, p0, nr);
                    if (cols > 0) write(buffer.AsSpan(origin + at + first * nr * kc, (last - first) * nr * kc), p0, kc, j0 + first * nr, cols, nr);
                    at += panels * nr * kc;
                }
            }
        });
        return new PackedB<T>(k, n, nr, buffer, origin, (int)total);
    }

    /// <summary>
    /// C = A·B (or C += A·B with <paramref name="accumulate"/>) for a B that is not a matrix in memory
    /// (a convolution's image windows): its panels are written by <paramref name="write"/> slice by
    /// slice into the same scratch a strided B is packed into, so the whole B is never stored. A
    /// given by offset and strides, C contiguous [m, n]; with <paramref name="parallel"/> false it
    /// stays on the calling thread.
    /// </summary>
    public static void Multiply<T>(int m, int n, int k, StridedMatrix<T> ma, PanelWriter<T> write, T[] c, int cOff, bool parallel = true, bool accumulate = false)
        where T : unmanaged
    {
        if (m == 0 || n == 0 || k == 0) throw new ArgumentException($"Gemm: a written B needs a non-empty product, got {m}x{k} times {k}x{n}");
        if (!Vector256.IsHardwareAccelerated || (typeof(T) != typeof(float) && typeof(T) != typeof(double)))
            throw new NotSupportedException("Gemm: a written B needs the packed kernels (Vector256, float or double)");
        Blocked<T>(m, n, k, ma, default, null, NR<T>(), c, cOff, n,
            parallel: parallel && (long)m * n * k >= ParallelWork && Threading.NumThreads > 1, addToC: accumulate, writer: write);
    }

    /// <summary>
    /// Columns per tile for a written B: a K slice of 64 KB (float, 256 deep) per 64 columns, so
    /// that the slice just written is still in L2 when the kernel reads it. A strided B's tiles are
    /// wide because A is packed again for each one; a written B's products (a convolution's) read
    /// a small A in place.
    /// </summary>
    static int WrittenNC(int nr) => Math.Max(nr, 256 / nr * nr);

    /// <summary>Whether <see cref="Multiply{T}(int, int, int, StridedMatrix{T}, PanelWriter{T}, T[], int, bool, bool)"/> runs here: it needs the packed kernels.</summary>
    public static bool WritesPanels<T>() where T : unmanaged =>
        Vector256.IsHardwareAccelerated && (typeof(T) == typeof(float) || typeof(T) == typeof(double));

    /// <summary>From this many packed elements <see cref="Pack{T}(int, int, StridedMatrix{T})"/> splits the work between threads.</summary>
    const long PackParallelElements = 1 << 17;

    /// <summary>C = A·B with B packed by <see cref="Pack{T}(int, int, StridedMatrix{T})"/>; A given by offset and strides, C contiguous [m, B.N].</summary>
    public static void Multiply<T>(int m, StridedMatrix<T> ma, PackedB<T> b, T[] c, int cOff, bool parallel = true) where T : unmanaged
    {
        if (m == 0) return;
        fixed (T* pb = b.Buffer)
            Blocked<T>(m, b.N, b.K, ma, default, pb + b.Origin, b.NR, c, cOff, b.N,
                parallel: parallel && (long)m * b.N * b.K >= ParallelWork && Threading.NumThreads > 1);
    }

    // Packing buffers, shared by the threads of one call and kept per calling thread, so that
    // calls from several threads at once (a recurrent layer splits its batch) each reuse their own.
    [ThreadStatic] static byte[]? t_packA, t_packB;

    // A row block packed by the work item that runs it (see Blocked): per thread, used by no nested call.
    [ThreadStatic] static byte[]? t_blockA;

    // One B panel packed just before its kernels (see Blocked): per thread.
    [ThreadStatic] static byte[]? t_panelB;

    /// <summary>Whether Blocked may pack a transposed B panel by panel (tests switch it off to compare with the slice packed ahead).</summary>
    internal static bool PackPerPanel = true;

    // The BLIS loop nest: for each NC-wide column block and KC-deep slice, B's slice is packed
    // once; then the work items (a row block, or a piece of its columns when there are too few
    // row blocks to keep every thread busy) run the micro-kernel over their panels, each packing
    // its own row block of A first (or, for pieces, all blocks are packed before them). C's rows
    // are ldc apart (n, or more for a range of columns).
    static void Blocked<T>(int m, int n, int k, StridedMatrix<T> ma, StridedMatrix<T> mb, T* packed, int nr, T[] c, int cOff, int ldc, bool parallel,
        T* bias = null, bool addToC = false, PanelWriter<T>? writer = null) where T : unmanaged
    {
        T[] a = ma.Data;
        int aOff = ma.Offset, aRow = ma.RowStride, aCol = ma.ColumnStride;
        T[] b = mb.Data;
        int bOff = mb.Offset, bRow = mb.RowStride, bCol = mb.ColumnStride;

        var biasAt = (IntPtr)bias;
        int mr = MR<T>(), nc0 = writer is null ? NC(nr) : WrittenNC(nr);
        int blocksM = (m + MC - 1) / MC, panelsM = (m + mr - 1) / mr;
        int threads = parallel ? Threading.NumThreads : 1;
        // An A with contiguous rows whose blocks stay in L2 is read in place by the kernel: packing
        // it was most of the work around a recurrent step's product ([32, 256]·W_hhᵀ, 64 a layer).
        bool directA = aCol == 1 && (long)m * k <= DirectAElements;
        var (sharedA, sharedB) = (t_packA, t_packB);
        (t_packA, t_packB) = (null, null);   // a nested call on this thread would allocate its own
        try
        {
            int packedAt = 0;
            for (int j0 = 0; j0 < n; j0 += nc0)
            {
                int nc = Math.Min(nc0, n - j0), panelsN = (nc + nr - 1) / nr;
                // Enough work items (about four per thread) that an uneven split costs little at the end.
                int pieces = parallel ? Math.Clamp((4 * threads + blocksM - 1) / blocksM, 1, panelsN) : 1;
                for (int p0 = 0, kc; p0 < k; p0 += kc)
                {
                    kc = Depth<T>(k, p0, nr);
                    // With one work item per row block, each item packs its block just before its
                    // kernels, into its thread's own block of scratch, still in L2 when they read
                    // it; packed ahead for the whole slice (as pieces of a block on several threads
                    // need), a tall A's blocks outgrow L2 before they are read.
                    bool packEach = pieces == 1;
                    var pa = packEach ? 0 : (IntPtr)Unsafe.AsPointer(ref Scratch<T>(ref sharedA, panelsM * mr * kc)[0]);
                    // One row block and a transposed B (x·Wᵀ at a small batch): each B panel serves
                    // only that block's kernels, so it is packed just before them into a per-thread
                    // buffer still in L1 when they read it, its source nr rows of W read along. A B
                    // with contiguous rows keeps the slice packed ahead, row by row: a panel of it
                    // alone is kc short runs a row stride apart (bench/results/TUNING.md).
                    bool panelByPanel = PackPerPanel && packed is null && writer is null && bCol != 1 && blocksM == 1;
                    IntPtr pb = packed is not null ? (IntPtr)(packed + packedAt)
                        : panelByPanel ? 0 : (IntPtr)Unsafe.AsPointer(ref Scratch<T>(ref sharedB, panelsN * nr * kc)[0]);
                    packedAt += panelsN * nr * kc;
                    // B's slice in column ranges of whole panels, packed beside A's blocks (serially it
                    // was the one part of a slice that only one thread did).
                    int partsB = packed is not null || panelByPanel ? 0 : Math.Min(threads, panelsN);
                    void PackPart(int part)
                    {
                        int first = part * panelsN / partsB, last = (part + 1) * panelsN / partsB;
                        int cols = Math.Min(last * nr, nc) - first * nr;
                        var dst = new Span<T>((T*)pb + first * nr * kc, (last - first) * nr * kc);
                        if (writer is not null) writer(dst, p0, kc, j0 + first * nr, cols, nr);
                        else PackB(dst, b, bOff + p0 * bRow + (j0 + first * nr) * bCol, bRow, bCol, cols, kc, nr);
                    }
                    bool accumulate = p0 > 0 || addToC;
                    // The bias joins the first slice's sums; later slices add to those.
                    IntPtr sliceBias = accumulate || biasAt == 0 ? 0 : (IntPtr)((T*)biasAt + j0);
                    // Block ib's panels into `into` (row i of the block at into + i·kc).
                    void PackBlock(int ib, T* into)
                    {
                        int i0 = ib * MC, mc = Math.Min(MC, m - i0);
                        if (directA)
                        {
                            // Only a partial last panel is copied (zero-padded to its kernel's height).
                            int last = LastPanel(mc);
                            if (mc - last < Height(mc, last))
                                PackA(new Span<T>(into + last * kc, 6 * kc), a, aOff + (i0 + last) * aRow + p0, aRow, 1, mc - last, kc);
                            return;
                        }
                        PackA(new Span<T>(into, ((mc + mr - 1) / mr) * mr * kc), a, aOff + i0 * aRow + p0 * aCol, aRow, aCol, mc, kc);
                    }
                    void Item(int item)
                    {
                        int ib = item / pieces, piece = item % pieces;
                        int i0 = ib * MC, mc = Math.Min(MC, m - i0);
                        T* blockA;
                        if (packEach)
                        {
                            blockA = (T*)Unsafe.AsPointer(ref Scratch<T>(ref t_blockA, ((MC + mr - 1) / mr) * mr * kc)[0]);
                            PackBlock(ib, blockA);
                        }
                        else blockA = (T*)pa + i0 * kc;
                        int firstPanel = piece * panelsN / pieces, lastPanel = (piece + 1) * panelsN / pieces;
                        fixed (T* pc = c, pA = a)
                        {
                            if (!panelByPanel)
                            {
                                Panels((T*)pb, nr, blockA, directA ? pA + aOff + i0 * aRow + p0 : null, aRow,
                                    pc + cOff + i0 * ldc + j0, ldc, mc, nc, kc, firstPanel, lastPanel, accumulate, (T*)sliceBias);
                                return;
                            }
                            var panel = Scratch<T>(ref t_panelB, nr * kc);
                            T* at = (T*)Unsafe.AsPointer(ref panel[0]);
                            for (int jp = firstPanel; jp < lastPanel; jp++)
                            {
                                PackB(panel, b, bOff + p0 * bRow + (j0 + jp * nr) * bCol, bRow, bCol, Math.Min(nr, nc - jp * nr), kc, nr);
                                // Panels finds panel jp at packB + jp·nr·kc.
                                Panels(at - (nint)jp * nr * kc, nr, blockA, directA ? pA + aOff + i0 * aRow + p0 : null, aRow,
                                    pc + cOff + i0 * ldc + j0, ldc, mc, nc, kc, jp, jp + 1, accumulate, (T*)sliceBias);
                            }
                        }
                    }
                    int items = blocksM * pieces;
                    if (!parallel)
                    {
                        for (int part = 0; part < partsB; part++) PackPart(part);
                        for (int it = 0; it < items; it++) Item(it);
                    }
                    else
                    {
                        int blocksAhead = packEach ? 0 : blocksM;
                        Threading.For(partsB + blocksAhead, i => { if (i < partsB) PackPart(i); else PackBlock(i - partsB, (T*)pa + (i - partsB) * MC * kc); });
                        Threading.For(items, Item);
                    }
                }
            }
        }
        finally
        {
            (t_packA, t_packB) = (sharedA, sharedB);
        }
    }

    // The micro-kernel over column panels [firstPanel, lastPanel) and every row panel of a block.
    // Whole row panels come from A itself when directA is given (row r at directA + r·aRow),
    // else, like a partial last panel always, from the packed block. A bias (the block's nc
    // values, or null) is added to every row of a tile that is written, not accumulated.
    [SkipLocalsInit]   // the edge tile is written whole by the kernel before it is read
    static void Panels<T>(T* packB, int nr, T* packA, T* directA, int aRow, T* c, int ldc, int mc, int nc, int kc, int firstPanel, int lastPanel, bool accumulate,
        T* bias = null) where T : unmanaged
    {
        T* edge = stackalloc T[6 * MaxNR];
        for (int jp = firstPanel; jp < lastPanel; jp++)
        {
            int cols = Math.Min(nr, nc - jp * nr);
            for (int i = 0, h; i < mc; i += h)
            {
                // The panel of rows [i, i + h) is packed at i·kc, h values per step.
                h = Height(mc, i);
                int rows = Math.Min(h, mc - i);
                T* dst = c + i * ldc + jp * nr;
                bool whole = rows == h;
                T* panelA = whole && directA != null ? directA + i * aRow : packA + i * kc;
                int lda = whole && directA != null ? aRow : 1, step = whole && directA != null ? 1 : h;
                T* panelBias = bias == null ? null : bias + jp * nr;
                if (cols == nr && PairsWithNext<T>(nr, mc, i, h, lda))
                {
                    T* lower = directA != null ? panelA + h * aRow : packA + (i + h) * kc;
                    KernelPair(h, kc, panelA, lower, lda, step, packB + jp * nr * kc, nr, dst, ldc, accumulate);
                    if (panelBias != null) AddBias(dst, ldc, 2 * h, nr, panelBias);
                    h *= 2;
                    continue;
                }
                if (whole && cols == nr)
                {
                    Kernel(h, nr, kc, panelA, lda, step, packB + jp * nr * kc, nr, dst, ldc, accumulate);
                    if (panelBias != null) AddBias(dst, ldc, h, nr, panelBias);
                }
                else
                {
                    // Edge tile: compute the whole panel's block into scratch, then copy what fits
                    // (the bias too: past the last column there is none to read).
                    Kernel(h, nr, kc, panelA, lda, step, packB + jp * nr * kc, nr, edge, nr, accumulate: false);
                    for (int r = 0; r < rows; r++)
                    {
                        var row = new Span<T>(dst + r * ldc, cols);
                        var computed = new ReadOnlySpan<T>(edge + r * nr, cols);
                        if (accumulate) AddSpans(row, computed, row);
                        else if (panelBias != null) AddSpans(computed, new ReadOnlySpan<T>(panelBias, cols), row);
                        else computed.CopyTo(row);
                    }
                }
            }
        }
    }

    // A pinned buffer, the span starting on a 64-byte boundary: a 512-bit load from a panel that
    // is not aligned to a cache line touches two lines, halving the loads the kernel can issue.
    static Span<T> Scratch<T>(ref byte[]? buffer, int count) where T : unmanaged
    {
        int bytes = count * sizeof(T) + 64;
        if (buffer is null || buffer.Length < bytes) buffer = GC.AllocateUninitializedArray<byte>(bytes, pinned: true);
        byte* start = (byte*)Unsafe.AsPointer(ref buffer[0]);
        return new Span<T>(start + ((64 - ((nint)start & 63)) & 63), count);
    }

    // z = x + y for the GEMM's types, by vectors (the same roundings as element by element).
    static void AddSpans<T>(ReadOnlySpan<T> x, ReadOnlySpan<T> y, Span<T> z) where T : unmanaged
    {
        if (typeof(T) == typeof(float))
            TensorPrimitives.Add(MemoryMarshal.Cast<T, float>(x), MemoryMarshal.Cast<T, float>(y), MemoryMarshal.Cast<T, float>(z));
        else if (typeof(T) == typeof(double))
            TensorPrimitives.Add(MemoryMarshal.Cast<T, double>(x), MemoryMarshal.Cast<T, double>(y), MemoryMarshal.Cast<T, double>(z));
        else
            for (int i = 0; i < z.Length; i++) z[i] = Add(x[i], y[i]);
    }

    static T Add<T>(T x, T y) where T : unmanaged =>
        typeof(T) == typeof(float) ? (T)(object)((float)(object)x + (float)(object)y) : (T)(object)((double)(object)x + (double)(object)y);

    // The micro-kernel for a panel of `rows` (6 or 4) rows and nr columns (two vectors of 256 or 512 bits).
    static void Kernel<T>(int rows, int nr, int kc, T* a, int lda, int aStep, T* b, int ldb, T* c, int ldc, bool accumulate) where T : unmanaged
    {
        if (nr == Vector256<T>.Count * 2)
        {
            if (rows == 6) Kernel<T, SixRows>(kc, a, lda, aStep, b, ldb, c, ldc, accumulate);
            else Kernel<T, FourRows>(kc, a, lda, aStep, b, ldb, c, ldc, accumulate);
        }
        else if (rows == 6) Kernel512<T, SixRows>(kc, a, lda, aStep, b, ldb, c, ldc, accumulate);
        else Kernel512<T, FourRows>(kc, a, lda, aStep, b, ldb, c, ldc, accumulate);
    }

    // A just-stored tile's rows += the bias row (its panel's nr values): while the tile is in L1,
    // and outside the kernel, whose loop a tenth argument slowed measurably.
    // The same single rounding of sum + bias as an addition after the product.
    static void AddBias<T>(T* c, int ldc, int rows, int nr, T* bias) where T : unmanaged
    {
        int w = Vector256<T>.Count;
        for (int r = 0; r < rows; r++, c += ldc)
            for (int s = 0; s < nr; s += w)
                (Vector256.Load(c + s) + Vector256.Load(bias + s)).Store(c + s);
    }

    interface IPanelRows { static abstract bool Six { get; } }
    struct SixRows : IPanelRows { public static bool Six => true; }
    struct FourRows : IPanelRows { public static bool Six => false; }

    // The 6×(2 vectors) micro-kernel: 12 accumulators, two loads of B and one broadcast of A per
    // row and step; compiled a second time without rows 4 and 5 for 4-row panels (8 accumulators,
    // still enough independent multiply-adds to cover their latency). A's row r is at a + r·lda,
    // advancing by aStep per step (packed: lda 1, aStep the panel height; in place: the matrix's
    // own strides); B's row p is at b + p·ldb (packed: NR apart). c is row-major with row stride
    // ldc; the tile is written, or added to when accumulating.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void Kernel<T, TRows>(int kc, T* a, int lda, int aStep, T* b, int ldb, T* c, int ldc, bool accumulate)
        where T : unmanaged where TRows : struct, IPanelRows
    {
        var c00 = Vector256<T>.Zero; var c01 = Vector256<T>.Zero;
        var c10 = Vector256<T>.Zero; var c11 = Vector256<T>.Zero;
        var c20 = Vector256<T>.Zero; var c21 = Vector256<T>.Zero;
        var c30 = Vector256<T>.Zero; var c31 = Vector256<T>.Zero;
        var c40 = Vector256<T>.Zero; var c41 = Vector256<T>.Zero;
        var c50 = Vector256<T>.Zero; var c51 = Vector256<T>.Zero;
        int w = Vector256<T>.Count;
        T* a1 = a + lda, a2 = a + 2 * lda, a3 = a + 3 * lda, a4 = a + 4 * lda, a5 = a + 5 * lda;
        nint step = aStep, rowB = ldb, depth = kc;   // native-width counters: no sign extension in the loop
        if (accumulate && Sse.IsSupported)
        {
            // The tile is read at the end: ask for its lines now, so that the trip to memory overlaps
            // the loop instead of stalling after it.
            int rows = TRows.Six ? 6 : 4;
            for (int r = 0; r < rows; r++)
            {
                Sse.Prefetch0(c + r * ldc);
                Sse.Prefetch0(c + r * ldc + 2 * w - 1);
            }
        }
        for (nint p = 0, at = 0; p < depth; p++, at += step)
        {
            var b0 = Vector256.Load(b);
            var b1 = Vector256.Load(b + w);
            var x = Vector256.Create(a[at]); c00 = Fma(x, b0, c00); c01 = Fma(x, b1, c01);
            x = Vector256.Create(a1[at]); c10 = Fma(x, b0, c10); c11 = Fma(x, b1, c11);
            x = Vector256.Create(a2[at]); c20 = Fma(x, b0, c20); c21 = Fma(x, b1, c21);
            x = Vector256.Create(a3[at]); c30 = Fma(x, b0, c30); c31 = Fma(x, b1, c31);
            if (TRows.Six)
            {
                x = Vector256.Create(a4[at]); c40 = Fma(x, b0, c40); c41 = Fma(x, b1, c41);
                x = Vector256.Create(a5[at]); c50 = Fma(x, b0, c50); c51 = Fma(x, b1, c51);
            }
            b += rowB;
        }
        Store(c, c00, c01, w, accumulate);
        Store(c + ldc, c10, c11, w, accumulate);
        Store(c + 2 * ldc, c20, c21, w, accumulate);
        Store(c + 3 * ldc, c30, c31, w, accumulate);
        if (!TRows.Six) return;
        Store(c + 4 * ldc, c40, c41, w, accumulate);
        Store(c + 5 * ldc, c50, c51, w, accumulate);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector256<T> Fma<T>(Vector256<T> x, Vector256<T> y, Vector256<T> z) where T : unmanaged
    {
        if (typeof(T) == typeof(float))
            return Vector256.FusedMultiplyAdd(x.AsSingle(), y.AsSingle(), z.AsSingle()).As<float, T>();
        return Vector256.FusedMultiplyAdd(x.AsDouble(), y.AsDouble(), z.AsDouble()).As<double, T>();
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void Store<T>(T* row, Vector256<T> v0, Vector256<T> v1, int w, bool accumulate) where T : unmanaged
    {
        if (accumulate)
        {
            v0 += Vector256.Load(row);
            v1 += Vector256.Load(row + w);
        }
        v0.Store(row);
        v1.Store(row + w);
    }
}

/// <summary>The panels of a B packed once by <see cref="Gemm.Pack{T}(int, int, StridedMatrix{T})"/>, in a buffer rented from the tensor pool.</summary>
internal sealed class PackedB<T>(int k, int n, int nr, T[] buffer, int origin, int length) where T : unmanaged
{
    public int K { get; } = k;
    public int N { get; } = n;
    /// <summary>The width of its panels: the kernel that packed them is the one that reads them.</summary>
    public int NR { get; } = nr;
    /// <summary>The buffer the panels are in, from <see cref="Origin"/> on (an element on a 64-byte boundary when packed).</summary>
    public T[] Buffer { get; private set; } = buffer;
    public int Origin { get; } = origin;
    /// <summary>The panels themselves.</summary>
    public ReadOnlySpan<T> Panels => Buffer.AsSpan(Origin, length);

    /// <summary>Gives the buffer back to the pool; the panels must not be used after (one left unreleased is only garbage).</summary>
    public void Release()
    {
        if (Buffer.Length >= BufferPool<T>.MinLength) BufferPool<T>.Return(Buffer);
        Buffer = [];
        length = 0;
    }
}

/// <summary>
/// A matrix read through strides: element (i, j) at Data[Offset + i·RowStride + j·ColumnStride].
/// A transposed operand is the same array with its strides swapped, so the GEMM needs no copy.
/// </summary>
internal readonly record struct StridedMatrix<T>(T[] Data, int Offset, int RowStride, int ColumnStride) where T : unmanaged
{
    /// <summary>The same matrix from element (row, column) on.</summary>
    public StridedMatrix<T> At(int row, int column) => this with { Offset = Offset + row * RowStride + column * ColumnStride };
}

internal static class StridedMatrix
{
    /// <summary>A <see cref="StridedMatrix{T}"/> with T taken from the array.</summary>
    public static StridedMatrix<T> Of<T>(T[] data, int offset, int rowStride, int columnStride) where T : unmanaged => new(data, offset, rowStride, columnStride);
}
