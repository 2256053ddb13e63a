using System.Runtime.InteropServices;

namespace MetaGrad.Distributed;

/// <summary>
/// The few MPI calls data-parallel training needs, bound straight to MPICH's C library. MPICH's
/// handles (communicators, datatypes, operations, requests) are plain ints, so every signature is
/// blittable; the values below are MPICH's own (mpich/mpi.h), which Open MPI does not share.
/// </summary>
/// <remarks>
/// Chosen over the MPI.NET package: that one is bound to Microsoft MPI's msmpi.dll (it needs a
/// resolver to reach libmpich.so.12 at all), crashes under Open MPI, and has no non-blocking
/// collectives, which the overlap of all-reduce with backward is made of.
/// </remarks>
internal static unsafe partial class MpiNative
{
    const string Library = "libmpich.so.12";

    public const int Success = 0;
    public const int CommWorld = 0x44000000;
    public const int RequestNull = 0x2c000000;
    public const int ErrorsReturn = 0x54000001;
    public const int ThreadSerialized = 2;
    public const int MaxErrorString = 512;

    public const int Byte = 0x4c00010d;
    public const int Int = 0x4c000405;
    public const int Int64 = 0x4c00083a;
    public const int Float = 0x4c00040a;
    public const int Double = 0x4c00080b;

    public const int OpMax = 0x58000001;
    public const int OpMin = 0x58000002;
    public const int OpSum = 0x58000003;

    /// <summary>MPI_IN_PLACE: ((void *) -1).</summary>
    public static readonly void* InPlace = (void*)-1;
    /// <summary>MPI_STATUS_IGNORE: ((MPI_Status *) 1).</summary>
    public static readonly void* StatusIgnore = (void*)1;

    [LibraryImport(Library)] public static partial int MPI_Initialized(out int flag);
    [LibraryImport(Library)] public static partial int MPI_Finalized(out int flag);
    [LibraryImport(Library)] public static partial int MPI_Init_thread(void* argc, void* argv, int required, out int provided);
    [LibraryImport(Library)] public static partial int MPI_Finalize();
    [LibraryImport(Library)] public static partial int MPI_Abort(int comm, int errorCode);
    [LibraryImport(Library)] public static partial int MPI_Comm_rank(int comm, out int rank);
    [LibraryImport(Library)] public static partial int MPI_Comm_size(int comm, out int size);
    [LibraryImport(Library)] public static partial int MPI_Comm_dup(int comm, out int newComm);
    [LibraryImport(Library)] public static partial int MPI_Comm_free(ref int comm);
    [LibraryImport(Library)] public static partial int MPI_Comm_set_errhandler(int comm, int handler);
    [LibraryImport(Library)] public static partial int MPI_Iallreduce(void* send, void* receive, int count, int datatype, int op, int comm, out int request);
    [LibraryImport(Library)] public static partial int MPI_Ibcast(void* buffer, int count, int datatype, int root, int comm, out int request);
    [LibraryImport(Library)] public static partial int MPI_Iallgather(void* send, int sendCount, int sendType, void* receive, int receiveCount, int receiveType, int comm, out int request);
    [LibraryImport(Library)] public static partial int MPI_Ibarrier(int comm, out int request);
    [LibraryImport(Library)] public static partial int MPI_Test(ref int request, out int flag, void* status);
    [LibraryImport(Library)] public static partial int MPI_Error_string(int code, byte* text, out int length);
    [LibraryImport(Library)] public static partial double MPI_Wtime();

    /// <summary>MPI's own words for an error code.</summary>
    public static string ErrorText(int code)
    {
        var text = stackalloc byte[MaxErrorString];
        return MPI_Error_string(code, text, out int length) == Success ? System.Text.Encoding.ASCII.GetString(text, length) : $"MPI error {code}";
    }

    /// <summary>Throws with the operation's name when an MPI call failed (communicators return errors rather than abort).</summary>
    public static void Check(int code, string operation)
    {
        if (code != Success) throw new DistributedException($"{operation}: {ErrorText(code)}");
    }
}
