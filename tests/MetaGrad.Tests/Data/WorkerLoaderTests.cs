using MetaGrad.Data;

namespace MetaGrad.Tests.Data;

/// <summary>DataLoader with worker threads and with a batch sampler; WeightedRandomSampler; Collate.Fields.</summary>
public class WorkerLoaderTests
{
    /// <summary>Items 0..n-1 as 0-d Int64 tensors, each read taking a different time so workers finish out of order.</summary>
    sealed class Jittery(int n, int failAt = -1) : Dataset<Tensor>
    {
        int _reads;
        public int Reads => Volatile.Read(ref _reads);
        public override int Count => n;
        public override Tensor this[int index]
        {
            get
            {
                Thread.Sleep((index * 7) % 5);   // 0..4 ms, not monotone in the index
                Interlocked.Increment(ref _reads);
                if (index == failAt) throw new InvalidOperationException($"item {index} is corrupt");
                return Tensor.From((long)index);
            }
        }
    }

    static List<long[]> Epoch(IEnumerable<Tensor> loader) => loader.Select(b => b.ToArray<long>()).ToList();

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    public void Workers_GiveTheSameBatchesInTheSameOrderAsNone(int workers)
    {
        var data = new Jittery(37);
        var serial = new DataLoader<Tensor, Tensor>(data, Collate.Stack, batchSize: 3, shuffle: true, generator: new Generator(5), prefetch: 0);
        var parallel = new DataLoader<Tensor, Tensor>(data, Collate.Stack, batchSize: 3, shuffle: true, generator: new Generator(5), numWorkers: workers);
        Assert.Equal(workers, parallel.NumWorkers);
        for (int epoch = 0; epoch < 2; epoch++)
        {
            var expected = Epoch(serial);
            Assert.Equal(13, expected.Count);
            Assert.Equal(expected, Epoch(parallel));
        }
    }

    [Fact]
    public void Workers_ExceptionSurfacesAtTheFailingBatch_AfterTheBatchesBeforeIt()
    {
        var loader = new DataLoader<Tensor, Tensor>(new Jittery(20, failAt: 9), Collate.Stack, batchSize: 4, numWorkers: 3);
        var received = new List<long[]>();
        var ex = Assert.Throws<InvalidOperationException>(() =>
        {
            foreach (var batch in loader) received.Add(batch.ToArray<long>());
        });
        Assert.Equal("item 9 is corrupt", ex.Message);
        Assert.Equal(new[] { new long[] { 0, 1, 2, 3 }, [4, 5, 6, 7] }, received);
    }

    [Fact]
    public void Workers_StayBoundedAheadAndStopWhenDisposed()
    {
        var data = new Jittery(400);
        // 2 workers × prefetch 2: at most 4 batches of 2 items claimed ahead of the consumer (plus the one it holds).
        var loader = new DataLoader<Tensor, Tensor>(data, Collate.Stack, batchSize: 2, prefetch: 2, numWorkers: 2);
        using (var e = loader.GetEnumerator())
        {
            Assert.True(e.MoveNext());
            Thread.Sleep(150);
            Assert.InRange(data.Reads, 2, 2 * (1 + 4 + 1));
        }
        int afterDispose = data.Reads;
        Thread.Sleep(50);
        Assert.Equal(afterDispose, data.Reads);   // no worker runs once Dispose returned
    }

    [Fact]
    public void BatchSampler_ChoosesEveryBatch_AndExcludesTheOtherOptions()
    {
        var data = new Jittery(10);
        int[][] batches = [[3, 1], [0, 9, 8], [5]];
        foreach (int workers in new[] { 0, 2 })
        {
            var loader = new DataLoader<Tensor, Tensor>(data, Collate.Stack, batchSampler: batches, numWorkers: workers);
            Assert.Equal(3, loader.Count);
            Assert.Equal(batches.Select(b => b.Select(i => (long)i).ToArray()), Epoch(loader));
        }
        var sampled = new DataLoader<Tensor, Tensor>(data, Collate.Stack, batchSampler: new BatchSampler(new SequentialSampler(10), 4, dropLast: true));
        Assert.Equal(2, sampled.Count);
        Assert.Equal(new[] { new long[] { 0, 1, 2, 3 }, [4, 5, 6, 7] }, Epoch(sampled));
        var e = Assert.Throws<ArgumentException>(() => new DataLoader<Tensor, Tensor>(data, Collate.Stack, batchSize: 2, batchSampler: batches));
        Assert.Contains("mutually exclusive", e.Message);
        Assert.Throws<ArgumentException>(() => new DataLoader<Tensor, Tensor>(data, Collate.Stack, shuffle: true, batchSampler: batches));
        Assert.Throws<ArgumentException>(() => new DataLoader<Tensor, Tensor>(data, Collate.Stack, numWorkers: -1));
        Assert.Throws<NotSupportedException>(() => new DataLoader<Tensor, Tensor>(data, Collate.Stack, batchSampler: batches.Where(_ => true)).Count);
    }

