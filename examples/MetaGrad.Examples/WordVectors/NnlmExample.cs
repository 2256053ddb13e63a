using System.CommandLine;
using System.Globalization;
using System.Text;
using MetaGrad.Data;
using MetaGrad.NN;
using MetaGrad.Optim;
using MetaGrad.Training;

namespace MetaGrad.Examples;

/// <summary>A run of the neural language model: context length, sizes, optimizer, and how much of the corpus.</summary>
public sealed record NnlmSettings
{
    /// <summary>Characters of context: the model predicts the next from the previous this-many.</summary>
    public int Context { get; init; } = 4;
    public int Embedding { get; init; } = 32;
    public int Hidden { get; init; } = 128;
    public int Epochs { get; init; } = 4;   // held-out perplexity bottoms out near here; later epochs only memorise
    public int BatchSize { get; init; } = 128;
    public double Lr { get; init; } = 1e-3;
    public ulong Seed { get; init; } = 0;
    /// <summary>Every this-many-th poem is held out for the perplexity.</summary>
    public int HoldOutEvery { get; init; } = 10;
    /// <summary>Train and evaluate on the first this-many poems only (null: all), for quick runs.</summary>
    public int? MaxPoems { get; init; }
}

/// <summary>Held-out perplexity before training and after each epoch, and text generated from the seed.</summary>
public sealed record NnlmResult(int VocabularySize, double InitialPerplexity, double[] Perplexities, string Generated);

/// <summary>
/// Bengio et al. (2003)'s feed-forward neural language model at character level: the previous n
/// characters are embedded, their vectors concatenated, a tanh hidden layer reads them and a linear
/// layer scores the next character (softmax over the vocabulary). Trained with Adam on the verses of
/// tang300, every tenth poem held out for perplexity; then it continues a seed greedily.
/// </summary>
public static class NnlmExample
{
    public static Command Command()
    {
        var d = new NnlmSettings();
        var epochs = new Option<int>("--epochs") { Description = "Passes over the training verses", DefaultValueFactory = _ => d.Epochs };
        var hidden = new Option<int>("--hidden") { Description = "Hidden layer size", DefaultValueFactory = _ => d.Hidden };
        var lr = new Option<double>("--lr") { Description = "Adam's learning rate", DefaultValueFactory = _ => d.Lr };
        var seed = new Option<ulong>("--seed") { Description = "Seed of the initial weights and the shuffling", DefaultValueFactory = _ => d.Seed };
        var prompt = new Option<string>("--prompt") { Description = "Seed text to continue (its last 4 characters are the context)", DefaultValueFactory = _ => "床前明月" };
        var data = new Option<string?>("--data") { Description = "The tang300.txt file [default: the shipped data/tang300/tang300.txt]" };
        OptionRules.Positive(epochs, hidden);
        OptionRules.Positive(lr);
        var command = new Command("nnlm", "Bengio's feed-forward neural language model on Tang verse characters: held-out perplexity, then a continuation")
            { epochs, hidden, lr, seed, prompt, data };
        command.SetAction(parse =>
        {
            var settings = d with { Epochs = parse.GetValue(epochs), Hidden = parse.GetValue(hidden), Lr = parse.GetValue(lr), Seed = parse.GetValue(seed) };
            if (TangCorpus.LoadOrReport(parse.GetValue(data)) is not { } corpus) return 1;
            var text = parse.GetValue(prompt)!;
            if (text.Length < settings.Context || text.Any(c => !corpus.Ids.ContainsKey(c)))
            {
                Console.Error.WriteLine($"--prompt needs at least {settings.Context} characters, all of them in the corpus");
                return 1;
            }
            var result = Train(corpus, settings, text, Console.WriteLine);
            Console.WriteLine($"{text} → {result.Generated.Replace(TangCorpus.LineBreak.ToString(), " / ")}");
            return 0;
        });
        return command;
    }

