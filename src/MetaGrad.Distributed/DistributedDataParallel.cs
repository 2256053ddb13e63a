using System.Diagnostics;
using System.Runtime.CompilerServices;
using MetaGrad.NN;

namespace MetaGrad.Distributed;

/// <summary>Makes <see cref="DistributedDataParallel{TIn, TOut}"/> with the module's types inferred.</summary>
public static class DistributedDataParallel
{
    /// <summary>Wraps a module for data-parallel training over <paramref name="communicator"/>'s ranks (see <see cref="DistributedDataParallel{TIn, TOut}"/>).</summary>
    public static DistributedDataParallel<TIn, TOut> Wrap<TIn, TOut>(Module<TIn, TOut> module, Communicator communicator, double bucketCapMB = 25,
        bool findUnusedParameters = false, bool broadcastBuffers = true) =>
        new(module, communicator, bucketCapMB, findUnusedParameters, broadcastBuffers);
}

/// <summary>
/// Data-parallel training (torch.nn.parallel.DistributedDataParallel): every rank holds a replica of
/// the module and trains it on its own share of each batch; during backward the gradients are
/// averaged over the ranks, so that every replica takes the same optimizer step and stays equal.
/// </summary>
/// <remarks>
/// At construction rank 0's parameters and buffers are copied to every rank, after a check that
/// all ranks hold the same model. Gradients are grouped into buckets (see <c>bucketCapMB</c>); a
/// bucket's all-reduce starts as soon as backward has produced its last gradient and runs while
/// backward goes on with the layers below; backward returns once every bucket is averaged, so the
/// optimizer can step right after. Forward under <see cref="NoSync"/> skips the averaging (gradient
/// accumulation); the next synchronised backward averages what has accumulated.
/// </remarks>
public sealed class DistributedDataParallel<TIn, TOut> : Module<TIn, TOut>, IDisposable
{
    readonly Communicator _communicator;   // a duplicate: bucket traffic never mixes with the user's collectives
    readonly Tensor[] _parameters;
    readonly string[] _names;
    readonly Tensor[] _buffers;
    readonly List<GradientBucket> _buckets;
    readonly (int Bucket, int Slot)[] _place;
    readonly List<IDisposable> _hooks = [];
    readonly bool _findUnused, _broadcastBuffers;

    // One iteration's state, from the forward that prepares it to the backward that completes it.
    bool _expectHooks, _finished = true, _noSync, _backwardStarted;
    readonly bool[] _ready;
    int _nextBucket;
    long[]? _used;
    PendingReduction? _usedWork;
    System.Runtime.InteropServices.GCHandle _usedPin;
    bool[]? _usedSinceSync;   // findUnusedParameters: reached by some forward since the last averaging (NoSync ones too)
    readonly Stopwatch _waiting = new();

    /// <param name="module">The replica on this rank; its parameters are overwritten with rank 0's.</param>
    /// <param name="communicator">The ranks that train together (usually <see cref="Mpi.World"/>).</param>
    /// <param name="bucketCapMB">Largest bucket of gradients in MiB (PyTorch's 25); the first bucket is capped at 1 MiB.</param>
    /// <param name="findUnusedParameters">Find after each forward the parameters its output does not depend on and count their gradients as
    /// ready (zero); without it such parameters make the next forward fail, as in PyTorch.</param>
    /// <param name="broadcastBuffers">Copy rank 0's buffers (BatchNorm's running statistics) to all ranks before each forward.</param>
    public DistributedDataParallel(Module<TIn, TOut> module, Communicator communicator, double bucketCapMB = 25, bool findUnusedParameters = false,
        bool broadcastBuffers = true)
    {
        if (bucketCapMB <= 0) throw new ArgumentOutOfRangeException(nameof(bucketCapMB), $"DistributedDataParallel: bucketCapMB must be positive, got {bucketCapMB}");
        Module = module;
        RegisterModule("module", module);
        _findUnused = findUnusedParameters;
        _broadcastBuffers = broadcastBuffers;
        var named = module.NamedParameters().Where(p => p.Parameter.RequiresGrad).ToArray();
        if (named.Length == 0) throw new ArgumentException("DistributedDataParallel: the module has no parameter that requires gradient");
        _parameters = [.. named.Select(p => (Tensor)p.Parameter)];
        _names = [.. named.Select(p => p.Name)];
        var buffers = module.NamedBuffers().ToArray();
        _buffers = [.. buffers.Select(b => b.Buffer)];
        _ready = new bool[_parameters.Length];

        long cap = (long)(bucketCapMB * 1024 * 1024);
        _buckets = GradientBucket.Assign(_parameters, Math.Min(cap, 1L << 20), cap);
        _place = new (int, int)[_parameters.Length];
        foreach (var bucket in _buckets)
            for (int k = 0; k < bucket.Members.Length; k++) _place[bucket.Members[k]] = (bucket.Index, k);

        _communicator = communicator.Duplicate();
        var parts = named.Select(p => new ReplicaCheck.Part("parameter", p.Name, p.Parameter.DType, p.Parameter.Shape.ToArray()))
            .Concat(buffers.Select(b => new ReplicaCheck.Part("buffer", b.Name, b.Buffer.DType, b.Buffer.Shape.ToArray()))).ToArray();
        long[] settings = [_buckets.Count, .. _buckets.Select(b => (long)b.Length), findUnusedParameters ? 1 : 0];
        string[] settingNames = ["the number of gradient buckets", .. _buckets.Select(b => $"bucket {b.Index}'s size"), "findUnusedParameters"];
        ReplicaCheck.Verify(_communicator, parts, settings, settingNames);

        using (Autograd.NoGrad())
        {
            foreach (var p in _parameters) _communicator.Broadcast(p, 0);
            foreach (var b in _buffers) _communicator.Broadcast(b, 0);
        }
        for (int i = 0; i < _parameters.Length; i++)
        {
            int index = i;
            _hooks.Add(_parameters[i].RegisterPostAccumulateGradHook(_ => GradientHook(index)));
        }
    }

