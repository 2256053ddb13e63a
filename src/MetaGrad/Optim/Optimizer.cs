using System.Globalization;

namespace MetaGrad.Optim;

/// <summary>
/// The base of every optimizer, with torch.optim.Optimizer's behaviour: parameter groups with
/// their own options (missing ones filled from the optimizer's defaults), per-parameter state
/// (step counts and buffers), <see cref="ZeroGrad"/>, and a state dict that resumes training
/// bit for bit. A subclass supplies the update rule for one parameter and the checks on options.
/// </summary>
public abstract class Optimizer
{
    readonly List<ParamGroup> _groups = [];
    readonly ParamGroup _defaults;
    Dictionary<Tensor, Dictionary<string, Tensor>> _state = new(ReferenceEqualityComparer.Instance);

    /// <summary>Builds the groups, filling each from <paramref name="defaults"/> and checking its options.</summary>
    protected Optimizer(IEnumerable<ParamGroup> groups, IReadOnlyDictionary<string, object> defaults)
    {
        _defaults = new ParamGroup([]);
        foreach (var (name, value) in defaults) _defaults[name] = value;
        foreach (var group in groups) AddParamGroup(group);
        if (_groups.Count == 0 || _groups.All(g => g.Params.Count == 0))
            throw new ArgumentException($"{Name}: optimizer got an empty parameter list");
    }

    /// <summary>The optimizer's name in messages (its class name: "SGD", "Adam"...).</summary>
    protected string Name => GetType().Name;

    /// <summary>The parameter groups; their options may be changed between steps (schedulers do).</summary>
    public IReadOnlyList<ParamGroup> ParamGroups => _groups;

    /// <summary>The options a new group gets when it does not set them (PyTorch's defaults).</summary>
    public IReadOnlyDictionary<string, object> Defaults => _defaults.Options;

    /// <summary>A parameter's state (step count and buffers by PyTorch's names); empty before its first step.</summary>
    public IReadOnlyDictionary<string, Tensor> StateOf(Tensor parameter) =>
        _state.TryGetValue(parameter, out var s) ? s : new Dictionary<string, Tensor>();

    /// <summary>
    /// Adds a group (e.g. layers unfrozen during fine-tuning). Its missing options come from the
    /// defaults; its parameters must be leaves and must not already be optimized.
    /// </summary>
    public void AddParamGroup(ParamGroup group)
    {
        var seen = new HashSet<Tensor>(ReferenceEqualityComparer.Instance);
        foreach (var p in group.Params)
        {
            if (!p.IsLeaf) throw new ArgumentException($"{Name}: can't optimize a non-leaf tensor (it has grad_fn {p.GradFn!.Name}); optimize the leaf it was computed from");
            if (!seen.Add(p)) throw new ArgumentException($"{Name}: a parameter group contains the same parameter twice; it would be updated twice per step");
        }
        if (_groups.SelectMany(g => g.Params).Any(seen.Contains))
            throw new ArgumentException($"{Name}: some parameters appear in more than one parameter group");
        foreach (var (name, value) in _defaults.Options) group.SetDefault(name, value);
        Check(group, _groups.Count);
        _groups.Add(group);
    }

    /// <summary>Clears the gradients: to null by default (PyTorch's set_to_none=True), or to zeros in place.</summary>
    public void ZeroGrad(bool setToNone = true)
    {
        foreach (var p in _groups.SelectMany(g => g.Params))
        {
            p.SparseGrad = null;
            if (p.GradUnseen is not { } grad) continue;
            if (setToNone) { p.DropGrad(); continue; }
            if (grad.RequiresGrad) p.Grad = grad = grad.Detach();   // a gradient made with createGraph leaves its graph
            using (Autograd.NoGrad()) grad.Zero_();
        }
    }

    /// <summary>
    /// One update of every parameter that has a gradient (those whose Grad is null are skipped),
    /// outside the graph. A closure, when given, is called first with grad enabled to recompute the
    /// loss; its result is returned.
    /// </summary>
    public virtual Tensor? Step(Func<Tensor>? closure = null)
    {
        Tensor? loss = null;
        if (closure is not null)
            using (Autograd.EnableGrad()) loss = closure();
        // MetaGrad's own update rules keep no reference to the gradient (state is cloned from it),
        // so reading it leaves .Grad free to go back to the pool at ZeroGrad; a rule written
        // outside might keep one, so it gets the gradient as user code does.
        bool ownRule = GetType().Assembly == typeof(Optimizer).Assembly;
        using (Autograd.NoGrad())
            foreach (var group in _groups)
                foreach (var p in group.Params)
                {
                    // A parameter with both (a sparse embedding's weight also used densely) steps on their sum.
                    if ((ownRule ? p.GradUnseen : p.Grad) is { } grad) Update(p, p.SparseGrad is { } rows ? grad + rows.ToDense() : grad, StateFor(p), group);
                    else if (p.SparseGrad is { } sparse) UpdateSparse(p, sparse, StateFor(p), group);
                }
        return loss;
    }

