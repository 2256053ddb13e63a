using System.Collections.ObjectModel;
using MetaGrad.Backends;

namespace MetaGrad;

/// <summary>
/// An n-dimensional array with PyTorch semantics: strided storage shared by views, a dtype,
/// a device, and the autograd state (requires-grad flag, gradient, and the node that made it).
/// The members of this partial class are split by concern: creation, arithmetic, reductions,
/// shape, indexing, formatting. Each differentiable member is one call into a <see cref="Function"/>.
/// </summary>
public partial class Tensor
{
    // Not readonly for one purpose: Module.To converts a parameter in place, keeping the object that
    // optimizers and user code hold (PyTorch's param.data = ...); see ReplaceData.
    internal Storage Storage;
    internal Layout Layout;
    bool _requiresGrad;
    TensorShape? _shape;

    internal Tensor(Storage storage, Layout layout)
    {
        Storage = storage;
        Layout = layout;
        IsInference = Autograd.IsInferenceModeEnabled;
    }

    /// <summary>
    /// Whether this tensor was made in <see cref="Autograd.InferenceMode"/> (PyTorch's
    /// is_inference()): such a tensor cannot be saved for backward, written in place or made to
    /// require grad outside inference mode; <c>Clone()</c> outside gives a normal one.
    /// </summary>
    public bool IsInference { get; }

    internal IBackend Backend => Storage.Device.Backend;

    /// <summary>
    /// Makes this leaf hold <paramref name="source"/>'s elements, shape and dtype (PyTorch's
    /// <c>t.data = source</c>), keeping its identity, gradient flag and hooks: how a module's
    /// parameters change dtype in place. Only for leaves no recorded graph has saved.
    /// </summary>
    internal void ReplaceData(Tensor source)
    {
        if (GradFn is not null) throw new InvalidOperationException("ReplaceData: only a leaf's data can be replaced");
        Storage = source.Storage;
        Layout = source.Layout;
        _shape = null;
    }

    /// <summary>The size of each dimension (prints as <c>[2, 3]</c>).</summary>
    public TensorShape Shape => _shape ??= new TensorShape(Layout.Shape);

    /// <summary>Elements to skip in storage per step along each dimension.</summary>
    public IReadOnlyList<int> Strides => Array.AsReadOnly(Layout.Strides);

    /// <summary>Index in storage of the first element.</summary>
    public int StorageOffset => Layout.Offset;

    /// <summary>Number of dimensions (PyTorch's dim()).</summary>
    public int NDim => Layout.Rank;

    /// <summary>Number of elements.</summary>
    public int Numel => Layout.Numel;

    /// <summary>The size of one dimension (negative counts from the end).</summary>
    public int Size(int dim) => Layout.Shape[ShapeMath.Dim(dim, NDim, "Size")];

    /// <summary>The size of each dimension: PyTorch's <c>x.size()</c>, the same as <see cref="Shape"/>.</summary>
    public TensorShape Size() => Shape;

    /// <summary>Element type.</summary>
    public DType DType => Storage.DType;

    /// <summary>Where the storage lives.</summary>
    public Device Device => Storage.Device;

    /// <summary>Whether the elements are laid out row-major without gaps.</summary>
    public bool IsContiguous => Layout.IsContiguous;

    /// <summary>How many in-place writes the storage has seen (PyTorch's _version).</summary>
    public int Version => Storage.Version;

    /// <summary>The node that produced this tensor, or null for a leaf (PyTorch's grad_fn).</summary>
    public Function? GradFn { get; internal set; }

    /// <summary>Which of <see cref="GradFn"/>'s outputs this tensor is (0 but for a <see cref="MultiOutputFunction"/>).</summary>
    internal int OutputNr;

    /// <summary>True when no recorded operation produced this tensor.</summary>
    public bool IsLeaf => GradFn is null;

    internal bool IsLeafRequiringGrad => GradFn is null && _requiresGrad;

    /// <summary>The accumulated gradient (leaves, and non-leaves after RetainGrad).</summary>
    public Tensor? Grad
    {
        // Once user code has seen it, only the garbage collector can tell when nothing holds it.
        get
        {
            _gradOwned = false;
            return _grad;
        }
        set => (_grad, _gradOwned) = (value, false);
    }

    Tensor? _grad;
    // Whether _grad holds a buffer nothing else can reach: set by the engine, which made it for this
    // tensor alone; cleared as soon as the public getter or setter runs.
    bool _gradOwned;

    /// <summary>
    /// <see cref="Grad"/> for MetaGrad's own readers that keep no reference to it (the engine, an
    /// optimizer's step, gradient clipping): reading it here leaves it free to go back to the pool.
    /// </summary>
    internal Tensor? GradUnseen => _grad;

    /// <summary>The engine's gradient for a leaf, one that nothing else holds (a buffer it made, whole).</summary>
    internal void SetOwnedGrad(Tensor grad) => (_grad, _gradOwned) = (grad, true);

    /// <summary>
    /// ZeroGrad's set-to-none: the gradient goes, and when nothing but this tensor ever held it its
    /// buffer goes straight back to the pool (as PyTorch frees it with its last reference), rather
    /// than waiting for a collection to prove it dead.
    /// </summary>
    internal void DropGrad()
    {
        if (_gradOwned && _grad is { } grad) grad.Storage.Release();
        (_grad, _gradOwned) = (null, false);
    }

