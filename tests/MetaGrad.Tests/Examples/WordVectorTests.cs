using MetaGrad.Examples;
using MetaGrad.IO;

namespace MetaGrad.Tests.Examples;

/// <summary>The word-vector series' examples on a slice of tang300 (each must really learn), and their counting on hand-made verse.</summary>
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
            var result = SkipGramExample.Train(corpus, new Word2VecSettings { Epochs = 2, Dim = 32, MaxPoems = 120, MinCount = 3 }, "山月", folder);

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

    [Fact]
    public void SkipGram_FullSoftmax_StartsAtLogVocabularySize_AndLossFalls()
    {
        var corpus = TangCorpus.Load(TangCorpus.FindShipped());
        var result = SkipGramExample.Train(corpus, new Word2VecSettings { Objective = Objective.Softmax, Epochs = 2, Dim = 32, MaxPoems = 120, MinCount = 3 }, "月");

        // Zero output vectors: every one of the V scores is 0, the softmax uniform, the loss log V (log 2,500 = 7.824).
        Assert.Equal(Math.Log(corpus.Vocabulary.Length), result.Losses[0], 1e-4);
        double last = result.Losses.TakeLast(5).Average();
        Assert.True(last < 0.92 * result.Losses[0], $"loss went from {result.Losses[0]:F3} to {last:F3}");   // measured 7.824 to 6.864
        AssertEightOtherCharacters(result);
    }

    [Fact]
    public void Cbow_Windows_HoldEachCentresContextEndToEnd()
    {
        var corpus = new TangCorpus(["山月风，月山\n"]);
        var (clauses, counts) = CharacterVectors.Clauses(corpus, corpus.Poems);
        var (centres, contexts, starts) = CbowExample.Windows(clauses, window: 1);

        long 山 = corpus.Ids['山'], 月 = corpus.Ids['月'], 风 = corpus.Ids['风'];
        Assert.Equal([山, 月, 风, 月, 山], centres);
        Assert.Equal([月, 山, 风, 月, 山, 月], contexts);
        Assert.Equal([0L, 1, 3, 4, 5, 6], starts);
        Assert.Equal(2, counts[山]);
        Assert.Equal(0, counts[corpus.Ids['，']]);
    }

    [Fact]
    public void Cbow_LossStartsAtSixLog2_Falls_NeighboursAreOtherCharacters_AndVectorsRoundTrip()
    {
        var corpus = TangCorpus.Load(TangCorpus.FindShipped());
        var folder = Path.Combine(Path.GetTempPath(), $"cbow-{Guid.NewGuid():N}");
        try
        {
            var result = CbowExample.Train(corpus, CbowExample.Defaults with { Epochs = 3, Dim = 32, MaxPoems = 120, MinCount = 3 }, "山月", folder);

            // Zero output vectors: the true centre and each of the 5 negatives score 0, so the loss is 6·log 2 = 4.159.
            Assert.Equal(6 * Math.Log(2), result.Losses[0], 1e-4);
            double last = result.Losses.TakeLast(10).Average();
            Assert.True(last < 0.75 * result.Losses[0], $"loss went from {result.Losses[0]:F3} to {last:F3}");   // measured 4.159 to 2.677
            AssertEightOtherCharacters(result);

            var saved = Safetensors.Load(result.SavedPath!);
            Assert.Equal(new string(corpus.Vocabulary), saved.Metadata["vocabulary"]);
            Assert.Equal([corpus.Vocabulary.Length, 32], saved.Tensors["input"].Shape.ToArray());
            Assert.Equal([corpus.Vocabulary.Length, 32], saved.Tensors["output"].Shape.ToArray());
            Assert.True(saved.Tensors["output"][corpus.Ids['山']].Norm().Item<float>() > 0.5f);   // no longer the zero it started from
        }
        finally
        {
            if (Directory.Exists(folder)) Directory.Delete(folder, recursive: true);
        }
    }

    [Fact]
    public void Glove_Cooccurrences_AddOneOverDistance_BothWays_WithinClauses()
    {
        // Two clauses: 山月风 and 月山. Window 2: 山–月 1 apart (twice), 山–风 2 apart, 月–风 1 apart; 风 and the second clause's 月 are in different clauses.
        var corpus = new TangCorpus(["山月风，月山\n"]);
        var x = GloveExample.Cooccurrences(CharacterVectors.Clauses(corpus, corpus.Poems).Clauses, window: 2);

        long 山 = corpus.Ids['山'], 月 = corpus.Ids['月'], 风 = corpus.Ids['风'];
        Assert.Equal(6, x.Count);
        Assert.Equal(2.0, x[(山, 月)]);
        Assert.Equal(2.0, x[(月, 山)]);
        Assert.Equal(0.5, x[(山, 风)]);
        Assert.Equal(0.5, x[(风, 山)]);
        Assert.Equal(1.0, x[(月, 风)]);
        Assert.Equal(1.0, x[(风, 月)]);
        // Window 1 drops the pair 2 apart.
        Assert.False(GloveExample.Cooccurrences(CharacterVectors.Clauses(corpus, corpus.Poems).Clauses, window: 1).ContainsKey((山, 风)));
    }

    [Fact]
    public void Glove_Weighting_RisesAsThreeQuarterPower_ToOneAtXMax()
    {
        Assert.Equal(0.5946, GloveExample.Weighting(5, xMax: 10), 4);      // 0.5^0.75
        Assert.Equal(0.1057, GloveExample.Weighting(0.5, xMax: 10), 4);    // 0.05^0.75
        Assert.Equal(1.0, GloveExample.Weighting(10, xMax: 10));
        Assert.Equal(1.0, GloveExample.Weighting(250, xMax: 10));
    }

    [Fact]
    public void Glove_FirstLoss_IsMeanWeightedSquaredLogCount()
    {
        // All six entries in one batch; every prediction starts at 0 (w̃ and the biases zero), so the loss is
        // mean f(X)·(log X)²: X = 2, 2, 0.5, 0.5 have (log X)² = (log 2)², X = 1 has log X = 0:
        // (2·0.2^0.75 + 2·0.05^0.75)·(log 2)² / 6 = 0.06484.
        var corpus = new TangCorpus(["山月风，月山\n"]);
        var result = GloveExample.Train(corpus, new GloveSettings { Window = 2, Epochs = 1, Dim = 4, BatchSize = 64 }, queries: "");

        Assert.Single(result.Losses);
        Assert.Equal((2 * Math.Pow(0.2, 0.75) + 2 * Math.Pow(0.05, 0.75)) * Math.Log(2) * Math.Log(2) / 6, result.Losses[0], 1e-5);
        Assert.Equal(0.06484, result.Losses[0], 4);
    }

    [Fact]
    public void Glove_LossFalls_NeighboursAreOtherCharacters_AndVectorsRoundTrip()
    {
        var corpus = TangCorpus.Load(TangCorpus.FindShipped());
        var folder = Path.Combine(Path.GetTempPath(), $"glove-{Guid.NewGuid():N}");
        try
        {
            var result = GloveExample.Train(corpus, new GloveSettings { Epochs = 8, Dim = 32, MaxPoems = 120, MinCount = 3 }, "山月", folder);

            double first = result.Losses.Take(5).Average(), last = result.Losses.TakeLast(5).Average();
            Assert.True(last < 0.3 * first, $"loss went from {first:F4} to {last:F4}");   // measured 0.0779 to 0.0109
            AssertEightOtherCharacters(result);

            var saved = Safetensors.Load(result.SavedPath!);
            Assert.Equal(new string(corpus.Vocabulary), saved.Metadata["vocabulary"]);
            Assert.Equal([corpus.Vocabulary.Length, 32], saved.Tensors["vectors"].Shape.ToArray());
        }
        finally
        {
            if (Directory.Exists(folder)) Directory.Delete(folder, recursive: true);
        }
    }

    static void AssertEightOtherCharacters(WordVectorResult result)
    {
        Assert.NotEmpty(result.Neighbours);
        Assert.All(result.Neighbours, p => Assert.Equal(8, p.Value.Distinct().Count()));
        Assert.All(result.Neighbours, p => Assert.DoesNotContain(p.Key, p.Value));
    }
}
