namespace MetaGrad;

/// <summary>
/// A flat buffer of elements shared by a tensor and all its views. It carries the version counter
/// that autograd uses to catch in-place changes to tensors that a backward pass still needs.
/// </summary>
public abstract class Storage
{
    /// <summary>Element type.</summary>
    public abstract DType DType { get; }

    /// <summary>Number of elements in the buffer.</summary>
    public abstract int Length { get; }

    /// <summary>The device whose backend owns this buffer.</summary>
    public Device Device { get; }

    /// <summary>Bumped by every in-place write; saved tensors remember the value they saw.</summary>
    internal int Version;

    /// <summary>Creates storage on a device.</summary>
    protected Storage(Device device) => Device = device;
}

/// <summary>Host memory: a managed array, so plain garbage collection frees it.</summary>
public sealed class CpuStorage<T> : Storage where T : unmanaged
{
    /// <summary>The elements (never handed to users: a rented buffer goes back to the pool with its storage).</summary>
    internal readonly T[] Data;

    // Keeps a rented buffer out of the pool exactly as long as this storage lives.
    readonly Backends.Cpu.PoolLease<T>? _lease;

    /// <summary>Wraps an existing array (no copy).</summary>
    internal CpuStorage(T[] data) : base(Device.Cpu) => Data = data;

    /// <summary>Storage over a buffer from the pool, which gets it back when this storage is collected.</summary>
    internal static CpuStorage<T> Rent(int length, bool clear)
    {
        if (length < Backends.Cpu.BufferPool<T>.MinLength)
            return new CpuStorage<T>(clear ? new T[length] : GC.AllocateUninitializedArray<T>(length));
        var array = Backends.Cpu.BufferPool<T>.Rent(length, clear);
        return new CpuStorage<T>(array, new Backends.Cpu.PoolLease<T>(array));
    }

    CpuStorage(T[] data, Backends.Cpu.PoolLease<T> lease) : base(Device.Cpu) => (Data, _lease) = (data, lease);

    /// <inheritdoc/>
    public override DType DType => DTypeOf<T>.Value;

    /// <inheritdoc/>
    public override int Length => Data.Length;
}

/// <summary>Maps a .NET element type to its dtype once per type.</summary>
internal static class DTypeOf<T>
{
    internal static readonly DType Value =
        typeof(T) == typeof(float) ? DType.Float32 :
        typeof(T) == typeof(double) ? DType.Float64 :
        typeof(T) == typeof(long) ? DType.Int64 :
        typeof(T) == typeof(int) ? DType.Int32 :
        typeof(T) == typeof(bool) ? DType.Bool :
        throw new NotSupportedException($"MetaGrad has no dtype for .NET type {typeof(T).Name}; use float, double, long, int or bool");
}
