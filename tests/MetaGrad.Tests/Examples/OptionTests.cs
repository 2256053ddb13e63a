using System.CommandLine;
using MetaGrad.Examples;

namespace MetaGrad.Tests.Examples;

/// <summary>Options that fail to parse or contradict a checkpoint end in one line of error and exit 1.</summary>
public class OptionTests
{
    static (int Exit, string Error) Invoke(Command command, params string[] args)
    {
        var error = new StringWriter();
        int exit = command.Parse(args).Invoke(new InvocationConfiguration { Error = error, Output = new StringWriter() });
        return (exit, error.ToString());
    }

    public static TheoryData<string, string[], string> Unparsable => new()
    {
        // Each once ended in an unhandled InvalidOperationException and exit 134 (a validator read the value).
        { "mnist", ["--epochs", "abc"], "'abc'" },
        { "mnist", ["--lr", "abc"], "'abc'" },
        { "mnist", ["--batch-size", "1.5"], "'1.5'" },
        { "mnist", ["--epochs", "99999999999"], "'99999999999'" },
        { "mnist", ["--lr-decay", "x"], "'x'" },
        { "poetry", ["--hidden", "big"], "'big'" },
        { "poetry", ["--temperature", "hot"], "'hot'" },
        { "dates", ["--beam-width", "wide"], "'wide'" },
        { "nnlm", ["--lr", "fast"], "'fast'" },
        { "glove", ["--x-max", "many"], "'many'" },
        { "skipgram", ["--dim", "2.5"], "'2.5'" },
    };

    static Command Example(string name) => name switch
    {
        "mnist" => MnistExample.Configure(new Command("mnist")),
        "poetry" => PoetryExample.Command(),
        "dates" => DatesExample.Command(),
        "nnlm" => NnlmExample.Command(),
        "glove" => GloveExample.Command(),
        _ => SkipGramExample.Command(),
    };

    [Theory]
    [MemberData(nameof(Unparsable))]
    public void AValueThatDoesNotParse_IsAOneLineErrorAndExit1(string example, string[] args, string quoted)
    {
        var (exit, error) = Invoke(Example(example), args);
        Assert.Equal(1, exit);
        Assert.Contains($"Cannot parse argument {quoted}", error);
        Assert.DoesNotContain("Exception", error);
        Assert.DoesNotContain("   at ", error);
    }

    [Theory]
    [InlineData("--epochs", "-1", "--epochs must be 0 or more")]
    [InlineData("--batch-size", "0", "--batch-size must be positive")]
    [InlineData("--lr", "-0.1", "--lr must be positive")]
    [InlineData("--lr-decay", "1.5", "--lr-decay must be in (0, 1]")]
    public void AValueOutOfRange_IsNamed(string option, string value, string message)
    {
        var (exit, error) = Invoke(Example("mnist"), option, value);
        Assert.Equal(1, exit);
        Assert.Contains(message, error);
    }

    [Fact]
    public void Resume_WithSettingsThatContradictTheCheckpoint_IsRefused()
    {
        using var dir = new TempFolder();
        var data = MnistTests.SmallData(256, 64);
        var small = new MnistSettings { Hidden1 = 16, Hidden2 = 8 };
        Assert.Equal(0, MnistExample.Run(new MnistExample.RunOptions(1, small, null, dir.Path, Resume: false, ProgressStyle.None), data));

        var error = new StringWriter();
        var saved = Console.Error;
        Console.SetError(error);
        try
        {
            // Once: the new optimizer and learning rate were silently ignored.
            var changed = small with { Optimizer = "sgd", Lr = 0.5 };
            var refused = new MnistExample.RunOptions(2, changed, null, dir.Path, Resume: true, ProgressStyle.None, Given: ["--optimizer", "--lr"]);
            Assert.Equal(1, MnistExample.Run(refused, data));
            // The same settings again, as when a command line is repeated with --resume, are fine.
            var same = new MnistExample.RunOptions(2, small, null, dir.Path, Resume: true, ProgressStyle.None, Given: ["--optimizer", "--batch-size"]);
            Assert.Equal(0, MnistExample.Run(same, data));
        }
        finally
        {
            Console.SetError(saved);
        }
        Assert.Contains("--optimizer sgd (the checkpoint has adam)", error.ToString());
        Assert.Contains("--lr 0.5 (the checkpoint has the default)", error.ToString());
    }
}
