namespace MetaGrad.Data;

/// <summary>
/// Positions 0..weights.Count-1 drawn with probabilities proportional to the weights (which need
/// not sum to one), numSamples per pass, with or without replacement
/// (torch.utils.data.WeightedRandomSampler); the draws are torch.multinomial's.
/// </summary>
public sealed class WeightedRandomSampler : Sampler
{
    readonly Tensor _weights;
    readonly Generator _generator;

    /// <param name="weights">A non-negative weight per position.</param>
    /// <param name="numSamples">Positions per pass (positive); without replacement at most the number of non-zero weights.</param>
    /// <param name="replacement">Draw independently (repeats allowed), as PyTorch's default.</param>
    /// <param name="generator">Source of randomness; each pass continues its sequence. Defaults to a generator seeded from <see cref="Generator.Default"/> now.</param>
    public WeightedRandomSampler(IReadOnlyList<double> weights, int numSamples, bool replacement = true, Generator? generator = null)
    {
        ArgumentNullException.ThrowIfNull(weights);
        if (numSamples <= 0) throw new ArgumentException($"WeightedRandomSampler: numSamples should be a positive integer value, but got numSamples={numSamples}");
        if (weights.Count == 0) throw new ArgumentException("WeightedRandomSampler: weights must not be empty");
        for (int i = 0; i < weights.Count; i++)
            if (!(weights[i] >= 0) || double.IsInfinity(weights[i]))
                throw new ArgumentException($"WeightedRandomSampler: weights must be finite and non-negative, but weight {i} is {weights[i]}");
        int positive = weights.Count(w => w > 0);
        if (positive == 0) throw new ArgumentException("WeightedRandomSampler: the weights sum to zero");
        if (!replacement && numSamples > positive)
            throw new ArgumentException($"WeightedRandomSampler: cannot draw {numSamples} samples without replacement from {positive} positions of non-zero weight");
        _weights = Tensor.From(weights.ToArray(), [weights.Count]);
        _generator = generator ?? new Generator(Generator.Default.NextUInt64());
        Count = numSamples;
        Replacement = replacement;
    }

    /// <summary>The weights, a Float64 vector.</summary>
    public Tensor Weights => _weights;

    /// <summary>Whether positions may repeat within a pass.</summary>
    public bool Replacement { get; }

    /// <inheritdoc/>
    public override int Count { get; }

    /// <inheritdoc/>
    public override IEnumerator<int> GetEnumerator()
    {
        // Drawn as soon as the pass starts, so the order depends only on how many passes came before.
        var order = _weights.Multinomial(Count, Replacement, _generator).ToArray<long>().Select(i => (int)i).ToArray();
        return ((IEnumerable<int>)order).GetEnumerator();
    }
}
