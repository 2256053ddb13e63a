using MetaGrad.IO;
using MetaGrad.NN;
using MetaGrad.NN.Utils;

namespace MetaGrad.Tests.Porting;

/// <summary>
/// What a PyTorch user porting a script wrote first, before reading any documentation: each of
/// these once failed to compile or misled, and now does what the user meant.
/// </summary>
public class FirstGuessTests
{
    [Fact]
    public void Creation_TakesSizesThenOptions_AsTorchRandn()
    {
        var x = Tensor.Randn(32, 10, requiresGrad: true);     // torch.randn(32, 10, requires_grad=True)
        Assert.Equal([32, 10], x.Shape);
        Assert.True(x.RequiresGrad);
        var z = Tensor.Zeros(2, 3, 4, DType.Float64);         // torch.zeros(2, 3, 4, dtype=torch.float64)
        Assert.Equal(DType.Float64, z.DType);
        Assert.Equal(24, z.Numel);
        Assert.Equal(1.0, Tensor.Ones(2, 2).Sum().Item() / 4);
        var u = Tensor.Rand(5, generator: new Generator(1));
        Assert.True(u.Min().Item() >= 0 && u.Max().Item() < 1);
    }

    [Fact]
    public void Item_WithoutATypeArgument_GivesADouble()
    {
        var loss = Tensor.From(new float[] { 1.5f, 2.5f }, [2]).Mean();
        double value = loss.Item();                               // loss.item()
        Assert.Equal(2.0, value);
        Assert.Equal(7.0, Tensor.From(7L).Item());
        var e = Assert.Throws<InvalidOperationException>(() => Tensor.Ones(2).Item());
        Assert.Contains("2 elements", e.Message);
    }

    [Fact]
    public void Shape_PrintsItsSizes_AndSizeWithoutADimIsTheShape()
    {
        var x = Tensor.Zeros(2, 3);
        Assert.Equal("[2, 3]", x.Shape.ToString());              // print(x.shape) -> torch.Size([2, 3])
        Assert.Equal("[]", Tensor.From(1f).Shape.ToString());
        Assert.Equal(x.Shape, x.Size());                          // x.size()
        Assert.Equal(3, x.Size()[^1]);
        Assert.True(x.Shape == Tensor.Ones(2, 3).Shape);
        Assert.False(x.Shape == Tensor.Ones(3, 2).Shape);
        Assert.Equal(6, x.Shape.Numel());
    }

    [Fact]
    public void AllClose_AsAStaticCall()
    {
        var a = Tensor.From(new float[] { 1, 2 }, [2]);
        Assert.True(Tensor.AllClose(a, a + 1e-7f));               // torch.allclose(a, b)
        Assert.False(Tensor.AllClose(a, a + 0.1f));
        Assert.True(Tensor.AllClose(a, a + 0.1f, atol: 0.2));
    }

    [Fact]
    public void LoadStateDict_TakesWhatSafetensorsLoadReturns()
    {
        using var folder = new TempFolder();
        string path = Path.Combine(folder.Path, "model.safetensors");
        var model = new Linear(3, 2, generator: new Generator(4));
        Safetensors.Save(path, model.StateDict());
        var copy = new Linear(3, 2, generator: new Generator(5));
        copy.LoadStateDict(Safetensors.Load(path));               // model.load_state_dict(load_file(path))
        Assert.True(copy.Weight.AllClose(model.Weight, 0, 0));
        Assert.True(copy.Bias!.AllClose(model.Bias!, 0, 0));
    }

    [Fact]
    public void PackPaddedSequence_TakesLengthsAsATensor_AsPadPackedSequenceReturnsThem()
    {
        var padded = Tensor.Arange(0, 12, 1, DType.Float32).Reshape(3, 2, 2);   // [T 3, N 2, 2]
        var packed = Rnn.PackPaddedSequence(padded, Tensor.From(new long[] { 3, 2 }, [2]));
        var (unpacked, lengths) = Rnn.PadPackedSequence(packed);
        var again = Rnn.PackPaddedSequence(unpacked, lengths);
        Assert.True(again.Data.AllClose(packed.Data, 0, 0));
        Assert.Equal([3L, 2L], lengths.ToArray<long>());
        // Row (t 2, sample 1) is padding: zero after the round trip.
        Assert.Equal(0f, unpacked[2, 1].Sum().Item<float>());
        var e = Assert.Throws<ArgumentException>(() => Rnn.PackPaddedSequence(padded, Tensor.From(new float[] { 3, 2 }, [2])));
        Assert.Contains("Int64", e.Message);
    }
}
