namespace MetaGrad.NN.Utils;

/// <summary>The inverses of padding and packing (torch.nn.utils.rnn.unpad_sequence and unpack_sequence).</summary>
public static partial class Rnn
{
    /// <summary>
    /// Splits a padded batch [T, N, *] ([N, T, *] batch first) back into its N sequences, sequence i
    /// keeping its first lengths[i] steps: the inverse of <see cref="PadSequence"/>. Each is a view,
    /// so gradients reach the padded tensor.
    /// </summary>
    public static Tensor[] UnpadSequence(Tensor paddedSequences, IReadOnlyList<int> lengths, bool batchFirst = false)
    {
        ArgumentNullException.ThrowIfNull(paddedSequences);
        ArgumentNullException.ThrowIfNull(lengths);
        if (paddedSequences.NDim < 2)
            throw new ArgumentException($"UnpadSequence: expected a padded batch of at least 2 dims, got shape {ShapeMath.Format(paddedSequences.Shape.ToArray())}");
        var batch = batchFirst ? paddedSequences : paddedSequences.Transpose(0, 1);   // [N, T, *]
        int n = batch.Shape[0], steps = batch.Shape[1];
        if (lengths.Count != n)
            throw new ArgumentException($"UnpadSequence: {lengths.Count} lengths given for a batch of {n} sequences");
        var sequences = new Tensor[n];
        for (int i = 0; i < n; i++)
        {
            if (lengths[i] < 0 || lengths[i] > steps)
                throw new ArgumentException($"UnpadSequence: length {lengths[i]} of sequence {i} is outside 0..{steps}, the padded length");
            sequences[i] = batch[i].Narrow(0, 0, lengths[i]);
        }
        return sequences;
    }

    /// <summary>UnpadSequence with the lengths as an integer tensor (as PadPackedSequence returns them).</summary>
    public static Tensor[] UnpadSequence(Tensor paddedSequences, Tensor lengths, bool batchFirst = false)
    {
        ArgumentNullException.ThrowIfNull(lengths);
        if (lengths.NDim != 1 || lengths.DType.IsFloatingPoint() || lengths.DType == DType.Bool)
            throw new ArgumentException($"UnpadSequence: lengths must be a 1-d integer tensor, got {lengths.DType} of shape {ShapeMath.Format(lengths.Shape.ToArray())}");
        return UnpadSequence(paddedSequences, lengths.To(DType.Int64).ToArray<long>().Select(l => checked((int)l)).ToArray(), batchFirst);
    }

    /// <summary>The sequences of a packed batch, in the caller's original order: the inverse of <see cref="PackSequence"/>.</summary>
    public static Tensor[] UnpackSequence(PackedSequence packedSequences)
    {
        ArgumentNullException.ThrowIfNull(packedSequences);
        var (padded, lengths) = PadPackedSequence(packedSequences, batchFirst: true);
        return UnpadSequence(padded, lengths, batchFirst: true);
    }
}
