namespace MetaGrad.Backends.Cpu;

/// <summary>
/// The CPU caching allocator. A large managed array costs far more to allocate than to fill:
/// each one lands on the large-object heap and, at training-loop rates, forces a full (gen 2)
/// collection every few allocations (allocating and adding 1M floats took about nine times as
/// long as adding into an existing array). So tensor buffers the runtime would put on the
/// large-object heap (objects of 85,000 bytes and more; smaller ones are cheap young-generation
/// allocations) are recycled by exact length, the shapes of a training step being the same every step.
///
/// Users never return anything: the storage that rents a buffer holds a small finalizable
/// <see cref="PoolLease{T}"/>, and when the storage becomes garbage (cheaply, in a young
/// collection) the lease's finalizer gives the buffer back. Plain garbage collection stays correct.
/// Since pooled buffers barely touch the GC heap, young collections may become rare; so after
/// enough bytes have missed the pool, a miss asks for one (gen 1, cheap) and waits for the
/// leases of dead tensors to come back before allocating fresh memory, like PyTorch's caching
/// allocator freeing its cache and retrying.
///
/// A young collection only finds tensors that died young. A step's activations live through the
/// collections inside that step, reach gen 2, and come back only when a full collection runs,
/// which the runtime schedules by its own heap budgets, not by the pool's misses: meanwhile the
/// next steps miss their lengths and take fresh memory, step after step (README, Limits, has the
/// figures). So once enough fresh bytes have been taken since the last full collection, a miss
/// asks for one. When a full collection gives nothing back, the work really needs more memory (a
/// first step, a model that grows): the next one then waits for twice as many fresh bytes (up to
/// 16 times the bar, and back to the bar after one that gave something back, or one the runtime
/// ran itself).
/// </summary>
internal static class BufferPool<T> where T : unmanaged
{
    /// <summary>
    /// The shortest array the runtime puts on the large-object heap (an object of 85,000 bytes: the
    /// elements and 24 bytes of header and length): smaller buffers are left to the GC's fast
    /// young-generation allocator. Any larger one left unpooled is a fresh large-object allocation
    /// each time, and those drive full collections (bench/results/TUNING.md).
    /// </summary>
    public static readonly int MinLength = (85_000 - 24 + System.Runtime.CompilerServices.Unsafe.SizeOf<T>() - 1) / System.Runtime.CompilerServices.Unsafe.SizeOf<T>();

    /// <summary>The most the pool keeps; past it, the sizes rented least recently go first.</summary>
    internal static long MaxPooledBytes = long.TryParse(Environment.GetEnvironmentVariable("METAGRAD_POOL_MB"), out var cap) ? cap << 20 : 512L << 20;

    /// <summary>Bytes rented since the last collection after which a miss first asks for one.</summary>
    static readonly long CollectAfterRentedBytes = long.TryParse(Environment.GetEnvironmentVariable("METAGRAD_POOL_COLLECT_MB"), out var mb) ? mb << 20 : 32L << 20;

    /// <summary>Fresh bytes (misses) since the last full collection after which a miss asks for one; 0 turns that off.</summary>
    internal static long FullCollectAfterFreshBytes = long.TryParse(Environment.GetEnvironmentVariable("METAGRAD_POOL_FULL_MB"), out var full) ? full << 20 : 64L << 20;

    /// <summary>
    /// Below <see cref="MinLength"/> the pool holds only buffers given back by <see cref="Release"/>
    /// (never leased ones), and none smaller than this: a lock is dearer than a tiny allocation.
    /// </summary>
    static readonly int MinReleasedLength = 4096 / System.Runtime.CompilerServices.Unsafe.SizeOf<T>();

    /// <summary>The free buffers of one length, and when that length was last rented.</summary>
    sealed class Bucket
    {
        public readonly Stack<T[]> Arrays = new();
        public long LastUse;
    }

    static readonly Dictionary<int, Bucket> s_free = [];
    static long s_clock;
    static long s_pooledBytes;
    static long s_rentedBytes;
    // Fresh bytes since the full collection numbered s_lastFull, and how many a miss waits for
    // before it asks for another (FullCollectAfterFreshBytes, doubled while they give nothing back).
    static long s_freshBytes;
    static int s_lastFull;
    static long s_freshBeforeFull;
    // Small buffers waiting in s_free: while none is, small allocations skip the lock.
    static int s_smallFree;

    /// <summary>How many buffers <see cref="Release"/> has taken back (for tests).</summary>
    internal static long Released;

    /// <summary>How many full collections the pool has asked for (for tests).</summary>
    internal static long FullCollections;

    /// <summary>A buffer of exactly <paramref name="length"/> elements, zeroed when asked.</summary>
    public static T[] Rent(int length, bool clear)
    {
        long bytes = (long)length * System.Runtime.CompilerServices.Unsafe.SizeOf<T>();
        long rented = Interlocked.Add(ref s_rentedBytes, bytes);
        if (TryTake(length, clear) is { } hit) return hit;
        if (rented > CollectAfterRentedBytes)
        {
            Interlocked.Exchange(ref s_rentedBytes, 0);
            GC.Collect(1, GCCollectionMode.Forced, blocking: true);
            GC.WaitForPendingFinalizers();
            if (TryTake(length, clear) is { } retry) return retry;
        }
        if (CollectFully(bytes) && TryTake(length, clear) is { } late) return late;
        return clear ? new T[length] : GC.AllocateUninitializedArray<T>(length);
    }

