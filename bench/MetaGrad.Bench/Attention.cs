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
        foreach (var t in new[] { 128, 512, 2048 })
        {
            yield return AttentionStep(t, fused: true);
            yield return AttentionStep(t, fused: false);
        }
    }

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

    // A TransformerEncoderLayer (d_model 256, 4 heads, feed-forward 1024, post-norm, ReLU, no dropout)
    // on sequences of 128, batch 16: forward, backward of the mean, Adam step.
    static Workload EncoderLayerStep(int threads)
    {
        const int d = 256, heads = 4, ff = 1024, t = 128, batch = 16;
        var g = new MG.Generator(6);
        var layer = new TransformerEncoderLayer(d, heads, ff, dropout: 0, generator: g);
        var optimizer = new Adam(layer.Parameters(), lr: 1e-3);
        var x = MG.Tensor.Randn([t, batch, d], generator: g);

        var tlayer = nn.TransformerEncoderLayer(d, heads, ff, 0.0, nn.Activations.ReLU);
        var toptimizer = optim.Adam(tlayer.parameters(), 1e-3);
        var tx = torch.randn(t, batch, d);

        return new Workload($"TransformerEncoderLayer 256/4 heads/1024, T {t}, batch {batch}, Adam step",
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
