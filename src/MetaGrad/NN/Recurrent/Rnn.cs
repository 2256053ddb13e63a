namespace MetaGrad.NN.Utils;

/// <summary>
/// Padding and packing of variable-length sequences (torch.nn.utils.rnn). Every operation is made
/// of differentiable tensor operations, so gradients flow from packed outputs back to the padded input.
/// </summary>
public static partial class Rnn
{
    /// <summary>
    /// Stacks sequences [L_i, *] into [L_max, N, *] ([N, L_max, *] batch first), filling the missing
    /// steps with paddingValue after each sequence ("right") or before it ("left").
    /// </summary>
    public static Tensor PadSequence(IReadOnlyList<Tensor> sequences, bool batchFirst = false, double paddingValue = 0, string paddingSide = "right")
    {
        if (sequences.Count == 0) throw new ArgumentException("PadSequence: received an empty list of sequences");
        if (paddingSide is not ("right" or "left")) throw new ArgumentException($"PadSequence: padding side must be \"left\" or \"right\", got \"{paddingSide}\"");
        var trailing = sequences[0].Shape.Skip(1).ToArray();
        int maxLength = sequences.Max(s => s.NDim == 0 ? 0 : s.Shape[0]);
        var padded = sequences.Select(s =>
        {
            if (s.NDim == 0 || !s.Shape.Skip(1).SequenceEqual(trailing))
                throw new ArgumentException($"PadSequence: every sequence must be [L, {string.Join(", ", trailing)}], got {ShapeMath.Format(s.Shape.ToArray())}");
            int missing = maxLength - s.Shape[0];
            if (missing == 0) return s;
            var fill = Tensor.Full([missing, .. trailing], paddingValue, s.DType);
            return Tensor.Cat(paddingSide == "right" ? [s, fill] : [fill, s], 0);
        }).ToArray();
        return Tensor.Stack(padded, batchFirst ? 0 : 1);
    }

    /// <summary>
    /// <see cref="PackPaddedSequence(Tensor, IReadOnlyList{int}, bool, bool)"/> with the lengths as a
    /// 1-d integer tensor, as PyTorch takes them (and as <c>PadPackedSequence</c> returns them).
    /// </summary>
    public static PackedSequence PackPaddedSequence(Tensor input, Tensor lengths, bool batchFirst = false, bool enforceSorted = true)
    {
        if (lengths.NDim != 1 || lengths.DType is not (DType.Int64 or DType.Int32))
            throw new ArgumentException($"PackPaddedSequence: expected the lengths as a 1-d Int64 or Int32 tensor, got {lengths.DType} of shape {lengths.Shape}");
        return PackPaddedSequence(input, lengths.ToArray<long>().Select(l => (int)l).ToArray(), batchFirst, enforceSorted);
    }

