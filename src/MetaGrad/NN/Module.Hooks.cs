using System.Runtime.CompilerServices;

namespace MetaGrad.NN;

/// <summary>
/// Runs before a module's forward with its input (a tensor, or a tuple of the inputs for a module of
/// several); returns a replacement input, or null to keep it (PyTorch's forward pre-hook).
/// </summary>
public delegate object? ForwardPreHook(Module module, object input);

/// <summary>
/// Runs after a module's forward with its input and output; returns a replacement output, or null
/// to keep it (PyTorch's forward hook).
/// </summary>
public delegate object? ForwardHook(Module module, object input, object output);

/// <summary>
/// Runs when the gradients with respect to a module's inputs have been computed, with the
/// gradients of its inputs (null where an input needs none) and of its outputs; returns
/// replacements for the input gradients, or null to keep them (PyTorch's full backward hook).
/// </summary>
public delegate Tensor?[]? BackwardHook(Module module, Tensor?[] gradInput, Tensor?[] gradOutput);

/// <summary>
/// Runs when the gradients of a module's outputs are known, before those of its inputs are
/// computed; returns replacements for the output gradients, or null to keep them (PyTorch's full
/// backward pre-hook).
/// </summary>
public delegate Tensor?[]? BackwardPreHook(Module module, Tensor?[] gradOutput);

/// <summary>Removes the hook it was returned for (PyTorch's RemovableHandle); removing twice does nothing.</summary>
public sealed class HookHandle : IDisposable
{
    readonly Module _module;
    readonly Delegate _hook;

    internal HookHandle(Module module, Delegate hook) => (_module, _hook) = (module, hook);

    /// <summary>Removes the hook.</summary>
    public void Remove() => _module.RemoveHook(_hook);

    /// <summary>Same as <see cref="Remove"/>, so a hook can live for a using block.</summary>
    public void Dispose() => Remove();
}

public abstract partial class Module
{
    // Hooks run only when a module is entered through Call (PyTorch's module(x)); Forward itself
    // is the plain computation (PyTorch's module.forward(x)), which is what a subclass overrides.
    // Null until a hook is registered, so Call costs one field test in the common case.
    HookLists? _hooks;

    sealed class HookLists
    {
        public readonly List<ForwardPreHook> ForwardPre = [];
        public readonly List<ForwardHook> Forward = [];
        public readonly List<BackwardHook> Backward = [];
        public readonly List<BackwardPreHook> BackwardPre = [];

        public bool IsEmpty => ForwardPre.Count == 0 && Forward.Count == 0 && Backward.Count == 0 && BackwardPre.Count == 0;
    }

    /// <summary>True when a hook is registered on this module (not on its children).</summary>
    public bool HasHooks => _hooks is not null;

    /// <summary>
    /// Registers a hook that runs before every <c>Call</c> of this module; <paramref name="prepend"/>
    /// runs it before the hooks already registered.
    /// </summary>
    public HookHandle RegisterForwardPreHook(ForwardPreHook hook, bool prepend = false) =>
        Add((_hooks ??= new()).ForwardPre, hook, prepend);

    /// <summary>
    /// Registers a hook that runs after every <c>Call</c> of this module; <paramref name="prepend"/>
    /// runs it before the hooks already registered.
    /// </summary>
    public HookHandle RegisterForwardHook(ForwardHook hook, bool prepend = false) =>
        Add((_hooks ??= new()).Forward, hook, prepend);

    /// <summary>
    /// Registers a hook on the gradients of this module's inputs and outputs (PyTorch's
    /// register_full_backward_hook). The module must take one or two tensors and return one
    /// tensor: the gradients are caught by identity nodes around the call, which other signatures
    /// (tuples of states, for instance) would need a tensor-by-tensor repacking for.
    /// </summary>
    public HookHandle RegisterFullBackwardHook(BackwardHook hook, bool prepend = false)
    {
        RequireTensorSignature(nameof(RegisterFullBackwardHook));
        return Add((_hooks ??= new()).Backward, hook, prepend);
    }

    /// <summary>
    /// Registers a hook on the gradients of this module's outputs, before those of its inputs are
    /// computed (PyTorch's register_full_backward_pre_hook); same signatures as
    /// <see cref="RegisterFullBackwardHook"/>.
    /// </summary>
    public HookHandle RegisterFullBackwardPreHook(BackwardPreHook hook, bool prepend = false)
    {
        RequireTensorSignature(nameof(RegisterFullBackwardPreHook));
        return Add((_hooks ??= new()).BackwardPre, hook, prepend);
    }

    void RequireTensorSignature(string what)
    {
        if (this is not (Module<Tensor, Tensor> or Module<Tensor, Tensor, Tensor>))
            throw new NotSupportedException($"{what}: {GetType().Name} does not take one or two tensors and return one tensor; backward hooks are supported on such modules only (hook the tensors themselves with Tensor.RegisterHook otherwise)");
    }

    HookHandle Add<T>(List<T> list, T hook, bool prepend) where T : Delegate
    {
        ArgumentNullException.ThrowIfNull(hook);
        if (prepend) list.Insert(0, hook);
        else list.Add(hook);
        return new HookHandle(this, hook);
    }

