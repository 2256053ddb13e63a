namespace MetaGrad.NN;

/// <summary>A lookup table of vectors indexed by integer ids (torch.nn.Embedding).</summary>
public sealed class Embedding : Module<Tensor, Tensor>
{
    /// <summary>[numEmbeddings, embeddingDim].</summary>
    public readonly Parameter Weight;
    readonly int? _paddingIdx;

    /// <summary>
    /// Whether Backward leaves the weight's gradient as the looked-up rows only (in
    /// <see cref="Tensor.SparseGrad"/>) rather than a dense [numEmbeddings, dim] Grad: a step then
    /// costs the rows it used, with SGD, Adagrad or SparseAdam (torch.nn.Embedding's sparse=True).
    /// </summary>
    public bool Sparse { get; }

    /// <summary>
    /// Weights ~ N(0, 1) as in PyTorch; the row at <paramref name="paddingIdx"/> (negative counts
    /// from the end) starts at zero and never receives a gradient.
    /// </summary>
    public Embedding(int numEmbeddings, int embeddingDim, int? paddingIdx = null, Generator? generator = null, bool sparse = false,
        DType? dtype = null)
        : this(Init.Normal_(Tensor.Empty([numEmbeddings, embeddingDim], dtype), generator: generator), paddingIdx, freeze: false, zeroPadding: true, sparse) { }

    Embedding(Tensor weight, int? paddingIdx, bool freeze, bool zeroPadding, bool sparse)
    {
        Sparse = sparse;
        int n = weight.Shape[0];
        if (paddingIdx is int p)
        {
            if (p < -n || p >= n) throw new ArgumentOutOfRangeException(nameof(paddingIdx), $"Embedding: padding index {p} must be within the {n} embeddings");
            _paddingIdx = p < 0 ? p + n : p;
        }
        Weight = new Parameter(weight, requiresGrad: !freeze);
        if (zeroPadding && _paddingIdx is int pad)
            using (Autograd.NoGrad()) Weight[pad] = Tensor.Scalar(0, weight.DType);
        RegisterParameter("weight", Weight);
    }

    /// <summary>An embedding over pretrained vectors (copied), frozen by default.</summary>
    public static Embedding FromPretrained(Tensor embeddings, bool freeze = true, int? paddingIdx = null, bool sparse = false)
    {
        if (embeddings.NDim != 2) throw new ArgumentException($"Embedding.FromPretrained: embeddings must be 2-D, got shape {ShapeMath.Format(embeddings.Shape.ToArray())}");
        return new Embedding(embeddings.Detach().Clone(), paddingIdx, freeze, zeroPadding: false, sparse);
    }

    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) => Functional.Embedding(input, Value(Weight), _paddingIdx, Sparse);

    private protected override bool ReadsParameterValues => true;

    /// <inheritdoc/>
    protected override string ExtraRepr() => $"{Weight.Shape[0]}, {Weight.Shape[1]}" + (_paddingIdx is int p ? $", padding_idx={p}" : "") + (Sparse ? ", sparse=True" : "");
}

