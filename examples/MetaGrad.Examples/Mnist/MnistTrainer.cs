using System.Diagnostics;
using MetaGrad.Data;
using MetaGrad.Distributed;
using MetaGrad.IO;
using MetaGrad.NN;
using MetaGrad.Optim;
using MetaGrad.Training;

namespace MetaGrad.Examples;

/// <summary>What a run is: the model and its size, the optimizer and its learning rate, the batch size and the seed.</summary>
public sealed record MnistSettings
{
    /// <summary>"mlp" (<see cref="MnistMlp"/>), "lenet" (<see cref="LeNet"/>) or "resnet" (<see cref="MnistResNet"/>).</summary>
    public string Model { get; init; } = "mlp";
    /// <summary>Random rotations and shifts of each training batch (<see cref="DigitAugmentation"/>).</summary>
    public bool Augment { get; init; }
    public int BatchSize { get; init; } = 64;
    public string Optimizer { get; init; } = "adam";
    /// <summary>The starting learning rate; null takes the optimizer's usual one (<see cref="MnistTrainer.DefaultLr"/>).</summary>
    public double? Lr { get; init; }
    /// <summary>The learning rate is multiplied by this after every epoch (StepLR with step 1).</summary>
    public double LrDecay { get; init; } = 0.7;
    public ulong Seed { get; init; } = 0;
    public int Hidden1 { get; init; } = 256;
    public int Hidden2 { get; init; } = 128;
    public double Dropout { get; init; } = 0.2;
}

/// <summary>One epoch's figures; the train ones are running averages over the epoch's batches.</summary>
public sealed record EpochResult(int Epoch, double TrainLoss, double TrainAccuracy, double TestLoss, double TestAccuracy, double Seconds);

/// <summary>
/// Trains <see cref="MnistMlp"/>, <see cref="LeNet"/> or <see cref="MnistResNet"/> one epoch at a time and keeps everything a resumed run needs: the
/// model, the optimizer's buffers, the scheduler, the random generator (shuffling, dropout) and
/// the history. <see cref="Save"/> then <see cref="Resume"/> continues exactly where training
/// stopped: the same batches, the same dropout masks, the same bits.
/// </summary>
public sealed class MnistTrainer
{
    const int EvalBatch = 1000;   // evaluation needs no gradients, so larger batches cost nothing extra

    readonly MnistData _data;
    readonly Generator _generator;
    readonly Module<Tensor, Tensor> _model;
    readonly Optimizer _optimizer;
    readonly StepLR _scheduler;
    readonly Communicator? _world;
    readonly Module<Tensor, Tensor> _training;   // the model, or its DistributedDataParallel wrapper

    /// <param name="world">When given, this is one rank of data-parallel training: each rank trains on its share of every batch of BatchSize.</param>
    public MnistTrainer(MnistData data, MnistSettings settings, Communicator? world = null)
    {
        if (world is not null && settings.BatchSize % world.Size != 0)
            throw new ArgumentException($"--batch-size {settings.BatchSize} must be a multiple of the {world.Size} ranks: each rank takes an equal share of every batch");
        _data = data;
        Settings = settings;
        _generator = new Generator(settings.Seed);
        _model = settings.Model switch
        {
            "mlp" => new MnistMlp(_generator, settings.Hidden1, settings.Hidden2, settings.Dropout),
            "lenet" => new LeNet(_generator),
            "resnet" => new MnistResNet(_generator),
            _ => throw new ArgumentException($"unknown model '{settings.Model}'; choose mlp, lenet or resnet"),
        };
        _world = world;
        _training = world is null ? _model : DistributedDataParallel.Wrap(_model, world);
        _optimizer = MakeOptimizer(settings.Optimizer, _model.Parameters(), settings.Lr ?? DefaultLr(settings.Optimizer));
        _scheduler = new StepLR(_optimizer, stepSize: 1, gamma: settings.LrDecay);
    }

    public MnistSettings Settings { get; }

    /// <summary>Epochs completed so far.</summary>
    public int Epoch { get; private set; }

    /// <summary>One entry per completed epoch.</summary>
    public List<EpochResult> History { get; } = [];

    public Module<Tensor, Tensor> Model => _model;

    public Optimizer Optimizer => _optimizer;

    public int BatchesPerEpoch => _world is null
        ? (_data.TrainLabels.Shape[0] + Settings.BatchSize - 1) / Settings.BatchSize
        : (new DistributedSampler(_data.TrainLabels.Shape[0], _world).Count + RankBatch - 1) / RankBatch;

    int RankBatch => Settings.BatchSize / (_world?.Size ?? 1);

    // One process shuffles with its generator; ranks share a DistributedSampler order seeded by the seed and the epoch.
    IEnumerable<int[]> Batches(int count)
    {
        if (_world is null) return new BatchSampler(new RandomSampler(count, generator: _generator), Settings.BatchSize, dropLast: false);
        var share = new DistributedSampler(count, _world, seed: Settings.Seed);
        share.SetEpoch(Epoch);
        return new BatchSampler(share, RankBatch, dropLast: false);
    }

    /// <summary>The optimizers on offer, by their command-line names.</summary>
    public static IReadOnlyList<string> Optimizers { get; } = ["sgd", "adam", "adamw", "rmsprop"];

    /// <summary>A learning rate that works for each optimizer on this model.</summary>
    public static double DefaultLr(string optimizer) => optimizer switch { "sgd" => 0.05, "rmsprop" => 1e-3, _ => 3e-3 };