    /// <summary>The wrapped module (PyTorch's ddp.module): save and load its state without the "module." prefix.</summary>
    public Module<TIn, TOut> Module { get; }

    /// <summary>How many buckets the gradients travel in.</summary>
    public int BucketCount => _buckets.Count;

    /// <summary>The parameters of each bucket, by name, in the order their all-reduces start.</summary>
    public IReadOnlyList<IReadOnlyList<string>> BucketParameterNames => [.. _buckets.Select(b => (IReadOnlyList<string>)[.. b.Members.Select(i => _names[i])])];

    /// <summary>How many of this iteration's buckets have started their all-reduce (all of them once backward has finished).</summary>
    public int BucketsStarted => _nextBucket;

    /// <summary>
    /// Time backward spent waiting for all-reduces after its last gradient was ready, summed over
    /// iterations: the communication that did not overlap with computation.
    /// </summary>
    public TimeSpan CommunicationWait => _waiting.Elapsed;

    /// <summary>Runs the replica; when gradients are enabled and not under <see cref="NoSync"/>, prepares this iteration's averaging.</summary>
    public override TOut Forward(TIn input)
    {
        if (!_finished && _expectHooks)
        {
            if (_backwardStarted) throw UnfinishedReduction();
            AbandonIteration();   // a forward with no backward after it: nothing to average
        }
        if (_broadcastBuffers && _communicator.Size > 1 && _buffers.Length > 0)
            using (Autograd.NoGrad())
                foreach (var b in _buffers) _communicator.Broadcast(b, 0);
        var output = Module.Forward(input);
        HashSet<Tensor>? reachable = null;
        if (_findUnused && Autograd.IsGradEnabled)
        {
            reachable = ReachableLeaves(output);
            _usedSinceSync ??= new bool[_parameters.Length];
            for (int i = 0; i < _parameters.Length; i++) _usedSinceSync[i] |= reachable.Contains(_parameters[i]);
        }
        if (Autograd.IsGradEnabled && !_noSync) Prepare(reachable);
        else _expectHooks = false;
        return output;
    }

    /// <summary>
    /// Turns gradient averaging off for the forwards (and their backwards) run before disposal, so
    /// that gradients accumulate locally (PyTorch's no_sync); the first synchronised backward after it
    /// averages the sum.
    /// </summary>
    public IDisposable NoSync()
    {
        bool previous = _noSync;
        _noSync = true;
        return new Restore(() => _noSync = previous);
    }

    sealed class Restore(Action undo) : IDisposable
    {
        public void Dispose() => undo();
    }

    // reachable: with findUnusedParameters, the leaves this forward's output depends on.
    void Prepare(HashSet<Tensor>? reachable)
    {
        Array.Clear(_ready);
        foreach (var bucket in _buckets)
        {
            bucket.Pending = bucket.Members.Length;
            bucket.Work = null;
        }
        _nextBucket = 0;
        _finished = false;
        _backwardStarted = false;
        _expectHooks = true;
        if (reachable is null) return;
        // A parameter used since the last averaging (NoSync forwards included) counts as used; the
        // ranks' counts are summed so that one no rank used keeps its gradient untouched (PyTorch
        // leaves it None), as in one process. One this forward does not reach gets no hook: its
        // gradient, whatever has accumulated, is ready now.
        _used = [.. _usedSinceSync!.Select(u => u ? 1L : 0L)];
        _usedSinceSync = null;
        _usedWork = _communicator.Size > 1 ? StartUsedReduction(_used) : null;
        for (int i = 0; i < _parameters.Length; i++)
            if (!reachable.Contains(_parameters[i])) GradientReady(i);
    }

