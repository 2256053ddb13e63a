using System.Collections;

namespace MetaGrad.Data;

/// <summary>
/// Iterates a dataset in batches (torch.utils.data.DataLoader): a sampler picks the positions of
/// each epoch, the items are fetched and merged by the collate function, and a worker thread
/// prepares the next <see cref="Prefetch"/> batches while the model works on the current one (or
/// <see cref="NumWorkers"/> threads prepare batches side by side, handed over in order).
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
    readonly IEnumerable<int[]>? _batches;
    readonly Func<IReadOnlyList<T>, TBatch> _collate;

    /// <param name="dataset">The items.</param>
    /// <param name="collate">Merges the items of one batch.</param>
    /// <param name="batchSize">Items per batch.</param>
    /// <param name="shuffle">A new random order every epoch (else the dataset's order).</param>
    /// <param name="dropLast">Drop the last batch when it is smaller than batchSize.</param>
    /// <param name="generator">Draws the shuffled orders; defaults to one seeded from <see cref="Generator.Default"/> when the loader is made.</param>
    /// <param name="sampler">Chooses the positions instead of shuffle or the dataset's order.</param>
    /// <param name="prefetch">Batches prepared ahead on a worker thread; 0 fetches on the enumerating thread. With workers, batches prepared ahead per worker.</param>
    /// <param name="batchSampler">
    /// The positions of every batch, one array a batch (such as a <see cref="BatchSampler"/>), instead
    /// of batchSize, shuffle, sampler and dropLast; enumerated once per epoch.
    /// </param>
    /// <param name="numWorkers">
    /// Threads that fetch and collate batches side by side (0: the prefetching thread alone). The
    /// batches arrive in the same order, with the same contents, as with 0 workers.
    /// </param>
    public DataLoader(Dataset<T> dataset, Func<IReadOnlyList<T>, TBatch> collate, int batchSize = 1, bool shuffle = false,
        bool dropLast = false, Generator? generator = null, Sampler? sampler = null, int prefetch = 2,
        IEnumerable<int[]>? batchSampler = null, int numWorkers = 0)
        : this(collate, batchSize, dropLast, prefetch)
    {
        if (sampler is not null && shuffle)
            throw new ArgumentException("DataLoader: sampler option is mutually exclusive with shuffle");
        if (batchSampler is not null && (batchSize != 1 || shuffle || sampler is not null || dropLast))
            throw new ArgumentException("DataLoader: batchSampler option is mutually exclusive with batchSize, shuffle, sampler, and dropLast");
        if (numWorkers < 0)
            throw new ArgumentException($"DataLoader: numWorkers option should be non-negative; use numWorkers=0 to disable multiprocessing (got {numWorkers})");
        _dataset = dataset;
        NumWorkers = numWorkers;
        if (batchSampler is not null)
        {
            _batches = batchSampler;
            return;
        }
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

    /// <summary>Threads that prepare batches side by side (0: none beyond the prefetching one).</summary>
    public int NumWorkers { get; }

    /// <summary>Batches per epoch. Unknown for an iterable dataset, which has no length, and for a batch sampler that does not know its count.</summary>
    public int Count => _batches switch
    {
        null => throw new NotSupportedException("DataLoader: the number of batches of an IterableDataset is unknown until it has been read"),
        BatchSampler b => b.Count,
        var b when b.TryGetNonEnumeratedCount(out int n) => n,
        _ => throw new NotSupportedException("DataLoader: the batch sampler does not know how many batches it yields (give it a Count, as BatchSampler and collections have)"),
    };

    /// <summary>
    /// Starts an epoch. Dispose the enumerator to stop early (foreach and LINQ do): that stops the
    /// prefetching worker and waits for it.
    /// </summary>
    public IEnumerator<TBatch> GetEnumerator()
    {
        if (_batches is not null && NumWorkers > 0)
        {
            // Positions drawn here, on the caller's thread; each worker then only reads and collates.
            var positions = _batches.ToList();
            return new WorkerPool<TBatch>(positions.Count, k => Batch(positions[k]), NumWorkers, Math.Max(Prefetch, 1) * NumWorkers);
        }
        var epoch = _batches is not null ? Fetch(_batches.ToList()) : Stream();
        return Prefetch == 0 ? epoch.GetEnumerator() : new Prefetcher<TBatch>(epoch, Prefetch);
    }

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    // The positions are drawn up front (above) so the generator is only touched on the caller's thread.
    IEnumerable<TBatch> Fetch(List<int[]> batches) => batches.Select(Batch);

    TBatch Batch(int[] positions) => _collate(positions.Select(i => _dataset![i]).ToArray());

    IEnumerable<TBatch> Stream() =>
        _stream!.Chunk(BatchSize).Where(items => items.Length == BatchSize || !DropLast).Select(items => _collate(items));
}

/// <summary>
/// A DataLoader for rows of tensors (such as a <see cref="TensorDataset"/> or <see cref="Mnist"/>),
/// whose batches stack each field: a batch of (image, label) rows is { images, labels }.
/// </summary>
public sealed class DataLoader : DataLoader<Tensor[], Tensor[]>
{
    /// <inheritdoc cref="DataLoader{T, TBatch}(Dataset{T}, Func{IReadOnlyList{T}, TBatch}, int, bool, bool, Generator?, Sampler?, int, IEnumerable{int[]}?, int)"/>
    public DataLoader(Dataset<Tensor[]> dataset, int batchSize = 1, bool shuffle = false, bool dropLast = false,
        Generator? generator = null, Sampler? sampler = null, int prefetch = 2, IEnumerable<int[]>? batchSampler = null, int numWorkers = 0)
        : base(dataset, Collate.Stack, batchSize, shuffle, dropLast, generator, sampler, prefetch, batchSampler, numWorkers) { }

    /// <inheritdoc cref="DataLoader{T, TBatch}(IterableDataset{T}, Func{IReadOnlyList{T}, TBatch}, int, bool, int)"/>
    public DataLoader(IterableDataset<Tensor[]> dataset, int batchSize = 1, bool dropLast = false, int prefetch = 2)
        : base(dataset, Collate.Stack, batchSize, dropLast, prefetch) { }
}
