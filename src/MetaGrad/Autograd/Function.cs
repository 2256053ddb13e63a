namespace MetaGrad;

/// <summary>
/// A differentiable operation and, once applied, its node in the graph (PyTorch's
/// autograd.Function and grad_fn in one). Subclasses write Forward on raw tensors (it runs with
/// grad mode off) and Backward as tensor operations, so that a graph of the backward itself can be
/// recorded for higher-order gradients. Create a new instance per call: it holds that call's context.
/// </summary>
public abstract class Function
{
    /// <summary>Where each input's gradient goes: the input's own node, a leaf, or nowhere.</summary>
    internal Edge[] Edges = [];

    /// <summary>Hooks on the gradients of this node's outputs, by output (RegisterHook and RetainGrad on non-leaves).</summary>
    internal List<(int Output, Func<Tensor, Tensor?> Hook)>? OutputHooks;

    /// <summary>How many tensors the forward returned (one except for a <see cref="MultiOutputFunction"/>).</summary>
    internal int OutputCount = 1;

    /// <summary>Gradients a backward returned as rows only, by input; the engine takes them right after it.</summary>
    internal RowSparseGradient?[]? SparseGrads;

    /// <summary>
    /// Returns input <paramref name="input"/>'s gradient as rows only (an embedding's with sparse:
    /// true), in place of a dense one: the engine decides where it goes, the rows themselves into a
    /// plain leaf's <see cref="Tensor.SparseGrad"/>, a dense tensor wherever a tensor is needed.
    /// </summary>
    private protected void ReturnSparse(int input, RowSparseGradient gradient) =>
        (SparseGrads ??= new RowSparseGradient?[Edges.Length])[input] = gradient;

    /// <summary>In anomaly mode, the user's call that created this node and its inputs' shapes.</summary>
    internal string? CreationTrace, CreationShapes;

    /// <summary>The context shared by this call's Forward and Backward.</summary>
    protected Context Ctx { get; } = new();

    /// <summary>The name PyTorch would print for this node, e.g. MulBackward.</summary>
    public virtual string Name => GetType().Name + "Backward";

    // The forward call's name in the profiler: the node's without "Backward".
    string ForwardName => Name.EndsWith("Backward", StringComparison.Ordinal) ? Name[..^"Backward".Length] : Name;

    /// <summary>The nodes this one sends gradients to (null entries are inputs without gradient).</summary>
    public IReadOnlyList<Function?> NextFunctions => Edges.Select(e => e.Node).ToArray();

    internal abstract Tensor?[] BackwardAll(Tensor grad);

    /// <summary>
    /// Frees the saved tensors; <paramref name="buffersToo"/>: gives back the buffers of those only
    /// this node holds, unless one of <paramref name="returned"/> uses them (<paramref name="pass"/>
    /// then takes such a buffer over, to free once used).
    /// </summary>
    internal void ReleaseSaved(bool buffersToo = false, Tensor?[]? returned = null, OwnedGradients? pass = null) => Ctx.Release(buffersToo, returned, pass);

    /// <summary>Tells the backward about to run whether its saved tensors are freed when it returns (see <see cref="Context.MayOverwrite"/>).</summary>
    internal void WillFreeSaved(bool freed) => Ctx.FreedAfterBackward = freed;

    /// <summary>
    /// Whether this node keeps nothing beyond its calls: neither the gradients its backward receives
    /// or returns, nor (outside its context) the tensors its forward makes. Then the engine may reuse
    /// the buffers of those gradients (see <see cref="OwnedGradients"/>) and of the tensors the
    /// forward made only to save them. True of MetaGrad's own formulas, never assumed of a subclass
    /// written elsewhere.
    /// </summary>
    internal virtual bool KeepsNothing => GetType().Assembly == typeof(Function).Assembly;

    /// <summary>The tensors this node saved for backward, as they are now (empty once freed): for drawing the graph, unchecked.</summary>
    internal IReadOnlyList<Tensor> SavedForDrawing => Ctx.Peek();

    // Recording is split around the forward call (Begin, then forward with grad mode off, then
    // End) rather than taking the forward as a closure: this runs for every operation.

