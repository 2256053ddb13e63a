namespace MetaGrad.NN;

public static partial class Functional
{
    /// <summary>
    /// Sums, means or maxima of bags of embedding rows, [bags, dim], as
    /// torch.nn.functional.embedding_bag: a 2-D input holds one bag per row; a 1-D input is cut into
    /// bags at <paramref name="offsets"/> (the first 0; with <paramref name="includeLastOffset"/> the
    /// last offset is the end). Ids equal to <paramref name="paddingIdx"/> are left out of their bag
    /// (and of a mean's count); an empty bag gives zeros. <paramref name="perSampleWeights"/>, the
    /// input's shape, scales each row before a sum. The weight's gradient is an IndexAdd of the
    /// rows used, never a vocabulary-sized tensor per bag; with <paramref name="sparse"/>, Backward
    /// leaves a leaf weight only those rows, in <see cref="Tensor.SparseGrad"/>.
    /// </summary>
    public static Tensor EmbeddingBag(Tensor input, Tensor weight, Tensor? offsets = null, string mode = "mean",
        Tensor? perSampleWeights = null, bool includeLastOffset = false, int? paddingIdx = null, bool sparse = false)
    {
        if (input.DType is not (DType.Int64 or DType.Int32)) throw new ArgumentException($"EmbeddingBag: expected an Int64 or Int32 index tensor, got {input.DType}");
        if (weight.NDim != 2) throw new ArgumentException($"EmbeddingBag: weight must be 2-D, got shape {ShapeMath.Format(weight.Shape.ToArray())}");
        if (mode is not ("sum" or "mean" or "max")) throw new ArgumentException($"EmbeddingBag: mode must be \"sum\", \"mean\" or \"max\", got \"{mode}\"");
        if (perSampleWeights is not null && mode != "sum")
            throw new NotSupportedException($"EmbeddingBag: per-sample weights are only supported for mode \"sum\" (as PyTorch), got \"{mode}\"");
        if (perSampleWeights is not null && !perSampleWeights.Shape.SequenceEqual(input.Shape))
            throw new ArgumentException($"EmbeddingBag: per-sample weights must have the input's shape {ShapeMath.Format(input.Shape.ToArray())}, got {ShapeMath.Format(perSampleWeights.Shape.ToArray())}");
        if (perSampleWeights is not null && perSampleWeights.DType != weight.DType)
            throw new ArgumentException($"EmbeddingBag: per-sample weights of dtype {perSampleWeights.DType} and a weight of dtype {weight.DType} must share one floating dtype");
        int vocabulary = weight.Shape[0], dim = weight.Shape[1];
        int? pad = paddingIdx is int p ? (p < -vocabulary || p >= vocabulary
            ? throw new ArgumentOutOfRangeException(nameof(paddingIdx), $"EmbeddingBag: padding index {p} must be within the {vocabulary} embeddings")
            : p < 0 ? p + vocabulary : p) : null;

        var ids = input.To(DType.Int64).ToArray<long>();
        var bagOf = BagOfEachId(input, ids.Length, offsets, includeLastOffset, out int bags);
        foreach (var id in ids)
            if (id < 0 || id >= vocabulary) throw new ArgumentOutOfRangeException(nameof(input), $"EmbeddingBag: index {id} is out of range for {vocabulary} embeddings");

        // The ids that take part, with their bag and their place in it (host-side bookkeeping on indices only).
        var kept = Enumerable.Range(0, ids.Length).Where(i => ids[i] != pad).ToArray();
        var counts = new int[bags];
        var slot = new long[kept.Length];
        for (int k = 0; k < kept.Length; k++) slot[k] = counts[bagOf[kept[k]]]++;
        var keptBags = Tensor.From(kept.Select(i => (long)bagOf[i]).ToArray(), [kept.Length]);
        var rows = Embedding(Tensor.From(kept.Select(i => ids[i]).ToArray(), [kept.Length]), weight, sparse: sparse);   // [K, dim]

        if (mode == "max")
        {
            int longest = counts.DefaultIfEmpty(0).Max();
            // Every bag empty: zeros, still joined to the weight so that it gets a (zero) gradient, as in PyTorch.
            if (longest == 0) return rows.Sum() * Tensor.Zeros([bags, dim], weight.DType);
            // Rows laid out as [bags, longest, dim] with -inf in the unused slots, then the max over
            // each bag. Ties share the gradient (Max's rule) where PyTorch gives it to one row.
            var at = Tensor.From(kept.Select((_, k) => bagOf[kept[k]] * (long)longest + slot[k]).ToArray(), [kept.Length]);
            var used = Tensor.Zeros([bags * longest], DType.Bool);
            used[at] = Tensor.From(true);
            var laid = Tensor.Zeros([bags * longest, dim], weight.DType).IndexAdd(0, at, rows)
                .MaskedFill(!used.Unsqueeze(1), double.NegativeInfinity).Reshape(bags, longest, dim);
            var empty = Tensor.From(counts.Select(c => c == 0).ToArray(), [bags, 1]);
            return laid.Max(1).MaskedFill(empty, 0);
        }

        if (perSampleWeights is not null)
            rows = rows * perSampleWeights.Reshape(-1).IndexSelect(0, Tensor.From(kept.Select(i => (long)i).ToArray(), [kept.Length])).Unsqueeze(1);
        var sums = Tensor.Zeros([bags, dim], weight.DType).IndexAdd(0, keptBags, rows);
        if (mode == "sum") return sums;
        return sums / Tensor.From(counts.Select(c => (double)Math.Max(c, 1)).ToArray(), [bags, 1]).To(weight.DType);
    }

