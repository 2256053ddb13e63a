using F = MetaGrad.NN.Functional;

namespace MetaGrad.Tests.Backends;

/// <summary>
/// Vectorised elementwise paths held equal to the scalar reference loop: the same values laid
/// out with stride 2 force the scalar loop, contiguous ones take the vector path. Odd lengths
/// leave tails shorter than a vector.
/// </summary>
public class ElementwiseFastPathTests
{
    // A tensor with the given values and stride 2 in its last dim (a view of a twice-as-wide buffer).
    static Tensor Strided(Tensor x)
    {
        var wide = Tensor.Zeros([.. x.Shape.Take(x.NDim - 1), x.Shape[^1] * 2], x.DType);
        wide[Tensor.Ellipsis, TensorIndex.Slice(0, null, 2)] = x;
        var view = wide[Tensor.Ellipsis, TensorIndex.Slice(0, null, 2)];
        Assert.True(!view.IsContiguous || x.Shape[^1] == 1);
        return view;
    }

    // 90001: three or four rows of it pass the size from which elementwise passes are cut into chunks for the threads.
    public static TheoryData<int> Lengths => new() { 1, 7, 8, 9, 31, 67, 1000, 90001 };

    static readonly (string Name, Func<Tensor, Tensor> F, bool Positive)[] Unary =
    [
        ("neg", x => -x, false), ("abs", x => x.Abs(), false), ("exp", x => x.Exp(), false),
        ("log", x => x.Log(), true), ("sqrt", x => x.Sqrt(), true), ("tanh", x => x.Tanh(), false),
        ("sigmoid", x => x.Sigmoid(), false), ("relu", x => x.Relu(), false), ("sin", x => x.Sin(), false),
        ("cos", x => x.Cos(), false), ("clone", x => x.Clone(), false), ("sign", x => x.Sign(), false),
        ("rsqrt", x => x.Rsqrt(), true), ("reciprocal", x => x.Reciprocal(), true), ("floor", x => x.Floor(), false), ("ceil", x => x.Ceil(), false), ("round", x => x.Round(), false), ("trunc", x => x.Trunc(), false),
    ];

    [Theory]
    [InlineData(8, 8)]
    [InlineData(9, 17)]
    [InlineData(16, 31)]
    [InlineData(64, 40)]
    [InlineData(7, 20)]   // fewer than 8 rows: the element walk
    public void Contiguous_OfTransposedMatrices_EqualsTheElementLoop(int rows, int cols)
    {
        // m is [cols, rows] row-major, so m.T is [rows, cols] stored column by column.
        var m = Tensor.Randn([cols, rows], generator: new Generator((ulong)(rows * 100 + cols)));
        var e = m.ToArray<float>();
        var expected = Enumerable.Range(0, rows * cols).Select(i => e[(i % cols) * rows + i / cols]).ToArray();
        Assert.Equal(expected, m.T.Contiguous().ToArray<float>());
        Assert.Equal(expected, m.T.Clone().ToArray<float>());
        // A batch of three, the batch dim sliced (a stride of two matrices) to exercise its stride.
        var batch = Tensor.Randn([6, cols, rows], generator: new Generator(3))[TensorIndex.Slice(0, null, 2)];
        var b = batch.Contiguous().ToArray<float>();
        var batchExpected = Enumerable.Range(0, 3 * rows * cols)
            .Select(i => b[i / (rows * cols) * rows * cols + (i % cols) * rows + i % (rows * cols) / cols]).ToArray();
        Assert.Equal(batchExpected, batch.Transpose(1, 2).Contiguous().ToArray<float>());
    }

