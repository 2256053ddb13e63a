using MetaGrad.NN;
using MetaGrad.Optim;
using TorchSharp;
using static TorchSharp.torch;
using MG = MetaGrad;

namespace MetaGrad.Bench;

/// <summary>Training-step workloads: the same model, loss and optimizer in both engines.</summary>
static class Training
{
    public static IEnumerable<Workload> Workloads(bool quick)
    {
        foreach (var threads in new[] { 1, 2 })
            foreach (var batch in quick ? new[] { 64 } : [64, 256])
                yield return MlpStep(batch, threads);
    }

    // MLP 784-256-128-10, ReLU, cross-entropy, Adam: one forward, backward and update.
    static Workload MlpStep(int batch, int threads)
    {
        var g = new MG.Generator(1);
        var model = new Sequential(new Linear(784, 256, generator: g), new ReLU(), new Linear(256, 128, generator: g), new ReLU(), new Linear(128, 10, generator: g));
        var optimizer = new Adam(model.Parameters(), lr: 1e-3);
        var x = MG.Tensor.Randn([batch, 784], generator: g);
        var y = MG.Tensor.RandInt(0, 10, [batch], generator: g);

        var tmodel = nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 128), nn.ReLU(), nn.Linear(128, 10));
        var toptimizer = optim.Adam(tmodel.parameters(), lr: 1e-3);
        var tx = torch.randn(batch, 784);
        var ty = torch.randint(0, 10, new long[] { batch });
        var loss = nn.CrossEntropyLoss();

        return new Workload($"MLP 784-256-128-10 Adam step, batch {batch}",
            () =>
            {
                optimizer.ZeroGrad();
                Losses.CrossEntropy(model.Forward(x), y).Backward();
                optimizer.Step();
            },
            () =>
            {
                using var scope = torch.NewDisposeScope();
                toptimizer.zero_grad();
                loss.forward(tmodel.forward(tx), ty).backward();
                toptimizer.step();
            },
            Flops: 6.0 * batch * (784 * 256 + 256 * 128 + 128 * 10), Threads: threads);
    }
}
