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

    static long s_made;

    /// <summary>
    /// Storages are numbered in the order they are made, so that the backward engine can tell the
    /// gradients a pass made itself (numbered after the pass began) from everything made before it.
    /// </summary>
    internal readonly long Serial = Interlocked.Increment(ref s_made);

    /// <summary>The number of the last storage made so far.</summary>
    internal static long LastSerial => Volatile.Read(ref s_made);

    /// <summary>Creates storage on a device.</summary>
    protected Storage(Device device) => Device = device;

    /// <summary>
    /// Gives the buffer back for reuse now, by an owner that knows nothing else can reach this
    /// storage (the backward engine, for gradients it made and consumed). Any later use of this
    /// storage fails loudly instead of reading a buffer that already holds another tensor.
    /// </summary>
    internal virtual void Release() { }
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
        typeof(T) == typeof(Half) ? DType.Float16 :
        typeof(T) == typeof(BFloat16) ? DType.BFloat16 :
        typeof(T) == typeof(byte) ? DType.UInt8 :
        typeof(T) == typeof(sbyte) ? DType.Int8 :
        typeof(T) == typeof(short) ? DType.Int16 :
        typeof(T) == typeof(ushort) ? DType.UInt16 :
        throw new NotSupportedException($"MetaGrad has no dtype for .NET type {typeof(T).Name}; use float, double, long, int, bool, Half, BFloat16, byte, sbyte, short or ushort");
}
