using System.Runtime.Intrinsics;
using MetaGrad.Backends.Cpu;
using Xunit.Abstractions;

namespace MetaGrad.Tests.Backends;

/// <summary>The blocked GEMM held equal to the reference triple loop.</summary>
[Collection(ProcessWideState.Name)]   // sets or reads the process-wide thread count
public class GemmTests(ITestOutputHelper output)
{
    /// <summary>Each micro-kernel this machine can run, selected in turn: the 256-bit one always, the 512-bit one where AVX-512 is accelerated.</summary>
    IEnumerable<string> EachKernel() => VectorWidths.OfGemm(output);

    public static TheoryData<int, int, int> Sizes => new()
    {
        { 1, 1, 1 }, { 5, 7, 3 }, { 6, 16, 8 }, { 7, 17, 9 }, { 33, 31, 35 }, { 97, 130, 257 }, { 200, 530, 70 }, { 13, 1025, 300 },
        { 9, 4100, 600 },   // more columns than one NC tile and K in two slices
        { 20, 40, 470 }, { 30, 50, 880 },   // a deep last slice (470 in one), and 384 + 384 + 112
        // Row panels of 6 and 4 (see Gemm.Height), in place: 2 (a partial 4), 4, 8 (4 + 4), 10, 11
        // (6 + a partial 6), 14 (6 + 4 + 4), 15 (6 + 6 + a partial 4), 16 (6 + 6 + 4)
        { 2, 64, 300 }, { 4, 48, 200 }, { 8, 40, 120 }, { 10, 70, 64 }, { 11, 20, 200 }, { 14, 33, 90 }, { 15, 37, 100 }, { 16, 100, 256 },
        // and packed: 32 (6·4 + 4 + 4), 100 and 104 (a 96-row block, then 4 and 4 + 4), 2 and 15 with K in slices
        { 32, 1024, 256 }, { 100, 40, 600 }, { 104, 96, 700 }, { 2, 3000, 700 }, { 15, 600, 600 },
        // 512-bit panels of 32 columns: one and a half, two and a partial, K of 321 (256 + 65 in two slices)
        { 40, 48, 321 }, { 64, 80, 320 }, { 120, 4070, 40 },
        // A too large to read in place, so packed: three row blocks and K in slices with a tail of
        // less than 8 steps (the 8-step transposes of its rows); and enough row blocks (9) that
        // each thread packs the blocks it runs
        { 200, 40, 1405 }, { 800, 64, 403 },
        // A read in place with its rows 4 and 8 KiB apart, all in one L1 set: the six-row kernel
        // where the twelve-row one would evict its own rows (Gemm.TwelveRowsFit)
        { 24, 64, 1024 }, { 36, 96, 2048 },
        // Small products through the vector kernels (from 256 multiply-adds: a decoding step's
        // [batch, 64]·[64, 64]ᵀ), and the few outputs of a deep product as dot products in a plain
        // loop (1·1, 1·4 and 3·3 outputs 300-4096 deep), next to 4·4 outputs 300 deep in the kernels
        { 1, 64, 64 }, { 4, 64, 64 }, { 4, 40, 64 }, { 2, 8, 16 }, { 1, 1, 4096 }, { 1, 4, 1024 }, { 3, 3, 600 }, { 4, 4, 300 },
    };

    [Theory, MemberData(nameof(Sizes))]
    public void Float32_MatchesReference_ContiguousAndTransposed(int m, int n, int k)
    {
        foreach (var kernel in EachKernel())
        {
            var g = new Generator((ulong)(m * 31 + n * 7 + k));
            var a = Tensor.Randn([m, k], generator: g);
            var b = Tensor.Randn([k, n], generator: g);
            var aT = Tensor.Randn([k, m], generator: g).T;    // a transposed view: column stride != 1
            var bT = Tensor.Randn([n, k], generator: g).T;
            foreach (var (x, y) in new[] { (a, b), (aT, b), (a, bT), (aT, bT) })
            {
                var fast = x.Matmul(y);
                var reference = CpuBackend.MatmulReference(x, y);
                Assert.True(fast.AllClose(reference, 1e-4, 1e-4 * Math.Sqrt(k)), $"{kernel}: m={m} n={n} k={k}");
            }
        }
    }

