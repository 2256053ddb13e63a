namespace MetaGrad.Backends.Cpu;

/// <summary>
/// The CPU kernels' parallelism: one setting (public as Tensor.SetNumThreads, like
/// torch.set_num_threads) and one way to split work. Work below each kernel's threshold stays on
/// the calling thread, because handing a small job to another core costs more than it saves.
/// </summary>
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

    /// <summary>Runs body(0..count-1) on up to NumThreads threads, the caller taking a share.</summary>
    internal static void For(int count, Action<int> body)
    {
        if (count == 1 || s_threads == 1)
        {
            for (int i = 0; i < count; i++) body(i);
            return;
        }
        Parallel.For(0, count, new ParallelOptions { MaxDegreeOfParallelism = s_threads }, body);
    }
}
