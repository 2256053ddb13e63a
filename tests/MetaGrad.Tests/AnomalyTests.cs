namespace MetaGrad.Tests;

/// <summary>Anomaly mode: the first NaN or infinity is stopped where it is made, naming the node and the user's call.</summary>
public class AnomalyTests
{
    // The forward call whose node the messages must name: a line of this file.
    static Tensor LogOf(Tensor x) => x.Log();

    [Fact]
    public void ABackwardThatReturnsInfinity_ThrowsNamingTheNodeShapesAndForwardCall()
    {
        var x = Tensor.From(new[] { 1f, 0f, 2f }, requiresGrad: true);
        AnomalyException ex;
        using (Autograd.DetectAnomaly())
        {
            var loss = (LogOf(x) * 2f).Sum();
            ex = Assert.Throws<AnomalyException>(() => loss.Backward());
        }
        Assert.Equal("LogBackward", ex.Operation);
        Assert.Contains("LogBackward returned inf values in its gradient for input 0 (shape [3])", ex.Message);
        Assert.Contains("inputs had shapes [3]", ex.Message);
        Assert.Contains(nameof(LogOf), ex.ForwardTrace);
        Assert.Contains("AnomalyTests.cs:line", ex.ForwardTrace);
        Assert.DoesNotContain("MetaGrad.Function", ex.ForwardTrace);   // the user's frames only
        Assert.Null(x.Grad);
    }

    [Fact]
    public void ANaNGradient_IsNamedAsNaN()
    {
        // sqrt's derivative at 0 is infinite; times a zero gradient it is NaN.
        var x = Tensor.From(new[] { 0.0, 4.0 }, requiresGrad: true);
        using var _ = Autograd.DetectAnomaly();
        var y = x.Sqrt() * Tensor.From(new[] { 0.0, 1.0 });
        var ex = Assert.Throws<AnomalyException>(() => y.Sum().Backward());
        Assert.Contains("SqrtBackward returned nan values", ex.Message);
    }

    [Fact]
    public void OutsideAnomalyMode_TheInfinityFlowsIntoTheGradient()
    {
        var x = Tensor.From(new[] { 1f, 0f, 2f }, requiresGrad: true);
        (LogOf(x) * 2f).Sum().Backward();
        Assert.Equal([2f, float.PositiveInfinity, 1f], x.Grad!.ToArray<float>());
        Assert.False(Autograd.IsAnomalyEnabled);
    }

    [Fact]
    public void TheForwardCheck_StopsTheOperationThatMadeANaNFromFiniteInputs()
    {
        using var _ = Autograd.DetectAnomaly(checkForward: true);
        var finite = Tensor.From(new[] { 1f, 0f });
        var ex = Assert.Throws<AnomalyException>(() => LogOf(finite));
        Assert.Equal("Log", ex.Operation);
        Assert.Contains("Log produced inf values (output shape [2]) from finite inputs of shapes [2]", ex.Message);
        Assert.Contains(nameof(LogOf), ex.ForwardTrace);
        // Already infinite going in: not this operation's doing.
        Assert.Equal([float.PositiveInfinity], LogOf(Tensor.From(new[] { float.PositiveInfinity })).ToArray<float>());
        // An overflow is caught too.
        Assert.Contains("produced inf values", Assert.Throws<AnomalyException>(() => Tensor.From(float.MaxValue) * Tensor.From(2f)).Message);
    }

    [Fact]
    public void TheScope_RestoresTheModeAndOtherThreadsAreUntouched()
    {
        bool elsewhere = true;
        using (Autograd.DetectAnomaly())
        {
            Assert.True(Autograd.IsAnomalyEnabled);
            var t = new Thread(() => elsewhere = Autograd.IsAnomalyEnabled);
            t.Start();
            t.Join();
            using (Autograd.SetDetectAnomaly(false)) Assert.False(Autograd.IsAnomalyEnabled);
            Assert.True(Autograd.IsAnomalyEnabled);
        }
        Assert.False(Autograd.IsAnomalyEnabled);
        Assert.False(elsewhere);
    }
}
