namespace MetaGrad.Tests.Training;

/// <summary>The epoch meter's running figures and the progress shown from them.</summary>
public class EpochMeterTests
{
    [Fact]
    public void Step_CountsBatchesAndSamples_AndAveragesPerSampleAndPerBatch()
    {
        var heard = new List<BatchProgress>();
        var meter = new EpochMeter(batches: 3, heard.Add);
        meter.Step(2.0, samples: 64);
        meter.Step(1.0, samples: 64);
        var last = meter.Step(4.0, samples: 32);
        Assert.Equal((3, 160), (meter.Batch, meter.Samples));
        Assert.Equal((2.0 * 64 + 1.0 * 64 + 4.0 * 32) / 160, meter.MeanLoss, 12);   // 2.0
        Assert.Equal(7.0 / 3, meter.MeanBatchLoss, 12);
        Assert.Equal([1, 2, 3], heard.Select(p => p.Batch));
        Assert.Equal([64, 128, 160], heard.Select(p => p.Samples));
        Assert.Equal((3, 3, 4.0), (last.Batch, last.Batches, last.Loss));
    }

    [Fact]
    public void Step_PastTheAnnouncedLength_StretchesTheEpochInsteadOfANegativeEta()
    {
        var meter = new EpochMeter(batches: 1);
        meter.Step(1, 1);
        var p = meter.Step(1, 1);
        Assert.Equal((2, 2), (p.Batch, p.Batches));
        Assert.Equal(TimeSpan.Zero, p.Remaining);
    }

    [Fact]
    public void BatchProgress_RateAndEta_FromTheElapsedTime()
    {
        var p = new BatchProgress(Batch: 1, Batches: 4, Loss: 0.5, Samples: 10, Elapsed: TimeSpan.FromSeconds(2));
        Assert.Equal(5.0, p.SamplesPerSecond);
        Assert.Equal(TimeSpan.FromSeconds(6), p.Remaining);   // three more batches at 2 s each
    }

    [Fact]
    public void RefusesAnEmptyEpochOrBatch()
    {
        Assert.Throws<ArgumentException>(() => new EpochMeter(0));
        Assert.Contains("at least 1 sample", Assert.Throws<ArgumentException>(() => new EpochMeter(2).Step(1.0, 0)).Message);
    }

    [Fact]
    public void EpochProgress_Lines_PrintsAtEachQuarter_AndReturnsTheMeter()
    {
        var output = new StringWriter();
        var meter = EpochProgress.Run("epoch 1/2", batches: 8, ProgressStyle.Lines, m =>
        {
            for (int b = 0; b < 8; b++) m.Step(1.0 / (b + 1), samples: 16);
        }, output);
        var lines = output.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(4, lines.Length);   // after batches 2, 4, 6 and 8
        Assert.StartsWith("  epoch 1/2  batch 2/8  loss 0.5000  ", lines[0]);
        Assert.StartsWith("  epoch 1/2  batch 8/8  loss 0.1250  ", lines[3]);
        Assert.Contains("samples/s  ETA 0:00", lines[3]);
        Assert.Equal(128, meter.Samples);
    }

    [Fact]
    public void EpochProgress_None_HandsNoCallback_AndPrintsNothing()
    {
        var output = new StringWriter();
        bool? gotCallback = null;
        int result = EpochProgress.Run("x", 4, ProgressStyle.None, report => { gotCallback = report is not null; return 42; }, output);
        Assert.Equal((42, false), (result, gotCallback));
        Assert.Equal("", output.ToString());
    }
}
