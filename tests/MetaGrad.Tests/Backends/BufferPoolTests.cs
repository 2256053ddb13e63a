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
    static float[] BufferOfADeadTensor()
    {
        var t = Tensor.Full([Large], 14.0);      // one rented buffer full of 14s, dead on return
        return ((CpuStorage<float>)t.Storage).Data;
    }

    // The buffer of a dead tensor, held only through a reference that survives its lease's finalizer.
    [MethodImpl(MethodImplOptions.NoInlining)]
    static WeakReference<float[]> Garbage() => new(BufferOfADeadTensor(), trackResurrection: true);

    static void Collect()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
    }

    [Fact]
    public void DeadTensorsBuffer_IsReusedAndZeroedWhenZerosAreAsked()
    {
        var buffer = Garbage();
        Collect();
        // Other dead tensors of this size may come back too: keep renting (and keep alive) until ours shows up.
        var alive = new List<Tensor>();
        bool Ours(Tensor t) => buffer.TryGetTarget(out var b) && ReferenceEquals(((CpuStorage<float>)t.Storage).Data, b);
        for (int i = 0; i < 16 && !alive.Any(Ours); i++)
            alive.Add(Tensor.Zeros(Large));
        var reused = Assert.Single(alive, Ours);
        Assert.All(reused.ToArray<float>(), v => Assert.Equal(0f, v));
    }

    [Fact]
    public void ABufferStillReferenced_IsNotHandedOutAgain_AfterItsTensorDies()
    {
        // A kernel holds a temporary's raw array (a contiguous copy of its input) after the
        // temporary tensor is gone: the array must not go back to the pool while it is read.
        var held = BufferOfADeadTensor();
        Collect();
        var rented = Enumerable.Range(0, 16).Select(_ => Tensor.Zeros(Large)).ToList();
        Assert.DoesNotContain(rented, t => ReferenceEquals(((CpuStorage<float>)t.Storage).Data, held));
        Assert.All(held, v => Assert.Equal(14f, v));
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
