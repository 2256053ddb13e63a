namespace MetaGrad.Optim;

/// <summary>
/// An optimizer's state as plain data, laid out like PyTorch's optimizer state_dict: tensors apart
/// from scalars, so a checkpoint can put the first in safetensors and the second in JSON.
/// Parameters are numbered 0, 1, 2... across the groups in order; the numbers stand in for the
/// tensors themselves, so the state loads into a new optimizer over new (equally shaped) parameters.
/// </summary>
public sealed class OptimizerStateDict
{
    /// <summary>Per-parameter state keyed <c>"state.{paramIndex}.{name}"</c> (e.g. <c>"state.0.exp_avg"</c>, <c>"state.0.step"</c>).</summary>
    public Dictionary<string, Tensor> State { get; set; } = [];

    /// <summary>One entry per parameter group, in order.</summary>
    public List<ParamGroupState> ParamGroups { get; set; } = [];
}

/// <summary>A parameter group as data: which parameters, and its options.</summary>
public sealed class ParamGroupState
{
    /// <summary>The indices of the group's parameters (PyTorch's "params").</summary>
    public int[] Params { get; set; } = [];

    /// <summary>The options by PyTorch's names; values are double, bool, or double[] of two (betas).</summary>
    public Dictionary<string, object> Options { get; set; } = [];
}
