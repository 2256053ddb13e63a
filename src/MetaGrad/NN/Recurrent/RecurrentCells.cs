using MetaGrad.Functions;

namespace MetaGrad.NN;

/// <summary>
/// PyTorch's conventions that the recurrent cells and modules share: the nonlinearity's name, weight
/// shapes and initialisation, and the shapes of inputs and states (checked, and batched when given
/// unbatched). The step equations themselves are in Functions.RecurrentLayer.
/// </summary>
internal static class RecurrentConventions
{

    /// <summary>The cell kind for RNN's nonlinearity argument.</summary>
    public static RecurrentKind RnnKind(string nonlinearity) => nonlinearity switch
    {
        "tanh" => RecurrentKind.RnnTanh,
        "relu" => RecurrentKind.RnnRelu,
        _ => throw new ArgumentException($"RNN: unknown nonlinearity \"{nonlinearity}\" (expected \"tanh\" or \"relu\")"),
    };

    /// <summary>Weights and biases of one cell, each ~ U(-1/√H, 1/√H) as in PyTorch.</summary>
    public static (Parameter WeightIh, Parameter WeightHh, Parameter? BiasIh, Parameter? BiasHh) Create(
        RecurrentKind kind, int inputSize, int hiddenSize, bool bias, DType? dtype, Generator? generator, int stateSize = 0)
    {
        if (inputSize <= 0 || hiddenSize <= 0)
            throw new ArgumentException($"{kind}: input size and hidden size must be positive, got {inputSize} and {hiddenSize}");
        double bound = 1 / Math.Sqrt(hiddenSize);
        int g = RecurrentKinds.Gates(kind) * hiddenSize;
        Parameter Uniform(params int[] shape) => new(Init.Uniform_(Tensor.Empty(shape, dtype), -bound, bound, generator));
        var weightIh = Uniform(g, inputSize);
        // The recurrent weight reads the state: h itself, or its projection (an LSTM's proj_size).
        var weightHh = Uniform(g, stateSize > 0 ? stateSize : hiddenSize);
        return bias ? (weightIh, weightHh, Uniform(g), Uniform(g)) : (weightIh, weightHh, null, null);
    }

    /// <summary>Checks a cell's input [N, in] or unbatched [in]; returns it batched and whether it was unbatched.</summary>
    public static (Tensor Input, bool Unbatched) Batched(string name, Tensor input, int inputSize)
    {
        if (input.NDim is not (1 or 2) || input.Shape[^1] != inputSize)
            throw new ArgumentException($"{name}: expected input of shape [N, {inputSize}] or [{inputSize}], got {ShapeMath.Format(input.Shape.ToArray())}");
        return input.NDim == 1 ? (input.Unsqueeze(0), true) : (input, false);
    }

    /// <summary>A given state made batched like the input (after checking its shape), or zeros.</summary>
    public static Tensor State(string name, Tensor? state, bool unbatched, Tensor input, int hiddenSize)
    {
        int n = input.Shape[0];
        if (state is null) return Tensor.Zeros([n, hiddenSize], input.DType);
        int[] expected = unbatched ? [hiddenSize] : [n, hiddenSize];
        if (!state.Shape.SequenceEqual(expected))
            throw new ArgumentException($"{name}: expected a state of shape {ShapeMath.Format(expected)}, got {ShapeMath.Format(state.Shape.ToArray())}");
        return unbatched ? state.Unsqueeze(0) : state;
    }
}

/// <summary>Weights and printout shared by the three cells (torch.nn.RNNCellBase).</summary>
public abstract class RecurrentCellBase<TOut> : Module<Tensor, TOut>
{
    /// <summary>[gates·hidden, input].</summary>
    public readonly Parameter WeightIh;
    /// <summary>[gates·hidden, hidden].</summary>
    public readonly Parameter WeightHh;
    /// <summary>[gates·hidden], or null without bias.</summary>
    public readonly Parameter? BiasIh;
    /// <summary>[gates·hidden], or null without bias.</summary>
    public readonly Parameter? BiasHh;
    /// <summary>Features of the input.</summary>
    public int InputSize { get; }
    /// <summary>Features of the hidden state.</summary>
    public int HiddenSize { get; }
    private protected readonly RecurrentKind Kind;

