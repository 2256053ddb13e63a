using MetaGrad.NN;
using MetaGrad.Optim;
using TorchSharp;
using static TorchSharp.torch;
using MG = MetaGrad;
using F = MetaGrad.NN.Functional;

namespace MetaGrad.Bench;

/// <summary>Convolutional workloads: LeNet-5's training step, one 3×3 layer, a ResNet basic block, depthwise layers (MobileNet's 3×3, ConvNeXt's 7×7), a grouped layer (ResNeXt's).</summary>
static class Convolution
{
    public static IEnumerable<Workload> Workloads()
    {
        foreach (var threads in new[] { 1, 2 }) yield return LeNetStep(threads);
        foreach (var threads in new[] { 1, 2 }) yield return Conv3x3(threads);
        yield return BasicBlockStep(2);
        foreach (var threads in new[] { 1, 2 }) yield return Depthwise(threads, channels: 64, kernel: 3, size: 32);
        yield return Depthwise(1, channels: 128, kernel: 7, size: 16);
        foreach (var threads in new[] { 1, 2 }) yield return Grouped(threads);
    }

    // A grouped 3×3 convolution as ResNeXt's (groups of a few channels: 8 of 8), batch 32: forward
    // and backward of input, weight and bias.
    static Workload Grouped(int threads)
    {
        const int batch = 32, channels = 64, size = 32, groups = 8;
        var g = new MG.Generator(7);
        return LayerStep($"grouped 3×3, 64 channels in {groups} groups, {size}×{size}, batch {batch}, forward + backward",
            new Conv2d(channels, channels, 3, padding: 1, groups: groups, generator: g), nn.Conv2d(channels, channels, 3, padding: 1, groups: groups),
            MG.Tensor.Randn([batch, channels, size, size], generator: g), 6.0 * batch * size * size * channels * channels / groups * 9, threads);
    }

    // A depthwise convolution (groups = channels) with "same" padding, batch 32: forward and backward of input, weight and bias.
    static Workload Depthwise(int threads, int channels, int kernel, int size)
    {
        const int batch = 32;
        var g = new MG.Generator(6);
        return LayerStep($"depthwise {kernel}×{kernel}, {channels} channels, {size}×{size}, batch {batch}, forward + backward",
            new Conv2d(channels, channels, kernel, padding: kernel / 2, groups: channels, generator: g),
            nn.Conv2d(channels, channels, kernel, padding: kernel / 2, groups: channels),
            MG.Tensor.Randn([batch, channels, size, size], generator: g), 6.0 * batch * size * size * channels * kernel * kernel, threads);
    }

    // LeNet-5 on 28×28 (padding 2 on the first convolution, as for MNIST), batch 64, SGD.
    static Workload LeNetStep(int threads)
    {
        const int batch = 64;
        var g = new MG.Generator(3);
        var model = new Sequential(
            new Conv2d(1, 6, 5, padding: 2, generator: g), new ReLU(), new MaxPool2d(2),
            new Conv2d(6, 16, 5, generator: g), new ReLU(), new MaxPool2d(2), new Flatten(),
            new Linear(16 * 5 * 5, 120, generator: g), new ReLU(), new Linear(120, 84, generator: g), new ReLU(), new Linear(84, 10, generator: g));
        var optimizer = new SGD(model.Parameters(), lr: 0.01, momentum: 0.9);
        var x = MG.Tensor.Randn([batch, 1, 28, 28], generator: g);
        var y = MG.Tensor.RandInt(0, 10, [batch], generator: g);

        var tmodel = nn.Sequential(
            nn.Conv2d(1, 6, 5, padding: 2), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
            nn.Linear(16 * 5 * 5, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10));
        var toptimizer = optim.SGD(tmodel.parameters(), 0.01, momentum: 0.9);
        var tx = torch.randn(batch, 1, 28, 28);
        var ty = torch.randint(0, 10, new long[] { batch });

        // Multiply-adds of the two convolutions and three linears, forward; backward twice that.
        return Training.ClassifierStep($"LeNet-5 SGD step, batch {batch}", model, optimizer, x, y, tmodel, toptimizer, tx, ty,
            6.0 * batch * (28 * 28 * 6 * 25 + 10 * 10 * 16 * 6 * 25 + 400 * 120 + 120 * 84 + 84 * 10), threads);
    }

