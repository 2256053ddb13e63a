using System.CommandLine;
using MetaGrad.Examples;

// The examples, runnable by name: `dotnet run --project examples/MetaGrad.Examples -- <name> [options]`,
// `-- --help` lists them. With no name, the MNIST classifier trains (its options work without the name too).
var root = new RootCommand("MetaGrad's examples. With no example named, trains the MNIST classifier.");
MnistExample.Configure(root);
root.Subcommands.Add(MnistExample.Configure(new Command("mnist", "Train an MLP on the shipped MNIST digits (the default)")));
root.Subcommands.Add(MnistExample.Configure(new Command("lenet", "Train LeNet-5, a convolutional network, on the shipped MNIST digits"), model: "lenet"));
root.Subcommands.Add(MnistExample.Configure(new Command("resnet", "Train a small ResNet with augmented digits on the shipped MNIST digits"), model: "resnet"));
root.Subcommands.Add(LinearRegression.Command());
root.Subcommands.Add(LogisticRegression.Command());
root.Subcommands.Add(SoftmaxRegression.Command());
root.Subcommands.Add(PolynomialRegression.Command());
root.Subcommands.Add(Feedforward.Command());
root.Subcommands.Add(Regularization.Command());
root.Subcommands.Add(LrSchedulerDemo.Command());
root.Subcommands.Add(PoetryExample.Command());
root.Subcommands.Add(PoetryExample.GptCommand());
root.Subcommands.Add(NnlmExample.Command());
root.Subcommands.Add(SkipGramExample.Command());
root.Subcommands.Add(CbowExample.Command());
root.Subcommands.Add(GloveExample.Command());
root.Subcommands.Add(DatesExample.Command());
root.Subcommands.Add(NumbersExample.Command());
root.Subcommands.Add(SeeingInside.Command());
return root.Parse(args).Invoke();