    [Theory, MemberData(nameof(Lengths))]
    public void Copy_ContiguousRunsBroadcastAndOverlap_EqualTheElementLoop(int length)
    {
        var src = Tensor.Randn([3, length], generator: new Generator((ulong)length));
        var e = src.ToArray<float>();
        float At(int r, int j) => e[r * length + j];
        float[] Expected(Func<int, int, float> f) =>
            Enumerable.Range(0, 3 * length).Select(i => f(i / length, i % length)).ToArray();

        var dense = Tensor.Zeros(3, length);
        dense.Copy_(src);                                               // one block run
        Assert.Equal(e, dense.ToArray<float>());
        var strided = Strided(Tensor.Zeros(3, length));
        strided.Copy_(src);                                             // the element loop
        Assert.Equal(e, strided.Contiguous().ToArray<float>());
        var rows = Tensor.Zeros(3, length);
        rows.Copy_(src[0]);                                             // a row broadcast down: block runs
        Assert.Equal(Expected((r, j) => At(0, j)), rows.ToArray<float>());
        var columns = Tensor.Zeros(3, length);
        columns.Copy_(src[.., 0..1]);                                   // a column broadcast across: fills
        Assert.Equal(Expected((r, j) => At(r, 0)), columns.ToArray<float>());
        var shifted = src.Clone();
        shifted[.., 1..] = shifted[.., ..^1];                           // overlapping source and destination
        Assert.Equal(Expected((r, j) => At(r, Math.Max(0, j - 1))), shifted.ToArray<float>());
        var ints = Tensor.Zeros([3], DType.Int32);
        ints.Copy_(Tensor.From(new[] { 1.7f, -2.5f, 3f }, [3]));              // converted as To() does: toward zero
        Assert.Equal([1, -2, 3], ints.ToArray<int>());
    }

    [Theory, MemberData(nameof(Lengths))]
    public void Unary_VectorPathEqualsScalarLoop(int length)
    {
        foreach (var dtype in new[] { DType.Float32, DType.Float64 })
        {
            var x = Tensor.Randn([3, length], dtype, generator: new Generator((ulong)length)) * 4.0;
            foreach (var (name, f, positive) in Unary)
            {
                var input = positive ? x.Abs() + 0.1 : x;
                var fast = f(input);
                var reference = f(Strided(input));
                Assert.True(fast.AllClose(reference, 1e-6, 1e-6), $"{name} {dtype} length {length}");
            }
        }
    }

    [Theory, MemberData(nameof(Lengths))]
    public void ReluBackward_VectorPathEqualsScalarLoop_AndIsZeroAtZero(int length)
    {
        foreach (var dtype in new[] { DType.Float32, DType.Float64 })
        {
            var g = new Generator((ulong)length + 50);
            var x = Tensor.Randn([3, length], dtype, generator: g);
            x[0, 0] = 0.0;   // PyTorch's gradient at exactly 0 is 0
            var upstream = Tensor.Randn([3, length], dtype, generator: g);
            var a = x.Detach().RequiresGrad_();
            var fast = Autograd.Grad(a.Relu(), a, upstream);
            var b = Strided(x).Detach().RequiresGrad_();
            var reference = Autograd.Grad(b.Relu(), b, Strided(upstream));
            var expected = upstream * (x > 0.0).To(dtype);
            Assert.True(fast.AllClose(expected, 0, 0), $"{dtype} length {length}: vector path");
            Assert.True(reference.AllClose(expected, 0, 0), $"{dtype} length {length}: scalar loop");
            Assert.Equal(0.0, fast[0, 0].Item<double>());
        }
    }

    // A mean's gradient reaches the ReLU as one value expanded to the shape: the vector path selects it.
    [Theory, MemberData(nameof(Lengths))]
    public void ReluBackward_OfAnExpandedGradient_SelectsItWhereTheInputIsPositive(int length)
    {
        foreach (var dtype in new[] { DType.Float32, DType.Float64 })
        {
            var x = Tensor.Randn([3, length], dtype, generator: new Generator((ulong)length + 70));
            x[0, 0] = 0.0;
            var a = x.Detach().RequiresGrad_();
            a.Relu().Mean().Backward();
            var expected = (x > 0.0).To(dtype) / (3.0 * length);
            Assert.True(a.Grad!.AllClose(expected, 0, 0), $"{dtype} length {length}");
        }
    }

