using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using MetaGrad.Data;
using MetaGrad.IO;
using MetaGrad.NN;
using MetaGrad.Optim;
using MetaGrad.TensorBoard;
using MetaGrad.Training;

namespace MetaGrad.Examples;

/// <summary>A run: the model's size, the chunks it trains on, the optimizer and the sampling.</summary>
public sealed record PoetrySettings
{
    /// <summary>"lstm" (<c>poetry</c>) or "gpt" (<c>gpt</c>, a decoder-only Transformer, <see cref="CharGpt"/>).</summary>
    public string Model { get; init; } = "lstm";
    /// <summary>Transformer layers and heads (gpt only); its width is <see cref="Hidden"/>.</summary>
    public int Layers { get; init; } = 2;
    public int Heads { get; init; } = 4;
    /// <summary>Sampling draws from the k likeliest characters only (null: from all).</summary>
    public int? TopK { get; init; }
    public int Epochs { get; init; } = 8;   // held-out perplexity bottoms out near here; later epochs only memorise
    public int Embedding { get; init; } = 64;
    public int Hidden { get; init; } = 256;
    public int SeqLen { get; init; } = 48;
    public int BatchSize { get; init; } = 32;
    public double Lr { get; init; } = 5e-3;
    /// <summary>Gradients are rescaled to this global norm at most: recurrent gradients can explode.</summary>
    public double MaxGradNorm { get; init; } = 1.0;
    /// <summary>Dropout on the embeddings and the LSTM's outputs: 25,000 characters of 2,500 kinds overfit fast.</summary>
    public double Dropout { get; init; } = 0.3;
    public double Temperature { get; init; } = 0.8;
    public ulong Seed { get; init; } = 0;
    /// <summary>Every this-many-th poem is held out for the perplexity.</summary>
    public int HoldOutEvery { get; init; } = 10;
    /// <summary>Train and evaluate on the first this-many poems only (null: all), for quick runs.</summary>
    public int? MaxPoems { get; init; }
    /// <summary>Decoupled weight decay (AdamW) when above 0, else plain Adam.</summary>
    public double WeightDecay { get; init; }
    /// <summary>Cosine annealing of the learning rate over the epochs, down to a tenth (else constant).</summary>
    public bool Cosine { get; init; }
    /// <summary>gpt only: weights loaded (safetensors, PyTorch's names) before training; with 0 epochs the model is only measured and sampled.</summary>
    public string? LoadPath { get; init; }
    /// <summary>gpt only: where the trained weights are saved as safetensors, with PyTorch's names.</summary>
    public string? SavePath { get; init; }
    /// <summary>Stop once the held-out perplexity has not improved for this many epochs (null: never).</summary>
    public int? Patience { get; init; }
    /// <summary>Log the run for TensorBoard in this folder (null: not).</summary>
    public string? TensorBoardDir { get; init; }
}

/// <summary>What training gives back: held-out perplexity before training and after each epoch, and sampled verses.</summary>
public sealed record PoetryResult(int VocabularySize, double InitialPerplexity, double[] Perplexities, double[] EpochSeconds,
    string[] FiveCharVerses, string[] SevenCharVerses);

