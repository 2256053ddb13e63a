using MetaGrad.NN;
using MetaGrad.Optim;

namespace MetaGrad.Tests;

/// <summary>
/// Tensor.SetDefaultDType (torch.set_default_dtype): process-wide, so these tests run alone and
/// put Float32 back. What follows the default is what follows it in PyTorch: factories without a
/// dtype, module parameters, an integer tensor with a floating scalar.
/// </summary>
[Collection(ProcessWideState.Name)]
public class DefaultDTypeTests
{
    static void WithDefault(DType dtype, Action body)
    {
        Tensor.SetDefaultDType(dtype);
        try { body(); }
        finally { Tensor.SetDefaultDType(DType.Float32); }
    }

    [Fact]
    public void Factories_Modules_AndScalarPromotion_FollowTheDefault()
    {
        Assert.Equal(DType.Float32, Tensor.GetDefaultDType());
        WithDefault(DType.Float64, () =>
        {
            Assert.Equal(DType.Float64, Tensor.DefaultDType);
            Assert.All(new[] { Tensor.Zeros(2, 3), Tensor.Ones(4), Tensor.Empty(2), Tensor.Rand(2, 2), Tensor.Randn(3), Tensor.Full([2], 1.5),
                Tensor.Arange(5.0), Tensor.Linspace(0, 1, 5), Tensor.Eye(3), Tensor.Scalar(2.5), Tensor.Normal(0, 1, [3]), Tensor.Logspace(0, 2, 3) },
                t => Assert.Equal(DType.Float64, t.DType));
            Assert.Equal(DType.Int64, Tensor.Arange(5L).DType);                     // integer ranges stay integer
            Assert.Equal(DType.Float32, Tensor.Zeros(2, DType.Float32).DType);      // an explicit dtype wins
            Assert.Equal(DType.Float64, (Tensor.Arange(3L) * 0.5).DType);
            Assert.Equal(0.1 + 0.2, (Tensor.Scalar(0.1) + 0.2).Item());             // computed in double

            var modules = new Module[] { new Linear(3, 2), new Conv2d(1, 2, 3), new BatchNorm2d(2), new LSTM(3, 4), new Embedding(5, 2),
                new LayerNorm([3]), new TransformerEncoderLayer(8, 2, 16) };
            Assert.All(modules.SelectMany(m => m.Parameters()), p => Assert.Equal(DType.Float64, p.DType));
        });
        Assert.Equal(DType.Float32, Tensor.Zeros(2).DType);
        Assert.Equal(DType.Float32, new Linear(2, 2).Weight.DType);
    }

    [Fact]
    public void ATrainingStep_RunsInTheDefaultDType()
    {
        WithDefault(DType.Float64, () =>
        {
            var model = new Sequential(new Linear(4, 8, generator: new Generator(1)), new ReLU(), new Linear(8, 1, generator: new Generator(2)));
            var x = Tensor.Randn([16, 4], generator: new Generator(3));
            var y = x.Sum(1, keepDim: true);
            var optimizer = new Adam(model.Parameters(), lr: 0.01);
            double first = 0, last = 0;
            for (int step = 0; step < 50; step++)
            {
                var loss = Losses.MseLoss(model.Call(x), y);
                if (step == 0) first = loss.Item();
                last = loss.Item();
                optimizer.ZeroGrad();
                loss.Backward();
                optimizer.Step();
                Assert.Equal(DType.Float64, loss.DType);
            }
            Assert.True(last < first / 4, $"loss {first} -> {last}");
        });
    }

    [Fact]
    public void IntegerDefaults_AreRefused()
    {
        var error = Assert.Throws<ArgumentException>(() => Tensor.SetDefaultDType(DType.Int64));
        Assert.Contains("Int64", error.Message);
        Assert.Equal(DType.Float32, Tensor.DefaultDType);
    }
}
