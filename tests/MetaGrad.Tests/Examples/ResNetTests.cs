using MetaGrad.Examples;

namespace MetaGrad.Tests.Examples;

/// <summary>The ResNet example: torchvision's names, a step that learns, augmentation that moves digits without losing them.</summary>
public class ResNetTests
{
    [Fact]
    public void StateDict_HasTorchvisionsBlockNames()
    {
        var keys = new MnistResNet(new Generator(1)).StateDict().Keys.ToList();
        Assert.Contains("layer1.conv1.weight", keys);
        Assert.Contains("layer2.downsample.0.weight", keys);
        Assert.Contains("layer2.downsample.1.running_var", keys);
        Assert.Contains("layer3.bn2.num_batches_tracked", keys);
        Assert.Contains("fc.bias", keys);
        Assert.DoesNotContain(keys, k => k.StartsWith("layer1.downsample", StringComparison.Ordinal));   // same size: identity shortcut
    }

    [Fact]
    public void TrainingSteps_LowerTheLossOnABatch()
    {
        var data = MnistTests.SmallData(64, 10);
        var model = new MnistResNet(new Generator(2));
        var optimizer = new MetaGrad.Optim.Adam(model.Parameters(), 3e-3);
        double first = 0, last = 0;
        for (int step = 0; step < 8; step++)
        {
            var loss = MetaGrad.NN.Losses.CrossEntropy(model.Forward(data.TrainImages), data.TrainLabels);
            optimizer.ZeroGrad();
            loss.Backward();
            optimizer.Step();
            if (step == 0) first = loss.Item<float>();
            last = loss.Item<float>();
        }
        Assert.True(last < first * 0.7, $"loss {first} then {last}");
    }

    [Fact]
    public void Augmentation_MovesDigitsButKeepsTheirInk()
    {
        var images = MnistTests.SmallData(16, 1).TrainImages;
        var moved = DigitAugmentation.Apply(images, new Generator(3));
        Assert.Equal(images.Shape.ToArray(), moved.Shape.ToArray());
        Assert.False(moved.AllClose(images));
        // A shift of at most 2.5 pixels and a turn of at most 12° keep nearly all of a centred digit's ink.
        double before = (images - images.Min()).Sum().Item<float>(), after = (moved - images.Min()).Sum().Item<float>();
        Assert.InRange(after / before, 0.9, 1.1);
        // The same generator state gives the same batch (a resumed run draws the same transforms).
        Assert.True(DigitAugmentation.Apply(images, new Generator(3)).AllClose(moved));
    }
}
