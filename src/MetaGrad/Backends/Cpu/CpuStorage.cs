namespace MetaGrad.Backends.Cpu;

/// <summary>Host memory: a managed array, so plain garbage collection frees it.</summary>
internal sealed class CpuStorage<T> : Storage where T : unmanaged
{
    /// <summary>The elements (never handed to users: a rented buffer goes back to the pool once it is garbage).</summary>
    internal readonly T[] Data;

    /// <summary>Wraps an existing array (no copy).</summary>
    internal CpuStorage(T[] data) : base(Device.Cpu) => Data = data;

    /// <summary>Storage over a buffer from the pool, which gets it back once nothing references the buffer.</summary>
    internal static CpuStorage<T> Rent(int length, bool clear)
    {
        if (length < BufferPool<T>.MinLength)
            return new CpuStorage<T>(clear ? new T[length] : GC.AllocateUninitializedArray<T>(length));
        var array = BufferPool<T>.Rent(length, clear);
        PoolLease<T>.Attach(array);
        return new CpuStorage<T>(array);
    }

    /// <inheritdoc/>
    public override DType DType => DTypeOf<T>.Value;

    /// <inheritdoc/>
    public override int Length => Data.Length;
}
