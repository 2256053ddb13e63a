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
        foreach (var threads in new[] { 1, 2 })
            yield return LstmStep(threads);
        foreach (var threads in new[] { 1, 2 })
        {
            yield return HiddenStateStep("GRU", threads);
            yield return HiddenStateStep("RNN", threads);
        }
    }

    // The LSTM row's workload for the recurrent layers with a hidden state only: a GRU (three
    // gates) or a tanh RNN (one), the linear classifier on the last output, cross-entropy, Adam.
    static Workload HiddenStateStep(string kind, int threads)
    {
        const int steps = 32, batch = 32, input = 128, hidden = 256, classes = 10;
        var g = new MG.Generator(2);
        HiddenStateRecurrentModule layer = kind == "GRU" ? new GRU(input, hidden, generator: g) : new RNN(input, hidden, generator: g);
        var head = new Linear(hidden, classes, generator: g);
        var optimizer = new Adam(layer.Parameters().Concat(head.Parameters()), lr: 1e-3);
        var x = MG.Tensor.Randn([steps, batch, input], generator: g);
        var y = MG.Tensor.RandInt(0, classes, [batch], generator: g);

        nn.Module<torch.Tensor, torch.Tensor?, (torch.Tensor, torch.Tensor)> tlayer = kind == "GRU" ? nn.GRU(input, hidden) : nn.RNN(input, hidden);
        var thead = nn.Linear(hidden, classes);
        var toptimizer = optim.Adam(tlayer.parameters().Concat(thead.parameters()), lr: 1e-3);
        var tx = torch.randn(steps, batch, input);
        var ty = torch.randint(0, classes, new long[] { batch });
        var loss = nn.CrossEntropyLoss();
        int gates = kind == "GRU" ? 3 : 1;

        return new Workload($"{kind} 128→256, {steps} steps, batch {batch}, + linear, Adam step",
            () =>
            {
                optimizer.ZeroGrad();
                var (output, _) = layer.Forward(x);
                Losses.CrossEntropy(head.Forward(output[^1]), y).Backward();
                optimizer.Step();
            },
            () =>
            {
                using var scope = torch.NewDisposeScope();
                toptimizer.zero_grad();
                var (output, _) = tlayer.forward(tx, null);
                loss.forward(thead.forward(output[-1]), ty).backward();
                toptimizer.step();
            },
            Flops: 6.0 * steps * batch * (input + hidden) * gates * hidden, Threads: threads);
    }

    // LSTM 128→256 over 32 steps of a batch of 32, a linear classifier on the last output,
    // cross-entropy, Adam: one forward, backward and update.
    static Workload LstmStep(int threads)
    {
        const int steps = 32, batch = 32, input = 128, hidden = 256, classes = 10;
        var g = new MG.Generator(2);
        var lstm = new LSTM(input, hidden, generator: g);
        var head = new Linear(hidden, classes, generator: g);
        var optimizer = new Adam(lstm.Parameters().Concat(head.Parameters()), lr: 1e-3);
        var x = MG.Tensor.Randn([steps, batch, input], generator: g);
        var y = MG.Tensor.RandInt(0, classes, [batch], generator: g);

        var tlstm = nn.LSTM(input, hidden);
        var thead = nn.Linear(hidden, classes);
        var toptimizer = optim.Adam(tlstm.parameters().Concat(thead.parameters()), lr: 1e-3);
        var tx = torch.randn(steps, batch, input);
        var ty = torch.randint(0, classes, new long[] { batch });
        var loss = nn.CrossEntropyLoss();

        return new Workload($"LSTM 128→256, {steps} steps, batch {batch}, + linear, Adam step",
            () =>
            {
                optimizer.ZeroGrad();
                var (output, _) = lstm.Forward(x);
                Losses.CrossEntropy(head.Forward(output[^1]), y).Backward();
                optimizer.Step();
            },
            () =>
            {
                using var scope = torch.NewDisposeScope();
                toptimizer.zero_grad();
                var (output, _, _) = tlstm.forward(tx);
                loss.forward(thead.forward(output[-1]), ty).backward();
                toptimizer.step();
            },
            // Forward 2·(input + hidden)·4·hidden per row; backward twice that.
            Flops: 6.0 * steps * batch * (input + hidden) * 4 * hidden, Threads: threads);
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

        return ClassifierStep($"MLP 784-256-128-10 Adam step, batch {batch}", model, optimizer, x, y, tmodel, toptimizer, tx, ty,
            6.0 * batch * (784 * 256 + 256 * 128 + 128 * 10), threads);
    }

    /// <summary>One cross-entropy training step of a classifier in each engine: zero, forward, backward, update.</summary>
    public static Workload ClassifierStep(string name, Module<MG.Tensor, MG.Tensor> model, Optimizer optimizer, MG.Tensor x, MG.Tensor y,
        nn.Module<torch.Tensor, torch.Tensor> tmodel, optim.Optimizer toptimizer, torch.Tensor tx, torch.Tensor ty, double flops, int threads)
    {
        var loss = nn.CrossEntropyLoss();
        return new Workload(name,
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
            Flops: flops, Threads: threads);
    }
}
