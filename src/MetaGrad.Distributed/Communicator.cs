using System.Diagnostics;

namespace MetaGrad.Distributed;

/// <summary>How an all-reduce combines the ranks' values.</summary>
public enum ReduceOp
{
    /// <summary>The sum over ranks.</summary>
    Sum,
    /// <summary>The largest value over ranks.</summary>
    Max,
    /// <summary>The smallest value over ranks.</summary>
    Min,
}

/// <summary>
/// A group of ranks that take part in collectives together (an MPI communicator; PyTorch's process
/// group). Every rank of the group must make the same collective calls in the same order. Each call
/// waits at most <see cref="Timeout"/> for the others and then throws, so a lost rank cannot hang
/// the rest; with mpiexec, a rank that dies takes the others down sooner (the launcher kills them).
/// </summary>
public sealed unsafe class Communicator : IDisposable
{
    int _handle;
    readonly bool _owned;
    readonly Communicator? _parent;
    TimeSpan? _timeout;

    internal Communicator(int handle, TimeSpan? timeout, bool owned, Communicator? parent = null)
    {
        _handle = handle;
        _owned = owned;
        _parent = parent;
        _timeout = timeout;
        MpiNative.Check(MpiNative.MPI_Comm_rank(handle, out int rank), "MPI_Comm_rank");
        MpiNative.Check(MpiNative.MPI_Comm_size(handle, out int size), "MPI_Comm_size");
        (Rank, Size) = (rank, size);
    }

    /// <summary>This process's number in the group, 0 to Size-1.</summary>
    public int Rank { get; }

    /// <summary>How many ranks the group has (PyTorch's world size).</summary>
    public int Size { get; }

    /// <summary>Whether this is rank 0, the one that logs, shows progress and writes checkpoints.</summary>
    public bool IsMain => Rank == 0;

    /// <summary>How long a collective waits for the other ranks before it throws; a duplicate follows its original's unless set.</summary>
    public TimeSpan Timeout
    {
        get => _timeout ?? _parent?.Timeout ?? TimeSpan.FromMinutes(10);
        set => _timeout = value;
    }

    internal int Handle => _handle != 0 ? _handle : throw new ObjectDisposedException(nameof(Communicator));

    /// <summary>
    /// A new communicator over the same ranks whose collectives never mix with this one's (MPI_Comm_dup):
    /// a library's own traffic, such as gradient buckets, kept apart from the user's. Collective.
    /// </summary>
    public Communicator Duplicate()
    {
        MpiNative.Check(MpiNative.MPI_Comm_dup(Handle, out int copy), "MPI_Comm_dup");
        MpiNative.Check(MpiNative.MPI_Comm_set_errhandler(copy, MpiNative.ErrorsReturn), "MPI_Comm_set_errhandler");
        return new Communicator(copy, null, owned: true, parent: this);
    }

    /// <summary>Waits until every rank has reached this call.</summary>
    public void Barrier()
    {
        MpiNative.Check(MpiNative.MPI_Ibarrier(Handle, out int request), "Barrier");
        Wait(ref request, "Barrier");
    }

    /// <summary>Writes a line on rank 0 only (the other ranks' copies of the same line are not wanted).</summary>
    public void Print(string line)
    {
        if (IsMain) Console.WriteLine(line);
    }

    /// <summary>Replaces <paramref name="tensor"/>'s elements, in place, by their sum (or max, min) over the ranks.</summary>
    public void AllReduce(Tensor tensor, ReduceOp op = ReduceOp.Sum)
    {
        using (var elements = TensorMemory.Pin(tensor, "AllReduce"))
        {
            MpiNative.Check(MpiNative.MPI_Iallreduce(MpiNative.InPlace, elements.Address, tensor.Numel, elements.MpiType, Op(op), Handle, out int request), "AllReduce");
            Wait(ref request, $"AllReduce of {tensor.Numel} {tensor.DType} elements");
        }
        tensor.MarkWritten();
    }

    /// <summary>Copies rank <paramref name="root"/>'s elements of <paramref name="tensor"/> into every other rank's, in place.</summary>
    public void Broadcast(Tensor tensor, int root = 0)
    {
        if (root < 0 || root >= Size) throw new ArgumentOutOfRangeException(nameof(root), $"Broadcast: root {root} is not a rank of a group of {Size}");
        using (var elements = TensorMemory.Pin(tensor, "Broadcast"))
        {
            MpiNative.Check(MpiNative.MPI_Ibcast(elements.Address, tensor.Numel, elements.MpiType, root, Handle, out int request), "Broadcast");
            Wait(ref request, $"Broadcast of {tensor.Numel} {tensor.DType} elements from rank {root}");
        }
        tensor.MarkWritten();
    }

