using MetaGrad.NN;
using MetaGrad.Optim;
using TorchSharp;
using static TorchSharp.torch;
using MG = MetaGrad;

namespace MetaGrad.Bench;

/// <summary>Transformer workloads.</summary>
static class Attention
{
    public static IEnumerable<Workload> Workloads()
    {
        foreach (var threads in new[] { 1, 2 }) yield return EncoderLayerStep(threads);
        // PyTorch's default dropout, in training: the attention weights are dropped, so MetaGrad's
        // layer takes the composed attention (the fused kernel has no dropout), as libtorch's math path does.
        foreach (var threads in new[] { 1, 2 }) yield return EncoderLayerStep(threads, dropout: 0.1);
        foreach (var threads in new[] { 1, 2 }) yield return GptStep(threads);
        yield return GptGeneration();
        foreach (var t in new[] { 128, 512, 2048 })
        {
            yield return AttentionStep(t, fused: true);
            yield return AttentionStep(t, fused: false);
        }
    }

    const int GptVocabulary = 2500, GptWidth = 256, GptLayers = 2, GptHeads = 4, GptContext = 48;

    // The gpt example's model at its sizes (token and position embeddings, 2 layers of width 256 with
    // 4 heads under the causal mask, a final LayerNorm, a head over 2,500 characters): one Adam step
    // on a batch of 32 chunks of 48. Post-norm ReLU layers on both sides, as libtorch's
    // TransformerEncoderLayer in TorchSharp 0.107 offers no norm_first or GELU (the example uses
    // pre-norm GELU; the arithmetic is the same but for the activation).
    static Workload GptStep(int threads)
    {
        const int batch = 32;
        var g = new MG.Generator(8);
        var (embed, position, layers, norm, head) = GptModules(g);
        var modules = new Module[] { embed, position, norm, head }.Concat(layers).ToArray();
        var optimizer = new Adam(modules.SelectMany(m => m.Parameters()).ToList(), lr: 1e-3);
        var mask = Transformer.GenerateSquareSubsequentMask(GptContext);
        var ids = MG.Tensor.RandInt(0, GptVocabulary, [batch, GptContext], generator: g);
        var targets = MG.Tensor.RandInt(0, GptVocabulary, [batch * GptContext], generator: g);
        var positions = MG.Tensor.Arange(GptContext, dtype: MG.DType.Int64);

        var tembed = nn.Embedding(GptVocabulary, GptWidth);
        var tposition = nn.Embedding(GptContext, GptWidth);
        var tlayers = Enumerable.Range(0, GptLayers).Select(_ => nn.TransformerEncoderLayer(GptWidth, GptHeads, 4 * GptWidth, 0.0, nn.Activations.ReLU)).ToArray();
        var tnorm = nn.LayerNorm(GptWidth);
        var thead = nn.Linear(GptWidth, GptVocabulary);
        var tparameters = new nn.Module[] { tembed, tposition, tnorm, thead }.Concat(tlayers).SelectMany(m => m.parameters()).ToArray();
        var toptimizer = optim.Adam(tparameters, 1e-3);
        var tmask = torch.triu(torch.full(GptContext, GptContext, float.NegativeInfinity), 1);
        var tids = torch.randint(0, GptVocabulary, [GptContext, batch], dtype: int64);   // sequence first
        var ttargets = torch.randint(0, GptVocabulary, [GptContext * batch], dtype: int64);
        var tpositions = torch.arange(GptContext, dtype: int64).unsqueeze(1);

        return new Workload($"GPT ({GptLayers} layers, width {GptWidth}, {GptHeads} heads, context {GptContext}, 2,500 characters) Adam step, batch {batch}",
            () =>
            {
                optimizer.ZeroGrad();
                var x = embed.Forward(ids) + position.Forward(positions);
                foreach (var layer in layers) x = layer.Forward(x, mask, isCausal: true);
                Losses.CrossEntropy(head.Forward(norm.Forward(x)).Reshape(-1, GptVocabulary), targets).Backward();
                optimizer.Step();
            },
            () =>
            {
                using var scope = torch.NewDisposeScope();
                toptimizer.zero_grad();
                var x = tembed.forward(tids) + tposition.forward(tpositions);
                foreach (var layer in tlayers) x = layer.call(x, tmask);
                nn.functional.cross_entropy(thead.forward(tnorm.forward(x)).reshape(-1, GptVocabulary), ttargets).backward();
                toptimizer.step();
            },
            // Per token: projections 4·d², feed-forward 8·d², attention 2·T·d per layer, the head d·V; ×2 forward, ×3 with backward.
            Flops: 6.0 * batch * GptContext * (GptLayers * (12.0 * GptWidth * GptWidth + 2.0 * GptContext * GptWidth) + GptWidth * GptVocabulary),
            Threads: threads);
    }

