using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using MetaGrad.Data;
using MetaGrad.NN;
using MetaGrad.Optim;

namespace MetaGrad.Examples;

/// <summary>A run of the date translator: how much data, the model and its sizes, the optimizer, the beam.</summary>
public sealed record DatesSettings
{
    /// <summary>The models <see cref="Model"/> may name.</summary>
    public static readonly string[] Models = ["gru", "transformer"];
    /// <summary>Positional encodings the Transformer may use.</summary>
    public static readonly string[] PositionKinds = ["sinusoidal", "learned"];

    /// <summary>"gru": a bidirectional GRU and a GRU cell with Bahdanau attention; "transformer": <see cref="TransformerTranslator"/>.</summary>
    public string Model { get; init; } = "gru";
    public int TrainSize { get; init; } = 20_000;
    /// <summary>Held-out pairs, of dates never seen in training, for the exact-match accuracies.</summary>
    public int HeldOutSize { get; init; } = 1_000;
    public int Epochs { get; init; } = 2;   // one reaches about 99% held out, the second the rest
    public int BatchSize { get; init; } = 64;
    public int Embedding { get; init; } = 32;
    /// <summary>Each direction of the bidirectional GRU.</summary>
    public int EncoderHidden { get; init; } = 64;
    public int DecoderHidden { get; init; } = 128;
    public int AttentionHidden { get; init; } = 64;
    public double Lr { get; init; } = 3e-3;
    /// <summary>Gradients are rescaled to this global norm at most: recurrent gradients can explode.</summary>
    public double MaxGradNorm { get; init; } = 1.0;
    /// <summary>The 1cycle policy (OneCycleLR, stepped every batch) with <see cref="Lr"/> as its peak, rather than a constant lr.</summary>
    public bool OneCycle { get; init; }
    public int BeamWidth { get; init; } = 5;
    /// <summary>The Transformer's width (dModel), heads, encoder and decoder layers, dropout and positions.</summary>
    public int Width { get; init; } = 64;
    public int Heads { get; init; } = 4;
    public int Layers { get; init; } = 2;
    /// <summary>None: three epochs over 20,000 pairs leave little to overfit, and dropout slowed the learning.</summary>
    public double Dropout { get; init; } = 0;
    /// <summary>"learned" (an embedding per position) or "sinusoidal" (fixed); learned did slightly better on the held-out dates.</summary>
    public string Positions { get; init; } = "learned";
    /// <summary>Seed of the weights and the shuffling, and of the training data (the held-out data uses seed + 1).</summary>
    public int Seed { get; init; } = 0;

    /// <summary>The defaults of <paramref name="model"/>: the GRU's above, or the Transformer's epochs and learning rate.</summary>
    public static DatesSettings For(string model) => model switch
    {
        "gru" => new DatesSettings(),
        // A constant lr needed twice the epochs: 1cycle's warm-up allows a higher peak, and its decay settles the last digits.
        "transformer" => new DatesSettings { Model = model, Epochs = 3, Lr = 3e-3, OneCycle = true },
        _ => throw new ArgumentException($"dates: the model is one of {string.Join(", ", Models)}, not \"{model}\""),
    };
}

/// <summary>One held-out source, the format that wrote it, its ISO form, and the greedy and beam translations.</summary>
public sealed record DateSample(string Source, string Format, string Target, string Greedy, string Beam, double GreedyLogProbability, double BeamLogProbability);

