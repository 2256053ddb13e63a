namespace MetaGrad.Data;

/// <summary>Functions that merge a list of items into one batch (PyTorch's collate_fn).</summary>
public static partial class Collate
{
    /// <summary>
    /// The default collate for rows of tensors: n items of k tensors become k tensors, each field
    /// stacked along a new first dim of size n (so a batch of (image, label) rows is (images, labels)).
    /// </summary>
    public static Tensor[] Stack(IReadOnlyList<Tensor[]> items)
    {
        if (items.Count == 0) throw new ArgumentException("Collate.Stack: cannot collate an empty batch");
        int fields = items[0].Length;
        for (int i = 1; i < items.Count; i++)
            if (items[i].Length != fields)
                throw new ArgumentException($"Collate.Stack: each item in a batch must hold the same number of tensors, but item 0 has {fields} and item {i} has {items[i].Length}");
        var batch = new Tensor[fields];
        var column = new Tensor[items.Count];
        for (int f = 0; f < fields; f++)
        {
            for (int i = 0; i < items.Count; i++) column[i] = items[i][f];
            try
            {
                batch[f] = Tensor.Stack(column);
            }
            catch (ArgumentException e)
            {
                throw new ArgumentException($"Collate.Stack: field {f} of the items cannot be stacked: {e.Message}", e);
            }
        }
        return batch;
    }

    /// <summary>Stacks single-tensor items along a new first dim.</summary>
    public static Tensor Stack(IReadOnlyList<Tensor> items)
    {
        if (items.Count == 0) throw new ArgumentException("Collate.Stack: cannot collate an empty batch");
        return Tensor.Stack(items.ToArray());
    }
}
