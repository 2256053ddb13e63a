namespace MetaGrad.NN;

/// <summary>
/// Zeroes elements with probability p in training, scaling the rest by 1/(1-p); identity in eval.
/// The masks come from <paramref name="generator"/> when given (a model that owns its generator is
/// reproducible whatever other threads draw), else from <see cref="Generator.Default"/>.
/// </summary>
public sealed class Dropout(double p = 0.5, Generator? generator = null) : Module<Tensor, Tensor>
{
    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) => Functional.Dropout(input, p, Training, generator);
    /// <inheritdoc/>
    protected override string ExtraRepr() => FormattableString.Invariant($"p={p}, inplace=False");
}
