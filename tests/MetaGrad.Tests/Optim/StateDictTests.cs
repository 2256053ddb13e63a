using MetaGrad.Optim;

namespace MetaGrad.Tests.Optim;

/// <summary>An optimizer's state dict: its layout, snapshot semantics, errors, and exact resumption.</summary>
public class StateDictTests
{
    // Two float32 parameters in two groups, the second with its own lr.
    static (Tensor A, Tensor B, Optimizer Optimizer) Build(string name, float[] a, float[] b)
    {
        var pa = Tensor.From(a, [2, 3], requiresGrad: true);
        var pb = Tensor.From(b, [3], requiresGrad: true);
        var optimizer = OptimizerCases.Make(name, [new ParamGroup([pa]), new ParamGroup([pb]) { ["lr"] = 0.003 }]);
        return (pa, pb, optimizer);
    }

    static void Train(Tensor a, Tensor b, Optimizer optimizer, int fromStep, int toStep)
    {
        for (int t = fromStep; t <= toStep; t++)
        {
            OptimizerCases.SetGradient(a, t);
            OptimizerCases.SetGradient(b, t + 100);
            optimizer.Step();
        }
    }

    static readonly float[] StartA = [0.5f, -1.25f, 2f, 0f, -0.3f, 1.7f], StartB = [0.1f, 0.2f, -0.4f];

    [Theory]
    [MemberData(nameof(OptimizerCases.All), MemberType = typeof(OptimizerCases))]
    public void ThreeStepsSavedLoadedAndThreeMore_EqualSixStraight_BitForBit(string name)
    {
        var (a, b, straight) = Build(name, StartA, StartB);
        Train(a, b, straight, 1, 6);

        var (a1, b1, first) = Build(name, StartA, StartB);
        Train(a1, b1, first, 1, 3);
        var saved = first.StateDict();
        var (a2, b2, resumed) = Build(name, a1.ToArray<float>(), b1.ToArray<float>());
        resumed.LoadStateDict(saved);
        Train(a2, b2, resumed, 4, 6);

        Assert.Equal(a.ToArray<float>(), a2.ToArray<float>());
        Assert.Equal(b.ToArray<float>(), b2.ToArray<float>());
    }

    [Fact]
    public void Layout_IsPyTorchs_WithTensorsApartFromScalars()
    {
        var (a, b, adam) = Build("Adam-amsgrad", StartA, StartB);
        Train(a, b, adam, 1, 2);
        var sd = adam.StateDict();
        Assert.Equal(new[]
            {"state.0.step", "state.0.exp_avg", "state.0.exp_avg_sq", "state.0.max_exp_avg_sq",
             "state.1.step", "state.1.exp_avg", "state.1.exp_avg_sq", "state.1.max_exp_avg_sq"},
            sd.State.Keys);
        Assert.Equal(2.0, sd.State["state.1.step"].Item<double>());
        Assert.Equal(new[] { 0 }, sd.ParamGroups[0].Params);
        Assert.Equal(new[] { 1 }, sd.ParamGroups[1].Params);
        Assert.Equal(0.003, sd.ParamGroups[1].Options["lr"]);
        Assert.Equal(new[] { 0.8, 0.9 }, (double[])sd.ParamGroups[0].Options["betas"]);
        Assert.Equal(true, sd.ParamGroups[0].Options["amsgrad"]);
        Assert.All(sd.ParamGroups.SelectMany(g => g.Options.Values), v => Assert.True(v is double or bool or double[]));
    }

    [Fact]
    public void StateDict_IsASnapshot()
    {
        var (a, b, sgd) = Build("SGD", StartA, StartB);
        Train(a, b, sgd, 1, 1);
        var sd = sgd.StateDict();
        var before = sd.State["state.0.momentum_buffer"].ToArray<float>();
        Train(a, b, sgd, 2, 3);
        Assert.Equal(before, sd.State["state.0.momentum_buffer"].ToArray<float>());
        Assert.NotEqual(before, sgd.StateOf(a)["momentum_buffer"].ToArray<float>());
    }