    // The bag of each of the n ids: a 2-D input's row, or the offsets' segment for a 1-D input.
    static int[] BagOfEachId(Tensor input, int n, Tensor? offsets, bool includeLastOffset, out int bags)
    {
        if (input.NDim == 2)
        {
            if (offsets is not null) throw new ArgumentException("EmbeddingBag: offsets must be null when the input is 2-D (each row is a bag)");
            int width = input.Shape[1];
            bags = input.Shape[0];
            return Enumerable.Range(0, n).Select(i => i / width).ToArray();
        }
        if (input.NDim != 1) throw new ArgumentException($"EmbeddingBag: input must be 1-D or 2-D, got shape {ShapeMath.Format(input.Shape.ToArray())}");
        if (offsets is null || offsets.NDim != 1 || !offsets.DType.IsInteger())
            throw new ArgumentException("EmbeddingBag: a 1-D input needs 1-D integer offsets (the start of each bag)");
        var starts = offsets.To(DType.Int64).ToArray<long>().ToList();
        if (starts.Count > 0 && starts[0] != 0)
            throw new ArgumentException($"EmbeddingBag: offsets[0] has to be 0, i.e. the first bag starts at position 0, got {starts[0]}");
        if (includeLastOffset)
        {
            if (starts.Count == 0) throw new ArgumentException("EmbeddingBag: with includeLastOffset the offsets need at least one entry");
            if (starts[^1] != n) throw new ArgumentException($"EmbeddingBag: with includeLastOffset the last offset must be the input's length {n}, got {starts[^1]}");
            starts.RemoveAt(starts.Count - 1);
        }
        bags = starts.Count;
        var bagOf = new int[n];
        for (int b = 0; b < bags; b++)
        {
            long end = b + 1 < bags ? starts[b + 1] : n;
            if (starts[b] > end || end > n)
                throw new ArgumentException($"EmbeddingBag: offsets must be non-decreasing and within the input's length {n}, got [{string.Join(", ", starts)}]");
            for (long i = starts[b]; i < end; i++) bagOf[i] = b;
        }
        return bagOf;
    }
}

/// <summary>Sums, means or maxima of bags of embeddings in one call (torch.nn.EmbeddingBag), parameter <c>weight</c>.</summary>
public sealed class EmbeddingBag : Module<Tensor, Tensor>
{
    /// <summary>[numEmbeddings, embeddingDim].</summary>
    public readonly Parameter Weight;
    readonly string _mode;
    readonly bool _includeLastOffset;
    readonly int? _paddingIdx;

    /// <summary>Whether Backward leaves the weight's gradient as the rows used only (<see cref="Tensor.SparseGrad"/>), as sparse=True in PyTorch.</summary>
    public bool Sparse { get; }

    /// <summary>Weights ~ N(0, 1) as in PyTorch, the row at <paramref name="paddingIdx"/> zero.</summary>
    public EmbeddingBag(int numEmbeddings, int embeddingDim, string mode = "mean", bool includeLastOffset = false, int? paddingIdx = null,
        DType? dtype = null, Generator? generator = null, bool sparse = false)
    {
        Sparse = sparse;
        if (mode is not ("sum" or "mean" or "max")) throw new ArgumentException($"EmbeddingBag: mode must be \"sum\", \"mean\" or \"max\", got \"{mode}\"");
        if (paddingIdx is int p && (p < -numEmbeddings || p >= numEmbeddings))
            throw new ArgumentOutOfRangeException(nameof(paddingIdx), $"EmbeddingBag: padding index {p} must be within the {numEmbeddings} embeddings");
        (_mode, _includeLastOffset) = (mode, includeLastOffset);
        _paddingIdx = paddingIdx is int q && q < 0 ? q + numEmbeddings : paddingIdx;
        Weight = new Parameter(Init.Normal_(Tensor.Empty([numEmbeddings, embeddingDim], dtype), generator: generator));
        if (_paddingIdx is int pad)
            using (Autograd.NoGrad()) Weight[pad] = Tensor.Scalar(0, dtype);
    }

    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) => Forward(input, null, null);

    /// <summary>Bags of a 1-D input cut at offsets (or the rows of a 2-D input), rows optionally weighted (mode "sum").</summary>
    public Tensor Forward(Tensor input, Tensor? offsets, Tensor? perSampleWeights = null) =>
        Functional.EmbeddingBag(input, Weight, offsets, _mode, perSampleWeights, _includeLastOffset, _paddingIdx, Sparse);

    /// <inheritdoc/>
    protected override string ExtraRepr() => $"{Weight.Shape[0]}, {Weight.Shape[1]}, mode='{_mode}'" + (_paddingIdx is int p ? $", padding_idx={p}" : "") + (Sparse ? ", sparse=True" : "");
}
