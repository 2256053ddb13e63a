using System.Globalization;
using MetaGrad.IO;
using MetaGrad.NN;
using MetaGrad.Optim;

namespace MetaGrad.Distributed.Worker;

/// <summary>
/// Trains a small classifier for a few steps, either as one rank of <c>mpiexec -n 2</c> or as one
/// process on the two ranks' batches together, and writes the final parameters and buffers (and the
/// initial ones beside them, in NAME.initial), so that a test can compare the two. The fault
/// scenarios fail on purpose, to show that a failure ends every rank.
/// </summary>
/// <remarks>Scenarios: collectives (each collective once); plain, nosync, sampler, batchnorm, unused, branches (equivalence); overlap (bucket timing); mismatch (shapes), buckets (bucket caps), forgotten (a parameter without gradient, not declared), throw, kill, stall (faults).</remarks>
public static class Scenarios
{
    const int Features = 8, Classes = 4, B = 8;

    /// <summary>Runs a scenario as a rank of <paramref name="world"/>, or as the single process when it is null.</summary>
    public static int Train(string scenario, string output, Communicator? world)
    {
        if (scenario == "collectives") return Collectives(world!);
        int rank = world?.Rank ?? 0;
        // Replicas start different on purpose: DistributedDataParallel must copy rank 0's parameters.
        var init = new Generator(100 + (ulong)rank);
        var data = new Generator(7);
        var x = Tensor.Randn([96, Features], generator: data);
        var y = Tensor.RandIntLike(Tensor.Zeros(96), Classes, DType.Int64, data);

        Module<Tensor, Tensor> Norm(int n) => world is null ? new BatchNorm1d(n) : new SyncBatchNorm(n, world);
        int hidden = scenario == "mismatch" && rank == 1 ? 17 : 16;
        var net = scenario == "batchnorm"
            ? new Sequential(new Linear(Features, hidden, generator: init), Norm(hidden), new ReLU(), new Linear(hidden, Classes, generator: init))
            : new Sequential(new Linear(Features, hidden, generator: init), new ReLU(), new Linear(hidden, Classes, generator: init));
        Module<Tensor, Tensor> replica = scenario switch
        {
            "unused" or "forgotten" => new WithSpareLayer(net, new Linear(Features, Classes, generator: init)),
            "branches" => new TwoHeads(init, world?.Rank),
            _ => net,
        };
        Module<Tensor, Tensor> model = world is null
            ? replica
            // A small cap, so that even this model's gradients travel in several buckets.
            : DistributedDataParallel.Wrap(replica, world, bucketCapMB: scenario == "buckets" && rank == 1 ? 25 : 0.0002,
                findUnusedParameters: scenario is "unused" or "branches");
        if (rank == 0) Save(replica, output + ".initial", -1);
        var optimizer = new SGD(replica.Parameters(), lr: 0.1, momentum: 0.9);

        // Rank r's share of a global batch [start, start + 2B) is [start + rB, start + (r+1)B); one process takes it all.
        Tensor Rows(Tensor t, int start) => world is null ? t[start..(start + 2 * B)] : t[(start + rank * B)..(start + (rank + 1) * B)];
        void Step(int start, double scale) => (Losses.CrossEntropy(model.Forward(Rows(x, start)), Rows(y, start)) * scale).Backward();

        switch (scenario)
        {
            case "plain" or "batchnorm" or "unused" or "branches" or "mismatch" or "buckets" or "forgotten":
                for (int step = 0; step < 5; step++)
                {
                    optimizer.ZeroGrad();
                    Step(step * 2 * B, 1.0);
                    optimizer.Step();
                }
                break;
            case "overlap":
                // While the first layer's gradients arrive, the last layer's bucket is already on its way.
                var wrapper = (DistributedDataParallel<Tensor, Tensor>)model;
                int least = int.MaxValue;
                foreach (var p in net.GetSubmodule("0").Parameters())
                    p.RegisterPostAccumulateGradHook(_ => least = Math.Min(least, wrapper.BucketsStarted));
                Step(0, 1.0);
                if (rank == 0) Console.WriteLine($"buckets started when the first layer's first gradient arrived: {least} of {wrapper.BucketCount}");
                break;
            case "nosync":
                // Two micro-batches a step: the first's gradients stay local, the second's backward averages the sum.
                var ddp = model as DistributedDataParallel<Tensor, Tensor>;
                for (int step = 0; step < 3; step++)
                {
                    optimizer.ZeroGrad();
                    using (ddp?.NoSync()) Step(step * 4 * B, 0.5);
                    Step(step * 4 * B + 2 * B, 0.5);
                    optimizer.Step();
                }
                break;
            case "sampler":
                // 61 rows: each rank's share is 31 (one position repeated as padding), in batches of B (the last of 7).
                for (int epoch = 0; epoch < 2; epoch++)
                {
                    var shares = world is null
                        ? [new DistributedSampler(61, 2, 0, seed: 3), new DistributedSampler(61, 2, 1, seed: 3)]
                        : new[] { new DistributedSampler(61, world, seed: 3) };
                    foreach (var s in shares) s.SetEpoch(epoch);
                    var batches = shares.Select(s => s.Chunk(B).ToArray()).ToArray();
                    for (int k = 0; k < batches[0].Length; k++)
                    {
                        var rows = Tensor.From(batches.SelectMany(b => b[k]).Select(i => (long)i).ToArray(), [batches.Sum(b => b[k].Length)]);
                        optimizer.ZeroGrad();
                        Losses.CrossEntropy(model.Forward(x.IndexSelect(0, rows)), y.IndexSelect(0, rows)).Backward();
                        optimizer.Step();
                    }
                }
                break;
            case "throw" or "kill" or "stall":
                // Rank 0 saves a checkpoint after each step; at step 3 rank 1 fails and rank 0 must not wait for it forever.
                for (int step = 0; step < 6; step++)
                {
                    if (step == 3 && rank == 1)
                    {
                        if (scenario == "throw") throw new InvalidOperationException("injected failure at step 3");
                        if (scenario == "kill") System.Diagnostics.Process.GetCurrentProcess().Kill();
                        Thread.Sleep(60_000);   // stall: alive but silent, far longer than rank 0's timeout
                    }
                    if (step == 3 && scenario == "stall") world!.Timeout = TimeSpan.FromSeconds(2);
                    optimizer.ZeroGrad();
                    Step(step * 2 * B, 1.0);
                    optimizer.Step();
                    if (world!.IsMain)
                    {
                        Save(replica, output, step);
                        Console.WriteLine($"saved step {step}");
                    }
                    world.Barrier();
                }
                break;
            default:
                throw new ArgumentException($"unknown scenario {scenario}");
        }
        if (rank == 0) Save(replica, output, -1);
        return 0;
    }

