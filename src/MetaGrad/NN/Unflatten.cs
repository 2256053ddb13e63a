namespace MetaGrad.NN;

/// <summary>Splits dim <c>dim</c> into the given sizes (torch.nn.Unflatten), undoing a <see cref="Flatten"/>.</summary>
public sealed class Unflatten : Module<Tensor, Tensor>
{
    readonly int _dim;
    readonly int[] _sizes;

    /// <summary>An unflatten of dim into sizes (one size may be -1, inferred).</summary>
    public Unflatten(int dim, params int[] sizes)
    {
        ArgumentNullException.ThrowIfNull(sizes);
        if (sizes.Length == 0) throw new ArgumentException("Unflatten: unflattened_size must be non-empty");
        _dim = dim;
        _sizes = (int[])sizes.Clone();
    }

    /// <summary>The dim that is split.</summary>
    public int Dim => _dim;

    /// <summary>The sizes it is split into.</summary>
    public IReadOnlyList<int> UnflattenedSize => _sizes;

    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) => input.Unflatten(_dim, _sizes);

    /// <inheritdoc/>
    protected override string ExtraRepr() => $"dim={_dim}, unflattened_size=({string.Join(", ", _sizes)}{(_sizes.Length == 1 ? "," : "")})";
}
