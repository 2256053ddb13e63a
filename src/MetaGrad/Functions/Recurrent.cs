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
internal sealed class RecurrentLayer(RecurrentKind kind, int[] batchSizes, bool reverse, bool hasBiasIh) : MultiOutputFunction
{
    int[][] _outputShapes = [];
    /// <summary>How many H-sized gate blocks the weights hold (LSTM i, f, g, o; GRU r, z, n).</summary>
    public static int Gates(RecurrentKind kind) => kind switch { RecurrentKind.Lstm => 4, RecurrentKind.Gru => 3, _ => 1 };

    /// <summary>One direction's outputs of every row and final states, recorded as one node.</summary>
    public static RecurrentOutputs Run(RecurrentKind kind, Tensor gi, Tensor h0, Tensor? c0, Tensor weightHh, Tensor? biasHh, int[] batchSizes, bool reverse,
        Tensor? biasIh = null)
    {
        var list = new List<Tensor>(6) { gi, h0 };
        if (kind == RecurrentKind.Lstm) list.Add(c0!);
        list.Add(weightHh);
        if (biasHh is not null) list.Add(biasHh);
        if (biasIh is not null) list.Add(biasIh);
        Tensor[] inputs = [.. list];
        // The kernel reads every operand as one element type; PyTorch refuses a mismatch the same way.
        if (!gi.DType.IsFloatingPoint() || inputs.Any(t => t.DType != gi.DType))
            throw new ArgumentException($"{kind}: input and parameters must share one floating dtype, got input {gi.DType} and {string.Join(", ", inputs.Skip(1).Select(t => t.DType).Distinct())}; convert the input with To() or the module's parameters");
        var outputs = new RecurrentLayer(kind, batchSizes, reverse, biasIh is not null).Apply(inputs);
        return new RecurrentOutputs(outputs[0], outputs[1], kind == RecurrentKind.Lstm ? outputs[2] : null);
    }

    protected override Tensor[] Forward(Context ctx, Tensor[] inputs)
    {
        var (gi, h0, c0, weight, bias, biasIh) = Unpack(inputs);
        bool trace = ctx.NeedsInputGrad.Any(x => x);
        var result = gi.Backend.RecurrentForward(kind, gi, h0, c0, weight, bias, biasIh, batchSizes, reverse, trace);
        // The inputs are kept for the recorded (higher-order) fallback, then the trace in a fixed order.
        if (trace) ctx.Save([.. inputs, result.States, .. new[] { result.Gates, result.Previous, result.Cells }.OfType<Tensor>()]);
        int rows = gi.Shape[0], n = h0.Shape[0];
        Tensor[] outputs = kind == RecurrentKind.Lstm
            ? [result.States.Narrow(0, 0, rows), result.States.Narrow(0, rows, n), result.States.Narrow(0, rows + n, n)]
            : [result.States.Narrow(0, 0, rows), result.States.Narrow(0, rows, n)];
        _outputShapes = [.. outputs.Select(o => o.Shape.ToArray())];
        return outputs;
    }

    protected override Tensor?[] Backward(Context ctx, Tensor?[] grads)
    {
        // The kernel takes the gradient of its States as one tensor: an output that got none is zeros.
        var dtype = grads.First(g => g is not null)!.DType;
        var grad = Tensor.Cat([.. grads.Select((g, k) => g ?? Tensor.Zeros(_outputShapes[k], dtype))], 0);
        var saved = ctx.Saved;   // checks that no input or the output was changed in place since
        var inputs = new Tensor[ctx.NeedsInputGrad.Count];
        for (int i = 0; i < inputs.Length; i++) inputs[i] = saved[i];
        if (Autograd.IsGradEnabled) return RecordedBackward(ctx, inputs, grad);
        int at = inputs.Length;
        var trace = kind switch
        {
            RecurrentKind.Lstm => new RecurrentTrace(saved[at], saved[at + 1], saved[at + 2], saved[at + 3]),
            RecurrentKind.Gru => new RecurrentTrace(saved[at], saved[at + 1], saved[at + 2], null),
            _ => new RecurrentTrace(saved[at], null, saved[at + 1], null),
        };
        return FusedBackward(ctx, inputs, trace, grad);
    }

