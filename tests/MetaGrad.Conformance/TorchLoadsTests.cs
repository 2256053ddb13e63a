using TorchSharp;
using static TorchSharp.torch;

namespace MetaGrad.Conformance;

/// libtorch loads and computes: the oracle itself works before anything is compared against it.
public class TorchLoadsTests
{
    [Fact]
    public void MatmulAndBackwardGiveKnownValues()
    {
        using var scope = NewDisposeScope();

        var a = tensor(new float[] { 1, 2, 3, 4, 5, 6 }, 2, 3);
        var b = tensor(new float[] { 7, 8, 9, 10, 11, 12 }, 3, 2);
        var c = a.matmul(b);
        Assert.Equal(new long[] { 2, 2 }, c.shape);
        Assert.Equal(new float[] { 58, 64, 139, 154 }, c.data<float>().ToArray());

        var x = tensor(new float[] { 1, -2, 3 }, requires_grad: true);
        var y = tensor(new float[] { 4, 5, -6 });
        var loss = (x * y).sum();                        // d/dx sum(x*y) = y
        loss.backward();

        Assert.Equal(-24f, loss.item<float>());
        Assert.Equal(new float[] { 4, 5, -6 }, x.grad!.data<float>().ToArray());
    }
}
