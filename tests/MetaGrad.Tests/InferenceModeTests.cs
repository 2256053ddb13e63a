using MetaGrad.NN;

namespace MetaGrad.Tests;

/// <summary>Autograd.InferenceMode: nothing recorded, and the tensors it makes refused by autograd afterwards, as PyTorch refuses them.</summary>
public class InferenceModeTests
{
    [Fact]
    public void InsideNothingIsRecorded_AndResultsEqualNoGrads()
    {
        var model = new Linear(3, 2, generator: new Generator(1));
        var x = Tensor.Randn(4, 3);
        Tensor inferred, plain;
        using (Autograd.InferenceMode())
        {
            Assert.True(Autograd.IsInferenceModeEnabled);
            Assert.False(Autograd.IsGradEnabled);
            inferred = model.Forward(x);
            Assert.False(inferred.RequiresGrad);
            Assert.True(inferred.IsInference);
            inferred.Add_(0);                               // in place inside: allowed
        }
        Assert.False(Autograd.IsInferenceModeEnabled);
        Assert.True(Autograd.IsGradEnabled);
        using (Autograd.NoGrad()) plain = model.Forward(x);
        Assert.False(plain.IsInference);
        Assert.True(inferred.AllClose(plain, 0, 0));
        using (Autograd.InferenceMode())
        using (Autograd.InferenceMode(false))
            Assert.False(Tensor.Ones(2).IsInference);
    }

    [Fact]
    public void InferenceTensors_AreRefusedByAutogradOutside()
    {
        Tensor x;
        using (Autograd.InferenceMode()) x = Tensor.Ones(3) * 2;
        var w = Tensor.Ones(3).RequiresGrad_();
        var e = Assert.Throws<InvalidOperationException>(() => w * x);   // Mul saves x for w's gradient
        Assert.Contains("inference tensors cannot be saved for backward", e.Message);
        Assert.Equal(9.0, (w + x).Sum().Item());                          // Add saves nothing: allowed
        Assert.Contains("inference tensor outside InferenceMode", Assert.Throws<InvalidOperationException>(() => x.Add_(1)).Message);
        Assert.Contains("inference tensor outside InferenceMode", Assert.Throws<InvalidOperationException>(() => x.RequiresGrad_()).Message);
        var copy = x.Clone();
        Assert.False(copy.IsInference);
        (w * copy).Sum().Backward();
        Assert.Equal([2f, 2, 2], w.Grad!.ToArray<float>());
    }
}
