using System.Text.RegularExpressions;
using MetaGrad.TensorBoard;
using MetaGrad.TensorBoard.Proto;
using SkiaSharp;

namespace MetaGrad.Tests.TensorBoard;

/// <summary>What SummaryWriter puts in an event file, read back with the tests' own TFRecord reader.</summary>
public class SummaryWriterTests
{
    [Fact]
    public void EventFile_IsNamedAsTensorFlowNamesThem_AndStartsWithTheFileVersion()
    {
        using var dir = new TempFolder();
        double before = (DateTime.UtcNow - DateTime.UnixEpoch).TotalSeconds;
        using (var writer = new SummaryWriter(dir.Path, filenameSuffix: ".v2")) Assert.Equal(dir.Path, writer.LogDir);

        var file = Path.GetFileName(Assert.Single(Directory.GetFiles(dir.Path)));
        Assert.Matches(new Regex(@"^events\.out\.tfevents\.\d{10}\." + Regex.Escape(Environment.MachineName) + $@"\.{Environment.ProcessId}\.\d+\.v2$"), file);
        var first = Assert.Single(EventFileReader.Events(dir.Path));
        Assert.Equal("brain.Event:2", first.FileVersion);
        Assert.InRange(first.WallTime, before - 1, before + 60);
    }

    [Fact]
    public void TwoWritersOfOneRun_GetTwoFiles()
    {
        using var dir = new TempFolder();
        using var first = new SummaryWriter(dir.Path);
        using var second = new SummaryWriter(dir.Path);
        Assert.NotEqual(first.FilePath, second.FilePath);
        Assert.Equal(2, Directory.GetFiles(dir.Path).Length);
    }

    [Fact]
    public void AddScalar_WritesSimpleValues_WithTheirStepsAndTimes()
    {
        using var dir = new TempFolder();
        using (var writer = new SummaryWriter(dir.Path))
        {
            writer.AddScalar("Loss/train", 2.5, globalStep: 0, walltime: 1000.25);
            writer.AddScalar("Loss/train", 0.125, globalStep: 7);
            writer.AddScalar("lr", Tensor.From(new[] { 3e-3f }, [1]), globalStep: 7);
        }
        var events = EventFileReader.Events(dir.Path).Skip(1).ToList();
        Assert.Equal(3, events.Count);
        Assert.Equal(("Loss/train", 2.5f, 0L, 1000.25), (events[0].Summary.Value[0].Tag, events[0].Summary.Value[0].SimpleValue, events[0].Step, events[0].WallTime));
        Assert.Equal(("Loss/train", 0.125f, 7L), (events[1].Summary.Value[0].Tag, events[1].Summary.Value[0].SimpleValue, events[1].Step));
        Assert.Equal(3e-3f, events[2].Summary.Value[0].SimpleValue);
        Assert.Equal(Summary.Types.Value.ValueOneofCase.SimpleValue, events[2].Summary.Value[0].ValueCase);
    }

    [Fact]
    public void AddScalar_RefusesATensorOfMoreThanOneElement()
    {
        using var dir = new TempFolder();
        using var writer = new SummaryWriter(dir.Path);
        var e = Assert.Throws<ArgumentException>(() => writer.AddScalar("loss", Tensor.Zeros(2), globalStep: 0));
        Assert.Contains("[2]", e.Message);
    }

    [Fact]
    public void Flush_MakesEventsVisible_WhileTheWriterStaysOpen()
    {
        using var dir = new TempFolder();
        using var writer = new SummaryWriter(dir.Path);
        writer.AddScalar("a", 1, globalStep: 1);
        writer.Flush();
        var events = EventFileReader.Events(dir.Path);
        Assert.Equal(2, events.Count);
        Assert.Equal(1f, events[1].Summary.Value[0].SimpleValue);
    }

    [Fact]
    public void FlushSecs_ATimerPushesEventsToTheFile_AndZeroPushesEachEvent()
    {
        using var timed = new TempFolder();
        using var immediate = new TempFolder();
        using var byTimer = new SummaryWriter(timed.Path, flushSecs: 0.05);
        using var eachEvent = new SummaryWriter(immediate.Path, flushSecs: 0);
        byTimer.AddScalar("a", 1, globalStep: 1);
        eachEvent.AddScalar("a", 2, globalStep: 1);

        Assert.Equal(2f, EventFileReader.Events(immediate.Path)[1].Summary.Value[0].SimpleValue);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (EventFileReader.Events(timed.Path).Count < 2 && clock.Elapsed < TimeSpan.FromSeconds(10)) Thread.Sleep(20);
        Assert.Equal(2, EventFileReader.Events(timed.Path).Count);
    }