    [Fact]
    public void WeightedRandomSampler_DrawsInProportionToTheWeights()
    {
        double[] weights = [1, 0, 3, 6];   // probabilities 0.1, 0, 0.3, 0.6
        const int n = 50_000;
        var sampler = new WeightedRandomSampler(weights, n, generator: new Generator(2));
        var draws = sampler.ToArray();
        Assert.Equal(n, draws.Length);
        for (int k = 0; k < 4; k++)
        {
            double p = weights[k] / 10, share = draws.Count(d => d == k) / (double)n;
            double se = Math.Sqrt(p * (1 - p) / n);
            Assert.InRange(share, p - 5 * se - 1e-12, p + 5 * se + 1e-12);
        }
        Assert.NotEqual(draws, sampler.ToArray());   // each pass is a fresh draw
    }

    [Fact]
    public void WeightedRandomSampler_WithoutReplacement_DrawsDistinctNonZeroPositions()
    {
        var sampler = new WeightedRandomSampler([0, 5, 1, 1, 0, 2], 4, replacement: false, generator: new Generator(3));
        var draws = sampler.ToArray();
        Assert.Equal(new[] { 1, 2, 3, 5 }, draws.Order());
        // The heaviest position comes first more often than the others: P(first = 1) = 5/9.
        int first = Enumerable.Range(0, 4000).Count(_ => sampler.First() == 1);
        double se = Math.Sqrt(5.0 / 9 * 4 / 9 / 4000);
        Assert.InRange(first / 4000.0, 5.0 / 9 - 5 * se, 5.0 / 9 + 5 * se);
        Assert.Contains("without replacement", Assert.Throws<ArgumentException>(() => new WeightedRandomSampler([1, 0, 1], 3, replacement: false)).Message);
        Assert.Throws<ArgumentException>(() => new WeightedRandomSampler([1, -1], 1));
        Assert.Throws<ArgumentException>(() => new WeightedRandomSampler([1, 1], 0));
    }

    sealed record Sample(Tensor Image, int Label, double Weight, bool Flag);

    [Fact]
    public void CollateFields_MergesTuplesAndRecordsFieldByField()
    {
        var tuples = new[] { (Tensor.Zeros(2), 3), (Tensor.Ones(2), 7) };
        var batch = Collate.Fields(tuples);
        Assert.Equal(2, batch.Length);
        Check.Shape([2, 2], batch[0]);
        Assert.Equal(new float[] { 0, 0, 1, 1 }, batch[0].ToArray<float>());
        Assert.Equal(DType.Int64, batch[1].DType);
        Assert.Equal(new long[] { 3, 7 }, batch[1].ToArray<long>());

        var records = new[] { new Sample(Tensor.Full([1, 2], 2f), 1, 0.5, true), new Sample(Tensor.Full([1, 2], 4f), 0, 1.5, false) };
        var fields = Collate.Fields(records);
        Check.Shape([2, 1, 2], fields[0]);
        Assert.Equal(new long[] { 1, 0 }, fields[1].ToArray<long>());
        Assert.Equal(DType.Float64, fields[2].DType);
        Assert.Equal(new[] { 0.5, 1.5 }, fields[2].ToArray<double>());
        Assert.Equal(new[] { true, false }, fields[3].ToArray<bool>());

        var loader = new DataLoader<(Tensor, int), Tensor[]>(new ListDataset<(Tensor, int)>(tuples), Collate.Fields, batchSize: 2);
        Assert.Equal(new long[] { 3, 7 }, loader.Single()[1].ToArray<long>());

        var e = Assert.Throws<ArgumentException>(() => Collate.Fields(new[] { (Tensor.Zeros(2), "a") }));
        Assert.Contains("field 1", e.Message);
        e = Assert.Throws<ArgumentException>(() => Collate.Fields(new[] { (Tensor.Zeros(2), 1), (Tensor.Zeros(3), 2) }));
        Assert.Contains("field 0 of the items cannot be stacked", e.Message);
    }

    sealed class ListDataset<T>(IReadOnlyList<T> items) : Dataset<T>
    {
        public override int Count => items.Count;
        public override T this[int index] => items[index];
    }
}
