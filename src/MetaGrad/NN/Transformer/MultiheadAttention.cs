namespace MetaGrad.NN;

/// <summary>
/// Multi-head attention (torch.nn.MultiheadAttention): query, key and value projected, split into
/// heads, attended with scaled dot products, the heads joined and projected out. Parameters are
/// PyTorch's: <c>in_proj_weight</c> [3E, E] (or <c>q_proj_weight</c>, <c>k_proj_weight</c>,
/// <c>v_proj_weight</c> when the key or value size differs from E), <c>in_proj_bias</c> [3E],
/// <c>bias_k</c>/<c>bias_v</c> [1, 1, E] with addBiasKv, and <c>out_proj</c> (a Linear).
/// Sequences are [L, N, E] (or [N, L, E] with batchFirst, or unbatched [L, E]).
/// </summary>
public sealed class MultiheadAttention : Module
{
    readonly int _embed, _heads, _kdim, _vdim;
    readonly double _dropout;
    readonly bool _batchFirst, _addZeroAttn;
    readonly Generator? _generator;
    /// <summary>[3E, E] when key and value have the query's size, else null.</summary>
    public readonly Parameter? InProjWeight;
    /// <summary>[E, E], [E, kdim], [E, vdim] when key or value sizes differ, else null.</summary>
    public readonly Parameter? QProjWeight, KProjWeight, VProjWeight;
    /// <summary>[3E] (null without bias).</summary>
    public readonly Parameter? InProjBias;
    /// <summary>[1, 1, E], appended to keys and values (null without addBiasKv).</summary>
    public readonly Parameter? BiasK, BiasV;
    /// <summary>The output projection E → E.</summary>
    public readonly Linear OutProj;

    /// <summary>
    /// Attention of <paramref name="numHeads"/> heads of embedDim / numHeads each; PyTorch's
    /// initialisation (Xavier-uniform projections, zero biases, Xavier-normal bias_k/bias_v).
    /// </summary>
    public MultiheadAttention(int embedDim, int numHeads, double dropout = 0, bool bias = true, bool addBiasKv = false, bool addZeroAttn = false,
        int? kdim = null, int? vdim = null, bool batchFirst = false, DType? dtype = null, Generator? generator = null)
    {
        if (embedDim <= 0 || numHeads <= 0 || embedDim % numHeads != 0)
            throw new ArgumentException($"MultiheadAttention: embed_dim ({embedDim}) must be divisible by num_heads ({numHeads})");
        (_embed, _heads, _kdim, _vdim, _dropout, _batchFirst, _addZeroAttn, _generator) =
            (embedDim, numHeads, kdim ?? embedDim, vdim ?? embedDim, dropout, batchFirst, addZeroAttn, generator);
        if (_kdim == embedDim && _vdim == embedDim)
            InProjWeight = new Parameter(Init.XavierUniform_(Tensor.Empty([3 * embedDim, embedDim], dtype), generator: generator));
        else
        {
            QProjWeight = new Parameter(Init.XavierUniform_(Tensor.Empty([embedDim, embedDim], dtype), generator: generator));
            KProjWeight = new Parameter(Init.XavierUniform_(Tensor.Empty([embedDim, _kdim], dtype), generator: generator));
            VProjWeight = new Parameter(Init.XavierUniform_(Tensor.Empty([embedDim, _vdim], dtype), generator: generator));
        }
        RegisterParameter("in_proj_weight", InProjWeight);
        RegisterParameter("q_proj_weight", QProjWeight);
        RegisterParameter("k_proj_weight", KProjWeight);
        RegisterParameter("v_proj_weight", VProjWeight);
        if (bias) InProjBias = new Parameter(Tensor.Zeros([3 * embedDim], dtype));
        RegisterParameter("in_proj_bias", InProjBias);
        if (addBiasKv)
        {
            BiasK = new Parameter(Init.XavierNormal_(Tensor.Empty([1, 1, embedDim], dtype), generator: generator));
            BiasV = new Parameter(Init.XavierNormal_(Tensor.Empty([1, 1, embedDim], dtype), generator: generator));
        }
        RegisterParameter("bias_k", BiasK);
        RegisterParameter("bias_v", BiasV);
        OutProj = new Linear(embedDim, embedDim, bias, dtype, generator);
        if (bias) Init.Zeros_(OutProj.Bias!);
        RegisterModule("out_proj", OutProj);
    }