    // torch.maximum and torch.minimum: NaN from either side wins, ties keep the value; the vector
    // paths (same shape, either side a single value, threads' chunks at 90001) against the rule
    // worked element by element, for floats and integers.
    [Theory, MemberData(nameof(Lengths))]
    public void MaximumAndMinimum_PropagateNaN_FromEitherSide(int length)
    {
        static double Max(double a, double b) => double.IsNaN(a) || double.IsNaN(b) ? double.NaN : Math.Max(a, b);
        static double Min(double a, double b) => double.IsNaN(a) || double.IsNaN(b) ? double.NaN : Math.Min(a, b);
        foreach (var dtype in new[] { DType.Float32, DType.Float64, DType.Int64 })
        {
            var g = new Generator((ulong)length + 300);
            var a = (Tensor.Randn([2, length], generator: g) * 4).To(dtype);
            var b = (Tensor.Randn([2, length], generator: g) * 4).To(dtype);
            if (dtype != DType.Int64)
            {
                a[0, 0] = double.NaN;
                b[1, length - 1] = double.NaN;
            }
            b[0, length / 2] = a[0, length / 2].Item<double>();   // a tie
            var x = a.ToArray<double>();
            var y = b.ToArray<double>();
            Assert.Equal(x.Zip(y, Max).ToArray(), a.Maximum(b).ToArray<double>());
            Assert.Equal(x.Zip(y, Min).ToArray(), a.Minimum(b).ToArray<double>());
            Assert.Equal(x.Zip(y, Max).ToArray(), Strided(a).Maximum(Strided(b)).ToArray<double>());
            foreach (double v in dtype == DType.Int64 ? new[] { 1.0 } : [0.5, double.NaN])
            {
                var single = Tensor.From(v).To(dtype).Expand(2, length);
                Assert.Equal(x.Select(e => Max(e, v)).ToArray(), a.Maximum(single).ToArray<double>());
                Assert.Equal(x.Select(e => Min(v, e)).ToArray(), single.Minimum(a).ToArray<double>());
            }
        }
    }

    // torch.round rounds halves to even, on the vector path too (and keeps -0).
    [Fact]
    public void Round_OfHalves_GoesToEven_OnTheVectorPath()
    {
        var halves = Tensor.From(new[] { 0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 3.4999, -0.0 }, [8]).Expand(40, 8).Contiguous();
        var rounded = halves.Round().ToArray<double>();
        for (int i = 0; i < rounded.Length; i += 8)
            Assert.Equal([0.0, 2, 2, -0.0, -2, -2, 3, -0.0], rounded[i..(i + 8)]);
        Assert.True(double.IsNegative(rounded[3]) && double.IsNegative(rounded[7]));
        Assert.Equal([0f, 2, 2, -2], Tensor.From(new[] { 0.5f, 1.5f, 2.5f, -2.5f }, [4]).Expand(10, 4).Contiguous().Round().ToArray<float>()[..4]);
    }