    // Generation, one sequence of 48 characters from an empty context: MetaGrad feeds one character a
    // step through a key/value cache per layer (the example's sampling); libtorch's
    // TransformerEncoderLayer has no cache, so it re-runs the whole prefix at each step, as a
    // PyTorch user of nn.TransformerEncoder would. Greedy choice on both sides; a rep is 48 tokens.
    static Workload GptGeneration()
    {
        var g = new MG.Generator(9);
        var (embed, position, layers, norm, head) = GptModules(g);
        foreach (var layer in layers) layer.Eval();
        var tembed = nn.Embedding(GptVocabulary, GptWidth);
        var tposition = nn.Embedding(GptContext, GptWidth);
        var tlayers = Enumerable.Range(0, GptLayers).Select(_ => nn.TransformerEncoderLayer(GptWidth, GptHeads, 4 * GptWidth, 0.0, nn.Activations.ReLU)).ToArray();
        foreach (var layer in tlayers) layer.eval();
        var tnorm = nn.LayerNorm(GptWidth);
        var thead = nn.Linear(GptWidth, GptVocabulary);
        var tmask = torch.triu(torch.full(GptContext, GptContext, float.NegativeInfinity), 1);

        return new Workload($"GPT generation, {GptContext} tokens (MetaGrad: key/value cache; libtorch: prefix re-run)",
            () =>
            {
                using var _ = MG.Autograd.NoGrad();
                var caches = layers.Select(_ => new KeyValueCache()).ToArray();
                long next = 1;
                for (int t = 0; t < GptContext; t++)
                {
                    var x = embed.Forward(MG.Tensor.From(new[] { next }, [1, 1])) + position.Forward(MG.Tensor.From(new[] { (long)t }, [1]));
                    for (int i = 0; i < layers.Length; i++) x = layers[i].ForwardCached(x, caches[i]);
                    next = head.Forward(norm.Forward(x)).ArgMax().Item<long>();
                }
            },
            () =>
            {
                using var _ = torch.no_grad();
                var tokens = new List<long> { 1 };
                for (int t = 0; t < GptContext; t++)
                {
                    using var scope = torch.NewDisposeScope();
                    var x = tembed.forward(torch.tensor(tokens.ToArray()).unsqueeze(1)) + tposition.forward(torch.arange(tokens.Count, dtype: int64).unsqueeze(1));
                    var mask = tmask[..tokens.Count, ..tokens.Count];
                    foreach (var layer in tlayers) x = layer.call(x, mask);
                    tokens.Add(thead.forward(tnorm.forward(x[-1])).argmax().item<long>());
                }
            },
            Threads: 1);
    }

    static (Embedding, Embedding, TransformerEncoderLayer[], LayerNorm, Linear) GptModules(MG.Generator g) =>
        (new Embedding(GptVocabulary, GptWidth, generator: g), new Embedding(GptContext, GptWidth, generator: g),
         [.. Enumerable.Range(0, GptLayers).Select(_ => new TransformerEncoderLayer(GptWidth, GptHeads, 4 * GptWidth, dropout: 0, batchFirst: true, generator: g))],
         new LayerNorm(GptWidth), new Linear(GptWidth, GptVocabulary, generator: g));