    /// <summary>
    /// The multiply-adds of the input projections and of the attention itself (scores and weighted
    /// sum) for these inputs, for the model summary; the output projection is its own Linear.
    /// </summary>
    internal long MultAdds(Tensor query, Tensor key, Tensor value)
    {
        long queries = query.Numel / _embed, keys = key.Numel / _kdim;
        long perBatch = query.NDim == 3 ? query.Shape[_batchFirst ? 0 : 1] : 1;
        long l = queries / perBatch, s = keys / perBatch;
        return queries * _embed * _embed + keys * _kdim * _embed + keys * _vdim * _embed + 2 * perBatch * l * s * _embed;
    }

    /// <summary>Forward inside the module's hooks (PyTorch's <c>attn(query, key, value, ...)</c>); hooks see (query, key, value).</summary>
    public (Tensor Output, Tensor? Weights) Call(Tensor query, Tensor key, Tensor value, Tensor? keyPaddingMask = null, bool needWeights = true,
        Tensor? attnMask = null, bool averageAttnWeights = true, bool isCausal = false) =>
        HasHooks
            ? CallWithHooks((query, key, value), p => Forward(p.Item1, p.Item2, p.Item3, keyPaddingMask, needWeights, attnMask, averageAttnWeights, isCausal))
            : Forward(query, key, value, keyPaddingMask, needWeights, attnMask, averageAttnWeights, isCausal);

    /// <summary>
    /// The attended output [L, N, E] (batch layout as constructed) and, with <paramref name="needWeights"/>,
    /// the attention weights [N, L, S] averaged over heads (or [N, H, L, S] without
    /// <paramref name="averageAttnWeights"/>). A Bool <paramref name="keyPaddingMask"/> [N, S] or
    /// <paramref name="attnMask"/> ([L, S] or [N·H, L, S]) marks with true what may NOT be attended
    /// (PyTorch's convention here, the opposite of ScaledDotProductAttention's); a floating one is
    /// added to the scores. <paramref name="isCausal"/> is a hint that attnMask is the causal mask,
    /// which must then be given, as in PyTorch.
    /// </summary>
    public (Tensor Output, Tensor? Weights) Forward(Tensor query, Tensor key, Tensor value, Tensor? keyPaddingMask = null, bool needWeights = true,
        Tensor? attnMask = null, bool averageAttnWeights = true, bool isCausal = false)
    {
        if (isCausal && attnMask is null)
            throw new ArgumentException("MultiheadAttention: isCausal is a hint that attnMask is the causal mask; pass the mask too (Transformer.GenerateSquareSubsequentMask)");
        bool unbatched = query.NDim == 2;
        if (unbatched)
        {
            if (key.NDim != 2 || value.NDim != 2)
                throw new ArgumentException($"MultiheadAttention: an unbatched query [L, E] needs unbatched key and value, got {Shape(key)} and {Shape(value)}");
            var (o, w) = Forward(Batch(query), Batch(key), Batch(value), keyPaddingMask?.Unsqueeze(0), needWeights, attnMask, averageAttnWeights);
            return (Unbatch(o), w?.Squeeze(0));
        }
        if (query.NDim != 3 || key.NDim != 3 || value.NDim != 3)
            throw new ArgumentException($"MultiheadAttention: expected 3-D query, key and value, got {Shape(query)}, {Shape(key)} and {Shape(value)}");
        RequireDType("MultiheadAttention", query, InProjWeight ?? QProjWeight, OutProj.Weight);
        if (_batchFirst) (query, key, value) = (query.Transpose(0, 1), key.Transpose(0, 1), value.Transpose(0, 1));
        int l = query.Shape[0], n = query.Shape[1], s = key.Shape[0], hd = _embed / _heads;
        if (query.Shape[2] != _embed || key.Shape[2] != _kdim || value.Shape[2] != _vdim || key.Shape[1] != n || value.Shape[1] != n || value.Shape[0] != s)
            throw new ArgumentException($"MultiheadAttention: query {Shape(query)}, key {Shape(key)} and value {Shape(value)} (sequence-first) do not fit embed_dim {_embed}, kdim {_kdim}, vdim {_vdim}");

        var (q, k, v) = Project(query, key, value);                                        // [L, N, E], [S, N, E], [S, N, E]
        var mask = Mask("attn_mask", attnMask, l, s, n, query.DType);
        var padding = keyPaddingMask is null ? null : PaddingMask(keyPaddingMask, n, s, query.DType);
        if (BiasK is not null)
        {
            k = Tensor.Cat([k, BiasK.Expand(1, n, _embed)], 0);
            v = Tensor.Cat([v, BiasV!.Expand(1, n, _embed)], 0);
            mask = mask is null ? null : Functional.Pad(mask, [0, 1]);
            padding = padding is null ? null : Functional.Pad(padding, [0, 1]);
            s++;
        }
        // Heads: [L, N, E] → [N·H, L, hd].
        q = q.Reshape(l, n * _heads, hd).Transpose(0, 1);
        k = k.Reshape(s, n * _heads, hd).Transpose(0, 1);
        v = v.Reshape(s, n * _heads, hd).Transpose(0, 1);
        if (_addZeroAttn)
        {
            k = Tensor.Cat([k, Tensor.Zeros([n * _heads, 1, hd], k.DType)], 1);
            v = Tensor.Cat([v, Tensor.Zeros([n * _heads, 1, hd], v.DType)], 1);
            mask = mask is null ? null : Functional.Pad(mask, [0, 1]);
            padding = padding is null ? null : Functional.Pad(padding, [0, 1]);
            s++;
        }
        // Each sample's padding repeated per head, [N·H, 1, S]; with the attention mask, one additive
        // mask [N·H or 1, L, S].
        var perHead = padding is null ? null : PerHead(padding, n, s);
        var combined = perHead is null ? mask : mask is null ? perHead : mask + perHead;

        // Without weights to return or dropout, the fused kernel never forms the [N·H, L, S] scores
        // (as PyTorch's fast path, which also takes isCausal on trust): the causal mask as the
        // kernel's own, any other mask and the padding as a bias it reads through their strides.
        bool causalOnly = isCausal && l == s && BiasK is null && !_addZeroAttn;
        var bias = causalOnly ? perHead : combined;
        Tensor attended;                                                                     // [N·H, L, hd]
        Tensor? weights = null;                                                              // [N·H, L, S]
        if (!needWeights && (_dropout == 0 || !Training)
            && (bias is null ? Functions.FusedAttention.Covers(q, k, v) : Functions.FusedAttention.Covers(q, k, v, bias)))
            attended = Functions.FusedAttention.Run(q, k, v, causalOnly, 1 / Math.Sqrt(hd), bias);
        else
        {
            mask = combined;
            var scores = q.Matmul(k.Transpose(1, 2)) * (1 / Math.Sqrt(hd));
            if (mask is not null) scores = scores + mask;
            weights = Functional.SafeSoftmax(scores);
            attended = Functional.Dropout(weights, _dropout, Training, _generator).Matmul(v);
        }
        var output = OutProj.Call(attended.Transpose(0, 1).Reshape(l, n, _embed));
        if (_batchFirst) output = output.Transpose(0, 1);
        if (!needWeights) return (output, null);
        var perHeadWeights = weights!.Reshape(n, _heads, l, s);
        return (output, averageAttnWeights ? perHeadWeights.Mean([1]) : perHeadWeights);
    }