/// <summary>
/// What training gives back: the loss of every step, held-out exact-match accuracy of greedy and
/// beam decoding, every held-out translation, the seconds spent training, and the trained model
/// with its vocabularies (to translate more, or to look at its attention).
/// </summary>
public sealed record DatesResult(double[] Losses, double GreedyAccuracy, double BeamAccuracy, DateSample[] HeldOut, double TrainSeconds,
    ISequenceTranslator Model, CharVocabulary Source, CharVocabulary Target)
{
    /// <summary>The greedy translation of <paramref name="text"/>, its attention [output tokens, input characters], and the output tokens as text (the end token included).</summary>
    public (string Output, float[,] Weights, string[] Labels) Translate(string text)
    {
        var (ids, lengths) = Source.Batch([text]);
        var translation = Model.Greedy(ids, lengths, DatesExample.MaxOutputLength);
        var tokens = translation.Outputs[0];
        var weights = translation.Weights[0].Narrow(0, 0, tokens.Length).ToArray<float>();
        var grid = new float[tokens.Length, text.Length];
        Buffer.BlockCopy(weights, 0, grid, 0, weights.Length * sizeof(float));
        return (Target.Decode(tokens), grid, [.. tokens.Select(Target.Token)]);
    }

    /// <summary>
    /// The greedy translation of <paramref name="text"/> by the Transformer, the attention over the
    /// input of each head of its last decoder layer ([output tokens, input characters] per head),
    /// and the output tokens as text (the end token included).
    /// </summary>
    public (string Output, float[][,] Heads, string[] Labels) HeadAttention(string text)
    {
        if (Model is not TransformerTranslator transformer) throw new InvalidOperationException("dates: only the Transformer has attention heads");
        var (ids, _) = Source.Batch([text]);
        var tokens = transformer.Greedy(ids, DatesExample.MaxOutputLength).Outputs[0];
        long[] read = [CharVocabulary.Start, .. tokens[..^1]];                                  // what the decoder read before each output
        var weights = transformer.CrossAttentionWeights(ids, Tensor.From(read, [1, read.Length]))[0];   // [H, T, S]
        var heads = new float[weights.Shape[0]][,];
        for (int h = 0; h < heads.Length; h++)
        {
            heads[h] = new float[tokens.Length, text.Length];
            Buffer.BlockCopy(weights[h].ToArray<float>(), 0, heads[h], 0, tokens.Length * text.Length * sizeof(float));
        }
        return (Target.Decode(tokens), heads, [.. tokens.Select(Target.Token)]);
    }
}

/// <summary>
/// Sequence-to-sequence with attention on a task small enough to train in minutes and checkable
/// character by character: reading dates in sixteen human formats ("Sunday, May 3, 1998",
/// "03.05.98", "the 3rd of may, 1998") and writing them in ISO 8601 ("1998-05-03"). Trained with
/// teacher forcing and cross-entropy; decoded greedily and by beam search; scored by exact match on
/// dates never seen in training; the attention of one example is printed as a grid.
/// </summary>
public static class DatesExample
{
    /// <summary>The ISO form is always 10 characters; one more step for the end token.</summary>
    public const int MaxOutputLength = 11;

    /// <summary>The Transformer's position table: the longest generated source has 29 characters, and --translate may give longer.</summary>
    const int MaxPositions = 64;

    public static Command Command()
    {
        var d = new DatesSettings();
        var t = DatesSettings.For("transformer");
        var model = new Option<string>("--model") { Description = "The translator: a GRU with attention, or a Transformer", DefaultValueFactory = _ => d.Model };
        model.AcceptOnlyFromAmong(DatesSettings.Models);
        var epochs = new Option<int?>("--epochs") { Description = $"Passes over the training pairs [default: {d.Epochs} for gru, {t.Epochs} for transformer]" };
        var trainSize = new Option<int>("--train-size") { Description = "Generated training pairs", DefaultValueFactory = _ => d.TrainSize };
        var heldOut = new Option<int>("--held-out") { Description = "Generated held-out pairs (dates never seen in training)", DefaultValueFactory = _ => d.HeldOutSize };
        var beamWidth = new Option<int>("--beam-width") { Description = "Hypotheses kept by beam search", DefaultValueFactory = _ => d.BeamWidth };
        var lr = new Option<double?>("--lr") { Description = FormattableString.Invariant($"Adam's learning rate [default: {d.Lr} for gru, {t.Lr} for transformer]") };
        var positions = new Option<string>("--positions") { Description = "The Transformer's positional encoding", DefaultValueFactory = _ => t.Positions };
        positions.AcceptOnlyFromAmong(DatesSettings.PositionKinds);
        var seed = new Option<int>("--seed") { Description = "Seed of the data, the initial weights and the shuffling", DefaultValueFactory = _ => d.Seed };
        var output = new Option<string>("--output") { Description = "Folder for attention.png (gru) or attention-heads.png (transformer)", DefaultValueFactory = _ => Path.Combine("out", "dates") };
        var translate = new Option<string[]>("--translate") { Description = "More dates to translate after training", AllowMultipleArgumentsPerToken = true };
        OptionRules.Positive(trainSize, heldOut, beamWidth);
        OptionRules.Require(epochs, v => v is null or > 0, "--epochs must be positive");
        OptionRules.Require(lr, v => v is null or > 0, "--lr must be positive");
        var command = new Command("dates", "Seq2seq with attention: dates in many human formats to ISO 8601, greedy and beam search, an attention grid")
            { model, epochs, trainSize, heldOut, beamWidth, lr, positions, seed, output, translate };
        command.SetAction(parse =>
        {
            var defaults = DatesSettings.For(parse.GetValue(model)!);
            var settings = defaults with
            {
                Epochs = parse.GetValue(epochs) ?? defaults.Epochs, TrainSize = parse.GetValue(trainSize), HeldOutSize = parse.GetValue(heldOut),
                BeamWidth = parse.GetValue(beamWidth), Lr = parse.GetValue(lr) ?? defaults.Lr, Positions = parse.GetValue(positions)!, Seed = parse.GetValue(seed),
            };
            Run(settings, parse.GetValue(output)!, parse.GetValue(translate) ?? []);
            return 0;
        });
        return command;
    }

