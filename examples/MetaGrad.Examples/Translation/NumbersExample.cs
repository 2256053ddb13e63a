using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using MetaGrad.NN;
using MetaGrad.Optim;
using MetaGrad.Training;

namespace MetaGrad.Examples;

/// <summary>A run of the numbers translator.</summary>
public sealed record NumbersSettings
{
    public int Epochs { get; init; } = 6;
    /// <summary>Training pairs drawn (with replacement) from the training numbers each epoch.</summary>
    public int PairsPerEpoch { get; init; } = 20_000;
    /// <summary>One number in this many (by a hash of its value) is held out for the scores.</summary>
    public int HoldOutEvery { get; init; } = 20;
    public int HeldOutSize { get; init; } = 1_000;
    public int Width { get; init; } = 64;
    public int Heads { get; init; } = 4;
    public int Layers { get; init; } = 2;
    public int BatchSize { get; init; } = 64;
    public double Lr { get; init; } = 1e-3;
    public double Dropout { get; init; } = 0.1;
    public int BeamWidth { get; init; } = 4;
    /// <summary>Held-out numbers also decoded by beam search (each a search of its own, so fewer).</summary>
    public int BeamSize { get; init; } = 200;
    public ulong Seed { get; init; } = 0;
}

/// <summary>What training gives back: the held-out exact-match accuracy and corpus BLEU of greedy decoding, some translations, the time.</summary>
public sealed record NumbersResult(double ExactMatch, double Bleu, double BeamExactMatch, (int Number, string Source, string Target, string Output)[] Samples, double[] EpochLosses, double Seconds);

/// <summary>
/// A word-level Transformer encoder–decoder (torch.nn.Transformer's shape, batch first) translating
/// English number words into Chinese numerals: "three thousand five hundred and twelve" → 三千五百一十二.
/// Pairs come from code (<see cref="NumberWords"/>); one number in twenty is held out by value;
/// greedy decoding is scored by exact match and by corpus BLEU over characters.
/// </summary>
public static class NumbersExample
{
    const int Pad = 0, Start = 1, End = 2, MaxOutput = 12;   // 九万九千九百九十九 is 9 characters, plus the end
    const int MaxPositions = 32;                               // the longest source has 9 words

    public static Command Command()
    {
        var d = new NumbersSettings();
        var epochs = new Option<int>("--epochs") { Description = "Epochs of generated pairs", DefaultValueFactory = _ => d.Epochs };
        var lr = new Option<double>("--lr") { Description = "Adam's learning rate", DefaultValueFactory = _ => d.Lr };
        var seed = new Option<ulong>("--seed") { Description = "Seed of the weights, the pairs and the shuffling", DefaultValueFactory = _ => d.Seed };
        OptionRules.Positive(epochs);
        OptionRules.Positive(lr);
        var command = new Command("numbers", "A Transformer translating English number words into Chinese numerals: held-out exact match and BLEU") { epochs, lr, seed };
        command.SetAction(parse =>
        {
            var result = Train(d with { Epochs = parse.GetValue(epochs), Lr = parse.GetValue(lr), Seed = parse.GetValue(seed) }, Console.WriteLine);
            foreach (var s in result.Samples) Console.WriteLine($"  {s.Source}  →  {s.Output}{(s.Output == s.Target ? "" : $"   (expected {s.Target})")}");
            return 0;
        });
        return command;
    }

