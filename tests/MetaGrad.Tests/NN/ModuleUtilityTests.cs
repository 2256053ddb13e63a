using MetaGrad.NN;
using MetaGrad.NN.Utils;

namespace MetaGrad.Tests.NN;

/// <summary>UnpadSequence, UnpackSequence, ParametersToVector and VectorToParameters.</summary>
public class ModuleUtilityTests
{
    static Tensor[] Sequences() =>
    [
        Tensor.From(new double[] { 1, 2, 3, 4, 5, 6 }, [3, 2]),
        Tensor.From(new double[] { 7, 8 }, [1, 2]),
        Tensor.From(new double[] { 9, 10, 11, 12 }, [2, 2]),
    ];

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void UnpadSequence_UndoesPadSequence(bool batchFirst)
    {
        var seqs = Sequences();
        var padded = Rnn.PadSequence(seqs, batchFirst, paddingValue: -1);
        var back = Rnn.UnpadSequence(padded, [3, 1, 2], batchFirst);
        Assert.Equal(3, back.Length);
        for (int i = 0; i < 3; i++)
        {
            Assert.Equal(seqs[i].Shape.ToArray(), back[i].Shape.ToArray());
            Assert.Equal(seqs[i].ToArray<double>(), back[i].ToArray<double>());
        }
        var byTensor = Rnn.UnpadSequence(padded, Tensor.From(new long[] { 3, 1, 2 }, [3]), batchFirst);
        Assert.Equal(back[2].ToArray<double>(), byTensor[2].ToArray<double>());
    }

    [Fact]
    public void UnpadSequence_SendsGradientsOnlyToTheKeptSteps()
    {
        var padded = Tensor.Ones([3, 2, 1], DType.Float64, requiresGrad: true);   // [T, N, *]
        var parts = Rnn.UnpadSequence(padded, [2, 3]);
        (parts[0].Sum() + 10 * parts[1].Sum()).Backward();
        Assert.Equal(new double[] { 1, 10, 1, 10, 0, 10 }, padded.Grad!.ToArray<double>());
        Assert.Throws<ArgumentException>(() => Rnn.UnpadSequence(padded, [4, 1]));
        Assert.Throws<ArgumentException>(() => Rnn.UnpadSequence(padded, [1]));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void UnpackSequence_UndoesPackSequence(bool sorted)
    {
        var seqs = Sequences();
        if (sorted) seqs = [seqs[0], seqs[2], seqs[1]];
        var back = Rnn.UnpackSequence(Rnn.PackSequence(seqs, enforceSorted: sorted));
        for (int i = 0; i < seqs.Length; i++)
            Assert.Equal(seqs[i].ToArray<double>(), back[i].ToArray<double>());
    }

    [Fact]
    public void ParametersToVector_JoinsInOrderAndIsDifferentiable()
    {
        var model = new Linear(3, 2);
        var v = ParameterVectors.ParametersToVector(model.Parameters());
        Assert.Equal(new[] { 8 }, v.Shape.ToArray());
        Assert.Equal(model.Weight.ToArray<float>().Concat(model.Bias!.ToArray<float>()), v.ToArray<float>());
        (v * Tensor.Arange(8.0)).Sum().Backward();
        Assert.Equal(new float[] { 0, 1, 2, 3, 4, 5 }, model.Weight.Grad!.ToArray<float>());
        Assert.Equal(new float[] { 6, 7 }, model.Bias.Grad!.ToArray<float>());
    }

    [Fact]
    public void VectorToParameters_CopiesSlicesIntoTheParametersInPlace()
    {
        var model = new Linear(3, 2);
        var weight = model.Weight;
        ParameterVectors.VectorToParameters(Tensor.Arange(10.0), model.Parameters());   // the last 2 entries are unused, as in PyTorch
        Assert.Same(weight, model.Weight);
        Assert.Equal(new float[] { 0, 1, 2, 3, 4, 5 }, model.Weight.ToArray<float>());
        Assert.Equal(new float[] { 6, 7 }, model.Bias!.ToArray<float>());
        var round = ParameterVectors.ParametersToVector(model.Parameters());
        Assert.Equal(Enumerable.Range(0, 8).Select(i => (float)i), round.ToArray<float>());
        Assert.Contains("only 5", Assert.Throws<ArgumentException>(() => ParameterVectors.VectorToParameters(Tensor.Zeros(5), model.Parameters())).Message);
        Assert.Throws<ArgumentException>(() => ParameterVectors.VectorToParameters(Tensor.Zeros(2, 4), model.Parameters()));
    }
}
