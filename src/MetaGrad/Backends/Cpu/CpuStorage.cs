namespace MetaGrad.Backends.Cpu;

/// <summary>Host memory: a managed array, so plain garbage collection frees it.</summary>
internal sealed class CpuStorage<T> : Storage where T : unmanaged
{
    /// <summary>The elements (never handed to users: a rented buffer goes back to the pool with its storage).</summary>
    internal T[] Data { get; private set; }

    // Keeps a rented buffer out of the pool exactly as long as this storage lives.
    readonly PoolLease<T>? _lease;

    /// <summary>Wraps an existing array (no copy).</summary>
    internal CpuStorage(T[] data) : base(Device.Cpu) => Data = data;

    /// <summary>Storage over a buffer from the pool, which gets it back when this storage is collected.</summary>
    internal static CpuStorage<T> Rent(int length, bool clear)
    {
        if (length < BufferPool<T>.MinLength)
            return new CpuStorage<T>(BufferPool<T>.TryTakeReleased(length, clear) ?? (clear ? new T[length] : GC.AllocateUninitializedArray<T>(length)));
        var array = BufferPool<T>.Rent(length, clear);
        return new CpuStorage<T>(array, new PoolLease<T>(array));
    }

    CpuStorage(T[] data, PoolLease<T> lease) : base(Device.Cpu) => (Data, _lease) = (data, lease);

    /// <inheritdoc/>
    internal override void Release()
    {
        var data = Data;
        if (data.Length == 0) return;
        Data = [];
        // The lease would give the buffer back a second time when this storage is collected.
        if (_lease is not null) GC.SuppressFinalize(_lease);
        BufferPool<T>.Release(data);
    }

    /// <inheritdoc/>
    public override DType DType => DTypeOf<T>.Value;

    /// <inheritdoc/>
    public override int Length => Data.Length;
}