    // A constant exponent: PyTorch's products, roots and reciprocals for 2, 3, ±0.5, -1, -2 (so
    // (-0)^0.5 is sqrt's -0), pow for the rest; vector paths against the element loop (a strided
    // view), and sign's NaN and zeros.
    [Theory, MemberData(nameof(Lengths))]
    public void PowByAConstant_AndSign_EqualTheElementLoop(int length)
    {
        foreach (var dtype in new[] { DType.Float32, DType.Float64 })
        {
            var x = Tensor.Randn([2, length], dtype, generator: new Generator((ulong)length + 400)) * 3;
            var positive = x.Abs() + 0.1;
            foreach (double e in new[] { 2, 3, 0.5, -0.5, -1, -2, 1.7 })
            {
                var input = e is 0.5 or -0.5 or 1.7 ? positive : x;
                var fast = input.Pow(e);
                var reference = Strided(input).Pow(e);
                Assert.True(fast.AllClose(reference, 1e-6, 0), $"{dtype} x^{e}, length {length}");
            }
            Assert.True(x.Pow(2).AllClose(x * x, 0, 0));
        }
        var special = Tensor.From(new[] { -0.0, 0.0, double.NaN, -2.5, 3.0, double.NegativeInfinity }, [6]).Expand(Math.Max(1, length / 6 + 1), 6).Contiguous();
        var signs = special.Sign().ToArray<double>();
        for (int i = 0; i < signs.Length; i += 6)
            Assert.Equal([0.0, 0.0, double.NaN, -1, 1, -1], signs[i..(i + 6)]);
        Assert.True(double.IsNegative(Tensor.From(new[] { -0.0 }, [1]).Expand(64).Contiguous().Pow(0.5).ToArray<double>()[0]));
    }

    // float erf runs vectorised on a rational approximation: within 4e-7 of the double series
    // (what the element loop and float64 compute), absolutely and relatively, down to tiny x;
    // ±1 far out, NaN kept. Lengths with tails and past the thread split.
    [Theory, MemberData(nameof(Lengths))]
    public void Erf_OfFloats_StaysWithinThreeUnitsInTheLastPlace(int length)
    {
        var x = Tensor.Linspace(-6, 6, 3 * length, dtype: DType.Float32).Reshape(3, length);
        var reference = x.To(DType.Float64).Erf();                     // the series, in double
        var difference = (x.Erf().To(DType.Float64) - reference).Abs();
        Assert.True(difference.Max().Item<double>() <= 4e-7, $"max difference {difference.Max().Item<double>()}");
        Assert.True((difference <= reference.Abs() * 4e-7 + 1e-30).All());
        var special = Tensor.From(new[] { float.NaN, float.PositiveInfinity, float.NegativeInfinity, 1e-30f, -1e-30f, 0f, 9f, -9f }, [8]);
        var erf = special.Erf().ToArray<float>();
        Assert.True(float.IsNaN(erf[0]));
        Assert.Equal([1f, -1f], erf[1..3]);
        Assert.Equal(1e-30 * 2 / Math.Sqrt(Math.PI), erf[3], 1e-36);
        Assert.Equal(-1e-30 * 2 / Math.Sqrt(Math.PI), erf[4], 1e-36);
        Assert.Equal([0f, 1f, -1f], erf[5..]);
    }

    // Where over contiguous operands of one shape, or with a single value on either side (masking
    // with a constant): the vector select against the element loop (strided views), every dtype
    // width, NaN and negative zero kept bit for bit.
    // log1p in vectors keeps what the element loop keeps: the relative accuracy of tiny arguments
    // (log1p 1e-30 is 1e-30, where log(1 + x) gives 0), -1 → -∞, below -1 NaN, ∞ and NaN through.
    // Floats are held to the double result, doubles to the element loop.
    [Theory, MemberData(nameof(Lengths))]
    public void Log1p_VectorPathKeepsSmallArgumentsAndSpecialValues(int length)
    {
        var special = new[] { 1e-30, -1e-30, 1e-8, -1e-8, 0.0, -0.0, -1.0, -2.0, double.PositiveInfinity, double.NaN, 1e30, 3e-39, -0.999999, 0.5 };
        var g = new Generator((ulong)length + 70);
        var values = Tensor.Rand([length], DType.Float64, generator: g).ToArray<double>()
            .Select((u, i) => i < special.Length ? special[i] : i % 2 == 0 ? u * 1.998 - 0.999 : Math.Pow(10, u * 40 - 20)).ToArray();
        foreach (var dtype in new[] { DType.Float32, DType.Float64 })
        {
            var x = Tensor.From(values, [length]).To(dtype);
            var fast = x.Log1p().To(DType.Float64).ToArray<double>();
            var loop = Strided(x.Reshape(1, length)).Log1p().Reshape(length).To(DType.Float64).ToArray<double>();
            var inputs = x.To(DType.Float64).ToArray<double>();
            for (int i = 0; i < length; i++)
            {
                double exact = Log1pInDouble(inputs[i]);
                double expected = dtype == DType.Float32 ? exact : loop[i];
                double tolerance = dtype == DType.Float32 ? 2.5e-7 : 5e-16;
                if (double.IsNaN(expected) || double.IsInfinity(expected)) Assert.Equal(expected, fast[i]);
                else Assert.True(Math.Abs(fast[i] - expected) <= tolerance * Math.Abs(expected), $"{dtype} log1p({inputs[i]:R}) = {fast[i]:R}, expected {expected:R}");
            }
        }

        static double Log1pInDouble(double x)
        {
            double u = 1 + x;
            return u == 1 ? x : double.IsPositiveInfinity(u) ? u : Math.Log(u) * (x / (u - 1));
        }
    }

