using MetaGrad.NN;
using MetaGrad.Backends;

namespace MetaGrad.Functions;

/// <summary>
/// One direction of a recurrent layer over all its steps as one node (as cuDNN and PyTorch's fused
/// cells do): the backend runs the steps and their backpropagation through time, so a step costs a
/// matrix product and a pass over the gates instead of a dozen recorded nodes. Inputs are gi (the
/// input half of the gates for every row of the packed layout), h0, c0 for the LSTM, W_hh, b_hh
/// when there is a bias and b_ih when it is given here rather than inside gi; the outputs are the
/// output of every row [rows, H], the final h [N, H] and, for the LSTM, the final c [N, H]: views of
/// the backend's States, each with a gradient of its own.
/// <see cref="Composite"/> is the same computation in tensor operations: the backward falls back to
/// it when the backward itself is recorded (higher-order gradients), and tests hold the two equal.
/// </summary>
internal sealed class RecurrentLayer(RecurrentKind kind, int[] batchSizes, bool reverse, RecurrentLayout layout) : MultiOutputFunction
{
    internal (RecurrentKind Kind, int[] BatchSizes, bool Reverse, RecurrentLayout Layout) Settings => (kind, batchSizes, reverse, layout);

    int[][] _outputShapes = [];

    /// <summary>One direction's outputs of every row and final states, recorded as one node.</summary>
    public static RecurrentOutputs Run(RecurrentKind kind, Tensor gi, Tensor h0, Tensor? c0, Tensor weightHh, Tensor? biasHh, int[] batchSizes, bool reverse,
        Tensor? biasIh = null)
    {
        var layout = new RecurrentLayout(kind == RecurrentKind.Lstm, biasHh is not null, biasIh is not null);
        var inputs = layout.Flatten(gi, h0, c0, weightHh, biasHh, biasIh)!;
        // The kernel reads every operand as one element type: the modules checked it, naming themselves.
        System.Diagnostics.Debug.Assert(gi.DType.IsFloatingPoint() && inputs.All(t => t!.DType == gi.DType), $"{kind}: operands of several dtypes");
        // A backend without the fused kernels runs the same equations as recorded tensor operations.
        if (gi.Backend is not IFusedKernels) return Composite(kind, gi, h0, c0, weightHh, biasHh, batchSizes, reverse, biasIh);
        var outputs = new RecurrentLayer(kind, batchSizes, reverse, layout).Apply(inputs!);
        return new RecurrentOutputs(outputs[0], outputs[1], layout.HasC0 ? outputs[2] : null);
    }

    protected override Tensor[] Forward(Context ctx, Tensor[] inputs)
    {
        var (gi, h0, c0, weight, bias, biasIh) = layout.Read(inputs);
        bool trace = ctx.NeedsInputGrad.Any(x => x);
        var result = ((IFusedKernels)gi.Backend).RecurrentForward(kind, gi, h0, c0, weight, bias, biasIh, batchSizes, reverse, trace);
        // The inputs are kept for the recorded (higher-order) fallback, then the trace.
        if (trace) ctx.Save([.. inputs, .. Traced(result)]);
        int rows = gi.Shape[0], n = h0.Shape[0];
        Tensor states = result.States;
        Tensor[] outputs = kind == RecurrentKind.Lstm
            ? [states.Narrow(0, 0, rows), states.Narrow(0, rows, n), states.Narrow(0, rows + n, n)]
            : [states.Narrow(0, 0, rows), states.Narrow(0, rows, n)];
        _outputShapes = [.. outputs.Select(o => o.Shape.ToArray())];
        return outputs;
    }

    protected override Tensor?[] Backward(Context ctx, Tensor?[] grads)
    {
        var saved = ctx.Saved;   // checks that no input or the output was changed in place since
        var inputs = new Tensor[ctx.NeedsInputGrad.Count];
        for (int i = 0; i < inputs.Length; i++) inputs[i] = saved[i];
        // The recorded form differentiates the stacked States; the kernel takes the three parts as
        // they came (a missing one is zero), with no copy of them into one tensor.
        if (Autograd.IsGradEnabled) return RecordedBackward(ctx, inputs, Concatenated(grads, _outputShapes, 0));
        return FusedBackward(ctx, inputs, Untraced(kind, saved, inputs.Length), grads);
    }

