using MetaGrad.Backends.Cpu;

namespace MetaGrad.Tests.Backends;

/// <summary>The kernels' work splitter: every item once, errors surfaced, nested and concurrent calls safe.</summary>
[Collection(ProcessWideState.Name)]
public class ThreadingTests
{
    [Fact]
    public void For_RunsEveryItemExactlyOnce_ManyJobsInARow()
    {
        for (int job = 0; job < 200; job++)
        {
            int count = 1 + job % 37;
            var hits = new int[count];
            Threading.For(count, i => Interlocked.Increment(ref hits[i]));
            Assert.All(hits, h => Assert.Equal(1, h));
        }
    }

    [Fact]
    public void For_RethrowsAnItemsException_AndStaysUsable()
    {
        var error = Assert.ThrowsAny<Exception>(() => Threading.For(16, i => { if (i == 5) throw new InvalidOperationException("item 5"); }));
        Assert.Contains("item 5", error.ToString());
        int sum = 0;
        Threading.For(10, i => Interlocked.Add(ref sum, i));
        Assert.Equal(45, sum);
    }

    [Fact]
    public async Task For_NestedAndFromSeveralThreads_CompletesEveryItem()
    {
        int total = 0;
        var callers = Enumerable.Range(0, 4).Select(_ => Task.Run(() =>
            Threading.For(8, i => Threading.For(8, j => Interlocked.Increment(ref total))))).ToArray();
        await Task.WhenAll(callers).WaitAsync(TimeSpan.FromSeconds(30));   // a deadlock fails with a TimeoutException
        Assert.Equal(4 * 8 * 8, total);
    }

    [Fact]
    public void For_RethrowsTheItemsOwnException_NotAWrapper()
    {
        using (ThreadScope.Of(2))
        {
            var error = Assert.Throws<InvalidOperationException>(() => Threading.For(16, i => { if (i == 9) throw new InvalidOperationException("item 9"); }));
            Assert.Equal("item 9", error.Message);
        }
    }

    [Fact]
    public void For_RunsOnAtMostNumThreadsThreads_AndOnTheCallerAloneWithOne()
    {
        foreach (int threads in new[] { 1, 2, 3 })
            using (ThreadScope.Of(threads))
            {
                var seen = new System.Collections.Concurrent.ConcurrentDictionary<int, bool>();
                for (int job = 0; job < 20; job++)
                    Threading.For(8, i => { seen[Environment.CurrentManagedThreadId] = true; Thread.SpinWait(2000); });
                Assert.InRange(seen.Count, 1, threads);
                if (threads == 1) Assert.Equal([Environment.CurrentManagedThreadId], seen.Keys);
            }
    }

    [Fact]
    public void For_AfterTheHelpersHaveGoneToSleep_WakesThemAndRunsEveryItem()
    {
        using (ThreadScope.Of(2))
            for (int round = 0; round < 5; round++)
            {
                // Longer than the helpers' spin (1 ms by default), so each job finds them asleep.
                Thread.Sleep(TimeSpan.FromMicroseconds(Threading.SpinMicroseconds) + TimeSpan.FromMilliseconds(5));
                var hits = new int[64];
                Threading.For(hits.Length, i => Interlocked.Increment(ref hits[i]));
                Assert.All(hits, h => Assert.Equal(1, h));
            }
    }

    [Fact]
    public void For_DoesNotKeepTheLastJobsClosureReachable()
    {
        // The team keeps its last job; what the job's body captured (a kernel's arrays, pooled
        // buffers among them) must still become garbage when the call returns.
        using (ThreadScope.Of(2))
        {
            var captured = RunCapturing();
            GC.Collect();
            GC.WaitForPendingFinalizers();
            GC.Collect();
            Assert.False(captured.IsAlive);
        }
    }

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    static WeakReference RunCapturing()
    {
        var array = new int[64];
        Threading.For(8, i => array[i] = i);
        Assert.Equal(7, array[7]);
        return new WeakReference(array);
    }
}
