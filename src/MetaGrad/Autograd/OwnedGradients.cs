namespace MetaGrad;

/// <summary>
/// The gradients one backward pass made and that nothing outside the pass can reach. PyTorch's
/// engine knows them by reference count: it frees an intermediate gradient when the last node has
/// used it, and a leaf's first gradient becomes its .grad without a copy. .NET has no reference
/// counts, so ownership is proved instead: a gradient's storage belongs to the pass when it was made
/// after the pass began (its serial is later), by MetaGrad's own backward formulas, and was never
/// handed to a hook, to user code or to two places at once. Such a buffer goes back to the pool the
/// moment the pass is done with it, rather than when a collection finds it dead: an MLP step
/// allocated 444 KiB and copied every weight gradient before this.
/// </summary>
internal sealed class OwnedGradients
{
    bool _on;
    long _since;
    // Storages of this pass that something besides one gradient slot may hold.
    readonly HashSet<Storage> _shared = new(ReferenceEqualityComparer.Instance);
    readonly HashSet<Storage> _seen = new(ReferenceEqualityComparer.Instance);
    // Storages made before this pass that it now holds alone (see Adopt).
    readonly HashSet<Storage> _adopted = new(ReferenceEqualityComparer.Instance);

    /// <summary>Starts a pass; when <paramref name="on"/> is false (a recorded backward, Autograd.Grad, a tracer) nothing is owned.</summary>
    public void Begin(bool on)
    {
        _on = on;
        _since = Storage.LastSerial;
        _shared.Clear();
        _adopted.Clear();
    }

    public void Clear()
    {
        _on = false;
        _shared.Clear();
        _seen.Clear();
        _adopted.Clear();
    }

    /// <summary>Whether this pass alone holds <paramref name="t"/>'s storage.</summary>
    public bool Owns(Tensor t) => _on && MadeHere(t.Storage) && !_shared.Contains(t.Storage);

    bool MadeHere(Storage storage) => storage.Serial > _since || _adopted.Contains(storage);

    /// <summary>
    /// Takes over a storage that a node's freed context held alone and that one of the gradients
    /// the node returned now uses (a saved buffer its backward wrote that gradient into, see
    /// <see cref="Context.MayOverwrite"/>): as a gradient made in this pass, it is freed once used.
    /// A storage that two of the gradients use stays the collector's.
    /// </summary>
    public void Adopt(Storage storage, Tensor?[] returned)
    {
        if (!_on) return;
        int uses = 0;
        foreach (var g in returned)
            if (g is not null && ReferenceEquals(g.Storage, storage)) uses++;
        if (uses == 1) _adopted.Add(storage);
    }

    /// <summary>Marks <paramref name="t"/>'s storage as held elsewhere too: never freed nor kept by a leaf in this pass.</summary>
    public void Share(Tensor? t)
    {
        if (_on && t is not null && MadeHere(t.Storage)) _shared.Add(t.Storage);
    }

    /// <summary>Gives an owned gradient's buffer back: the pass is done with it.</summary>
    public void Free(Tensor t)
    {
        if (!Owns(t)) return;
        _shared.Add(t.Storage);
        t.Storage.Release();
    }

    /// <summary>
    /// Whether a leaf may take <paramref name="t"/> as its .grad: owned, and the whole of its storage
    /// laid out densely (a view of a larger buffer would keep the rest alive, and .grad is dense).
    /// The storage leaves the pass's hands.
    /// </summary>
    public bool Keep(Tensor t)
    {
        if (!Owns(t) || !t.IsContiguous || t.Layout.Offset != 0 || t.Numel != t.Storage.Length || t.GradFn is not null) return false;
        _shared.Add(t.Storage);
        return true;
    }

    /// <summary>
    /// Two gradients for one output summed: into the first when the pass owns it whole (PyTorch
    /// sums in place too), else into a new tensor; the addends the pass owns are freed.
    /// </summary>
    public Tensor Sum(Tensor existing, Tensor grad)
    {
        if (Owns(existing) && !ReferenceEquals(existing.Storage, grad.Storage) && CanAddInto(existing, grad))
        {
            existing.Add_(grad);
            Free(grad);
            return existing;
        }
        var sum = existing + grad;
        if (!ReferenceEquals(existing.Storage, grad.Storage)) Free(grad);
        Free(existing);
        return sum;
    }

    /// <summary>Whether <paramref name="grad"/> can be added into <paramref name="into"/> in place: a plain dense tensor of its dtype and shape.</summary>
    public static bool CanAddInto(Tensor into, Tensor grad) =>
        !into.RequiresGrad && into.IsContiguous && into.DType == grad.DType && into.Layout.Shape.AsSpan().SequenceEqual(grad.Layout.Shape);

    /// <summary>
    /// A node has used what it received (<paramref name="received"/>, or for a node of several
    /// outputs <paramref name="receivedAll"/>) and returned <paramref name="grads"/>: a storage in two
    /// of those (the same gradient for two inputs, views of one buffer) is shared; a received
    /// gradient is freed unless a returned one still uses its storage (a pass-through, a view). A
    /// node of user code may keep anything it saw: all of it is shared.
    /// </summary>
    public void Consumed(Function node, Tensor? received, Tensor?[]? receivedAll, Tensor?[]? grads)
    {
        if (!_on) return;
        bool keepsNothing = node.KeepsNothing;
        _seen.Clear();
        if (grads is not null)
            foreach (var g in grads)
            {
                if (g is null) continue;
                if (!keepsNothing || !_seen.Add(g.Storage)) Share(g);
            }
        if (received is not null) Used(received, keepsNothing);
        else if (receivedAll is not null)
            foreach (var r in receivedAll)
                if (r is not null) Used(r, keepsNothing);
    }

    void Used(Tensor received, bool keepsNothing)
    {
        if (!keepsNothing) Share(received);
        else if (!_seen.Contains(received.Storage)) Free(received);
    }
}
