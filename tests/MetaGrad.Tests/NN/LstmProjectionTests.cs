using MetaGrad.IO;
using MetaGrad.NN;

namespace MetaGrad.Tests.NN;

/// <summary>
/// LSTM with proj_size against PyTorch 1.13 (TorchSharp's binding has no proj_size): parameters,
/// inputs, outputs and every gradient of a 2-layer bidirectional LSTM saved by
/// tests/MetaGrad.Tests/Fixtures/lstm_proj.py in Fixtures/pytorch/lstm_proj.pt, float64.
/// </summary>
public class LstmProjectionTests
{
    static Dictionary<string, Tensor> Reference() =>
        PyTorchFiles.Load(Path.Combine(AppContext.BaseDirectory, "Fixtures", "pytorch", "lstm_proj.pt")).ToDictionary(e => e.Key, e => e.Value);

    static void Close(Tensor expected, Tensor actual, string what) =>
        Assert.True(actual.AllClose(expected, 1e-10, 1e-10), $"{what}: max difference {(actual - expected).Abs().Max().Item()}");

    [Fact]
    public void TwoLayerBidirectionalLstm_WithProjections_MatchesPyTorch()
    {
        var reference = Reference();
        var lstm = new LSTM(5, 7, numLayers: 2, bidirectional: true, dtype: DType.Float64, projSize: 3);
        var parameters = reference.Where(e => e.Key.StartsWith("param.")).ToDictionary(e => e.Key["param.".Length..], e => e.Value);
        Assert.Equal(parameters.Keys, lstm.NamedParameters().Select(p => p.Name));     // PyTorch's names and order
        lstm.LoadStateDict(parameters);

        var x = reference["input"].Clone().RequiresGrad_();
        var h0 = reference["h0"].Clone().RequiresGrad_();
        var c0 = reference["c0"].Clone().RequiresGrad_();
        var (y, (hn, cn)) = lstm.Call(x, (h0, c0));
        Assert.Equal([6, 4, 6], y.Shape.ToArray());                                   // D · proj
        Close(reference["output"], y, "output");
        Close(reference["hn"], hn, "h_n");
        Close(reference["cn"], cn, "c_n");

        ((y * reference["w"]).Sum() + (hn * reference["v"]).Sum() + (cn * reference["u"]).Sum()).Backward();
        Close(reference["grad.input"], x.Grad!, "input gradient");
        Close(reference["grad.h0"], h0.Grad!, "h0 gradient");
        Close(reference["grad.c0"], c0.Grad!, "c0 gradient");
        foreach (var (name, p) in lstm.NamedParameters())
            Close(reference["grad." + name], p.Grad!, name + " gradient");
    }

    [Fact]
    public void Projections_ShapeTheStates_AndBadSizesAreRefused()
    {
        var lstm = new LSTM(4, 6, projSize: 2, batchFirst: true);
        var (y, (h, c)) = lstm.Call(Tensor.Randn(3, 5, 4));
        Assert.Equal([3, 5, 2], y.Shape.ToArray());
        Assert.Equal([1, 3, 2], h.Shape.ToArray());
        Assert.Equal([1, 3, 6], c.Shape.ToArray());
        Assert.Equal("LSTM(4, 6, batch_first=True, proj_size=2)", lstm.ToString());
        Assert.Contains("expected hidden state of shape [1, 3, 2]", Assert.Throws<ArgumentException>(() => lstm.Forward(Tensor.Randn(3, 5, 4), (Tensor.Zeros(1, 3, 6), Tensor.Zeros(1, 3, 6)))).Message);
        Assert.Contains("proj_size (6) has to be smaller than hidden_size (6)", Assert.Throws<ArgumentException>(() => new LSTM(4, 6, projSize: 6)).Message);
        Assert.Contains("proj_size should be a positive integer or zero", Assert.Throws<ArgumentException>(() => new LSTM(4, 6, projSize: -1)).Message);
    }
}
