namespace MetaGrad.Optim;

/// <summary>
/// L-BFGS (torch.optim.LBFGS), with a fixed step or PyTorch's strong-Wolfe line search
/// (<see cref="StrongWolfe"/>): each <see cref="Step"/> runs up to max_iter
/// quasi-Newton iterations on the closure's loss. The direction is −H·g, with H the inverse
/// Hessian built from the last history_size pairs (s = the step taken, y = the change of
/// gradient) by the two-loop recursion, scaled by yᵀs/yᵀy; a pair is kept only when yᵀs > 1e-10.
/// The first iteration ever steps min(1, 1/|g|₁)·lr along −g, the others lr. It stops early when
/// the gradient's largest element is at most tolerance_grad, when the direction does not descend
/// by more than tolerance_change, when the step or the change of loss falls below
/// tolerance_change, or after max_eval evaluations of the closure. All parameters form one
/// group, whose gradients are seen as one flat vector; the history lives in the first
/// parameter's state, so the state dict resumes it.
/// </summary>
public sealed class LBFGS : Optimizer
{
    static readonly string[] History = ["d", "old_dirs", "old_stps", "ro", "prev_flat_grad"];
    static readonly string[] Numbers = ["func_evals", "n_iter", "t", "H_diag", "prev_loss"];

    /// <summary>One group over <paramref name="parameters"/> (L-BFGS takes one).</summary>
    /// <param name="parameters">The parameters, seen as one flat vector.</param>
    /// <param name="lr">The step length along the direction.</param>
    /// <param name="maxIter">Iterations per <see cref="Step"/>.</param>
    /// <param name="maxEval">Evaluations of the closure per step; maxIter·5/4 when null.</param>
    /// <param name="toleranceGrad">Stop when the gradient's largest element is at most this.</param>
    /// <param name="toleranceChange">Stop when the step, the loss's change or the directional derivative is below this.</param>
    /// <param name="historySize">How many (s, y) pairs the inverse Hessian keeps.</param>
    /// <param name="strongWolfe">Choose each step length by a line search satisfying the strong Wolfe conditions (line_search_fn="strong_wolfe").</param>
    public LBFGS(IEnumerable<Tensor> parameters, double lr = 1, int maxIter = 20, int? maxEval = null, double toleranceGrad = 1e-7,
        double toleranceChange = 1e-9, int historySize = 100, bool strongWolfe = false)
        : base([new ParamGroup(parameters)], new Dictionary<string, object>
        {
            ["lr"] = lr, ["max_iter"] = (double)maxIter, ["max_eval"] = (double)(maxEval ?? maxIter * 5 / 4),
            ["tolerance_grad"] = toleranceGrad, ["tolerance_change"] = toleranceChange, ["history_size"] = (double)historySize,
            ["strong_wolfe"] = strongWolfe,
        })
    { }

    /// <inheritdoc/>
    protected override string? Problem(ParamGroup group) =>
        NonNegative(group, "lr", "learning rate") ?? (group.Double("max_iter") >= 1 ? null : "invalid max_iter (must be >= 1)")
        ?? (group.Double("history_size") >= 1 ? null : "invalid history_size (must be >= 1)");

    /// <inheritdoc/>
    protected override bool IsScalarState(string name) => Numbers.Contains(name);

    /// <inheritdoc/>
    protected override bool KeepsItsShape(string name) => History.Contains(name);

    /// <inheritdoc/>
    protected override void Update(Tensor param, Tensor grad, Dictionary<string, Tensor> state, ParamGroup group) =>
        throw new InvalidOperationException("LBFGS: steps are taken by Step(closure), over all parameters at once");

