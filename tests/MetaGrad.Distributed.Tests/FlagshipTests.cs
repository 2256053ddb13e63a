using System.Globalization;
using System.Text.RegularExpressions;

namespace MetaGrad.Distributed.Tests;

public sealed partial class FlagshipTests : IDisposable
{
    readonly string _folder = Directory.CreateTempSubdirectory("metagrad-mpi-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    [Fact]
    public void Mnist_TrainsOnTwoRanks_RankZeroReportsAndSaves()
    {
        var run = MpiLauncher.RunProgram("MetaGrad.Examples.dll", ["--distributed", "--epochs", "1", "--progress", "None", "--out", _folder]);
        Assert.True(run.ExitCode == 0, $"mpiexec exited {run.ExitCode}:\n{run.Output}");
        Assert.Contains("Data-parallel over 2 ranks (MPI): 32 images per rank per batch", run.Output);
        Assert.Single(EpochLine().Matches(run.Output));   // rank 1 prints nothing
        // One epoch of the 8,000 digits in batches of 64: one process reaches 91-92% held out.
        double accuracy = double.Parse(Accuracy().Match(run.Output).Groups[1].Value, CultureInfo.InvariantCulture);
        Assert.InRange(accuracy, 89.0, 100.0);
        Assert.True(File.Exists(Path.Combine(_folder, "checkpoint.safetensors")));
    }

    [GeneratedRegex(@"epoch  1/1 ")]
    private static partial Regex EpochLine();

    [GeneratedRegex(@"Test accuracy ([0-9.]+)% after 1 epochs")]
    private static partial Regex Accuracy();
}
