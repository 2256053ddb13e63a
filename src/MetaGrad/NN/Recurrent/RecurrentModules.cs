using MetaGrad.Functions;

namespace MetaGrad.NN;

/// <summary>
/// Multi-layer, optionally bidirectional recurrent networks (torch.nn.RNNBase): parameters named
/// weight_ih_l{k}, weight_hh_l{k}, bias_ih_l{k}, bias_hh_l{k} with a "_reverse" suffix for the
/// backward direction, so PyTorch state dicts load as they are.
/// </summary>
public abstract class RecurrentModule<TOut> : Module<Tensor, TOut>, IRecurrentLayer
{
    readonly List<(Parameter WeightIh, Parameter WeightHh, Parameter? BiasIh, Parameter? BiasHh)> _cells = [];
    // An LSTM's projections W_hr [proj, H] per layer and direction (proj_size), else empty.
    readonly List<Parameter> _projections = [];
    private protected readonly RecurrentKind Kind;
    readonly bool _bias;

    /// <summary>Features of the input.</summary>
    public int InputSize { get; }
    /// <summary>Features of each direction's hidden state.</summary>
    public int HiddenSize { get; }
    /// <summary>Stacked layers; each after the first reads the previous one's output.</summary>
    public int NumLayers { get; }
    /// <summary>The size of h when an LSTM projects it (PyTorch's proj_size), or 0.</summary>
    public int ProjSize { get; }

    // What h holds, and so each direction's output: the projection when there is one.
    int StateSize => ProjSize > 0 ? ProjSize : HiddenSize;

    /// <summary>Whether each layer also runs backwards in time, its output concatenated to the forward one.</summary>
    public bool Bidirectional { get; }
    /// <summary>Whether input and output are [N, T, features] rather than [T, N, features] (states are never batch first).</summary>
    public bool BatchFirst { get; }
    /// <summary>Dropout probability on the outputs of every layer but the last, in training.</summary>
    public double Dropout { get; }

    int Directions => Bidirectional ? 2 : 1;

    // The generator given at construction draws the dropout masks too (null: the default generator).
    readonly Generator? _generator;

    private protected RecurrentModule(RecurrentKind kind, int inputSize, int hiddenSize, int numLayers, bool bias, bool batchFirst,
        double dropout, bool bidirectional, DType? dtype, Generator? generator, int projSize = 0)
    {
        if (numLayers < 1) throw new ArgumentException($"{GetType().Name}: num_layers must be at least 1, got {numLayers}");
        if (dropout < 0 || dropout > 1) throw new ArgumentException($"{GetType().Name}: dropout should be a number in range [0, 1], got {dropout}");
        (Kind, InputSize, HiddenSize, NumLayers, _bias, BatchFirst, Dropout, Bidirectional) =
            (kind, inputSize, hiddenSize, numLayers, bias, batchFirst, dropout, bidirectional);
        _generator = generator;
        if (projSize < 0) throw new ArgumentException($"{GetType().Name}: proj_size should be a positive integer or zero to disable projections, got {projSize}");
        if (projSize >= hiddenSize && projSize > 0) throw new ArgumentException($"{GetType().Name}: proj_size ({projSize}) has to be smaller than hidden_size ({hiddenSize})");
        ProjSize = projSize;
        // PyTorch's order: layer by layer, forward direction first, each w_ih, w_hh, b_ih, b_hh.
        for (int layer = 0; layer < numLayers; layer++)
            for (int dir = 0; dir < Directions; dir++)
            {
                var cell = RecurrentConventions.Create(kind, layer == 0 ? inputSize : StateSize * Directions, hiddenSize, bias, dtype, generator, projSize);
                string suffix = $"_l{layer}" + (dir == 1 ? "_reverse" : "");
                RegisterParameter("weight_ih" + suffix, cell.WeightIh);
                RegisterParameter("weight_hh" + suffix, cell.WeightHh);
                if (bias)
                {
                    RegisterParameter("bias_ih" + suffix, cell.BiasIh);
                    RegisterParameter("bias_hh" + suffix, cell.BiasHh);
                }
                if (projSize > 0)
                {
                    double bound = 1 / Math.Sqrt(hiddenSize);
                    var projection = new Parameter(Init.Uniform_(Tensor.Empty([projSize, hiddenSize], dtype), -bound, bound, generator));
                    RegisterParameter("weight_hr" + suffix, projection);
                    _projections.Add(projection);
                }
                _cells.Add(cell);
            }
    }

