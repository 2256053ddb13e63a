using MetaGrad.Examples;
using MetaGrad.IO;

namespace MetaGrad.Tests.Examples;

/// <summary>The word-vector series' examples on a slice of tang300: each must really learn.</summary>
public class WordVectorTests
{
    [Fact]
    public void Nnlm_HeldOutPerplexityFallsWellBelowUntrained()
    {
        var corpus = TangCorpus.Load(TangCorpus.FindShipped());
        var result = NnlmExample.Train(corpus, new NnlmSettings { Epochs = 2, Hidden = 64, MaxPoems = 80, Lr = 5e-3 });

        Assert.Equal(2, result.Perplexities.Length);
        // Untrained, the model is close to uniform over the ~2,500 characters.
        Assert.InRange(result.InitialPerplexity, 0.5 * result.VocabularySize, 2.0 * result.VocabularySize);
        Assert.True(result.Perplexities[^1] < 0.3 * result.InitialPerplexity,
            $"held-out perplexity went from {result.InitialPerplexity:F0} to {string.Join(", ", result.Perplexities.Select(p => p.ToString("F0")))}");
        Assert.Equal(20, result.Generated.Length);
    }

    [Fact]
    public void SkipGram_LossFalls_NeighboursAreOtherFrequentCharacters_AndVectorsRoundTrip()
    {
        var corpus = TangCorpus.Load(TangCorpus.FindShipped());
        var folder = Path.Combine(Path.GetTempPath(), $"skipgram-{Guid.NewGuid():N}");
        try
        {
            var result = SkipGramExample.Train(corpus, new SkipGramSettings { Epochs = 2, Dim = 32, MaxPoems = 120, MinCount = 3 }, "山月", folder);

            // Every score starts at 0 (zero context vectors), so the first loss is (1 + k)·log 2 = 4.16.
            Assert.InRange(result.Losses[0], 4.0, 4.3);
            double last = result.Losses.TakeLast(10).Average();
            Assert.True(last < 0.75 * result.Losses[0], $"loss went from {result.Losses[0]:F3} to {last:F3}");

            Assert.Equal(["山", "月"], result.Neighbours.Keys.Select(c => c.ToString()));
            Assert.All(result.Neighbours, p => Assert.Equal(8, p.Value.Distinct().Count()));
            Assert.All(result.Neighbours, p => Assert.DoesNotContain(p.Key, p.Value));

            var saved = Safetensors.Load(result.SavedPath!);
            Assert.Equal(new string(corpus.Vocabulary), saved.Metadata["vocabulary"]);
            Assert.Equal([corpus.Vocabulary.Length, 32], saved.Tensors["centre"].Shape.ToArray());
            Assert.Equal([corpus.Vocabulary.Length, 32], saved.Tensors["context"].Shape.ToArray());
            // A trained vector is not the zero it started from (context) nor tiny noise (centre).
            Assert.True(saved.Tensors["context"][corpus.Ids['山']].Norm().Item<float>() > 0.5f);
        }
        finally
        {
            if (Directory.Exists(folder)) Directory.Delete(folder, recursive: true);
        }
    }
}
