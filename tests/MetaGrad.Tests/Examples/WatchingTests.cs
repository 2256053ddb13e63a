using MetaGrad.Examples;
using MetaGrad.Tests.TensorBoard;

namespace MetaGrad.Tests.Examples;

/// <summary>The MNIST examples' --tensorboard and --patience.</summary>
public class WatchingTests
{
    static MnistData Small() => MnistTests.SmallData(512, 200);

    [Fact]
    public void TensorBoard_LogsEachEpochsFigures_TheWeights_AndTheHparams()
    {
        using var dir = new TempFolder();
        var settings = new MnistSettings { Hidden1 = 32, Hidden2 = 16 };
        var options = new MnistExample.RunOptions(2, settings, null, dir.Path, Resume: false, ProgressStyle.None, TensorBoard: true);
        Assert.Equal(0, MnistExample.Run(options, Small()));

        var history = MnistTrainer.Resume(dir.File("checkpoint.safetensors"), Small()).History;
        var events = EventFileReader.Events(Path.Combine(dir.Path, "tb"));
        var values = events.Where(e => e.Summary is not null).SelectMany(e => e.Summary.Value.Select(v => (e.Step, v))).ToList();
        float[] Scalars(string tag) => [.. values.Where(p => p.v.Tag == tag).Select(p => p.v.SimpleValue)];

        Assert.Equal(history.Select(r => (float)r.TestLoss), Scalars("loss/test"));
        Assert.Equal(history.Select(r => (float)r.TrainAccuracy), Scalars("accuracy/train"));
        Assert.Equal(2 * 8, Scalars("loss/train_batch").Length);   // 512 digits in batches of 64, two epochs
        Assert.Equal([1L, 16L], values.Where(p => p.v.Tag == "loss/train_batch").Select(p => p.Step).Where(s => s is 1 or 16));
        Assert.Equal([3e-3f, (float)(3e-3 * 0.7)], Scalars("lr"));
        var histograms = values.Where(p => p.v.Histo is not null).ToList();
        Assert.Equal(2 * 6, histograms.Count);   // three linear layers' weights and biases, each epoch
        Assert.Contains(histograms, p => p.v.Tag == "fc1.weight" && p.Step == 2 && p.v.Histo.Num == 784 * 32);
        Assert.Contains("MLP 784-32-16-10", values.Single(p => p.v.Tag == "settings/text_summary").v.Tensor.StringVal[0].ToStringUtf8());

        var hparams = EventFileReader.Events(Path.Combine(dir.Path, "tb", "hparams-2"));
        Assert.Equal((float)history[^1].TestAccuracy, hparams.Single(e => e.Summary?.Value[0].Tag == "hparam/test_accuracy").Summary.Value[0].SimpleValue);
    }

    [Fact]
    public void Patience_StopsOnceTheTestLossStopsFalling()
    {
        using var dir = new TempFolder();
        // 128 digits and a wide net: the test loss bottoms out within a few epochs and then climbs.
        var data = MnistTests.SmallData(128, 200);
        var options = new MnistExample.RunOptions(30, new MnistSettings { Hidden1 = 256, Hidden2 = 128, Dropout = 0, LrDecay = 1 }, null, dir.Path,
            Resume: false, ProgressStyle.None, Patience: 2);
        Assert.Equal(0, MnistExample.Run(options, data));

        var history = MnistTrainer.Resume(dir.File("checkpoint.safetensors"), data).History;
        Assert.True(history.Count < 30, $"stopped early, after {history.Count} epochs");
        int best = history.Select(r => r.TestLoss).ToList().IndexOf(history.Min(r => r.TestLoss));
        Assert.Equal(history.Count - 3, best);   // the best, then two epochs without improvement
    }
}
