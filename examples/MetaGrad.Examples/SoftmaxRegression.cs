using System.CommandLine;
using MetaGrad.Data;
using MetaGrad.NN;
using MetaGrad.Optim;

namespace MetaGrad.Examples;

/// <summary>
/// Three classes from four measurements (the seed used the iris flowers; here three generated
/// clusters of the same size and shape): a linear layer gives one logit per class, and
/// cross-entropy, which applies the softmax itself, trains it.
/// </summary>
public static class SoftmaxRegression
{
    public static Command Command()
    {
        var epochs = new Option<int>("--epochs") { Description = "Full-batch gradient steps", DefaultValueFactory = _ => 200 };
        var command = new Command("softmax-regression", "Three-class classification with a linear model and cross-entropy") { epochs };
        command.SetAction(parse => Run(parse.GetValue(epochs)));
        return command;
    }

    public static void Run(int epochs) =>
        Console.WriteLine(FormattableString.Invariant($"test accuracy {100 * Fit(epochs, Console.WriteLine):F1}%"));

    /// <summary>Trains on 120 flowers and returns the accuracy on the 30 held out.</summary>
    public static double Fit(int epochs, Action<string>? log = null)
    {
        var generator = new Generator(0);
        // 50 samples per class around three centres in 4-d, shuffled, then 120 to train and 30 to test.
        var centres = Tensor.From(new float[] { 5.0f, 3.4f, 1.5f, 0.2f, 5.9f, 2.8f, 4.3f, 1.3f, 6.6f, 3.0f, 5.6f, 2.0f }, [3, 4]);
        var classes = Tensor.Arange(3L).Repeat(50);
        var features = centres.IndexSelect(0, classes) + Tensor.Randn([150, 4], generator: generator) * 0.4;
        var order = Tensor.From(new RandomSampler(150, generator: generator).ToArray(), [150]);
        var (x, y) = (features.IndexSelect(0, order), classes.IndexSelect(0, order));
        var (xTrain, yTrain, xTest, yTest) = (x[..120], y[..120], x[120..], y[120..]);
        // Standardised with the training set's statistics, so that one step size suits every feature.
        var (mean, std) = (xTrain.Mean(0), xTrain.Std(0));
        (xTrain, xTest) = ((xTrain - mean) / std, (xTest - mean) / std);

        var model = new Linear(4, 3, generator: generator);
        var optimizer = new SGD(model.Parameters(), lr: 0.5);
        for (int epoch = 1; epoch <= epochs; epoch++)
        {
            var loss = Losses.CrossEntropy(model.Forward(xTrain), yTrain);
            optimizer.ZeroGrad();
            loss.Backward();
            optimizer.Step();
            if (epoch == 1 || epoch % 40 == 0)
                log?.Invoke(FormattableString.Invariant($"epoch {epoch,4}  loss {loss.Item<float>():F4}"));
        }
        using var _ = Autograd.NoGrad();
        return (model.Forward(xTest).ArgMax(1) == yTest).To(DType.Float32).Mean().Item<float>();
    }
}