/// <summary>
/// A character-level language model of Tang verse: each character is embedded, an LSTM reads the
/// line so far, a linear layer scores the next character. Trained on fixed-length chunks of the
/// verses with Adam and gradient clipping; every tenth poem is held out to measure perplexity;
/// then it writes new five- and seven-character verses, sampling from softmax(logits / T).
/// </summary>
public static class PoetryExample
{
    public static Command Command()
    {
        var d = new PoetrySettings();
        var epochs = new Option<int>("--epochs") { Description = "Passes over the training verses", DefaultValueFactory = _ => d.Epochs };
        var hidden = new Option<int>("--hidden") { Description = "LSTM hidden size", DefaultValueFactory = _ => d.Hidden };
        var seqLen = new Option<int>("--seq-len") { Description = "Characters per training chunk", DefaultValueFactory = _ => d.SeqLen };
        var batchSize = new Option<int>("--batch-size") { Description = "Chunks per batch", DefaultValueFactory = _ => d.BatchSize };
        var lr = new Option<double>("--lr") { Description = "Adam's learning rate", DefaultValueFactory = _ => d.Lr };
        var temperature = new Option<double>("--temperature") { Description = "Sampling temperature: lower is safer, higher is wilder", DefaultValueFactory = _ => d.Temperature };
        var seed = new Option<ulong>("--seed") { Description = "Seed of the initial weights, the shuffling and the sampling", DefaultValueFactory = _ => d.Seed };
        var data = new Option<string?>("--data") { Description = "The tang300.txt file [default: the shipped data/tang300/tang300.txt]" };
        OptionRules.Positive(epochs, hidden, seqLen, batchSize);
        OptionRules.Positive(lr, temperature);
        var command = new Command("poetry", "A character-level LSTM on Tang poems: held-out perplexity, then new five- and seven-character verses")
            { epochs, hidden, seqLen, batchSize, lr, temperature, seed, data };
        return WithAction(command, d, epochs, hidden, seqLen, batchSize, lr, temperature, seed, data);
    }

    /// <summary>The <c>gpt</c> command: the same corpus, split and sampling with a decoder-only Transformer.</summary>
    public static Command GptCommand()
    {
        var d = GptDefaults;
        var epochs = new Option<int>("--epochs") { Description = "Passes over the training verses", DefaultValueFactory = _ => d.Epochs };
        var hidden = new Option<int>("--width") { Description = "Model width (d_model)", DefaultValueFactory = _ => d.Hidden };
        var seqLen = new Option<int>("--context") { Description = "Characters of context (training chunk length)", DefaultValueFactory = _ => d.SeqLen };
        var batchSize = new Option<int>("--batch-size") { Description = "Chunks per batch", DefaultValueFactory = _ => d.BatchSize };
        var lr = new Option<double>("--lr") { Description = "Adam's learning rate", DefaultValueFactory = _ => d.Lr };
        var temperature = new Option<double>("--temperature") { Description = "Sampling temperature: lower is safer, higher is wilder", DefaultValueFactory = _ => d.Temperature };
        var seed = new Option<ulong>("--seed") { Description = "Seed of the initial weights, the shuffling and the sampling", DefaultValueFactory = _ => d.Seed };
        var data = new Option<string?>("--data") { Description = "The tang300.txt file [default: the shipped data/tang300/tang300.txt]" };
        var layers = new Option<int>("--layers") { Description = "Transformer layers", DefaultValueFactory = _ => d.Layers };
        var dropout = new Option<double>("--dropout") { Description = "Dropout after the embeddings, in attention and in the feed-forward layers", DefaultValueFactory = _ => d.Dropout };
        var save = new Option<string?>("--save") { Description = "Save the trained weights here (safetensors, PyTorch's parameter names)", DefaultValueFactory = _ => Path.Combine("out", "gpt", "gpt.safetensors") };
        var cosine = new Option<bool>("--cosine") { Description = "Anneal the learning rate along a cosine to a tenth over the epochs", DefaultValueFactory = _ => d.Cosine };
        var weightDecay = new Option<double>("--weight-decay") { Description = "AdamW's decoupled weight decay (0: Adam)", DefaultValueFactory = _ => d.WeightDecay };
        var load = new Option<string?>("--load") { Description = "Start from weights saved by --save (with --epochs 0: measure and sample only)" };
        OptionRules.Positive(hidden, seqLen, batchSize, layers);
        OptionRules.Positive(lr, temperature);
        OptionRules.Require(epochs, v => v >= 0, "--epochs must be 0 or more (0: only measure and sample, with --load)");
        OptionRules.Require(dropout, v => v is >= 0 and < 1, "--dropout must be in [0, 1)");
        OptionRules.Require(weightDecay, v => v >= 0, "--weight-decay must be 0 or more");
        var command = new Command("gpt", "A character-level decoder-only Transformer on Tang poems: held-out perplexity beside the LSTM's, then new verses (top-k sampling)")
            { epochs, hidden, seqLen, batchSize, lr, temperature, seed, data, layers, dropout, weightDecay, cosine, save, load };
        return WithAction(command, d, epochs, hidden, seqLen, batchSize, lr, temperature, seed, data,
            parse => d with { Layers = parse.GetValue(layers), Dropout = parse.GetValue(dropout), SavePath = parse.GetValue(save), LoadPath = parse.GetValue(load),
                WeightDecay = parse.GetValue(weightDecay), Cosine = parse.GetValue(cosine) });
    }