    /// <summary>Up to max_iter iterations, each calling <paramref name="closure"/> (which must zero the gradients, compute the loss and call Backward) once.</summary>
    /// <returns>The loss the closure returned first.</returns>
    public override Tensor? Step(Func<Tensor>? closure = null)
    {
        if (closure is null) throw new ArgumentException("LBFGS: Step needs a closure that re-evaluates the model and returns the loss");
        if (ParamGroups.Count != 1) throw new InvalidOperationException("LBFGS doesn't support per-parameter options (parameter groups)");
        var group = ParamGroups[0];
        var parameters = group.Params;
        double lr = group.Lr, toleranceGrad = group.Double("tolerance_grad"), toleranceChange = group.Double("tolerance_change");
        int maxIter = (int)group.Double("max_iter"), maxEval = (int)group.Double("max_eval"), historySize = (int)group.Double("history_size");
        var state = StateFor(parameters[0]);
        double Number(string name) => state.TryGetValue(name, out var v) ? v.Item<double>() : 0;
        void SetNumber(string name, double value) => state[name] = Tensor.Scalar(value, DType.Float64);

        Tensor Evaluate()
        {
            using var _ = Autograd.EnableGrad();
            return closure();
        }
        var origLoss = Evaluate();
        double loss = origLoss.Item();
        int currentEvals = 1;
        SetNumber("func_evals", Number("func_evals") + 1);
        using var noGrad = Autograd.NoGrad();
        var flatGrad = FlatGrad(parameters);
        if (flatGrad.Abs().Max().Item() <= toleranceGrad) return origLoss;

        state.TryGetValue("d", out var d);
        state.TryGetValue("old_dirs", out var oldDirs);
        state.TryGetValue("old_stps", out var oldSteps);
        state.TryGetValue("ro", out var ro);
        state.TryGetValue("prev_flat_grad", out var prevFlatGrad);
        double t = Number("t"), hDiag = state.ContainsKey("H_diag") ? Number("H_diag") : 1, prevLoss = Number("prev_loss");
        for (int iteration = 1; iteration <= maxIter; iteration++)
        {
            SetNumber("n_iter", Number("n_iter") + 1);
            if (Number("n_iter") == 1)
            {
                d = -flatGrad;
                (oldDirs, oldSteps, ro, hDiag) = (null, null, null, 1);
            }
            else
            {
                var y = flatGrad - prevFlatGrad!;
                var s = d! * t;
                double ys = y.Dot(s).Item();
                if (ys > 1e-10)
                {
                    if (oldDirs is not null && oldDirs.Size(0) == historySize)
                        (oldDirs, oldSteps, ro) = (oldDirs[1..], oldSteps![1..], ro![1..]);
                    oldDirs = oldDirs is null ? y.Unsqueeze(0) : Tensor.Cat([oldDirs, y.Unsqueeze(0)]);
                    oldSteps = oldSteps is null ? s.Unsqueeze(0) : Tensor.Cat([oldSteps, s.Unsqueeze(0)]);
                    var inverse = Tensor.Scalar(1 / ys, DType.Float64).Reshape(1);
                    ro = ro is null ? inverse : Tensor.Cat([ro, inverse]);
                    hDiag = ys / y.Dot(y).Item();
                }
                d = TwoLoop(flatGrad, oldDirs, oldSteps, ro, hDiag);
            }
            prevFlatGrad = flatGrad.Clone();
            prevLoss = loss;
            t = Number("n_iter") == 1 ? Math.Min(1.0, 1.0 / flatGrad.Abs().Sum().Item()) * lr : lr;
            double gtd = flatGrad.Dot(d).Item();
            if (gtd > -toleranceChange) break;

            int evaluations = 0;
            bool optimal = false;
            if (group.Bool("strong_wolfe"))
            {
                var start = parameters.Select(q => q.Clone()).ToArray();
                (double, Tensor) Directional(double step)
                {
                    AddToParameters(parameters, d * step);
                    double value = Evaluate().Item();
                    var gradient = FlatGrad(parameters);
                    for (int k = 0; k < parameters.Count; k++) parameters[k].Copy_(start[k]);
                    return (value, gradient);
                }
                (loss, flatGrad, t, evaluations) = StrongWolfe.Search(Directional, t, d, loss, flatGrad, gtd, toleranceChange);
                AddToParameters(parameters, d * t);
                optimal = flatGrad.Abs().Max().Item() <= toleranceGrad;
            }
            else
            {
                AddToParameters(parameters, d * t);
                if (iteration != maxIter)
                {
                    loss = Evaluate().Item();
                    flatGrad = FlatGrad(parameters);
                    optimal = flatGrad.Abs().Max().Item() <= toleranceGrad;
                    evaluations = 1;
                }
            }
            currentEvals += evaluations;
            SetNumber("func_evals", Number("func_evals") + evaluations);
            if (iteration == maxIter || currentEvals >= maxEval || optimal) break;
            if ((d * t).Abs().Max().Item() <= toleranceChange || Math.Abs(loss - prevLoss) < toleranceChange) break;
        }
        foreach (var (name, value) in new[] { ("d", d), ("old_dirs", oldDirs), ("old_stps", oldSteps), ("ro", ro), ("prev_flat_grad", prevFlatGrad) })
            if (value is null) state.Remove(name);
            else state[name] = value;
        SetNumber("t", t);
        SetNumber("H_diag", hDiag);
        SetNumber("prev_loss", prevLoss);
        return origLoss;
    }

    // −H·g by the two-loop recursion over the kept pairs (oldest first), H₀ = hDiag·I.
    static Tensor TwoLoop(Tensor flatGrad, Tensor? dirs, Tensor? steps, Tensor? ro, double hDiag)
    {
        int count = dirs?.Size(0) ?? 0;
        var q = -flatGrad;
        var al = new double[count];
        var rho = ro?.ToArray<double>() ?? [];
        for (int i = count - 1; i >= 0; i--)
        {
            al[i] = steps![i].Dot(q).Item() * rho[i];
            q = q - dirs![i] * al[i];
        }
        var r = q * hDiag;
        for (int i = 0; i < count; i++)
        {
            double be = dirs![i].Dot(r).Item() * rho[i];
            r = r + steps![i] * (al[i] - be);
        }
        return r;
    }

    // The gradients as one vector (zeros for a parameter without one).
    static Tensor FlatGrad(IReadOnlyList<Tensor> parameters) =>
        Tensor.Cat([.. parameters.Select(p => (p.Grad ?? Tensor.ZerosLike(p)).Reshape(-1))]);

    static void AddToParameters(IReadOnlyList<Tensor> parameters, Tensor update)
    {
        int offset = 0;
        foreach (var p in parameters)
        {
            p.Add_(update[offset..(offset + p.Numel)].Reshape([.. p.Shape]));
            offset += p.Numel;
        }
    }
}