    // Counts a miss's fresh bytes since the last full collection (the runtime's own included) and
    // runs one when they pass the bar; true when it ran.
    static bool CollectFully(long bytes)
    {
        long bar = FullCollectAfterFreshBytes;
        if (bar <= 0) return false;
        int full = GC.CollectionCount(2);
        if (Interlocked.Exchange(ref s_lastFull, full) != full)
        {
            // One this pool did not ask for: count afresh, and from the plain bar again.
            Interlocked.Exchange(ref s_freshBytes, 0);
            Interlocked.Exchange(ref s_freshBeforeFull, bar);
        }
        long waitFor = Math.Max(bar, Interlocked.Read(ref s_freshBeforeFull));
        if (Interlocked.Add(ref s_freshBytes, bytes) <= waitFor) return false;
        long pooled = Interlocked.Read(ref s_pooledBytes);
        GC.Collect(2, GCCollectionMode.Forced, blocking: true);
        GC.WaitForPendingFinalizers();
        Interlocked.Increment(ref FullCollections);
        Interlocked.Exchange(ref s_freshBytes, 0);
        Interlocked.Exchange(ref s_lastFull, GC.CollectionCount(2));
        bool gaveBack = Interlocked.Read(ref s_pooledBytes) > pooled;
        Interlocked.Exchange(ref s_freshBeforeFull, gaveBack ? bar : Math.Min(2 * waitFor, 16 * bar));
        return true;
    }

    /// <summary>How many free buffers of <paramref name="length"/> the pool holds (for tests).</summary>
    internal static int Pooled(int length)
    {
        lock (s_free) return s_free.TryGetValue(length, out var bucket) ? bucket.Arrays.Count : 0;
    }

    /// <summary>A small buffer that an owner gave back by <see cref="Release"/>, if one of this length waits.</summary>
    public static T[]? TryTakeReleased(int length, bool clear) =>
        length >= MinReleasedLength && Volatile.Read(ref s_smallFree) > 0 ? TryTake(length, clear) : null;

    static T[]? TryTake(int length, bool clear)
    {
        T[] array;
        lock (s_free)
        {
            if (!s_free.TryGetValue(length, out var bucket)) return null;
            bucket.LastUse = ++s_clock;
            if (bucket.Arrays.Count == 0) return null;
            array = bucket.Arrays.Pop();
            s_pooledBytes -= (long)length * System.Runtime.CompilerServices.Unsafe.SizeOf<T>();
            if (length < MinLength) s_smallFree--;
        }
        if (clear) Array.Clear(array);
        return array;
    }

    /// <summary>
    /// Takes a buffer back from an owner that knows nothing else uses it (rather than from a lease's
    /// finalizer). Its bytes no longer count towards the next collection: they needed none to return.
    /// </summary>
    public static void Release(T[] array)
    {
        if (array.Length < MinReleasedLength) return;
        Interlocked.Increment(ref Released);
        if (array.Length >= MinLength) Interlocked.Add(ref s_rentedBytes, -(long)array.Length * System.Runtime.CompilerServices.Unsafe.SizeOf<T>());
        Return(array);
    }

    // Full: drops whole lengths, least recently rented first, until at most `keep` bytes remain (a
    // quarter of the room freed at once, so that this sort is rare). Training on batches of varying
    // sequence length rents hundreds of lengths, each seldom: the dates example filled a 1 GiB pool
    // with them, and dropping the whole pool when full threw away the lengths in use with them.
    static void Evict(int keepLength, long keep)
    {
        foreach (var (length, bucket) in s_free.OrderBy(e => e.Value.LastUse).ToArray())
        {
            if (s_pooledBytes <= keep) break;
            if (length == keepLength) continue;
            s_pooledBytes -= (long)length * System.Runtime.CompilerServices.Unsafe.SizeOf<T>() * bucket.Arrays.Count;
            if (length < MinLength) s_smallFree -= bucket.Arrays.Count;
            s_free.Remove(length);
        }
    }

    /// <summary>Takes a buffer back (from a lease's finalizer), unless the pool is full.</summary>
    public static void Return(T[] array)
    {
        long bytes = (long)array.Length * System.Runtime.CompilerServices.Unsafe.SizeOf<T>();
        lock (s_free)
        {
            if (bytes > MaxPooledBytes) return;
            if (s_pooledBytes + bytes > MaxPooledBytes)
            {
                Evict(array.Length, MaxPooledBytes * 3 / 4 - bytes);
                if (s_pooledBytes + bytes > MaxPooledBytes) return;   // all of it this one length, returned but not rented
            }
            if (!s_free.TryGetValue(array.Length, out var bucket)) s_free[array.Length] = bucket = new Bucket { LastUse = ++s_clock };
            bucket.Arrays.Push(array);
            s_pooledBytes += bytes;
            if (array.Length < MinLength) s_smallFree++;
        }
    }
}

/// <summary>Gives a rented buffer back to the pool when its storage is collected.</summary>
internal sealed class PoolLease<T>(T[] array) where T : unmanaged
{
    ~PoolLease() => BufferPool<T>.Return(array);
}
