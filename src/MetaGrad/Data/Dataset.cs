using System.Collections;

namespace MetaGrad.Data;

/// <summary>
/// A map-style data set: a known number of items reached by position (torch.utils.data.Dataset).
/// A <see cref="DataLoader{T, TBatch}"/> picks positions with a sampler and collates the items into batches.
/// </summary>
public abstract class Dataset<T> : IReadOnlyList<T>
{
    /// <summary>Number of items.</summary>
    public abstract int Count { get; }

    /// <summary>The item at <paramref name="index"/> (0 ≤ index &lt; Count).</summary>
    public abstract T this[int index] { get; }

    /// <summary>The items in order.</summary>
    public IEnumerator<T> GetEnumerator()
    {
        for (int i = 0; i < Count; i++) yield return this[i];
    }

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    /// <summary>Throws the error every dataset gives for a position outside 0..Count-1.</summary>
    protected void CheckIndex(int index)
    {
        if ((uint)index >= (uint)Count)
            throw new ArgumentOutOfRangeException(nameof(index), $"{GetType().Name}: index {index} is out of range for a dataset of {Count} items");
    }
}

/// <summary>
/// A stream of items with no random access (torch.utils.data.IterableDataset): a generator, a file
/// read line by line. A DataLoader batches it in the order it yields; it cannot shuffle it.
/// </summary>
public abstract class IterableDataset<T> : IEnumerable<T>
{
    /// <summary>Starts a fresh pass over the items.</summary>
    public abstract IEnumerator<T> GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
}

/// <summary>Operations on datasets that do not belong to one kind of dataset.</summary>
public static class Dataset
{
    /// <summary>
    /// Splits a dataset into non-overlapping random subsets of the given lengths, which must add up
    /// to its Count (torch.utils.data.random_split). The same generator seed gives the same split.
    /// </summary>
    public static Subset<T>[] RandomSplit<T>(Dataset<T> dataset, int[] lengths, Generator? generator = null)
    {
        if (lengths.Any(n => n < 0))
            throw new ArgumentException($"RandomSplit: lengths must be non-negative, got [{string.Join(", ", lengths)}]");
        if (lengths.Sum() != dataset.Count)
            throw new ArgumentException($"RandomSplit: sum of input lengths [{string.Join(", ", lengths)}] does not equal the length of the input dataset ({dataset.Count})");
        var order = Permutation.Random(dataset.Count, generator ?? Generator.Default);
        var parts = new Subset<T>[lengths.Length];
        int start = 0;
        for (int i = 0; i < lengths.Length; i++)
        {
            parts[i] = new Subset<T>(dataset, order[start..(start + lengths[i])]);
            start += lengths[i];
        }
        return parts;
    }

    /// <summary>
    /// Splits by fractions that add up to 1: each part gets floor(fraction × Count) items and the
    /// remainder is dealt one at a time to the parts in order, as PyTorch does.
    /// </summary>
    public static Subset<T>[] RandomSplit<T>(Dataset<T> dataset, double[] fractions, Generator? generator = null)
    {
        if (fractions.Any(f => f < 0 || f > 1) || Math.Abs(fractions.Sum() - 1) > 1e-9)
            throw new ArgumentException($"RandomSplit: fractions must each lie in [0, 1] and add up to 1, got [{string.Join(", ", fractions)}]");
        int n = dataset.Count;
        var lengths = fractions.Select(f => (int)Math.Floor(n * f)).ToArray();
        int remainder = n - lengths.Sum();
        for (int i = 0; i < remainder; i++) lengths[i % lengths.Length]++;
        return RandomSplit(dataset, lengths, generator);
    }
}