    // Each collective on values that depend on the rank, printed by every rank (rank r: ...).
    static int Collectives(Communicator world)
    {
        int r = world.Rank;
        var sum = Tensor.From(new float[] { r + 1, 10 * (r + 1) }, [2]);
        world.AllReduce(sum);
        var max = Tensor.From(new long[] { r, -r }, [2]);
        world.AllReduce(max, ReduceOp.Max);
        var min = Tensor.From(new double[] { r + 0.5 }, [1]);
        world.AllReduce(min, ReduceOp.Min);
        var broadcast = Tensor.From(new int[] { 7 * (r + 1), 8 * (r + 1) }, [2]);
        world.Broadcast(broadcast, root: 1);
        var gathered = world.AllGather(Tensor.From(new float[] { r, r + 0.25f }, [2]));
        world.Barrier();
        Console.WriteLine(FormattableString.Invariant(
            $"rank {r}: sum {string.Join(",", sum.ToArray<float>())} max {string.Join(",", max.ToArray<long>())} min {min.Item<double>()} broadcast {string.Join(",", broadcast.ToArray<int>())} gathered {string.Join(",", gathered.ToArray<float>())} shape {gathered.Shape}"));
        return 0;
    }

    static void Save(Module net, string path, int step) =>
        Safetensors.Save(path, net.StateDict(), new Dictionary<string, string> { ["step"] = step.ToString(CultureInfo.InvariantCulture) });

    /// <summary>A network beside a layer that forward never calls: no rank's loss depends on its parameters.</summary>
    sealed class WithSpareLayer : Module<Tensor, Tensor>
    {
        readonly Module<Tensor, Tensor> _net;

        public WithSpareLayer(Module<Tensor, Tensor> net, Module spare)
        {
            _net = net;
            RegisterModule("net", net);
            RegisterModule("spare", spare);
        }

        public override Tensor Forward(Tensor input) => _net.Forward(input);
    }

    /// <summary>
    /// A trunk and two heads: rank r's rows go through head r only, so each head is unused on one
    /// rank and used on the other; one process sends the first half of its batch through head 0 and
    /// the second through head 1.
    /// </summary>
    sealed class TwoHeads(Generator init, int? rank) : Module<Tensor, Tensor>
    {
        readonly Linear _trunk = new(Features, 16, generator: init), _head0 = new(16, Classes, generator: init), _head1 = new(16, Classes, generator: init);

        public override Tensor Forward(Tensor input)
        {
            var h = _trunk.Forward(input).Relu();
            if (rank is int r) return (r == 0 ? _head0 : _head1).Forward(h);
            int half = input.Shape[0] / 2;
            return Tensor.Cat([_head0.Forward(h[..half]), _head1.Forward(h[half..])]);
        }
    }
}
