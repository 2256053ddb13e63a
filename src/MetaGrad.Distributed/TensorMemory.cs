using System.Runtime.InteropServices;
using MetaGrad.Backends.Cpu;

namespace MetaGrad.Distributed;

/// <summary>A contiguous tensor's elements, held still for MPI to read and write, and read as spans for the gradient buckets.</summary>
internal readonly unsafe struct TensorMemory : IDisposable
{
    readonly GCHandle _pin;

    TensorMemory(GCHandle pin, void* address, int mpiType)
    {
        _pin = pin;
        Address = address;
        MpiType = mpiType;
    }

    /// <summary>The first element.</summary>
    public void* Address { get; }

    /// <summary>The MPI datatype of the elements.</summary>
    public int MpiType { get; }

    /// <summary>Pins a tensor's storage; the tensor must be contiguous (a collective moves one flat run of elements).</summary>
    public static TensorMemory Pin(Tensor tensor, string operation)
    {
        if (!tensor.IsContiguous)
            throw new ArgumentException($"{operation}: the tensor must be contiguous (shape {tensor.Shape}); call Contiguous() first and copy the result back");
        var (array, size) = tensor.Storage switch
        {
            CpuStorage<float> s => ((Array)s.Data, sizeof(float)),
            CpuStorage<double> s => (s.Data, sizeof(double)),
            CpuStorage<long> s => (s.Data, sizeof(long)),
            CpuStorage<int> s => (s.Data, sizeof(int)),
            _ => throw new ArgumentException($"{operation}: tensors of dtype {tensor.DType} are not supported; use float32, float64, int64 or int32"),
        };
        var pin = GCHandle.Alloc(array, GCHandleType.Pinned);
        return new TensorMemory(pin, (byte*)pin.AddrOfPinnedObject() + (long)tensor.Layout.Offset * size, MpiTypeOf(tensor.DType, operation));
    }

    /// <summary>The MPI datatype of a dtype's elements.</summary>
    public static int MpiTypeOf(DType dtype, string operation) => dtype switch
    {
        DType.Float32 => MpiNative.Float,
        DType.Float64 => MpiNative.Double,
        DType.Int64 => MpiNative.Int64,
        DType.Int32 => MpiNative.Int,
        _ => throw new ArgumentException($"{operation}: tensors of dtype {dtype} are not supported; use float32, float64, int64 or int32"),
    };

    /// <summary>A contiguous tensor's elements as a span, for copying in and out of a bucket.</summary>
    public static Span<T> Elements<T>(Tensor tensor) where T : unmanaged =>
        ((CpuStorage<T>)tensor.Storage).Data.AsSpan(tensor.Layout.Offset, tensor.Numel);

    public void Dispose()
    {
        if (_pin.IsAllocated) _pin.Free();
    }
}