    [Theory, MemberData(nameof(Sizes))]
    public void PrePackedB_MatchesReference_PlainAndTransposed(int m, int n, int k)
    {
        foreach (var kernel in EachKernel())
        {
            var g = new Generator((ulong)(m * 3 + n + k));
            var a = Tensor.Randn([m, k], DType.Float64, generator: g);
            var b = Tensor.Randn([k, n], DType.Float64, generator: g);
            var reference = CpuBackend.MatmulReference(a, b);
            var A = a.ToArray<double>();
            var bRows = b.ToArray<double>();            // B as stored: row stride n
            var bColumns = b.T.Contiguous().ToArray<double>();   // Bᵀ stored, B read through transposed strides
            foreach (var packed in new[] { Gemm.Pack(k, n, StridedMatrix.Of(bRows, 0, n, 1)), Gemm.Pack(k, n, StridedMatrix.Of(bColumns, 0, 1, k)) })
            {
                Assert.NotNull(packed);
                var c = new double[m * n];
                // Used twice: the panels are read, never consumed.
                for (int rep = 0; rep < 2; rep++)
                {
                    Gemm.Multiply(m, StridedMatrix.Of(A, 0, k, 1), packed!, c, 0);
                    Assert.True(Tensor.From(c, [m, n]).AllClose(reference, 1e-12, 1e-12), $"{kernel}: m={m} n={n} k={k}");
                }
            }
        }
    }

    // A B given by its panel writer (a convolution's windows) is multiplied slice by slice, and
    // with accumulate the product adds to what C holds (a weight gradient summed over samples).
    [Theory, MemberData(nameof(Sizes))]
    public void WrittenB_MatchesReference_AndAccumulates(int m, int n, int k)
    {
        foreach (var kernel in EachKernel())
        {
            var g = new Generator((ulong)(m * 5 + n * 3 + k));
            var a = Tensor.Randn([m, k], DType.Float64, generator: g);
            var b = Tensor.Randn([n, k], DType.Float64, generator: g).T;
            var start = Tensor.Randn([m, n], DType.Float64, generator: g);
            var reference = CpuBackend.MatmulReference(a, b);
            var A = a.ToArray<double>();
            var writer = Gemm.PanelsOf(StridedMatrix.Of(b.T.Contiguous().ToArray<double>(), 0, 1, k));
            var c = new double[m * n];
            Gemm.Multiply(m, n, k, StridedMatrix.Of(A, 0, k, 1), writer, c, 0);
            Assert.True(Tensor.From(c, [m, n]).AllClose(reference, 1e-12, 1e-12), $"{kernel}: m={m} n={n} k={k}");
            c = start.ToArray<double>();
            Gemm.Multiply(m, n, k, StridedMatrix.Of(A, 0, k, 1), writer, c, 0, accumulate: true);
            Assert.True(Tensor.From(c, [m, n]).AllClose(reference + start, 1e-12, 1e-12), $"{kernel}, accumulating: m={m} n={n} k={k}");
        }
    }

    [Theory, MemberData(nameof(Sizes))]
    public void Float64_MatchesReference(int m, int n, int k)
    {
        foreach (var kernel in EachKernel())
        {
            var g = new Generator((ulong)(m + n + k));
            var a = Tensor.Randn([m, k], DType.Float64, generator: g);
            var b = Tensor.Randn([n, k], DType.Float64, generator: g).T;
            Assert.True(a.Matmul(b).AllClose(CpuBackend.MatmulReference(a, b), 1e-12, 1e-12));
        }
    }

