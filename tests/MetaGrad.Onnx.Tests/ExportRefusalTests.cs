using MetaGrad.NN;

namespace MetaGrad.Onnx.Tests;

/// <summary>What the exporter refuses, and that its message says what and where.</summary>
public class ExportRefusalTests
{
    sealed class RunningTotal : Module<Tensor, Tensor>
    {
        public override Tensor Forward(Tensor input) => input.Cumprod(1);
    }

    [Fact]
    public void UnsupportedOperation_NamesTheOperationAndTheModuleThatCalledIt()
    {
        var model = new Sequential(new Linear(4, 4, generator: new Generator(1)), new RunningTotal());
        var e = Assert.Throws<NotSupportedException>(() => OnnxExport.ToBytes(model, Tensor.Randn(2, 4)));
        Assert.Contains("Cumprod", e.Message);
        Assert.Contains("module 1 (RunningTotal)", e.Message);
        Assert.Contains("RunningTotal.Forward (ExportRefusalTests.cs:", e.Message);
    }

    // Reads the input's values into a new tensor outside any tensor operation: the exporter cannot
    // see where that tensor came from, and says so rather than baking the example's values in.
    sealed class ValuesThroughAnArray : Module<Tensor, Tensor>
    {
        public override Tensor Forward(Tensor input) => input + Tensor.From(input.Contiguous().ToArray<float>(), input.Shape.ToArray());
    }

    [Fact]
    public void TensorMadeFromTheInputsValues_IsRefused_NotBakedIn()
    {
        foreach (bool dynamic in new[] { true, false })
        {
            var e = Assert.Throws<NotSupportedException>(() =>
                OnnxExport.ToBytes(new ValuesThroughAnArray(), Tensor.Randn(2, 3), new OnnxExportOptions { DynamicBatch = dynamic }));
            Assert.Contains("Add", e.Message);
            Assert.Contains("not computed by an operation the exporter traces", e.Message);
        }
    }

    [Fact]
    public void ModuleIsBackInTrainingMode_AfterTheExport()
    {
        var model = new Sequential(new Linear(3, 3, generator: new Generator(2)), new Dropout(0.5));
        OnnxExport.ToBytes(model, Tensor.Randn(2, 3));
        Assert.True(model.Training);
    }

    sealed class ShiftedInPlace : Module<Tensor, Tensor>
    {
        public override Tensor Forward(Tensor input)
        {
            var y = input * 2.0;
            y.Add_(1.0);
            return y.Relu();
        }
    }

    [Fact]
    public void InPlaceChange_OfATracedValue_IsRefused()
    {
        var e = Assert.Throws<NotSupportedException>(() => OnnxExport.ToBytes(new ShiftedInPlace(), Tensor.Randn(2, 3)));
        Assert.Contains("Relu", e.Message);
        Assert.Contains("changed in place", e.Message);
    }

    [Fact]
    public void OpsetOlderThan17_IsRefused()
    {
        var e = Assert.Throws<ArgumentException>(() => OnnxExport.ToBytes(new Sequential(new ReLU()), Tensor.Randn(2, 3), new OnnxExportOptions { Opset = 16 }));
        Assert.Contains("opset 16", e.Message);
    }

    // Takes a branch on the input's values: a trace keeps only the branch the example took.
    sealed class SignBranch : Module<Tensor, Tensor>
    {
        public override Tensor Forward(Tensor input) => input.Sum().Item<float>() > 0 ? input.Relu() : input.Tanh();
    }

    [Fact]
    public void ForwardThatBranchesOnValues_IsRefused()
    {
        var example = Tensor.From(new float[] { -1, -2, -3, -4 }, [2, 2]);   // the other trace's values (seeded) sum above 0
        var e = Assert.Throws<NotSupportedException>(() => OnnxExport.ToBytes(new SignBranch(), example));
        Assert.Contains("same operations for every input", e.Message);
    }
}
