using MetaGrad.Backends.Cpu;
using System.Runtime.CompilerServices;

namespace MetaGrad.Tests.Backends;

/// <summary>The caching allocator recycles large buffers of dead tensors and never leaks stale values.</summary>
// Alone: the pool is process-wide, and a test running beside this one could rent the very buffer it
// waits for (it failed once in a full run, after more tests of 1 MiB tensors joined the suite).
[Collection(ProcessWideState.Name)]
public class BufferPoolTests
{
    const int Large = 1 << 18;   // 1 MiB of floats: pooled (the pool takes what would go to the large-object heap)

    [MethodImpl(MethodImplOptions.NoInlining)]
    static float[] MakeGarbage(int length = Large)
    {
        var t = Tensor.Full([length], 14.0);      // one rented buffer full of 14s, dead on return
        return ((CpuStorage<float>)t.Storage).Data;
    }

    // After a collection, zeroed tensors of the buffer's length are rented (and kept alive: other
    // dead tensors of this size may come back first) until one is handed the buffer.
    static void AssertComesBack(float[] buffer)
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        var alive = new List<Tensor>();
        for (int i = 0; i < 16 && !alive.Any(t => ReferenceEquals(((CpuStorage<float>)t.Storage).Data, buffer)); i++)
            alive.Add(Tensor.Zeros(buffer.Length));
        Assert.Contains(alive, t => ReferenceEquals(((CpuStorage<float>)t.Storage).Data, buffer));
    }

    [Fact]
    public void DeadTensorsBuffer_IsReusedAndZeroedWhenZerosAreAsked()
    {
        var buffer = MakeGarbage();
        AssertComesBack(buffer);
        Assert.All(buffer, v => Assert.Equal(0f, v));
    }

    [Fact]
    public void AKernelsContiguousCopy_StaysItsOwn_WhenTheKernelRentsItsOutputAfterACollection()
    {
        // A convolution's backward reads a contiguous copy of the expanded gradient of a sum; its
        // input gradient has the same length and is rented after it. Set the pool to collect at that
        // Rent: the copy's storage must survive the collection (the kernel still reads its array),
        // or the input gradient is handed that very array and overwrites each sample's dy before
        // the weight gradient reads it (this failed before kernels held their runs: DenseRun).
        var g = new Generator(8);
        var x = Tensor.Randn([4, 16, 32, 32], generator: g).RequiresGrad_();
        var w = (Tensor.Randn([16, 16, 3, 3], generator: g) * 0.05).RequiresGrad_();
        var y = MetaGrad.NN.Functional.Conv2d(x, w, padding: 1);
        var expected = Autograd.Grad([y], [x, w], [Tensor.Ones(y.Shape.ToArray())], retainGraph: true);
        GC.Collect();
        GC.WaitForPendingFinalizers();
        var pool = typeof(BufferPool<float>);
        var flags = System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Static;
        var free = (System.Collections.IDictionary)pool.GetField("s_free", flags)!.GetValue(null)!;
        lock (free) free.Clear();
        pool.GetField("s_pooledBytes", flags)!.SetValue(null, 0L);
        // One spare buffer of the gradient's length: the copy takes it without a collection, and the
        // input gradient's Rent, finding none, collects (the count is past the mark).
        BufferPool<float>.Return(new float[x.Numel]);
        pool.GetField("s_rentedBytes", flags)!.SetValue(null, 1L << 40);
        var viaSum = Autograd.Grad([y.Sum()], [x, w]);
        Assert.True(viaSum[0]!.AllClose(expected[0]!, 1e-5, 1e-5), "input gradient");
        Assert.True(viaSum[1]!.AllClose(expected[1]!, 1e-5, 1e-5), "weight gradient");
    }

    // Every buffer the runtime would put on the large-object heap (85,000 bytes and more) is pooled:
    // a [256, 10, 10] float tensor (100 KiB, a small attention's scores) was not, and a loop of
    // such operations drove full collections.
    [Theory]
    [InlineData(21_250)]   // 85,000 bytes
    [InlineData(25_600)]   // [256, 10, 10]
    [InlineData(32_767)]   // just under the old 128 KiB floor
    public void BuffersBoundForTheLargeObjectHeap_ArePooled(int length)
    {
        Assert.True(length >= BufferPool<float>.MinLength, $"{length} floats should be pooled");
        AssertComesBack(MakeGarbage(length));
    }

    // Below the large-object heap's threshold the young generation's allocator is cheaper than a lock.
    [Fact]
    public void BuffersForTheYoungGeneration_AreNotPooled() => Assert.True(20_000 < BufferPool<float>.MinLength && 10_000 < BufferPool<double>.MinLength);

    [Fact]
    public void ToArray_IsACopyTheCallerOwns()
    {
        var t = Tensor.Ones(Large) * 3.0;
        var values = t.ToArray<float>();
        values[0] = -1;
        Assert.Equal(3f, t[0].Item<float>());
        Assert.False(ReferenceEquals(values, ((CpuStorage<float>)t.Storage).Data));
    }

    // Batches of varying sequence length rent hundreds of lengths: a full pool drops the lengths
    // rented longest ago, not the ones in use (dropping everything when full did both).
    [Fact]
    public void AFullPool_DropsTheLengthsRentedLongestAgo_AndKeepsTheOnesInUse()
    {
        const int stale = 100_000, inUse = 100_001, newcomer = 200_000;   // sbyte: bytes = length
        long cap = BufferPool<sbyte>.MaxPooledBytes;
        BufferPool<sbyte>.MaxPooledBytes = 1 << 20;
        try
        {
            for (int i = 0; i < 5; i++) BufferPool<sbyte>.Return(new sbyte[stale]);
            for (int i = 0; i < 5; i++) BufferPool<sbyte>.Return(new sbyte[inUse]);
            BufferPool<sbyte>.Return(BufferPool<sbyte>.Rent(inUse, clear: false));   // in use since
            BufferPool<sbyte>.Return(new sbyte[newcomer]);                            // 1.2 MB: over the cap

            Assert.Equal(0, BufferPool<sbyte>.Pooled(stale));
            Assert.Equal(5, BufferPool<sbyte>.Pooled(inUse));
            Assert.Equal(1, BufferPool<sbyte>.Pooled(newcomer));
        }
        finally
        {
            BufferPool<sbyte>.MaxPooledBytes = cap;
        }
    }

    // A buffer whose lease has lived through two full collections (in gen 2, as a step's activations
    // are by the end of the step) and is now garbage: only a full collection gives it back.
    [MethodImpl(MethodImplOptions.NoInlining)]
    static void LeaseThatDiesOld(int length)
    {
        var holder = new List<PoolLease<sbyte>> { new(BufferPool<sbyte>.Rent(length, clear: false)) };
        GC.Collect();
        GC.Collect();
        GC.KeepAlive(holder);
    }

    [Fact]
    public void BuffersThatDiedOld_ComeBack_OnceFreshMemoryPilesUp()
    {
        const int old = 300_001, fresh = 400_001;   // sbyte: bytes = length
        long bar = BufferPool<sbyte>.FullCollectAfterFreshBytes;
        BufferPool<sbyte>.FullCollectAfterFreshBytes = 1 << 20;
        var kept = new List<sbyte[]>();
        try
        {
            while (BufferPool<sbyte>.Pooled(old) > 0) kept.Add(BufferPool<sbyte>.Rent(old, clear: false));
            LeaseThatDiesOld(old);
            long before = BufferPool<sbyte>.FullCollections;
            // Misses of another length, kept alive: fresh memory piles up until the pool asks for a full collection.
            for (int i = 0; i < 64 && BufferPool<sbyte>.FullCollections == before; i++) kept.Add(BufferPool<sbyte>.Rent(fresh, clear: false));
            Assert.Equal(before + 1, BufferPool<sbyte>.FullCollections);
            Assert.Equal(1, BufferPool<sbyte>.Pooled(old));
        }
        finally
        {
            BufferPool<sbyte>.FullCollectAfterFreshBytes = bar;
            GC.KeepAlive(kept);
        }
    }

    [Fact]
    public void AFullCollectionThatGivesNothingBack_DoublesTheWaitForTheNext()
    {
        const int fresh = 400_003;
        long bar = BufferPool<sbyte>.FullCollectAfterFreshBytes;
        BufferPool<sbyte>.FullCollectAfterFreshBytes = 1 << 20;
        var kept = new List<sbyte[]>();
        try
        {
            long before = BufferPool<sbyte>.FullCollections;
            // Misses until the first full collection (after 1 MiB, or more if an earlier one gave nothing back)...
            for (int i = 0; i < 64 && BufferPool<sbyte>.FullCollections == before; i++) kept.Add(BufferPool<sbyte>.Rent(fresh, clear: false));
            Assert.Equal(before + 1, BufferPool<sbyte>.FullCollections);
            // ...which found nothing to give back (everything rented is alive): the next waits for 2 MiB at least.
            int rents = 0;
            while (BufferPool<sbyte>.FullCollections == before + 1 && rents < 64)
            {
                kept.Add(BufferPool<sbyte>.Rent(fresh, clear: false));
                rents++;
            }
            Assert.Equal(before + 2, BufferPool<sbyte>.FullCollections);
            Assert.True(rents * (long)fresh > 2 << 20, $"the second full collection came after {rents} misses of {fresh} bytes");
        }
        finally
        {
            BufferPool<sbyte>.FullCollectAfterFreshBytes = bar;
            GC.KeepAlive(kept);
        }
    }
}
