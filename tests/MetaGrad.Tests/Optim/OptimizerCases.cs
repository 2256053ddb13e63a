using MetaGrad.Optim;

namespace MetaGrad.Tests.Optim;

/// <summary>
/// One configuration of each optimizer with most of its options switched on, paired with the same
/// configuration of its plain-double reference, and the gradients the tests feed them.
/// </summary>
internal static class OptimizerCases
{
    public static readonly string[] Names = ["SGD", "SGD-nesterov", "Adam", "Adam-amsgrad", "AdamW", "Adagrad", "RMSprop", "RMSprop-centered", "Adadelta"];

    public static TheoryData<string> All => new(Names);

    public static Optimizer Make(string name, IEnumerable<ParamGroup> groups) => name switch
    {
        "SGD" => new SGD(groups, lr: 0.05, momentum: 0.9, dampening: 0.1, weightDecay: 0.01),
        "SGD-nesterov" => new SGD(groups, lr: 0.05, momentum: 0.9, weightDecay: 0.01, nesterov: true),
        "Adam" => new Adam(groups, lr: 0.01, weightDecay: 0.01),
        "Adam-amsgrad" => new Adam(groups, lr: 0.01, betas: (0.8, 0.9), amsgrad: true),
        "AdamW" => new AdamW(groups, lr: 0.01, weightDecay: 0.1),
        "Adagrad" => new Adagrad(groups, lr: 0.1, lrDecay: 0.01, weightDecay: 0.01, initialAccumulatorValue: 0.1),
        "RMSprop" => new RMSprop(groups, lr: 0.01, momentum: 0.9, weightDecay: 0.01),
        "RMSprop-centered" => new RMSprop(groups, lr: 0.01, alpha: 0.9, momentum: 0.5, centered: true),
        "Adadelta" => new Adadelta(groups, lr: 1.0, weightDecay: 0.01),
        _ => throw new ArgumentException(name),
    };

    public static Optimizer Make(string name, params Tensor[] parameters) => Make(name, [new ParamGroup(parameters)]);

    public static ReferenceOptimizer Reference(string name, int n) => name switch
    {
        "SGD" => new ReferenceSGD(n, 0.05, 0.9, 0.1, 0.01, nesterov: false, maximize: false),
        "SGD-nesterov" => new ReferenceSGD(n, 0.05, 0.9, 0, 0.01, nesterov: true, maximize: false),
        "Adam" => new ReferenceAdam(n, 0.01, 0.9, 0.999, 1e-8, 0.01, amsgrad: false, maximize: false, decoupled: false),
        "Adam-amsgrad" => new ReferenceAdam(n, 0.01, 0.8, 0.9, 1e-8, 0, amsgrad: true, maximize: false, decoupled: false),
        "AdamW" => new ReferenceAdam(n, 0.01, 0.9, 0.999, 1e-8, 0.1, amsgrad: false, maximize: false, decoupled: true),
        "Adagrad" => new ReferenceAdagrad(n, 0.1, 0.01, 0.01, 0.1, 1e-10, maximize: false),
        "RMSprop" => new ReferenceRMSprop(n, 0.01, 0.99, 1e-8, 0.01, 0.9, centered: false, maximize: false),
        "RMSprop-centered" => new ReferenceRMSprop(n, 0.01, 0.9, 1e-8, 0, 0.5, centered: true, maximize: false),
        "Adadelta" => new ReferenceAdadelta(n, 1.0, 0.9, 1e-6, 0.01, maximize: false),
        _ => throw new ArgumentException(name),
    };

    public static readonly double[] Start = [0.5, -1.25, 2.0, 0.0, -0.3, 1.7];

    /// <summary>
    /// ∇f at step t for f(θ) = Σ(θᵢ - 0.1·i)² plus a wobble in t, so the gradients change size and
    /// sign from step to step the way minibatch gradients do.
    /// </summary>
    public static double[] Gradient(double[] theta, int t) =>
        theta.Select((x, i) => 2 * (x - 0.1 * i) + Math.Sin(0.9 * t + i)).ToArray();

    /// <summary>Sets a parameter's Grad to <see cref="Gradient"/> at its current value, in its dtype and shape.</summary>
    public static void SetGradient(Tensor p, int t) =>
        p.Grad = Tensor.From(Gradient(p.ToArray<double>(), t), p.Shape.ToArray()).To(p.DType);
}
