using System.CommandLine;
using MetaGrad.Data;
using MetaGrad.NN;
using MetaGrad.Optim;

namespace MetaGrad.Examples;

/// <summary>
/// What a hidden layer buys: two interleaved half-moons that no straight line separates. A linear
/// model stalls well short of them; an MLP with two hidden ReLU layers, trained in shuffled
/// mini-batches from a DataLoader, bends its boundary around them.
/// </summary>
public static class Feedforward
{
    public static Command Command()
    {
        var epochs = new Option<int>("--epochs") { Description = "Passes over the 400 training points", DefaultValueFactory = _ => 60 };
        var command = new Command("feedforward", "An MLP against a linear model on the two-moons data") { epochs };
        command.SetAction(parse => Run(parse.GetValue(epochs)));
        return command;
    }

    public static void Run(int epochs)
    {
        var (mlp, linear) = Compare(epochs, Console.WriteLine);
        Console.WriteLine(FormattableString.Invariant($"test accuracy: MLP {100 * mlp:F1}%, linear model {100 * linear:F1}%"));
    }

    /// <summary>The test accuracies of the MLP and of a linear model trained the same way.</summary>
    public static (double Mlp, double Linear) Compare(int epochs, Action<string>? log = null)
    {
        var generator = new Generator(0);
        var (x, y) = TwoMoons(600, noise: 0.15, generator);
        var (xTrain, yTrain, xTest, yTest) = (x[..400], y[..400], x[400..], y[400..]);

        var mlp = new Sequential(
            new Linear(2, 32, generator: generator), new ReLU(),
            new Linear(32, 32, generator: generator), new ReLU(),
            new Linear(32, 1, generator: generator));
        log?.Invoke("MLP 2-32-32-1:");
        double mlpAccuracy = Train(mlp, xTrain, yTrain, xTest, yTest, epochs, generator, log);
        log?.Invoke("linear model:");
        double linearAccuracy = Train(new Linear(2, 1, generator: generator), xTrain, yTrain, xTest, yTest, epochs, generator, log);
        return (mlpAccuracy, linearAccuracy);
    }

    /// <summary>Points on two interleaved half-circles with Gaussian noise, labelled 0 (upper) and 1 (lower), in random order.</summary>
    public static (Tensor Points, Tensor Labels) TwoMoons(int count, double noise, Generator generator)
    {
        var label = (Tensor.Rand([count, 1], generator: generator) < 0.5).To(DType.Float32);
        var angle = Tensor.Rand([count, 1], generator: generator) * Math.PI;
        // The lower moon is the upper one turned over and shifted: (1 - cos t, 1/2 - sin t).
        var flip = 1.0 - label * 2.0;
        var px = angle.Cos() * flip + label;
        var py = angle.Sin() * flip + label * 0.5;
        var points = Tensor.Cat([px, py], dim: 1) + Tensor.Randn([count, 2], generator: generator) * noise;
        return (points, label);
    }

    static double Train(Module<Tensor, Tensor> model, Tensor xTrain, Tensor yTrain, Tensor xTest, Tensor yTest, int epochs, Generator generator, Action<string>? log)
    {
        var optimizer = new Adam(model.Parameters(), lr: 0.01);
        var loader = new DataLoader(new TensorDataset(xTrain, yTrain), batchSize: 32, shuffle: true, generator: generator, prefetch: 0);
        double Accuracy(Tensor x, Tensor y)
        {
            using var _ = Autograd.NoGrad();
            return ((model.Forward(x) > 0.0).To(DType.Float32) == y).To(DType.Float32).Mean().Item<float>();
        }

        for (int epoch = 1; epoch <= epochs; epoch++)
        {
            double lossSum = 0;
            foreach (var batch in loader)
            {
                var loss = Losses.BinaryCrossEntropyWithLogits(model.Forward(batch[0]), batch[1]);
                optimizer.ZeroGrad();
                loss.Backward();
                optimizer.Step();
                lossSum += loss.Item<float>() * batch[0].Shape[0];
            }
            if (epoch == 1 || epoch % 20 == 0)
                log?.Invoke(FormattableString.Invariant($"  epoch {epoch,3}  loss {lossSum / xTrain.Shape[0]:F4}  train accuracy {100 * Accuracy(xTrain, yTrain):F1}%"));
        }
        return Accuracy(xTest, yTest);
    }
}
