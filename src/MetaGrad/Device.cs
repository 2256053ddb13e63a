using MetaGrad.Backends;
using MetaGrad.Backends.Cpu;

namespace MetaGrad;

/// <summary>
/// Where a tensor's storage lives. Only the CPU exists today; the device owns the backend, so a
/// GPU backend is one more <see cref="IBackend"/> behind this seam and autograd never changes.
/// </summary>
public sealed class Device : IEquatable<Device>
{
    /// <summary>The host CPU.</summary>
    public static readonly Device Cpu = new("cpu", new WideningBackend(CpuBackend.Instance));

    /// <summary>The device kind, as PyTorch prints it ("cpu").</summary>
    public string Type { get; }

    internal IBackend Backend { get; }

    Device(string type, IBackend backend)
    {
        Type = type;
        Backend = backend;
    }

    /// <inheritdoc/>
    public bool Equals(Device? other) => other is not null && other.Type == Type;
    /// <inheritdoc/>
    public override bool Equals(object? obj) => Equals(obj as Device);
    /// <inheritdoc/>
    public override int GetHashCode() => Type.GetHashCode();
    /// <inheritdoc/>
    public override string ToString() => Type;
}
