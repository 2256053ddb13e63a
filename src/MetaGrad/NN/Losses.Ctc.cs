namespace MetaGrad.NN;

// Connectionist temporal classification (Graves et al., 2006), written from tensor operations so
// its gradient is autograd's own: the forward variable α over the target with blanks between and
// around its labels, one log-sum-exp step per time step for the whole batch.
public static partial class Losses
{
    // Stands for log 0: a finite floor, so that log-sum-exp over states nobody can reach gives a
    // number and its backward no NaN; impossible alignments are found from the lengths instead.
    const double LogZero = -1e30;

    /// <summary>
    /// The CTC loss (torch.nn.functional.ctc_loss): −log of the total probability of every
    /// alignment of the target with the input. <paramref name="logProbs"/> is [T, N, C]
    /// log-probabilities (log_softmax over C; [T, C] for one sequence), <paramref name="targets"/>
    /// [N, S] padded labels or all targets concatenated in 1-D, with
    /// <paramref name="inputLengths"/> and <paramref name="targetLengths"/> per sequence. A target
    /// that cannot fit its input (too short for its labels and the blanks between repeats) costs
    /// infinity, or 0 with <paramref name="zeroInfinity"/>. Mean divides each loss by its target
    /// length, then averages, as PyTorch. The gradient is the true one with respect to
    /// <paramref name="logProbs"/> (libtorch's is with respect to the logits under log_softmax;
    /// the two agree through a log_softmax).
    /// </summary>
    public static Tensor CtcLoss(Tensor logProbs, Tensor targets, Tensor inputLengths, Tensor targetLengths, int blank = 0,
        Reduction reduction = Reduction.Mean, bool zeroInfinity = false)
    {
        bool batched = logProbs.NDim == 3;
        if (logProbs.NDim is not (2 or 3) || !logProbs.DType.IsFloatingPoint())
            throw new ArgumentException($"CtcLoss: expected log-probabilities [T, N, C] or [T, C] of a floating dtype, got {logProbs.DType} of shape {logProbs.Shape}");
        var lp = batched ? logProbs : logProbs.Unsqueeze(1);
        int steps = lp.Size(0), n = lp.Size(1), classes = lp.Size(2);
        if (blank < 0 || blank >= classes) throw new ArgumentException($"CtcLoss: blank must be in [0, {classes}), got {blank}");
        var inLengths = Lengths("input", inputLengths, n);
        var tgLengths = Lengths("target", targetLengths, n);
        var labels = Labels(targets, tgLengths, n);
        for (int b = 0; b < n; b++)
        {
            if (inLengths[b] < 0 || inLengths[b] > steps)
                throw new ArgumentException($"CtcLoss: input length {inLengths[b]} of sequence {b} must be in [0, {steps}]");
            if (labels[b].Any(l => l < 0 || l >= classes || l == blank))
                throw new ArgumentException($"CtcLoss: the targets of sequence {b} must be classes in [0, {classes}) other than the blank {blank}");
        }

        // The extended target: blank, l1, blank, l2, ..., blank, padded with blanks.
        int states = 2 * tgLengths.DefaultIfEmpty(0).Max() + 1;
        var extended = new long[n * states];
        var skip = new bool[n * states];
        var firstTwo = new bool[n * states];
        for (int b = 0; b < n; b++)
            for (int s = 0; s < states; s++)
            {
                extended[b * states + s] = s % 2 == 1 && s / 2 < labels[b].Length ? labels[b][s / 2] : blank;
                // A label may be reached from two states back unless a blank must separate a repeat.
                skip[b * states + s] = s % 2 == 1 && s >= 3 && s / 2 < labels[b].Length && labels[b][s / 2] != labels[b][s / 2 - 1];
                firstTwo[b * states + s] = s < 2 && s < 2 * labels[b].Length + 1;
            }
        var index = Tensor.From(extended, [n, states]);
        var skipMask = Tensor.From(skip, [n, states]);
        var floor = Tensor.Full([n, states], LogZero, lp.DType);
        var floorColumns = Tensor.Full([n, 2], LogZero, lp.DType);
        var running = Tensor.From(inLengths.Select(l => (long)l).ToArray(), [n, 1]);

        var alpha = Tensor.Where(Tensor.From(firstTwo, [n, states]), lp[0].Gather(1, index), floor);
        for (int t = 1; t < steps; t++)
        {
            var fromPrevious = Tensor.Cat([floorColumns[.., ..1], alpha[.., ..^1]], 1);
            var fromTwoBack = Tensor.Where(skipMask, Tensor.Cat([floorColumns, alpha[.., ..^2]], 1), floor);
            var next = Tensor.Stack([alpha, fromPrevious, fromTwoBack], 2).LogSumExp(2) + lp[t].Gather(1, index);
            // Sequences already past their length keep their last α.
            alpha = Tensor.Where(running > t, next, alpha);
        }

        // End in the last label or the blank after it.
        var last = Tensor.From(tgLengths.Select(l => (long)(2 * l)).ToArray(), [n, 1]);
        var beforeLast = Tensor.From(tgLengths.Select(l => (long)Math.Max(2 * l - 1, 0)).ToArray(), [n, 1]);
        var endings = Tensor.Cat([alpha.Gather(1, last), Tensor.Where(last > 0, alpha.Gather(1, beforeLast), floorColumns[.., ..1])], 1);
        var loss = -endings.LogSumExp(1);
        var impossible = Tensor.From(Enumerable.Range(0, n).Select(b => inLengths[b] < MinimumSteps(labels[b])).ToArray(), [n]);
        if (impossible.Any())
            loss = Tensor.Where(impossible, Tensor.Full([n], zeroInfinity ? 0 : double.PositiveInfinity, lp.DType), loss);
        if (!batched && reduction == Reduction.None) loss = loss.Squeeze(0);
        return reduction switch
        {
            Reduction.None => loss,
            Reduction.Sum => loss.Sum(),
            _ => (loss / Tensor.From(tgLengths.Select(l => (double)Math.Max(l, 1)).ToArray(), [n]).To(lp.DType)).Mean(),
        };
    }