    /// <summary>
    /// Runs a padded input [T, N, in] ([N, T, in] batch first, or unbatched [T, in]) from the given
    /// states [D·layers, N, H] ([D·layers, H] unbatched; zeros when null).
    /// </summary>
    private protected (Tensor Output, Tensor H, Tensor? C) RunPadded(Tensor input, Tensor? h0, Tensor? c0)
    {
        if (input.NDim is not (2 or 3) || input.Shape[^1] != InputSize)
            throw new ArgumentException($"{GetType().Name}: expected input of shape [T, N, {InputSize}] (batch first: [N, T, {InputSize}]) or unbatched [T, {InputSize}], got {ShapeMath.Format(input.Shape.ToArray())}");
        RequireSharedDType(input, h0, c0);
        bool unbatched = input.NDim == 2;
        if (unbatched) input = input.Unsqueeze(BatchFirst ? 0 : 1);
        if (BatchFirst) input = input.Transpose(0, 1);
        int steps = input.Shape[0], n = input.Shape[1];
        var h = InitialState(h0, n, unbatched, input.DType, "hidden");
        var c = Kind == RecurrentKind.Lstm ? InitialState(c0, n, unbatched, input.DType, "cell") : null;
        // A padded batch is the packed layout with every batch size N: rows t·N..t·N+N-1 are step t.
        var (data, hn, cn) = Run(input.Reshape(steps * n, InputSize), Enumerable.Repeat(n, steps).ToArray(), h, c);
        var output = data.Reshape(steps, n, Directions * StateSize);
        if (BatchFirst) output = output.Transpose(0, 1);
        if (unbatched) return (output.Squeeze(BatchFirst ? 0 : 1), hn.Squeeze(1), cn?.Squeeze(1));
        return (output, hn, cn);
    }

    /// <summary>
    /// Runs a packed batch: step t computes only the first batch_sizes[t] sequences, so padding is
    /// never computed and each sequence's final state is the one after its own last step. States
    /// are in the caller's batch order (permuted by sorted_indices in and unsorted_indices out).
    /// </summary>
    private protected (PackedSequence Output, Tensor H, Tensor? C) RunPacked(PackedSequence input, Tensor? h0, Tensor? c0)
    {
        if (input.Data.NDim != 2 || input.Data.Shape[1] != InputSize)
            throw new ArgumentException($"{GetType().Name}: expected packed data of shape [rows, {InputSize}], got {ShapeMath.Format(input.Data.Shape.ToArray())}");
        RequireSharedDType(input.Data, h0, c0);
        var batchSizes = input.BatchSizes.ToArray<long>().Select(b => (int)b).ToArray();
        int n = batchSizes.Length == 0 ? 0 : batchSizes[0];
        Tensor Sorted(Tensor s) => input.SortedIndices is null ? s : s.IndexSelect(1, input.SortedIndices);
        Tensor Unsorted(Tensor s) => input.UnsortedIndices is null ? s : s.IndexSelect(1, input.UnsortedIndices);
        var h = h0 is null ? InitialState(null, n, false, input.Data.DType, "hidden") : Sorted(InitialState(h0, n, false, input.Data.DType, "hidden"));
        Tensor? c = null;
        if (Kind == RecurrentKind.Lstm)
            c = c0 is null ? InitialState(null, n, false, input.Data.DType, "cell") : Sorted(InitialState(c0, n, false, input.Data.DType, "cell"));
        var (data, hn, cn) = Run(input.Data, batchSizes, h, c);
        return (input with { Data = data }, Unsorted(hn), cn is null ? null : Unsorted(cn));
    }

    // The one dtype check of a run: the input, the given states and every parameter share one
    // floating dtype (the layers below, down to the kernel, rely on it).
    void RequireSharedDType(Tensor input, Tensor? h0, Tensor? c0) =>
        RequireDType($"{GetType().Name} ({Kind})", input, [.. _cells.SelectMany(c => new Tensor?[] { c.WeightIh, c.WeightHh, c.BiasIh, c.BiasHh }), .. _projections, h0, c0]);