    // The trace saved after the inputs, and read back: States, then Gates (not for the plain RNN),
    // Previous, then Cells (LSTM only).
    static Tensor[] Traced(RecurrentTrace t) =>
        [t.States, .. new[] { t.Gates, t.Previous, t.Cells }.Where(r => r is not null).Select(r => (Tensor)r!.Value)];

    static RecurrentTrace Untraced(RecurrentKind kind, SavedTensors saved, int at)
    {
        var states = saved[at++];
        var gates = kind is RecurrentKind.Lstm or RecurrentKind.Gru ? saved[at++] : null;
        var previous = saved[at++];
        var cells = kind == RecurrentKind.Lstm ? saved[at] : null;
        return new RecurrentTrace(states, gates, previous, cells);
    }

    Tensor?[] FusedBackward(Context ctx, Tensor[] inputs, RecurrentTrace trace, Tensor?[] grads)
    {
        var weight = layout.Read(inputs).WeightHh;
        var kernels = (IFusedKernels)grads.First(x => x is not null)!.Backend;
        // The gates are saved right after the inputs and the States (see Traced).
        bool overwriteGates = kind == RecurrentKind.Lstm && ctx.MayOverwrite(inputs.Length + 1);
        var states = new RecurrentStateGradients(grads[0], grads[1], grads.Length > 2 ? grads[2] : null);
        var g = kernels.RecurrentBackward(kind, trace, states, weight, batchSizes, reverse, layout.HasBiasIh && ctx.NeedsInputGrad[^1], overwriteGates);
        var all = layout.Flatten(g.Input, g.H0, g.C0, g.WeightHh, g.BiasHh, g.BiasIh);
        var result = new Tensor?[inputs.Length];
        for (int i = 0; i < inputs.Length; i++) result[i] = ctx.NeedsInputGrad[i] ? all[i] : null;
        return result;
    }

    // Recomputes the layer from its inputs in tensor operations and differentiates that with the
    // graph recorded: slower, but every derivative of it is exact, however high the order.
    Tensor?[] RecordedBackward(Context ctx, Tensor[] inputs, Tensor grad)
    {
        var (gi, h0, c0, weight, bias, biasIh) = layout.Read(inputs);
        var states = Composite(kind, gi, h0, c0, weight, bias, batchSizes, reverse, biasIh).Stacked();
        var wanted = Enumerable.Range(0, inputs.Length).Where(i => ctx.NeedsInputGrad[i]).ToArray();
        var grads = Autograd.Grad([states], [.. wanted.Select(i => inputs[i])], [grad], createGraph: true, allowUnused: true);
        var result = new Tensor?[inputs.Length];
        for (int k = 0; k < wanted.Length; k++) result[wanted[k]] = grads[k];
        return result;
    }

    /// <summary>
    /// The layer in tensor operations, step by step from PyTorch's documented equations: the
    /// reference the fused kernel is tested against. Sequences are sorted longest first, so the
    /// active ones at any step are the first batch_sizes[t] rows of the state; the rest keep their
    /// state untouched (finished going forwards, not yet started going backwards).
    /// </summary>
    /// <remarks>An LSTM with projections (proj_size) passes <paramref name="weightHr"/>: h = (o ⊙ tanh c)·W_hrᵀ.</remarks>
    public static RecurrentOutputs Composite(RecurrentKind kind, Tensor gi, Tensor h, Tensor? c, Tensor weightHh, Tensor? biasHh, int[] batchSizes, bool reverse,
        Tensor? biasIh = null, Tensor? weightHr = null)
    {
        if (biasIh is not null) gi = gi + biasIh;
        int steps = batchSizes.Length;
        var offsets = new int[steps];
        for (int t = 1; t < steps; t++) offsets[t] = offsets[t - 1] + batchSizes[t - 1];
        var outputs = new Tensor[steps];
        for (int s = 0; s < steps; s++)
        {
            int t = reverse ? steps - 1 - s : s, active = batchSizes[t];
            var (hNext, cNext) = Step(kind, gi.Narrow(0, offsets[t], active), Rows(h, active), c is null ? null : Rows(c, active), weightHh, biasHh, weightHr);
            outputs[t] = hNext;
            h = Merge(hNext, h);
            if (c is not null) c = Merge(cNext!, c);
        }
        return new RecurrentOutputs(Tensor.Cat(outputs, 0), h, c);
    }

