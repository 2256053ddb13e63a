namespace MetaGrad.NN;

/// <summary>Zeroes elements with probability p in training, scaling the rest by 1/(1-p); identity in eval.</summary>
public sealed class Dropout(double p = 0.5) : Module<Tensor, Tensor>
{
    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) => Functional.Dropout(input, p, Training);
    /// <inheritdoc/>
    protected override string ExtraRepr() => FormattableString.Invariant($"p={p}, inplace=False");
}
