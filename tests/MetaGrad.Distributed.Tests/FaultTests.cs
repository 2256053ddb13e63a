using MetaGrad.IO;

namespace MetaGrad.Distributed.Tests;

/// <summary>
/// A rank that fails ends the whole job in bounded time instead of leaving the others waiting in an
/// all-reduce, and rank 0's last checkpoint stays loadable; ranks holding different models refuse to start.
/// </summary>
public sealed class FaultTests : IDisposable
{
    readonly string _folder = Directory.CreateTempSubdirectory("metagrad-mpi-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    string Checkpoint => Path.Combine(_folder, "checkpoint.safetensors");

    // Steps 0-2 completed and saved; rank 1 fails at step 3, so the checkpoint is step 2's, whole.
    void AssertCheckpointOfStep2()
    {
        var content = Safetensors.Load(Checkpoint);
        Assert.Equal("2", content.Metadata["step"]);
        Assert.Equal([16, 8], content.Tensors["0.weight"].Shape.ToArray());
        Assert.Equal([4, 16], content.Tensors["2.weight"].Shape.ToArray());
    }

    [Fact]
    public void RankThatThrows_EndsEveryRank_WithItsError()
    {
        var run = MpiLauncher.Run("throw", Checkpoint, limit: TimeSpan.FromSeconds(60));
        Assert.NotEqual(0, run.ExitCode);
        Assert.Contains("rank 1 of 2 failed: System.InvalidOperationException: injected failure at step 3", run.Output);
        Assert.DoesNotContain("saved step 3", run.Output);
        AssertCheckpointOfStep2();
    }

    [Fact]
    public void RankThatIsKilled_EndsEveryRank()
    {
        var run = MpiLauncher.Run("kill", Checkpoint, limit: TimeSpan.FromSeconds(60));
        Assert.NotEqual(0, run.ExitCode);
        Assert.Contains("BAD TERMINATION", run.Output);   // mpiexec's report, naming the dead rank's signal
        Assert.Contains("Killed", run.Output);
        Assert.DoesNotContain("saved step 3", run.Output);
        AssertCheckpointOfStep2();
    }

    [Fact]
    public void RankThatStalls_MakesTheOthersTimeOut()
    {
        // Rank 1 sleeps 60 s at step 3; rank 0 gives up on the all-reduce after its 2 s timeout and ends the job.
        var run = MpiLauncher.Run("stall", Checkpoint, limit: TimeSpan.FromSeconds(90));
        Assert.NotEqual(0, run.ExitCode);
        Assert.Contains("rank 0 of 2 failed: MetaGrad.Distributed.DistributedException: DistributedDataParallel: all-reduce of gradient bucket", run.Output);
        Assert.Contains("waited 2 s for the other ranks", run.Output);
        Assert.True(run.Elapsed < TimeSpan.FromSeconds(45), $"the job took {run.Elapsed.TotalSeconds:0.0} s: rank 0 waited for the stalled rank");
        AssertCheckpointOfStep2();
    }

    [Fact]
    public void RanksWithDifferentModels_RefuseToStart()
    {
        var run = MpiLauncher.Run("mismatch", Checkpoint, limit: TimeSpan.FromSeconds(60));
        Assert.NotEqual(0, run.ExitCode);
        Assert.Contains("rank 1's model differs from rank 0's: entry 0, parameter 0.weight, is Float32 of shape [17, 8] here but rank 0's entry 0 is a parameter of Float32 with shape [16, 8]",
            run.Output);
        Assert.False(File.Exists(Checkpoint), "training went on");
    }

    [Fact]
    public void RanksWithDifferentBuckets_RefuseToStart()
    {
        // Rank 1 keeps PyTorch's 25 MiB cap, rank 0 a tiny one: their all-reduces would not match.
        var run = MpiLauncher.Run("buckets", Checkpoint, limit: TimeSpan.FromSeconds(60));
        Assert.NotEqual(0, run.ExitCode);
        Assert.Contains("rank 1's model differs from rank 0's: the number of gradient buckets is 1 here but 2 on rank 0", run.Output);
    }

    [Fact]
    public void ParameterWithoutGradient_FailsTheNextForward_NamingIt()
    {
        // The spare layer takes no part in the loss and findUnusedParameters is off: its bucket never fills (PyTorch's error).
        var run = MpiLauncher.Run("forgotten", Checkpoint, limit: TimeSpan.FromSeconds(60));
        Assert.NotEqual(0, run.ExitCode);
        Assert.Contains("DistributedDataParallel: expected to have finished reduction in the prior iteration before starting a new one", run.Output);
        Assert.Contains("received no gradient in that backward (spare.weight, spare.bias on rank ", run.Output);
        Assert.Contains("Pass findUnusedParameters: true", run.Output);
    }
}