    // A small B stored column by column (x·Wᵀ, a head's q·kᵀ) is made row-major and read in place:
    // within one K slice the in-place kernel runs each element's chain as the blocked path does, so
    // the bits are the blocked path's (K up to 256: one slice for both kernels).
    [Theory]
    [InlineData(10, 10, 16)]
    [InlineData(4, 64, 64)]
    [InlineData(13, 50, 100)]
    [InlineData(100, 64, 150)]    // 960,000 multiply-adds, K past one 8-step block and 4·24-row edge
    [InlineData(7, 32, 256)]
    public void SmallTransposedB_ReadInPlace_GivesTheBitsOfTheBlockedPath(int m, int n, int k)
    {
        var g = new Generator((ulong)(m * 5 + n * 13 + k));
        var A = Tensor.Randn([m, k], generator: g).ToArray<float>();
        var bT = Tensor.Randn([n, k], generator: g).ToArray<float>();
        foreach (var kernel in EachKernel())
        {
            var inPlace = new float[m * n];
            var blocked = new float[m * n];
            Gemm.Multiply(m, n, k, StridedMatrix.Of(A, 0, k, 1), StridedMatrix.Of(bT, 0, 1, k), inPlace, 0);
            try
            {
                Gemm.TransposeSmallB = false;
                Gemm.Multiply(m, n, k, StridedMatrix.Of(A, 0, k, 1), StridedMatrix.Of(bT, 0, 1, k), blocked, 0);
            }
            finally { Gemm.TransposeSmallB = true; }
            Assert.Equal(blocked, inPlace);
        }
    }

    // Within a K slice every element of C is the same chain of fused multiply-adds, in the same
    // order, in both kernels, so where K is one slice for both they agree to the bit. Each slice's
    // sum is then added to C, so slices of other depths (the 512-bit kernel's are shallower) round
    // differently: there only closeness can be asked.
    [Theory, MemberData(nameof(Sizes))]
    public void Vector512Kernel_GivesTheBitsOfThe256BitKernel(int m, int n, int k)
    {
        if (!Vector512.IsHardwareAccelerated)
        {
            output.WriteLine("Vector512 is not accelerated on this machine: the 512-bit kernel cannot run here.");
            return;
        }
        var g = new Generator((ulong)(m * 7 + n * 5 + k));
        var A = Tensor.Randn([m, k], generator: g).ToArray<float>();
        var bT = Tensor.Randn([n, k], generator: g).ToArray<float>();
        var results = new List<float[]>();
        bool oneSlice = true;
        foreach (var kernel in EachKernel())
        {
            oneSlice &= Gemm.IsOneSlice<float>(k);
            foreach (bool parallel in new[] { false, true })
            {
                var c = new float[m * n];
                Gemm.Multiply(m, n, k, StridedMatrix.Of(A, 0, k, 1), StridedMatrix.Of(bT, 0, 1, k), c, 0, parallel);
                results.Add(c);
            }
        }
        Assert.Equal(4, results.Count);
        Assert.Equal(results[0], results[1]);
        Assert.Equal(results[2], results[3]);
        if (oneSlice) Assert.Equal(results[0], results[2]);
        else Assert.True(Tensor.From(results[2], [m, n]).AllClose(Tensor.From(results[0], [m, n]), 1e-5, 1e-5 * Math.Sqrt(k)));
    }

