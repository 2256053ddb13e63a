using F = MetaGrad.NN.Functional;

namespace MetaGrad.Tests;

/// <summary>
/// Finite differences in float64 for every differentiable operation, over broadcasting in both
/// directions, keepDim, negative dims, non-contiguous inputs and 0-d tensors.
/// </summary>
public class GradCheckTests
{
    static Tensor In(params int[] shape) => Check.Input(shape, (ulong)shape.Sum() + 11);
    static Tensor Positive(params int[] shape) => (In(shape).Detach().Abs() + 0.5).RequiresGrad_();
    static Tensor Transposed(int rows, int cols) => In(cols, rows).Detach().T.RequiresGrad_();   // non-contiguous leaf

    public static TheoryData<string> BinaryShapes => new() { "3|3", "2,3|3", "3|2,3", "2,1|1,4", "|2,3", "2,3|" };

    static int[] Parse(string s) => s.Length == 0 ? [] : s.Split(',').Select(int.Parse).ToArray();

    [Theory, MemberData(nameof(BinaryShapes))]
    public void Arithmetic_BroadcastsGradients(string shapes)
    {
        var parts = shapes.Split('|');
        var a = In(Parse(parts[0]));
        var b = Check.Input(Parse(parts[1]), 99);
        Check.Gradients(x => x[0] + x[1], a, b);
        Check.Gradients(x => x[0] - x[1], a, b);
        Check.Gradients(x => x[0] * x[1], a, b);
        var pb = (b.Detach().Abs() + 0.5).RequiresGrad_();
        Check.Gradients(x => x[0] / x[1], a, pb);
        Check.Gradients(x => x[0].Maximum(x[1]), a, b);
        Check.Gradients(x => x[0].Minimum(x[1]), a, b);
    }

    [Fact]
    public void Arithmetic_WithScalarsOnBothSides()
    {
        var a = In(2, 3);
        Check.Gradients(x => 2.0 - x[0] * 3.0 + 1.5, a);
        Check.Gradients(x => 1.0 / (x[0] * x[0] + 1.0), a);
        Check.Gradients(x => -x[0] / 4.0, a);
    }

    [Fact]
    public void Pow_ScalarAndTensorExponents()
    {
        var p = Positive(2, 3);
        Check.Gradients(x => x[0].Pow(3), In(2, 3));
        Check.Gradients(x => x[0].Pow(0.5), p);
        Check.Gradients(x => x[0].Pow(-1.5), p);
        Check.Gradients(x => x[0].Pow(x[1]), p, In(3));
        Check.Gradients(x => x[0].Pow(x[1]), Positive(3), In(2, 3));
    }

    [Fact]
    public void Pointwise_Functions()
    {
        var a = In(2, 3);
        var p = Positive(2, 3);
        Check.Gradients(x => x[0].Exp(), a);
        Check.Gradients(x => x[0].Log(), p);
        Check.Gradients(x => x[0].Log1p(), p);
        Check.Gradients(x => x[0].Sqrt(), p);
        Check.Gradients(x => x[0].Rsqrt(), p);
        Check.Gradients(x => x[0].Sin(), a);
        Check.Gradients(x => x[0].Cos(), a);
        Check.Gradients(x => x[0].Abs(), a);
        Check.Gradients(x => x[0].Erf(), a);
        Check.Gradients(x => x[0].Square(), a);
        Check.Gradients(x => x[0].Reciprocal(), p);
        Check.Gradients(x => x[0].Clamp(-0.3, 0.4), a);
        Check.Gradients(x => x[0].Clamp(min: 0.1), a);
        Check.Gradients(x => x[0].Clamp(max: 0.1), a);
        Check.Gradients(x => x[0].To(DType.Float32).To(DType.Float64) * 0 + x[0], a);
    }

