using MetaGrad.Data;

namespace MetaGrad.Distributed;

/// <summary>
/// Each rank's share of a dataset (torch.utils.data.distributed.DistributedSampler): the positions
/// are shuffled by a seed and the epoch, the same way on every rank, then dealt out in turn, rank r
/// taking positions r, r + N, r + 2N, …, so the shares are disjoint and together cover the data.
/// Unless <c>dropLast</c>, the order is padded with its own first positions up to a multiple of N,
/// so every rank runs the same number of steps; with it, the tail that does not divide evenly is dropped.
/// </summary>
public sealed class DistributedSampler : Sampler
{
    readonly int _count, _numReplicas, _rank;
    readonly bool _shuffle, _dropLast;
    readonly ulong _seed;

    /// <param name="count">Size of the dataset.</param>
    /// <param name="numReplicas">How many ranks share it.</param>
    /// <param name="rank">This rank, 0 to numReplicas-1.</param>
    /// <param name="shuffle">Shuffle by seed and epoch; otherwise in order.</param>
    /// <param name="seed">Must be the same on every rank.</param>
    /// <param name="dropLast">Drop the tail that does not divide evenly instead of padding.</param>
    public DistributedSampler(int count, int numReplicas, int rank, bool shuffle = true, ulong seed = 0, bool dropLast = false)
    {
        if (count < 0) throw new ArgumentException($"DistributedSampler: count must be non-negative, got {count}");
        if (numReplicas <= 0) throw new ArgumentException($"DistributedSampler: numReplicas must be positive, got {numReplicas}");
        if (rank < 0 || rank >= numReplicas) throw new ArgumentException($"DistributedSampler: invalid rank {rank}, rank should be in the interval [0, {numReplicas - 1}]");
        (_count, _numReplicas, _rank, _shuffle, _seed, _dropLast) = (count, numReplicas, rank, shuffle, seed, dropLast);
        // PyTorch's sizes: ceil(count / N) each when padding (or when it divides), else floor.
        Count = dropLast && count % numReplicas != 0 ? (count - numReplicas + numReplicas - 1) / numReplicas : (count + numReplicas - 1) / numReplicas;
        if (Count < 0) Count = 0;
    }

    /// <summary>This rank's share of <paramref name="count"/> positions among the communicator's ranks.</summary>
    public DistributedSampler(int count, Communicator communicator, bool shuffle = true, ulong seed = 0, bool dropLast = false)
        : this(count, communicator.Size, communicator.Rank, shuffle, seed, dropLast) { }

    /// <summary>Positions this rank gets per pass.</summary>
    public override int Count { get; }

    /// <summary>The epoch whose order the next pass uses: call SetEpoch at each epoch's start, or every epoch repeats the first one's order.</summary>
    public int Epoch { get; private set; }

    /// <summary>Sets the epoch that seeds the next pass's shuffle (PyTorch's set_epoch).</summary>
    public void SetEpoch(int epoch) => Epoch = epoch;

    /// <inheritdoc/>
    public override IEnumerator<int> GetEnumerator()
    {
        int total = Count * _numReplicas;
        var order = _shuffle ? Permutation.Random(_count, new Generator(_seed + (ulong)Epoch)) : Enumerable.Range(0, _count).ToArray();
        var padded = new int[total];
        for (int i = 0; i < total; i++) padded[i] = order[i % Math.Max(order.Length, 1)];   // padding repeats the start, as often as needed
        for (int i = _rank; i < total; i += _numReplicas) yield return padded[i];
    }
}