    [Fact]
    public void AddScalars_WritesEachSeriesToItsOwnRun_UnderTheMainTag()
    {
        using var dir = new TempFolder();
        using (var writer = new SummaryWriter(dir.Path))
        {
            writer.AddScalars("loss/epoch", new Dictionary<string, double> { ["train"] = 0.5, ["test"] = 0.75 }, globalStep: 3);
            writer.AddScalars("loss/epoch", new Dictionary<string, double> { ["train"] = 0.25, ["test"] = 0.5 }, globalStep: 4);
        }
        var train = EventFileReader.Events(Path.Combine(dir.Path, "loss_epoch_train")).Skip(1).ToList();
        var test = EventFileReader.Events(Path.Combine(dir.Path, "loss_epoch_test")).Skip(1).ToList();
        Assert.Equal([0.5f, 0.25f], train.Select(e => e.Summary.Value[0].SimpleValue));
        Assert.Equal([0.75f, 0.5f], test.Select(e => e.Summary.Value[0].SimpleValue));
        Assert.All(train.Concat(test), e => Assert.Equal("loss/epoch", e.Summary.Value[0].Tag));
        Assert.Equal([3L, 4L], test.Select(e => e.Step));
        Assert.Equal(train[0].WallTime, test[0].WallTime);   // one time for the group
    }

    [Fact]
    public void AddHistogram_EqualBins_CountsAsWorkedByHand()
    {
        using var dir = new TempFolder();
        using (var writer = new SummaryWriter(dir.Path))
            writer.AddHistogram("w", Tensor.From(new float[] { 1, 2, 2, 3, 3, 3, 4 }, [7]), bins: 3, globalStep: 2);
        var value = EventFileReader.Events(dir.Path)[1].Summary.Value[0];
        var h = value.Histo;
        Assert.Equal("w", value.Tag);
        // Edges 1, 2, 3, 4: [1,2) holds 1, [2,3) holds 2, [3,4] holds 3, 3, 3 and 4; an empty bin first.
        Assert.Equal([1.0, 2, 3, 4], h.BucketLimit);
        Assert.Equal([0.0, 1, 2, 4], h.Bucket);
        Assert.Equal((1.0, 4.0, 7.0, 18.0, 52.0), (h.Min, h.Max, h.Num, h.Sum, h.SumSquares));
    }

    [Fact]
    public void AddHistogram_TensorFlowBins_KeepsOnlyTheSpanOfTheData()
    {
        using var dir = new TempFolder();
        using (var writer = new SummaryWriter(dir.Path))
            writer.AddHistogram("w", Tensor.From(new double[] { -0.5, 0.5, 0.5, 2.0 }, [2, 2]), globalStep: 0);
        var h = EventFileReader.Events(dir.Path)[1].Summary.Value[0].Histo;
        // The edges ±1e-12·1.1^k (774 a side) and 0: -0.5 falls in bin 490, 0.5 in 1057, 2.0 in 1072, so
        // the buckets run from the empty bin 489 to 1072 and the limits from edge 490 to edge 1073.
        Assert.Equal(1549, Summaries.TensorFlowBins.Length);
        Assert.Equal(584, h.Bucket.Count);
        Assert.Equal(584, h.BucketLimit.Count);
        Assert.Equal(-0.5177616740489182, h.BucketLimit[0], 15);
        Assert.Equal(2.1628190051144287, h.BucketLimit[^1], 15);
        Assert.Equal(0.5177616740489182, h.BucketLimit[568], 15);
        Assert.Equal([0.0, 1.0], h.Bucket.Take(2));
        Assert.Equal(2.0, h.Bucket[568]);
        Assert.Equal(1.0, h.Bucket[^1]);
        Assert.Equal(4.0, h.Bucket.Sum());
        Assert.Equal((-0.5, 2.0, 4.0, 2.5, 4.75), (h.Min, h.Max, h.Num, h.Sum, h.SumSquares));
    }

    [Fact]
    public void Histogram_OfZeros_IsTheBinJustRightOfZero()
    {
        var h = Summaries.Histogram([0.0, 0.0, 0.0], Summaries.TensorFlowBins);
        Assert.Equal([0.0, 1e-12], h.BucketLimit);
        Assert.Equal([0.0, 3.0], h.Bucket);
    }

    [Fact]
    public void Histogram_RefusesNaN_AndEmptyValues()
    {
        Assert.Contains("finite", Assert.Throws<ArgumentException>(() => Summaries.Histogram([1.0, double.NaN], Summaries.TensorFlowBins)).Message);
        using var dir = new TempFolder();
        using var writer = new SummaryWriter(dir.Path);
        Assert.Contains("empty", Assert.Throws<ArgumentException>(() => writer.AddHistogram("w", Tensor.Zeros(0))).Message);
    }

