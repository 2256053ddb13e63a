namespace MetaGrad.Tests;

/// <summary>BLEU on cases worked by hand (n-gram counts, clipping, brevity penalty, smoothing, corpus sums).</summary>
public class MetricsTests
{
    static string[] Words(string s) => s.Split(' ');

    [Fact]
    public void SentenceBleu_IsOneForAnExactMatch_AndZeroWithoutA4GramMatch()
    {
        Assert.Equal(1.0, Metrics.SentenceBleu(Words("the cat sat on the mat"), [Words("the cat sat on the mat")]), 12);
        // the cat sat on the mat / the cat is on the mat: 5/6, 3/5, 1/4 and no 4-gram in common.
        Assert.Equal(0.0, Metrics.SentenceBleu(Words("the cat sat on the mat"), [Words("the cat is on the mat")]));
    }

    [Fact]
    public void SentenceBleu_Smoothing_AsNltksMethods1And2()
    {
        var candidate = Words("the cat sat on the mat");
        string[][] reference = [Words("the cat is on the mat")];
        // ε = 0.1 for the empty 4-gram count: (5/6 · 3/5 · 1/4 · 0.1/3)^(1/4).
        Assert.Equal(0.25406637407730737, Metrics.SentenceBleu(candidate, reference, smoothing: BleuSmoothing.Epsilon), 12);
        // One added to every count: (6/7 · 4/6 · 2/5 · 1/4)^(1/4).
        Assert.Equal(0.488923022434901, Metrics.SentenceBleu(candidate, reference, smoothing: BleuSmoothing.AddOne), 12);
    }

    [Fact]
    public void SentenceBleu_ClipsRepeatsAndPenalisesShortCandidates()
    {
        // All precisions 1, 5 words against 6: exp(1 − 6/5).
        Assert.Equal(Math.Exp(-0.2), Metrics.SentenceBleu(Words("the cat sat on the"), [Words("the cat sat on the mat")]), 12);
        // "the" four times counts once (the reference has it once): unigram BLEU 1/4, longer than the reference so no penalty.
        Assert.Equal(0.25, Metrics.SentenceBleu(Words("the the the the"), [Words("the cat")], maxN: 1), 12);
        // Of several references the closest length sets the penalty, and the richest one the clipping.
        Assert.Equal(1.0, Metrics.SentenceBleu(Words("a b c d"), [Words("a b c d e f g"), Words("a b c d")]), 12);
    }

    [Fact]
    public void Bleu_OverACorpus_SumsCountsBeforeDividing()
    {
        // (5+5)/(5+6), (4+3)/(4+5), (3+1)/(3+4), (2+0)/(2+3); lengths 11 against 12.
        double expected = Math.Exp(1 - 12.0 / 11) * Math.Exp((Math.Log(10.0 / 11) + Math.Log(7.0 / 9) + Math.Log(4.0 / 7) + Math.Log(2.0 / 5)) / 4);
        var score = Metrics.Bleu([Words("the cat sat on the"), Words("the cat sat on the mat")],
            [[Words("the cat sat on the mat")], [Words("the cat is on the mat")]]);
        Assert.Equal(expected, score, 12);
        Assert.Equal(0.5789484299135018, score, 12);
        Assert.Throws<ArgumentException>(() => Metrics.Bleu([Words("a")], []));
    }
}