    /// <summary>
    /// Packs a padded batch [T, N, *] ([N, T, *] batch first) whose sequence i has lengths[i] steps.
    /// With enforceSorted the lengths must be decreasing; otherwise the batch is sorted longest first
    /// (a stable sort) and the permutation kept in the result so it can be undone.
    /// </summary>
    public static PackedSequence PackPaddedSequence(Tensor input, IReadOnlyList<int> lengths, bool batchFirst = false, bool enforceSorted = true)
    {
        if (input.NDim < 2) throw new ArgumentException($"PackPaddedSequence: expected a padded batch of at least 2 dims, got shape {ShapeMath.Format(input.Shape.ToArray())}");
        int batchDim = batchFirst ? 0 : 1, n = input.Shape[batchDim], steps = input.Shape[1 - batchDim];
        if (lengths.Count != n)
            throw new ArgumentException($"PackPaddedSequence: expected {n} lengths (the batch size), got {lengths.Count}");
        if (lengths.Any(l => l <= 0)) throw new ArgumentException("PackPaddedSequence: length of all samples has to be greater than 0");
        if (lengths.Any(l => l > steps)) throw new ArgumentException($"PackPaddedSequence: a length exceeds the {steps} steps of the padded input");

        int[] order = Enumerable.Range(0, n).ToArray();
        Tensor? sortedIndices = null, unsortedIndices = null;
        if (enforceSorted)
        {
            for (int i = 1; i < n; i++)
                if (lengths[i] > lengths[i - 1])
                    throw new ArgumentException("PackPaddedSequence: `lengths` array must be sorted in decreasing order when `enforceSorted` is true; pass enforceSorted: false to sort it here");
        }
        else
        {
            order = order.OrderByDescending(i => lengths[i]).ToArray();
            var inverse = new long[n];
            for (int i = 0; i < n; i++) inverse[order[i]] = i;
            sortedIndices = Tensor.From(order.Select(i => (long)i).ToArray(), [n]);
            unsortedIndices = Tensor.From(inverse, [n]);
            input = input.IndexSelect(batchDim, sortedIndices);
        }
        if (batchFirst) input = input.Transpose(0, 1);

        // Step t holds the sequences longer than t, which after sorting are the first ones.
        int longest = lengths[order[0]];
        var batchSizes = new long[longest];
        var rows = new Tensor[longest];
        for (int t = 0; t < longest; t++)
        {
            batchSizes[t] = lengths.Count(l => l > t);
            rows[t] = input.Select(0, t).Narrow(0, 0, (int)batchSizes[t]);
        }
        return new PackedSequence(Tensor.Cat(rows, 0), Tensor.From(batchSizes, [longest]), sortedIndices, unsortedIndices);
    }

    /// <summary>Packs a list of sequences [L_i, *] (PadSequence then PackPaddedSequence).</summary>
    public static PackedSequence PackSequence(IReadOnlyList<Tensor> sequences, bool enforceSorted = true) =>
        PackPaddedSequence(PadSequence(sequences), sequences.Select(s => s.Shape[0]).ToArray(), enforceSorted: enforceSorted);

    /// <summary>
    /// Unpacks to a padded batch [T, N, *] ([N, T, *] batch first) in the original batch order, with
    /// T = totalLength or the longest sequence, and the lengths as an Int64 tensor.
    /// </summary>
    public static (Tensor Padded, Tensor Lengths) PadPackedSequence(PackedSequence sequence, bool batchFirst = false, double paddingValue = 0, int? totalLength = null)
    {
        var batchSizes = sequence.BatchSizes.ToArray<long>().Select(b => (int)b).ToArray();
        int longest = batchSizes.Length, n = batchSizes[0];
        int steps = totalLength ?? longest;
        if (steps < longest)
            throw new ArgumentException($"PadPackedSequence: expected totalLength to be at least the length of the longest sequence ({longest}), got {totalLength}");
        var trailing = sequence.Data.Shape.Skip(1).ToArray();
        var data = sequence.Data;
        Tensor Fill(int count) => Tensor.Full([count, .. trailing], paddingValue, data.DType);

        var rows = new Tensor[steps];
        int offset = 0;
        for (int t = 0; t < steps; t++)
        {
            int active = t < longest ? batchSizes[t] : 0;
            var step = data.Narrow(0, offset, active);
            rows[t] = active == n ? step : active == 0 ? Fill(n) : Tensor.Cat([step, Fill(n - active)], 0);
            offset += active;
        }
        var padded = Tensor.Stack(rows, 0);
        var lengths = Enumerable.Range(0, n).Select(i => (long)batchSizes.Count(b => b > i)).ToArray();
        if (sequence.UnsortedIndices is { } unsorted)
        {
            padded = padded.IndexSelect(1, unsorted);
            var inverse = unsorted.ToArray<long>();
            lengths = inverse.Select(i => lengths[i]).ToArray();
        }
        return (batchFirst ? padded.Transpose(0, 1) : padded, Tensor.From(lengths, [n]));
    }
}