    // atan2 of floats in vectors, within 3 units in the last place of the double result in every
    // octant, and exactly the special values: signed zeros over signed zeros, infinities over
    // infinities and over numbers, NaN on either side.
    [Theory, MemberData(nameof(Lengths))]
    public void Atan2_OfFloats_WithinThreeUnitsInTheLastPlace_AndSpecialValues(int length)
    {
        float[] special = [0f, -0f, float.PositiveInfinity, float.NegativeInfinity, float.NaN, 1f, -1f, 1e-40f];
        var g = new Generator((ulong)length + 90);
        var a = Tensor.Randn([length], generator: g).ToArray<float>();
        var b = Tensor.Randn([length], generator: g).ToArray<float>();
        for (int i = 0; i < length; i++)
        {
            if (i % 5 == 0) a[i] = special[i / 5 % special.Length];
            if (i % 3 == 0) b[i] = special[i / 3 % special.Length];
            if (i % 7 == 1) a[i] *= 1e20f;
        }
        var actual = Tensor.From(a, [length]).Atan2(Tensor.From(b, [length])).ToArray<float>();
        for (int i = 0; i < length; i++)
        {
            double expected = Math.Atan2(a[i], b[i]);
            double ulp = Math.Max(Math.Abs(expected) * Math.Pow(2, -23), Math.Pow(2, -149));
            Assert.True(double.IsNaN(expected) ? float.IsNaN(actual[i]) : Math.Abs(actual[i] - expected) <= 3 * ulp && (expected != 0 || actual[i].Equals((float)expected)),
                $"atan2({a[i]:R}, {b[i]:R}) = {actual[i]:R}, expected {expected:R}");
        }
    }

    [Theory, MemberData(nameof(Lengths))]
    public void Where_VectorSelectEqualsTheElementLoop(int length)
    {
        var g = new Generator((ulong)length + 500);
        var mask = Tensor.Randn([3, length], generator: g) > 0.0;
        foreach (var dtype in new[] { DType.Float32, DType.Float64, DType.Int64, DType.Int32 })
        {
            var a = (Tensor.Randn([3, length], generator: g) * 100).To(dtype);
            var b = (Tensor.Randn([3, length], generator: g) * 100).To(dtype);
            if (dtype.IsFloatingPoint()) { a[0, 0] = double.NaN; b[0, 0] = -0.0; b[2, length - 1] = double.NaN; }
            var single = Tensor.From(-0.0).To(dtype);
            var expanded = Tensor.From(7.0).To(dtype).Expand(3, length);   // a gradient's shape, one value
            foreach (var (x, y, name) in new[] { (a, b, "tensors"), (a, single, "value right"), (single, b, "value left"), (expanded, b, "expanded left"), (a, expanded, "expanded right") })
            {
                var fast = Tensor.Where(mask, x, y);
                var reference = Tensor.Where(Strided(mask), x.NDim > 0 && x.IsContiguous ? Strided(x) : x, y.NDim > 0 && y.IsContiguous ? Strided(y) : y);
                Assert.Equal(reference.To(DType.Float64).ToArray<double>().Select(BitConverter.DoubleToInt64Bits),
                    fast.To(DType.Float64).ToArray<double>().Select(BitConverter.DoubleToInt64Bits));
            }
        }
    }

