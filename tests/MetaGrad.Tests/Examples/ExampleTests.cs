using MetaGrad.Examples;

namespace MetaGrad.Tests.Examples;

/// <summary>Each small example's core, run as the command line runs it, with its result held to what the example claims.</summary>
public class ExampleTests
{
    [Fact]
    public void LinearRegression_RecoversSlopeAndIntercept()
    {
        var (w, b, loss) = LinearRegression.Fit(200);
        Assert.InRange(w, 2.9f, 3.1f);
        Assert.InRange(b, 1.95f, 2.05f);
        Assert.InRange(loss, 0.005f, 0.02f);   // the noise variance is 0.01: the fit cannot go far below it
    }

    [Fact]
    public void LogisticRegression_SeparatesAdmittedFromRejected()
    {
        var (accuracy, loss) = LogisticRegression.Fit(500);
        Assert.InRange(accuracy, 0.9, 1.0);    // the luck term blurs the boundary, so not 100%
        Assert.InRange(loss, 0.0, 0.2);
    }

    [Fact]
    public void SoftmaxRegression_ClassifiesHeldOutPoints()
    {
        Assert.InRange(SoftmaxRegression.Fit(200), 0.9, 1.0);
    }

    [Fact]
    public void PolynomialRegression_RightFeaturesFit_TooFewUnderfit_TooManyOverfit()
    {
        var fits = PolynomialRegression.FitAll(200).ToDictionary(f => f.Name);
        var (cubic, linear, degree19) = (fits["cubic"], fits["linear"], fits["degree 19"]);
        Assert.Equal([5f, 1.2f, -3.4f, 5.6f], cubic.Weights, (a, b) => Math.Abs(a - b) < 0.1f);
        Assert.InRange(cubic.TestLoss, 0.005, 0.02);          // about the noise variance, 0.01
        Assert.True(linear.TrainLoss > 1 && linear.TestLoss > 1, "a line cannot follow the cubic, even on its own training points");
        Assert.True(degree19.TestLoss > 10 * degree19.TrainLoss, $"overfitting: train {degree19.TrainLoss}, test {degree19.TestLoss}");
    }

    [Fact]
    public void Feedforward_HiddenLayersBeatALinearModelOnTwoMoons()
    {
        var (mlp, linear) = Feedforward.Compare(40);
        Assert.InRange(mlp, 0.95, 1.0);
        Assert.InRange(linear, 0.75, 0.92);
    }

    [Fact]
    public void Regularization_WeightDecayAndDropout_NarrowTheGap()
    {
        var outcomes = Regularization.Compare(200).ToDictionary(o => o.Name);
        var plain = outcomes["plain"];
        Assert.True(plain.TrainLoss < 1e-3 && plain.TestLoss > 0.03, $"the plain model overfits: train {plain.TrainLoss}, test {plain.TestLoss}");
        Assert.True(outcomes["weight decay"].TestLoss < 0.8 * plain.TestLoss, $"weight decay: test {outcomes["weight decay"].TestLoss}");
        Assert.True(outcomes["dropout"].TestLoss < 0.8 * plain.TestLoss, $"dropout: test {outcomes["dropout"].TestLoss}");
        Assert.True(outcomes["weight decay"].Gap < plain.Gap && outcomes["dropout"].Gap < plain.Gap);
    }

    [Fact]
    public void LrSchedulerDemo_ShowsEachSchedule()
    {
        var lrs = LrSchedulerDemo.Schedules(20).ToDictionary(s => s.Name, s => s.Lrs);
        Assert.All(lrs.Values, s => Assert.Equal(20, s.Length));
        Assert.Equal([0.1, 0.1, 0.1, 0.1, 0.1, 0.05], lrs["StepLR"][..6]);
        Assert.Equal(0.001, lrs["MultiStep"][^1], 12);
        Assert.Equal(0.1 * Math.Pow(0.85, 19), lrs["Exponential"][^1], 12);
        Assert.Equal(0.1, lrs["Cosine"][0]);
        Assert.InRange(lrs["Cosine"][^1], 0.001, 0.002);      // approaching etaMin
        Assert.Equal(0.1, lrs["WarmRestart"][5], 12);           // the first restart, after t0 = 5 epochs
        Assert.Equal(0.01, lrs["LinearWarmup"][0], 12);
        Assert.Equal(0.1, lrs["LinearWarmup"][5], 12);
        Assert.Equal(0.1, lrs["OneCycle"].Max(), 12);
        Assert.Equal(lrs["Noam"].Max(), lrs["Noam"][5]);       // warm-up ends at step 5
    }

    [Fact]
    public void SeeingInside_DrawsEachGraph_AndProfilesTheStep()
    {
        var graphs = SeeingInside.Graphs().ToDictionary(g => g.Name, g => g.Dot);
        Assert.Equal(["max-with-a-tie", "slice", "reshape", "transpose", "mlp"], graphs.Keys);
        Assert.Contains("MaxBackward", graphs["max-with-a-tie"]);
        Assert.Contains("SliceBackward", graphs["slice"]);
        Assert.Contains("ReshapeBackward", graphs["reshape"]);
        Assert.Contains("PermuteBackward", graphs["transpose"]);
        Assert.Contains("\"0.weight\\n[8, 4] Float32\"", graphs["mlp"]);
        var profiler = SeeingInside.ProfileSteps();
        Assert.Equal(10, profiler.Events.Count(e => e.Name == "LinearBackward"));   // two layers, five steps
        Assert.Matches(@"LinearBackward\s+backward\s+10\s", profiler.Table(top: 100));
        // LeNet with padding 2: 156 + 2,416 + 48,120 + 10,164 + 850 parameters.
        var summary = SeeingInside.LeNetSummary();
        Assert.Equal(61_706, summary.TotalParameters);
        Assert.Equal(["", "conv1", "conv2", "fc1", "fc2", "fc3"], summary.Rows.Select(r => r.Name));
        Assert.Equal("[64, 6, 28, 28]", summary.Rows[1].OutputShape);
        // 6 layers of width 8, batch 4 (128 bytes a tensor), 3 segments: plain keeps the input and
        // six ReLU outputs; checkpointed, two segment inputs, then the last segment's input and its
        // two ReLU outputs.
        var memory = SeeingInside.CheckpointingMemory(layers: 6, width: 8, batch: 4, segments: 3, steps: 1);
        Assert.Equal(7 * 128, memory.PlainBytes);
        Assert.Equal(5 * 128, memory.CheckpointedBytes);
    }
}
