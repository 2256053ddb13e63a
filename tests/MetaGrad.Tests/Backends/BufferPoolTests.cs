using MetaGrad.Backends.Cpu;
using System.Runtime.CompilerServices;

namespace MetaGrad.Tests.Backends;

/// <summary>The caching allocator recycles large buffers of dead tensors and never leaks stale values.</summary>
// Alone: the pool is process-wide, and a test running beside this one could rent the very buffer it
// waits for (it failed once in a full run, after more tests of 1 MiB tensors joined the suite).
[Collection(ProcessWideState.Name)]
public class BufferPoolTests
{
    const int Large = 1 << 18;   // 1 MiB of floats: pooled (the pool takes 128 KiB and more)

    [MethodImpl(MethodImplOptions.NoInlining)]
    static float[] MakeGarbage()
    {
        var t = Tensor.Full([Large], 14.0);      // one rented buffer full of 14s, dead on return
        return ((CpuStorage<float>)t.Storage).Data;
    }

    [Fact]
    public void DeadTensorsBuffer_IsReusedAndZeroedWhenZerosAreAsked()
    {
        var buffer = MakeGarbage();
        GC.Collect();
        GC.WaitForPendingFinalizers();
        // Other dead tensors of this size may come back too: keep renting (and keep alive) until ours shows up.
        var alive = new List<Tensor>();
        for (int i = 0; i < 16 && !alive.Any(t => ReferenceEquals(((CpuStorage<float>)t.Storage).Data, buffer)); i++)
            alive.Add(Tensor.Zeros(Large));
        Assert.Contains(alive, t => ReferenceEquals(((CpuStorage<float>)t.Storage).Data, buffer));
        Assert.All(buffer, v => Assert.Equal(0f, v));
    }

    [Fact]
    public void ToArray_IsACopyTheCallerOwns()
    {
        var t = Tensor.Ones(Large) * 3.0;
        var values = t.ToArray<float>();
        values[0] = -1;
        Assert.Equal(3f, t[0].Item<float>());
        Assert.False(ReferenceEquals(values, ((CpuStorage<float>)t.Storage).Data));
    }
}
