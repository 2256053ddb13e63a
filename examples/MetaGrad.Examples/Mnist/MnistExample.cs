using System.CommandLine;
using System.CommandLine.Parsing;
using System.Diagnostics;
using System.Globalization;
using MetaGrad.Distributed;
using MetaGrad.Training;

namespace MetaGrad.Examples;

/// <summary>
/// The flagship: train the MLP on the shipped MNIST digits, showing progress, printing each epoch's
/// figures, saving a checkpoint after every epoch and the learning curves at the end.
/// </summary>
public static class MnistExample
{
    /// <summary>
    /// What one invocation does: train up to <see cref="Epochs"/> epochs in total, reading and writing
    /// where told. <see cref="Given"/> names the settings given on the command line, which a resumed
    /// run must not contradict (the checkpoint's settings win). <see cref="TensorBoard"/> logs the run to
    /// Out/tb; <see cref="Patience"/> stops once the test loss has not improved for that many epochs.
    /// </summary>
    public sealed record RunOptions(int Epochs, MnistSettings Settings, string? Data, string Out, bool Resume, ProgressStyle Progress, IReadOnlyCollection<string>? Given = null,
        bool Distributed = false, bool TensorBoard = false, int? Patience = null);

    // The settings a checkpoint fixes, by option name.
    static readonly (string Option, Func<MnistSettings, object?> Value)[] Fixed =
    [
        ("--batch-size", s => s.BatchSize), ("--optimizer", s => s.Optimizer), ("--lr", s => s.Lr),
        ("--lr-decay", s => s.LrDecay), ("--seed", s => s.Seed),
    ];

    /// <summary>Adds the MNIST options to <paramref name="command"/> and makes training <paramref name="model"/> ("mlp" or "lenet") its action.</summary>
    public static Command Configure(Command command, string model = "mlp")
    {
        // LeNet overfits 8,000 digits: with SGD and momentum alone it learns the training set whole
        // long before the end, and the last tenths of its held-out accuracy around 98% depend on the
        // kernels' summation order. The random rotations and shifts the resnet example uses, and
        // more epochs of a faster decay, keep it above 98% whatever the order (README has the runs).
        var defaults = model switch
        {
            "lenet" => new MnistSettings { Model = model, Optimizer = "sgd", LrDecay = 0.8, Augment = true },
            "resnet" => new MnistSettings { Model = model, Optimizer = "adam", LrDecay = 0.85, Augment = true },
            _ => new MnistSettings { Model = model },
        };
        var epochs = new Option<int>("--epochs") { Description = "Epochs in total (a resumed run counts those already done)", DefaultValueFactory = _ => model switch { "lenet" => 15, "resnet" => 15, _ => 10 } };
        var batchSize = new Option<int>("--batch-size") { Description = "Images per batch", DefaultValueFactory = _ => defaults.BatchSize };
        var lr = new Option<double?>("--lr") { Description = "Starting learning rate [default: 3e-3 for adam and adamw, 1e-3 for rmsprop, 0.05 for sgd]" };
        var lrDecay = new Option<double>("--lr-decay") { Description = "Learning-rate factor applied after each epoch", DefaultValueFactory = _ => defaults.LrDecay };
        var optimizer = new Option<string>("--optimizer") { Description = "The update rule", DefaultValueFactory = _ => defaults.Optimizer };
        optimizer.AcceptOnlyFromAmong([.. MnistTrainer.Optimizers]);
        var seed = new Option<ulong>("--seed") { Description = "Seed of the initial weights, the shuffling and the dropout", DefaultValueFactory = _ => defaults.Seed };
        var data = new Option<string?>("--data") { Description = "Folder of the MNIST IDX files [default: the shipped data/mnist-mini]" };
        var output = new Option<string>("--out") { Description = "Folder for the checkpoint and the plot", DefaultValueFactory = _ => Path.Combine("out", model == "mlp" ? "mnist" : model) };
        var resume = new Option<bool>("--resume") { Description = "Continue from the checkpoint in --out, with its settings" };
        var progress = new Option<ProgressStyle>("--progress") { Description = "Auto: a live bar in a terminal, else plain lines; Lines: plain lines; None: epoch lines only", DefaultValueFactory = _ => ProgressStyle.Auto };
        var distributed = new Option<bool>("--distributed") { Description = "One rank of data-parallel training: start with mpiexec -n N; --batch-size is the batch of all ranks together" };

        OptionRules.Require(epochs, v => v >= 0, "--epochs must be 0 or more");
        OptionRules.Positive(batchSize);
        OptionRules.Require(lr, v => v is null or > 0, "--lr must be positive");
        OptionRules.Require(lrDecay, v => v is > 0 and <= 1, "--lr-decay must be in (0, 1]");
        foreach (var option in new Option[] { epochs, batchSize, lr, lrDecay, optimizer, seed, data, output, resume, progress, distributed })
            command.Options.Add(option);
        var watch = new WatchOptions(command, "test loss", "the --out folder's tb/");
        command.SetAction(parse =>
        {
            var settings = defaults with
            {
                BatchSize = parse.GetValue(batchSize),
                Optimizer = parse.GetValue(optimizer)!,
                Lr = parse.GetValue(lr),
                LrDecay = parse.GetValue(lrDecay),
                Seed = parse.GetValue(seed),
            };
            var given = new Option[] { batchSize, optimizer, lr, lrDecay, seed }.Where(o => parse.GetResult(o) is { Implicit: false }).Select(o => o.Name).ToArray();
            return Run(new RunOptions(parse.GetValue(epochs), settings, parse.GetValue(data), parse.GetValue(output)!, parse.GetValue(resume), parse.GetValue(progress), given,
                parse.GetValue(distributed), parse.GetValue(watch.TensorBoard), parse.GetValue(watch.Patience)));
        });
        return command;
    }

