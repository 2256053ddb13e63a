namespace MetaGrad.Optim;

/// <summary>
/// The line search of torch.optim.LBFGS's line_search_fn="strong_wolfe" (Nocedal and Wright,
/// algorithms 3.5 and 3.6): from a trial step t along direction d, widen the step by cubic
/// extrapolation until an interval is known to hold a point satisfying the strong Wolfe
/// conditions (sufficient decrease f(t) ≤ f(0) + c1·t·g'd, curvature |g(t)'d| ≤ c2·|g'd|), then
/// shrink it by cubic interpolation, guarded against steps too close to its ends. At most 25
/// evaluations.
/// </summary>
internal static class StrongWolfe
{
    const double C1 = 1e-4, C2 = 0.9;
    const int MaxEvaluations = 25;

    /// <summary>The accepted step's loss, gradient, length and the evaluations it took.</summary>
    /// <param name="evaluate">Loss and flat gradient at start + step·d (leaving the parameters at start).</param>
    /// <param name="t">The first step length tried.</param>
    /// <param name="d">The search direction (flat).</param>
    /// <param name="f">The loss at the start.</param>
    /// <param name="g">The flat gradient at the start.</param>
    /// <param name="gtd">The directional derivative at the start, g·d.</param>
    /// <param name="toleranceChange">The smallest bracket width (step·|d|∞) worth narrowing further.</param>
    public static (double Loss, Tensor Gradient, double Step, int Evaluations) Search(Func<double, (double, Tensor)> evaluate,
        double t, Tensor d, double f, Tensor g, double gtd, double toleranceChange)
    {
        double dNorm = d.Abs().Max().Item();
        var (fNew, gNew) = evaluate(t);
        int evaluations = 1, iteration = 0;
        double gtdNew = gNew.Dot(d).Item();
        double tPrev = 0, fPrev = f, gtdPrev = gtd;
        var gPrev = g;
        bool done = false;
        double[] bracket = [], bracketF = [], bracketGtd = [];
        Tensor[] bracketG = [];
        while (iteration < MaxEvaluations)
        {
            if (fNew > f + C1 * t * gtd || (iteration > 1 && fNew >= fPrev) || gtdNew >= 0)
            {
                (bracket, bracketF, bracketG, bracketGtd) = ([tPrev, t], [fPrev, fNew], [gPrev, gNew], [gtdPrev, gtdNew]);
                break;
            }
            if (Math.Abs(gtdNew) <= -C2 * gtd)
            {
                (bracket, bracketF, bracketG, bracketGtd, done) = ([t], [fNew], [gNew], [gtdNew], true);
                break;
            }
            double minStep = t + 0.01 * (t - tPrev), maxStep = t * 10, previous = t;
            t = Cubic(tPrev, fPrev, gtdPrev, t, fNew, gtdNew, minStep, maxStep);
            (tPrev, fPrev, gPrev, gtdPrev) = (previous, fNew, gNew, gtdNew);
            (fNew, gNew) = evaluate(t);
            evaluations++;
            gtdNew = gNew.Dot(d).Item();
            iteration++;
        }
        if (iteration == MaxEvaluations) (bracket, bracketF, bracketG, bracketGtd) = ([0, t], [f, fNew], [g, gNew], [gtd, gtdNew]);

        // Zoom: shrink the bracket around a point satisfying both conditions.
        bool insufficientProgress = false;
        var (low, high) = bracketF[0] <= bracketF[^1] ? (0, 1) : (1, 0);
        while (!done && iteration < MaxEvaluations)
        {
            if (Math.Abs(bracket[1] - bracket[0]) * dNorm < toleranceChange) break;
            double lo = Math.Min(bracket[0], bracket[1]), hi = Math.Max(bracket[0], bracket[1]);
            t = Cubic(bracket[0], bracketF[0], bracketGtd[0], bracket[1], bracketF[1], bracketGtd[1], lo, hi);
            double eps = 0.1 * (hi - lo);
            if (Math.Min(hi - t, t - lo) < eps)
            {
                // Too near an end: step a tenth inside it if the last try made no progress either.
                if (insufficientProgress || t >= hi || t <= lo)
                {
                    t = Math.Abs(t - hi) < Math.Abs(t - lo) ? hi - eps : lo + eps;
                    insufficientProgress = false;
                }
                else insufficientProgress = true;
            }
            else insufficientProgress = false;
            (fNew, gNew) = evaluate(t);
            evaluations++;
            gtdNew = gNew.Dot(d).Item();
            iteration++;
            if (fNew > f + C1 * t * gtd || fNew >= bracketF[low])
            {
                (bracket[high], bracketF[high], bracketG[high], bracketGtd[high]) = (t, fNew, gNew, gtdNew);
                (low, high) = bracketF[0] <= bracketF[1] ? (0, 1) : (1, 0);
            }
            else
            {
                if (Math.Abs(gtdNew) <= -C2 * gtd) done = true;
                else if (gtdNew * (bracket[high] - bracket[low]) >= 0)
                    (bracket[high], bracketF[high], bracketG[high], bracketGtd[high]) = (bracket[low], bracketF[low], bracketG[low], bracketGtd[low]);
                (bracket[low], bracketF[low], bracketG[low], bracketGtd[low]) = (t, fNew, gNew, gtdNew);
            }
        }
        return (bracketF[low], bracketG[low], bracket[low], evaluations);
    }

    // The minimiser of the cubic through (x1, f1) and (x2, f2) with slopes g1 and g2, clamped to
    // [lo, hi]; the middle of [lo, hi] when the cubic has no minimum.
    static double Cubic(double x1, double f1, double g1, double x2, double f2, double g2, double lo, double hi)
    {
        double d1 = g1 + g2 - 3 * (f1 - f2) / (x1 - x2), d2Square = d1 * d1 - g1 * g2;
        if (d2Square < 0) return (lo + hi) / 2;
        double d2 = Math.Sqrt(d2Square);
        double minimum = x1 <= x2 ? x2 - (x2 - x1) * ((g2 + d2 - d1) / (g2 - g1 + 2 * d2)) : x1 - (x1 - x2) * ((g1 + d2 - d1) / (g1 - g2 + 2 * d2));
        return Math.Min(Math.Max(minimum, lo), hi);
    }
}