    /// <summary>Every rank's <paramref name="tensor"/>, stacked in rank order: a new tensor of shape [Size, ...tensor's shape].</summary>
    public Tensor AllGather(Tensor tensor)
    {
        var result = Tensor.Zeros([Size, .. tensor.Shape.ToArray()], tensor.DType);
        using (var source = TensorMemory.Pin(tensor, "AllGather"))
        using (var target = TensorMemory.Pin(result, "AllGather"))
        {
            MpiNative.Check(MpiNative.MPI_Iallgather(source.Address, tensor.Numel, source.MpiType, target.Address, tensor.Numel, source.MpiType, Handle,
                out int request), "AllGather");
            Wait(ref request, $"AllGather of {tensor.Numel} {tensor.DType} elements");
        }
        return result;
    }

    /// <summary>Sums (or maxes) longs over the ranks: counts, flags and shapes for checks that the ranks agree.</summary>
    internal long[] AllReduce(long[] values, ReduceOp op, string what)
    {
        var copy = (long[])values.Clone();
        fixed (long* data = copy)
        {
            MpiNative.Check(MpiNative.MPI_Iallreduce(MpiNative.InPlace, data, copy.Length, MpiNative.Int64, Op(op), Handle, out int request), what);
            Wait(ref request, what);
        }
        return copy;
    }

    /// <summary>Rank root's longs on every rank; every rank passes an array of the same length.</summary>
    internal void Broadcast(long[] values, int root, string what)
    {
        fixed (long* data = values)
        {
            MpiNative.Check(MpiNative.MPI_Ibcast(data, values.Length, MpiNative.Int64, root, Handle, out int request), what);
            Wait(ref request, what);
        }
    }

    /// <summary>Rank root's bytes on every rank; every rank passes an array of the same length.</summary>
    internal void Broadcast(byte[] values, int root, string what)
    {
        fixed (byte* data = values)
        {
            MpiNative.Check(MpiNative.MPI_Ibcast(data, values.Length, MpiNative.Byte, root, Handle, out int request), what);
            Wait(ref request, what);
        }
    }

    /// <summary>Starts an all-reduce (sum) over memory that stays put until it completes: pinned or native.</summary>
    internal PendingReduction StartAllReduce(void* data, int count, int mpiType, string what)
    {
        MpiNative.Check(MpiNative.MPI_Iallreduce(MpiNative.InPlace, data, count, mpiType, MpiNative.OpSum, Handle, out int request), what);
        return new PendingReduction(this, request, what);
    }

    static int Op(ReduceOp op) => op switch
    {
        ReduceOp.Sum => MpiNative.OpSum,
        ReduceOp.Max => MpiNative.OpMax,
        ReduceOp.Min => MpiNative.OpMin,
        _ => throw new ArgumentOutOfRangeException(nameof(op), $"ReduceOp {op} is not supported"),
    };

    /// <summary>Whether a request has completed, driving MPI's progress (MPICH moves data only inside MPI calls).</summary>
    internal static bool Test(ref int request, string what)
    {
        if (request == MpiNative.RequestNull) return true;
        MpiNative.Check(MpiNative.MPI_Test(ref request, out int done, MpiNative.StatusIgnore), what);
        return done != 0;
    }

    /// <summary>
    /// Waits for a request by polling, yielding the core between polls (a rank on a shared core would
    /// otherwise spin against the one it waits for), and fails after <see cref="Timeout"/>.
    /// </summary>
    internal void Wait(ref int request, string what)
    {
        var clock = Stopwatch.StartNew();
        for (int spins = 0; !Test(ref request, what); spins++)
        {
            if (spins < 64) continue;
            if (clock.Elapsed > Timeout)
                throw new DistributedException($"{what}: rank {Rank} of {Size} waited {Timeout.TotalSeconds:0.#} s for the other ranks; one of them has probably failed or is stuck");
            Thread.Yield();
        }
    }

    /// <summary>Frees a communicator made by <see cref="Duplicate"/> (the world's stays). Collective.</summary>
    public void Dispose()
    {
        if (_owned && _handle != 0)
        {
            MpiNative.MPI_Finalized(out int finalized);
            if (finalized == 0) MpiNative.MPI_Comm_free(ref _handle);
        }
        _handle = 0;
    }
}

/// <summary>An all-reduce in flight: tested to drive progress, waited for when its result is needed.</summary>
internal sealed class PendingReduction(Communicator communicator, int request, string what)
{
    int _request = request;

    public bool Test() => Communicator.Test(ref _request, what);

    public void Wait() => communicator.Wait(ref _request, what);
}
