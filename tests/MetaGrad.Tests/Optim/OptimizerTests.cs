using MetaGrad.Optim;

namespace MetaGrad.Tests.Optim;

/// <summary>What every optimizer inherits: parameter groups, ZeroGrad, Step's contract, per-parameter state.</summary>
public class OptimizerTests
{
    static Tensor Param(params double[] values) => Tensor.From(values, [values.Length], requiresGrad: true);
    static void Grad(Tensor p, params double[] values) => p.Grad = Tensor.From(values, [values.Length]);

    [Fact]
    public void ParamGroups_UseTheirOwnLr_AndTheDefaultsForTheRest()
    {
        var body = Param(1, 1);
        var head = Param(1, 1);
        var sgd = new SGD([new ParamGroup([body]), new ParamGroup([head]) { ["lr"] = 0.01 }], lr: 0.1, momentum: 0.9);
        Grad(body, 1, -1);
        Grad(head, 1, -1);
        sgd.Step();
        Check.Values([0.9, 1.1], body);
        Check.Values([0.99, 1.01], head);
        Assert.Equal(0.9, sgd.ParamGroups[1].Double("momentum"));
        Assert.Equal(0.1, sgd.ParamGroups[0].Lr);
    }

    [Fact]
    public void ParamGroups_CanOverrideAnyOption()
    {
        var a = Param(0);
        var b = Param(0);
        var adam = new Adam([new ParamGroup([a]), new ParamGroup([b]) { ["betas"] = (0.5, 0.9), ["amsgrad"] = true }]);
        Assert.Equal((0.9, 0.999), adam.ParamGroups[0].Pair("betas"));
        Assert.Equal((0.5, 0.9), adam.ParamGroups[1].Pair("betas"));
        Grad(a, 1);
        Grad(b, 1);
        adam.Step();
        Assert.False(adam.StateOf(a).ContainsKey("max_exp_avg_sq"));
        Assert.True(adam.StateOf(b).ContainsKey("max_exp_avg_sq"));
    }

    [Fact]
    public void Lr_ChangedBetweenSteps_TakesEffect()
    {
        var p = Param(1);
        var sgd = new SGD([p], lr: 0.1);
        Grad(p, 1);
        sgd.Step();
        sgd.ParamGroups[0].Lr = 0.5;
        sgd.Step();
        Check.Values([1 - 0.1 - 0.5], p);
    }

    [Fact]
    public void AddParamGroup_FillsDefaults_AndStepsTheNewParameters()
    {
        var a = Param(1);
        var b = Param(1);
        var sgd = new SGD([a], lr: 0.1, momentum: 0.5);
        sgd.AddParamGroup(new ParamGroup([b]) { ["lr"] = 1 });
        Assert.Equal(0.5, sgd.ParamGroups[1].Double("momentum"));
        Grad(a, 1);
        Grad(b, 1);
        sgd.Step();
        Check.Values([0.9], a);
        Check.Values([0.0], b);
    }

    [Fact]
    public void AddParamGroup_RejectsAParameterAlreadyOptimized()
    {
        var a = Param(1);
        var sgd = new SGD([a]);
        var ex = Assert.Throws<ArgumentException>(() => sgd.AddParamGroup(new ParamGroup([a])));
        Assert.Contains("SGD", ex.Message);
        Assert.Contains("more than one parameter group", ex.Message);
    }

    [Fact]
    public void Constructor_RejectsNonLeaves_Duplicates_AndNothingToOptimize()
    {
        var a = Param(1);
        var nonLeaf = a * 2.0;
        Assert.Contains("non-leaf", Assert.Throws<ArgumentException>(() => new Adam([nonLeaf])).Message);
        Assert.Contains("same parameter twice", Assert.Throws<ArgumentException>(() => new Adam([a, a])).Message);
        var ex = Assert.Throws<ArgumentException>(() => new RMSprop(Array.Empty<Tensor>()));
        Assert.Equal("RMSprop: optimizer got an empty parameter list", ex.Message);
    }

    [Fact]
    public void ZeroGrad_SetsGradientsToNull_ByDefault()
    {
        var a = Param(1, 2);
        var sgd = new SGD([a]);
        (a * a).Sum().Backward();
        sgd.ZeroGrad();
        Assert.Null(a.Grad);
    }

    [Fact]
    public void ZeroGrad_WithoutSetToNone_ZerosTheSameGradientInPlace()
    {
        var a = Param(1, 2);
        var sgd = new SGD([a]);
        (a * a).Sum().Backward();
        var grad = a.Grad!;
        sgd.ZeroGrad(setToNone: false);
        Assert.Same(grad, a.Grad);
        Check.Values([0.0, 0.0], grad);
        (a * 3.0).Sum().Backward();                           // accumulates onto the zeros
        Check.Values([3.0, 3.0], a.Grad!);
    }

