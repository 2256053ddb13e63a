using MetaGrad.Optim;

namespace MetaGrad.Tests.Optim;

/// <summary>Invalid options get an ArgumentException naming the optimizer, the option and the bad value.</summary>
public class OptimizerErrorTests
{
    static readonly Tensor P = Tensor.Zeros([2], requiresGrad: true);

    public static TheoryData<string, Func<Optimizer>, string> Cases => new()
    {
        { "SGD lr", () => new SGD([P], lr: -0.1), "SGD: invalid learning rate: -0.1 (must be >= 0)" },
        { "SGD momentum", () => new SGD([P], momentum: -0.5), "SGD: invalid momentum value: -0.5" },
        { "SGD weight decay", () => new SGD([P], weightDecay: -1), "SGD: invalid weight_decay value: -1" },
        { "SGD nesterov", () => new SGD([P], nesterov: true), "SGD: Nesterov momentum requires a momentum and zero dampening (got momentum 0, dampening 0)" },
        { "SGD nesterov dampening", () => new SGD([P], momentum: 0.9, dampening: 0.1, nesterov: true), "dampening 0.1" },
        { "Adam lr", () => new Adam([P], lr: -1e-3), "Adam: invalid learning rate: -0.001" },
        { "Adam beta1", () => new Adam([P], betas: (1.0, 0.999)), "Adam: invalid beta parameter at index 0: 1 (must be in [0, 1))" },
        { "Adam beta2", () => new Adam([P], betas: (0.9, -0.1)), "Adam: invalid beta parameter at index 1: -0.1" },
        { "Adam eps", () => new Adam([P], eps: -1e-8), "Adam: invalid epsilon value: -1E-08" },
        { "Adam NaN lr", () => new Adam([P], lr: double.NaN), "Adam: invalid learning rate: NaN" },
        { "AdamW weight decay", () => new AdamW([P], weightDecay: -0.01), "AdamW: invalid weight_decay value: -0.01" },
        { "AdamW beta", () => new AdamW([P], betas: (0.9, 1.5)), "AdamW: invalid beta parameter at index 1: 1.5" },
        { "Adagrad lr decay", () => new Adagrad([P], lrDecay: -1), "Adagrad: invalid lr_decay value: -1" },
        { "Adagrad accumulator", () => new Adagrad([P], initialAccumulatorValue: -0.1), "Adagrad: invalid initial_accumulator_value value: -0.1" },
        { "Adagrad eps", () => new Adagrad([P], eps: -1), "Adagrad: invalid epsilon value: -1" },
        { "RMSprop alpha", () => new RMSprop([P], alpha: -0.99), "RMSprop: invalid alpha value: -0.99" },
        { "RMSprop momentum", () => new RMSprop([P], momentum: -0.9), "RMSprop: invalid momentum value: -0.9" },
        { "Adadelta rho", () => new Adadelta([P], rho: 1.5), "Adadelta: invalid rho value: 1.5 (must be in [0, 1])" },
        { "Adadelta lr", () => new Adadelta([P], lr: -1), "Adadelta: invalid learning rate: -1" },
        { "group override", () => new SGD([new ParamGroup([P]), new ParamGroup([Tensor.Zeros([1], requiresGrad: true)]) { ["lr"] = -2 }]),
            "SGD: invalid learning rate: -2 (must be >= 0) (param group 1)" },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void InvalidOption_IsRejected_WithTheOptimizerAndValue(string what, Func<Optimizer> make, string message)
    {
        _ = what;
        var ex = Assert.Throws<ArgumentException>(make);
        Assert.Contains(message, ex.Message);
    }

    [Fact]
    public void AddParamGroup_ChecksTheNewGroupsOptions()
    {
        var adam = new Adam([P]);
        var ex = Assert.Throws<ArgumentException>(() => adam.AddParamGroup(new ParamGroup([Tensor.Zeros([1], requiresGrad: true)]) { ["betas"] = (0.9, 1.0) }));
        Assert.Equal("Adam: invalid beta parameter at index 1: 1 (must be in [0, 1)) (param group 1)", ex.Message);
        Assert.Single(adam.ParamGroups);
    }
}