    /// <summary>
    /// The gpt command's settings: 2 layers of width 256 and 4 heads over 48 characters, top-8 sampling.
    /// Strong weight decay with light dropout regularises this small corpus best, and held-out
    /// perplexity is lowest near epoch 12 (the sweep behind these values is in the README).
    /// </summary>
    public static PoetrySettings GptDefaults { get; } = new()
    {
        Model = "gpt", Hidden = 256, Layers = 2, Heads = 4, SeqLen = 48, Dropout = 0.2, WeightDecay = 1.0, Lr = 7e-4, Epochs = 12, TopK = 8,
    };

    static Command WithAction(Command command, PoetrySettings d, Option<int> epochs, Option<int> hidden, Option<int> seqLen, Option<int> batchSize,
        Option<double> lr, Option<double> temperature, Option<ulong> seed, Option<string?> data, Func<ParseResult, PoetrySettings>? more = null)
    {
        string logFolder = Path.Combine("out", d.Model == "gpt" ? "gpt" : "poetry", "tb");
        var watch = new WatchOptions(command, "held-out perplexity", logFolder);
        command.SetAction(parse =>
        {
            var settings = (more?.Invoke(parse) ?? d) with
            {
                Epochs = parse.GetValue(epochs), Hidden = parse.GetValue(hidden), SeqLen = parse.GetValue(seqLen),
                BatchSize = parse.GetValue(batchSize), Lr = parse.GetValue(lr), Temperature = parse.GetValue(temperature), Seed = parse.GetValue(seed),
                Patience = parse.GetValue(watch.Patience),
                TensorBoardDir = parse.GetValue(watch.TensorBoard) ? logFolder : null,
            };
            return Run(settings, parse.GetValue(data));
        });
        return command;
    }

    public static int Run(PoetrySettings settings, string? data)
    {
        if (TangCorpus.LoadOrReport(data) is not { } corpus) return 1;
        var clock = Stopwatch.StartNew();
        var result = Train(corpus, settings, Console.WriteLine);
        Console.WriteLine("Five-character verses:");
        foreach (var verse in result.FiveCharVerses) Console.WriteLine("  " + verse);
        Console.WriteLine("Seven-character verses:");
        foreach (var verse in result.SevenCharVerses) Console.WriteLine("  " + verse);
        Console.WriteLine(Invariant($"wall time {clock.Elapsed.TotalSeconds:F1} s"));
        return 0;
    }