    /// <summary>
    /// The gradient a leaf received as rows only (from an embedding with sparse: true), accumulated
    /// by Backward beside <see cref="Grad"/>; null when none. Optimizers clear it with ZeroGrad.
    /// </summary>
    public RowSparseGradient? SparseGrad { get; set; }

    internal List<Func<Tensor, Tensor?>>? LeafHooks;

    /// <summary>Called once a backward pass has added its last gradient for this leaf (RegisterPostAccumulateGradHook).</summary>
    internal List<Action<Tensor>>? PostAccumulateHooks;

    /// <summary>Whether gradients flow to this tensor. Only leaves of floating dtype can be set.</summary>
    public bool RequiresGrad
    {
        get => _requiresGrad || GradFn is not null;
        set
        {
            if (GradFn is not null)
            {
                if (value) return;
                throw new InvalidOperationException("RequiresGrad: you can only change the requires-grad flag of leaf tensors; use Detach() to get a tensor outside the graph");
            }
            if (value && !DType.IsFloatingPoint())
                throw new InvalidOperationException($"RequiresGrad: only tensors of floating point dtype can require gradients, got {DType}");
            if (value && IsInference && !Autograd.IsInferenceModeEnabled)
                throw new InvalidOperationException("RequiresGrad: setting it on an inference tensor outside InferenceMode is not allowed; Clone() it first");
            _requiresGrad = value;
        }
    }

    /// <summary>Sets <see cref="RequiresGrad"/> and returns this tensor (PyTorch's requires_grad_()).</summary>
    public Tensor RequiresGrad_(bool requiresGrad = true)
    {
        RequiresGrad = requiresGrad;
        return this;
    }

    /// <summary>A tensor sharing this one's storage, outside the graph.</summary>
    public Tensor Detach() => new(Storage, Layout);

    internal Tensor Alias() => new(Storage, Layout);

    /// <summary>Makes Backward store this non-leaf tensor's gradient in <see cref="Grad"/>.</summary>
    public void RetainGrad()
    {
        if (GradFn is null)
        {
            if (!_requiresGrad) throw new InvalidOperationException("RetainGrad: can't retain the gradient of a tensor that does not require grad");
            return;
        }
        (GradFn.OutputHooks ??= []).Add((OutputNr, g =>
        {
            Grad = Grad is null ? g.Detach().Clone() : Grad + g.Detach();
            return null;
        }));
    }

    /// <summary>
    /// Registers a function called with this tensor's gradient during backward; it may return a
    /// replacement gradient or null to keep it (PyTorch's register_hook).
    /// </summary>
    public void RegisterHook(Func<Tensor, Tensor?> hook)
    {
        if (!RequiresGrad) throw new InvalidOperationException("RegisterHook: cannot register a hook on a tensor that doesn't require gradient");
        if (GradFn is null) (LeafHooks ??= []).Add(hook);
        else (GradFn.OutputHooks ??= []).Add((OutputNr, hook));
    }

    /// <summary>
    /// Registers a function called with this leaf once a backward pass has added the last of its
    /// gradients to <see cref="Grad"/> (PyTorch's register_post_accumulate_grad_hook): once per pass,
    /// however many paths reach the leaf. Autograd.Grad, which fills no Grad, does not call it.
    /// Data-parallel training starts reducing a gradient from here, while backward goes on.
    /// </summary>
    /// <returns>Disposing it removes the hook.</returns>
    public IDisposable RegisterPostAccumulateGradHook(Action<Tensor> hook)
    {
        if (!RequiresGrad) throw new InvalidOperationException("RegisterPostAccumulateGradHook: cannot register a hook on a tensor that doesn't require gradient");
        if (GradFn is not null) throw new InvalidOperationException($"RegisterPostAccumulateGradHook: post accumulate grad hooks cannot be registered on non-leaf tensors (this one has grad_fn {GradFn.Name})");
        (PostAccumulateHooks ??= []).Add(hook);
        return new HookRemoval(() => PostAccumulateHooks?.Remove(hook));
    }

    sealed class HookRemoval(Action remove) : IDisposable
    {
        public void Dispose() => remove();
    }

    /// <summary>Backpropagates from this scalar (or with an explicit gradient of this tensor's shape).</summary>
    /// <param name="gradient">d(loss)/d(this); required unless this tensor has one element.</param>
    /// <param name="retainGraph">Keep saved tensors so Backward can run through this graph again; defaults to createGraph.</param>
    /// <param name="createGraph">Record the backward pass, for higher-order gradients.</param>
    public void Backward(Tensor? gradient = null, bool? retainGraph = null, bool createGraph = false)
    {
        var grads = Autograd.RootGrads("Backward", [this], gradient is null ? null : [gradient]);
        Engine.Run([this], grads, retainGraph ?? createGraph, createGraph, null);
    }

    /// <summary>Bumps the version counter after an in-place write.</summary>
    internal void MarkWritten() => Storage.Version++;

    // In-place writes on a leaf that requires grad would silently break the gradients of its users.
    internal void CheckInPlace(string op)
    {
        if (IsInference && !Autograd.IsInferenceModeEnabled)
            throw new InvalidOperationException($"{op}: an in-place update to an inference tensor outside InferenceMode is not allowed; Clone() it first");
        if (Autograd.IsGradEnabled && IsLeafRequiringGrad)
            throw new InvalidOperationException($"{op}: a leaf tensor that requires grad is being used in an in-place operation; wrap it in Autograd.NoGrad() (e.g. for initialisation or an optimizer step)");
    }
}
