using MetaGrad.Data;
using MetaGrad.NN;

namespace MetaGrad.Examples;

/// <summary>
/// He et al.'s basic block: conv 3×3 → BatchNorm → ReLU → conv 3×3 → BatchNorm, plus the input
/// (through a 1×1 convolution and BatchNorm where the block changes size or channels), then ReLU.
/// Parameter names are torchvision's (conv1, bn1, conv2, bn2, downsample.0, downsample.1).
/// </summary>
public sealed class BasicBlock : Module<Tensor, Tensor>
{
    readonly Conv2d Conv1, Conv2;
    readonly BatchNorm2d Bn1, Bn2;
    readonly Sequential? Downsample;

    public BasicBlock(int inChannels, int outChannels, int stride, Generator generator)
    {
        Conv1 = new Conv2d(inChannels, outChannels, 3, stride: stride, padding: 1, bias: false, generator: generator);
        Bn1 = new BatchNorm2d(outChannels);
        Conv2 = new Conv2d(outChannels, outChannels, 3, padding: 1, bias: false, generator: generator);
        Bn2 = new BatchNorm2d(outChannels);
        if (stride != 1 || inChannels != outChannels)
            Downsample = new Sequential(new Conv2d(inChannels, outChannels, 1, stride: stride, bias: false, generator: generator), new BatchNorm2d(outChannels));
    }

    public override Tensor Forward(Tensor x)
    {
        var h = Bn1.Call(Conv1.Call(x)).Relu();
        h = Bn2.Call(Conv2.Call(h));
        return (h + (Downsample?.Call(x) ?? x)).Relu();
    }
}

/// <summary>
/// A small ResNet for 28×28 digits: a 3×3 stem to 16 channels, three basic blocks (16 at 28×28,
/// 32 at 14×14, 64 at 7×7), global average pooling and a linear classifier. About 78,000 parameters.
/// </summary>
public sealed class MnistResNet : Module<Tensor, Tensor>
{
    readonly Conv2d Conv1;
    readonly BatchNorm2d Bn1;
    readonly BasicBlock Layer1, Layer2, Layer3;
    readonly Linear Fc;

    public MnistResNet(Generator generator)
    {
        Conv1 = new Conv2d(1, 16, 3, padding: 1, bias: false, generator: generator);
        Bn1 = new BatchNorm2d(16);
        Layer1 = new BasicBlock(16, 16, 1, generator);
        Layer2 = new BasicBlock(16, 32, 2, generator);
        Layer3 = new BasicBlock(32, 64, 2, generator);
        Fc = new Linear(64, 10, generator: generator);
    }

    /// <summary>Images [N, 1, 28, 28] (or [N, 784]) to logits [N, 10].</summary>
    public override Tensor Forward(Tensor images)
    {
        var x = Bn1.Call(Conv1.Call(images.Reshape(-1, 1, 28, 28))).Relu();
        x = Layer3.Call(Layer2.Call(Layer1.Call(x)));
        return Fc.Call(Functional.AdaptiveAvgPool2d(x, 1).Flatten(1));
    }
}

/// <summary>
/// Random small rotations and shifts of digit images, drawn from the run's generator (so a resumed
/// run draws the same ones): each output pixel takes the source pixel its inverse transform lands
/// on, bilinearly, and background where it falls outside.
/// </summary>
public static class DigitAugmentation
{
    /// <summary>Each image of [N, 1, 28, 28] turned by up to ±<paramref name="degrees"/> and moved by up to ±<paramref name="shift"/> pixels.</summary>
    public static Tensor Apply(Tensor images, Generator generator, double degrees = 12, double shift = 2.5)
    {
        int n = images.Shape[0], side = 28;
        var source = images.Contiguous().ToArray<float>();
        var result = new float[source.Length];
        float background = (float)((0 - Mnist.Mean) / Mnist.Std);
        double centre = (side - 1) / 2.0;
        for (int k = 0; k < n; k++)
        {
            double angle = (2 * generator.NextDouble() - 1) * degrees * Math.PI / 180;
            double dx = (2 * generator.NextDouble() - 1) * shift, dy = (2 * generator.NextDouble() - 1) * shift;
            double cos = Math.Cos(angle), sin = Math.Sin(angle);
            var image = source.AsSpan(k * side * side, side * side);
            var output = result.AsSpan(k * side * side, side * side);
            for (int y = 0; y < side; y++)
                for (int x = 0; x < side; x++)
                {
                    // Where this output pixel comes from: undo the shift, then the rotation about the centre.
                    double u = x - dx - centre, v = y - dy - centre;
                    double sx = cos * u + sin * v + centre, sy = -sin * u + cos * v + centre;
                    output[y * side + x] = Bilinear(image, side, sx, sy, background);
                }
        }
        return Tensor.From(result, images.Shape.ToArray());
    }

    static float Bilinear(ReadOnlySpan<float> image, int side, double x, double y, float background)
    {
        int x0 = (int)Math.Floor(x), y0 = (int)Math.Floor(y);
        double fx = x - x0, fy = y - y0, sum = 0;
        for (int j = 0; j <= 1; j++)
            for (int i = 0; i <= 1; i++)
            {
                int px = x0 + i, py = y0 + j;
                float value = px < 0 || py < 0 || px >= side || py >= side ? background : image[py * side + px];
                sum += value * (i == 0 ? 1 - fx : fx) * (j == 0 ? 1 - fy : fy);
            }
        return (float)sum;
    }
}