    internal void RemoveHook(Delegate hook)
    {
        var hooks = _hooks;
        if (hooks is null) return;
        switch (hook)
        {
            case ForwardPreHook h: hooks.ForwardPre.Remove(h); break;
            case ForwardHook h: hooks.Forward.Remove(h); break;
            case BackwardHook h: hooks.Backward.Remove(h); break;
            case BackwardPreHook h: hooks.BackwardPre.Remove(h); break;
        }
        if (hooks.IsEmpty) _hooks = null;
    }

    /// <summary>
    /// Runs <paramref name="forward"/> inside this module's hooks, in PyTorch's order: forward
    /// pre-hooks (which may replace the input), the backward hooks' identity node on the inputs, the
    /// forward, forward hooks (which may replace the output), the identity node on the output. For
    /// the Call of a module's own forward signatures, and of extra ones (a Transformer layer's masks).
    /// </summary>
    protected TOut CallWithHooks<TIn, TOut>(TIn input, Func<TIn, TOut> forward)
    {
        var hooks = _hooks;
        if (hooks is null) return forward(input);
        object boxed = input!;
        foreach (var pre in hooks.ForwardPre.ToArray())
            if (pre(this, boxed) is { } replaced) boxed = As<TIn>(replaced, "forward pre-hook", "input")!;
        BackwardHookState? state = null;
        if (hooks.Backward.Count + hooks.BackwardPre.Count > 0 && Autograd.IsGradEnabled)
        {
            state = new BackwardHookState(this, hooks);
            boxed = state.WrapInputs(boxed);
        }
        object output = forward((TIn)boxed)!;
        foreach (var post in hooks.Forward.ToArray())
            if (post(this, boxed, output) is { } replaced) output = As<TOut>(replaced, "forward hook", "output")!;
        if (state is not null) output = state.WrapOutput(output);
        return (TOut)output;
    }

    object As<T>(object value, string hook, string what) => value is T
        ? value
        : throw new InvalidOperationException($"{GetType().Name}: a {hook} returned a {value.GetType().Name} as the {what}; expected {typeof(T).Name} (return null to keep the {what})");

    /// <summary>
    /// One hooked call's backward hooks: identity nodes around its inputs and its output catch the
    /// gradients as they pass, as PyTorch's BackwardHookFunction does. The output's node runs first
    /// in backward (it is later in the graph) and keeps the output gradients for the input's node.
    /// </summary>
    sealed class BackwardHookState(Module module, HookLists hooks)
    {
        readonly BackwardHook[] _backward = [.. hooks.Backward];
        readonly BackwardPreHook[] _backwardPre = [.. hooks.BackwardPre];
        Tensor?[]? _gradOutput;
        int _inputCount = 1;
        bool _inputsWrapped;

        // Tensors or a pair of them, as RequireTensorSignature admitted.
        public object WrapInputs(object input)
        {
            Tensor[] tensors = input switch
            {
                Tensor t => [t],
                ITuple pair => [(Tensor)pair[0]!, (Tensor)pair[1]!],
                _ => throw new InvalidOperationException($"{module.GetType().Name}: backward hooks need tensor inputs"),
            };
            _inputCount = tensors.Length;
            if (!tensors.Any(t => t.RequiresGrad)) return input;
            _inputsWrapped = true;
            var wrapped = new Node(this, isOutput: false).Apply(tensors);
            return tensors.Length == 1 ? wrapped[0] : (wrapped[0], wrapped[1]);
        }

        public object WrapOutput(object output)
        {
            var y = (Tensor)output;
            return y.RequiresGrad ? new Node(this, isOutput: true).Apply(y)[0] : y;
        }

        Tensor?[] OnOutputGradients(Tensor?[] grads)
        {
            foreach (var pre in _backwardPre)
                if (pre(module, grads) is { } replaced) grads = Checked(replaced, grads.Length, "backward pre-hook");
            _gradOutput = grads;
            // No input needs a gradient, so the inputs' node never runs: PyTorch calls the hooks
            // here with no input gradients.
            if (!_inputsWrapped) CallBackwardHooks(new Tensor?[_inputCount]);
            return grads;
        }

        Tensor?[] OnInputGradients(Tensor?[] grads) => CallBackwardHooks(grads);

        Tensor?[] CallBackwardHooks(Tensor?[] gradInput)
        {
            foreach (var hook in _backward)
                if (hook(module, gradInput, _gradOutput ?? []) is { } replaced) gradInput = Checked(replaced, gradInput.Length, "full backward hook");
            return gradInput;
        }

        Tensor?[] Checked(Tensor?[] grads, int count, string hook) => grads.Length == count
            ? grads
            : throw new InvalidOperationException($"{module.GetType().Name}: a {hook} returned {grads.Length} gradients; expected {count}");

        sealed class Node(BackwardHookState state, bool isOutput) : MultiOutputFunction
        {
            public override string Name => "BackwardHookFunctionBackward";

            // The module's hooks are user code and may keep the gradients they are shown.
            internal override bool KeepsNothing => false;

            protected override Tensor[] Forward(Context ctx, Tensor[] inputs) => inputs;

            protected override Tensor?[] Backward(Context ctx, Tensor?[] grads) =>
                isOutput ? state.OnOutputGradients(grads) : state.OnInputGradients(grads);
        }
    }
}
