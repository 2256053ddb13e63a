using MetaGrad.NN;

namespace MetaGrad.Tests.NN;

/// <summary>A call that throws leaves the module as it was: checks come before any change.</summary>
public class StateOnErrorTests
{
    static float[] Values(Tensor t) => t.Detach().Clone().ToArray<float>();

    [Fact]
    public void BatchNorm1d_GivenAnotherDTypeInTraining_ThrowsBeforeTouchingItsStatistics()
    {
        var bn = new BatchNorm1d(3);
        bn.Forward(Tensor.From(new float[,] { { 1, 2, 3 }, { 3, 6, 9 } }));
        var mean = Values(bn.RunningMean!);
        var variance = Values(bn.RunningVar!);
        var ex = Assert.Throws<ArgumentException>(() => bn.Forward(Tensor.From(new double[,] { { 1, 2, 3 }, { 4, 5, 6 } })));
        Assert.Contains("BatchNorm1d", ex.Message);
        Assert.Contains("Float64", ex.Message);
        Assert.Contains("Float32", ex.Message);
        // Once: num_batches_tracked was 2 and running_mean scaled by 0.9 before the throw.
        Assert.Equal(1L, bn.StateDict()["num_batches_tracked"].Item<long>());
        Assert.Equal(mean, Values(bn.RunningMean!));
        Assert.Equal(variance, Values(bn.RunningVar!));
    }

    [Fact]
    public void NormalisationLayers_RefuseAnotherDTypeInEvalToo()
    {
        // These once promoted silently to Float64; PyTorch refuses, as Linear and the recurrent layers do here.
        var bn = new BatchNorm1d(2);
        bn.Eval();
        Assert.Contains("BatchNorm1d", Assert.Throws<ArgumentException>(() => bn.Forward(Tensor.Ones([4, 2], DType.Float64))).Message);
        var ln = new LayerNorm(2);
        Assert.Contains("LayerNorm", Assert.Throws<ArgumentException>(() => ln.Forward(Tensor.Ones([4, 2], DType.Float64))).Message);
        // Without affine parameters or running statistics there is no dtype to disagree with.
        var plain = new BatchNorm1d(2, affine: false, trackRunningStats: false);
        var y = plain.Forward(Tensor.From(new double[,] { { 1, 2 }, { 3, 6 } }));
        Assert.Equal(DType.Float64, y.DType);
        Assert.Equal([-1.0, -1.0, 1.0, 1.0], y.ToArray<double>().Select(v => Math.Round(v, 4)).ToArray());
    }

    [Fact]
    public void LoadStateDict_WithASizeMismatch_CopiesNothing()
    {
        var model = new Sequential(new Linear(2, 2), new Linear(2, 3));
        var before = model.StateDict().ToDictionary(p => p.Key, p => Values(p.Value));
        var state = new Dictionary<string, Tensor>
        {
            ["0.weight"] = Tensor.Full([2, 2], 7),
            ["0.bias"] = Tensor.Full([2], 7),
            ["1.weight"] = Tensor.Full([3, 3], 7),   // wrong: [3, 2]
            ["1.bias"] = Tensor.Full([3], 7),
        };
        var ex = Assert.Throws<ArgumentException>(() => model.LoadStateDict(state));
        Assert.Contains("size mismatch for 1.weight", ex.Message);
        Assert.Contains("[3, 3]", ex.Message);
        foreach (var (key, value) in model.StateDict()) Assert.Equal(before[key], Values(value));
    }

    [Fact]
    public void LoadStateDict_OfNull_IsAnArgumentNullException()
    {
        var model = new Linear(2, 2);
        Assert.Throws<ArgumentNullException>(() => model.LoadStateDict(null!));
        var withNullEntry = new Dictionary<string, Tensor> { ["weight"] = null!, ["bias"] = Tensor.Zeros(2) };
        Assert.Contains("weight is null", Assert.Throws<ArgumentException>(() => model.LoadStateDict(withNullEntry)).Message);
    }

    [Fact]
    public void BilinearAndEmbeddingBag_RefuseAnotherDType()
    {
        // Both promoted silently to Float64 through Matmul and a product.
        var bilinear = new Bilinear(2, 3, 4, generator: new Generator(0));
        var ex = Assert.Throws<ArgumentException>(() => bilinear.Forward(Tensor.Ones([5, 2], DType.Float64), Tensor.Ones(5, 3)));
        Assert.Contains("Bilinear", ex.Message);
        Assert.Contains("Bilinear", Assert.Throws<ArgumentException>(() => bilinear.Forward(Tensor.Ones(5, 2), Tensor.Ones([5, 3], DType.Float64))).Message);
        Assert.Equal([5, 4], bilinear.Forward(Tensor.Ones(5, 2), Tensor.Ones(5, 3)).Shape.ToArray());
        var bag = new EmbeddingBag(10, 3, mode: "sum", generator: new Generator(0));
        var ids = Tensor.From(new long[,] { { 1, 2 } });
        Assert.Contains("EmbeddingBag", Assert.Throws<ArgumentException>(() => bag.Forward(ids, null, Tensor.Ones([1, 2], DType.Float64))).Message);
    }

    [Fact]
    public void RecurrentLayers_CheckInputStatesAndParametersOnceNamingThemselves()
    {
        var lstm = new LSTM(3, 4, generator: new Generator(0));
        var ex = Assert.Throws<ArgumentException>(() => lstm.Forward(Tensor.Zeros(5, 2, 3), (Tensor.Zeros([1, 2, 4], DType.Float64), Tensor.Zeros(1, 2, 4))));
        Assert.Contains("LSTM (Lstm)", ex.Message);
        var cell = new GRUCell(3, 4, generator: new Generator(0));
        Assert.Contains("GRUCell", Assert.Throws<ArgumentException>(() => cell.Forward(Tensor.Zeros(2, 3), Tensor.Zeros([2, 4], DType.Float64))).Message);
    }
}