    /// <summary>Fills NeedsInputGrad and says whether the output must be linked into the graph.</summary>
    private protected bool Begin(Tensor[] inputs)
    {
        Ctx.Owner = this;
        Profiler.Active?.Begin(ForwardName, "forward", inputs);
        Tracing.Active?.Begin(this, inputs);
        bool track = false;
        if (Autograd.IsGradEnabled)
            for (int i = 0; i < inputs.Length && !track; i++) track = inputs[i].RequiresGrad;
        if (track)
        {
            var needs = new bool[inputs.Length];
            for (int i = 0; i < inputs.Length; i++) needs[i] = inputs[i].RequiresGrad;
            Ctx.NeedsInputGrad = needs;
        }
        else Ctx.NeedsInputGrad = NoneNeeded(inputs.Length);
        Ctx.Recording = track;
        if (track) Ctx.MadeAfter = Storage.LastSerial;
        return track;
    }

    // All-false flags, shared by the calls that record nothing (most calls inside a backward or
    // under NoGrad): nothing writes NeedsInputGrad after Begin.
    static readonly bool[][] s_noneNeeded = [.. Enumerable.Range(0, 8).Select(n => new bool[n])];

    static bool[] NoneNeeded(int count) => count < s_noneNeeded.Length ? s_noneNeeded[count] : new bool[count];

    /// <summary>Links the output to this node when tracking (and when it is of a floating dtype).</summary>
    private protected Tensor End(bool track, Tensor[] inputs, Tensor output)
    {
        Profiler.Active?.End(ForwardName);
        Tracing.Active?.End(this, inputs, [output]);
        int anomaly = Anomaly.t_mode;
        if (anomaly != Anomaly.Off) Anomaly.OnForward(anomaly, this, inputs, output, recorded: track && output.DType.IsFloatingPoint());
        if (!track || !output.DType.IsFloatingPoint()) return output;
        LinkInputs(inputs);
        if (KeepsNothing) Ctx.FindPrivate(inputs, [output]);
        return Link(inputs, output, 0);
    }

    /// <summary>Links each floating output to this node, as output k, when tracking.</summary>
    private protected Tensor[] End(bool track, Tensor[] inputs, Tensor[] outputs)
    {
        Profiler.Active?.End(ForwardName);
        Tracing.Active?.End(this, inputs, outputs);
        OutputCount = outputs.Length;
        int anomaly = Anomaly.t_mode;
        bool linked = false;
        for (int k = 0; k < outputs.Length; k++)
        {
            bool link = track && outputs[k].DType.IsFloatingPoint();
            if (anomaly != Anomaly.Off) Anomaly.OnForward(anomaly, this, inputs, outputs[k], recorded: link && !linked);
            if (!link) continue;
            if (!linked) LinkInputs(inputs);
            linked = true;
            outputs[k] = Link(inputs, outputs[k], k);
        }
        if (linked && KeepsNothing) Ctx.FindPrivate(inputs, outputs);
        return outputs;
    }

    void LinkInputs(Tensor[] inputs)
    {
        var edges = new Edge[inputs.Length];
        for (int i = 0; i < inputs.Length; i++) edges[i] = Edge.To(inputs[i]);
        Edges = edges;
    }

    Tensor Link(Tensor[] inputs, Tensor output, int k)
    {
        // The output must be a new tensor object even when forward returned an input unchanged.
        if (output.GradFn is not null || output.IsLeafRequiringGrad || Array.IndexOf(inputs, output) >= 0)
            output = output.Alias();
        output.GradFn = this;
        output.OutputNr = k;
        return output;
    }
}

/// <summary>A differentiable operation of one tensor.</summary>
public abstract class UnaryFunction : Function
{
    /// <summary>Computes the output; save what backward needs in ctx.</summary>
    protected abstract Tensor Forward(Context ctx, Tensor x);

    /// <summary>The gradient for x given the gradient of the output (null: none).</summary>
    protected abstract Tensor? Backward(Context ctx, Tensor grad);

    /// <summary>Applies the operation, recording it when x requires grad.</summary>
    public Tensor Apply(Tensor x)
    {
        Tensor[] inputs = [x];
        bool track = Begin(inputs);
        Tensor y;
        using (Autograd.NoGrad()) y = Forward(Ctx, x);
        return End(track, inputs, y);
    }

    internal override Tensor?[] BackwardAll(Tensor grad) => [Backward(Ctx, grad)];
}

