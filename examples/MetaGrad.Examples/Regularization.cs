using System.CommandLine;
using MetaGrad.NN;
using MetaGrad.Optim;

namespace MetaGrad.Examples;

/// <summary>
/// Overfitting and two cures. With 200 inputs and only 20 training points, an MLP can fit the
/// training set exactly and learn little that carries over to new points: a small training loss
/// beside a large test loss. Weight decay (an L2 penalty, applied to the weights and not the
/// biases, through a parameter group of their own) and dropout each narrow that gap.
/// </summary>
public static class Regularization
{
    /// <summary>One model's mean squared errors at the end of training.</summary>
    public sealed record Outcome(string Name, double TrainLoss, double TestLoss)
    {
        public double Gap => TestLoss - TrainLoss;
    }

    public static Command Command()
    {
        var epochs = new Option<int>("--epochs") { Description = "Full-batch gradient steps per model", DefaultValueFactory = _ => 300 };
        var command = new Command("regularization", "Weight decay and dropout against overfitting: the train/test gap") { epochs };
        command.SetAction(parse => Run(parse.GetValue(epochs)));
        return command;
    }

    public static void Run(int epochs)
    {
        foreach (var o in Compare(epochs, Console.WriteLine))
            Console.WriteLine(FormattableString.Invariant($"{o.Name,-14} train loss {o.TrainLoss:F4}  test loss {o.TestLoss:F4}  gap {o.Gap:F4}"));
    }

    /// <summary>The same MLP trained three ways: plainly, with weight decay, with dropout.</summary>
    public static IReadOnlyList<Outcome> Compare(int epochs, Action<string>? log = null)
    {
        const int inputs = 200;
        var generator = new Generator(0);
        // y = 0.05 + 0.01·Σx + noise: easy with enough data, a trap with 20 points.
        var x = Tensor.Randn([120, inputs], generator: generator);
        var y = x.Sum(1, keepDim: true) * 0.01 + 0.05 + Tensor.Randn([120, 1], generator: generator) * 0.01;
        var (xTrain, yTrain, xTest, yTest) = (x[..20], y[..20], x[20..], y[20..]);

        return
        [
            Train("plain", new Mlp(inputs, 0, new Generator(1)), weightDecay: 0, xTrain, yTrain, xTest, yTest, epochs, log),
            Train("weight decay", new Mlp(inputs, 0, new Generator(1)), weightDecay: 0.1, xTrain, yTrain, xTest, yTest, epochs, log),
            Train("dropout", new Mlp(inputs, 0.5, new Generator(1)), weightDecay: 0, xTrain, yTrain, xTest, yTest, epochs, log),
        ];
    }

    static Outcome Train(string name, Mlp model, double weightDecay, Tensor xTrain, Tensor yTrain, Tensor xTest, Tensor yTest, int epochs, Action<string>? log)
    {
        // Only the weights are decayed: shrinking the biases would not make the function any simpler.
        var weights = model.NamedParameters().Where(p => p.Name.EndsWith("weight")).Select(p => (Tensor)p.Parameter);
        var biases = model.NamedParameters().Where(p => p.Name.EndsWith("bias")).Select(p => (Tensor)p.Parameter);
        var optimizer = new SGD([new ParamGroup(weights) { ["weight_decay"] = weightDecay }, new ParamGroup(biases)], lr: 0.01);
        double Loss(Tensor x, Tensor y)
        {
            model.Eval();
            using var _ = Autograd.NoGrad();
            return Losses.MseLoss(model.Forward(x), y).Item<float>();
        }

        for (int epoch = 1; epoch <= epochs; epoch++)
        {
            model.Train();
            var loss = Losses.MseLoss(model.Forward(xTrain), yTrain);
            optimizer.ZeroGrad();
            loss.Backward();
            optimizer.Step();
            if (epoch % 100 == 0)
                log?.Invoke(FormattableString.Invariant($"{name,-14} epoch {epoch,4}  train loss {Loss(xTrain, yTrain):F4}  test loss {Loss(xTest, yTest):F4}"));
        }
        return new Outcome(name, Loss(xTrain, yTrain), Loss(xTest, yTest));
    }

    /// <summary>inputs → 256 → 1 with ReLU, and dropout on the hidden layer when p > 0.</summary>
    sealed class Mlp(int inputs, double dropout, Generator generator) : Module<Tensor, Tensor>
    {
        readonly Linear Hidden = new(inputs, 256, generator: generator), Output = new(256, 1, generator: generator);

        public override Tensor Forward(Tensor x) =>
            Output.Forward(Functional.Dropout(Hidden.Forward(x).Relu(), dropout, Training, generator));
    }
}