    // Clamp in one vector pass against the element loop's maximum-then-minimum (a strided view):
    // both bounds, one, bounds crossed (all the upper one), NaN kept, both float widths.
    [Theory, MemberData(nameof(Lengths))]
    public void Clamp_OnePassEqualsTheElementLoop(int length)
    {
        foreach (var dtype in new[] { DType.Float32, DType.Float64 })
        {
            var x = (Tensor.Randn([2, length], generator: new Generator((ulong)length + 600)) * 3).To(dtype);
            x[0, 0] = double.NaN;
            foreach (var (lo, hi) in new (double?, double?)[] { (-1, 1.5), (null, 0.25), (-0.5, null), (2, -2) })
            {
                var fast = x.Clamp(lo, hi).To(DType.Float64).ToArray<double>();
                var reference = Strided(x).Clamp(lo, hi).To(DType.Float64).ToArray<double>();
                Assert.Equal(reference, fast);
            }
        }
    }

    static readonly (string Name, Func<Tensor, Tensor, Tensor> F)[] Binary =
    [
        ("add", (a, b) => a + b), ("sub", (a, b) => a - b), ("mul", (a, b) => a * b), ("div", (a, b) => a / b),
        ("maximum", (a, b) => a.Maximum(b)), ("pow", (a, b) => a.Abs().Pow(b)), ("lt", (a, b) => (a < b).To(a.DType)),
    ];

    [Theory, MemberData(nameof(Lengths))]
    public void Binary_VectorPathsEqualScalarLoop(int length)
    {
        var g = new Generator((ulong)length + 100);
        var a = Tensor.Randn([4, length], generator: g);
        var b = Tensor.Randn([4, length], generator: g) + 3.0;
        var row = Tensor.Randn([length], generator: g) + 3.0;
        var scalar = Tensor.From(2.5f);
        foreach (var (name, f) in Binary)
        {
            Assert.True(f(a, b).AllClose(f(Strided(a), Strided(b)), 1e-6, 1e-6), $"{name} same shape, length {length}");
            Assert.True(f(a, row).AllClose(f(Strided(a), Strided(row.Unsqueeze(0)).Squeeze(0)), 1e-6, 1e-6), $"{name} row broadcast, length {length}");
            Assert.True(f(row, a).AllClose(f(Strided(row.Unsqueeze(0)).Squeeze(0), Strided(a)), 1e-6, 1e-6), $"{name} row broadcast left, length {length}");
            Assert.True(f(a, scalar).AllClose(f(Strided(a), scalar), 1e-6, 1e-6), $"{name} scalar right, length {length}");
            Assert.True(f(scalar, b).AllClose(f(scalar, Strided(b)), 1e-6, 1e-6), $"{name} scalar left, length {length}");
        }
    }

    [Fact]
    public void Activations_OnLargeTensors_MatchScalarLoop()
    {
        var x = Tensor.Randn([129, 65], generator: new Generator(3)) * 10.0;
        Assert.True(F.Gelu(x).AllClose(F.Gelu(Strided(x)), 1e-5, 1e-6));
        Assert.True(x.Softmax(1).AllClose(Strided(x).Softmax(1), 1e-5, 1e-7));
        Assert.True(x.LogSoftmax(0).AllClose(Strided(x).LogSoftmax(0), 1e-5, 1e-5));
    }

