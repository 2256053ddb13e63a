namespace MetaGrad.NN;

/// <summary>
/// The attention of a sequence-to-sequence decoder over the encoder's outputs: scores of each query
/// against each source position, softmaxed into weights over the positions, and the context as the
/// weighted sum of the keys (the encoder outputs serve as keys and values). A query is [B, Dq]
/// (one decoder step) or [B, L, Dq]; keys are [B, S, Dk]; the optional Bool mask is [B, S] with true
/// at the positions that take part (as in ScaledDotProductAttention). Returns the context,
/// [B, Dk] or [B, L, Dk], and the weights, [B, S] or [B, L, S].
/// </summary>
public abstract class SequenceAttention : Module<Tensor, Tensor, (Tensor Context, Tensor Weights)>
{
    /// <summary>Scores [B, L, S] of queries [B, L, Dq] against keys [B, S, Dk], given the keys as <see cref="ProjectKeys"/> made them.</summary>
    protected abstract Tensor Scores(Tensor queries, Tensor projectedKeys);

    /// <summary>
    /// The part of the scores that depends on the keys alone (Bahdanau: W_k k + b; Luong "general":
    /// W k; "dot": the keys). A decoder attends over the same keys at every step: project them once
    /// and pass the result to <see cref="Forward(Tensor, Tensor, Tensor?, Tensor?)"/>, rather than
    /// have every step project them again (about a tenth of a training step of the dates example).
    /// </summary>
    public virtual Tensor ProjectKeys(Tensor keys) => keys;

    /// <inheritdoc/>
    public override (Tensor Context, Tensor Weights) Forward(Tensor query, Tensor keys) => Forward(query, keys, null);

    /// <summary>
    /// Context and weights, masked positions (false in <paramref name="mask"/>) getting weight 0;
    /// <paramref name="projectedKeys"/>, when given, must be <see cref="ProjectKeys"/> of these keys.
    /// </summary>
    public (Tensor Context, Tensor Weights) Forward(Tensor query, Tensor keys, Tensor? mask, Tensor? projectedKeys = null)
    {
        if (keys.NDim != 3) throw new ArgumentException($"{GetType().Name}: keys must be [batch, source, features], got shape {ShapeMath.Format(keys.Shape.ToArray())}");
        bool step = query.NDim == 2;
        if (!step && query.NDim != 3) throw new ArgumentException($"{GetType().Name}: query must be [batch, features] or [batch, target, features], got shape {ShapeMath.Format(query.Shape.ToArray())}");
        var queries = step ? query.Unsqueeze(1) : query;
        var scores = Scores(queries, projectedKeys ?? ProjectKeys(keys));
        if (mask is not null)
        {
            if (mask.DType != DType.Bool || !mask.Shape.SequenceEqual([keys.Shape[0], keys.Shape[1]]))
                throw new ArgumentException($"{GetType().Name}: the mask must be Bool [batch, source] = {ShapeMath.Format([keys.Shape[0], keys.Shape[1]])}, got {mask.DType} {ShapeMath.Format(mask.Shape.ToArray())}");
            scores = scores.MaskedFill(!mask.Unsqueeze(1), double.NegativeInfinity);
        }
        var weights = mask is null ? scores.Softmax(-1) : Functional.SafeSoftmax(scores);
        var context = weights.Matmul(keys);
        return step ? (context.Squeeze(1), weights.Squeeze(1)) : (context, weights);
    }
}

/// <summary>
/// Additive attention (Bahdanau et al. 2015): score(q, k) = vᵀ tanh(W_q q + W_k k + b). One bias
/// suffices (a bias on v would shift every score alike, which softmax ignores).
/// </summary>
public sealed class BahdanauAttention : SequenceAttention
{
    /// <summary>W_q, [hidden, Dq], no bias.</summary>
    public readonly Linear QueryLayer;
    /// <summary>W_k and b, [hidden, Dk] and [hidden].</summary>
    public readonly Linear KeyLayer;
    /// <summary>vᵀ, [1, hidden], no bias.</summary>
    public readonly Linear Energy;

    /// <summary>Layers initialised as torch.nn.Linear; parameters query_layer.weight, key_layer.weight, key_layer.bias, energy.weight.</summary>
    public BahdanauAttention(int querySize, int keySize, int hiddenSize, DType? dtype = null, Generator? generator = null)
    {
        QueryLayer = new Linear(querySize, hiddenSize, bias: false, dtype, generator);
        KeyLayer = new Linear(keySize, hiddenSize, bias: true, dtype, generator);
        Energy = new Linear(hiddenSize, 1, bias: false, dtype, generator);
    }

    /// <summary>W_k k + b, [B, S, hidden].</summary>
    public override Tensor ProjectKeys(Tensor keys) => KeyLayer.Call(keys);

    /// <inheritdoc/>
    protected override Tensor Scores(Tensor queries, Tensor projectedKeys)
    {
        // [B, L, 1, H] + [B, 1, S, H]: every query against every position.
        var hidden = (QueryLayer.Call(queries).Unsqueeze(2) + projectedKeys.Unsqueeze(1)).Tanh();
        return Energy.Call(hidden).Squeeze(-1);
    }
}

/// <summary>
/// Multiplicative attention (Luong et al. 2015): "dot" scores qᵀk (Dq = Dk), "general" scores
/// qᵀ W k with W [Dq, Dk].
/// </summary>
public sealed class LuongAttention : SequenceAttention
{
    /// <summary>W for "general" (a bias-free Linear from Dk to Dq, so W k is its output); null for "dot".</summary>
    public readonly Linear? KeyProjection;
    readonly string _method;

    /// <summary>method "dot" (no parameters) or "general" (key_projection.weight, initialised as torch.nn.Linear).</summary>
    public LuongAttention(int querySize, int keySize, string method = "general", DType? dtype = null, Generator? generator = null)
    {
        _method = method;
        if (method == "dot")
        {
            if (querySize != keySize) throw new ArgumentException($"LuongAttention: \"dot\" needs equal query and key sizes, got {querySize} and {keySize}");
        }
        else if (method == "general")
            KeyProjection = new Linear(keySize, querySize, bias: false, dtype, generator);
        else throw new ArgumentException($"LuongAttention: method must be \"dot\" or \"general\", got \"{method}\"");
    }

    /// <summary>W k, [B, S, Dq], for "general"; the keys themselves for "dot".</summary>
    public override Tensor ProjectKeys(Tensor keys) => KeyProjection is null ? keys : KeyProjection.Call(keys);

    /// <inheritdoc/>
    protected override Tensor Scores(Tensor queries, Tensor projectedKeys) => queries.Matmul(projectedKeys.Transpose(1, 2));

    /// <inheritdoc/>
    protected override string ExtraRepr() => $"method={_method}";
}
