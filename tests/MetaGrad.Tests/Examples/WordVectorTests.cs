using MetaGrad.Examples;

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
}