    // A single value expanded to a shape (zero strides, as a sum's gradient comes back) against a
    // contiguous operand: the scalar span path, either side, for operations where order matters.
    [Theory, MemberData(nameof(Lengths))]
    public void ExpandedSingleValue_WithContiguous_EqualsTheElementLoop(int n)
    {
        var g = new Generator((ulong)n + 7);
        var x = Tensor.Randn([2, n], generator: g) + 3;
        var single = Tensor.Randn([], generator: g) + 3;
        var expanded = single.Expand(2, n);
        Assert.All(expanded.Strides, s => Assert.Equal(0, s));
        var materialised = expanded.Contiguous();
        foreach (var (name, f) in new (string, Func<Tensor, Tensor, Tensor>)[] { ("sub", (p, q) => p - q), ("div", (p, q) => p / q), ("mul", (p, q) => p * q), ("max", (p, q) => p.Maximum(q)) })
        {
            Assert.Equal(f(materialised, x).ToArray<float>(), f(expanded, x).ToArray<float>());
            Assert.Equal(f(x, materialised).ToArray<float>(), f(x, expanded).ToArray<float>());
            Assert.Equal(f(Strided(materialised), Strided(x)).ToArray<float>(), f(expanded, x).ToArray<float>());
        }
    }

    // Large strided inputs are copied in ranges of runs per thread (each thread seeking its own
    // walk): a permutation with an odd number of runs, a transposed slice, rows broadcast along
    // the last dim, each against the value its index gives.
    [Fact]
    public void LargeStridedCopies_SplitBetweenThreads_PutEveryValueInPlace()
    {
        var x = Tensor.Arange(0, 61 * 97 * 53, dtype: DType.Float64).Reshape(61, 97, 53);
        var permuted = x.Permute(2, 0, 1).Contiguous();              // [53, 61, 97]
        var p = permuted.ToArray<double>();
        for (int a = 0; a < 53; a += 7)
            for (int b = 0; b < 61; b += 5)
                for (int c = 0; c < 97; c++)
                    Assert.Equal((b * 97 + c) * 53 + a, p[(a * 61 + b) * 97 + c]);
        var slice = x[.., 1..96, ..].Transpose(0, 2).Contiguous();  // [53, 95, 61]
        var q = slice.ToArray<double>();
        for (int a = 0; a < 53; a += 3)
            for (int b = 0; b < 95; b += 11)
                for (int c = 0; c < 61; c++)
                    Assert.Equal((c * 97 + b + 1) * 53 + a, q[(a * 95 + b) * 61 + c]);
        var rows = Tensor.Arange(0, 997, dtype: DType.Float64).Reshape(997, 1).Expand(997, 300).Contiguous();
        var r = rows.ToArray<double>();
        for (int i = 0; i < r.Length; i += 37) Assert.Equal(i / 300, r[i]);
    }

    // A value broadcast everywhere made dense, and a contiguous tensor filled in place: whole vectors
    // then a tail, every lane the value, for element types with vectors and without (Bool, Half).
    [Theory, MemberData(nameof(Lengths))]
    public void BroadcastValue_MadeDense_IsTheValueEverywhere(int length)
    {
        foreach (var dtype in new[] { DType.Float32, DType.Float64, DType.Int64, DType.Int32, DType.Float16, DType.Bool })
        {
            var dense = Tensor.Full([], 3, dtype).Expand(length).Contiguous();
            Assert.True(dense.IsContiguous);
            Assert.Equal(Enumerable.Repeat(dtype == DType.Bool ? 1.0 : 3.0, length), dense.To(DType.Float64).ToArray<double>());
        }
        foreach (var dtype in new[] { DType.Float32, DType.Float64 })
        {
            var filled = Tensor.Zeros([length], dtype).Fill_(-2.5);
            Assert.Equal(Enumerable.Repeat(-2.5, length), filled.To(DType.Float64).ToArray<double>());
        }
    }
}