    /// <summary>
    /// Attention of new query positions to everything seen so far, for generation one step at a
    /// time: the new key and value positions are projected and appended to <paramref name="cache"/>,
    /// and the query attends to the whole cache, each new position to the cached ones and to the new
    /// ones up to itself (the causal mask, aligned to the cache's end). Each step projects only the
    /// new positions, so generating T tokens costs O(T) projections per step instead of re-running
    /// the prefix. Batch layout as constructed; no dropout, weights, bias_k/bias_v or zero attention.
    /// <paramref name="keyPaddingMask"/> [N, L] flags the new positions that are padding (Bool, or
    /// additive floating, as <see cref="Forward"/>'s key_padding_mask): the cache keeps the flags, so
    /// later positions ignore these keys too, as a full pass with that mask would; positions given
    /// no mask count as not padded.
    /// </summary>
    public Tensor ForwardCached(Tensor query, Tensor key, Tensor value, KeyValueCache cache, Tensor? keyPaddingMask = null)
    {
        RequireCachable("ForwardCached", query, key, value);
        if (_batchFirst) (query, key, value) = (query.Transpose(0, 1), key.Transpose(0, 1), value.Transpose(0, 1));
        var (q, k, v) = Project(query, key, value);                                        // sequence-first
        int before = cache.Length, l = q.Shape[0], n = q.Shape[1];
        if (keyPaddingMask is not null && (keyPaddingMask.NDim != 2 || keyPaddingMask.Shape[0] != n || keyPaddingMask.Shape[1] != l))
            throw new ArgumentException($"MultiheadAttention.ForwardCached: key_padding_mask of shape {Shape(keyPaddingMask)} should be [{n}, {l}] (batch, new positions)");
        cache.Append(k, v, keyPaddingMask is null ? null : Additive("key_padding_mask", keyPaddingMask, q.DType));
        int s = cache.Length;
        // Several new positions at once (a prompt): position before + i sees keys up to itself.
        Tensor? future = l > 1 ? Tensor.Arange(s).Reshape(1, -1) > (Tensor.Arange(l) + before).Reshape(-1, 1) : null;
        if (cache.Padding is null) return AttendCache(q, cache, future is null ? null : !future);
        // Additive: the padding per (sample, head) for every query, and -∞ past each query.
        var mask = PerHead(cache.Padding, n, s);
        if (future is not null) mask = mask + Tensor.Zeros([l, s], q.DType).MaskedFill(future, double.NegativeInfinity);
        return AttendCache(q, cache, mask);
    }

