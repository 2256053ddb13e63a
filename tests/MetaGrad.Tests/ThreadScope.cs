using MetaGrad.Backends.Cpu;

namespace MetaGrad.Tests;

/// <summary>
/// Runs a test's block on a given number of threads and restores the count after, even when an
/// assertion throws: <c>using (ThreadScope.Of(3)) { ... }</c>. The count is process-wide: a class that
/// uses this belongs to the <see cref="ProcessWideState"/> collection, which runs alone.
/// </summary>
internal sealed class ThreadScope : IDisposable
{
    readonly int _before = Threading.NumThreads;

    ThreadScope(int threads) => Threading.SetNumThreads(threads);

    public static ThreadScope Of(int threads) => new(threads);

    public void Dispose() => Threading.SetNumThreads(_before);
}
