using MetaGrad.Conformance.Harness;
using torch = TorchSharp.torch;

namespace MetaGrad.Conformance;

/// <summary>
/// The smallest cases of disagreements the generated suite found, each fixed in MetaGrad, kept
/// as fixed cases so they are checked whatever the seed and case count.
/// </summary>
public class RegressionTests
{
    static TensorSpec Floats(int[] shape, params double[] values) => TensorSpec.Plain(Kind.Float, shape, values, requiresGrad: true);

    static void Check(string name, TensorSpec[] inputs, Func<Tensor[], Tensor> metaGrad, Func<torch.Tensor[], torch.Tensor> torchOp)
    {
        foreach (var dtype in new[] { DType.Float64, DType.Float32 })
            Runner.Run(name, inputs, weightSeed: 1, dtype, x => [metaGrad(x)], x => [torchOp(x)]);
    }

    [Fact]
    public void Pow_GradientOfTheBaseIsZeroWhereTheExponentIsZero() =>
        // 0 ** 0: b·a^(b-1) is 0·inf; PyTorch defines the gradient as 0 wherever b = 0.
        Check("Pow", [Floats([3], 0, 0, 2), Floats([3], 0, 1, 0)], x => x[0].Pow(x[1]), x => x[0].pow(x[1]));

    [Fact]
    public void SoftmaxFamily_AcceptsAnEmptyDim()
    {
        // Over an empty dim PyTorch gives an empty softmax and a LogSumExp of -inf; MetaGrad threw (no max to shift by).
        TensorSpec[] empty = [TensorSpec.Plain(Kind.Float, [2, 0], [], requiresGrad: true)];
        Check("Softmax", empty, x => x[0].Softmax(1), x => x[0].softmax(1));
        Check("LogSoftmax", empty, x => x[0].LogSoftmax(-1), x => x[0].log_softmax(-1));
        Check("LogSumExp", empty, x => x[0].LogSumExp(1), x => x[0].logsumexp(1));
    }

    [Fact]
    public void Std_GradientIsZeroWhereTheSpreadIsZero() =>
        // Equal values: d√v/dv is infinite at v = 0 and MetaGrad gave NaN; PyTorch masks it to 0.
        Check("Std", [Floats([2, 3], 1, 1, 1, -2, 0.5, 3)], x => x[0].Std([1]), x => x[0].std([1L]));

    [Fact]
    public void Chunk_OfAnEmptyDimGivesAsManyEmptyPiecesAsChunks()
    {
        // torch.chunk(empty, 3) gives 3 empty tensors; MetaGrad gave 1.
        TensorSpec[] empty = [TensorSpec.Plain(Kind.Float, [2, 0], [], requiresGrad: true)];
        foreach (var dtype in new[] { DType.Float64, DType.Float32 })
            Runner.Run("Chunk", empty, weightSeed: 1, dtype, x => x[0].Chunk(3, 1), x => x[0].chunk(3, 1));
    }

    [Fact]
    public void Index_A0dIntegerTensorActsAsAnInteger() =>
        // x[t, :, [0, 1]] with a 0-d t selects like x[1, :, [0, 1]]: shape [3, 2]. MetaGrad took t as an
        // advanced index, separated from the other by a slice, and moved the indexed dims first: [2, 3].
        Check("Index", [Floats([2, 3, 2], 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12), TensorSpec.Plain(Kind.Int64, [], [1]), TensorSpec.Plain(Kind.Int64, [2], [1, 0])],
            x => x[0][x[1], .., x[2]],
            x => x[0].index(torch.TensorIndex.Tensor(x[1]), torch.TensorIndex.Slice(), torch.TensorIndex.Tensor(x[2])));

    [Fact]
    public void IndexSelect_OnA0dTensorGivesA0dTensor() =>
        // torch.index_select(scalar, 0, tensor([0])) is 0-d; MetaGrad gave shape [1].
        Check("IndexSelect", [Floats([], 2.5), TensorSpec.Plain(Kind.Int64, [1], [0])], x => x[0].IndexSelect(0, x[1]), x => x[0].index_select(0, x[1]));

    [Fact]
    public void GatherAndScatterAdd_Accept0dTensors()
    {
        // Both crashed with an IndexOutOfRangeException from the kernel on 0-d input and index.
        TensorSpec[] inputs = [Floats([], 2.5), TensorSpec.Plain(Kind.Int64, [], [0]), Floats([], -1.5)];
        Check("Gather", inputs, x => x[0].Gather(0, x[1]), x => x[0].gather(0, x[1]));
        Check("ScatterAdd", inputs, x => x[0].ScatterAdd(-1, x[1], x[2]), x => x[0].scatter_add(-1, x[1], x[2]));
    }

    [Fact]
    public void IndexAdd_AcceptsA0dTensor() =>
        // It crashed with an IndexOutOfRangeException from the kernel.
        Check("IndexAdd", [Floats([], 2.5), TensorSpec.Plain(Kind.Int64, [1], [0]), Floats([], -1.5)],
            x => x[0].IndexAdd(0, x[1], x[2]), x => x[0].index_add(0, x[1], x[2], 1));

    [Fact]
    public void Elu_GradientIsFiniteForLargeInputs() =>
        // exp(90) overflows float32 (exp(1000) float64) in the discarded branch, and 0·inf gave a NaN gradient.
        Check("Elu", [Floats([4], 90, 1000, -3, 0)], x => MetaGrad.NN.Functional.Elu(x[0]), x => torch.nn.functional.elu(x[0], 1.0));