    /// <summary>The update rule for one parameter (PyTorch's _single_tensor_ loop body); runs under NoGrad.</summary>
    protected abstract void Update(Tensor param, Tensor grad, Dictionary<string, Tensor> state, ParamGroup group);

    /// <summary>
    /// The update for a parameter whose gradient is rows only (<see cref="Tensor.SparseGrad"/>),
    /// touching only those rows. Optimizers whose rule needs every row (Adam's moments decay
    /// everywhere) do not support it, as in PyTorch.
    /// </summary>
    protected virtual void UpdateSparse(Tensor param, RowSparseGradient grad, Dictionary<string, Tensor> state, ParamGroup group) =>
        throw new NotSupportedException($"{Name} does not support sparse gradients (parameter {ShapeMath.Format(param.Layout.Shape)} has a RowSparseGradient from an embedding with sparse: true); use SGD, Adagrad or SparseAdam for it, or a dense embedding");

    /// <summary>target[rows] += values, in place, repeated rows adding up (an update of the rows a sparse gradient touched).</summary>
    protected static void AddRows_(Tensor target, Tensor rows, Tensor values) => Functions.Ops.AddRows_(target, rows, values);

    /// <summary>What is wrong with a group's options, or null when they are valid.</summary>
    protected abstract string? Problem(ParamGroup group);

    /// <summary>A parameter's mutable state, created empty on first use.</summary>
    protected Dictionary<string, Tensor> StateFor(Tensor parameter)
    {
        if (!_state.TryGetValue(parameter, out var s)) _state[parameter] = s = [];
        return s;
    }

    /// <summary>A state buffer shaped like the parameter, created filled with <paramref name="fill"/> on first use.</summary>
    protected static Tensor Buffer(Dictionary<string, Tensor> state, string name, Tensor like, double fill = 0)
    {
        if (!state.TryGetValue(name, out var b)) state[name] = b = Tensor.FullLike(like, fill);
        return b;
    }

    /// <summary>
    /// Adds one to the parameter's step count and returns the new count. The count is a 0-d Float64
    /// tensor under "step" (PyTorch keeps a float32 one), so it stays exact far beyond 2^24 steps.
    /// </summary>
    protected static double CountStep(Dictionary<string, Tensor> state)
    {
        if (!state.TryGetValue("step", out var step)) state["step"] = step = Tensor.Scalar(0, DType.Float64);
        step.Add_(1.0);
        return step.Item<double>();
    }

    /// <summary>
    /// self += weight·(end - self), in place, computed as PyTorch's lerp kernel does (from the nearer
    /// end, so weight 1 gives end exactly).
    /// </summary>
    protected static void Lerp_(Tensor self, Tensor end, double weight)
    {
        if (weight < 0.5) self.Add_((end - self) * weight);
        else self.Copy_(end - (end - self) * (1 - weight));
    }

    /// <summary>"invalid {what}: {value}" when the option is negative (or NaN).</summary>
    protected static string? NonNegative(ParamGroup group, string option, string what)
    {
        double v = group.Double(option);
        return v >= 0 ? null : $"invalid {what}: {Format(v)} (must be >= 0)";
    }