    Tensor InitialState(Tensor? state, int n, bool unbatched, DType dtype, string what)
    {
        int layers = NumLayers * Directions;
        int size = what == "cell" ? HiddenSize : StateSize;   // the cell state is never projected
        if (state is null) return Tensor.Zeros([layers, n, size], dtype);
        int[] expected = unbatched ? [layers, size] : [layers, n, size];
        if (!state.Shape.SequenceEqual(expected))
            throw new ArgumentException($"{GetType().Name}: expected {what} state of shape {ShapeMath.Format(expected)}, got {ShapeMath.Format(state.Shape.ToArray())}");
        return unbatched ? state.Unsqueeze(1) : state;
    }

    // Time-major rows (the packed layout) through every layer and direction; states [D·layers, N, H].
    (Tensor Data, Tensor H, Tensor? C) Run(Tensor data, int[] batchSizes, Tensor h0, Tensor? c0)
    {
        var hn = new Tensor[_cells.Count];
        var cn = c0 is null ? null : new Tensor[_cells.Count];
        for (int layer = 0; layer < NumLayers; layer++)
        {
            var outputs = new Tensor[Directions];
            for (int dir = 0; dir < Directions; dir++)
            {
                int k = layer * Directions + dir;
                var (weightIh, weightHh, biasIh, biasHh) = _cells[k];
                // The input half of every step in one product; b_ih joins it inside the layer's node.
                var gi = Functional.Linear(data, weightIh);
                // One direction of one layer is one fused node; with projections (no fused kernel for
                // them yet) it is the step-by-step composition of PyTorch's equations.
                (outputs[dir], hn[k], var c) = ProjSize > 0
                    ? RecurrentLayer.Composite(Kind, gi, h0.Select(0, k), c0?.Select(0, k), weightHh, biasHh, batchSizes, reverse: dir == 1, biasIh, _projections[k])
                    : Ops.RecurrentLayer(Kind, gi, h0.Select(0, k), c0?.Select(0, k), weightHh, biasHh, batchSizes, reverse: dir == 1, biasIh);
                if (cn is not null) cn[k] = c!;
            }
            data = Directions == 1 ? outputs[0] : Tensor.Cat(outputs, 1);
            if (layer < NumLayers - 1) data = Functional.Dropout(data, Dropout, Training, _generator);
        }
        return (data, Tensor.Stack(hn), cn is null ? null : Tensor.Stack(cn));
    }


    /// <inheritdoc/>
    protected override string ExtraRepr() => FormattableString.Invariant($"{InputSize}, {HiddenSize}") +
        (NumLayers != 1 ? $", num_layers={NumLayers}" : "") + (!_bias ? ", bias=False" : "") + (BatchFirst ? ", batch_first=True" : "") +
        (Dropout != 0 ? FormattableString.Invariant($", dropout={Dropout}") : "") + (Bidirectional ? ", bidirectional=True" : "") +
        (ProjSize > 0 ? $", proj_size={ProjSize}" : "");
}

/// <summary>The forward passes of the recurrent modules whose state is h alone (RNN and GRU).</summary>
public abstract class HiddenStateRecurrentModule : RecurrentModule<(Tensor Output, Tensor H)>
{
    private protected HiddenStateRecurrentModule(RecurrentKind kind, int inputSize, int hiddenSize, int numLayers, bool bias, bool batchFirst,
        double dropout, bool bidirectional, DType? dtype, Generator? generator)
        : base(kind, inputSize, hiddenSize, numLayers, bias, batchFirst, dropout, bidirectional, dtype, generator) { }

    /// <inheritdoc/>
    public override (Tensor Output, Tensor H) Forward(Tensor input) => Forward(input, null);

    /// <summary>Output [T, N, D·H] (the last layer at every step) and h_n [D·layers, N, H], from h0 (zeros when null).</summary>
    public (Tensor Output, Tensor H) Forward(Tensor input, Tensor? h0)
    {
        var (output, h, _) = RunPadded(input, h0, null);
        return (output, h);
    }

    /// <summary>The same over a packed batch: a packed output and the state after each sequence's last step.</summary>
    public (PackedSequence Output, Tensor H) Forward(PackedSequence input, Tensor? h0 = null)
    {
        var (output, h, _) = RunPacked(input, h0, null);
        return (output, h);
    }
}

