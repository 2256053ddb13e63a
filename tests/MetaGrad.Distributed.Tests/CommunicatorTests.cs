namespace MetaGrad.Distributed.Tests;

public class CommunicatorTests
{
    [Fact]
    public void Collectives_CombineTheRanksValues()
    {
        var run = MpiLauncher.Run("collectives", "unused");
        Assert.True(run.ExitCode == 0, $"mpiexec exited {run.ExitCode}:\n{run.Output}");
        // Rank 0 holds [1, 10], [0, 0], 0.5, [7, 8], [0, 0.25]; rank 1 [2, 20], [1, -1], 1.5, [14, 16], [1, 1.25].
        foreach (int r in new[] { 0, 1 })
            Assert.Contains($"rank {r}: sum 3,30 max 1,0 min 0.5 broadcast 14,16 gathered 0,0.25,1,1.25 shape [2, 2]", run.Output);
    }

    [Fact]
    public void Tensors_ThatAreNotContiguousOrOfAnotherDtype_AreRefused()
    {
        var transposed = Tensor.Zeros(2, 3).T;
        var error = Assert.Throws<ArgumentException>(() => TensorMemory.Pin(transposed, "AllReduce"));
        Assert.Equal("AllReduce: the tensor must be contiguous (shape [3, 2]); call Contiguous() first and copy the result back", error.Message);
        error = Assert.Throws<ArgumentException>(() => TensorMemory.Pin(Tensor.From(true), "Broadcast"));
        Assert.Equal("Broadcast: tensors of dtype Bool are not supported; use float32, float64, int64 or int32", error.Message);
    }
}