    /// <summary>The next hidden state (and cell state for the LSTM) from the input half of the gates gi = x·W_ihᵀ + b_ih.</summary>
    public static (Tensor H, Tensor? C) Step(RecurrentKind kind, Tensor gi, Tensor h, Tensor? c, Tensor weightHh, Tensor? biasHh, Tensor? weightHr = null)
    {
        var gh = NN.Functional.Linear(h, weightHh, biasHh);
        switch (kind)
        {
            case RecurrentKind.RnnTanh: return ((gi + gh).Tanh(), null);
            case RecurrentKind.RnnRelu: return ((gi + gh).Relu(), null);
            case RecurrentKind.Lstm:
            {
                // c' = σ(f)⊙c + σ(i)⊙tanh(g),  h' = σ(o)⊙tanh(c')
                var gates = (gi + gh).Chunk(4, -1);
                var cNext = gates[1].Sigmoid() * c! + gates[0].Sigmoid() * gates[2].Tanh();
                var hNext = gates[3].Sigmoid() * cNext.Tanh();
                return (weightHr is null ? hNext : NN.Functional.Linear(hNext, weightHr, null), cNext);
            }
            default:
            {
                // r and z see both halves summed; n sees the reset gate applied to the recurrent half only,
                // n = tanh(W_in x + b_in + r⊙(W_hn h + b_hn)),  h' = (1 - z)⊙n + z⊙h, computed as n + z⊙(h - n)
                var i = gi.Chunk(3, -1);
                var r = gh.Chunk(3, -1);
                var reset = (i[0] + r[0]).Sigmoid();
                var update = (i[1] + r[1]).Sigmoid();
                var n = (i[2] + reset * r[2]).Tanh();
                return (n + update * (h - n), null);
            }
        }
    }

    static Tensor Rows(Tensor state, int active) => active == state.Shape[0] ? state : state.Narrow(0, 0, active);

    static Tensor Merge(Tensor active, Tensor state) => active.Shape[0] == state.Shape[0] ? active :
        Tensor.Cat([active, state.Narrow(0, active.Shape[0], state.Shape[0] - active.Shape[0])], 0);
}

/// <summary>A recurrent layer's output for every row of the packed layout, and its final states.</summary>
internal readonly record struct RecurrentOutputs(Tensor Output, Tensor H, Tensor? C)
{
    /// <summary>[rows + N(+N), H]: the backend's States layout, for comparing two forms of the layer.</summary>
    public Tensor Stacked() => Tensor.Cat([Output, H, .. C is null ? Array.Empty<Tensor>() : [C]], 0);
}

/// <summary>
/// Which optional inputs a recurrent layer's node has (c0 for the LSTM, b_hh, b_ih), so that its flat
/// list of inputs (gi, h0, c0, W_hh, b_hh, b_ih, the absent ones left out), and of their gradients,
/// is written and read by name in one place rather than by counting.
/// </summary>
internal readonly record struct RecurrentLayout(bool HasC0, bool HasBiasHh, bool HasBiasIh)
{
    /// <summary>The present entries in input order (gradients too: a present entry may be null).</summary>
    public Tensor?[] Flatten(Tensor? gi, Tensor? h0, Tensor? c0, Tensor? weightHh, Tensor? biasHh, Tensor? biasIh)
    {
        var list = new List<Tensor?>(6) { gi, h0 };
        if (HasC0) list.Add(c0);
        list.Add(weightHh);
        if (HasBiasHh) list.Add(biasHh);
        if (HasBiasIh) list.Add(biasIh);
        return [.. list];
    }

    /// <summary>The inputs by name from a list that <see cref="Flatten"/> laid out.</summary>
    public (Tensor Gi, Tensor H0, Tensor? C0, Tensor WeightHh, Tensor? BiasHh, Tensor? BiasIh) Read(IReadOnlyList<Tensor> inputs)
    {
        int at = 2;
        var c0 = HasC0 ? inputs[at++] : null;
        var weightHh = inputs[at++];
        var biasHh = HasBiasHh ? inputs[at++] : null;
        var biasIh = HasBiasIh ? inputs[at] : null;
        return (inputs[0], inputs[1], c0, weightHh, biasHh, biasIh);
    }
}
