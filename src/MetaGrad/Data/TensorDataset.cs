namespace MetaGrad.Data;

/// <summary>
/// Rows of several tensors that share their first dim, such as inputs and targets
/// (torch.utils.data.TensorDataset). Item i is { t[i] for each tensor t }, each a view.
/// </summary>
public sealed class TensorDataset : Dataset<Tensor[]>
{
    readonly Tensor[] _tensors;

    /// <summary>Pairs up the rows of the tensors; all must have the same size in dim 0.</summary>
    public TensorDataset(params Tensor[] tensors)
    {
        if (tensors.Length == 0) throw new ArgumentException("TensorDataset: expected at least one tensor");
        for (int i = 0; i < tensors.Length; i++)
        {
            if (tensors[i].NDim == 0)
                throw new ArgumentException($"TensorDataset: tensor {i} is 0-dimensional; every tensor needs a first dim to index rows by");
            if (tensors[i].Shape[0] != tensors[0].Shape[0])
                throw new ArgumentException($"TensorDataset: size mismatch between tensors: tensor 0 has {tensors[0].Shape[0]} rows, tensor {i} has {tensors[i].Shape[0]}");
        }
        _tensors = (Tensor[])tensors.Clone();
    }

    /// <summary>The tensors whose rows make the items.</summary>
    public IReadOnlyList<Tensor> Tensors => _tensors;

    /// <inheritdoc/>
    public override int Count => _tensors[0].Shape[0];

    /// <inheritdoc/>
    public override Tensor[] this[int index]
    {
        get
        {
            CheckIndex(index);
            return _tensors.Select(t => t[index]).ToArray();
        }
    }
}