    private protected RecurrentCellBase(RecurrentKind kind, int inputSize, int hiddenSize, bool bias, DType? dtype, Generator? generator)
    {
        (Kind, InputSize, HiddenSize) = (kind, inputSize, hiddenSize);
        (WeightIh, WeightHh, BiasIh, BiasHh) = RecurrentConventions.Create(kind, inputSize, hiddenSize, bias, dtype, generator);
        RegisterParameter("weight_ih", WeightIh);
        RegisterParameter("weight_hh", WeightHh);
        RegisterParameter("bias_ih", BiasIh);
        RegisterParameter("bias_hh", BiasHh);
    }

    private protected (Tensor H, Tensor? C) Step(Tensor input, Tensor? h, Tensor? c, out bool unbatched)
    {
        var name = GetType().Name;
        (input, unbatched) = RecurrentConventions.Batched(name, input, InputSize);
        var h0 = RecurrentConventions.State(name, h, unbatched, input, HiddenSize);
        var c0 = Kind == RecurrentKind.Lstm ? RecurrentConventions.State(name, c, unbatched, input, HiddenSize) : null;
        RequireDType($"{name} ({Kind})", input, WeightIh, WeightHh, BiasIh, BiasHh, h0, c0);   // the one dtype check of a step
        var gi = Functional.Linear(input, WeightIh, BiasIh);
        // One step of the fused layer: its final states (its output rows are h' again).
        var step = Ops.RecurrentLayer(Kind, gi, h0, c0, WeightHh, BiasHh, [input.Shape[0]], reverse: false);
        return (step.H, step.C);
    }

    /// <inheritdoc/>
    protected override string ExtraRepr() => $"{InputSize}, {HiddenSize}" + (BiasIh is null ? ", bias=False" : "") +
        (Kind == RecurrentKind.RnnRelu ? ", nonlinearity=relu" : "");
}

/// <summary>h' = tanh(x·W_ihᵀ + b_ih + h·W_hhᵀ + b_hh), or relu (torch.nn.RNNCell).</summary>
public sealed class RNNCell : RecurrentCellBase<Tensor>
{
    /// <summary>A cell with nonlinearity "tanh" or "relu".</summary>
    public RNNCell(int inputSize, int hiddenSize, bool bias = true, string nonlinearity = "tanh", DType? dtype = null, Generator? generator = null)
        : base(RecurrentConventions.RnnKind(nonlinearity), inputSize, hiddenSize, bias, dtype, generator) { }

    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) => Forward(input, null);

    /// <summary>The next hidden state from input [N, in] (or [in]) and h [N, H] (or [H]; zeros when null).</summary>
    public Tensor Forward(Tensor input, Tensor? h)
    {
        var (next, _) = Step(input, h, null, out bool unbatched);
        return unbatched ? next.Squeeze(0) : next;
    }
}

/// <summary>The LSTM step with PyTorch's gate order i, f, g, o (torch.nn.LSTMCell).</summary>
public sealed class LSTMCell : RecurrentCellBase<(Tensor H, Tensor C)>
{
    /// <summary>An LSTM cell.</summary>
    public LSTMCell(int inputSize, int hiddenSize, bool bias = true, DType? dtype = null, Generator? generator = null)
        : base(RecurrentKind.Lstm, inputSize, hiddenSize, bias, dtype, generator) { }

    /// <inheritdoc/>
    public override (Tensor H, Tensor C) Forward(Tensor input) => Forward(input, null);

    /// <summary>The next (h, c) from input [N, in] (or [in]) and a state of [N, H] tensors (zeros when null).</summary>
    public (Tensor H, Tensor C) Forward(Tensor input, (Tensor H, Tensor C)? state)
    {
        var (h, c) = Step(input, state?.H, state?.C, out bool unbatched);
        return unbatched ? (h.Squeeze(0), c!.Squeeze(0)) : (h, c!);
    }
}

/// <summary>The GRU step with PyTorch's gate order r, z, n (torch.nn.GRUCell).</summary>
public sealed class GRUCell : RecurrentCellBase<Tensor>
{
    /// <summary>A GRU cell.</summary>
    public GRUCell(int inputSize, int hiddenSize, bool bias = true, DType? dtype = null, Generator? generator = null)
        : base(RecurrentKind.Gru, inputSize, hiddenSize, bias, dtype, generator) { }

    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) => Forward(input, null);

    /// <summary>The next hidden state from input [N, in] (or [in]) and h [N, H] (or [H]; zeros when null).</summary>
    public Tensor Forward(Tensor input, Tensor? h)
    {
        var (next, _) = Step(input, h, null, out bool unbatched);
        return unbatched ? next.Squeeze(0) : next;
    }
}
