namespace MetaGrad.NN;

/// <summary>
/// The step rule of a recurrent layer: what RNN (tanh or relu), LSTM and GRU and their cells run,
/// down to the fused kernel. Gates are in PyTorch's order (LSTM i, f, g, o; GRU r, z, n).
/// </summary>
public enum RecurrentKind
{
    /// <summary>Elman RNN with tanh: h' = tanh(W_ih x + b_ih + W_hh h + b_hh).</summary>
    RnnTanh,
    /// <summary>Elman RNN with ReLU in place of tanh.</summary>
    RnnRelu,
    /// <summary>LSTM: four gates (input, forget, cell, output) and a cell state beside h.</summary>
    Lstm,
    /// <summary>GRU: three gates (reset, update, new).</summary>
    Gru,
}

internal static class RecurrentKinds
{
    /// <summary>How many H-sized gate blocks the weights hold (LSTM 4, GRU 3, plain RNN 1).</summary>
    public static int Gates(RecurrentKind kind) => kind switch { RecurrentKind.Lstm => 4, RecurrentKind.Gru => 3, _ => 1 };
}