/// <summary>A differentiable operation of two tensors.</summary>
public abstract class BinaryFunction : Function
{
    /// <summary>Computes the output; save what backward needs in ctx.</summary>
    protected abstract Tensor Forward(Context ctx, Tensor a, Tensor b);

    /// <summary>
    /// The gradients for a and b. They may keep the output's broadcast shape: the engine sums them
    /// back to each input's shape, so broadcasting needs no code in any backward.
    /// </summary>
    protected abstract (Tensor? A, Tensor? B) Backward(Context ctx, Tensor grad);

    /// <summary>Applies the operation, recording it when an input requires grad.</summary>
    public Tensor Apply(Tensor a, Tensor b)
    {
        Tensor[] inputs = [a, b];
        bool track = Begin(inputs);
        Tensor y;
        using (Autograd.NoGrad()) y = Forward(Ctx, a, b);
        return End(track, inputs, y);
    }

    internal override Tensor?[] BackwardAll(Tensor grad)
    {
        var (ga, gb) = Backward(Ctx, grad);
        return [ga, gb];
    }
}

/// <summary>A differentiable operation of any number of tensors (Cat, Stack).</summary>
public abstract class NaryFunction : Function
{
    /// <summary>Computes the output; save what backward needs in ctx.</summary>
    protected abstract Tensor Forward(Context ctx, Tensor[] inputs);

    /// <summary>One gradient per input.</summary>
    protected abstract Tensor?[] Backward(Context ctx, Tensor grad);

    /// <summary>Applies the operation, recording it when an input requires grad.</summary>
    public Tensor Apply(params Tensor[] inputs)
    {
        bool track = Begin(inputs);
        Tensor y;
        using (Autograd.NoGrad()) y = Forward(Ctx, inputs);
        return End(track, inputs, y);
    }

    internal override Tensor?[] BackwardAll(Tensor grad) => Backward(Ctx, grad);
}

/// <summary>
/// A differentiable operation with several outputs, each with its own gradient (PyTorch's Function
/// returning a tuple; the seed's Function.__call__ with several outputs): a recurrent layer's
/// outputs and final states, for instance, without packing them into one tensor to cut apart.
/// Outputs of an integer dtype (indices) are not linked into the graph.
/// </summary>
public abstract class MultiOutputFunction : Function
{
    /// <summary>Computes the outputs; save what backward needs in ctx.</summary>
    protected abstract Tensor[] Forward(Context ctx, Tensor[] inputs);

    /// <summary>
    /// One gradient per input, given one per output: null for an output that received none (an
    /// unused output costs nothing), so a backward must treat null as zeros.
    /// </summary>
    protected abstract Tensor?[] Backward(Context ctx, Tensor?[] grads);

    /// <summary>Applies the operation, recording it when an input requires grad.</summary>
    public Tensor[] Apply(params Tensor[] inputs)
    {
        bool track = Begin(inputs);
        Tensor[] ys;
        using (Autograd.NoGrad()) ys = Forward(Ctx, inputs);
        return End(track, inputs, ys);
    }

    internal override Tensor?[] BackwardAll(Tensor grad) => Backward(Ctx, [grad]);

    internal Tensor?[] BackwardAll(Tensor?[] grads) => Backward(Ctx, grads);

    /// <summary>
    /// The outputs' gradients concatenated along <paramref name="dim"/>, zeros of the output's shape
    /// where one got none: the backward of outputs that are consecutive pieces of one tensor.
    /// </summary>
    protected static Tensor Concatenated(Tensor?[] grads, int[][] outputShapes, int dim)
    {
        var dtype = grads.First(g => g is not null)!.DType;
        return Tensor.Cat([.. grads.Select((g, k) => g ?? Tensor.Zeros(outputShapes[k], dtype))], dim);
    }
}

/// <summary>
/// Where one input's gradient flows (the output of a node it came from, a leaf, or nowhere), with
/// the input's shape and dtype so the engine can conform it.
/// </summary>
internal readonly record struct Edge(Function? Node, int OutputNr, Tensor? Leaf, int[] Shape, DType DType)
{
    public bool IsNone => Node is null && Leaf is null;

    public static Edge To(Tensor t) =>
        !t.RequiresGrad ? default :
        t.GradFn is { } fn ? new Edge(fn, t.OutputNr, null, t.Layout.Shape, t.DType) :
        new Edge(null, 0, t, t.Layout.Shape, t.DType);
}