    /// <summary>Trains as <paramref name="settings"/> say, then samples four verses of each length.</summary>
    public static PoetryResult Train(TangCorpus corpus, PoetrySettings settings, Action<string>? log = null)
    {
        var poems = corpus.Poems.Take(settings.MaxPoems ?? int.MaxValue).ToList();
        bool HeldOut(int i) => i % settings.HoldOutEvery == settings.HoldOutEvery - 1;
        var heldOutPoems = poems.Where((_, i) => HeldOut(i)).ToList();
        long[] train = corpus.Encode(poems.Where((_, i) => !HeldOut(i))), heldOut = corpus.Encode(heldOutPoems);
        int vocabulary = corpus.Vocabulary.Length, seqLen = settings.SeqLen;

        var generator = new Generator(settings.Seed);
        ICharModel model = settings.Model == "gpt"
            ? new CharGpt(vocabulary, settings.Hidden, settings.Layers, settings.Heads, seqLen, settings.Dropout, generator)
            : new CharLstm(vocabulary, settings.Embedding, settings.Hidden, settings.Dropout, generator);
        if (settings.LoadPath is not null)
        {
            // Strict: every name and shape must match the model these settings build.
            if (model is not Module module) throw new ArgumentException("--load: only the gpt model saves and loads its weights");
            module.LoadStateDict(Safetensors.Load(settings.LoadPath).Tensors);
            log?.Invoke($"weights loaded from {settings.LoadPath}");
        }
        var parameters = model.Parameters().ToList();
        Optimizer optimizer = settings.WeightDecay > 0 ? new AdamW(parameters, settings.Lr, weightDecay: settings.WeightDecay) : new Adam(parameters, settings.Lr);
        var schedule = settings.Cosine && settings.Epochs > 0 ? new CosineAnnealingLR(optimizer, settings.Epochs, etaMin: settings.Lr / 10) : null;
        log?.Invoke(Invariant($"{poems.Count - heldOutPoems.Count} training poems ({train.Length:N0} characters), {heldOutPoems.Count} held out ({heldOut.Length:N0}), {vocabulary:N0} distinct characters"));
        log?.Invoke(settings.Model == "gpt"
            ? Invariant($"Transformer: {settings.Layers} layers of width {settings.Hidden}, {settings.Heads} heads, context {seqLen}, batch {settings.BatchSize}, {(settings.WeightDecay > 0 ? $"AdamW (weight decay {settings.WeightDecay})" : "Adam")} lr {settings.Lr}{(settings.Cosine ? " (cosine)" : "")}, clip {settings.MaxGradNorm}, dropout {settings.Dropout}, seed {settings.Seed}")
            : Invariant($"embedding {settings.Embedding}, LSTM {settings.Hidden}, chunks of {seqLen}, batch {settings.BatchSize}, Adam lr {settings.Lr}, clip {settings.MaxGradNorm}, dropout {settings.Dropout}, seed {settings.Seed}"));

        double initial = Perplexity(model, heldOut, seqLen);
        log?.Invoke(Invariant($"before training  held-out perplexity {initial:F1}"));
        using var tensorBoard = settings.TensorBoardDir is { } logDir ? new SummaryWriter(logDir) : null;
        tensorBoard?.AddScalar("perplexity/held_out", initial, 0);
        var stopping = settings.Patience is int patience ? new EarlyStopping(patience) : null;
        // Chunk i predicts train[i·L + 1 .. i·L + L] from train[i·L .. i·L + L - 1].
        int chunks = (train.Length - 1) / seqLen;
        int batchesPerEpoch = (chunks + settings.BatchSize - 1) / settings.BatchSize;
        var perplexities = new List<double>();
        var seconds = new List<double>();
        for (int epoch = 1; epoch <= settings.Epochs; epoch++)
        {
            long firstStep = (long)(epoch - 1) * batchesPerEpoch;
            var meter = new EpochMeter(batchesPerEpoch, tensorBoard is null ? null : p => tensorBoard.AddScalar("loss/train_batch", p.Loss, firstStep + p.Batch));
            foreach (var batch in new BatchSampler(new RandomSampler(chunks, generator: generator), settings.BatchSize, dropLast: false))
            {
                var (inputs, targets) = Chunks(train, batch, seqLen);
                var loss = Losses.CrossEntropy(model.Forward(inputs, training: true), targets.Reshape(-1));
                optimizer.ZeroGrad();
                loss.Backward();
                ClipGrad.ClipGradNorm(parameters, settings.MaxGradNorm);
                optimizer.Step();
                meter.Step(loss.Item<float>(), batch.Length);
            }
            schedule?.Step();
            perplexities.Add(Perplexity(model, heldOut, seqLen));
            seconds.Add(meter.Elapsed.TotalSeconds);
            // The mean over batches, each counting once, as this line always showed.
            log?.Invoke(Invariant($"epoch {epoch,2}/{settings.Epochs}  train perplexity (with dropout) {Math.Exp(meter.MeanBatchLoss),7:F1}  held-out perplexity {perplexities[^1],7:F1}  {seconds[^1]:F1} s"));
            tensorBoard?.AddScalar("perplexity/train", Math.Exp(meter.MeanBatchLoss), epoch);
            tensorBoard?.AddScalar("perplexity/held_out", perplexities[^1], epoch);
            tensorBoard?.AddScalar("lr", optimizer.ParamGroups[0].Lr, epoch);
            if (stopping?.Step(perplexities[^1]) == true)
            {
                log?.Invoke($"stopped early: {stopping.Reason}");
                break;
            }
        }

        if (settings.SavePath is not null && model is CharGpt gpt)
        {
            Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(settings.SavePath))!);
            Safetensors.Save(settings.SavePath, gpt.StateDict(), new Dictionary<string, string>
            {
                ["vocabulary"] = vocabulary.ToString(CultureInfo.InvariantCulture), ["width"] = settings.Hidden.ToString(CultureInfo.InvariantCulture),
                ["layers"] = settings.Layers.ToString(CultureInfo.InvariantCulture), ["heads"] = settings.Heads.ToString(CultureInfo.InvariantCulture),
                ["context"] = seqLen.ToString(CultureInfo.InvariantCulture),
            });
            log?.Invoke($"weights saved to {settings.SavePath}");
        }
        var sampler = new Generator(settings.Seed + 1);
        var result = new PoetryResult(vocabulary, initial, [.. perplexities], [.. seconds],
            model.Verses(corpus, 5, 4, settings.Temperature, settings.TopK, sampler), model.Verses(corpus, 7, 4, settings.Temperature, settings.TopK, sampler));
        // Two spaces end a markdown line: one verse a line in TensorBoard's Text tab.
        tensorBoard?.AddText("verses", string.Join("  \n", result.FiveCharVerses.Concat(result.SevenCharVerses)), perplexities.Count);
        if (tensorBoard is not null) log?.Invoke($"logged for TensorBoard to {tensorBoard.LogDir} (tensorboard --logdir {tensorBoard.LogDir})");
        return result;
    }

    /// <summary>The chunks starting at <paramref name="starts"/>·L as inputs [N, L] and, one character on, targets [N, L].</summary>
    static (Tensor Inputs, Tensor Targets) Chunks(long[] text, IReadOnlyList<int> starts, int seqLen)
    {
        var inputs = new long[starts.Count * seqLen];
        var targets = new long[starts.Count * seqLen];
        for (int i = 0; i < starts.Count; i++)
        {
            Array.Copy(text, starts[i] * seqLen, inputs, i * seqLen, seqLen);
            Array.Copy(text, starts[i] * seqLen + 1, targets, i * seqLen, seqLen);
        }
        return (Tensor.From(inputs, [starts.Count, seqLen]), Tensor.From(targets, [starts.Count, seqLen]));
    }

    /// <summary>exp of the mean cross-entropy per character over <paramref name="text"/>, read in chunks each from a zero state.</summary>
    static double Perplexity(ICharModel model, long[] text, int seqLen)
    {
        using var _ = Autograd.NoGrad();
        var (inputs, targets) = Chunks(text, [.. Enumerable.Range(0, (text.Length - 1) / seqLen)], seqLen);
        return Math.Exp(Losses.CrossEntropy(model.Forward(inputs), targets.Reshape(-1)).Item<float>());
    }

    static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);

    /// <summary>Embedding → LSTM → Linear: next-character logits at every position.</summary>
    sealed class CharLstm(int vocabulary, int embedding, int hidden, double dropout, Generator generator) : ICharModel
    {
        readonly Embedding _embedding = new(vocabulary, embedding, generator: generator);
        readonly LSTM _lstm = new(embedding, hidden, batchFirst: true, generator: generator);
        readonly Linear _head = new(hidden, vocabulary, generator: generator);

        public IEnumerable<Tensor> Parameters() => _embedding.Parameters().Concat(_lstm.Parameters()).Concat(_head.Parameters());

        /// <summary>Logits [N·L, V] for character ids [N, L], the LSTM starting from zeros; dropout only when training.</summary>
        public Tensor Forward(Tensor ids, bool training = false)
        {
            var embedded = Functional.Dropout(_embedding.Forward(ids), dropout, training, generator);
            var (output, _) = _lstm.Forward(embedded);
            output = Functional.Dropout(output, dropout, training, generator);
            return _head.Forward(output.Reshape(-1, output.Shape[^1]));
        }

        /// <summary>
        /// <paramref name="lines"/> verses of two <paramref name="chars"/>-character halves, "xxxxx，xxxxx。",
        /// carrying the state from line to line as one poem. Only Chinese characters are drawn inside a
        /// half (the others' probabilities are zeroed); the comma, full stop and line break are fed in,
        /// so every line has the requested length and the model still sees the form it was trained on.
        /// </summary>
        public string[] Verses(TangCorpus corpus, int chars, int lines, double temperature, int? topK, Generator generator)
        {
            using var _ = Autograd.NoGrad();
            (Tensor H, Tensor C)? state = null;
            return VerseWriter.Write(corpus, chars, lines, temperature, topK, generator, id =>
            {
                var (output, next) = _lstm.Forward(_embedding.Forward(Tensor.From(new[] { id }, [1, 1])), state);
                state = next;
                return _head.Forward(output.Reshape(1, -1));
            });
        }
    }
}

