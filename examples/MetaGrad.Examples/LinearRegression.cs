using System.CommandLine;

namespace MetaGrad.Examples;

/// <summary>
/// The series' first model: fit y = w·x + b to noisy points by gradient descent, with the
/// gradients from autograd and the update written by hand under NoGrad.
/// </summary>
public static class LinearRegression
{
    public static Command Command()
    {
        var epochs = new Option<int>("--epochs") { Description = "Gradient steps over the 100 points", DefaultValueFactory = _ => 200 };
        var command = new Command("linear-regression", "Fit a line to noisy points with autograd and a hand-written update") { epochs };
        command.SetAction(parse => Run(parse.GetValue(epochs)));
        return command;
    }

    public static void Run(int epochs)
    {
        var (w, b, _) = Fit(epochs, log: Console.WriteLine);
        Console.WriteLine(FormattableString.Invariant($"fitted y = {w:F4}·x + {b:F4}  (true: y = 3·x + 2)"));
    }

    /// <summary>Trains and returns the fitted weight, bias and final loss.</summary>
    public static (float Weight, float Bias, float Loss) Fit(int epochs, Action<string>? log = null)
    {
        const double learningRate = 0.1;
        float lastLoss = float.NaN;
        var generator = new Generator(0);   // its own, not the shared default: tests run in parallel

        // 100 points of y = 3x + 2 with Gaussian noise, x in [-1, 1).
        var x = Tensor.Rand([100, 1], generator: generator) * 2.0 - 1.0;
        var y = x * 3.0 + 2.0 + Tensor.Randn([100, 1], generator: generator) * 0.1;

        var w = Tensor.Zeros([1, 1], requiresGrad: true);
        var b = Tensor.Zeros([1], requiresGrad: true);

        for (int epoch = 1; epoch <= epochs; epoch++)
        {
            var prediction = x.Matmul(w) + b;
            var loss = (prediction - y).Pow(2).Mean();
            w.Grad = null;
            b.Grad = null;
            loss.Backward();
            using (Autograd.NoGrad())
            {
                w.Sub_(w.Grad! * learningRate);
                b.Sub_(b.Grad! * learningRate);
            }
            lastLoss = loss.Item<float>();
            if (epoch == 1 || epoch % 20 == 0)
                log?.Invoke(FormattableString.Invariant($"epoch {epoch,4}  loss {lastLoss:F6}"));
        }
        return (w.Item<float>(), b.Item<float>(), lastLoss);
    }
}
