namespace MetaGrad.Tests.Training;

/// <summary>EarlyStopping's counting, worked by hand against Lightning's rule (improve by more than minDelta; stop after patience misses).</summary>
public class EarlyStoppingTests
{
    [Fact]
    public void Min_StopsAfterPatienceEpochsWithoutImprovement_AndRemembersTheBest()
    {
        var stopping = new EarlyStopping(patience: 2);
        Assert.False(stopping.Step(1.0));
        Assert.False(stopping.Step(0.9));    // better
        Assert.False(stopping.Step(0.95));   // one miss
        Assert.True(stopping.Step(0.91));    // two misses: stop
        Assert.Equal((0.9, 2, 2, 4), (stopping.Best, stopping.BestEpoch, stopping.EpochsWithoutImprovement, stopping.Epochs));
        Assert.Equal("no improvement for 2 epochs; the best was 0.9 at epoch 2", stopping.Reason);
    }

    [Fact]
    public void AnImprovement_ResetsTheCount()
    {
        var stopping = new EarlyStopping(patience: 2);
        foreach (var v in new[] { 1.0, 1.1, 0.8, 0.85, 0.7 }) Assert.False(stopping.Step(v));
        Assert.Equal((0.7, 5, 0), (stopping.Best, stopping.BestEpoch, stopping.EpochsWithoutImprovement));
    }

    [Fact]
    public void MinDelta_AnImprovementSmallerThanItIsAMiss()
    {
        var stopping = new EarlyStopping(patience: 1, minDelta: 0.1);
        Assert.False(stopping.Step(1.0));
        Assert.True(stopping.Step(0.95));    // 0.05 better: not enough
        Assert.Equal((1.0, 1), (stopping.Best, stopping.BestEpoch));
    }

    [Fact]
    public void Max_ForAccuracies()
    {
        var stopping = new EarlyStopping(patience: 1, mode: StopMode.Max);
        Assert.False(stopping.Step(0.90));
        Assert.False(stopping.Step(0.95));
        Assert.True(stopping.Step(0.95));    // equal is not better
        Assert.Equal(0.95, stopping.Best);
    }

    [Fact]
    public void ANonFiniteValue_StopsAtOnce()
    {
        var stopping = new EarlyStopping(patience: 10);
        Assert.False(stopping.Step(2.0));
        Assert.True(stopping.Step(double.NaN));
        Assert.Equal("the monitored value is NaN at epoch 2", stopping.Reason);
        Assert.Equal(2.0, stopping.Best);
    }

    [Fact]
    public void RefusesNegativePatienceOrDelta()
    {
        Assert.Contains("patience", Assert.Throws<ArgumentException>(() => new EarlyStopping(-1)).Message);
        Assert.Contains("minDelta", Assert.Throws<ArgumentException>(() => new EarlyStopping(1, minDelta: -0.1)).Message);
    }
}
