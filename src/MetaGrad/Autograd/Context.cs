namespace MetaGrad;

/// <summary>
/// What a <see cref="Function"/>'s forward leaves for its backward (PyTorch's ctx): the saved
/// tensors, checked against in-place changes, and which inputs need a gradient at all.
/// </summary>
public sealed class Context
{
    Tensor[]? _saved;
    int[]? _versions;
    bool _released;
    // The node this context belongs to, for error messages (its name is built only when one is thrown).
    internal Function? Owner;
    // Whether the call is being recorded: if not, no backward will read what forward saves.
    internal bool Recording;

    /// <summary>For each input, whether it requires a gradient; backward may skip the others (read only: calls that record nothing share one all-false array).</summary>
    public IReadOnlyList<bool> NeedsInputGrad { get; internal set; } = [];

    /// <summary>Keeps tensors for backward, remembering their versions (PyTorch's save_for_backward); a call that is not recorded keeps nothing.</summary>
    public void Save(params Tensor[] tensors)
    {
        if (!Recording) return;
        foreach (var t in tensors)
            if (t.IsInference)
                throw new InvalidOperationException($"{Owner?.Name ?? "Backward"}: inference tensors cannot be saved for backward; Clone() the tensor outside InferenceMode to use it in autograd");
        _saved = tensors;
        _versions = new int[tensors.Length];
        for (int i = 0; i < tensors.Length; i++) _versions[i] = tensors[i].Storage.Version;
    }

    /// <summary>The saved tensors without the checks of <see cref="Saved"/> (empty once freed).</summary>
    internal IReadOnlyList<Tensor> Peek() => _saved ?? [];

    /// <summary>The saved tensors; throws if the graph was freed or a saved tensor was changed in place since.</summary>
    public SavedTensors Saved
    {
        get
        {
            if (_released)
                throw new InvalidOperationException($"{Owner?.Name}: trying to backward through the graph a second time (or to read saved tensors after they were freed). Saved tensors are freed after Backward; pass retainGraph: true to the first Backward if you need to backward twice.");
            var saved = _saved ?? [];
            for (int i = 0; i < saved.Length; i++)
                if (saved[i].Storage.Version != _versions![i])
                    throw new InvalidOperationException(
                        $"{Owner?.Name}: one of the variables needed for gradient computation has been modified by an inplace operation: " +
                        $"[{saved[i].DType} {ShapeMath.Format(saved[i].Layout.Shape)}] is at version {saved[i].Storage.Version}; expected version {_versions[i]} instead.");
            return new SavedTensors(saved);
        }
    }

    // Storages made after this serial were made by this call's forward.
    internal long MadeAfter;
    // Saved tensors the forward made for backward alone (a recurrent layer's gates and states, fused
    // attention's log-sum-exp): made by this call, neither an input nor an output, so nothing but
    // this context holds them, and the engine may give their buffers back when it frees the graph.
    bool[]? _private;

    /// <summary>Finds the saved tensors only this context holds (called once the outputs are known, for MetaGrad's own formulas only).</summary>
    internal void FindPrivate(Tensor[] inputs, Tensor[] outputs)
    {
        if (_saved is not { Length: > 0 } saved || Tracing.Active is not null) return;   // a tracer holds what it saw
        for (int i = 0; i < saved.Length; i++)
        {
            var storage = saved[i].Storage;
            if (storage.Serial <= MadeAfter || Holds(inputs, storage) || Holds(outputs, storage)) continue;
            (_private ??= new bool[saved.Length])[i] = true;
        }
    }

    // Set by the engine before the backward runs: whether it frees the saved tensors (and gives back
    // the private ones' buffers) as soon as the backward returns, with no retained graph.
    internal bool FreedAfterBackward;

    /// <summary>
    /// Whether the backward may write over saved tensor <paramref name="i"/>: only this context holds
    /// it and the engine frees it when the backward returns, so nothing will read it again.
    /// </summary>
    internal bool MayOverwrite(int i) => FreedAfterBackward && _private is { } owned && owned[i];

    internal void Release(bool buffersToo = false, Tensor?[]? returned = null, OwnedGradients? pass = null)
    {
        if (buffersToo && _private is { } owned && _saved is { } saved)
            for (int i = 0; i < saved.Length; i++)
            {
                if (!owned[i]) continue;
                if (returned is null || !Holds(returned, saved[i].Storage)) saved[i].Storage.Release();
                else pass?.Adopt(saved[i].Storage, returned);
            }
        _saved = null;
        _private = null;
        _released = true;
    }

    static bool Holds(Tensor?[] tensors, Storage storage)
    {
        foreach (var t in tensors)
            if (t is not null && ReferenceEquals(t.Storage, storage)) return true;
        return false;
    }
}

/// <summary>The tensors a forward saved, readable by index or by deconstruction: <c>var (x, y) = ctx.Saved;</c></summary>
public readonly struct SavedTensors(Tensor[] tensors)
{
    /// <summary>The i-th saved tensor.</summary>
    public Tensor this[int i] => tensors[i];
    /// <summary>How many tensors were saved.</summary>
    public int Count => tensors.Length;
    /// <summary>Deconstructs one saved tensor.</summary>
    public void Deconstruct(out Tensor a) => a = tensors[0];
    /// <summary>Deconstructs two saved tensors.</summary>
    public void Deconstruct(out Tensor a, out Tensor b) => (a, b) = (tensors[0], tensors[1]);
    /// <summary>Deconstructs three saved tensors.</summary>
    public void Deconstruct(out Tensor a, out Tensor b, out Tensor c) => (a, b, c) = (tensors[0], tensors[1], tensors[2]);
}
