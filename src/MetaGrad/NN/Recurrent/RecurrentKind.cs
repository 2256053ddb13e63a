namespace MetaGrad.NN;

/// <summary>
/// The step rule of a recurrent layer: what RNN (tanh or relu), LSTM and GRU and their cells run,
/// down to the fused kernel. Gates are in PyTorch's order (LSTM i, f, g, o; GRU r, z, n).
/// </summary>
public enum RecurrentKind { RnnTanh, RnnRelu, Lstm, Gru }

internal static class RecurrentKinds
{
    /// <summary>How many H-sized gate blocks the weights hold (LSTM 4, GRU 3, plain RNN 1).</summary>
    public static int Gates(RecurrentKind kind) => kind switch { RecurrentKind.Lstm => 4, RecurrentKind.Gru => 3, _ => 1 };
}