    static void Run(DatesSettings settings, string outputFolder, string[] extra)
    {
        var clock = Stopwatch.StartNew();
        var result = Train(settings, Console.WriteLine);
        Console.WriteLine("Held-out samples (source → greedy | beam):");
        foreach (var s in result.HeldOut.Take(12))
            Console.WriteLine($"  {s.Source,-32} → {s.Greedy} | {s.Beam}{(s.Beam == s.Target ? "" : "   ✗ " + s.Target)}");
        var wrong = result.HeldOut.Where(s => s.Beam != s.Target).Take(5).ToList();
        if (wrong.Count > 0)
        {
            Console.WriteLine("Some beam errors (source → beam, expected):");
            foreach (var s in wrong) Console.WriteLine($"  {s.Source,-32} → {s.Beam}, expected {s.Target}");
        }
        if (extra.Length > 0) Console.WriteLine("--translate (greedy):");
        foreach (var text in extra) Console.WriteLine($"  {text,-32} → {result.Translate(text).Output}");

        var example = result.HeldOut.FirstOrDefault(s => s.Format == "dddd, MMMM d, yyyy")?.Source ?? result.HeldOut[0].Source;
        var (outputText, weights, labels) = result.Translate(example);
        string which = settings.Model == "transformer" ? "the last decoder layer's attention over the input, averaged over heads" : "attention";
        Console.WriteLine($"{which} of \"{example}\" → {outputText} (rows: output characters, columns: input; a digit d is a weight of at least d/10, '.' below 0.1):");
        Console.Write(AttentionGrid.Text(weights, example, labels));
        Directory.CreateDirectory(outputFolder);
        if (settings.Model == "transformer")
        {
            var (_, heads, headLabels) = result.HeadAttention(example);
            string png = Path.Combine(outputFolder, "attention-heads.png");
            AttentionGrid.SaveHeadsPng(heads, example, headLabels, png);
            Console.WriteLine($"each head's heatmap saved to {png}");
        }
        else
        {
            string png = Path.Combine(outputFolder, "attention.png");
            AttentionGrid.SavePng(weights, example, labels, png);
            Console.WriteLine($"heatmap saved to {png}");
        }
        Console.WriteLine(Invariant($"held-out exact match: greedy {100 * result.GreedyAccuracy:F1}%, beam (width {settings.BeamWidth}) {100 * result.BeamAccuracy:F1}%;  training {result.TrainSeconds:F1} s, wall time {clock.Elapsed.TotalSeconds:F1} s"));
    }

