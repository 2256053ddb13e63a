using MetaGrad.NN;
using MetaGrad.NN.Utils;
using TorchSharp;
using static MetaGrad.Conformance.Interop.TorchBridge;
using static MetaGrad.Conformance.Training.ModuleConformanceTests;
using TT = TorchSharp.torch.Tensor;
using TParameter = TorchSharp.Modules.Parameter;

namespace MetaGrad.Conformance.Training;

/// <summary>
/// The parameter containers, Unflatten, the structured initialisers and parameters_to_vector against
/// TorchSharp: state-dict names through a strict load into libtorch's module, exact values where the
/// operation is deterministic, and the structure and spread where it is random (sparse_). TorchSharp's
/// trunc_normal_ is broken (DIFFERENCES.md), so TruncNormal_ is checked against closed-form moments instead.
/// </summary>
public class ModuleUtilityConformanceTests
{
    [Fact]
    public void ParameterListAndDictHaveLibtorchsStateDictNames()
    {
        using var scope = torch.NewDisposeScope();
        var list = new ParameterList(new Parameter(Randn(1, DType.Float32, 2, 3)), new Parameter(Randn(2, DType.Float32, 4)));
        var theirList = torch.nn.ParameterList(new TParameter(torch.zeros(2, 3)), new TParameter(torch.zeros(4)));
        LoadInto(theirList, list);
        AssertClose(theirList.named_parameters().ToArray()[1].parameter, list[1], 0, 0, "ParameterList: loaded values");
        Assert.Equal(theirList.state_dict().Keys, list.StateDict().Keys);

        var dict = new ParameterDict(("gamma", new Parameter(Randn(3, DType.Float32, 3))), ("beta", new Parameter(Randn(4, DType.Float32, 3))));
        var theirDict = torch.nn.ParameterDict(("gamma", new TParameter(torch.zeros(3))), ("beta", new TParameter(torch.zeros(3))));
        LoadInto(theirDict, dict);
        Assert.Equal(theirDict.state_dict().Keys, dict.StateDict().Keys);
    }

    sealed class Tanh : Module<Tensor, Tensor>
    {
        public override Tensor Forward(Tensor x) => x.Tanh();
    }

    [Fact]
    public void SequentialAfterInsertExtendAndSetMatchesLibtorchsLayout()
    {
        using var scope = torch.NewDisposeScope();
        // Built out of order, ending as Linear(2,3), ReLU, Linear(3,4), Tanh: names 0..3 as libtorch's.
        var ours = new Sequential(new Linear(2, 3), new Tanh());
        ours.Insert(1, new Linear(3, 4));
        ours.Insert(1, new ReLU());
        ours[-1] = new Tanh();
        var tail = new Sequential(new Linear(4, 1));
        ours.Extend([tail[0]]);
        var theirs = torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.ReLU(), torch.nn.Linear(3, 4), torch.nn.Tanh(), torch.nn.Linear(4, 1));
        LoadInto(theirs, ours);
        var x = Randn(5, DType.Float32, 6, 2);
        AssertClose(theirs.forward(ToTorch(x)), ours.Forward(x), 1e-5, 1e-6, "Sequential: output");
    }

    [Theory]
    [InlineData(1, new[] { 3, 4 }, new[] { 2, 12, 5 })]
    [InlineData(1, new[] { 2, -1 }, new[] { 3, 6 })]   // TorchSharp's Unflatten refuses a negative dim (DIFFERENCES.md)
    public void UnflattenMatchesLibtorch(int dim, int[] sizes, int[] shape)
    {
        using var scope = torch.NewDisposeScope();
        var x = Randn(8, DType.Float32, shape);
        var theirs = torch.nn.Unflatten(dim, sizes.Select(s => (long)s).ToArray());
        var expected = theirs.forward(ToTorch(x));
        var actual = new Unflatten(dim, sizes).Forward(x);
        Assert.Equal(expected.shape.Select(d => (int)d), actual.Shape.ToArray());
        AssertClose(expected, actual, 0, 0, "Unflatten");
    }

    [Theory]
    [InlineData(new[] { 3, 5 })]
    [InlineData(new[] { 4, 2 })]
    public void EyeMatchesLibtorch(int[] shape)
    {
        using var scope = torch.NewDisposeScope();
        var theirs = torch.nn.init.eye_(torch.empty(shape.Select(s => (long)s).ToArray()));
        AssertClose(theirs, Init.Eye_(Tensor.Empty(shape)), 0, 0, "Eye_");
    }

    [Theory]
    [InlineData(new[] { 4, 3, 3 })]
    [InlineData(new[] { 3, 5, 2, 3 })]
    [InlineData(new[] { 2, 2, 3, 4, 3 })]
    public void DiracMatchesLibtorch(int[] shape)
    {
        using var scope = torch.NewDisposeScope();
        var theirs = torch.nn.init.dirac_(torch.empty(shape.Select(s => (long)s).ToArray()));
        AssertClose(theirs, Init.Dirac_(Tensor.Empty(shape)), 0, 0, "Dirac_");
    }

    [Fact]
    public void SparseZerosAsManyEntriesPerColumnAsLibtorch()
    {
        using var scope = torch.NewDisposeScope();
        var theirs = Values(torch.nn.init.sparse_(torch.empty(9, 300, dtype: torch.float64), 0.3, 0.5));
        var ours = Init.Sparse_(Tensor.Empty([9, 300], DType.Float64), 0.3, 0.5, new Generator(4)).ToArray<double>();
        for (int c = 0; c < 300; c++)
            Assert.Equal(Enumerable.Range(0, 9).Count(r => theirs[r * 300 + c] == 0), Enumerable.Range(0, 9).Count(r => ours[r * 300 + c] == 0));
        double stdT = Math.Sqrt(theirs.Where(x => x != 0).Select(x => x * x).Average());
        double stdO = Math.Sqrt(ours.Where(x => x != 0).Select(x => x * x).Average());
        double se = 0.5 / Math.Sqrt(2.0 * 9 * 300 * 0.6);
        Assert.InRange(stdO - stdT, -5 * Math.Sqrt(2) * se, 5 * Math.Sqrt(2) * se);
    }

    [Fact]
    public void ParametersToVectorAndBackMatchLibtorch()
    {
        using var scope = torch.NewDisposeScope();
        var ours = new Sequential(new Linear(3, 4), new ReLU(), new Linear(4, 2));
        var theirs = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.ReLU(), torch.nn.Linear(4, 2));
        LoadInto(theirs, ours);
        var expected = torch.nn.utils.parameters_to_vector(theirs.parameters());
        AssertClose(expected, ParameterVectors.ParametersToVector(ours.Parameters()), 0, 0, "parameters_to_vector");

        var v = Randn(9, DType.Float32, 26);
        using (torch.no_grad()) torch.nn.utils.vector_to_parameters(ToTorch(v), theirs.parameters());
        ParameterVectors.VectorToParameters(v, ours.Parameters());
        var theirState = theirs.state_dict();
        foreach (var (name, value) in ours.StateDict())
            AssertClose(theirState[name], value, 0, 0, $"vector_to_parameters: {name}");
    }
}