    [Fact]
    public void Pointwise_OnNonContiguousAnd0dInputs()
    {
        Check.Gradients(x => x[0].Exp() * x[1], Transposed(3, 2), In(3, 2));
        Check.Gradients(x => x[0].Tanh() + x[1], In(), In(2, 2));
        Check.Gradients(x => x[0][.., TensorIndex.Slice(0, null, 2)].Sigmoid(), In(2, 5));
    }

    [Fact]
    public void Activations()
    {
        var a = In(3, 4);
        Check.Gradients(x => x[0].Relu(), a);
        Check.Gradients(x => x[0].Sigmoid(), a);
        Check.Gradients(x => x[0].Tanh(), a);
        Check.Gradients(x => F.LeakyRelu(x[0], 0.2), a);
        Check.Gradients(x => F.Elu(x[0], 1.3), a);
        Check.Gradients(x => F.Gelu(x[0]), a);
        Check.Gradients(x => F.Gelu(x[0], "tanh"), a);
        Check.Gradients(x => F.Softplus(x[0]), a);
        Check.Gradients(x => F.Softplus(x[0] * 30, beta: 2, threshold: 5), a);
        Check.Gradients(x => F.LogSigmoid(x[0]), a);
        Check.Gradients(x => F.Silu(x[0]), a);
    }

    [Theory]
    [InlineData(0, false)]
    [InlineData(1, true)]
    [InlineData(-1, false)]
    [InlineData(-2, true)]
    public void Reductions_AlongDims(int dim, bool keepDim)
    {
        var a = In(3, 4);
        Check.Gradients(x => x[0].Sum(dim, keepDim), a);
        Check.Gradients(x => x[0].Mean(dim, keepDim), a);
        Check.Gradients(x => x[0].Var(dim, keepDim: keepDim), a);
        Check.Gradients(x => x[0].Std(dim, keepDim: keepDim), a);
        Check.Gradients(x => x[0].Norm(2, dim, keepDim), a);
        Check.Gradients(x => x[0].Norm(3, dim, keepDim), a);
        Check.Gradients(x => x[0].Max(dim, keepDim), a);
        Check.Gradients(x => x[0].Min(dim, keepDim), a);
        Check.Gradients(x => x[0].Softmax(dim), a);
        Check.Gradients(x => x[0].LogSoftmax(dim), a);
        Check.Gradients(x => x[0].LogSumExp(dim, keepDim), a);
    }

    [Fact]
    public void Reductions_OverEverythingAndSeveralDims()
    {
        var a = In(2, 3, 4);
        Check.Gradients(x => x[0].Sum(), a);
        Check.Gradients(x => x[0].Mean(), a);
        Check.Gradients(x => x[0].Sum([0, 2], keepDim: true), a);
        Check.Gradients(x => x[0].Mean([-1, 0]), a);
        Check.Gradients(x => x[0].Var(), a);
        Check.Gradients(x => x[0].Std([1, 2], correction: 0), a);
        Check.Gradients(x => x[0].Norm(), a);
        Check.Gradients(x => x[0].Max(), a);
        Check.Gradients(x => x[0].Min([0, 1]), a);
        Check.Gradients(x => x[0].Sum(), In());
        Check.Gradients(x => x[0].Sum(1), Transposed(3, 4));
    }

    [Fact]
    public void Max_WithTies_GradientMatchesEvenSplit()
    {
        var t = Tensor.From(new double[,] { { 1, 3, 3 }, { 2, 2, 0 } }, requiresGrad: true);
        t.Max(1).Sum().Backward();
        Check.Values([0, 0.5, 0.5, 0.5, 0.5, 0], t.Grad!);
    }

    [Fact]
    public void Sort_TopK_Gather_GradientsFollowTheIndices()
    {
        var a = In(3, 5);
        Check.Gradients(x => x[0].Sort(1).Values, a);
        Check.Gradients(x => x[0].Sort(0, descending: true).Values, a);
        Check.Gradients(x => x[0].TopK(2).Values, a);
        var index = Tensor.From(new long[,] { { 0, 2 }, { 4, 4 }, { 1, 0 } });
        Check.Gradients(x => x[0].Gather(1, index), a);
        Check.Gradients(x => x[0].Gather(0, Tensor.From(new long[,] { { 2, 0, 1, 1, 0 } })), a);
    }

