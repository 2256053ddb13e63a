namespace MetaGrad.Backends.Cpu;

/// <summary>
/// The CPU kernels' parallelism: one setting, like torch.set_num_threads, and one way to split
/// work. Work below each kernel's threshold stays on the calling thread, because handing a small
/// job to another core costs more than it saves.
/// </summary>
public static class Threading
{
    static int s_threads = Environment.ProcessorCount;

    /// <summary>The number of threads kernels may use (default: the number of processors).</summary>
    public static int NumThreads => s_threads;

    /// <summary>Sets the number of threads kernels may use (torch.set_num_threads).</summary>
    public static void SetNumThreads(int threads)
    {
        if (threads < 1) throw new ArgumentOutOfRangeException(nameof(threads), $"SetNumThreads: expected at least 1 thread, got {threads}");
        s_threads = threads;
    }

    // Parallel.For costs tens of microseconds per call (tasks, a partitioner, pool threads that
    // may be asleep), and a GEMM makes two calls per K slice. Kernels instead hand items to a few
    // dedicated threads that spin briefly between jobs before they block, and the caller takes
    // items too; each job's items are claimed from one counter.
    sealed class Job(Action<int> body, int count)
    {
        public readonly Action<int> Body = body;
        public readonly int Count = count;
        public int Next;
        public int Completed;
        public Exception? Error;

        public void Run()
        {
            int i;
            while ((i = Interlocked.Increment(ref Next) - 1) < Count)
            {
                try { Body(i); }
                catch (Exception e) { Interlocked.CompareExchange(ref Error, e, null); }
                Interlocked.Increment(ref Completed);
            }
        }
    }

    static readonly object s_gate = new();
    static readonly SemaphoreSlim s_wake = new(0);
    static volatile Job? s_job;
    static int s_workers;

    /// <summary>Runs body(0..count-1) on up to NumThreads threads, the caller taking a share.</summary>
    internal static void For(int count, Action<int> body)
    {
        if (count <= 1 || s_threads == 1)
        {
            for (int i = 0; i < count; i++) body(i);
            return;
        }
        // A second caller at once (another thread's kernel, or a body that splits again) runs its
        // items itself rather than wait for the workers.
        if (!Monitor.TryEnter(s_gate))
        {
            for (int i = 0; i < count; i++) body(i);
            return;
        }
        try
        {
            int helpers = Math.Min(s_threads - 1, count - 1);
            while (s_workers < helpers) StartWorker();
            var job = new Job(body, count);
            s_job = job;
            s_wake.Release(helpers);
            job.Run();
            var spin = new SpinWait();
            while (Volatile.Read(ref job.Completed) < count) spin.SpinOnce(sleep1Threshold: -1);
            s_job = null;
            if (job.Error is { } error) System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(error);
        }
        finally
        {
            Monitor.Exit(s_gate);
        }
    }

    static void StartWorker()
    {
        s_workers++;
        new Thread(() =>
        {
            while (true)
            {
                // Kernels come in bursts (a GEMM's slices, a layer after a layer): look for the next
                // job a little while before sleeping, since waking a blocked thread takes microseconds.
                if (!s_wake.Wait(0))
                {
                    var spin = new SpinWait();
                    while (spin.Count < 200 && s_job is null) spin.SpinOnce(sleep1Threshold: -1);
                    if (s_job is null) s_wake.Wait();
                }
                s_job?.Run();
            }
        }) { IsBackground = true, Name = $"MetaGrad kernel worker {s_workers}" }.Start();
    }
}
