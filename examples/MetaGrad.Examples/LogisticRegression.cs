using System.CommandLine;
using MetaGrad.NN;
using MetaGrad.Optim;

namespace MetaGrad.Examples;

/// <summary>
/// Admitted or not, from two exam marks: one linear layer gives a score, the sigmoid turns it into a
/// probability, and binary cross-entropy trains it (on generated marks, where the seed read a CSV).
/// </summary>
public static class LogisticRegression
{
    public static Command Command()
    {
        var epochs = new Option<int>("--epochs") { Description = "Full-batch gradient steps", DefaultValueFactory = _ => 500 };
        var command = new Command("logistic-regression", "Binary classification of exam marks with a linear model and the sigmoid") { epochs };
        command.SetAction(parse => Run(parse.GetValue(epochs)));
        return command;
    }

    public static void Run(int epochs)
    {
        var (accuracy, _) = Fit(epochs, Console.WriteLine);
        Console.WriteLine(FormattableString.Invariant($"training accuracy {100 * accuracy:F1}%"));
    }

    /// <summary>Trains and returns the training accuracy and the final loss.</summary>
    public static (double Accuracy, double Loss) Fit(int epochs, Action<string>? log = null)
    {
        var generator = new Generator(0);
        // 200 applicants with marks in [30, 100); admitted when the two marks plus some luck add up to 130.
        var marks = Tensor.Rand([200, 2], generator: generator) * 70.0 + 30.0;
        var luck = Tensor.Randn([200, 1], generator: generator) * 5.0;
        var admitted = (marks.Sum(1, keepDim: true) + luck > 130.0).To(DType.Float32);
        // Standardised inputs: on raw marks the two weights would need very different step sizes.
        var x = (marks - marks.Mean(0)) / marks.Std(0);

        var model = new Linear(2, 1, generator: generator);
        var optimizer = new SGD(model.Parameters(), lr: 0.5);
        Tensor logits = model.Forward(x), loss = Tensor.Scalar(0);
        for (int epoch = 1; epoch <= epochs; epoch++)
        {
            logits = model.Forward(x);
            // The sigmoid and the log of BCE in one stable step: BCE(sigmoid(z), y) without overflow for large |z|.
            loss = Losses.BinaryCrossEntropyWithLogits(logits, admitted);
            optimizer.ZeroGrad();
            loss.Backward();
            optimizer.Step();
            if (epoch == 1 || epoch % 100 == 0)
                log?.Invoke(FormattableString.Invariant($"epoch {epoch,4}  loss {loss.Item<float>():F4}  accuracy {100 * Accuracy(logits, admitted):F1}%"));
        }
        return (Accuracy(logits, admitted), loss.Item<float>());
    }

    // A positive score is a probability above one half: predicted admitted.
    static double Accuracy(Tensor logits, Tensor labels) => ((logits > 0.0).To(DType.Float32) == labels).To(DType.Float32).Mean().Item<float>();
}