    [Fact]
    public void Matmul_AllOfTorchMatmulsCases()
    {
        Check.Gradients(x => x[0].Matmul(x[1]), In(4), In(4));               // dot
        Check.Gradients(x => x[0].Matmul(x[1]), In(2, 3), In(3, 4));         // matrix
        Check.Gradients(x => x[0].Matmul(x[1]), In(3), In(3, 2));            // vector @ matrix
        Check.Gradients(x => x[0].Matmul(x[1]), In(2, 3), In(3));            // matrix @ vector
        Check.Gradients(x => x[0].Matmul(x[1]), In(2, 2, 3), In(3, 2));      // batched @ matrix
        Check.Gradients(x => x[0].Matmul(x[1]), In(2, 1, 2, 3), In(3, 3, 2)); // broadcast batches
        Check.Gradients(x => x[0].Matmul(x[1]), In(3), In(2, 3, 2));         // vector @ batched
        Check.Gradients(x => x[0].Bmm(x[1]), In(2, 2, 3), In(2, 3, 2));
        Check.Gradients(x => x[0].Mm(x[1]), Transposed(2, 3), Transposed(3, 2));
    }

    [Fact]
    public void Matmul_ColumnMajorOperands_GetGradientsInTheirLayout_ToSecondOrder()
    {
        // Linear computes x·Wᵀ: W's gradient must come back row-major like W (a memmove to clone).
        var x = In(4, 3);
        var w = In(5, 3);
        var y = x.Matmul(w.T);
        var g = Tensor.Randn([4, 5], DType.Float64, generator: new Generator(3));
        y.Backward(g);
        Assert.True(w.Grad!.IsContiguous);
        Assert.True(w.Grad.AllClose(g.T.Matmul(x), 1e-12, 1e-12));
        Assert.True(x.Grad!.AllClose(g.Matmul(w), 1e-12, 1e-12));
        // The transposed forms are tensor operations too: second derivatives stay exact.
        var weights = Tensor.Randn([4, 2], DType.Float64, generator: new Generator(4));
        Check.Gradients(v =>
        {
            var grads = Autograd.Grad([(v[0].T.Matmul(v[1].T) * weights).Sum()], v, createGraph: true);
            return Tensor.Cat([.. grads.Select(d => d!.Reshape(-1))], 0) * Tensor.Cat([.. grads.Select(d => d!.Reshape(-1))], 0);
        }, In(3, 4), In(2, 3));
    }

    [Fact]
    public void ShapeOperations()
    {
        var a = In(2, 3, 4);
        Check.Gradients(x => x[0].Reshape(4, -1), a);
        Check.Gradients(x => x[0].View(6, 4), a);
        Check.Gradients(x => x[0].Flatten(1), a);
        Check.Gradients(x => x[0].Permute(2, 0, 1) * Tensor.Arange(24.0, DType.Float64).Reshape(4, 2, 3), a);
        Check.Gradients(x => x[0].Transpose(0, -1).Reshape(-1), a);
        Check.Gradients(x => x[0].MT * Tensor.Arange(24.0, DType.Float64).Reshape(2, 4, 3), a);
        Check.Gradients(x => x[0].Unsqueeze(1).Squeeze(1), a);
        Check.Gradients(x => x[0].Squeeze(), In(2, 1, 3, 1));
        Check.Gradients(x => x[0].Expand(2, 3, 4) * Tensor.Arange(24.0, DType.Float64).Reshape(2, 3, 4), In(3, 1));
        Check.Gradients(x => x[0].Repeat(2, 1, 3) * Tensor.Arange(72.0, DType.Float64).Reshape(4, 3, 6), In(2, 3, 2));
        Check.Gradients(x => x[0].Flip(0, 2) * Tensor.Arange(24.0, DType.Float64).Reshape(2, 3, 4), a);
        Check.Gradients(x => x[0].Narrow(1, 1, 2), a);
        Check.Gradients(x => x[0].Select(-1, 2), a);
        Check.Gradients(x => x[0].Contiguous(), Transposed(2, 3));
        Check.Gradients(x => x[0].Clone(), a);
    }