    // The 512-bit kernels over twelve and eight rows run each element's chain of multiply-adds as
    // the 6- and 4-row kernels do, so switching them off changes no bit: A in place and packed, B
    // packed and (small products with B's rows contiguous) read in place, float and double, with a
    // bias and without, on one thread and two. (The sizes' blocks ending in 4 + 4 rows: 8, 14, 20,
    // 32, 104 = 96 + 8 in place, 200 = 96 + 96 + 8 packed.)
    [Theory, MemberData(nameof(Sizes))]
    public void TwelveAndEightRowKernels_GiveTheBitsOfTheSixAndFourRowKernels(int m, int n, int k)
    {
        if (!Vector512.IsHardwareAccelerated)
        {
            output.WriteLine("Vector512 is not accelerated on this machine: the twelve- and eight-row kernels cannot run here.");
            return;
        }
        var g = new Generator((ulong)(m * 11 + n * 3 + k));
        var A = Tensor.Randn([m, k], generator: g, dtype: DType.Float64).ToArray<double>();
        var bT = Tensor.Randn([n, k], generator: g, dtype: DType.Float64).ToArray<double>();
        var bias = Tensor.Randn([n], generator: g, dtype: DType.Float64).ToArray<double>();
        Assert.True(Gemm.UseVector512);
        try
        {
            foreach (bool parallel in new[] { false, true })
            {
                (Gemm.UseTwelveRows, Gemm.UseEightRows) = (true, true);
                var wide = Products(A, bT, bias, parallel);
                Gemm.UseTwelveRows = false;
                var eight = Products(A, bT, bias, parallel);
                Gemm.UseEightRows = false;
                var narrow = Products(A, bT, bias, parallel);
                for (int i = 0; i < wide.Count; i++)
                {
                    Assert.Equal(narrow[i], wide[i]);
                    Assert.Equal(narrow[i], eight[i]);
                }
            }
        }
        finally
        {
            (Gemm.UseTwelveRows, Gemm.UseEightRows) = (Gemm.TwelveRowsByDefault, true);
        }

        List<Array> Products(double[] a, double[] b, double[] add, bool parallel)
        {
            var af = Array.ConvertAll(a, x => (float)x);
            var bf = Array.ConvertAll(b, x => (float)x);
            var cf = new float[m * n];
            var cfBias = new float[m * n];
            var cd = new double[m * n];
            Gemm.Multiply(m, n, k, StridedMatrix.Of(af, 0, k, 1), StridedMatrix.Of(bf, 0, 1, k), cf, 0, parallel);
            Gemm.Multiply(m, n, k, StridedMatrix.Of(af, 0, k, 1), StridedMatrix.Of(bf, 0, 1, k), cfBias, 0, parallel, Array.ConvertAll(add, x => (float)x));
            Gemm.Multiply(m, n, k, StridedMatrix.Of(a, 0, k, 1), StridedMatrix.Of(b, 0, 1, k), cd, 0, parallel);
            // B with contiguous rows: the small products read it in place.
            var bRows = new float[k * n];
            var bRowsDouble = new double[k * n];
            for (int p = 0; p < k; p++)
                for (int j = 0; j < n; j++) (bRows[p * n + j], bRowsDouble[p * n + j]) = (bf[j * k + p], b[j * k + p]);
            var cfRows = new float[m * n];
            var cdRows = new double[m * n];
            Gemm.Multiply(m, n, k, StridedMatrix.Of(af, 0, k, 1), StridedMatrix.Of(bRows, 0, n, 1), cfRows, 0, parallel);
            Gemm.Multiply(m, n, k, StridedMatrix.Of(a, 0, k, 1), StridedMatrix.Of(bRowsDouble, 0, n, 1), cdRows, 0, parallel);
            return [cf, cfBias, cd, cfRows, cdRows];
        }
    }

    [Fact]
    public void Batched_WithBroadcastAndSlicedOperands_MatchesReference()
    {
        foreach (var kernel in EachKernel())
        {
            var g = new Generator(4);
            var a = Tensor.Randn([3, 1, 40, 50], generator: g)[.., .., TensorIndex.Slice(0, null, 2)];  // rows stepped
            var b = Tensor.Randn([4, 50, 33], generator: g);
            Assert.True(a.Matmul(b).AllClose(CpuBackend.MatmulReference(a, b), 1e-4, 1e-4));
        }
    }

