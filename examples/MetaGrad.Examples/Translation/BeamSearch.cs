namespace MetaGrad.Examples;

/// <summary>An output sequence (start and end tokens not included), its summed log-probability, and whether it ended with the end token.</summary>
public sealed record Hypothesis(long[] Tokens, double LogProbability, bool Finished);

/// <summary>
/// One decoding step of a model, for many hypotheses at once: given the states of the live
/// hypotheses (one row each) and each one's last token, the log-probabilities of the next token
/// (one row of the vocabulary per hypothesis) and the states after that token.
/// </summary>
public delegate (float[][] LogProbabilities, TState Next) DecodeStep<TState>(TState states, long[] lastTokens);

/// <summary>
/// Decoding a sequence model token by token, by any model: the model is seen only through a
/// <see cref="DecodeStep{TState}"/> and a way to pick rows of its state (the rows of the parents of
/// the hypotheses that survive a step), so the search can be tested on hand-built scores.
/// </summary>
public static class BeamSearch
{
    /// <summary>
    /// Beam search: keeps the <paramref name="beamWidth"/> partial hypotheses of highest summed
    /// log-probability; a hypothesis that ends (the end token is among the best candidates of a step)
    /// is set aside as finished. Stops when no live hypothesis can still beat the best finished one
    /// (log-probabilities only fall as a sequence grows), or after <paramref name="maxLength"/> tokens
    /// (the live ones then count, unfinished).
    /// Returns the finished hypotheses, best first, or the best unfinished one if none finished.
    /// Width 1 is greedy decoding. Scores are not normalised by length.
    /// </summary>
    public static IReadOnlyList<Hypothesis> Search<TState>(TState initial, long start, long end, int beamWidth, int maxLength,
        DecodeStep<TState> step, Func<TState, int[], TState> selectRows)
    {
        if (beamWidth < 1) throw new ArgumentOutOfRangeException(nameof(beamWidth), "the beam needs at least one hypothesis");
        var live = new List<(long[] Tokens, double Score)> { ([], 0) };
        var finished = new List<Hypothesis>();
        var state = initial;
        for (int length = 0; length < maxLength && live.Count > 0; length++)
        {
            var (logProbabilities, next) = step(state, [.. live.Select(h => h.Tokens.Length == 0 ? start : h.Tokens[^1])]);
            // Every one-token extension of every live hypothesis, best first (ties: earlier parent, smaller token).
            var candidates = live.SelectMany((h, parent) => logProbabilities[parent].Select((lp, token) => (Parent: parent, Token: (long)token, Score: h.Score + lp)))
                .OrderByDescending(c => c.Score).ToList();
            var survivors = new List<(int Parent, long Token, double Score)>();
            for (int rank = 0; rank < candidates.Count && survivors.Count < beamWidth; rank++)
            {
                var c = candidates[rank];
                if (c.Token != end) survivors.Add(c);
                else if (rank < beamWidth) finished.Add(new Hypothesis(live[c.Parent].Tokens, c.Score, true));
            }
            live = [.. survivors.Select(s => ((long[])[.. live[s.Parent].Tokens, s.Token], s.Score))];
            state = selectRows(next, [.. survivors.Select(s => s.Parent)]);
            // Stop when no live hypothesis can still beat the best finished one. (Stopping once
            // beamWidth had finished, as before, let unlikely early ends — the end token ranking
            // among the top candidates with a log-probability of -20 — fill the count while the
            // right sequence, near 0, was still growing: the numbers example fell to 38% with it.)
            double bestFinished = finished.Count == 0 ? double.NegativeInfinity : finished.Max(h => h.LogProbability);
            if (live.Count > 0 && live[0].Score <= bestFinished) break;
        }
        if (finished.Count == 0) return [.. live.Take(1).Select(h => new Hypothesis(h.Tokens, h.Score, false))];
        return [.. finished.OrderByDescending(h => h.LogProbability)];
    }

    /// <summary>
    /// Greedy decoding of <paramref name="n"/> sequences at once: <paramref name="step"/> takes the
    /// last tokens [N] (the start token first) and gives the log-probabilities [N, V] of the next.
    /// The batch steps together until every sequence has ended or after <paramref name="maxLength"/>
    /// tokens; a sequence that has ended keeps stepping, but nothing more is kept of it.
    /// Returns each output (its end token included, when it ended) and its summed log-probability.
    /// </summary>
    public static (long[][] Outputs, double[] LogProbabilities) GreedyBatch(int n, long start, long end, int maxLength, Func<Tensor, Tensor> step)
    {
        var previous = Tensor.Full([n], start, DType.Int64);
        var outputs = Enumerable.Range(0, n).Select(_ => new List<long>()).ToArray();
        var scores = new double[n];
        for (int t = 0; t < maxLength && outputs.Any(o => o.Count == 0 || o[^1] != end); t++)
        {
            var logProbabilities = step(previous);
            previous = logProbabilities.ArgMax(1);
            var best = previous.ToArray<long>();
            var bestScores = logProbabilities.Gather(1, previous.Unsqueeze(1)).ToArray<float>();
            for (int i = 0; i < n; i++)
                if (outputs[i].Count == 0 || outputs[i][^1] != end)
                {
                    outputs[i].Add(best[i]);
                    scores[i] += bestScores[i];
                }
        }
        return ([.. outputs.Select(o => o.ToArray())], scores);
    }

    /// <summary>Greedy decoding: the most probable token at every step, until the end token or <paramref name="maxLength"/> tokens.</summary>
    public static Hypothesis Greedy<TState>(TState initial, long start, long end, int maxLength, DecodeStep<TState> step)
    {
        var tokens = new List<long>();
        double score = 0;
        var state = initial;
        for (int length = 0; length < maxLength; length++)
        {
            var (logProbabilities, next) = step(state, [tokens.Count == 0 ? start : tokens[^1]]);
            var row = logProbabilities[0];
            int best = Array.IndexOf(row, row.Max());
            score += row[best];
            if (best == end) return new Hypothesis([.. tokens], score, true);
            tokens.Add(best);
            state = next;
        }
        return new Hypothesis([.. tokens], score, false);
    }
}