    unsafe PendingReduction StartUsedReduction(long[] used)
    {
        // Pinned for the duration: the array lives until the iteration's end, where the request is waited for.
        var handle = System.Runtime.InteropServices.GCHandle.Alloc(used, System.Runtime.InteropServices.GCHandleType.Pinned);
        _usedPin = handle;
        return _communicator.StartAllReduce((void*)handle.AddrOfPinnedObject(), used.Length, MpiNative.Int64, "DistributedDataParallel: all-reduce of the used-parameter map");
    }

    static HashSet<Tensor> ReachableLeaves(TOut output)
    {
        var leaves = new HashSet<Tensor>(ReferenceEqualityComparer.Instance);
        var seen = new HashSet<Function>(ReferenceEqualityComparer.Instance);
        var pending = new Stack<Function>();
        foreach (var t in OutputTensors(output))
        {
            if (t.GradFn is { } fn && seen.Add(fn)) pending.Push(fn);
            else if (t.GradFn is null) leaves.Add(t);
        }
        while (pending.Count > 0)
            foreach (var edge in pending.Pop().Edges)
            {
                if (edge.Node is { } next && seen.Add(next)) pending.Push(next);
                else if (edge.Leaf is { } leaf) leaves.Add(leaf);
            }
        return leaves;
    }

    static IEnumerable<Tensor> OutputTensors(object? output) => output switch
    {
        Tensor t => [t],
        ITuple tuple => Enumerable.Range(0, tuple.Length).SelectMany(i => OutputTensors(tuple[i])),
        IEnumerable<Tensor> many => many,
        _ => throw new NotSupportedException($"DistributedDataParallel: findUnusedParameters needs the module's output to be tensors (a tensor, a tuple or a list of them), got {output?.GetType().Name ?? "null"}"),
    };

    void GradientHook(int index)
    {
        if (!_expectHooks) return;   // no-sync or no-grad forward: the gradient stays local
        _backwardStarted = true;
        GradientReady(index);
    }

    // The reductions an unused-parameter search started before backward, finished (every rank started
    // them too) so that no request is left behind.
    void AbandonIteration()
    {
        foreach (var bucket in _buckets) bucket.Work?.Wait();
        _usedWork?.Wait();
        _usedWork = null;
        if (_usedPin.IsAllocated) _usedPin.Free();
        _used = null;
        _expectHooks = false;
        _finished = true;
    }

    // A parameter's gradient is complete (its post-accumulate hook, or unused): into its bucket, and
    // every bucket whose turn has come is launched. Buckets start strictly in order, so all ranks
    // issue the same collectives in the same order whatever order their gradients arrive in.
    void GradientReady(int index)
    {
        if (_ready[index])
            throw new InvalidOperationException($"DistributedDataParallel: parameter {_names[index]}'s gradient was marked ready twice in one iteration; run one backward per forward " +
                "(or use NoSync), and don't reuse a parameter across forwards of the same iteration");
        _ready[index] = true;
        var (b, slot) = _place[index];
        var bucket = _buckets[b];
        bucket.Fill(slot, _parameters[index].Grad, _parameters[index].Numel, _communicator.Size);
        bucket.Pending--;
        while (_nextBucket < _buckets.Count && _buckets[_nextBucket].Pending == 0)
        {
            if (_communicator.Size > 1) _buckets[_nextBucket].Launch(_communicator);
            _nextBucket++;
        }
        // MPICH moves a message only inside MPI calls: a test of each bucket in flight keeps them going during backward.
        for (int k = 0; k < _nextBucket; k++) _buckets[k].Work?.Test();
        if (_nextBucket == _buckets.Count) Finish();
    }

    void Finish()
    {
        _waiting.Start();
        try
        {
            foreach (var bucket in _buckets) bucket.Work?.Wait();
            _usedWork?.Wait();
        }
        finally
        {
            _waiting.Stop();
            if (_usedPin.IsAllocated) _usedPin.Free();
            _usedWork = null;
        }
        foreach (var bucket in _buckets)
            for (int k = 0; k < bucket.Members.Length; k++)
            {
                int i = bucket.Members[k];
                if (_used is not null && _used[i] == 0) continue;   // no rank used it: its gradient stays as it was
                bucket.Unpack(k, _parameters[i]);
            }
        _used = null;
        _expectHooks = false;
        _finished = true;
    }

    InvalidOperationException UnfinishedReduction()
    {
        var missing = Enumerable.Range(0, _ready.Length).Where(i => !_ready[i]).Select(i => _names[i]);
        return new InvalidOperationException(
            "DistributedDataParallel: expected to have finished reduction in the prior iteration before starting a new one: the module has parameters that " +
            $"received no gradient in that backward ({string.Join(", ", missing)} on rank {_communicator.Rank}). Pass findUnusedParameters: true, " +
            "or make sure every parameter takes part in computing the loss");
    }

    /// <summary>Removes the gradient hooks and frees this wrapper's communicator (a collective call).</summary>
    public void Dispose()
    {
        foreach (var hook in _hooks) hook.Dispose();
        _hooks.Clear();
        _communicator.Dispose();
    }
}
