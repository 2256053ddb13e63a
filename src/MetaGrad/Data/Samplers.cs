using System.Collections;

namespace MetaGrad.Data;

/// <summary>
/// Chooses the positions a DataLoader reads, one pass per enumeration (torch.utils.data.Sampler).
/// A random sampler draws a fresh order each time it is enumerated.
/// </summary>
public abstract class Sampler : IEnumerable<int>
{
    /// <summary>Positions yielded per pass.</summary>
    public abstract int Count { get; }

    /// <summary>Starts a pass.</summary>
    public abstract IEnumerator<int> GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
}

/// <summary>0, 1, ..., count-1 in order.</summary>
public sealed class SequentialSampler(int count) : Sampler
{
    /// <inheritdoc/>
    public override int Count { get; } = count >= 0 ? count : throw new ArgumentException($"SequentialSampler: count must be non-negative, got {count}");

    /// <inheritdoc/>
    public override IEnumerator<int> GetEnumerator() => Enumerable.Range(0, Count).GetEnumerator();
}

/// <summary>
/// Random positions in 0..count-1: a fresh permutation each pass, or, with replacement,
/// <c>numSamples</c> independent uniform draws (torch.utils.data.RandomSampler).
/// </summary>
public sealed class RandomSampler : Sampler
{
    readonly int _count;
    readonly Generator _generator;

    /// <param name="count">Size of the dataset.</param>
    /// <param name="replacement">Draw positions independently (repeats allowed).</param>
    /// <param name="numSamples">Positions per pass; defaults to count. Only with replacement may it exceed count.</param>
    /// <param name="generator">Source of randomness; each pass continues its sequence. Defaults to a generator seeded from <see cref="Generator.Default"/> now.</param>
    public RandomSampler(int count, bool replacement = false, int? numSamples = null, Generator? generator = null)
    {
        if (count < 0) throw new ArgumentException($"RandomSampler: count must be non-negative, got {count}");
        int samples = numSamples ?? count;
        if (samples < 0) throw new ArgumentException($"RandomSampler: numSamples should be a non-negative integer value, but got numSamples={samples}");
        if (samples > 0 && count == 0) throw new ArgumentException($"RandomSampler: cannot draw {samples} samples from an empty dataset");
        if (!replacement && samples > count)
            throw new ArgumentException($"RandomSampler: numSamples ({samples}) can exceed the dataset size ({count}) only with replacement");
        _count = count;
        Replacement = replacement;
        Count = samples;
        _generator = generator ?? new Generator(Generator.Default.NextUInt64());
    }

    /// <summary>Whether positions may repeat within a pass.</summary>
    public bool Replacement { get; }

    /// <inheritdoc/>
    public override int Count { get; }

    /// <inheritdoc/>
    public override IEnumerator<int> GetEnumerator()
    {
        // Drawn as soon as the pass starts, so the order depends only on how many passes came before.
        var order = Replacement
            ? Enumerable.Range(0, Count).Select(_ => (int)_generator.NextInt64(_count)).ToArray()
            : Permutation.Random(_count, _generator)[..Count];
        return ((IEnumerable<int>)order).GetEnumerator();
    }
}

/// <summary>The given positions in a fresh random order each pass (torch.utils.data.SubsetRandomSampler).</summary>
public sealed class SubsetRandomSampler(IReadOnlyList<int> indices, Generator? generator = null) : Sampler
{
    readonly int[] _indices = indices.ToArray();
    readonly Generator _generator = generator ?? new Generator(Generator.Default.NextUInt64());

    /// <inheritdoc/>
    public override int Count => _indices.Length;

    /// <inheritdoc/>
    public override IEnumerator<int> GetEnumerator()
    {
        var order = Permutation.Random(_indices.Length, _generator).Select(i => _indices[i]).ToArray();
        return ((IEnumerable<int>)order).GetEnumerator();
    }
}

/// <summary>Groups a sampler's positions into batches (torch.utils.data.BatchSampler).</summary>
public sealed class BatchSampler : IEnumerable<int[]>
{
    /// <param name="sampler">Where the positions come from.</param>
    /// <param name="batchSize">Positions per batch.</param>
    /// <param name="dropLast">Drop a last batch smaller than batchSize instead of yielding it.</param>
    public BatchSampler(Sampler sampler, int batchSize, bool dropLast)
    {
        if (batchSize <= 0) throw new ArgumentException($"BatchSampler: batchSize should be a positive integer value, but got batchSize={batchSize}");
        Sampler = sampler;
        BatchSize = batchSize;
        DropLast = dropLast;
    }

    /// <summary>Where the positions come from.</summary>
    public Sampler Sampler { get; }

    /// <summary>Positions per batch.</summary>
    public int BatchSize { get; }

    /// <summary>Whether a short last batch is dropped.</summary>
    public bool DropLast { get; }

    /// <summary>Batches per pass.</summary>
    public int Count => DropLast ? Sampler.Count / BatchSize : (Sampler.Count + BatchSize - 1) / BatchSize;

    /// <summary>Starts a pass (one pass of the sampler).</summary>
    public IEnumerator<int[]> GetEnumerator() =>
        Sampler.Chunk(BatchSize).Where(batch => batch.Length == BatchSize || !DropLast).GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
}

/// <summary>Random orderings of 0..n-1.</summary>
internal static class Permutation
{
    /// <summary>A uniformly random permutation (Fisher–Yates, drawing from the end down).</summary>
    public static int[] Random(int n, Generator generator)
    {
        var p = new int[n];
        for (int i = 0; i < n; i++) p[i] = i;
        lock (generator.Sync)   // once, not once a draw
            for (int i = n - 1; i > 0; i--)
            {
                int j = (int)generator.DrawInt64(i + 1);
                (p[i], p[j]) = (p[j], p[i]);
            }
        return p;
    }
}