    // A batch of products shared out whole between the threads (as a convolution's per-sample
    // products are) gives the bits of the products run one after another on one thread.
    [Theory]
    [InlineData(4, 64, 1024, 576)]   // a 3×3 convolution's per-sample product, 64 channels
    [InlineData(64, 6, 784, 25)]     // LeNet's first layer: each product too small to split
    [InlineData(5, 30, 200, 90)]     // more products than twice the threads, unevenly shared
    [InlineData(256, 10, 10, 16)]    // a small attention's per-head products: 409,600 multiply-adds in all
    public void BatchedProducts_SharedBetweenThreads_EqualTheSerialOnes(int batch, int m, int n, int k)
    {
        var g = new Generator((ulong)(batch + m + n + k));
        var w = Tensor.Randn([m, k], generator: g);
        var cols = Tensor.Randn([batch, k, n], generator: g);
        float[] serial, shared;
        using (ThreadScope.Of(1)) serial = w.Matmul(cols).ToArray<float>();
        using (ThreadScope.Of(2)) shared = w.Matmul(cols).ToArray<float>();
        Assert.Equal(serial, shared);
        Assert.True(Tensor.From(shared, [batch, m, n]).AllClose(CpuBackend.MatmulReference(w.Expand(batch, m, k), cols), 1e-4, 1e-4 * Math.Sqrt(k)));
    }

    [Fact]
    public void OneThread_AndMany_GiveTheSameResult()
    {
        foreach (var kernel in EachKernel())
        {
            var g = new Generator(5);
            var a = Tensor.Randn([300, 200], generator: g);
            var b = Tensor.Randn([200, 700], generator: g);
            var parallel = a.Matmul(b).ToArray<float>();
            using (ThreadScope.Of(1)) Assert.Equal(parallel, a.Matmul(b).ToArray<float>());
        }
    }
    // The split used for the largest products (over a billion multiply-adds), on sizes a reference
    // loop can check: every thread's column range, B plain and transposed, K in several slices.
    [Theory]
    [InlineData(97, 530, 900)]
    [InlineData(16, 64, 300)]
    [InlineData(200, 4100, 70)]
    public void ColumnSplit_MatchesReference_AndTheSerialProduct(int m, int n, int k)
    {
        foreach (var kernel in EachKernel())
        {
            var g = new Generator((ulong)(m + n + k));
            var a = Tensor.Randn([m, k], DType.Float64, generator: g);
            var b = Tensor.Randn([k, n], DType.Float64, generator: g);
            var reference = CpuBackend.MatmulReference(a, b);
            var A = a.ToArray<double>();
            using var threads = ThreadScope.Of(3);   // uneven ranges of column panels
            foreach (var (B, bRow, bCol) in new[] { (b.ToArray<double>(), n, 1), (b.T.Contiguous().ToArray<double>(), 1, k) })
            {
                var split = new double[m * n];
                Gemm.ColumnSplit(m, n, k, StridedMatrix.Of(A, 0, k, 1), StridedMatrix.Of(B, 0, bRow, bCol), split, 0);
                Assert.True(Tensor.From(split, [m, n]).AllClose(reference, 1e-12, 1e-12), $"{kernel}: m={m} n={n} k={k} bCol={bCol}");
                var serial = new double[m * n];
                Gemm.Multiply(m, n, k, StridedMatrix.Of(A, 0, k, 1), StridedMatrix.Of(B, 0, bRow, bCol), serial, 0, parallel: false);
                Assert.Equal(serial, split);   // the same kernel calls per element, so the same bits
            }
        }
    }

    // The bias joins the tile as it is stored: over one K slice (K up to 480, or 320 with the 512-bit kernel) that is the sum of
    // products, then + bias, exactly as a product followed by an addition rounds; over several
    // slices it joins the first slice's sums, so only closeness can be asked.
    [Theory, MemberData(nameof(Sizes))]
    [InlineData(7, 19, 0)]
    public void WithBias_EqualsTheProductPlusTheBias(int m, int n, int k)
    {
        foreach (var kernel in EachKernel())
        {
            var g = new Generator((ulong)(m * 5 + n * 3 + k));
            var A = Tensor.Randn([m, k], generator: g).ToArray<float>();
            var bColumns = Tensor.Randn([n, k], generator: g).ToArray<float>();   // Linear's weight, read as Bᵀ
            var bias = Tensor.Randn([n + 3], generator: g).ToArray<float>();      // used from offset 3
            foreach (bool parallel in new[] { false, true })
            {
                var expected = new float[m * n];
                Gemm.Multiply(m, n, k, StridedMatrix.Of(A, 0, k, 1), StridedMatrix.Of(bColumns, 0, 1, k), expected, 0, parallel);
                for (int i = 0; i < m; i++)
                    for (int j = 0; j < n; j++) expected[i * n + j] += bias[3 + j];
                var actual = new float[m * n];
                Gemm.Multiply(m, n, k, StridedMatrix.Of(A, 0, k, 1), StridedMatrix.Of(bColumns, 0, 1, k), actual, 0, parallel, bias, 3);
                if (Gemm.IsOneSlice<float>(k)) Assert.Equal(expected, actual);
                else Assert.True(Tensor.From(actual, [m, n]).AllClose(Tensor.From(expected, [m, n]), 1e-5, 1e-5 * Math.Sqrt(k)), $"{kernel}: m={m} n={n} k={k}");
            }
        }
    }

