using System.CommandLine;
using MetaGrad.NN;

namespace MetaGrad.Examples;

/// <summary>
/// The seed articles' pictures of computation graphs, drawn from MetaGrad's own: Max with a tie,
/// a slice, a reshape and a transpose, and a small MLP's training step, written as Graphviz DOT
/// (and rendered to SVG where Graphviz's dot is installed); then the same step under the profiler.
/// </summary>
public static class SeeingInside
{
    public static Command Command()
    {
        var output = new Option<string>("--out") { Description = "Folder for the .dot (and .svg) files", DefaultValueFactory = _ => Path.Combine("out", "graphs") };
        var command = new Command("graphs", "Draw the backward graphs of the seed's examples and of an MLP step, and profile the step") { output };
        command.SetAction(parse => Run(parse.GetValue(output)!));
        return command;
    }

    /// <summary>The graphs by name, as DOT text.</summary>
    public static IReadOnlyList<(string Name, string Dot)> Graphs()
    {
        var x = Tensor.From(new float[] { 1, 3, 3, 2 }, [4]).RequiresGrad_();
        var m = Tensor.Arange(0, 6, 1).Reshape(2, 3).RequiresGrad_();
        var mlp = Mlp();
        var input = Tensor.Randn([8, 4], generator: new Generator(1));
        var labels = Tensor.From(new long[] { 0, 1, 2, 0, 1, 2, 0, 1 }, [8]);
        return
        [
            ("max-with-a-tie", Autograd.ToDot((x * 2).Max())),
            ("slice", Autograd.ToDot(m[.., 1..3].Sum())),
            ("reshape", Autograd.ToDot((m.Reshape(3, 2) * 2).Sum())),
            ("transpose", Autograd.ToDot(m.T.Matmul(m).Sum())),
            ("mlp", Autograd.ToDot(Losses.CrossEntropy(mlp.Forward(input), labels), mlp.NamedParameters())),
        ];
    }

    static Sequential Mlp() => new(new Linear(4, 8, generator: new Generator(2)), new ReLU(), new Linear(8, 3, generator: new Generator(3)));

    /// <summary>Profiles five training steps of the MLP.</summary>
    public static Profiler ProfileSteps()
    {
        var mlp = Mlp();
        var optimizer = new MetaGrad.Optim.SGD(mlp.Parameters(), lr: 0.1);
        var input = Tensor.Randn([64, 4], generator: new Generator(4));
        var labels = Tensor.RandInt(0, 3, [64], generator: new Generator(5));
        using var profiler = Profiler.Record();
        for (int step = 0; step < 5; step++)
        {
            optimizer.ZeroGrad();
            Losses.CrossEntropy(mlp.Forward(input), labels).Backward();
            optimizer.Step();
        }
        return profiler;
    }

    /// <summary>
    /// What activation checkpointing buys on a deep MLP (Linear + ReLU pairs): the bytes the graph
    /// keeps for backward after the forward, and the median time of a training step, plain and
    /// with <paramref name="segments"/> checkpointed segments (the last one runs plainly).
    /// </summary>
    public static (long PlainBytes, long CheckpointedBytes, double PlainMs, double CheckpointedMs) CheckpointingMemory(
        int layers, int width, int batch, int segments, int steps)
    {
        var generator = new Generator(0);
        var modules = new List<Module<Tensor, Tensor>>();
        for (int i = 0; i < layers; i++) { modules.Add(new Linear(width, width, generator: generator)); modules.Add(new ReLU()); }
        var model = new Sequential([.. modules]);
        var x = Tensor.Randn([batch, width], generator: generator);
        (long Bytes, double Ms) Measure(Func<Tensor> forward)
        {
            long bytes = 0;
            var times = new List<double>();
            for (int s = 0; s < steps; s++)
            {
                var clock = System.Diagnostics.Stopwatch.StartNew();
                var y = forward();
                bytes = Autograd.SavedTensorBytes(y);
                var loss = y.Square().Mean();
                loss.Backward();
                model.ZeroGrad();
                times.Add(clock.Elapsed.TotalMilliseconds);
            }
            times.Sort();
            return (bytes, times[times.Count / 2]);
        }
        var plain = Measure(() => model.Call(x));
        var checkpointed = Measure(() => MetaGrad.NN.Utils.Checkpointing.CheckpointSequential(model, segments, x));
        return (plain.Bytes, checkpointed.Bytes, plain.Ms, checkpointed.Ms);
    }

    /// <summary>The lenet example's model summarised on a batch of 64 digits, as torchinfo would.</summary>
    public static ModelSummary LeNetSummary() => ModelSummary.Of(new LeNet(new Generator(0)), Tensor.Zeros(64, 1, 28, 28));

    public static void Run(string folder)
    {
        Directory.CreateDirectory(folder);
        foreach (var (name, dot) in Graphs())
        {
            string path = Path.Combine(folder, name + ".dot");
            File.WriteAllText(path, dot);
            try
            {
                Autograd.RenderDot(dot, Path.ChangeExtension(path, ".svg"));
                Console.WriteLine($"wrote {path} and {Path.ChangeExtension(path, ".svg")}");
            }
            catch (InvalidOperationException e) when (e.Message.Contains("not found"))
            {
                Console.WriteLine($"wrote {path} (install Graphviz to render it: apt-get install graphviz)");
            }
        }
        Console.WriteLine();
        Console.WriteLine("Five SGD steps of the MLP, profiled:");
        Console.Write(ProfileSteps().Table(top: 12));
        Console.WriteLine();
        Console.WriteLine("The lenet example's model on a batch of 64 digits:");
        Console.WriteLine(LeNetSummary());
        Console.WriteLine();
        const int layers = 24, width = 512, batch = 256, segments = 5;
        var (plainBytes, checkpointedBytes, plainMs, checkpointedMs) = CheckpointingMemory(layers, width, batch, segments, steps: 5);
        Console.WriteLine($"Activation checkpointing, {layers} Linear({width}, {width}) + ReLU layers, batch {batch}, {segments} segments (median of 5 steps):");
        Console.WriteLine($"  kept for backward: {plainBytes / 1e6:F1} MB plain, {checkpointedBytes / 1e6:F1} MB checkpointed");
        Console.WriteLine($"  step time:         {plainMs:F0} ms plain, {checkpointedMs:F0} ms checkpointed (one forward more)");
    }
}
