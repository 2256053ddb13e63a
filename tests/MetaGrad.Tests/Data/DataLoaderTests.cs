using MetaGrad.Data;

namespace MetaGrad.Tests.Data;

public class DataLoaderTests
{
    static TensorDataset Numbers(int n) => new(Tensor.Arange((double)n).Reshape(n, 1), Tensor.Arange((long)n));

    // The labels of each batch of one epoch.
    static List<long[]> Epoch(IEnumerable<Tensor[]> loader) => loader.Select(b => b[1].ToArray<long>()).ToList();

    [Fact]
    public void Batches_StackEachFieldOfTheItems()
    {
        var loader = new DataLoader(Numbers(10), batchSize: 4);
        var batches = loader.ToList();
        Assert.Equal(3, batches.Count);
        Check.Shape([4, 1], batches[0][0]);
        Check.Shape([4], batches[0][1]);
        Check.Values([4f, 5f, 6f, 7f], batches[1][0]);
        Check.Shape([2, 1], batches[2][0]);           // the short last batch is kept
        Assert.Equal(new[] { 8L, 9L }, batches[2][1].ToArray<long>());
    }

    [Theory]
    [InlineData(10, 4, false, 3)]
    [InlineData(10, 4, true, 2)]
    [InlineData(12, 4, true, 3)]
    [InlineData(12, 4, false, 3)]
    [InlineData(3, 4, true, 0)]
    public void Count_IsTheNumberOfBatchesAnEpochYields(int n, int batchSize, bool dropLast, int batches)
    {
        var loader = new DataLoader(Numbers(n), batchSize, shuffle: true, dropLast: dropLast, generator: new Generator(1));
        Assert.Equal(batches, loader.Count);
        var epoch = Epoch(loader);
        Assert.Equal(batches, epoch.Count);
        Assert.All(dropLast ? epoch : epoch.SkipLast(1), b => Assert.Equal(batchSize, b.Length));
        Assert.Equal(dropLast ? batches * batchSize : n, epoch.Sum(b => b.Length));
    }

    [Fact]
    public void Shuffle_SameSeedGivesTheSameBatches_EpochAfterEpoch()
    {
        var a = new DataLoader(Numbers(50), batchSize: 8, shuffle: true, generator: new Generator(42));
        var b = new DataLoader(Numbers(50), batchSize: 8, shuffle: true, generator: new Generator(42));
        for (int epoch = 0; epoch < 3; epoch++)
            Assert.Equal(Epoch(a), Epoch(b));
    }

    [Fact]
    public void Shuffle_EachEpochIsANewPermutation()
    {
        var loader = new DataLoader(Numbers(50), batchSize: 8, shuffle: true, generator: new Generator(42));
        var first = Epoch(loader).SelectMany(b => b).ToArray();
        var second = Epoch(loader).SelectMany(b => b).ToArray();
        Assert.Equal(Enumerable.Range(0, 50).Select(i => (long)i), first.Order());
        Assert.Equal(Enumerable.Range(0, 50).Select(i => (long)i), second.Order());
        Assert.NotEqual(first, second);
        var otherSeed = new DataLoader(Numbers(50), batchSize: 8, shuffle: true, generator: new Generator(43));
        Assert.NotEqual(first, Epoch(otherSeed).SelectMany(b => b));
    }

    [Fact]
    public void WithoutShuffle_EveryEpochIsInOrder()
    {
        var loader = new DataLoader(Numbers(7), batchSize: 3);
        var expected = new[] { new long[] { 0, 1, 2 }, [3, 4, 5], [6] };
        Assert.Equal(expected, Epoch(loader));
        Assert.Equal(expected, Epoch(loader));
    }