    // Scaled dot-product attention alone, forward and backward, batch 2 × 4 heads, head size 64, no
    // mask: MetaGrad's fused node (tiles and an online softmax, never the T×T weights) against
    // libtorch's scaled_dot_product_attention (its own fused CPU kernel), and the composed form
    // (q·kᵀ, softmax, ·v, keeping the T×T scores and weights) on both sides.
    static Workload AttentionStep(int t, bool fused)
    {
        const int heads = 8, d = 64;
        var g = new MG.Generator(7);
        var q = MG.Tensor.Randn([heads, t, d], generator: g).RequiresGrad_();
        var k = MG.Tensor.Randn([heads, t, d], generator: g).RequiresGrad_();
        var v = MG.Tensor.Randn([heads, t, d], generator: g).RequiresGrad_();
        var tq = torch.randn(heads, t, d).requires_grad_();
        var tk = torch.randn(heads, t, d).requires_grad_();
        var tv = torch.randn(heads, t, d).requires_grad_();
        double scale = 1 / Math.Sqrt(d);
        return new Workload($"attention fwd+bwd, 2×4 heads, T {t}, d 64, {(fused ? "fused" : "composed")}",
            () =>
            {
                (q.Grad, k.Grad, v.Grad) = (null, null, null);
                var y = fused ? Functional.ScaledDotProductAttention(q, k, v)
                    : (q.Matmul(k.Transpose(1, 2)) * scale).Softmax(-1).Matmul(v);
                y.Sum().Backward();
            },
            () =>
            {
                using var scope = torch.NewDisposeScope();
                (tq.grad, tk.grad, tv.grad) = (null, null, null);
                var y = fused ? nn.functional.scaled_dot_product_attention(tq, tk, tv)
                    : (tq.matmul(tk.transpose(1, 2)) * scale).softmax(-1).matmul(tv);
                y.sum().backward();
            },
            // Forward q·kᵀ and P·v, 2·T²·d each; backward four more products of that size.
            Flops: 12.0 * heads * t * t * d, Threads: 2);
    }

    // A TransformerEncoderLayer (d_model 256, 4 heads, feed-forward 1024, post-norm, ReLU, no dropout
    // unless asked) on sequences of 128, batch 16: forward, backward of the mean, Adam step.
    static Workload EncoderLayerStep(int threads, double dropout = 0)
    {
        const int d = 256, heads = 4, ff = 1024, t = 128, batch = 16;
        var g = new MG.Generator(6);
        var layer = new TransformerEncoderLayer(d, heads, ff, dropout: dropout, generator: g);
        var optimizer = new Adam(layer.Parameters(), lr: 1e-3);
        var x = MG.Tensor.Randn([t, batch, d], generator: g);

        var tlayer = nn.TransformerEncoderLayer(d, heads, ff, dropout, nn.Activations.ReLU);
        var toptimizer = optim.Adam(tlayer.parameters(), 1e-3);
        var tx = torch.randn(t, batch, d);

        return new Workload($"TransformerEncoderLayer 256/4 heads/1024, T {t}, batch {batch}{(dropout > 0 ? FormattableString.Invariant($", dropout {dropout}") : "")}, Adam step",
            () =>
            {
                optimizer.ZeroGrad();
                layer.Forward(x).Mean().Backward();
                optimizer.Step();
            },
            () =>
            {
                using var scope = torch.NewDisposeScope();
                toptimizer.zero_grad();
                tlayer.forward(tx).mean().backward();
                toptimizer.step();
            },
            // Projections 4·d² and feed-forward 2·d·ff per token, attention 2·T·d per token: ×2 forward, ×3 with backward.
            Flops: 6.0 * t * batch * (4.0 * d * d + 2.0 * d * ff + 2.0 * t * d), Threads: threads);
    }
}