    [Theory]
    [InlineData(97, 530, 300)]
    [InlineData(16, 100, 900)]
    public void ColumnSplit_WithBias_EqualsTheSerialProduct(int m, int n, int k)
    {
        foreach (var kernel in EachKernel())
        {
            var g = new Generator((ulong)(m + n + k));
            var A = Tensor.Randn([m, k], DType.Float64, generator: g).ToArray<double>();
            var B = Tensor.Randn([k, n], DType.Float64, generator: g).ToArray<double>();
            var bias = Tensor.Randn([n], DType.Float64, generator: g).ToArray<double>();
            using var threads = ThreadScope.Of(3);
            var split = new double[m * n];
            Gemm.ColumnSplit(m, n, k, StridedMatrix.Of(A, 0, k, 1), StridedMatrix.Of(B, 0, n, 1), split, 0, bias);
            var serial = new double[m * n];
            Gemm.Multiply(m, n, k, StridedMatrix.Of(A, 0, k, 1), StridedMatrix.Of(B, 0, n, 1), serial, 0, parallel: false, bias: bias);
            Assert.Equal(serial, split);
            var plain = new double[m * n];
            Gemm.Multiply(m, n, k, StridedMatrix.Of(A, 0, k, 1), StridedMatrix.Of(B, 0, n, 1), plain, 0, parallel: false);
            for (int i = 0; i < m; i++)
                for (int j = 0; j < n; j++) Assert.Equal(plain[i * n + j] + bias[j], split[i * n + j], 1e-12);
        }
    }

    // A large B is packed in column ranges, one per thread: the panels must be those of the serial packing.
    [Theory]
    [InlineData(600, 4100)]   // two column blocks, K in two slices
    [InlineData(256, 1024)]   // an LSTM's W_hhᵀ
    [InlineData(1024, 250)]   // a partial last panel
    public void Pack_InThreadParts_EqualsTheSerialPacking(int k, int n)
    {
        foreach (var kernel in EachKernel())
        {
            var g = new Generator((ulong)(k + n));
            var b = Tensor.Randn([k, n], generator: g).ToArray<float>();
            foreach (var (bRow, bCol) in new[] { (n, 1), (1, k) })
            {
                float[] serial, parts;
                using (ThreadScope.Of(1)) serial = Gemm.Pack(k, n, StridedMatrix.Of(b, 0, bRow, bCol))!.Panels.ToArray();
                using (ThreadScope.Of(3)) parts = Gemm.Pack(k, n, StridedMatrix.Of(b, 0, bRow, bCol))!.Panels.ToArray();
                Assert.Equal(serial, parts);
            }
        }
    }