    /// <summary>Trains as <paramref name="options"/> say, on <paramref name="data"/> when given (else read from options.Data).</summary>
    public static int Run(RunOptions options, MnistData? data = null)
    {
        if (options.Distributed && options.Patience is not null)
        {
            // Only rank 0 evaluates: the other ranks could not agree with it on when to stop.
            Console.Error.WriteLine("--patience cannot be combined with --distributed yet (only rank 0 measures the test loss it stops on)");
            return 1;
        }
        return options.Distributed ? Mpi.Run(world => Run(options, data, world)) : Run(options, data, null);
    }

    // As one process, or as one rank of world: rank 0 alone prints, saves and draws.
    static int Run(RunOptions options, MnistData? data, Communicator? world)
    {
        bool main = world?.IsMain ?? true;
        if (!main)
        {
            Console.SetOut(TextWriter.Null);
            options = options with { Progress = ProgressStyle.None };
        }
        var clock = Stopwatch.StartNew();
        try
        {
            data ??= MnistData.Load(options.Data);
        }
        catch (Exception e) when (e is IOException or InvalidDataException)   // missing folder or file, or not MNIST
        {
            Console.Error.WriteLine(e.Message);
            return 1;
        }
        Directory.CreateDirectory(options.Out);
        string checkpoint = Path.Combine(options.Out, "checkpoint.safetensors"), curves = Path.Combine(options.Out, "curves.png");

        MnistTrainer trainer;
        if (options.Resume)
        {
            if (!File.Exists(checkpoint))
            {
                Console.Error.WriteLine($"--resume: no checkpoint at {checkpoint}; train without --resume first");
                return 1;
            }
            trainer = MnistTrainer.Resume(checkpoint, data, world);
            var contradicted = Fixed
                .Where(f => options.Given?.Contains(f.Option) == true && !Equals(f.Value(options.Settings), f.Value(trainer.Settings)))
                .Select(f => Invariant($"{f.Option} {f.Value(options.Settings)} (the checkpoint has {f.Value(trainer.Settings) ?? "the default"})"))
                .ToList();
            if (contradicted.Count > 0)
            {
                Console.Error.WriteLine($"--resume continues with the checkpoint's settings, which {string.Join(", ", contradicted)} would change: drop {(contradicted.Count == 1 ? "it" : "them")}, or train anew without --resume");
                return 1;
            }
            if (trainer.Settings.Model != options.Settings.Model)
            {
                Console.Error.WriteLine($"--resume: the checkpoint at {checkpoint} is of the {trainer.Settings.Model} model, not {options.Settings.Model}; give another --out");
                return 1;
            }
            Console.WriteLine($"Resumed from {checkpoint} after epoch {trainer.Epoch}.");
        }
        else trainer = new MnistTrainer(data, options.Settings, world);

        if (trainer.Epoch >= options.Epochs)
        {
            Console.WriteLine($"Nothing to train: {trainer.Epoch} epochs are done and --epochs is {options.Epochs}.");
            return 0;
        }
        var s = trainer.Settings;
        double lr = s.Lr ?? MnistTrainer.DefaultLr(s.Optimizer);
        string name = s.Model switch
        {
            "lenet" => "LeNet-5 (conv 6@5x5, pool, conv 16@5x5, pool, 120-84-10)",
            "resnet" => "ResNet (stem 16, basic blocks 16, 32/2, 64/2, average pool, linear)",
            _ => $"MLP 784-{s.Hidden1}-{s.Hidden2}-10",
        };
        Console.WriteLine(Invariant($"MNIST {name} on {data.TrainLabels.Shape[0]:N0} training and {data.TestLabels.Shape[0]:N0} test digits"));
        if (world is not null) Console.WriteLine($"Data-parallel over {world.Size} ranks (MPI): {s.BatchSize / world.Size} images per rank per batch");
        Console.WriteLine(Invariant($"{s.Optimizer} lr {lr} (x{s.LrDecay} per epoch), batch {s.BatchSize}{(s.Model == "mlp" ? $", dropout {s.Dropout}" : "")}{(s.Augment ? ", random rotations and shifts" : "")}, seed {s.Seed}"));
        using var tensorBoard = options.TensorBoard && main ? new MnistTensorBoard(Path.Combine(options.Out, "tb"), trainer) : null;
        tensorBoard?.OnStart(Invariant($"{name}; {s.Optimizer} lr {lr} (x{s.LrDecay} per epoch), batch {s.BatchSize}, seed {s.Seed}"));
        // A resumed run's patience counts the epochs before the checkpoint too.
        var stopping = options.Patience is int patience ? new EarlyStopping(patience) : null;
        foreach (var done in trainer.History) stopping?.Step(done.TestLoss);
        if (stopping?.ShouldStop == true) Console.WriteLine($"Not training on: {stopping.Reason}, before this run; a larger --patience goes on.");
        while (trainer.Epoch < options.Epochs && stopping?.ShouldStop != true)
        {
            var r = EpochProgress.Run($"epoch {trainer.Epoch + 1}/{options.Epochs}", trainer.BatchesPerEpoch, options.Progress,
                report => trainer.TrainEpoch(report is null && tensorBoard is null ? null : p => { report?.Invoke(p); tensorBoard?.OnBatch(p); }));
            Console.WriteLine(Invariant($"epoch {r.Epoch,2}/{options.Epochs}  train loss {r.TrainLoss:F4} acc {100 * r.TrainAccuracy:F2}%  test loss {r.TestLoss:F4} acc {100 * r.TestAccuracy:F2}%  {r.Seconds:F1} s"));
            if (main) trainer.Save(checkpoint);
            world?.Barrier();   // no rank runs ahead of a checkpoint that is not written yet
            tensorBoard?.OnEpoch(r);
            if (stopping?.Step(r.TestLoss) == true) Console.WriteLine($"Stopped early: {stopping.Reason} (the checkpoint holds the last epoch).");
        }
        tensorBoard?.OnEnd();
        if (tensorBoard is not null) Console.WriteLine($"Logged for TensorBoard to {tensorBoard.LogDir} (tensorboard --logdir {tensorBoard.LogDir})");
        if (!main) return 0;
        try
        {
            SaveCurves(trainer.History, curves);
            Console.WriteLine($"Saved {checkpoint} and {curves}");
            string confusion = Path.Combine(options.Out, "confusion.png");
            ConfusionMatrixPicture.SavePng(Metrics.ConfusionMatrix(Predict(trainer.Model, data.TestImages), data.TestLabels, 10), confusion,
                title: Invariant($"Test digits after {trainer.Epoch} epochs ({100 * trainer.History[^1].TestAccuracy:F2}% right)"));
            Console.WriteLine($"Saved {confusion}");
            tensorBoard?.OnPicture("confusion matrix", confusion);
            if (trainer.Model is LeNet lenet)
            {
                string filters = Path.Combine(options.Out, "filters.png"), mistakes = Path.Combine(options.Out, "misclassified.png");
                ModelPictures.SaveFilters(lenet.FirstFilters, filters);
                ModelPictures.SaveMisclassified(trainer.Model, data.TestImages, data.TestLabels, mistakes);
                Console.WriteLine($"Saved {filters} and {mistakes}");
            }
        }
        catch (Exception e) when (e is DllNotFoundException or TypeInitializationException)
        {
            // SkiaSharp's native library is missing for this platform: the training and its checkpoint still count.
            Console.Error.WriteLine($"Saved {checkpoint}; could not draw {curves}: {e.Message}");
        }

        var last = trainer.History[^1];
        Console.WriteLine(Invariant($"Test accuracy {100 * last.TestAccuracy:F2}% after {last.Epoch} epochs; wall time {clock.Elapsed.TotalSeconds:F1} s."));
        return 0;
    }