    [Fact]
    public void LogSigmoid_HasNoLinearCutOff() =>
        // log σ(-21) = -21 - log1p(e⁻²¹); MetaGrad cut it to -21 (softplus's threshold of 20), and its
        // gradient 1 - σ(-21)... missed libtorch's by 7.6e-10 relative in float64.
        Check("LogSigmoid", [Floats([3], -21, -40, 25)], x => MetaGrad.NN.Functional.LogSigmoid(x[0]), x => torch.nn.functional.logsigmoid(x[0]));

    [Fact]
    public void Norm_NeitherUnderflowsNorOverflowsBeforeTheNormDoes()
    {
        // In float32, (3.3e-31)² underflows to 0 and MetaGrad's gradient came out 0, not x/‖x‖ = 1.
        Check("Norm", [Floats([], 3.3e-31)], x => x[0].Norm(2), x => torch.linalg.vector_norm(x[0], 2));
        // Vectors: libtorch's own float32 norm underflows to 0 and overflows to inf here too (a
        // deliberate difference, see the README), so float32 MetaGrad is held to float64 libtorch.
        Runner.Run("Norm", [Floats([3], 1e-25, -2e-25, 0)], 1, DType.Float32, x => [x[0].Norm(2)], x => [torch.linalg.vector_norm(x[0], 2)], oracle: DType.Float64);
        Runner.Run("Norm", [Floats([2, 2], 1e25, -3e25, 2, 0)], 1, DType.Float32, x => [x[0].Norm(3, [1])], x => [torch.linalg.vector_norm(x[0], 3, [1L])], oracle: DType.Float64);
    }

    [Theory]
    [InlineData("ArgMax")]
    [InlineData("ArgMin")]
    [InlineData("Sort")]
    [InlineData("Transpose")]
    [InlineData("Squeeze")]
    [InlineData("Flatten")]
    public void ZeroDimTensors_RejectDimsOutOfRange(string op)
    {
        // A 0-d tensor has dims 0 and -1 only; these returned a result for any dim.
        var x = Tensor.From(1.5);
        Func<Tensor> call = op switch
        {
            "ArgMax" => () => x.ArgMax(2),
            "ArgMin" => () => x.ArgMin(-3),
            "Sort" => () => x.Sort(1).Values,
            "Transpose" => () => x.Transpose(0, 2),
            "Squeeze" => () => x.Squeeze(2),
            _ => () => x.Flatten(-2),
        };
        var e = Assert.Throws<ArgumentOutOfRangeException>(call);
        Assert.Contains(op, e.Message);
    }

    [Fact]
    public void Errors_NameTheOperationCalled()
    {
        // These were rejected, but the message named an operation used inside (Var, Index, Add).
        var x = Tensor.Ones(2, 3);
        Assert.Contains("Std", Assert.ThrowsAny<ArgumentException>(() => x.Std([5])).Message);
        Assert.Contains("IndexFill", Assert.ThrowsAny<ArgumentException>(() => x.IndexFill(0, Tensor.From(new long[] { 7 }, [1]), 1.0)).Message);
        Assert.Contains("IndexAdd", Assert.ThrowsAny<ArgumentException>(() => x.IndexAdd(0, Tensor.From(new long[] { 0 }, [1]), Tensor.Ones(1, 4))).Message);
    }

    [Fact]
    public void Pow_OfIntegerTensorsTruncatesNegativeExponents()
    {
        // libtorch gives (-2)^-1 = 0, (-1)^-3 = -1, 1^-2 = 1 for tensor exponents; MetaGrad threw.
        TensorSpec[] ints = [TensorSpec.Plain(Kind.Int64, [6], [-2, -1, 0, 1, 2, 3]), TensorSpec.Plain(Kind.Int64, [6], [-1, -3, -1, -2, -1, -2])];
        Check("Pow", ints, x => x[0].Pow(x[1]), x => x[0].pow(x[1]));
        // A negative number exponent stays an error in both.
        Assert.Contains("Pow", Assert.Throws<ArgumentException>(() => Tensor.Arange(3L).Pow(-2)).Message);
    }

    [Fact]
    public void InPlace_KeepsTheValuesItsBackwardNeeds()
    {
        // y.Mul_(o) saved y for o's gradient and then overwrote it: backward threw "modified by an inplace operation".
        TensorSpec[] inputs = [Floats([2, 2], 1, -2, 0.5, 3), Floats([2], 4, -1)];
        Check("Mul_", inputs, x => x[0].Clone().Mul_(x[1]), x => x[0].clone().mul_(x[1]));
        Check("Div_", inputs, x => x[0].Clone().Div_(x[1]), x => x[0].clone().div_(x[1]));
        Check("Clamp_", inputs, x => x[0].Clone().Clamp_(-1, 1).Mul_(x[1]), x => x[0].clone().clamp_(-1, 1).mul_(x[1]));
    }

    [Fact]
    public void Copy_FromALeafStaysInTheGraph() =>
        // Expand of a same-shape leaf is the leaf itself, with no node: y lost its history and RequiresGrad.
        Check("Copy_", [Floats([2], 1, 2), Floats([2], 3, 4)], x => x[0].Clone().Copy_(x[1]), x => x[0].clone().copy_(x[1]));
}