/// <summary>A next-character model the poetry examples train and sample from.</summary>
public interface ICharModel
{
    IEnumerable<Tensor> Parameters();

    /// <summary>Logits [N·L, V] for character ids [N, L]; dropout only when training.</summary>
    Tensor Forward(Tensor ids, bool training = false);

    /// <summary>Verses of two halves of <paramref name="chars"/> characters (see <see cref="VerseWriter"/>).</summary>
    string[] Verses(TangCorpus corpus, int chars, int lines, double temperature, int? topK, Generator generator);
}

/// <summary>
/// Writes verses "xxxxx，xxxxx。" from a model fed one character at a time: only Chinese characters
/// are drawn inside a half (the others' probabilities are zeroed), from the <c>topK</c> likeliest when
/// given; the comma, full stop and line break are fed in, so every line has the requested length and
/// the model still sees the form it was trained on.
/// </summary>
internal static class VerseWriter
{
    public static string[] Write(TangCorpus corpus, int chars, int lines, double temperature, int? topK, Generator generator, Func<long, Tensor> step)
    {
        var hanzi = Tensor.From(corpus.Vocabulary.Select(c => char.GetUnicodeCategory(c) == UnicodeCategory.OtherLetter ? 1f : 0f).ToArray(), [corpus.Vocabulary.Length]);
        var logits = step(corpus.Ids[TangCorpus.LineBreak]);   // a poem begins after a line break
        var verses = new string[lines];
        for (int line = 0; line < lines; line++)
        {
            var verse = new StringBuilder();
            foreach (var stop in new[] { '，', '。' })
            {
                for (int i = 0; i < chars; i++)
                {
                    var weights = (logits / temperature).Softmax(1) * hanzi;
                    if (topK is int k)
                    {
                        var kth = weights.TopK(k, 1).Values[.., ^1..];
                        weights = weights * (weights >= kth).To(weights.DType);
                    }
                    long id = weights.Multinomial(1, generator: generator).Item<long>();
                    verse.Append(corpus.Vocabulary[id]);
                    logits = step(id);
                }
                verse.Append(stop);
                logits = step(corpus.Ids[stop]);
            }
            logits = step(corpus.Ids[TangCorpus.LineBreak]);
            verses[line] = verse.ToString();
        }
        return verses;
    }
}
