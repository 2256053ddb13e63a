using System.Diagnostics;
using System.Globalization;
using MetaGrad;
using MetaGrad.Distributed;
using MetaGrad.NN;
using MetaGrad.Optim;

// Time per training step of the MLP, LeNet and the LSTM, for the README's scaling figures:
//   dotnet bin/.../MetaGrad.DistributedBench.dll                 one process, every core's thread, the global batch
//   mpiexec -n 2 dotnet bin/.../MetaGrad.DistributedBench.dll    ranks of one thread each, an equal share of the batch each:
//       first without any communication (the compute alone, sharing the cores the same way), then
//       with DistributedDataParallel; also a bare all-reduce of each model's gradient size.
CultureInfo.DefaultThreadCurrentCulture = CultureInfo.InvariantCulture;
return Mpi.IsLaunched ? Mpi.Run(Bench.Ranks) : Bench.Single();

static class Bench
{
    sealed record Model(string Name, Module<Tensor, Tensor> Net, Tensor X, Tensor Y, int Steps);

    // The global batch: 64 digits for the MLP and LeNet, 32 sequences of 32 steps for the LSTM.
    static IEnumerable<Model> Models(int share)
    {
        var g = new Generator(1);
        var mlp = new Sequential(new Linear(784, 256, generator: g), new ReLU(), new Linear(256, 128, generator: g), new ReLU(), new Linear(128, 10, generator: g));
        yield return new("MLP 784-256-128-10, batch 64", mlp, Tensor.Randn([64 / share, 784], generator: g), Tensor.RandInt(0, 10, [64 / share], generator: g), 200);
        yield return new("LeNet-5, batch 64", new LeNet(g), Tensor.Randn([64 / share, 1, 28, 28], generator: g), Tensor.RandInt(0, 10, [64 / share], generator: g), 60);
        yield return new("LSTM 128-256 x 32 steps + linear, batch 32", new LstmClassifier(g), Tensor.Randn([32, 32 / share, 128], generator: g),
            Tensor.RandInt(0, 10, [32 / share], generator: g), 25);
    }

    static long GradientBytes(Module m) => m.Parameters().Sum(p => (long)p.Numel) * 4;

    // Median over 3 rounds of the mean step time, after a warm-up, in ms.
    static double StepMs(Module<Tensor, Tensor> forward, Module parameters, Tensor x, Tensor y, int steps, Communicator? world)
    {
        var optimizer = new Adam(parameters.Parameters(), lr: 1e-3);
        void Step()
        {
            optimizer.ZeroGrad();
            Losses.CrossEntropy(forward.Forward(x), y).Backward();
            optimizer.Step();
        }
        for (int i = 0; i < Math.Max(5, steps / 5); i++) Step();
        var rounds = new List<double>();
        for (int r = 0; r < 3; r++)
        {
            world?.Barrier();
            var clock = Stopwatch.StartNew();
            for (int i = 0; i < steps; i++) Step();
            world?.Barrier();
            rounds.Add(clock.Elapsed.TotalMilliseconds / steps);
        }
        return rounds.Order().ElementAt(1);
    }

    public static int Single()
    {
        Console.WriteLine($"one process, {Tensor.GetNumThreads()} threads ({Environment.ProcessorCount} cores)");
        foreach (var m in Models(1))
            Console.WriteLine($"{m.Name}: {StepMs(m.Net, m.Net, m.X, m.Y, m.Steps, null):F2} ms/step, gradient {GradientBytes(m.Net) / 1e6:F2} MB");
        return 0;
    }

    public static int Ranks(Communicator world)
    {
        world.Print($"{world.Size} ranks, {Tensor.GetNumThreads()} thread(s) each ({Environment.ProcessorCount} cores)");
        foreach (var m in Models(world.Size))
        {
            double local = StepMs(m.Net, m.Net, m.X, m.Y, m.Steps, world);   // no gradient averaging
            var ddp = DistributedDataParallel.Wrap(m.Net, world);
            var before = ddp.CommunicationWait;
            double synced = StepMs(ddp, m.Net, m.X, m.Y, m.Steps, world);
            int measured = m.Steps * 3 + Math.Max(5, m.Steps / 5);
            double wait = (ddp.CommunicationWait - before).TotalMilliseconds / measured;
            double reduce = AllReduceMs(world, (int)(GradientBytes(m.Net) / 4));
            world.Print($"{m.Name}: {synced:F2} ms/step with DDP ({ddp.BucketCount} bucket(s)), {local:F2} without communication; " +
                $"communication {100 * (synced - local) / synced:F0}% of the step; backward waited {wait:F2} ms/step for all-reduces; " +
                $"bare all-reduce of {GradientBytes(m.Net) / 1e6:F2} MB: {reduce:F2} ms");
            ddp.Dispose();
        }
        return 0;
    }

    static double AllReduceMs(Communicator world, int floats)
    {
        var buffer = Tensor.Randn(floats);
        for (int i = 0; i < 5; i++) world.AllReduce(buffer);
        world.Barrier();
        var clock = Stopwatch.StartNew();
        const int reps = 30;
        for (int i = 0; i < reps; i++) world.AllReduce(buffer);
        return clock.Elapsed.TotalMilliseconds / reps;
    }
}

/// <summary>LeNet-5 for 28×28 digits (as the MNIST example's).</summary>
sealed class LeNet : Module<Tensor, Tensor>
{
    readonly Conv2d _conv1, _conv2;
    readonly Linear _fc1, _fc2, _fc3;

    public LeNet(Generator g)
    {
        _conv1 = new Conv2d(1, 6, 5, padding: 2, generator: g);
        _conv2 = new Conv2d(6, 16, 5, generator: g);
        _fc1 = new Linear(400, 120, generator: g);
        _fc2 = new Linear(120, 84, generator: g);
        _fc3 = new Linear(84, 10, generator: g);
    }

    public override Tensor Forward(Tensor x)
    {
        x = Functional.MaxPool2d(_conv1.Forward(x).Relu(), 2);
        x = Functional.MaxPool2d(_conv2.Forward(x).Relu(), 2);
        return _fc3.Forward(_fc2.Forward(_fc1.Forward(x.Flatten(1)).Relu()).Relu());
    }
}

/// <summary>An LSTM over the sequence, a linear classifier on its last output (the benchmark's LSTM row).</summary>
sealed class LstmClassifier : Module<Tensor, Tensor>
{
    readonly LSTM _lstm;
    readonly Linear _head;

    public LstmClassifier(Generator g)
    {
        _lstm = new LSTM(128, 256, generator: g);
        _head = new Linear(256, 10, generator: g);
    }

    public override Tensor Forward(Tensor x) => _head.Forward(_lstm.Forward(x).Output[^1]);
}
