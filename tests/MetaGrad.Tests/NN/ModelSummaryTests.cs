using MetaGrad.NN;
using Xunit;

namespace MetaGrad.Tests.NN;

/// <summary>The torchinfo-like summary: shapes, parameter counts and multiply-adds worked by hand for LeNet-5.</summary>
public class ModelSummaryTests
{
    static Sequential LeNet() => new(
        new Conv2d(1, 6, 5), new ReLU(), new MaxPool2d(2),
        new Conv2d(6, 16, 5), new ReLU(), new MaxPool2d(2),
        new Flatten(),
        new Linear(256, 120), new ReLU(), new Linear(120, 84), new ReLU(), new Linear(84, 10));

    [Fact]
    public void LeNet_OnMnistShapedInput_HasTorchinfosCounts()
    {
        var model = LeNet();
        var summary = ModelSummary.Of(model, Tensor.Zeros(64, 1, 28, 28));

        Assert.Equal(13, summary.Rows.Count);
        Assert.Equal(("", 0, "Sequential", "[64, 10]"), (summary.Rows[0].Name, summary.Rows[0].Depth, summary.Rows[0].Type, summary.Rows[0].OutputShape));
        Assert.Equal(("0", 1, "Conv2d", "[64, 6, 24, 24]", 156L), (summary.Rows[1].Name, summary.Rows[1].Depth, summary.Rows[1].Type, summary.Rows[1].OutputShape, summary.Rows[1].Parameters));
        Assert.Equal("[64, 16, 4, 4]", summary.Rows[6].OutputShape);
        Assert.Equal("[64, 256]", summary.Rows[7].OutputShape);

        // Parameters: 6·25 + 6, 16·6·25 + 16, 256·120 + 120, 120·84 + 84, 84·10 + 10.
        Assert.Equal(156 + 2416 + 30840 + 10164 + 850, summary.TotalParameters);
        Assert.Equal(summary.TotalParameters, summary.TrainableParameters);
        // Multiply-adds per sample: 25·6·24·24 + 150·16·8·8 + 256·120 + 120·84 + 84·10, times 64.
        long perSample = 25L * 6 * 24 * 24 + 150L * 16 * 8 * 8 + 256 * 120 + 120 * 84 + 84 * 10;
        Assert.Equal(64 * perSample, summary.TotalMultAdds);
        Assert.Equal(64L * 25 * 6 * 24 * 24, summary.Rows[1].MultAdds);
        Assert.Equal(0, summary.Rows[2].MultAdds);
        Assert.Equal(64L * 28 * 28 * 4, summary.InputBytes);
        Assert.Equal(summary.TotalParameters * 4, summary.ParameterBytes);

        var table = summary.ToString();
        Assert.Contains("Total params: 44,426", table);
        Assert.Contains("Conv2d", table);
        Assert.Contains("[64, 6, 24, 24]", table);
    }

    [Fact]
    public void FrozenParameters_AreNotTrainable_AndSharedOnesCountOnce()
    {
        var shared = new Linear(4, 4);
        var model = new Sequential(shared, new ReLU(), shared);
        foreach (var p in shared.Parameters()) p.RequiresGrad_(false);

        var summary = ModelSummary.Of(model, Tensor.Zeros(2, 4));

        Assert.Equal(20, summary.TotalParameters);
        Assert.Equal(0, summary.TrainableParameters);
        var row = summary.Rows.Single(r => r.Type == "Linear");
        Assert.Equal(2, row.Calls);
        Assert.Equal(2 * 2 * 16L, row.MultAdds);
        Assert.Contains("×2", summary.ToString());
    }

    [Fact]
    public void RecurrentAndTransposedLayers_CountTheirProducts_AndHooksAreGoneAfterwards()
    {
        var lstm = new LSTM(3, 5, numLayers: 2);
        var summary = ModelSummary.Of(lstm, Tensor.Zeros(7, 2, 3));
        // Every token (7·2) meets 4·5·3 + 4·5·5 (layer 0) and 4·5·5 + 4·5·5 (layer 1) weights.
        Assert.Equal(14L * (60 + 100 + 100 + 100), summary.TotalMultAdds);
        Assert.Equal("([7, 2, 5], ([2, 2, 5], [2, 2, 5]))", summary.Rows[0].OutputShape);

        var up = new ConvTranspose2d(4, 2, 3, stride: 2);
        var t = ModelSummary.Of(up, Tensor.Zeros(1, 4, 5, 5));
        Assert.Equal(4L * 2 * 9 * 25, t.TotalMultAdds);
        Assert.False(up.HasHooks);
        Assert.False(lstm.HasHooks);
    }
}
