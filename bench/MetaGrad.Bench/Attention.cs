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
