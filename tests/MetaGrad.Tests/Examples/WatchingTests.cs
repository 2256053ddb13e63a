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
        Assert.Equal(2 * 12, histograms.Count);   // three linear layers' weights and biases and their gradients, each epoch
        Assert.Contains(histograms, p => p.v.Tag == "fc3.bias.grad" && p.Step == 1 && p.v.Histo.Num == 10);
        Assert.Contains(histograms, p => p.v.Tag == "fc1.weight" && p.Step == 2 && p.v.Histo.Num == 784 * 32);
        Assert.Contains("MLP 784-32-16-10", values.Single(p => p.v.Tag == "settings/text_summary").v.Tensor.StringVal[0].ToStringUtf8());

        using (var confusion = SkiaSharp.SKBitmap.Decode(dir.File("confusion.png")))
            Assert.Equal(ConfusionMatrixPicture.PngSize(10), (confusion.Width, confusion.Height));
        var picture = values.Single(p => p.v.Tag == "confusion matrix");
        Assert.Equal(2L, picture.Step);
        Assert.Equal(File.ReadAllBytes(dir.File("confusion.png")), picture.v.Image.EncodedImageString.ToByteArray());

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

        // Resumed with the same patience, it has already stopped: no epoch more.
        Assert.Equal(0, MnistExample.Run(options with { Resume = true, Epochs = 40 }, data));
        Assert.Equal(history.Count, MnistTrainer.Resume(dir.File("checkpoint.safetensors"), data).Epoch);
    }

    [Fact]
    public void TensorBoard_LeNet_ShowsItsFirstFiltersAsOneImage()
    {
        using var dir = new TempFolder();
        var options = new MnistExample.RunOptions(1, new MnistSettings { Model = "lenet", Optimizer = "sgd" }, null, dir.Path, Resume: false, ProgressStyle.None, TensorBoard: true);
        Assert.Equal(0, MnistExample.Run(options, MnistTests.SmallData(128, 100)));
        var image = EventFileReader.Events(Path.Combine(dir.Path, "tb"))
            .Where(e => e.Summary is not null).SelectMany(e => e.Summary.Value).Single(v => v.Tag == "conv1 filters").Image;
        Assert.Equal((5, 30, 3), (image.Height, image.Width, image.Colorspace));   // six 5x5 filters in a row, grey as RGB
    }

    [Fact]
    public void TensorBoard_Poetry_LogsPerplexities_AndTheVersesAsText()
    {
        using var dir = new TempFolder();
        var corpus = TangCorpus.Load(TangCorpus.FindShipped());
        var settings = new PoetrySettings { Epochs = 2, Embedding = 16, Hidden = 32, SeqLen = 24, BatchSize = 16, Lr = 1e-2, MaxPoems = 40, TensorBoardDir = dir.Path };
        var result = PoetryExample.Train(corpus, settings);

        var values = EventFileReader.Events(dir.Path).Where(e => e.Summary is not null).SelectMany(e => e.Summary.Value).ToList();
        Assert.Equal([(float)result.InitialPerplexity, .. result.Perplexities.Select(p => (float)p)],
            values.Where(v => v.Tag == "perplexity/held_out").Select(v => v.SimpleValue));
        var verses = values.Single(v => v.Tag == "verses/text_summary").Tensor.StringVal[0].ToStringUtf8();
        Assert.Equal([.. result.FiveCharVerses, .. result.SevenCharVerses], verses.Split("  \n"));
    }
}