/// <summary>An Elman network, h_t = tanh(x_t·W_ihᵀ + b_ih + h_{t-1}·W_hhᵀ + b_hh) or relu (torch.nn.RNN).</summary>
public sealed class RNN : HiddenStateRecurrentModule
{
    /// <summary>An RNN; every weight and bias ~ U(-1/√H, 1/√H) as in PyTorch.</summary>
    public RNN(int inputSize, int hiddenSize, int numLayers = 1, string nonlinearity = "tanh", bool bias = true, bool batchFirst = false,
        double dropout = 0, bool bidirectional = false, DType? dtype = null, Generator? generator = null)
        : base(RecurrentConventions.RnnKind(nonlinearity), inputSize, hiddenSize, numLayers, bias, batchFirst, dropout, bidirectional, dtype, generator) { }
}

/// <summary>Long short-term memory with PyTorch's gate order i, f, g, o (torch.nn.LSTM).</summary>
public sealed class LSTM : RecurrentModule<(Tensor Output, (Tensor H, Tensor C) State)>
{
    /// <summary>
    /// An LSTM; every weight and bias ~ U(-1/√H, 1/√H) as in PyTorch. With <paramref name="projSize"/>
    /// (PyTorch's proj_size, below hiddenSize) each step's h is projected, h = (o ⊙ tanh c)·W_hrᵀ by
    /// a weight_hr_l{k} [projSize, H]: outputs and h are projSize wide, c stays H.
    /// </summary>
    public LSTM(int inputSize, int hiddenSize, int numLayers = 1, bool bias = true, bool batchFirst = false,
        double dropout = 0, bool bidirectional = false, DType? dtype = null, Generator? generator = null, int projSize = 0)
        : base(RecurrentKind.Lstm, inputSize, hiddenSize, numLayers, bias, batchFirst, dropout, bidirectional, dtype, generator, projSize) { }

    /// <inheritdoc/>
    public override (Tensor Output, (Tensor H, Tensor C) State) Forward(Tensor input) => Forward(input, null);

    /// <summary>Forward from a given state inside the module's hooks (PyTorch's <c>lstm(x, (h0, c0))</c>); hooks see the input.</summary>
    public (Tensor Output, (Tensor H, Tensor C) State) Call(Tensor input, (Tensor H, Tensor C)? state) =>
        HasHooks ? CallWithHooks(input, x => Forward(x, state)) : Forward(input, state);

    /// <summary>
    /// Output [T, N, D·H] and (h_n, c_n), each [D·layers, N, H], from (h0, c0) (zeros when null);
    /// with projections the output and h are proj_size wide instead of H.
    /// </summary>
    public (Tensor Output, (Tensor H, Tensor C) State) Forward(Tensor input, (Tensor H, Tensor C)? state)
    {
        var (output, h, c) = RunPadded(input, state?.H, state?.C);
        return (output, (h, c!));
    }

    /// <summary>The same over a packed batch: a packed output and the states after each sequence's last step.</summary>
    public (PackedSequence Output, (Tensor H, Tensor C) State) Forward(PackedSequence input, (Tensor H, Tensor C)? state = null)
    {
        var (output, h, c) = RunPacked(input, state?.H, state?.C);
        return (output, (h, c!));
    }
}

/// <summary>Gated recurrent units with PyTorch's gate order r, z, n (torch.nn.GRU).</summary>
public sealed class GRU : HiddenStateRecurrentModule
{
    /// <summary>A GRU; every weight and bias ~ U(-1/√H, 1/√H) as in PyTorch.</summary>
    public GRU(int inputSize, int hiddenSize, int numLayers = 1, bool bias = true, bool batchFirst = false,
        double dropout = 0, bool bidirectional = false, DType? dtype = null, Generator? generator = null)
        : base(RecurrentKind.Gru, inputSize, hiddenSize, numLayers, bias, batchFirst, dropout, bidirectional, dtype, generator) { }
}

/// <summary>What the model summary needs of a recurrent layer whatever its output type.</summary>
internal interface IRecurrentLayer
{
    /// <summary>Features of the input.</summary>
    int InputSize { get; }
}