    /// <summary>Trains as <paramref name="settings"/> say and evaluates on the held-out dates.</summary>
    public static DatesResult Train(DatesSettings settings, Action<string>? log = null)
    {
        var train = DateFormats.Generate(settings.TrainSize, settings.Seed);
        var heldOut = DateFormats.Generate(settings.HeldOutSize, settings.Seed + 1, heldOut: true);
        var source = new CharVocabulary(train.Select(p => p.Source));
        var target = new CharVocabulary(["0123456789-"]);
        var generator = new Generator((ulong)settings.Seed);
        ISequenceTranslator model = settings.Model switch
        {
            "gru" => new DateTranslator(source.Count, target.Count, settings.Embedding, settings.EncoderHidden, settings.DecoderHidden, settings.AttentionHidden, generator),
            "transformer" => new TransformerTranslator(source.Count, target.Count, CharVocabulary.Pad, CharVocabulary.Start, CharVocabulary.End,
                new TransformerShape(settings.Width, settings.Heads, settings.Layers, settings.Dropout, MaxPositions, settings.Positions == "learned"), generator),
            _ => throw new ArgumentException($"dates: the model is one of {string.Join(", ", DatesSettings.Models)}, not \"{settings.Model}\""),
        };
        var parameters = model.Parameters().ToList();
        var optimizer = new Adam(parameters, settings.Lr);
        int stepsPerEpoch = (train.Length + settings.BatchSize - 1) / settings.BatchSize;
        var schedule = settings.OneCycle ? new OneCycleLR(optimizer, settings.Lr, epochs: settings.Epochs, stepsPerEpoch: stepsPerEpoch) : null;
        log?.Invoke(Invariant($"{train.Length:N0} training pairs, {heldOut.Length:N0} held out (other dates), {DateFormats.All.Count} formats, {source.Count} source tokens, {target.Count} target tokens"));
        string description = settings.Model == "gru"
            ? Invariant($"embedding {settings.Embedding}, bidirectional GRU {settings.EncoderHidden}×2, GRU cell {settings.DecoderHidden}, Bahdanau attention {settings.AttentionHidden}")
            : Invariant($"Transformer width {settings.Width}, {settings.Heads} heads, {settings.Layers}+{settings.Layers} layers, dropout {settings.Dropout}, {settings.Positions} positions");
        log?.Invoke(Invariant($"{description}, {parameters.Sum(p => p.Numel):N0} parameters; batch {settings.BatchSize}, Adam lr {settings.Lr}"));

        var losses = new List<double>();
        var clock = Stopwatch.StartNew();
        for (int epoch = 1; epoch <= settings.Epochs; epoch++)
        {
            int firstStep = losses.Count;
            model.Train();                                                                         // the probe below decodes in eval mode
            foreach (var batch in new BatchSampler(new RandomSampler(train.Length, generator: generator), settings.BatchSize, dropLast: false))
            {
                var (ids, lengths) = source.Batch([.. batch.Select(i => train[i].Source)]);
                var (framed, _) = target.Batch([.. batch.Select(i => train[i].Target)], frame: true);
                var logits = model.Forward(ids, lengths, framed);                                          // [B, T, V]
                var expected = framed.Narrow(1, 1, framed.Shape[1] - 1).Reshape(-1);                      // the next character at each step
                var loss = Losses.CrossEntropy(logits.Reshape(-1, target.Count), expected, ignoreIndex: CharVocabulary.Pad);
                optimizer.ZeroGrad();
                loss.Backward();
                ClipGrad.ClipGradNorm(parameters, settings.MaxGradNorm);
                optimizer.Step();
                schedule?.Step();
                losses.Add(loss.Item<float>());
            }
            var probe = Greedy(model, source, target, heldOut.Take(200).ToArray());
            log?.Invoke(Invariant($"epoch {epoch}/{settings.Epochs}  mean loss {losses.Skip(firstStep).Average():F4}  greedy exact match on {probe.Length} held out {100.0 * probe.Count(p => p.Output == p.Pair.Target) / probe.Length:F1}%  {clock.Elapsed.TotalSeconds:F1} s"));
        }
        double trainSeconds = clock.Elapsed.TotalSeconds;

        var greedy = Greedy(model, source, target, heldOut);
        var samples = new DateSample[heldOut.Length];
        for (int i = 0; i < heldOut.Length; i++)
        {
            var (ids, lengths) = source.Batch([heldOut[i].Source]);
            var best = model.Beam(ids, lengths[0], settings.BeamWidth, MaxOutputLength)[0];
            samples[i] = new DateSample(heldOut[i].Source, heldOut[i].Format, heldOut[i].Target, greedy[i].Output, target.Decode(best.Tokens), greedy[i].LogProbability, best.LogProbability);
        }

        return new DatesResult([.. losses], samples.Count(s => s.Greedy == s.Target) / (double)samples.Length,
            samples.Count(s => s.Beam == s.Target) / (double)samples.Length, samples, trainSeconds, model, source, target);
    }

    /// <summary>Greedy translations of <paramref name="pairs"/>, in batches of 256, with their summed log-probabilities.</summary>
    static (DatePair Pair, string Output, double LogProbability)[] Greedy(ISequenceTranslator model, CharVocabulary source, CharVocabulary target, DatePair[] pairs) =>
        [.. pairs.Chunk(256).SelectMany(chunk =>
        {
            var (ids, lengths) = source.Batch([.. chunk.Select(p => p.Source)]);
            var translation = model.Greedy(ids, lengths, MaxOutputLength);
            return chunk.Select((p, i) => (p, target.Decode(translation.Outputs[i]), translation.LogProbabilities[i]));
        })];

    static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