    [Fact]
    public void Load_RestoresGroupOptions_AndCopiesTheTensors()
    {
        var (a, b, sgd) = Build("SGD", StartA, StartB);
        Train(a, b, sgd, 1, 1);
        sgd.ParamGroups[0].Lr = 0.123;
        var sd = sgd.StateDict();
        var savedBuffer = sd.State["state.0.momentum_buffer"].ToArray<float>();
        var (a2, b2, other) = Build("SGD", StartA, StartB);
        other.LoadStateDict(sd);
        Assert.Equal(0.123, other.ParamGroups[0].Lr);
        Assert.Equal(0.003, other.ParamGroups[1].Lr);
        Train(a2, b2, other, 2, 2);
        Assert.Equal(savedBuffer, sd.State["state.0.momentum_buffer"].ToArray<float>());   // the loaded optimizer owns copies
        Assert.NotEqual(savedBuffer, other.StateOf(a2)["momentum_buffer"].ToArray<float>());
    }

    [Fact]
    public void Load_CastsBuffersToTheParametersDType()
    {
        var p64 = Tensor.From(new double[] { 1, 2 }, [2], requiresGrad: true);
        var adam64 = new Adam([p64]);
        p64.Grad = Tensor.From(new double[] { 0.5, 0.25 }, [2]);
        adam64.Step();
        var p32 = Tensor.From(new float[] { 1, 2 }, [2], requiresGrad: true);
        var adam32 = new Adam([p32]);
        adam32.LoadStateDict(adam64.StateDict());
        Assert.Equal(DType.Float32, adam32.StateOf(p32)["exp_avg"].DType);
        Assert.Equal(DType.Float64, adam32.StateOf(p32)["step"].DType);
    }

    [Fact]
    public void Load_ThatDoesNotFit_ExplainsAndChangesNothing()
    {
        var (a, b, adam) = Build("Adam", StartA, StartB);
        Train(a, b, adam, 1, 1);
        var good = adam.StateDict();
        var (a2, b2, target) = Build("Adam", StartA, StartB);
        Train(a2, b2, target, 1, 2);
        var before = target.StateDict();

        var oneGroup = new Adam([Tensor.Zeros([2, 3], requiresGrad: true)]);
        Assert.Contains("2 parameter groups, but the optimizer has 1", Assert.Throws<ArgumentException>(() => oneGroup.LoadStateDict(good)).Message);

        var badShape = adam.StateDict();
        badShape.State["state.1.exp_avg"] = Tensor.Zeros(4);
        var ex = Assert.Throws<ArgumentException>(() => target.LoadStateDict(badShape));
        Assert.Contains("Adam.LoadStateDict", ex.Message);
        Assert.Contains("'state.1.exp_avg' has shape [4] but parameter 1 has shape [3]", ex.Message);

        var badKey = adam.StateDict();
        badKey.State["momentum"] = Tensor.Zeros(3);
        Assert.Contains("unexpected key 'momentum'", Assert.Throws<ArgumentException>(() => target.LoadStateDict(badKey)).Message);

        var unknownParam = adam.StateDict();
        unknownParam.State["state.7.exp_avg"] = Tensor.Zeros(3);
        Assert.Contains("parameter 7", Assert.Throws<ArgumentException>(() => target.LoadStateDict(unknownParam)).Message);

        var badOption = adam.StateDict();
        badOption.ParamGroups[1].Options["lr"] = -1.0;
        Assert.Contains("parameter group 1: invalid learning rate: -1", Assert.Throws<ArgumentException>(() => target.LoadStateDict(badOption)).Message);

        var after = target.StateDict();
        Assert.Equal(before.State.Keys, after.State.Keys);
        foreach (var key in before.State.Keys) Assert.Equal(before.State[key].ToArray<float>(), after.State[key].ToArray<float>());
        Assert.Equal(0.003, target.ParamGroups[1].Lr);
    }
}