    /// <summary>
    /// Attention of new query positions to a fixed <paramref name="memory"/> (an encoder's output),
    /// for a decoder generating one step at a time: the memory's keys and values are projected into
    /// <paramref name="cache"/> on the first call and read from it on every later one (whatever
    /// memory those are given). <paramref name="keyPaddingMask"/> [N, S] as <see cref="Forward"/>'s.
    /// </summary>
    public Tensor ForwardMemoryCached(Tensor query, Tensor memory, KeyValueCache cache, Tensor? keyPaddingMask = null)
    {
        RequireCachable("ForwardMemoryCached", query, memory, memory);
        if (_batchFirst) (query, memory) = (query.Transpose(0, 1), memory.Transpose(0, 1));
        if (cache.Length == 0) cache.Append(Projected(memory, 1), Projected(memory, 2));
        var q = Projected(query, 0);
        int n = q.Shape[1], s = cache.Length;
        Tensor? mask = null;
        if (keyPaddingMask is not null) mask = PerHead(PaddingMask(keyPaddingMask, n, s, q.DType), n, s);
        return AttendCache(q, cache, mask);
    }

    // An additive padding mask [N, S] as one row per (sample, head) for every query, [N·H, 1, S].
    Tensor PerHead(Tensor padding, int n, int s) => padding.Reshape(n, 1, 1, s).Expand(n, _heads, 1, s).Reshape(n * _heads, 1, s);

    // The projected query [L, N, E] attending to the cache's keys and values (a mask as
    // ScaledDotProductAttention takes it), through the output projection, in the batch layout.
    Tensor AttendCache(Tensor q, KeyValueCache cache, Tensor? mask)
    {
        int l = q.Shape[0], n = q.Shape[1], s = cache.Length, hd = _embed / _heads;
        var heads = q.Reshape(l, n * _heads, hd).Transpose(0, 1);
        var keys = cache.Keys!.Reshape(s, n * _heads, hd).Transpose(0, 1);
        var values = cache.Values!.Reshape(s, n * _heads, hd).Transpose(0, 1);
        var attended = Functional.ScaledDotProductAttention(heads, keys, values, mask);
        var output = OutProj.Call(attended.Transpose(0, 1).Reshape(l, n, _embed));
        return _batchFirst ? output.Transpose(0, 1) : output;
    }

    void RequireCachable(string method, Tensor query, Tensor key, Tensor value)
    {
        if (BiasK is not null || _addZeroAttn)
            throw new NotSupportedException($"MultiheadAttention.{method}: addBiasKv and addZeroAttn are not supported with a cache");
        if (query.NDim != 3 || key.NDim != 3 || value.NDim != 3)
            throw new ArgumentException($"MultiheadAttention.{method}: expected 3-D query, key and value, got {Shape(query)}, {Shape(key)} and {Shape(value)}");
    }

    // q = query·W_qᵀ + b_q and likewise, from the packed in_proj_weight or the three separate weights.
    (Tensor Q, Tensor K, Tensor V) Project(Tensor query, Tensor key, Tensor value) => (Projected(query, 0), Projected(key, 1), Projected(value, 2));

    // One of the three input projections: 0 the query's, 1 the key's, 2 the value's.
    Tensor Projected(Tensor x, int which)
    {
        var bias = InProjBias?.Narrow(0, which * _embed, _embed);
        var weight = InProjWeight is not null ? InProjWeight.Narrow(0, which * _embed, _embed) : which switch { 0 => QProjWeight!, 1 => KProjWeight!, _ => VProjWeight! };
        return Functional.Linear(x, weight, bias);
    }

