namespace MetaGrad.NN;

/// <summary>
/// A tensor that is a learnable part of a module (torch.nn.Parameter): modules find their
/// Parameter fields by themselves, and optimizers receive them from <see cref="Module.Parameters"/>.
/// It shares storage with the tensor it was made from.
/// </summary>
public sealed class Parameter : Tensor
{
    /// <summary>Wraps data as a parameter (requiring grad by default).</summary>
    public Parameter(Tensor data, bool requiresGrad = true) : base(data.Storage, data.Layout)
    {
        if (!data.IsLeaf) throw new ArgumentException("Parameter: the data must be a leaf tensor; use Detach() first");
        RequiresGrad = requiresGrad && data.DType.IsFloatingPoint();
    }
}