    [Fact]
    public void AddImage_StoresAPngThatDecodesToTheScaledPixels_GreyRepeatedToRgb()
    {
        using var dir = new TempFolder();
        // One channel, 2 x 3, floats in [0, 1] (and out of it, clipped).
        var image = Tensor.From(new float[] { 0, 0.5f, 1, 1.5f, -1, 0.25f }, [1, 2, 3]);
        using (var writer = new SummaryWriter(dir.Path)) writer.AddImage("digit", image, globalStep: 5);

        var proto = EventFileReader.Events(dir.Path)[1].Summary.Value[0].Image;
        Assert.Equal((2, 3, 3), (proto.Height, proto.Width, proto.Colorspace));
        using var bitmap = SKBitmap.Decode(proto.EncodedImageString.ToByteArray());
        Assert.Equal((3, 2), (bitmap.Width, bitmap.Height));
        byte[] expected = [0, 127, 255, 255, 0, 63];   // ×255, clipped, truncated
        for (int y = 0; y < 2; y++)
            for (int x = 0; x < 3; x++)
            {
                var pixel = bitmap.GetPixel(x, y);
                byte v = expected[y * 3 + x];
                Assert.Equal((v, v, v, (byte)255), (pixel.Red, pixel.Green, pixel.Blue, pixel.Alpha));
            }
    }

    [Fact]
    public void AddImage_HwcIntegers_AreTakenAsBytes()
    {
        using var dir = new TempFolder();
        var rgb = Tensor.From(new long[] { 255, 0, 0, 0, 128, 300 }, [1, 2, 3]);   // H=1, W=2, C=3
        using (var writer = new SummaryWriter(dir.Path)) writer.AddImage("rgb", rgb, dataFormats: "HWC");
        var proto = EventFileReader.Events(dir.Path)[1].Summary.Value[0].Image;
        using var bitmap = SKBitmap.Decode(proto.EncodedImageString.ToByteArray());
        Assert.Equal(new SKColor(255, 0, 0), bitmap.GetPixel(0, 0));
        Assert.Equal(new SKColor(0, 128, 255), bitmap.GetPixel(1, 0));
    }

    [Fact]
    public void AddImages_TilesTheBatchEightToARow()
    {
        using var dir = new TempFolder();
        // Ten 1x2x2 images, image k all k/10: a grid of 2 rows of 8, the last six cells black.
        var batch = Tensor.From(Enumerable.Range(0, 10).SelectMany(k => Enumerable.Repeat(k / 10f, 4)).ToArray(), [10, 1, 2, 2]);
        using (var writer = new SummaryWriter(dir.Path)) writer.AddImages("batch", batch);
        var proto = EventFileReader.Events(dir.Path)[1].Summary.Value[0].Image;
        Assert.Equal((4, 16, 3), (proto.Height, proto.Width, proto.Colorspace));
        using var bitmap = SKBitmap.Decode(proto.EncodedImageString.ToByteArray());
        Assert.Equal((byte)76, bitmap.GetPixel(7, 1).Red);     // image 3 (0.3 × 255 = 76.5), its right column
        Assert.Equal((byte)229, bitmap.GetPixel(3, 3).Red);    // image 9 (229.5), second row
        Assert.Equal((byte)0, bitmap.GetPixel(15, 3).Red);              // no image 15
    }

    [Fact]
    public void AddImagePng_StoresTheFileAsItIs_WithTheSizeFromItsHeader()
    {
        using var dir = new TempFolder();
        var png = Png.Encode(new byte[5 * 3 * 4], width: 5, height: 3, channels: 4);
        using (var writer = new SummaryWriter(dir.Path)) writer.AddImagePng("figure", png, globalStep: 2);
        var value = EventFileReader.Events(dir.Path)[1].Summary.Value[0];
        Assert.Equal(("figure", 3, 5, 4), (value.Tag, value.Image.Height, value.Image.Width, value.Image.Colorspace));
        Assert.Equal(png, value.Image.EncodedImageString.ToByteArray());
        Assert.Contains("not a PNG", Assert.Throws<ArgumentException>(() => Summaries.ImagePng("x", [1, 2, 3])).Message);
    }