    // attn_mask [L, S] or [N·H, L, S] as an additive float mask (true → -inf).
    Tensor? Mask(string name, Tensor? mask, int l, int s, int n, DType dtype)
    {
        if (mask is null) return null;
        bool fits = mask.NDim == 2 ? mask.Shape[0] == l && mask.Shape[1] == s
            : mask.NDim == 3 && mask.Shape[0] == n * _heads && mask.Shape[1] == l && mask.Shape[2] == s;
        if (!fits)
            throw new ArgumentException($"MultiheadAttention: {name} of shape {Shape(mask)} should be [{l}, {s}] or [{n * _heads}, {l}, {s}]");
        return Additive(name, mask, dtype);
    }

    static Tensor PaddingMask(Tensor mask, int n, int s, DType dtype)
    {
        if (mask.NDim != 2 || mask.Shape[0] != n || mask.Shape[1] != s)
            throw new ArgumentException($"MultiheadAttention: key_padding_mask of shape {Shape(mask)} should be [{n}, {s}]");
        return Additive("key_padding_mask", mask, dtype);
    }

    static Tensor Additive(string name, Tensor mask, DType dtype)
    {
        if (mask.DType == DType.Bool) return Tensor.Zeros(mask.Shape.ToArray(), dtype).MaskedFill(mask, double.NegativeInfinity);
        if (!mask.DType.IsFloatingPoint())
            throw new ArgumentException($"MultiheadAttention: {name} must be Bool or floating, got {mask.DType}");
        return mask.To(dtype);
    }

    Tensor Batch(Tensor x) => x.Unsqueeze(_batchFirst ? 0 : 1);

    Tensor Unbatch(Tensor x) => x.Squeeze(_batchFirst ? 0 : 1);

    static string Shape(Tensor t) => ShapeMath.Format(t.Shape.ToArray());

    /// <inheritdoc/>
    protected override string ExtraRepr() => "";
}

/// <summary>
/// The projected keys and values of the positions an attention has seen, sequence-first [S, N, E],
/// for <see cref="MultiheadAttention.ForwardCached"/>: one per attention, kept across generation steps.
/// </summary>
public sealed class KeyValueCache
{
    internal Tensor? Keys { get; private set; }
    internal Tensor? Values { get; private set; }

    /// <summary>
    /// The positions' padding as an additive mask [N, S] (−∞ at padding), or null while no position
    /// has been given a padding flag (none is padding).
    /// </summary>
    internal Tensor? Padding { get; private set; }

    /// <summary>Positions held.</summary>
    public int Length => Keys?.Shape[0] ?? 0;

    // keys and values [L, N, E]; padding [N, L] additive, or null for none padded.
    internal void Append(Tensor keys, Tensor values, Tensor? padding = null)
    {
        int before = Length, n = keys.Shape[1], l = keys.Shape[0];
        if (padding is not null || Padding is not null)
        {
            var earlier = Padding ?? Tensor.Zeros([n, before], keys.DType);
            Padding = Tensor.Cat([earlier, padding ?? Tensor.Zeros([n, l], keys.DType)], 1);
        }
        Keys = Keys is null ? keys : Tensor.Cat([Keys, keys], 0);
        Values = Values is null ? values : Tensor.Cat([Values, values], 0);
    }

    /// <summary>Forgets every position (a new sequence).</summary>
    public void Clear() => (Keys, Values, Padding) = (null, null, null);

    /// <summary>
    /// Keeps the batch rows <paramref name="rows"/> (1-D Int64 or Int32, in that order, a row any
    /// number of times): for beam search, the rows of the hypotheses that survive a step, each
    /// going on from its parent's keys, values and padding.
    /// </summary>
    public void Reorder(Tensor rows)
    {
        RequireRows("KeyValueCache.Reorder", rows, Keys?.Shape[1]);
        Select(rows);
    }

    // Reorder's work, for rows already checked (a decoder's caches share one check).
    internal void Select(Tensor rows)
    {
        if (Keys is null) return;
        Keys = Keys.IndexSelect(1, rows);
        Values = Values!.IndexSelect(1, rows);
        Padding = Padding?.IndexSelect(0, rows);
    }

    // rows as Reorder takes them, each below n (when the cache holds rows).
    internal static void RequireRows(string method, Tensor rows, int? n)
    {
        if (rows.NDim != 1 || rows.DType is not (DType.Int64 or DType.Int32))
            throw new ArgumentException($"{method}: expected a 1-D Int64 or Int32 tensor of batch rows, got {rows.DType} of shape {ShapeMath.Format(rows.Shape.ToArray())}");
        if (n is not { } count || rows.Numel == 0) return;
        long low = rows.Min().Item<long>(), high = rows.Max().Item<long>();
        if (low < 0 || high >= count)
            throw new ArgumentException($"{method}: row {(low < 0 ? low : high)} is not one of the cache's {count} batch rows");
    }
}
