using MetaGrad.NN;

namespace MetaGrad.Tests.NN;

/// <summary>
/// Functional.Linear as one node (the bias added as the product's tiles are stored): the same
/// values as x·Wᵀ + b, gradients against finite differences to second order, any input rank.
/// </summary>
public class LinearFunctionTests
{
    public static TheoryData<int[], bool> Shapes() => new()
    {
        { [5], true }, { [4, 5], true }, { [4, 5], false }, { [2, 3, 5], true }, { [2, 1, 3, 5], false },
    };

    [Theory, MemberData(nameof(Shapes))]
    public void Float32_EqualsTheProductThenTheAddition_BitForBit(int[] shape, bool withBias)
    {
        var g = new Generator(3);
        var x = Tensor.Randn(shape, generator: g);
        var w = Tensor.Randn([7, 5], generator: g);
        var b = withBias ? Tensor.Randn([7], generator: g) : null;
        var fused = Functional.Linear(x, w, b);
        var product = x.Matmul(w.T);
        var composite = b is null ? product : product + b;
        Assert.Equal(composite.Shape.ToArray(), fused.Shape.ToArray());
        Assert.Equal(composite.ToArray<float>(), fused.ToArray<float>());
    }

    [Fact]
    public void LargeProduct_InPanels_EqualsTheProductThenTheAddition()
    {
        // The blocked path with edge tiles (70 columns) and a bias in the kernel's store.
        var g = new Generator(4);
        var x = Tensor.Randn([2, 100, 300], generator: g);
        var w = Tensor.Randn([70, 300], generator: g);
        var b = Tensor.Randn([70], generator: g);
        Assert.Equal((x.Matmul(w.T) + b).ToArray<float>(), Functional.Linear(x, w, b).ToArray<float>());
    }

    [Theory, MemberData(nameof(Shapes))]
    public void Gradients_MatchFiniteDifferences(int[] shape, bool withBias)
    {
        var inputs = new List<Tensor> { Check.Input(shape, seed: 1), Check.Input([3, 5], seed: 2) };
        if (withBias) inputs.Add(Check.Input([3], seed: 3));
        Check.Gradients(a => Functional.Linear(a[0], a[1], a.Length > 2 ? a[2] : null), [.. inputs]);
    }

    [Fact]
    public void NonContiguousOperands_MatchFiniteDifferences()
    {
        // An input read through transposed strides and a weight that is a transposed view.
        Check.Gradients(a => Functional.Linear(a[0].MT, a[1].T, a[2]), Check.Input([5, 4], seed: 4), Check.Input([5, 3], seed: 5), Check.Input([3], seed: 6));
    }

    [Fact]
    public void SecondOrderGradients_MatchFiniteDifferences()
    {
        var upstream = Tensor.Randn([2, 4, 3], DType.Float64, generator: new Generator(8));
        Check.Gradients(a =>
        {
            var grads = Autograd.Grad([(Functional.Linear(a[0], a[1], a[2]).Tanh() * upstream).Sum()], a, createGraph: true);
            return Tensor.Cat([.. grads.Select(x => x!.Reshape(-1))], 0);
        }, Check.Input([2, 4, 5], seed: 9), Check.Input([3, 5], seed: 10), Check.Input([3], seed: 11));
    }

    [Fact]
    public void MixedDTypes_AreAClearError()
    {
        var error = Assert.Throws<ArgumentException>(() => Functional.Linear(Tensor.Zeros([2, 3], DType.Float64), Tensor.Zeros([4, 3])));
        Assert.Contains("Linear", error.Message);
        Assert.Contains("Float64", error.Message);
        Assert.Contains("Float32", error.Message);
    }

    [Fact]
    public void NodeIsOneLinearBackward()
    {
        var x = Tensor.Randn(2, 3).RequiresGrad_();
        var y = Functional.Linear(x, Tensor.Randn(4, 3), Tensor.Randn(4));
        Assert.Equal("LinearBackward", y.GradFn!.Name);
    }
}