    [Fact]
    public void ZeroGrad_DetachesAGradientThatHasAGraph()
    {
        var a = Param(1, 2);
        var sgd = new SGD([a]);
        (a * a * a).Sum().Backward(createGraph: true);
        Assert.NotNull(a.Grad!.GradFn);
        sgd.ZeroGrad(setToNone: false);
        Assert.Null(a.Grad!.GradFn);
        Check.Values([0.0, 0.0], a.Grad!);
    }

    [Fact]
    public void Step_SkipsParametersWithoutGradient()
    {
        var a = Param(1);
        var b = Param(1);
        var adam = new Adam([a, b], lr: 0.1);
        Grad(a, 1);
        adam.Step();
        Check.Values([1.0], b);
        Assert.Empty(adam.StateOf(b));
        Assert.Equal(1.0, adam.StateOf(a)["step"].Item<double>());
    }

    [Fact]
    public void Step_UpdatesInPlaceOutsideTheGraph_WithGradEnabled()
    {
        var a = Param(1, 2);
        var storageVersion = a.Version;
        var sgd = new SGD([a], lr: 0.1, momentum: 0.9);
        (a * a).Sum().Backward();
        Assert.True(Autograd.IsGradEnabled);
        sgd.Step();
        Assert.True(a.IsLeaf);
        Assert.True(a.RequiresGrad);
        Assert.Null(a.GradFn);
        Assert.False(sgd.StateOf(a)["momentum_buffer"].RequiresGrad);
        Assert.True(a.Version > storageVersion);
        Assert.True(Autograd.IsGradEnabled);
    }

    [Fact]
    public void Step_WithClosure_RecomputesTheLossWithGradEnabled_AndReturnsIt()
    {
        var a = Param(3);
        var sgd = new SGD([a], lr: 0.25);
        Tensor? loss;
        using (Autograd.NoGrad())
            loss = sgd.Step(() =>
            {
                sgd.ZeroGrad();
                var l = (a * a).Sum();
                l.Backward();
                return l;
            });
        Assert.Equal(9.0, loss!.Item<double>());
        Check.Values([3 - 0.25 * 6], a);
    }

    [Fact]
    public void Maximize_AscendsTheObjective()
    {
        var a = Param(1);
        var b = Param(1);
        var up = new SGD([a], lr: 0.1, maximize: true);
        var down = new SGD([b], lr: 0.1);
        Grad(a, 2);
        Grad(b, -2);
        up.Step();
        down.Step();
        Check.Values([1.2], a);
        Check.Values(b.ToArray<double>(), a);
    }

    [Fact]
    public void Adagrad_HoldsItsStateFromConstruction()
    {
        var a = Param(1, 2);
        var adagrad = new Adagrad([a], initialAccumulatorValue: 0.5);
        Check.Values([0.5, 0.5], adagrad.StateOf(a)["sum"]);
        Assert.Equal(0.0, adagrad.StateOf(a)["step"].Item<double>());
        Assert.Contains("state.0.sum", adagrad.StateDict().State.Keys);
    }

    [Fact]
    public void Defaults_MatchPyTorch()
    {
        var p = Param(1);
        Assert.Equal(1e-3, new SGD([p]).Defaults["lr"]);
        Assert.Equal((0.9, 0.999), new Adam([p]).Defaults["betas"]);
        Assert.Equal(1e-8, new Adam([p]).Defaults["eps"]);
        Assert.Equal(1e-2, new AdamW([p]).Defaults["weight_decay"]);
        Assert.Equal(0.0, new Adam([p]).Defaults["weight_decay"]);
        Assert.Equal(1e-2, new Adagrad([p]).Defaults["lr"]);
        Assert.Equal(1e-10, new Adagrad([p]).Defaults["eps"]);
        Assert.Equal(0.99, new RMSprop([p]).Defaults["alpha"]);
        Assert.Equal(1e-2, new RMSprop([p]).Defaults["lr"]);
        Assert.Equal(1.0, new Adadelta([p]).Defaults["lr"]);
        Assert.Equal(0.9, new Adadelta([p]).Defaults["rho"]);
        Assert.Equal(1e-6, new Adadelta([p]).Defaults["eps"]);
    }

    [Fact]
    public void ParamGroup_ConvertsNumbers_AndNamesAMissingOption()
    {
        var g = new ParamGroup([]) { ["lr"] = 1, ["betas"] = new[] { 0.8, 0.9 }, ["amsgrad"] = true };
        Assert.Equal(1.0, g["lr"]);
        Assert.Equal((0.8, 0.9), g.Pair("betas"));
        g["betas"] = new[] { 0.5f, 0.25f };
        Assert.Equal((0.5, 0.25), g.Pair("betas"));
        var ex = Assert.Throws<KeyNotFoundException>(() => g.Double("momentum"));
        Assert.Contains("'momentum' is not set", ex.Message);
        Assert.Contains("'lr'", ex.Message);
        Assert.Contains("'betas'", Assert.Throws<ArgumentException>(() => g.Double("betas")).Message);
        Assert.Contains("'name'", Assert.Throws<ArgumentException>(() => g["name"] = "x").Message);
    }
}