    // The fewest time steps that can emit the labels: one each, plus a blank between equal neighbours.
    static int MinimumSteps(long[] labels) => labels.Length + Enumerable.Range(1, Math.Max(labels.Length - 1, 0)).Count(i => labels[i] == labels[i - 1]);

    static int[] Lengths(string what, Tensor lengths, int n)
    {
        if (lengths.DType is not (DType.Int64 or DType.Int32) || lengths.Numel != n || lengths.NDim > 1)
            throw new ArgumentException($"CtcLoss: expected {n} {what} lengths as an Int64 or Int32 tensor, got {lengths.DType} of shape {lengths.Shape}");
        return [.. lengths.ToArray<long>().Select(l => (int)l)];
    }

    // Each sequence's labels, from padded rows [N, S] or one concatenated 1-D tensor.
    static long[][] Labels(Tensor targets, int[] targetLengths, int n)
    {
        if (targets.DType is not (DType.Int64 or DType.Int32) || targets.NDim is not (1 or 2) || (targets.NDim == 2 && targets.Size(0) != n))
            throw new ArgumentException($"CtcLoss: expected targets [N, S] or concatenated 1-D, of Int64 or Int32 labels, got {targets.DType} of shape {targets.Shape}");
        var all = targets.ToArray<long>();
        bool rows = targets.NDim == 2;
        var result = new long[n][];
        for (int b = 0, offset = 0; b < n; b++)
        {
            int length = targetLengths[b], start = rows ? b * targets.Size(1) : offset;
            if (length < 0 || (rows && length > targets.Size(1)) || start + length > all.Length)
                throw new ArgumentException($"CtcLoss: target length {length} of sequence {b} does not fit the targets of shape {targets.Shape}");
            result[b] = all[start..(start + length)];
            offset += length;
        }
        return result;
    }
}