    static Optimizer MakeOptimizer(string name, IEnumerable<Tensor> parameters, double lr) => name switch
    {
        "sgd" => new SGD(parameters, lr, momentum: 0.9),
        "adam" => new Adam(parameters, lr),
        "adamw" => new AdamW(parameters, lr),
        "rmsprop" => new RMSprop(parameters, lr),
        _ => throw new ArgumentException($"unknown optimizer '{name}'; choose one of {string.Join(", ", Optimizers)}"),
    };

    /// <summary>Trains one epoch over the shuffled training set, then evaluates on the test set.</summary>
    public EpochResult TrainEpoch(Action<BatchProgress>? onBatch = null)
    {
        var clock = Stopwatch.StartNew();
        int count = _data.TrainLabels.Shape[0], seen = 0, batch = 0;
        double lossSum = 0;
        long correct = 0;
        _model.Train();
        // Whole batches are gathered with one IndexSelect each rather than item by item.
        foreach (var positions in Batches(count))
        {
            var index = Tensor.From(positions, [positions.Length]);
            var images = _data.TrainImages.IndexSelect(0, index);
            if (Settings.Augment) images = DigitAugmentation.Apply(images, _generator);
            var labels = _data.TrainLabels.IndexSelect(0, index);

            var logits = _training.Forward(images);
            var loss = Losses.CrossEntropy(logits, labels);
            _optimizer.ZeroGrad();
            loss.Backward();
            _optimizer.Step();

            double batchLoss = loss.Item<float>();
            lossSum += batchLoss * positions.Length;
            correct += Correct(logits, labels);
            seen += positions.Length;
            onBatch?.Invoke(new BatchProgress(++batch, BatchesPerEpoch, batchLoss, seen * (_world?.Size ?? 1), clock.Elapsed));   // all ranks' images
        }
        _scheduler.Step();
        Epoch++;
        if (_world is not null)   // the epoch's figures over all ranks' shares
        {
            var totals = Tensor.From(new[] { lossSum, correct, seen }, [3]);
            _world.AllReduce(totals);
            var t = totals.ToArray<double>();
            (lossSum, correct, seen) = (t[0], (long)t[1], (int)t[2]);
        }

        // Only rank 0 reports, so only it evaluates.
        var (testLoss, testAccuracy) = _world is { IsMain: false } ? (double.NaN, double.NaN) : Evaluate(_data.TestImages, _data.TestLabels);
        var result = new EpochResult(Epoch, lossSum / seen, (double)correct / seen, testLoss, testAccuracy, clock.Elapsed.TotalSeconds);
        History.Add(result);
        return result;
    }

    /// <summary>Mean cross-entropy and accuracy over a whole set, in eval mode (no dropout) and without gradients.</summary>
    public (double Loss, double Accuracy) Evaluate(Tensor images, Tensor labels)
    {
        _model.Eval();
        using var _ = Autograd.NoGrad();
        int count = labels.Shape[0];
        double lossSum = 0;
        long correct = 0;
        for (int start = 0; start < count; start += EvalBatch)
        {
            int end = Math.Min(start + EvalBatch, count);
            var logits = _model.Forward(images[start..end]);
            lossSum += Losses.CrossEntropy(logits, labels[start..end], reduction: Reduction.Sum).Item<float>();
            correct += Correct(logits, labels[start..end]);
        }
        return (lossSum / count, (double)correct / count);
    }

    static long Correct(Tensor logits, Tensor labels) => (logits.ArgMax(1) == labels).To(DType.Int64).Sum().Item<long>();

    /// <summary>Writes the whole training state to one safetensors file (atomically).</summary>
    public void Save(string path) =>
        new Checkpoint()
            .Add("model", _model.StateDict())
            .AddOptimizer("optim", _optimizer.StateDict())
            .AddScheduler("scheduler", _scheduler.StateDict())
            .AddGenerator("rng", _generator)
            .Set("epoch", Epoch)
            .Set("settings", Settings)
            .Set("history", History)
            .Save(path);

    /// <summary>A trainer in the state <see cref="Save"/> wrote, with the saved settings.</summary>
    public static MnistTrainer Resume(string path, MnistData data, Communicator? world = null)
    {
        var saved = Checkpoint.Load(path);
        var trainer = new MnistTrainer(data, saved.Get<MnistSettings>("settings"), world);
        trainer._model.LoadStateDict(saved.Section("model"));
        trainer._optimizer.LoadStateDict(saved.OptimizerState("optim"));
        trainer._scheduler.LoadStateDict(saved.SchedulerState("scheduler"));
        saved.RestoreGenerator("rng", trainer._generator);
        trainer.Epoch = saved.Get<int>("epoch");
        trainer.History.AddRange(saved.Get<List<EpochResult>>("history"));
        return trainer;
    }
}

/// <summary>The MNIST images (normalised) and labels of both splits, optionally only the first few of each.</summary>
public sealed record MnistData(Tensor TrainImages, Tensor TrainLabels, Tensor TestImages, Tensor TestLabels)
{
    /// <summary>Reads the IDX files in <paramref name="folder"/> (the shipped mnist-mini when null).</summary>
    public static MnistData Load(string? folder = null, int? trainCount = null, int? testCount = null)
    {
        folder ??= Mnist.Find();
        var train = new Mnist(folder, train: true, transform: Mnist.Normalize);
        var test = new Mnist(folder, train: false, transform: Mnist.Normalize);
        int nTrain = Math.Min(trainCount ?? int.MaxValue, train.Count), nTest = Math.Min(testCount ?? int.MaxValue, test.Count);
        return new MnistData(train.Images[..nTrain], train.Labels[..nTrain], test.Images[..nTest], test.Labels[..nTest]);
    }
}