    public static NumbersResult Train(NumbersSettings settings, Action<string>? log = null)
    {
        var clock = Stopwatch.StartNew();
        var words = Enumerable.Range(0, 100_000).SelectMany(n => NumberWords.English(n).Split(' ')).Distinct().OrderBy(w => w, StringComparer.Ordinal).ToList();
        var characters = Enumerable.Range(0, 100_000).SelectMany(NumberWords.Chinese).Distinct().OrderBy(c => c).ToList();
        var sourceIds = words.Select((w, i) => (w, i + 1)).ToDictionary(p => p.w, p => (long)p.Item2);        // 0 is padding
        var targetIds = characters.Select((c, i) => (c, i + 3)).ToDictionary(p => p.c, p => (long)p.Item2);  // 0 pad, 1 start, 2 end
        // One number in HoldOutEvery by a hash of its value (Knuth's multiplicative hash), so the held-out
        // numbers share no pattern of digits (every twentieth by value would all end in 9).
        bool HeldOut(int n) => ((uint)n * 2654435761u >> 16) % (uint)settings.HoldOutEvery == 7;
        var trainNumbers = Enumerable.Range(0, 100_000).Where(n => !HeldOut(n)).ToArray();
        var random = new Random((int)settings.Seed);
        var testNumbers = Enumerable.Range(0, 100_000).Where(HeldOut).OrderBy(_ => random.Next()).Take(settings.HeldOutSize).ToArray();

        var generator = new Generator(settings.Seed);
        var model = new TransformerTranslator(words.Count + 1, characters.Count + 3, Pad, Start, End,
            new TransformerShape(settings.Width, settings.Heads, settings.Layers, settings.Dropout, MaxPositions), generator);
        var optimizer = new Adam(model.Parameters(), settings.Lr);
        log?.Invoke(Invariant($"{trainNumbers.Length:N0} training numbers, {testNumbers.Length:N0} held out; {words.Count} source words, {characters.Count} target characters"));
        log?.Invoke(Invariant($"Transformer width {settings.Width}, {settings.Heads} heads, {settings.Layers}+{settings.Layers} layers, Adam lr {settings.Lr}, {settings.PairsPerEpoch:N0} pairs an epoch"));

        var losses = new List<double>();
        for (int epoch = 1; epoch <= settings.Epochs; epoch++)
        {
            int batches = settings.PairsPerEpoch / settings.BatchSize;
            var meter = new EpochMeter(batches);
            model.Train();
            for (int b = 0; b < batches; b++)
            {
                var numbers = Enumerable.Range(0, settings.BatchSize).Select(_ => trainNumbers[random.Next(trainNumbers.Length)]).ToArray();
                var (source, target) = Batch(numbers, sourceIds, targetIds);
                var input = target[.., ..^1];
                var expected = target[.., 1..];
                var logits = model.Forward(source, input);
                var loss = Losses.CrossEntropy(logits.Reshape(-1, logits.Shape[^1]), expected.Reshape(-1), ignoreIndex: Pad);
                optimizer.ZeroGrad();
                loss.Backward();
                optimizer.Step();
                meter.Step(loss.Item<float>(), settings.BatchSize);
            }
            losses.Add(meter.MeanBatchLoss);
            log?.Invoke(Invariant($"epoch {epoch,2}/{settings.Epochs}  loss {losses[^1]:F4}  {meter.Elapsed.TotalSeconds:F1} s"));
        }

        var (outputs, _) = model.Greedy(Batch(testNumbers, sourceIds, targetIds).Source, MaxOutput);
        var decoded = outputs.Select(ids => new string([.. ids.TakeWhile(id => id != End).Select(id => id >= 3 ? characters[(int)id - 3] : '?')])).ToArray();
        var targets = testNumbers.Select(NumberWords.Chinese).ToArray();
        double exact = decoded.Zip(targets).Count(p => p.First == p.Second) / (double)targets.Length;
        double bleu = Metrics.Bleu([.. decoded.Select(Characters)], [.. targets.Select(t => (IReadOnlyList<IReadOnlyList<string>>)[Characters(t)])]);
        log?.Invoke(Invariant($"held out, greedy: exact match {100 * exact:F2}%, corpus BLEU {100 * bleu:F2}  ({clock.Elapsed.TotalSeconds:F1} s)"));
        int beamCount = Math.Min(settings.BeamSize, testNumbers.Length), beamRight = 0;
        for (int i = 0; i < beamCount; i++)
        {
            var best = model.Beam(Batch([testNumbers[i]], sourceIds, targetIds).Source, settings.BeamWidth, MaxOutput)[0].Tokens;
            if (new string([.. best.Select(id => id >= 3 ? characters[(int)id - 3] : '?')]) == targets[i]) beamRight++;
        }
        double beamExact = beamCount == 0 ? 0 : beamRight / (double)beamCount;
        log?.Invoke(Invariant($"held out, beam of {settings.BeamWidth} on the first {beamCount}: exact match {100 * beamExact:F2}%  ({clock.Elapsed.TotalSeconds:F1} s)"));
        var samples = testNumbers.Take(6).Select((n, i) => (n, NumberWords.English(n), targets[i], decoded[i])).ToArray();
        return new NumbersResult(exact, bleu, beamExact, samples, [.. losses], clock.Elapsed.TotalSeconds);
    }

    static IReadOnlyList<string> Characters(string text) => [.. text.Select(c => c.ToString())];

    // Source word ids [N, S] padded with 0; target [N, T + 2] as start, characters, end, padding.
    static (Tensor Source, Tensor Target) Batch(int[] numbers, Dictionary<string, long> sourceIds, Dictionary<char, long> targetIds)
    {
        var sources = numbers.Select(n => NumberWords.English(n).Split(' ').Select(w => sourceIds[w]).ToArray()).ToArray();
        var targets = numbers.Select(n => NumberWords.Chinese(n).Select(c => targetIds[c]).Prepend(Start).Append(End).ToArray()).ToArray();
        return (Padded(sources), Padded(targets));
    }

    static Tensor Padded(long[][] rows)
    {
        int width = rows.Max(r => r.Length);
        var data = new long[rows.Length * width];
        for (int i = 0; i < rows.Length; i++) rows[i].CopyTo(data, i * width);
        return Tensor.From(data, [rows.Length, width]);
    }

    static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
