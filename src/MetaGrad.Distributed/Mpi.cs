namespace MetaGrad.Distributed;

/// <summary>
/// Starting and ending MPI in this process. A program started by <c>mpiexec -n N</c> calls
/// <see cref="Run"/> (or <see cref="Initialize"/>) once and gets the world's communicator: N ranks,
/// each its own process, numbered 0 to N-1.
/// </summary>
public static class Mpi
{
    static Communicator? s_world;
    static readonly object s_gate = new();

    /// <summary>Whether this process was started by an MPI launcher (mpiexec sets PMI_RANK for each rank).</summary>
    public static bool IsLaunched => Environment.GetEnvironmentVariable("PMI_RANK") is not null;

    /// <summary>
    /// Initialises MPI (once per process; MPI cannot be started again after it ends) and returns the
    /// world's communicator. Without a launcher this process is a world of one. From now on an
    /// exception nobody catches ends every rank, not this one alone: see <see cref="Fail"/>.
    /// </summary>
    /// <param name="timeout">How long any collective may wait for the other ranks before it fails (default 10 minutes, PyTorch's NCCL default).</param>
    public static unsafe Communicator Initialize(TimeSpan? timeout = null)
    {
        lock (s_gate)
        {
            if (s_world is not null) return s_world;
            MpiNative.Check(MpiNative.MPI_Finalized(out int finalized), "Mpi.Initialize");
            if (finalized != 0) throw new InvalidOperationException("Mpi.Initialize: MPI has already been finalized in this process and cannot start again");
            MpiNative.Check(MpiNative.MPI_Initialized(out int initialized), "Mpi.Initialize");
            // Serialized: any one thread may call at a time; the training loop's thread is the only caller.
            if (initialized == 0)
                MpiNative.Check(MpiNative.MPI_Init_thread(null, null, MpiNative.ThreadSerialized, out _), "MPI_Init_thread");
            MpiNative.Check(MpiNative.MPI_Comm_set_errhandler(MpiNative.CommWorld, MpiNative.ErrorsReturn), "MPI_Comm_set_errhandler");
            s_world = new Communicator(MpiNative.CommWorld, timeout ?? TimeSpan.FromMinutes(10), owned: false);
            // MPICH's launcher says how many ranks run on this machine.
            if (int.TryParse(Environment.GetEnvironmentVariable("MPI_LOCALNRANKS"), out int local) && local > 1)
                Tensor.SetNumThreads(Math.Max(1, Environment.ProcessorCount / local));
            AppDomain.CurrentDomain.UnhandledException += (_, e) => Fail(e.ExceptionObject as Exception);
            return s_world;
        }
    }

    /// <summary>The world's communicator, once <see cref="Initialize"/> has run.</summary>
    public static Communicator World => s_world ?? throw new InvalidOperationException("Mpi.World: call Mpi.Initialize (or Mpi.Run) first");

    /// <summary>
    /// Runs a rank's program: initialises MPI, calls <paramref name="body"/> with the world, and
    /// finalises. If the body throws, the error is printed with this rank's number and every rank
    /// is aborted, so that the others do not wait for this one forever.
    /// </summary>
    /// <returns>The body's exit code.</returns>
    public static int Run(Func<Communicator, int> body, TimeSpan? timeout = null)
    {
        var world = Initialize(timeout);
        int code;
        try
        {
            code = body(world);
        }
        catch (Exception e)
        {
            Fail(e);
            return 1;   // not reached: Fail ends the process
        }
        Shutdown();
        return code;
    }

    /// <summary>
    /// Ends every rank: prints the error with this rank's number, then MPI_Abort, which makes the
    /// launcher kill the other ranks wherever they are waiting (PyTorch's elastic agent does the same).
    /// </summary>
    public static void Fail(Exception? error)
    {
        var world = s_world;
        string who = world is null ? "rank ?" : $"rank {world.Rank} of {world.Size}";
        Console.Out.Flush();
        Console.Error.WriteLine($"{who} failed: {error}");
        Console.Error.Flush();
        // The launcher forwards a rank's output through its own proxy; an abort at once (another rank's,
        // when several fail together) could kill that proxy with the message still unsent.
        Thread.Sleep(500);
        MpiNative.MPI_Abort(MpiNative.CommWorld, 1);
        Environment.Exit(1);
    }

    /// <summary>Ends MPI in this process (MPI_Finalize): a collective call, after which no communicator works.</summary>
    public static void Shutdown()
    {
        lock (s_gate)
        {
            if (s_world is null) return;
            MpiNative.MPI_Finalized(out int finalized);
            if (finalized == 0) MpiNative.Check(MpiNative.MPI_Finalize(), "MPI_Finalize");
        }
    }
}
