using MetaGrad.IO;

namespace MetaGrad.Tests.IO;

public class CheckpointTests
{
    sealed record AdamOptions(double Lr, double[] Betas, bool Amsgrad);

    [Fact]
    public void SaveAndLoad_RestoresTensorsBitForBit_AndValuesExactly()
    {
        using var dir = new TempFolder();
        var path = dir.File("last.safetensors");
        var weight = Tensor.Randn([5, 4], generator: new Generator(3));
        var expAvg = Tensor.Randn([5, 4], DType.Float64, generator: new Generator(4));
        new Checkpoint()
            .Add("model", new Dictionary<string, Tensor> { ["fc1.weight"] = weight, ["fc1.bias"] = Tensor.Zeros(5) })
            .Add("optim", new Dictionary<string, Tensor> { ["state.0.exp_avg"] = expAvg, ["state.0.step"] = Tensor.From(12L) })
            .Set("epoch", 3)
            .Set("optim.options", new AdamOptions(0.1 + 0.2, [0.9, 0.999], false))
            .Save(path);

        var loaded = Checkpoint.Load(path);
        Assert.Equal(["fc1.bias", "fc1.weight"], loaded.Section("model").Keys.Order());
        Assert.Equal(["state.0.exp_avg", "state.0.step"], loaded.Section("optim").Keys.Order());
        Assert.Equal(weight.ToArray<float>().Select(BitConverter.SingleToInt32Bits), loaded.Tensors["model.fc1.weight"].ToArray<float>().Select(BitConverter.SingleToInt32Bits));
        Assert.Equal(expAvg.ToArray<double>().Select(BitConverter.DoubleToInt64Bits), loaded.Section("optim")["state.0.exp_avg"].ToArray<double>().Select(BitConverter.DoubleToInt64Bits));
        Assert.Equal(12L, loaded.Section("optim")["state.0.step"].Item<long>());
        Assert.Equal(3, loaded.Get<int>("epoch"));
        var options = loaded.Get<AdamOptions>("optim.options");
        Assert.Equal(0.1 + 0.2, options.Lr);   // 0.30000000000000004 survives the JSON text
        Assert.Equal([0.9, 0.999], options.Betas);
    }

    [Fact]
    public void StaticSave_WritesTheGivenTensorsAndMetadata()
    {
        using var dir = new TempFolder();
        var path = dir.File("c.safetensors");
        Checkpoint.Save(path, new Dictionary<string, Tensor> { ["model.w"] = Tensor.Ones(2) }, new Dictionary<string, string> { ["epoch"] = "7" });
        var loaded = Checkpoint.Load(path);
        Assert.Equal(7, loaded.Get<int>("epoch"));
        Check.Values([1f, 1f], loaded.Tensors["model.w"]);
    }

    [Fact]
    public void Mistakes_AreExplained()
    {
        var checkpoint = new Checkpoint().Add("model", new Dictionary<string, Tensor> { ["w"] = Tensor.Ones(1) }).Set("epoch", 1);
        Assert.Contains("\"model.w\" is already", Assert.Throws<ArgumentException>(() => checkpoint.Add("model", new Dictionary<string, Tensor> { ["w"] = Tensor.Ones(1) })).Message);
        Assert.Contains("the entries are: epoch", Assert.Throws<KeyNotFoundException>(() => checkpoint.Get<int>("step")).Message);
        checkpoint.Metadata["lr"] = "not json";
        Assert.Contains("\"lr\"", Assert.Throws<InvalidDataException>(() => checkpoint.Get<double>("lr")).Message);
    }
}