    /// <summary>"invalid {what}: {value}" when the option is outside [0, 1), or [0, 1] when <paramref name="includeOne"/>.</summary>
    protected static string? UnitInterval(double value, string what, bool includeOne)
    {
        bool ok = value >= 0 && (includeOne ? value <= 1 : value < 1);
        return ok ? null : $"invalid {what}: {Format(value)} (must be in [0, 1{(includeOne ? "]" : ")")})";
    }

    static string Format(double v) => v.ToString(CultureInfo.InvariantCulture);

    void Check(ParamGroup group, int index)
    {
        if (Problem(group) is { } problem)
            throw new ArgumentException($"{Name}: {problem}{(index > 0 ? $" (param group {index})" : "")}");
    }

    /// <summary>
    /// The state as plain data: a snapshot (copies of the buffers), so later steps do not change a
    /// state dict already taken. Parameters are numbered across groups in order.
    /// </summary>
    public OptimizerStateDict StateDict()
    {
        var result = new OptimizerStateDict();
        int index = 0;
        using var _ = Autograd.NoGrad();
        foreach (var group in _groups)
        {
            var ids = new int[group.Params.Count];
            for (int j = 0; j < ids.Length; j++, index++)
            {
                ids[j] = index;
                if (_state.TryGetValue(group.Params[j], out var s))
                    foreach (var (name, t) in s) result.State[$"state.{index}.{name}"] = t.Clone();
            }
            var options = group.Options.ToDictionary(kv => kv.Key, kv => kv.Value is ValueTuple<double, double> p ? new[] { p.Item1, p.Item2 } : kv.Value);
            result.ParamGroups.Add(new ParamGroupState { Params = ids, Options = options });
        }
        return result;
    }

    /// <summary>
    /// Restores a state dict taken from an optimizer of the same kind over equally shaped parameters
    /// in the same groups: the buffers (copied, and cast to each parameter's dtype) and every group's
    /// options. Nothing changes when the state dict does not fit.
    /// </summary>
    public void LoadStateDict(OptimizerStateDict stateDict)
    {
        string op = $"{Name}.LoadStateDict";
        ArgumentNullException.ThrowIfNull(stateDict);
        if (stateDict.State is null || stateDict.ParamGroups is null || stateDict.ParamGroups.Any(g => g?.Params is null || g.Options is null))
            throw new ArgumentException($"{op}: the state dict's State, ParamGroups and each group's Params and Options must not be null");
        var saved = stateDict.ParamGroups;
        if (saved.Count != _groups.Count)
            throw new ArgumentException($"{op}: the state dict has {saved.Count} parameter groups, but the optimizer has {_groups.Count}");
        var byIndex = new Dictionary<int, Tensor>();
        var merged = new ParamGroup[_groups.Count];
        for (int i = 0; i < saved.Count; i++)
        {
            var group = _groups[i];
            if (saved[i].Params.Length != group.Params.Count)
                throw new ArgumentException($"{op}: parameter group {i} has {saved[i].Params.Length} parameters in the state dict, but {group.Params.Count} in the optimizer");
            for (int j = 0; j < saved[i].Params.Length; j++) byIndex[saved[i].Params[j]] = group.Params[j];
            merged[i] = new ParamGroup(group.Params);
            foreach (var (name, value) in group.Options) merged[i][name] = value;
            foreach (var (name, value) in saved[i].Options) merged[i][name] = value;
            if (Problem(merged[i]) is { } problem) throw new ArgumentException($"{op}: parameter group {i}: {problem}");
        }

        var state = new Dictionary<Tensor, Dictionary<string, Tensor>>(ReferenceEqualityComparer.Instance);
        using (Autograd.NoGrad())
            foreach (var (key, value) in stateDict.State)
            {
                var parts = key.Split('.', 3);
                if (parts.Length != 3 || parts[0] != "state" || !int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out int index))
                    throw new ArgumentException($"{op}: unexpected key '{key}'; keys look like 'state.0.exp_avg'");
                if (!byIndex.TryGetValue(index, out var p))
                    throw new ArgumentException($"{op}: key '{key}' refers to parameter {index}, which no parameter group lists");
                string name = parts[2];
                // Every buffer has its parameter's shape; only the step count and scalar states differ.
                if (KeepsItsShape(name))
                {
                    if (!state.TryGetValue(p, out var own)) state[p] = own = [];
                    own[name] = value.Detach().Clone();
                    continue;
                }
                bool scalar = name == "step" || IsScalarState(name);
                if (!scalar && !value.Shape.SequenceEqual(p.Shape))
                    throw new ArgumentException($"{op}: '{key}' has shape {ShapeMath.Format(value.Shape)} but parameter {index} has shape {ShapeMath.Format(p.Shape)}");
                var dtype = scalar ? DType.Float64 : p.DType;
                if (!state.TryGetValue(p, out var s)) state[p] = s = [];
                s[name] = value.Detach().To(dtype).Clone();
            }

        for (int i = 0; i < merged.Length; i++)
            foreach (var (name, value) in merged[i].Options) _groups[i][name] = value;
        _state = state;
    }

    /// <summary>Whether a state entry other than "step" is a 0-d Float64 number rather than a buffer shaped like the parameter (NAdam's mu_product).</summary>
    protected virtual bool IsScalarState(string name) => false;

    /// <summary>Whether a state entry has a shape and dtype of its own (LBFGS's history), loaded as saved.</summary>
    protected virtual bool KeepsItsShape(string name) => false;

    /// <summary>The checks of the Adam family (Adam, Adamax, NAdam, RAdam): lr, eps and weight_decay non-negative, both betas in [0, 1).</summary>
    protected static string? AdamFamilyProblem(ParamGroup group)
    {
        var (beta1, beta2) = group.Pair("betas");
        return NonNegative(group, "lr", "learning rate")
            ?? NonNegative(group, "eps", "epsilon value")
            ?? UnitInterval(beta1, "beta parameter at index 0", includeOne: false)
            ?? UnitInterval(beta2, "beta parameter at index 1", includeOne: false)
            ?? NonNegative(group, "weight_decay", "weight_decay value");
    }
}
