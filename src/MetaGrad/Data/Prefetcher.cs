using System.Collections;
using System.Collections.Concurrent;
using System.Runtime.ExceptionServices;

namespace MetaGrad.Data;

/// <summary>
/// Runs a sequence on a worker thread that stays up to <c>capacity</c> items ahead of the consumer,
/// through a bounded queue. The consumer sees the items in order, then the worker's exception (if
/// any) where the sequence failed. Disposing stops the worker and waits for it, so no work for this
/// pass runs once Dispose returns.
/// </summary>
internal sealed class Prefetcher<T> : IEnumerator<T>
{
    readonly BlockingCollection<T> _queue;
    readonly CancellationTokenSource _stop = new();
    readonly Task _worker;
    ExceptionDispatchInfo? _error;   // written by the worker before it completes the queue
    T _current = default!;
    bool _disposed;

    public Prefetcher(IEnumerable<T> source, int capacity)
    {
        _queue = new BlockingCollection<T>(new ConcurrentQueue<T>(), capacity);
        // A dedicated thread: the worker blocks on a full queue and should not hold a pool thread.
        _worker = Task.Factory.StartNew(() => Fill(source), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
    }

    void Fill(IEnumerable<T> source)
    {
        var token = _stop.Token;
        try
        {
            using var items = source.GetEnumerator();
            while (!token.IsCancellationRequested && items.MoveNext())
                _queue.Add(items.Current, token);
        }
        catch (OperationCanceledException) when (token.IsCancellationRequested)
        {
            // Disposed by the consumer: a normal end.
        }
        catch (Exception e)
        {
            _error = ExceptionDispatchInfo.Capture(e);
        }
        finally
        {
            _queue.CompleteAdding();
        }
    }

    /// <summary>True while the worker thread has not finished.</summary>
    internal bool WorkerRunning => !_worker.IsCompleted;

    public T Current => _current;

    object? IEnumerator.Current => _current;

    public bool MoveNext()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_queue.TryTake(out var item, Timeout.Infinite))
        {
            _current = item;
            return true;
        }
        _error?.Throw();   // rethrown with the worker's stack trace
        return false;
    }

    public void Reset() => throw new NotSupportedException("A prefetching enumerator cannot be reset; enumerate the DataLoader again");

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        _stop.Cancel();
        _worker.Wait();   // Fill catches everything, so this never throws
        _queue.Dispose();
        _stop.Dispose();
    }
}