    [Fact]
    public void Joining_And_Splitting()
    {
        Check.Gradients(x => Tensor.Cat([x[0], x[1], x[0]], 1), In(2, 3), In(2, 2));
        Check.Gradients(x => Tensor.Stack([x[0], x[1]], -1), In(2, 3), Check.Input([2, 3], 3));
        Check.Gradients(x => x[0].Split(2, 1)[1] * 2.0, In(2, 5));
        Check.Gradients(x => x[0].Split([1, 3], 0)[1], In(4, 2));
        Check.Gradients(x => x[0].Chunk(3, 1)[2], In(2, 7));
    }

    [Fact]
    public void Indexing_BasicAdvancedAndMasks()
    {
        var a = In(4, 5);
        Check.Gradients(x => x[0][1..3, 2..], a);
        Check.Gradients(x => x[0][^1], a);
        Check.Gradients(x => x[0][.., 0], a);
        Check.Gradients(x => x[0][TensorIndex.Slice(null, null, 2), TensorIndex.Slice(1, null, 3)], a);
        Check.Gradients(x => x[0][Tensor.NewAxis, Tensor.Ellipsis, 1], a);
        Check.Gradients(x => x[0][Tensor.From(new long[] { 0, 2, 2, -1 })], a);
        Check.Gradients(x => x[0][.., Tensor.From(new long[,] { { 0, 4 }, { 1, 1 } })], a);
        Check.Gradients(x => x[0][Tensor.From(new long[] { 0, 1 }), Tensor.From(new long[] { 3, 3 })], a);
        Check.Gradients(x => x[0][x[0].Detach() > 0.0], a);
        Check.Gradients(x => x[0].IndexSelect(1, Tensor.From(new long[] { 4, 0, 4 })), a);
        Check.Gradients(x => x[0].IndexFill(0, Tensor.From(new long[] { 1, 3 }), 2.5), a);
        Check.Gradients(x => x[0].MaskedFill(Tensor.From(new bool[] { true, false, false, true, false }), -1), a);
        Check.Gradients(x => x[0].MaskedSelect(Tensor.From(new bool[] { true, false, false, true, true })), a);
        Check.Gradients(x => Tensor.Where(x[0] > 0.0, x[0], x[1]), a, In(5));
    }

    [Fact]
    public void ScatterAdd_And_IndexAdd_GradientsReachSelfAndSource()
    {
        var index = Tensor.From(new long[,] { { 0, 1, 0 }, { 2, 2, 1 } });
        Check.Gradients(x => x[0].ScatterAdd(0, index, x[1]), In(3, 3), In(2, 4));
        Check.Gradients(x => x[0].IndexAdd(0, Tensor.From(new long[] { 2, 0, 2 }), x[1]), In(3, 2), In(3, 2));
    }

    [Fact]
    public void IndexAssignment_IsRecorded()
    {
        Check.Gradients(x =>
        {
            var y = x[0] * 1.0;
            y[1..3, ..2] = x[1];
            return y * y;
        }, In(4, 3), In(2, 2));
        Check.Gradients(x =>
        {
            var y = x[0] * 1.0;
            y[y.Detach() < 0.0] = Tensor.From(0.0);
            return y.Exp();
        }, In(3, 3));
    }

    [Fact]
    public void InPlaceArithmetic_IsRecorded()
    {
        Check.Gradients(x =>
        {
            var y = x[0] * 2.0;   // Mul saves x[0], not y, so y may be changed in place
            y.Mul_(x[1]).Add_(2.0).Div_(x[1]);
            return y;
        }, In(2, 3), Positive(3));
    }
}