    [Fact]
    public void Sampler_ChoosesThePositions_AndExcludesShuffle()
    {
        var loader = new DataLoader(Numbers(10), batchSize: 2, sampler: new SubsetRandomSampler([1, 3, 5], new Generator(0)));
        Assert.Equal(2, loader.Count);
        Assert.Equal(new long[] { 1, 3, 5 }, Epoch(loader).SelectMany(b => b).Order());
        Assert.Contains("mutually exclusive",
            Assert.Throws<ArgumentException>(() => new DataLoader(Numbers(10), shuffle: true, sampler: new SequentialSampler(10))).Message);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    public void Prefetch_GivesTheSameBatchesAsLoadingOnTheCallingThread(int prefetch)
    {
        var sync = new DataLoader(Numbers(100), batchSize: 7, shuffle: true, generator: new Generator(11), prefetch: 0);
        var ahead = new DataLoader(Numbers(100), batchSize: 7, shuffle: true, generator: new Generator(11), prefetch: prefetch);
        for (int epoch = 0; epoch < 2; epoch++)
        {
            var a = sync.ToList();
            var b = ahead.ToList();
            Assert.Equal(a.Count, b.Count);
            for (int i = 0; i < a.Count; i++)
            {
                Assert.Equal(a[i][0].ToArray<float>(), b[i][0].ToArray<float>());
                Assert.Equal(a[i][1].ToArray<long>(), b[i][1].ToArray<long>());
            }
        }
    }

    /// <summary>Items 0..n-1 as 0-d Int64 tensors; counts reads, can fail at one position, can be slow.</summary>
    sealed class Probe(int n, int failAt = -1, int delayMs = 0) : Dataset<Tensor>
    {
        int _reads;
        public int Reads => Volatile.Read(ref _reads);
        public override int Count => n;
        public override Tensor this[int index]
        {
            get
            {
                if (delayMs > 0) Thread.Sleep(delayMs);
                Interlocked.Increment(ref _reads);
                if (index == failAt) throw new InvalidOperationException($"item {index} is corrupt");
                return Tensor.From((long)index);
            }
        }
    }

    static DataLoader<Tensor, Tensor> Loader(Probe probe, int batchSize, int prefetch) =>
        new(probe, Collate.Stack, batchSize, prefetch: prefetch);

    [Theory]
    [InlineData(0)]
    [InlineData(2)]
    public void ExceptionWhileLoading_SurfacesAtTheFailingBatch_AfterTheBatchesBeforeIt(int prefetch)
    {
        var loader = Loader(new Probe(20, failAt: 9), batchSize: 4, prefetch);
        var received = new List<long[]>();
        var ex = Assert.Throws<InvalidOperationException>(() =>
        {
            foreach (var batch in loader) received.Add(batch.ToArray<long>());
        });
        Assert.Equal("item 9 is corrupt", ex.Message);
        Assert.Equal(new[] { new long[] { 0, 1, 2, 3 }, [4, 5, 6, 7] }, received);
        Assert.Contains("Probe", ex.StackTrace);   // the worker's stack, not just the rethrow site
    }

    [Fact]
    public void EnumeratingTwice_GivesTwoFullEpochs()
    {
        var probe = new Probe(10);
        var loader = Loader(probe, batchSize: 3, prefetch: 2);
        Assert.Equal(4, loader.Count());
        Assert.Equal(4, loader.Count());
        Assert.Equal(20, probe.Reads);
    }

    [Fact]
    public void DisposingMidEpoch_StopsTheWorker()
    {
        var probe = new Probe(1000, delayMs: 1);
        var loader = Loader(probe, batchSize: 2, prefetch: 2);
        var e = loader.GetEnumerator();
        Assert.True(e.MoveNext());
        Assert.True(e.MoveNext());
        e.Dispose();
        Assert.False(((Prefetcher<Tensor>)e).WorkerRunning);
        int reads = probe.Reads;
        Thread.Sleep(50);
        Assert.Equal(reads, probe.Reads);                // nothing more is read once Dispose returns
        Assert.InRange(reads, 4, 4 + 2 * 2 + 2);           // the two consumed, two queued, one in progress
        Assert.Throws<ObjectDisposedException>(() => e.MoveNext());
    }

    [Fact]
    public void Prefetch_StaysBoundedAheadOfASlowConsumer()
    {
        var probe = new Probe(1000);
        using var e = Loader(probe, batchSize: 5, prefetch: 3).GetEnumerator();
        Assert.True(e.MoveNext());
        Thread.Sleep(100);
        // One batch consumed, three waiting in the queue, one built and blocked on the full queue.
        Assert.InRange(probe.Reads, 5, 5 * (1 + 3 + 1));
    }

    [Fact]
    public void CustomCollate_BuildsAnyBatchType()
    {
        var loader = new DataLoader<Tensor, long>(new Probe(10), items => items.Sum(t => t.Item<long>()), batchSize: 5);
        Assert.Equal(new long[] { 0 + 1 + 2 + 3 + 4, 5 + 6 + 7 + 8 + 9 }, loader.ToArray());
    }

    [Fact]
    public void DefaultCollate_ExplainsItemsThatCannotBeStacked()
    {
        var ex = Assert.Throws<ArgumentException>(() => Collate.Stack(new[] { new[] { Tensor.Zeros(2), Tensor.Zeros(1) }, [Tensor.Zeros(3), Tensor.Zeros(1)] }));
        Assert.Contains("field 0", ex.Message);
        ex = Assert.Throws<ArgumentException>(() => Collate.Stack(new[] { new[] { Tensor.Zeros(2) }, [Tensor.Zeros(2), Tensor.Zeros(1)] }));
        Assert.Contains("item 0 has 1 and item 1 has 2", ex.Message);
    }

    sealed class Countdown(int n) : IterableDataset<Tensor[]>
    {
        public override IEnumerator<Tensor[]> GetEnumerator()
        {
            for (int i = n - 1; i >= 0; i--) yield return [Tensor.From((long)i)];
        }
    }

    [Theory]
    [InlineData(0)]
    [InlineData(2)]
    public void IterableDataset_IsBatchedInTheOrderItYields(int prefetch)
    {
        var loader = new DataLoader(new Countdown(5), batchSize: 2, prefetch: prefetch);
        Assert.Equal(new[] { new long[] { 4, 3 }, [2, 1], [0] }, Epoch(loader.Select(b => new[] { b[0], b[0] })));
        var dropping = new DataLoader(new Countdown(5), batchSize: 2, dropLast: true, prefetch: prefetch);
        Assert.Equal(2, dropping.Count());
        Assert.Throws<NotSupportedException>(() => loader.Count);
    }
}
