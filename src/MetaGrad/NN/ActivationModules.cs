using System.Globalization;

namespace MetaGrad.NN;

/// <summary>max(x, 0).</summary>
public sealed class ReLU : Module<Tensor, Tensor>
{
    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) => input.Relu();
}

/// <summary>x for x &gt; 0, slope·x otherwise.</summary>
public sealed class LeakyReLU(double negativeSlope = 0.01) : Module<Tensor, Tensor>
{
    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) => Functional.LeakyRelu(input, negativeSlope);
    /// <inheritdoc/>
    protected override string ExtraRepr() => "negative_slope=" + negativeSlope.ToString(CultureInfo.InvariantCulture);
}

/// <summary>x for x &gt; 0, α(eˣ - 1) otherwise.</summary>
public sealed class ELU(double alpha = 1.0) : Module<Tensor, Tensor>
{
    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) => Functional.Elu(input, alpha);
    /// <inheritdoc/>
    protected override string ExtraRepr() => "alpha=" + alpha.ToString("0.0##", CultureInfo.InvariantCulture);
}

/// <summary>x·Φ(x), exact or with the tanh approximation.</summary>
public sealed class GELU(string approximate = "none") : Module<Tensor, Tensor>
{
    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) => Functional.Gelu(input, approximate);
    /// <inheritdoc/>
    protected override string ExtraRepr() => $"approximate='{approximate}'";
}

/// <summary>The logistic function.</summary>
public sealed class Sigmoid : Module<Tensor, Tensor>
{
    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) => input.Sigmoid();
}

/// <summary>Hyperbolic tangent.</summary>
public sealed class Tanh : Module<Tensor, Tensor>
{
    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) => input.Tanh();
}

/// <summary>x·σ(x) (also called Swish).</summary>
public sealed class SiLU : Module<Tensor, Tensor>
{
    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) => Functional.Silu(input);
}

/// <summary>log(1 + e^(βx))/β.</summary>
public sealed class Softplus(double beta = 1, double threshold = 20) : Module<Tensor, Tensor>
{
    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) => Functional.Softplus(input, beta, threshold);
    /// <inheritdoc/>
    protected override string ExtraRepr() => FormattableString.Invariant($"beta={beta}, threshold={threshold}");
}

/// <summary>Softmax along dim.</summary>
public sealed class Softmax(int dim) : Module<Tensor, Tensor>
{
    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) => input.Softmax(dim);
    /// <inheritdoc/>
    protected override string ExtraRepr() => $"dim={dim}";
}

/// <summary>LogSoftmax along dim.</summary>
public sealed class LogSoftmax(int dim) : Module<Tensor, Tensor>
{
    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) => input.LogSoftmax(dim);
    /// <inheritdoc/>
    protected override string ExtraRepr() => $"dim={dim}";
}
