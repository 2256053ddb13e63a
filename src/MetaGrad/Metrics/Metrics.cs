namespace MetaGrad;

/// <summary>How BLEU treats an n-gram order with no match, which otherwise makes the score 0.</summary>
public enum BleuSmoothing
{
    /// <summary>None: any order without a match gives 0 (Papineni et al.).</summary>
    None,
    /// <summary>A zero match count becomes 0.1 (Chen and Cherry's method 1, NLTK's method1).</summary>
    Epsilon,
    /// <summary>One added to the matches and the n-grams of every order (Lin and Och; NLTK's method2).</summary>
    AddOne,
}

/// <summary>Scores of predictions: BLEU for generated sequences (here), classification scores (Metrics.Classification.cs).</summary>
public static partial class Metrics
{
    /// <summary>
    /// Corpus BLEU (Papineni et al., 2002): the geometric mean of the modified n-gram precisions for
    /// n = 1..<paramref name="maxN"/>, each the clipped matches summed over the corpus over the
    /// candidate n-grams summed over the corpus, times the brevity penalty exp(1 − r/c) when the
    /// candidates' total length c is below r, the sum of each sentence's closest reference length
    /// (the shorter on a tie). Each candidate may have several references; a candidate n-gram counts
    /// at most as often as it occurs in any one reference.
    /// </summary>
    public static double Bleu(IReadOnlyList<IReadOnlyList<string>> candidates, IReadOnlyList<IReadOnlyList<IReadOnlyList<string>>> references,
        int maxN = 4, BleuSmoothing smoothing = BleuSmoothing.None)
    {
        if (candidates.Count != references.Count)
            throw new ArgumentException($"Bleu: {candidates.Count} candidates but {references.Count} reference lists");
        if (maxN < 1) throw new ArgumentException($"Bleu: maxN must be at least 1, got {maxN}");
        var matches = new long[maxN + 1];
        var totals = new long[maxN + 1];
        long candidateLength = 0, referenceLength = 0;
        for (int s = 0; s < candidates.Count; s++)
        {
            var candidate = candidates[s];
            if (references[s].Count == 0) throw new ArgumentException($"Bleu: candidate {s} has no reference");
            candidateLength += candidate.Count;
            referenceLength += references[s].Select(r => r.Count).OrderBy(r => Math.Abs(r - candidate.Count)).ThenBy(r => r).First();
            for (int n = 1; n <= maxN; n++)
            {
                var counts = NGrams(candidate, n);
                var best = new Dictionary<string, int>();
                foreach (var reference in references[s])
                    foreach (var (gram, count) in NGrams(reference, n))
                        best[gram] = Math.Max(best.GetValueOrDefault(gram), count);
                foreach (var (gram, count) in counts)
                {
                    matches[n] += Math.Min(count, best.GetValueOrDefault(gram));
                    totals[n] += count;
                }
            }
        }
        if (candidateLength == 0) return 0;
        double logSum = 0;
        for (int n = 1; n <= maxN; n++)
        {
            double numerator = matches[n], denominator = totals[n];
            if (smoothing == BleuSmoothing.AddOne) (numerator, denominator) = (numerator + 1, denominator + 1);
            else if (numerator == 0)
            {
                if (smoothing == BleuSmoothing.None || denominator == 0) return 0;
                numerator = 0.1;
            }
            logSum += Math.Log(numerator / denominator);
        }
        double brevity = candidateLength >= referenceLength ? 1 : Math.Exp(1 - (double)referenceLength / candidateLength);
        return brevity * Math.Exp(logSum / maxN);
    }

    /// <summary>BLEU of one candidate against its references (<see cref="Bleu"/> over a corpus of one).</summary>
    public static double SentenceBleu(IReadOnlyList<string> candidate, IReadOnlyList<IReadOnlyList<string>> references,
        int maxN = 4, BleuSmoothing smoothing = BleuSmoothing.None) => Bleu([candidate], [references], maxN, smoothing);

    // Each n-gram (its tokens joined by a separator no token holds) with its count.
    static Dictionary<string, int> NGrams(IReadOnlyList<string> tokens, int n)
    {
        var counts = new Dictionary<string, int>();
        for (int i = 0; i + n <= tokens.Count; i++)
        {
            string gram = string.Join('\u0001', Enumerable.Range(i, n).Select(j => tokens[j]));
            counts[gram] = counts.GetValueOrDefault(gram) + 1;
        }
        return counts;
    }
}
