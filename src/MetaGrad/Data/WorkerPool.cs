using System.Collections;

namespace MetaGrad.Data;

/// <summary>
/// Computes jobs 0..count-1 on several worker threads and hands the results to the consumer in job
/// order, whichever worker finishes first: the DataLoader's numWorkers. Workers claim jobs in order
/// and stay at most <c>capacity</c> jobs ahead of the consumer. A job's exception reaches the
/// consumer at that job's place. Disposing stops the workers and waits for them.
/// </summary>
internal sealed class WorkerPool<T> : IEnumerator<T>
{
    readonly Func<int, T> _job;
    readonly int _count;
    readonly TaskCompletionSource<T>[] _results;
    readonly SemaphoreSlim _window;   // free places ahead of the consumer
    readonly CancellationTokenSource _stop = new();
    readonly Task[] _workers;
    int _claimed = -1;   // the last job a worker took (Interlocked)
    int _next;           // the consumer's next job
    T _current = default!;
    bool _disposed;

    public WorkerPool(int count, Func<int, T> job, int workers, int capacity)
    {
        _job = job;
        _count = count;
        _results = new TaskCompletionSource<T>[count];
        for (int i = 0; i < count; i++) _results[i] = new TaskCompletionSource<T>(TaskCreationOptions.RunContinuationsAsynchronously);
        _window = new SemaphoreSlim(Math.Max(capacity, workers));
        // Dedicated threads: a worker blocks on a full window and should not hold a pool thread.
        _workers = Enumerable.Range(0, workers)
            .Select(_ => Task.Factory.StartNew(Work, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default))
            .ToArray();
    }

    void Work()
    {
        var token = _stop.Token;
        while (true)
        {
            try
            {
                _window.Wait(token);
            }
            catch (OperationCanceledException)
            {
                return;   // disposed by the consumer
            }
            int j = Interlocked.Increment(ref _claimed);
            if (j >= _count) return;
            try
            {
                _results[j].SetResult(_job(j));
            }
            catch (Exception e)
            {
                _results[j].SetException(e);
            }
        }
    }

    public T Current => _current;

    object? IEnumerator.Current => _current;

    public bool MoveNext()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_next >= _count) return false;
        var result = _results[_next++].Task;
        _window.Release();   // this job's place is free once the consumer takes it (even when it failed)
        _current = result.GetAwaiter().GetResult();   // rethrows the job's own exception
        return true;
    }

    public void Reset() => throw new NotSupportedException("A worker pool's enumerator cannot be reset; enumerate the DataLoader again");

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        _stop.Cancel();
        Task.WaitAll(_workers);   // Work catches everything, so this never throws
        _window.Dispose();
        _stop.Dispose();
    }
}