    /// <summary>The predicted class of each image, in eval mode and without gradients, a thousand images at a time.</summary>
    static Tensor Predict(NN.Module<Tensor, Tensor> model, Tensor images)
    {
        model.Eval();
        using var _ = Autograd.NoGrad();
        int count = images.Shape[0];
        return Tensor.Cat([.. Enumerable.Range(0, (count + 999) / 1000).Select(i => model.Forward(images[(i * 1000)..Math.Min(count, (i + 1) * 1000)]).ArgMax(1))]);
    }

    /// <summary>The loss and accuracy curves of a run, side by side in one PNG.</summary>
    public static void SaveCurves(IReadOnlyList<EpochResult> history, string path)
    {
        double[] epochs = [.. history.Select(r => (double)r.Epoch)];
        Curve Of(string label, Func<EpochResult, double> value) => new(label, [.. history.Select(value)], epochs);
        LearningCurves.SavePng(path,
            new CurvePanel("Cross-entropy loss", [Of("train", r => r.TrainLoss), Of("test", r => r.TestLoss)]),
            new CurvePanel("Accuracy (%)", [Of("train", r => 100 * r.TrainAccuracy), Of("test", r => 100 * r.TestAccuracy)]) { Legend = ScottPlot.Alignment.LowerRight });
    }

    static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