    /// <summary>Trains as <paramref name="settings"/> say, then continues <paramref name="prompt"/> by 20 characters.</summary>
    public static NnlmResult Train(TangCorpus corpus, NnlmSettings settings, string prompt = "床前明月", Action<string>? log = null)
    {
        var poems = corpus.Poems.Take(settings.MaxPoems ?? int.MaxValue).ToList();
        bool HeldOut(int i) => i % settings.HoldOutEvery == settings.HoldOutEvery - 1;
        var (trainX, trainY) = Windows(corpus, poems.Where((_, i) => !HeldOut(i)), settings.Context);
        var (heldX, heldY) = Windows(corpus, poems.Where((_, i) => HeldOut(i)), settings.Context);
        int vocabulary = corpus.Vocabulary.Length;

        var generator = new Generator(settings.Seed);
        var model = new Nnlm(vocabulary, settings.Context, settings.Embedding, settings.Hidden, generator);
        var optimizer = new Adam(model.Parameters(), settings.Lr);
        log?.Invoke(Invariant($"{trainY.Shape[0]:N0} training windows, {heldY.Shape[0]:N0} held out, {vocabulary:N0} distinct characters; context {settings.Context}, embedding {settings.Embedding}, hidden {settings.Hidden}"));

        double Perplexity()
        {
            using var _ = Autograd.NoGrad();
            return Math.Exp(Losses.CrossEntropy(model.Forward(heldX), heldY).Item<float>());
        }
        double initial = Perplexity();
        log?.Invoke(Invariant($"before training  held-out perplexity {initial:F1}"));
        var perplexities = new List<double>();
        for (int epoch = 1; epoch <= settings.Epochs; epoch++)
        {
            var meter = new EpochMeter((trainY.Shape[0] + settings.BatchSize - 1) / settings.BatchSize);
            foreach (var batch in new BatchSampler(new RandomSampler(trainY.Shape[0], generator: generator), settings.BatchSize, dropLast: false))
            {
                var rows = Tensor.From(batch.Select(i => (long)i).ToArray());
                var loss = Losses.CrossEntropy(model.Forward(trainX.IndexSelect(0, rows)), trainY.IndexSelect(0, rows));
                optimizer.ZeroGrad();
                loss.Backward();
                optimizer.Step();
                meter.Step(loss.Item<float>(), batch.Length);
            }
            perplexities.Add(Perplexity());
            log?.Invoke(Invariant($"epoch {epoch}/{settings.Epochs}  train perplexity {Math.Exp(meter.MeanBatchLoss),7:F1}  held-out perplexity {perplexities[^1],7:F1}"));
        }
        return new NnlmResult(vocabulary, initial, [.. perplexities], model.Continue(corpus, prompt, 20));
    }

    /// <summary>Every character of the poems (in order, as one stream) with the n before it: contexts [N, n] and targets [N].</summary>
    static (Tensor Contexts, Tensor Targets) Windows(TangCorpus corpus, IEnumerable<string> poems, int n)
    {
        var ids = corpus.Encode(poems);
        int count = ids.Length - n;
        var contexts = new long[count * n];
        for (int i = 0; i < count; i++) Array.Copy(ids, i, contexts, i * n, n);
        return (Tensor.From(contexts, [count, n]), Tensor.From(ids[n..]));
    }

    static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);

    /// <summary>Embedding of each context character → concatenation → tanh(Linear) → Linear: next-character logits.</summary>
    sealed class Nnlm(int vocabulary, int context, int embedding, int hidden, Generator generator)
    {
        readonly Embedding _embedding = new(vocabulary, embedding, generator: generator);
        readonly Linear _hidden = new(context * embedding, hidden, generator: generator);
        readonly Linear _output = new(hidden, vocabulary, generator: generator);

        public IEnumerable<Tensor> Parameters() => _embedding.Parameters().Concat(_hidden.Parameters()).Concat(_output.Parameters());

        /// <summary>Logits [N, V] for contexts [N, n].</summary>
        public Tensor Forward(Tensor contexts)
        {
            var x = _embedding.Forward(contexts);                    // [N, n, E]
            x = x.Reshape(x.Shape[0], -1);                           // the n vectors side by side: word order matters
            return _output.Forward(_hidden.Forward(x).Tanh());
        }

        /// <summary><paramref name="count"/> characters after <paramref name="prompt"/>, each the most likely given the n before it.</summary>
        public string Continue(TangCorpus corpus, string prompt, int count)
        {
            using var _ = Autograd.NoGrad();
            var ids = prompt.Select(c => (long)corpus.Ids[c]).ToList();
            var text = new StringBuilder();
            for (int i = 0; i < count; i++)
            {
                var window = Tensor.From(ids.TakeLast(context).ToArray(), [1, context]);
                long next = Forward(window).ArgMax(1).Item<long>();
                ids.Add(next);
                text.Append(corpus.Vocabulary[next]);
            }
            return text.ToString();
        }
    }
}