    // A 3×3 convolution 64→64 on 32×32 with padding 1, batch 32: forward and backward of input and weight.
    static Workload Conv3x3(int threads)
    {
        const int batch = 32, channels = 64, size = 32;
        var g = new MG.Generator(4);
        return LayerStep($"conv 3×3 64→64, 32×32, batch {batch}, forward + backward",
            new Conv2d(channels, channels, 3, padding: 1, generator: g), nn.Conv2d(channels, channels, 3, padding: 1),
            MG.Tensor.Randn([batch, channels, size, size], generator: g), 6.0 * batch * size * size * channels * channels * 9, threads);
    }

    // One layer's forward and backward of its input and parameters, from the sum of its output.
    static Workload LayerStep(string name, Module<MG.Tensor, MG.Tensor> layer, nn.Module<torch.Tensor, torch.Tensor> tlayer, MG.Tensor input, double flops, int threads)
    {
        var x = input.RequiresGrad_();
        var tx = torch.randn(input.Shape.ToArray().Select(d => (long)d).ToArray(), requires_grad: true);
        return new Workload(name,
            () =>
            {
                layer.ZeroGrad();
                x.Grad = null;
                layer.Forward(x).Sum().Backward();
            },
            () =>
            {
                using var scope = torch.NewDisposeScope();
                tlayer.zero_grad();
                tx.grad?.zero_();
                tlayer.forward(tx).sum().backward();
            },
            Flops: flops, Threads: threads);
    }

    // conv-BN-ReLU-conv-BN + skip, ReLU, batch 32, 64 channels, 32×32, SGD.
    static Workload BasicBlockStep(int threads)
    {
        const int batch = 32, channels = 64, size = 32;
        var g = new MG.Generator(5);
        var conv1 = new Conv2d(channels, channels, 3, padding: 1, bias: false, generator: g);
        var bn1 = new BatchNorm2d(channels);
        var conv2 = new Conv2d(channels, channels, 3, padding: 1, bias: false, generator: g);
        var bn2 = new BatchNorm2d(channels);
        var parameters = new Module[] { conv1, bn1, conv2, bn2 }.SelectMany(m => m.Parameters()).ToList();
        var optimizer = new SGD(parameters, lr: 0.01, momentum: 0.9);
        var x = MG.Tensor.Randn([batch, channels, size, size], generator: g);

        var tconv1 = nn.Conv2d(channels, channels, 3, padding: 1, bias: false);
        var tbn1 = nn.BatchNorm2d(channels);
        var tconv2 = nn.Conv2d(channels, channels, 3, padding: 1, bias: false);
        var tbn2 = nn.BatchNorm2d(channels);
        var tparameters = tconv1.parameters().Concat(tbn1.parameters()).Concat(tconv2.parameters()).Concat(tbn2.parameters());
        var toptimizer = optim.SGD(tparameters, 0.01, momentum: 0.9);
        var tx = torch.randn(batch, channels, size, size);

        return new Workload($"ResNet basic block SGD step, 64 channels, 32×32, batch {batch}",
            () =>
            {
                optimizer.ZeroGrad();
                var h = F.Relu(bn1.Forward(conv1.Forward(x)));
                F.Relu(bn2.Forward(conv2.Forward(h)) + x).Mean().Backward();
                optimizer.Step();
            },
            () =>
            {
                using var scope = torch.NewDisposeScope();
                toptimizer.zero_grad();
                var h = torch.nn.functional.relu(tbn1.forward(tconv1.forward(tx)));
                torch.nn.functional.relu(tbn2.forward(tconv2.forward(h)) + tx).mean().backward();
                toptimizer.step();
            },
            Flops: 2 * 6.0 * batch * size * size * channels * channels * 9, Threads: threads);
    }
}
