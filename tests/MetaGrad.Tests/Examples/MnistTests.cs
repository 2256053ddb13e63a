using MetaGrad.Examples;

namespace MetaGrad.Tests.Examples;

/// <summary>The flagship's training loop on real digits, its checkpoints, and the command's outputs.</summary>
public class MnistTests
{
    // A quarter of the shipped training digits and half the test digits: a real run, in a few seconds.
    static readonly Lazy<MnistData> Subset = new(() => MnistData.Load(trainCount: 2000, testCount: 1000));

    /// <summary>The first digits of the shipped set, for runs that only need to be quick.</summary>
    internal static MnistData SmallData(int train, int test) =>
        new(Subset.Value.TrainImages[..train], Subset.Value.TrainLabels[..train], Subset.Value.TestImages[..test], Subset.Value.TestLabels[..test]);

    static int[] Bits(Tensor t) => t.ToArray<float>().Select(BitConverter.SingleToInt32Bits).ToArray();

    [Fact]
    public void TwoEpochs_LossFalls_AndTestAccuracyPasses85Percent()
    {
        var trainer = new MnistTrainer(Subset.Value, new MnistSettings());
        var (untrainedLoss, untrainedAccuracy) = trainer.Evaluate(Subset.Value.TestImages, Subset.Value.TestLabels);
        var first = trainer.TrainEpoch();
        var second = trainer.TrainEpoch();

        Assert.InRange(untrainedAccuracy, 0.0, 0.3);                   // chance is 0.1
        Assert.True(untrainedLoss > 2.0, $"untrained loss {untrainedLoss}");   // about ln 10 = 2.3
        Assert.True(second.TrainLoss < first.TrainLoss, $"train loss {first.TrainLoss} then {second.TrainLoss}");
        Assert.True(second.TestLoss < 0.6, $"test loss {second.TestLoss}");
        Assert.True(second.TestAccuracy > 0.85, $"test accuracy {second.TestAccuracy}");
        Assert.Equal([1, 2], trainer.History.Select(r => r.Epoch));
    }

    [Fact]
    public void SaveThenResume_ContinuesBitForBit()
    {
        using var dir = new TempFolder();
        var data = new MnistData(Subset.Value.TrainImages[..256], Subset.Value.TrainLabels[..256], Subset.Value.TestImages[..100], Subset.Value.TestLabels[..100]);
        var settings = new MnistSettings { BatchSize = 32, Hidden1 = 16, Hidden2 = 8, Seed = 3, Optimizer = "adamw" };

        var straight = new MnistTrainer(data, settings);
        for (int i = 0; i < 3; i++) straight.TrainEpoch();

        var first = new MnistTrainer(data, settings);
        first.TrainEpoch();
        first.Save(dir.File("checkpoint.safetensors"));
        var resumed = MnistTrainer.Resume(dir.File("checkpoint.safetensors"), data);
        Assert.Equal(1, resumed.Epoch);
        Assert.Equal(settings, resumed.Settings);
        resumed.TrainEpoch();
        resumed.TrainEpoch();

        var expected = straight.Model.StateDict();
        var actual = resumed.Model.StateDict();
        Assert.Equal(expected.Keys, actual.Keys);
        foreach (var key in expected.Keys) Assert.Equal(Bits(expected[key]), Bits(actual[key]));
        foreach (var (key, value) in straight.Optimizer.StateDict().State)
            if (value.DType == DType.Float32) Assert.Equal(Bits(value), Bits(resumed.Optimizer.StateDict().State[key]));
        Assert.Equal(straight.Optimizer.ParamGroups[0].Lr, resumed.Optimizer.ParamGroups[0].Lr);
        Assert.Equal(straight.History.Select(r => r with { Seconds = 0 }), resumed.History.Select(r => r with { Seconds = 0 }));
    }

    [Fact]
    public void Command_WritesCheckpointAndPlot_AndResumesToMoreEpochs()
    {
        using var dir = new TempFolder();
        var data = new MnistData(Subset.Value.TrainImages[..512], Subset.Value.TrainLabels[..512], Subset.Value.TestImages[..200], Subset.Value.TestLabels[..200]);
        var options = new MnistExample.RunOptions(Epochs: 1, new MnistSettings { Hidden1 = 32, Hidden2 = 16 }, Data: null, Out: dir.Path, Resume: false, ProgressStyle.None);

        Assert.Equal(0, MnistExample.Run(options, data));
        Assert.Equal(0, MnistExample.Run(options with { Epochs = 2, Resume = true }, data));

        var resumed = MnistTrainer.Resume(dir.File("checkpoint.safetensors"), data);
        Assert.Equal(2, resumed.Epoch);
        Assert.Equal([1, 2], resumed.History.Select(r => r.Epoch));
        var png = File.ReadAllBytes(dir.File("curves.png"));
        Assert.Equal(new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G' }, png[..4]);
        Assert.True(png.Length > 10_000, $"a plot with axes, labels and curves, not an empty image: {png.Length} bytes");
    }

    [Fact]
    public void Resume_WithoutACheckpoint_FailsWithAMessage()
    {
        using var dir = new TempFolder();
        var options = new MnistExample.RunOptions(1, new MnistSettings(), null, dir.Path, Resume: true, ProgressStyle.None);
        Assert.Equal(1, MnistExample.Run(options, Subset.Value));
    }
}
