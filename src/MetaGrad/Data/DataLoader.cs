using System.Collections;

namespace MetaGrad.Data;

/// <summary>
/// Iterates a dataset in batches (torch.utils.data.DataLoader): a sampler picks the positions of
/// each epoch, the items are fetched and merged by the collate function, and a worker thread
/// prepares the next <see cref="Prefetch"/> batches while the model works on the current one.
/// Each enumeration is one epoch; with shuffle each epoch draws a new order from the loader's
/// generator, so the same seed gives the same sequence of epochs.
/// </summary>
/// <remarks>
/// With prefetching, items are read and collated on the worker thread: a dataset that draws random
/// numbers there should use its own <see cref="Generator"/>, since generators are not thread-safe.
/// The epoch's order is drawn on the enumerating thread when the enumeration starts.
/// </remarks>
public class DataLoader<T, TBatch> : IEnumerable<TBatch>
{
    readonly Dataset<T>? _dataset;
    readonly IterableDataset<T>? _stream;
    readonly BatchSampler? _batches;
    readonly Func<IReadOnlyList<T>, TBatch> _collate;

    /// <param name="dataset">The items.</param>
    /// <param name="collate">Merges the items of one batch.</param>
    /// <param name="batchSize">Items per batch.</param>
    /// <param name="shuffle">A new random order every epoch (else the dataset's order).</param>
    /// <param name="dropLast">Drop the last batch when it is smaller than batchSize.</param>
    /// <param name="generator">Draws the shuffled orders; defaults to one seeded from <see cref="Generator.Default"/> when the loader is made.</param>
    /// <param name="sampler">Chooses the positions instead of shuffle or the dataset's order.</param>
    /// <param name="prefetch">Batches prepared ahead on a worker thread; 0 fetches on the enumerating thread.</param>
    public DataLoader(Dataset<T> dataset, Func<IReadOnlyList<T>, TBatch> collate, int batchSize = 1, bool shuffle = false,
        bool dropLast = false, Generator? generator = null, Sampler? sampler = null, int prefetch = 2)
        : this(collate, batchSize, dropLast, prefetch)
    {
        if (sampler is not null && shuffle)
            throw new ArgumentException("DataLoader: sampler option is mutually exclusive with shuffle");
        _dataset = dataset;
        sampler ??= shuffle ? new RandomSampler(dataset.Count, generator: generator) : new SequentialSampler(dataset.Count);
        _batches = new BatchSampler(sampler, batchSize, dropLast);
    }

    /// <param name="dataset">A stream of items, batched in the order it yields them.</param>
    /// <param name="collate">Merges the items of one batch.</param>
    /// <param name="batchSize">Items per batch.</param>
    /// <param name="dropLast">Drop the last batch when it is smaller than batchSize.</param>
    /// <param name="prefetch">Batches prepared ahead on a worker thread; 0 fetches on the enumerating thread.</param>
    public DataLoader(IterableDataset<T> dataset, Func<IReadOnlyList<T>, TBatch> collate, int batchSize = 1, bool dropLast = false, int prefetch = 2)
        : this(collate, batchSize, dropLast, prefetch) => _stream = dataset;

    DataLoader(Func<IReadOnlyList<T>, TBatch> collate, int batchSize, bool dropLast, int prefetch)
    {
        if (batchSize <= 0) throw new ArgumentException($"DataLoader: batchSize should be a positive integer value, but got batchSize={batchSize}");
        if (prefetch < 0) throw new ArgumentException($"DataLoader: prefetch must be non-negative, got {prefetch}");
        _collate = collate;
        BatchSize = batchSize;
        DropLast = dropLast;
        Prefetch = prefetch;
    }

    /// <summary>Items per batch.</summary>
    public int BatchSize { get; }

    /// <summary>Whether a short last batch is dropped.</summary>
    public bool DropLast { get; }

    /// <summary>Batches prepared ahead of the consumer (0: none, no worker thread).</summary>
    public int Prefetch { get; }

    /// <summary>Batches per epoch. Unknown for an iterable dataset, which has no length.</summary>
    public int Count => _batches?.Count
        ?? throw new NotSupportedException("DataLoader: the number of batches of an IterableDataset is unknown until it has been read");

    /// <summary>
    /// Starts an epoch. Dispose the enumerator to stop early (foreach and LINQ do): that stops the
    /// prefetching worker and waits for it.
    /// </summary>
    public IEnumerator<TBatch> GetEnumerator()
    {
        var epoch = _batches is not null ? Fetch(_batches.ToList()) : Stream();
        return Prefetch == 0 ? epoch.GetEnumerator() : new Prefetcher<TBatch>(epoch, Prefetch);
    }

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    // The positions are drawn up front (above) so the generator is only touched on the caller's thread.
    IEnumerable<TBatch> Fetch(List<int[]> batches) =>
        batches.Select(positions => _collate(positions.Select(i => _dataset![i]).ToArray()));

    IEnumerable<TBatch> Stream() =>
        _stream!.Chunk(BatchSize).Where(items => items.Length == BatchSize || !DropLast).Select(items => _collate(items));
}

/// <summary>
/// A DataLoader for rows of tensors (such as a <see cref="TensorDataset"/> or <see cref="Mnist"/>),
/// whose batches stack each field: a batch of (image, label) rows is { images, labels }.
/// </summary>
public sealed class DataLoader : DataLoader<Tensor[], Tensor[]>
{
    /// <inheritdoc cref="DataLoader{T, TBatch}(Dataset{T}, Func{IReadOnlyList{T}, TBatch}, int, bool, bool, Generator?, Sampler?, int)"/>
    public DataLoader(Dataset<Tensor[]> dataset, int batchSize = 1, bool shuffle = false, bool dropLast = false,
        Generator? generator = null, Sampler? sampler = null, int prefetch = 2)
        : base(dataset, Collate.Stack, batchSize, shuffle, dropLast, generator, sampler, prefetch) { }

    /// <inheritdoc cref="DataLoader{T, TBatch}(IterableDataset{T}, Func{IReadOnlyList{T}, TBatch}, int, bool, int)"/>
    public DataLoader(IterableDataset<Tensor[]> dataset, int batchSize = 1, bool dropLast = false, int prefetch = 2)
        : base(dataset, Collate.Stack, batchSize, dropLast, prefetch) { }
}
