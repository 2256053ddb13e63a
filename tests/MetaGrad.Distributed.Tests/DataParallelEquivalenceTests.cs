using MetaGrad.Distributed.Worker;
using MetaGrad.IO;

namespace MetaGrad.Distributed.Tests;

/// <summary>
/// Two ranks of batch B end with the same parameters (and BatchNorm statistics) as one process of
/// batch 2B: the all-reduce averages the gradients, so only the order of float additions differs.
/// </summary>
public sealed class DataParallelEquivalenceTests : IDisposable
{
    readonly string _folder = Directory.CreateTempSubdirectory("metagrad-mpi-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    [Theory]
    [InlineData("plain")]       // 5 SGD steps with momentum, gradients in several buckets
    [InlineData("nosync")]      // 3 steps of 2 micro-batches, the first under NoSync
    [InlineData("sampler")]     // 2 epochs over 61 rows shared by DistributedSampler (padded to 31 each)
    [InlineData("batchnorm")]   // SyncBatchNorm on 2 ranks against BatchNorm1d on one process
    [InlineData("unused")]      // findUnusedParameters, with a layer forward never calls
    [InlineData("branches")]    // findUnusedParameters, each rank using a different head
    public void TwoRanksOfBatchB_MatchOneProcessOfBatch2B(string scenario)
    {
        string distributed = Path.Combine(_folder, "two.safetensors"), single = Path.Combine(_folder, "one.safetensors");
        var run = MpiLauncher.Run(scenario, distributed);
        Assert.True(run.ExitCode == 0, $"mpiexec exited {run.ExitCode}:\n{run.Output}");
        Assert.Equal(0, Scenarios.Train(scenario, single, world: null));

        var two = Safetensors.Load(distributed).Tensors;
        var one = Safetensors.Load(single).Tensors;
        var initial = Safetensors.Load(single + ".initial").Tensors;
        Assert.Equal(one.Keys.Order(), two.Keys.Order());
        double moved = 0;
        foreach (var (name, expected) in one)
        {
            if (expected.DType == DType.Int64)   // num_batches_tracked
            {
                Assert.Equal(expected.ToArray<long>(), two[name].ToArray<long>());
                continue;
            }
            var a = expected.ToArray<float>();
            var b = two[name].ToArray<float>();
            var start = initial[name].ToArray<float>();
            for (int i = 0; i < a.Length; i++)
            {
                Assert.True(Math.Abs(a[i] - b[i]) <= 1e-6 + 1e-5 * Math.Abs(a[i]), $"{scenario}: {name}[{i}] is {b[i]} on 2 ranks but {a[i]} in one process");
                moved = Math.Max(moved, Math.Abs(a[i] - start[i]));
            }
        }
        Assert.True(moved > 0.01, $"{scenario}: training moved no parameter by more than {moved}");
        if (scenario == "unused")   // no rank used the spare layer: untouched, as in one process
            Assert.Equal(initial["spare.weight"].ToArray<float>(), two["spare.weight"].ToArray<float>());
    }

    [Fact]
    public void LastLayersBucket_StartsWhileBackwardStillRuns()
    {
        // Buckets [2.bias, 2.weight] and [0.bias, 0.weight]: the first is all-reduced while backward goes on to layer 0.
        var run = MpiLauncher.Run("overlap", Path.Combine(_folder, "overlap.safetensors"));
        Assert.True(run.ExitCode == 0, $"mpiexec exited {run.ExitCode}:\n{run.Output}");
        Assert.Contains("buckets started when the first layer's first gradient arrived: 1 of 2", run.Output);
    }
}
