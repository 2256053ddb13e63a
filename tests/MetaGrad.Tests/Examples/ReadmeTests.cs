using MetaGrad.Data;
using MetaGrad.NN;
using MetaGrad.Optim;

namespace MetaGrad.Tests.Examples;

/// <summary>The README's training tour, as written there (shortened to two epochs on 2,000 digits), must run and learn.</summary>
public class ReadmeTests
{
    [Fact]
    public void TrainingTour_RunsAndLearns()
    {
        Tensor.ManualSeed(0);
        var model = new Sequential(new Linear(784, 256), new ReLU(), new Dropout(0.2), new Linear(256, 10));
        var optimizer = new Adam(model.Parameters(), lr: 1e-3);
        var scheduler = new StepLR(optimizer, stepSize: 1, gamma: 0.7);
        var train = new Mnist(Mnist.FindMini(), train: true);
        var images = train.Images[..2000];
        var labels = train.Labels[..2000];
        var loader = new DataLoader(new TensorDataset(images, labels), batchSize: 64, shuffle: true);

        var losses = new List<float>();
        foreach (var epoch in Enumerable.Range(1, 2))
        {
            model.Train();
            foreach (var batch in loader)
            {
                optimizer.ZeroGrad();
                var loss = Losses.CrossEntropy(model.Forward(batch[0].Flatten(1)), batch[1]);
                loss.Backward();
                optimizer.Step();
                losses.Add(loss.Item<float>());
            }
            scheduler.Step();
        }
        Assert.True(losses.TakeLast(10).Average() < 0.5 * losses.Take(10).Average(), $"loss went from {losses.Take(10).Average()} to {losses.TakeLast(10).Average()}");
        var path = Path.Combine(Path.GetTempPath(), $"readme-{Guid.NewGuid():N}.safetensors");
        try
        {
            MetaGrad.IO.Safetensors.Save(path, model.StateDict());
            var (loaded, _) = MetaGrad.IO.Safetensors.Load(path);
            Assert.Equal(model.StateDict()["3.weight"].ToArray<float>(), loaded["3.weight"].ToArray<float>());
        }
        finally { File.Delete(path); }
    }
}