    // B's rows 512 bytes apart map a panel read in place onto 8 of L1's sets: such panels are copied
    // before the row panels read them. The same kernel calls on the same values: the same bits as
    // B laid out with a padded stride (read in place), and the reference's values.
    [Theory]
    [InlineData(128, 128, 128)]
    [InlineData(100, 128, 256)]
    [InlineData(97, 64, 300)]
    public void AliasingRowStride_CopiedPanels_EqualTheInPlaceProduct(int m, int n, int k)
    {
        foreach (var kernel in EachKernel())
        {
            var g = new Generator((ulong)(m + n + k));
            var A = Tensor.Randn([m, k], generator: g).ToArray<float>();
            var b = Tensor.Randn([k, n], generator: g);
            var aliased = b.ToArray<float>();                                            // row stride n
            var padded = Tensor.Cat([b, Tensor.Zeros([k, 8])], 1).ToArray<float>();   // row stride n + 8
            var expected = new float[m * n];
            Gemm.Multiply(m, n, k, StridedMatrix.Of(A, 0, k, 1), StridedMatrix.Of(padded, 0, n + 8, 1), expected, 0, parallel: false);
            foreach (bool parallel in new[] { false, true })
            {
                var actual = new float[m * n];
                Gemm.Multiply(m, n, k, StridedMatrix.Of(A, 0, k, 1), StridedMatrix.Of(aliased, 0, n, 1), actual, 0, parallel);
                Assert.Equal(expected, actual);
            }
            var reference = CpuBackend.MatmulReference(Tensor.From(A, [m, k]), b);
            Assert.True(Tensor.From(expected, [m, n]).AllClose(reference, 1e-4, 1e-4 * Math.Sqrt(k)));
        }
    }
    // A single row block with a transposed B (x·Wᵀ at a small batch) packs each B panel just before
    // its kernels instead of the whole slice first: the same panels and kernel calls, so the same
    // bits as the slice packed ahead, and the reference's values. Float and double, with a bias,
    // one thread and two; partial last panels, K in slices, 4-row panels, an A packed at its edge.
    [Theory]
    [InlineData(32, 1024, 256)]
    [InlineData(15, 600, 600)]
    [InlineData(96, 530, 900)]
    [InlineData(64, 257, 784)]
    [InlineData(2, 3000, 70)]
    public void PanelByPanelPacking_GivesTheBitsOfTheSlicePackedAhead(int m, int n, int k)
    {
        foreach (var kernel in EachKernel())
        {
            var g = new Generator((ulong)(m * 5 + n * 3 + k));
            var a = Tensor.Randn([m, k], generator: g, dtype: DType.Float64);
            var bT = Tensor.Randn([n, k], generator: g, dtype: DType.Float64);
            var bias = Tensor.Randn([n], generator: g, dtype: DType.Float64);
            var reference = CpuBackend.MatmulReference(a, bT.T) + bias;
            var (A, B, add) = (a.ToArray<double>(), bT.ToArray<double>(), bias.ToArray<double>());
            var (Af, Bf, addF) = (a.Float().ToArray<float>(), bT.Float().ToArray<float>(), bias.Float().ToArray<float>());
            Assert.True(Gemm.PackPerPanel);
            foreach (bool parallel in new[] { false, true })
            {
                var (panel, panelF) = Products(parallel);
                Gemm.PackPerPanel = false;
                try
                {
                    var (slice, sliceF) = Products(parallel);
                    Assert.Equal(slice, panel);
                    Assert.Equal(sliceF, panelF);
                }
                finally
                {
                    Gemm.PackPerPanel = true;
                }
                Assert.True(Tensor.From(panel, [m, n]).AllClose(reference, 1e-10, 1e-10), $"{kernel}: m={m} n={n} k={k}");
                Assert.True(Tensor.From(panelF, [m, n]).Double().AllClose(reference, 1e-4, 1e-4 * Math.Sqrt(k)), $"{kernel}: m={m} n={n} k={k}");
            }

            (double[], float[]) Products(bool parallel)
            {
                var c = new double[m * n];
                var cf = new float[m * n];
                Gemm.Multiply(m, n, k, StridedMatrix.Of(A, 0, k, 1), StridedMatrix.Of(B, 0, 1, k), c, 0, parallel, add);
                Gemm.Multiply(m, n, k, StridedMatrix.Of(Af, 0, k, 1), StridedMatrix.Of(Bf, 0, 1, k), cf, 0, parallel, addF);
                return (c, cf);
            }
        }
    }
}
