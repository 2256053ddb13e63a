using System.Diagnostics;
using System.Runtime.ExceptionServices;

namespace MetaGrad.Backends.Cpu;

/// <summary>
/// The CPU kernels' parallelism: one setting (public as Tensor.SetNumThreads, like
/// torch.set_num_threads) and one way to split work. Work below each kernel's threshold stays on
/// the calling thread, because handing a small job to another core costs more than it saves.
/// </summary>
/// <remarks>
/// The work is shared with a team of our own threads that keep spinning for a while after each
/// job (<see cref="SpinMicroseconds"/>), as OpenMP's threads do under libtorch. Parallel.For hands
/// work to thread-pool workers that go to sleep within microseconds, and waking one costs more than
/// a small job: measured on the Intel Xeon kind (2 vCPUs), a job of two 6.5 µs halves run after
/// 0.5 ms of serial work took a median 40 µs on Parallel.For, the worker joining 1-2 jobs in 100;
/// on the team 7.8 µs, the helper joining 84-94 in 100 (a training step is such jobs between
/// serial stretches). One caller owns the team at a time; a second caller at the same moment
/// (another thread of the program) splits its work on the .NET thread pool as before, and a call
/// made from inside a job runs on its own thread.
/// </remarks>
internal static class Threading
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

    /// <summary>
    /// How long a team thread keeps looking for the next job before it sleeps (default 1000 µs;
    /// <c>METAGRAD_SPIN_US</c> sets it, 0 sleeps at once like the thread pool). Longer keeps the
    /// second core on call through the serial stretches of a training step (an optimizer update,
    /// a small layer) at the price of that core's time when nothing follows.
    /// </summary>
    internal static readonly long SpinMicroseconds =
        long.TryParse(Environment.GetEnvironmentVariable("METAGRAD_SPIN_US"), out var us) && us >= 0 ? us : 1000;

    /// <summary>Runs body(0..count-1) on up to NumThreads threads, the caller taking a share.</summary>
    internal static void For(int count, Action<int> body)
    {
        int threads = s_threads;
        if (count <= 1 || threads == 1 || t_inJob)
        {
            for (int i = 0; i < count; i++) body(i);
            return;
        }
        if (Interlocked.CompareExchange(ref s_owned, 1, 0) != 0)
        {
            try { Parallel.For(0, count, new ParallelOptions { MaxDegreeOfParallelism = threads }, body); }
            catch (AggregateException e) when (e.InnerExceptions.Count > 0) { ExceptionDispatchInfo.Throw(e.InnerExceptions[0]); }   // as the team: the item's own exception
            return;
        }
        Job job;
        try
        {
            job = new Job(body, count, Math.Min(threads, count) - 1);
            Team.Start(job);
            t_inJob = true;
            job.Run();
            job.WaitUntilDone();
            job.Forget();
        }
        finally
        {
            t_inJob = false;
            Volatile.Write(ref s_owned, 0);
        }
        if (job.Error is { } error) ExceptionDispatchInfo.Throw(error);
    }

    // 1 while a caller owns the team.
    static int s_owned;

    // True on a team thread, and on the owner while it runs its share: a call from a job's body
    // runs serially (the other threads are busy with the same job).
    [ThreadStatic] static bool t_inJob;

    /// <summary>One call's items, taken in order by whoever asks next (the caller and the helpers it woke).</summary>
    sealed class Job(Action<int> body, int count, int helpers)
    {
        public readonly int Helpers = helpers;
        int _next, _done;
        public Exception? Error;
        // Dropped when the call returns: the team keeps its last job (and a helper the job it saw),
        // and the closure would otherwise keep the kernel's arrays, pooled buffers among them,
        // reachable until the next call.
        Action<int>? _body = body;

        public void Forget() => _body = null;

        public void Run()
        {
            for (int i; (i = Interlocked.Increment(ref _next) - 1) < count;)
            {
                // After an error the remaining items are counted off unrun, as Parallel.For stops.
                if (Volatile.Read(ref Error) is null)
                {
                    try { _body!(i); }
                    catch (Exception e) { Interlocked.CompareExchange(ref Error, e, null); }
                }
                Interlocked.Increment(ref _done);
            }
        }

        // The caller's own share is done; the helpers' last items may still run. A helper that
        // woke too late to take an item is not waited for: only items count.
        public void WaitUntilDone()
        {
            var spinner = new SpinWait();
            while (Volatile.Read(ref _done) < count) spinner.SpinOnce(sleep1Threshold: -1);
        }
    }

    /// <summary>The helper threads, started on first use and added to when NumThreads grows.</summary>
    static class Team
    {
        static Helper[] s_helpers = [];
        // The latest job: a helper that sees a job it has not seen runs its share of it. A job is a
        // new object each time, so a helper waking late for an old one finds its items taken.
        static Job? s_current;

        public static void Start(Job job)
        {
            if (s_helpers.Length < job.Helpers) Grow(job.Helpers);
            Volatile.Write(ref s_current, job);
            for (int h = 0; h < job.Helpers; h++) s_helpers[h].Wake();
        }

        static void Grow(int helpers)
        {
            var grown = new Helper[helpers];
            s_helpers.CopyTo(grown, 0);
            for (int h = s_helpers.Length; h < helpers; h++) grown[h] = new Helper(h);
            s_helpers = grown;
        }

        sealed class Helper
        {
            readonly int _index;
            readonly SemaphoreSlim _signal = new(0);
            int _asleep;

            public Helper(int index)
            {
                _index = index;
                new Thread(Loop) { IsBackground = true, Name = $"MetaGrad kernel thread {index + 1}" }.Start();
            }

            // Called by the owner after publishing a job. The helper announces it is about to
            // sleep, then looks for a job once more; whichever side clears the flag first
            // decides whether a signal is sent, so a job is never missed and no signal is left over.
            public void Wake()
            {
                if (Interlocked.Exchange(ref _asleep, 0) == 1) _signal.Release();
            }

            void Loop()
            {
                t_inJob = true;
                Job? seen = null;
                long spinTicks = SpinMicroseconds * Stopwatch.Frequency / 1_000_000;
                while (true)
                {
                    long idleSince = Stopwatch.GetTimestamp();
                    Job? job;
                    for (int spins = 1; (job = Volatile.Read(ref s_current)) == seen; spins++)
                    {
                        // One pause per look, no yielding: a thread that yields or sleeps lets the
                        // next job start without it. The clock is read every 1024 looks (tens of µs).
                        Thread.SpinWait(1);
                        if (spins % 1024 == 0 && Stopwatch.GetTimestamp() - idleSince >= spinTicks)
                        {
                            Interlocked.Exchange(ref _asleep, 1);   // a full fence: the look at s_current below must not come before this store
                            if (Volatile.Read(ref s_current) != seen)
                            {
                                // A job came in meanwhile: if the owner already cleared the flag,
                                // it also sent the signal, which is taken here to keep the count at zero.
                                if (Interlocked.Exchange(ref _asleep, 0) == 0) _signal.Wait();
                            }
                            else _signal.Wait();
                            idleSince = Stopwatch.GetTimestamp();
                        }
                    }
                    seen = job;
                    if (job is not null && _index < job.Helpers) job.Run();
                }
            }
        }
    }
}
