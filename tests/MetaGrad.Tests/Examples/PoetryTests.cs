using MetaGrad.Examples;

namespace MetaGrad.Tests.Examples;

/// <summary>The poetry example's core on a slice of tang300 with a tiny model: it must learn and keep the verse form.</summary>
public class PoetryTests
{
    static readonly PoetrySettings Quick = new()
    {
        Epochs = 2, Embedding = 32, Hidden = 64, SeqLen = 24, BatchSize = 16, Lr = 1e-2, MaxPoems = 80,
    };

    [Fact]
    public void Poetry_HeldOutPerplexityFalls_AndVersesHaveTheRequestedLength()
    {
        var corpus = TangCorpus.Load(TangCorpus.FindShipped());
        var result = PoetryExample.Train(corpus, Quick);

        Assert.Equal(Quick.Epochs, result.Perplexities.Length);
        // Untrained, the model is close to uniform over the ~2,500 characters.
        Assert.InRange(result.InitialPerplexity, 0.5 * result.VocabularySize, 2.0 * result.VocabularySize);
        Assert.True(result.Perplexities[^1] < 0.3 * result.InitialPerplexity && result.Perplexities[^1] < 700,
            $"held-out perplexity went from {result.InitialPerplexity:F0} to {string.Join(", ", result.Perplexities.Select(p => p.ToString("F0")))}");

        foreach (var (verses, chars) in new[] { (result.FiveCharVerses, 5), (result.SevenCharVerses, 7) })
        {
            Assert.Equal(4, verses.Length);
            Assert.All(verses, v => Assert.Matches($@"^\p{{Lo}}{{{chars}}}，\p{{Lo}}{{{chars}}}。$", v));
        }
    }

    [Fact]
    public void Gpt_HeldOutPerplexityFalls_AndTopKVersesHaveTheRequestedLength()
    {
        var corpus = TangCorpus.Load(TangCorpus.FindShipped());
        var quick = PoetryExample.GptDefaults with { Epochs = 2, Hidden = 32, Heads = 2, SeqLen = 24, BatchSize = 16, Lr = 3e-3, Dropout = 0.1, MaxPoems = 80, TopK = 5 };
        var result = PoetryExample.Train(corpus, quick);
        Assert.InRange(result.InitialPerplexity, 0.5 * result.VocabularySize, 2.0 * result.VocabularySize);
        Assert.True(result.Perplexities[^1] < 0.4 * result.InitialPerplexity,
            $"held-out perplexity went from {result.InitialPerplexity:F0} to {string.Join(", ", result.Perplexities.Select(p => p.ToString("F0")))}");
        Assert.All(result.SevenCharVerses, v => Assert.Matches(@"^\p{Lo}{7}，\p{Lo}{7}。$", v));
    }

    // Saved with PyTorch's names (nanoGPT's layout: blocks.i.self_attn.in_proj_weight, ...), loaded
    // strictly into a fresh run: the loaded model measures the trained one's held-out perplexity.
    [Fact]
    public void Gpt_WeightsSaveAsSafetensorsWithTorchNames_AndLoadBack()
    {
        using var folder = new TempFolder();
        string path = Path.Combine(folder.Path, "gpt.safetensors");
        var corpus = TangCorpus.Load(TangCorpus.FindShipped());
        var quick = PoetryExample.GptDefaults with { Epochs = 1, Hidden = 32, Heads = 2, Layers = 2, SeqLen = 24, BatchSize = 16, Lr = 3e-3, Dropout = 0.1, MaxPoems = 40, SavePath = path };
        var trained = PoetryExample.Train(corpus, quick);

        var saved = MetaGrad.IO.Safetensors.Load(path);
        foreach (var name in new[] { "token_embedding.weight", "position_embedding.weight", "blocks.0.self_attn.in_proj_weight", "blocks.0.self_attn.out_proj.bias",
            "blocks.1.linear1.weight", "blocks.1.norm2.bias", "norm.weight", "head.weight" })
            Assert.True(saved.Tensors.ContainsKey(name), $"{name} missing from [{string.Join(", ", saved.Tensors.Keys)}]");
        Assert.Equal([24, 32], saved.Tensors["position_embedding.weight"].Shape);
        Assert.Equal("2", saved.Metadata["layers"]);

        var loaded = PoetryExample.Train(corpus, quick with { Epochs = 0, SavePath = null, LoadPath = path });
        Assert.Equal(trained.Perplexities[^1], loaded.InitialPerplexity, 6);
        Assert.True(loaded.InitialPerplexity < 0.7 * trained.InitialPerplexity);
    }

    [Fact]
    public void Gpt_KeyValueCache_GivesTheFullPassLogitsAtEveryPosition()
    {
        {
            var model = new CharGpt(vocabulary: 30, width: 16, layers: 2, heads: 4, context: 12, dropout: 0.1, new Generator(5));
            long[] ids = [3, 7, 7, 1, 29, 0, 4, 11, 5];
            var full = model.Forward(Tensor.From(ids, [1, ids.Length]));            // eval: no dropout
            var cached = model.CachedLogits(ids);
            for (int p = 0; p < ids.Length; p++)
                Assert.True(cached[p].AllClose(full[p..(p + 1)], 1e-5, 1e-5), $"position {p}: the cached step differs from the full pass");
        }
    }

    [Fact]
    public void TangCorpus_KeepsVersesOnly()
    {
        var corpus = TangCorpus.Load(TangCorpus.FindShipped());
        Assert.Equal(313, corpus.Poems.Count);
        Assert.StartsWith("兰叶春葳蕤，桂华秋皎洁。\n", corpus.Poems[0]);
        var lines = corpus.Poems.SelectMany(p => p.Split(TangCorpus.LineBreak, StringSplitOptions.RemoveEmptyEntries)).ToList();
        Assert.DoesNotContain(lines, l => l.StartsWith('《') || l.StartsWith("作者：") || l == "%");   // a preface may quote a title mid-line
    }
}