    [Fact]
    public void AddImage_RefusesAnUnknownLayout_AndAShapeThatDoesNotFitIt()
    {
        using var dir = new TempFolder();
        using var writer = new SummaryWriter(dir.Path);
        Assert.Contains("CHW, HWC", Assert.Throws<ArgumentException>(() => writer.AddImage("x", Tensor.Zeros(1, 2, 2), dataFormats: "WHC")).Message);
        Assert.Contains("3-dimensional", Assert.Throws<ArgumentException>(() => writer.AddImage("x", Tensor.Zeros(2, 2))).Message);
        Assert.Contains("channels", Assert.Throws<ArgumentException>(() => writer.AddImage("x", Tensor.Zeros(2, 4, 4))).Message);
    }

    [Fact]
    public void AddText_IsATextPluginStringTensor_AsPyTorchWritesIt()
    {
        using var dir = new TempFolder();
        using (var writer = new SummaryWriter(dir.Path)) writer.AddText("poem", "白日依山尽 *markdown*", globalStep: 1);
        var value = EventFileReader.Events(dir.Path)[1].Summary.Value[0];
        Assert.Equal("poem/text_summary", value.Tag);
        Assert.Equal("text", value.Metadata.PluginData.PluginName);
        Assert.True(value.Metadata.PluginData.Content.IsEmpty);   // TextPluginData version 0
        Assert.Equal(DataType.DtString, value.Tensor.Dtype);
        Assert.Equal([1L], value.Tensor.TensorShape.Dim.Select(d => d.Size));
        Assert.Equal("白日依山尽 *markdown*", Assert.Single(value.Tensor.StringVal).ToStringUtf8());
    }

    [Fact]
    public void AddHparams_WritesExperimentStartAndEnd_AndTheMetrics_InARunOfTheirOwn()
    {
        using var dir = new TempFolder();
        using (var writer = new SummaryWriter(dir.Path))
            writer.AddHparams(new Dictionary<string, object?> { ["lr"] = 3e-3, ["batch"] = 64, ["optimizer"] = "adam", ["augment"] = true, ["unset"] = null },
                new Dictionary<string, double> { ["hparam/accuracy"] = 0.98 },
                hparamDomainDiscrete: new Dictionary<string, object[]> { ["optimizer"] = ["adam", "sgd"] }, runName: "run1");

        var events = EventFileReader.Events(Path.Combine(dir.Path, "run1")).Skip(1).ToList();
        Assert.Equal([Summaries.ExperimentTag, Summaries.SessionStartInfoTag, Summaries.SessionEndInfoTag, "hparam/accuracy"],
            events.Select(e => e.Summary.Value[0].Tag));
        var data = events.Take(3).Select(e =>
        {
            Assert.Equal("hparams", e.Summary.Value[0].Metadata.PluginData.PluginName);
            return HParamsPluginData.Parser.ParseFrom(e.Summary.Value[0].Metadata.PluginData.Content);
        }).ToList();

        var experiment = data[0].Experiment;
        Assert.Equal(["lr", "batch", "optimizer", "augment"], experiment.HparamInfos.Select(i => i.Name));
        Assert.Equal([HParamDataType.DataTypeFloat64, HParamDataType.DataTypeFloat64, HParamDataType.DataTypeString, HParamDataType.DataTypeFloat64],
            experiment.HparamInfos.Select(i => i.Type));
        Assert.Equal(["adam", "sgd"], experiment.HparamInfos[2].DomainDiscrete.Values.Select(v => v.StringValue));
        Assert.Equal("hparam/accuracy", Assert.Single(experiment.MetricInfos).Name.Tag);

        var start = data[1].SessionStartInfo.Hparams;
        Assert.Equal(3e-3, start["lr"].NumberValue);
        Assert.Equal(64, start["batch"].NumberValue);
        Assert.Equal("adam", start["optimizer"].StringValue);
        Assert.Equal(1, start["augment"].NumberValue);   // a bool is a number, as Python's True is
        Assert.False(start.ContainsKey("unset"));
        Assert.Equal(SessionStatus.StatusSuccess, data[2].SessionEndInfo.Status);
        Assert.Equal(0.98f, events[3].Summary.Value[0].SimpleValue);
    }

    [Fact]
    public void AddHparams_RefusesASettingThatIsNeitherNumberNorString()
    {
        using var dir = new TempFolder();
        using var writer = new SummaryWriter(dir.Path);
        var e = Assert.Throws<ArgumentException>(() => writer.AddHparams(new Dictionary<string, object?> { ["layers"] = new[] { 1, 2 } }, new Dictionary<string, double>()));
        Assert.Contains("'layers'", e.Message);
        Assert.Contains("Int32[]", e.Message);
    }

    [Fact]
    public void Writing_AfterDispose_Throws()
    {
        using var dir = new TempFolder();
        var writer = new SummaryWriter(dir.Path);
        writer.Dispose();
        Assert.Throws<ObjectDisposedException>(() => writer.AddScalar("a", 1));
    }
}
