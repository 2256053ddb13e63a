using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.InteropServices;

namespace MetaGrad.Distributed;

/// <summary>
/// Gradients of several parameters of one dtype, laid end to end in one pinned buffer so that a
/// single all-reduce carries them all: one large message costs far less than many small ones.
/// </summary>
internal sealed unsafe class GradientBucket
{
    readonly Array _buffer;   // pinned (allocated on the pinned object heap): MPI reads and writes it while the program goes on
    readonly void* _address;

    public GradientBucket(int index, DType dtype, int[] members, int[] offsets, int length)
    {
        (Index, DType, Members, Offsets, Length) = (index, dtype, members, offsets, length);
        _buffer = dtype switch
        {
            DType.Float32 => GC.AllocateArray<float>(length, pinned: true),
            DType.Float64 => GC.AllocateArray<double>(length, pinned: true),
            _ => throw new ArgumentException($"DistributedDataParallel: gradients of dtype {dtype} cannot be averaged; parameters must be float32 or float64"),
        };
        _address = (void*)Marshal.UnsafeAddrOfPinnedArrayElement(_buffer, 0);
    }

    public int Index { get; }
    public DType DType { get; }
    /// <summary>The parameters in the bucket, by their index in the model's parameter list.</summary>
    public int[] Members { get; }
    /// <summary>Where each member's gradient starts in the buffer.</summary>
    public int[] Offsets { get; }
    /// <summary>Elements in the buffer.</summary>
    public int Length { get; }
    public long Bytes => (long)Length * (DType == DType.Float32 ? 4 : 8);

    /// <summary>Members whose gradient has not arrived yet in this iteration.</summary>
    public int Pending;

    /// <summary>The all-reduce in flight, from launch until the iteration finishes.</summary>
    public PendingReduction? Work;

    /// <summary>Copies a member's gradient in, divided by the world size (as PyTorch divides before summing); zeros for none.</summary>
    public void Fill(int slot, Tensor? grad, int numel, int worldSize)
    {
        if (DType == DType.Float32) Fill<float>(slot, grad, numel, worldSize);
        else Fill<double>(slot, grad, numel, worldSize);
    }

    void Fill<T>(int slot, Tensor? grad, int numel, int worldSize) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var target = new Span<T>((T*)_address + Offsets[slot], numel);
        if (grad is null) target.Clear();
        else TensorPrimitives.Divide(TensorMemory.Elements<T>(grad.IsContiguous ? grad : grad.Contiguous()), T.CreateChecked(worldSize), target);
    }

    /// <summary>Writes a member's averaged gradient back into its Grad (in place when Grad is a plain contiguous buffer).</summary>
    public void Unpack(int slot, Tensor parameter)
    {
        if (DType == DType.Float32) Unpack<float>(slot, parameter);
        else Unpack<double>(slot, parameter);
    }

    void Unpack<T>(int slot, Tensor parameter) where T : unmanaged
    {
        var source = new ReadOnlySpan<T>((T*)_address + Offsets[slot], parameter.Numel);
        if (parameter.Grad is { IsContiguous: true } grad && grad.DType == DType && grad.Shape.Equals(parameter.Shape))
        {
            source.CopyTo(TensorMemory.Elements<T>(grad));
            grad.MarkWritten();
        }
        else parameter.Grad = Tensor.From(source.ToArray(), parameter.Shape.ToArray());
    }

    public void Launch(Communicator communicator) =>
        Work = communicator.StartAllReduce(_address, Length, TensorMemory.MpiTypeOf(DType, "DistributedDataParallel"), $"DistributedDataParallel: all-reduce of gradient bucket {Index} ({Length} {DType} elements)");

    /// <summary>
    /// Splits parameters into buckets as PyTorch's DDP does: in reverse order of registration (the
    /// order backward roughly produces their gradients), one dtype per bucket, a bucket closed once it
    /// reaches its cap; the first is capped at 1 MiB so that communication starts early in backward.
    /// </summary>
    public static List<GradientBucket> Assign(IReadOnlyList<Tensor> parameters, long firstCapBytes, long capBytes)
    {
        var buckets = new List<GradientBucket>();
        var open = new Dictionary<DType, (List<int> Members, long Bytes)>();
        var caps = new Dictionary<DType, long>();
        void Close(DType dtype)
        {
            var members = open[dtype].Members;
            var offsets = new int[members.Count];
            int length = 0;
            for (int k = 0; k < members.Count; k++)
            {
                offsets[k] = length;
                length += parameters[members[k]].Numel;
            }
            buckets.Add(new GradientBucket(buckets.Count, dtype, [.. members], offsets, length));
            open.Remove(dtype);
            caps[dtype] = capBytes;
        }
        for (int i = parameters.Count - 1; i >= 0; i--)
        {
            var p = parameters[i];
            if (p.DType is not (DType.Float32 or DType.Float64))
                throw new ArgumentException($"DistributedDataParallel: parameter {i} has dtype {p.DType}; only float32 and float64 gradients can be averaged");
            if (!open.TryGetValue(p.DType, out var bucket)) bucket = ([], 0);
            bucket.Members.Add(i);
            bucket.Bytes += (long)p.Numel * (p.DType == DType.Float32 ? 4 : 8);
            open[p.DType] = bucket;
            if (bucket.Bytes >= caps.GetValueOrDefault(p.DType, firstCapBytes)) Close(p.DType);
        }
        foreach (var dtype in open.Keys.ToArray()) Close(dtype);
        return buckets;
    }
}