    Tensor?[] FusedBackward(Context ctx, Tensor[] inputs, RecurrentTrace trace, Tensor grad)
    {
        var (_, _, _, weight, biasHh, _) = Unpack(inputs);
        var g = grad.Backend.RecurrentBackward(kind, trace, grad, weight, batchSizes, reverse, hasBiasIh && ctx.NeedsInputGrad[^1]);
        // In the order of the inputs (see Run).
        var all = new List<Tensor?>(6) { g.Input, g.H0 };
        if (kind == RecurrentKind.Lstm) all.Add(g.C0);
        all.Add(g.WeightHh);
        if (biasHh is not null) all.Add(g.BiasHh);
        if (hasBiasIh) all.Add(g.BiasIh);
        var result = new Tensor?[inputs.Length];
        for (int i = 0; i < inputs.Length; i++) result[i] = ctx.NeedsInputGrad[i] ? all[i] : null;
        return result;
    }

    // Recomputes the layer from its inputs in tensor operations and differentiates that with the
    // graph recorded: slower, but every derivative of it is exact, however high the order.
    Tensor?[] RecordedBackward(Context ctx, Tensor[] inputs, Tensor grad)
    {
        var (gi, h0, c0, weight, bias, biasIh) = Unpack(inputs);
        var states = Composite(kind, gi, h0, c0, weight, bias, batchSizes, reverse, biasIh).Stacked();
        var wanted = Enumerable.Range(0, inputs.Length).Where(i => ctx.NeedsInputGrad[i]).ToArray();
        var grads = Autograd.Grad([states], [.. wanted.Select(i => inputs[i])], [grad], createGraph: true, allowUnused: true);
        var result = new Tensor?[inputs.Length];
        for (int k = 0; k < wanted.Length; k++) result[wanted[k]] = grads[k];
        return result;
    }

    (Tensor Gi, Tensor H0, Tensor? C0, Tensor WeightHh, Tensor? BiasHh, Tensor? BiasIh) Unpack(Tensor[] inputs)
    {
        int at = kind == RecurrentKind.Lstm ? 3 : 2;
        bool hasBiasHh = inputs.Length - (at + 1) - (hasBiasIh ? 1 : 0) == 1;
        return (inputs[0], inputs[1], kind == RecurrentKind.Lstm ? inputs[2] : null, inputs[at], hasBiasHh ? inputs[at + 1] : null,
            hasBiasIh ? inputs[^1] : null);
    }

    /// <summary>
    /// The layer in tensor operations, step by step from PyTorch's documented equations: the
    /// reference the fused kernel is tested against. Sequences are sorted longest first, so the
    /// active ones at any step are the first batch_sizes[t] rows of the state; the rest keep their
    /// state untouched (finished going forwards, not yet started going backwards).
    /// </summary>
    public static RecurrentOutputs Composite(RecurrentKind kind, Tensor gi, Tensor h, Tensor? c, Tensor weightHh, Tensor? biasHh, int[] batchSizes, bool reverse,
        Tensor? biasIh = null)
    {
        if (biasIh is not null) gi = gi + biasIh;
        int steps = batchSizes.Length;
        var offsets = new int[steps];
        for (int t = 1; t < steps; t++) offsets[t] = offsets[t - 1] + batchSizes[t - 1];
        var outputs = new Tensor[steps];
        for (int s = 0; s < steps; s++)
        {
            int t = reverse ? steps - 1 - s : s, active = batchSizes[t];
            var (hNext, cNext) = Step(kind, gi.Narrow(0, offsets[t], active), Rows(h, active), c is null ? null : Rows(c, active), weightHh, biasHh);
            outputs[t] = hNext;
            h = Merge(hNext, h);
            if (c is not null) c = Merge(cNext!, c);
        }
        return new RecurrentOutputs(Tensor.Cat(outputs, 0), h, c);
    }

    /// <summary>The next hidden state (and cell state for the LSTM) from the input half of the gates gi = x·W_ihᵀ + b_ih.</summary>
    public static (Tensor H, Tensor? C) Step(RecurrentKind kind, Tensor gi, Tensor h, Tensor? c, Tensor weightHh, Tensor? biasHh)
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
                return (gates[3].Sigmoid() * cNext.Tanh(), cNext);
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