/// <summary>The fused softmax nodes held equal to their composition from primitives, values and gradients.</summary>
public class FusedSoftmaxTests
{
    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(-1)]
    public void FusedSoftmaxAndLogSoftmax_MatchComposition(int dim)
    {
        var x = Tensor.Randn([5, 7, 9], DType.Float64, generator: new Generator(12)) * 30.0;
        var w = Tensor.Randn([5, 7, 9], DType.Float64, generator: new Generator(13));
        foreach (var (fused, reference) in new (Func<Tensor, Tensor>, Func<Tensor, Tensor>)[]
                 { (t => t.Softmax(dim), t => t.SoftmaxReference(dim)), (t => t.LogSoftmax(dim), t => t.LogSoftmaxReference(dim)) })
        {
            var a = x.Detach().RequiresGrad_();
            var b = x.Detach().RequiresGrad_();
            var ya = fused(a);
            var yb = reference(b);
            Assert.True(ya.AllClose(yb, 1e-12, 1e-12));
            (ya * w).Sum().Backward();
            (yb * w).Sum().Backward();
            Assert.True(a.Grad!.AllClose(b.Grad!, 1e-10, 1e-12));
        }
        Assert.True(Autograd.GradCheck(t => t[0].LogSoftmax(dim), [Check.Input(3, 4, 2)]));
        Assert.True(Autograd.GradCheck(t => Autograd.Grad(t[0].Softmax(dim).Pow(2).Sum(), t[0], createGraph: true), [Check.Input(3, 4, 2)]));
    }
}

/// <summary>In-place arithmetic written directly by the kernel equals the out-of-place result.</summary>
public class InPlaceKernelTests
{
    [Theory]
    [InlineData(7)]
    [InlineData(33)]
    public void DirectInPlace_EqualsOutOfPlace(int length)
    {
        var g = new Generator((ulong)length);
        var x = Tensor.Randn([3, length], generator: g);
        var row = Tensor.Randn([length], generator: g) + 5.0;
        var full = Tensor.Randn([3, length], generator: g);
        Assert.Equal((x + row).ToArray<float>(), x.Clone().Add_(row).ToArray<float>());
        Assert.Equal((x - full).ToArray<float>(), x.Clone().Sub_(full).ToArray<float>());
        Assert.Equal((x * 2.5).ToArray<float>(), x.Clone().Mul_(2.5).ToArray<float>());
        Assert.Equal((x / row).ToArray<float>(), x.Clone().Div_(row).ToArray<float>());
        var y = x.Clone();
        y.Add_(y);                                  // aliasing with the same layout is safe
        Assert.Equal((x * 2.0).ToArray<float>(), y.ToArray<float>());
        var square = Tensor.Randn([4, 4], generator: g);
        var expected = (square + square.T).ToArray<float>();
        Assert.Equal(expected, square.Add_(square.T).ToArray<float>());   // a transposed alias takes the safe path
        var ints = Tensor.Arange(6);
        Assert.Equal(new long[] { 0, 2, 4, 6, 8, 10 }, ints.Mul_(2).ToArray<long>());
        Assert.Throws<InvalidOperationException>(() => Tensor.Arange(3).Div_(2));   // float result can't go back into int64
    }

}

/// <summary>Vectorised span operations reject empty spans: the kernels must not hand them one (found by the conformance suite).</summary>
public class EmptyTensorFastPathTests
{
    [Fact]
    public void ElementwiseAndSoftmax_OnEmptyTensors_GiveEmptyResults()
    {
        var empty = Tensor.Zeros([4, 0], requiresGrad: true);
        Check.Shape([4, 0], empty.Sigmoid());
        Check.Shape([4, 0], empty.Exp() + empty);
        Check.Shape([4, 0], empty * 2.0);
        Check.Shape([4, 0], empty.Softmax(-1));
        Check.Shape([4, 0], empty.LogSoftmax(0));
        empty.Sigmoid().Sum().Backward();
        Check.Shape([4, 0], empty.Grad!);
    }
}
