using System.CommandLine;
using MetaGrad.Data;
using MetaGrad.NN;
using MetaGrad.Optim;

namespace MetaGrad.Examples;

/// <summary>
/// Under- and overfitting, seen on a cubic: y = 5 + 1.2x - 3.4x²/2! + 5.6x³/3! + noise, fitted by a
/// linear model on the features xⁱ/i!. With the first four features the fit recovers the
/// coefficients; with two it cannot bend (underfitting); with twenty and few points it fits the
/// noise (overfitting: the training loss keeps falling while the test loss does not).
/// </summary>
public static class PolynomialRegression
{
    static readonly float[] TrueWeights = [5f, 1.2f, -3.4f, 5.6f];
    const int MaxDegree = 20;

    /// <summary>One fit's outcome: mean squared errors on the training and test points, and the learned weights.</summary>
    public sealed record FitResult(string Name, double TrainLoss, double TestLoss, float[] Weights);

    public static Command Command()
    {
        var epochs = new Option<int>("--epochs") { Description = "Passes over the training points, per fit", DefaultValueFactory = _ => 200 };
        var command = new Command("polynomial-regression", "Fit a cubic with too few, the right and too many features") { epochs };
        command.SetAction(parse => Run(parse.GetValue(epochs)));
        return command;
    }

    public static void Run(int epochs)
    {
        foreach (var r in FitAll(epochs, Console.WriteLine))
            Console.WriteLine(FormattableString.Invariant(
                $"{r.Name,-12} train loss {r.TrainLoss:F4}  test loss {r.TestLoss:F4}  weights [{string.Join(", ", r.Weights.Take(4).Select(w => w.ToString("F3", System.Globalization.CultureInfo.InvariantCulture)))}{(r.Weights.Length > 4 ? ", ..." : "")}]"));
        Console.WriteLine($"true weights [{string.Join(", ", TrueWeights)}]");
    }

    /// <summary>The three fits on the same data: the right features, too few, too many.</summary>
    public static IReadOnlyList<FitResult> FitAll(int epochs, Action<string>? log = null)
    {
        var generator = new Generator(0);
        var x = Tensor.Randn([200, 1], generator: generator);
        // Column i holds xⁱ/i!: dividing by i! keeps the high powers from swamping the gradient.
        var powers = Tensor.Arange(0.0, MaxDegree);
        var factorials = Tensor.From(Enumerable.Range(0, MaxDegree).Select(i => (float)Enumerable.Range(1, i).Aggregate(1.0, (f, k) => f * k)).ToArray(), [MaxDegree]);
        var features = x.Pow(powers) / factorials;
        var labels = features[.., ..4].Matmul(Tensor.From(TrueWeights, [4, 1])) + Tensor.Randn([200, 1], generator: generator) * 0.1;

        // The overfitting model also gets only a handful of training points; every model is tested on the last 100.
        return
        [
            Fit("cubic", features[.., ..4], labels, trainCount: 100, epochs, generator, log),
            Fit("linear", features[.., ..2], labels, trainCount: 100, epochs, generator, log),
            Fit("degree 19", features, labels, trainCount: 10, epochs, generator, log),
        ];
    }

    static FitResult Fit(string name, Tensor x, Tensor y, int trainCount, int epochs, Generator generator, Action<string>? log)
    {
        var (xTrain, yTrain, xTest, yTest) = (x[..trainCount], y[..trainCount], x[100..], y[100..]);
        int inputs = x.Shape[1];
        var model = new Linear(inputs, 1, bias: false, generator: generator);   // the constant feature x⁰ is the bias
        var optimizer = new SGD(model.Parameters(), lr: 0.01);
        // Ten shuffled mini-batches per epoch whatever the training set's size, so every fit takes as many steps.
        var batches = new DataLoader(new TensorDataset(xTrain, yTrain), batchSize: Math.Max(1, trainCount / 10), shuffle: true, generator: generator, prefetch: 0);
        double Loss(Tensor x, Tensor y)
        {
            using var _ = Autograd.NoGrad();
            return Losses.MseLoss(model.Forward(x), y).Item<float>();
        }

        log?.Invoke($"{name}: {inputs} features, {xTrain.Shape[0]} training points");
        for (int epoch = 1; epoch <= epochs; epoch++)
        {
            foreach (var batch in batches)
            {
                var loss = Losses.MseLoss(model.Forward(batch[0]), batch[1]);
                optimizer.ZeroGrad();
                loss.Backward();
                optimizer.Step();
            }
            if (epoch == 1 || epoch % 50 == 0)
                log?.Invoke(FormattableString.Invariant($"  epoch {epoch,4}  train loss {Loss(xTrain, yTrain):F4}  test loss {Loss(xTest, yTest):F4}"));
        }
        return new FitResult(name, Loss(xTrain, yTrain), Loss(xTest, yTest), model.Weight.Detach().ToArray<float>());
    }
}
