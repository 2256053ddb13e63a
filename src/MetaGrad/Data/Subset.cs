namespace MetaGrad.Data;

/// <summary>The items of a dataset at chosen positions, in the order given (torch.utils.data.Subset).</summary>
public sealed class Subset<T> : Dataset<T>
{
    readonly int[] _indices;

    /// <summary>A view of <paramref name="dataset"/> through <paramref name="indices"/>.</summary>
    public Subset(Dataset<T> dataset, IReadOnlyList<int> indices)
    {
        Source = dataset;
        _indices = indices.ToArray();
        foreach (var i in _indices)
            if ((uint)i >= (uint)dataset.Count)
                throw new ArgumentOutOfRangeException(nameof(indices), $"Subset: index {i} is out of range for a dataset of {dataset.Count} items");
    }

    /// <summary>The dataset the items come from.</summary>
    public Dataset<T> Source { get; }

    /// <summary>The positions in <see cref="Source"/>.</summary>
    public IReadOnlyList<int> Indices => _indices;

    /// <inheritdoc/>
    public override int Count => _indices.Length;

    /// <inheritdoc/>
    public override T this[int index]
    {
        get
        {
            CheckIndex(index);
            return Source[_indices[index]];
        }
    }
}

/// <summary>Several datasets one after another (torch.utils.data.ConcatDataset).</summary>
public sealed class ConcatDataset<T> : Dataset<T>
{
    readonly Dataset<T>[] _parts;
    readonly int[] _ends;   // _ends[k]: items in parts 0..k, so part k holds positions _ends[k-1].._ends[k]-1

    /// <summary>The items of each dataset in turn.</summary>
    public ConcatDataset(params Dataset<T>[] datasets)
    {
        if (datasets.Length == 0) throw new ArgumentException("ConcatDataset: datasets should not be an empty list");
        _parts = (Dataset<T>[])datasets.Clone();
        _ends = new int[_parts.Length];
        int total = 0;
        for (int k = 0; k < _parts.Length; k++) _ends[k] = total += _parts[k].Count;
    }

    /// <summary>The datasets joined.</summary>
    public IReadOnlyList<Dataset<T>> Datasets => _parts;

    /// <inheritdoc/>
    public override int Count => _ends[^1];

    /// <inheritdoc/>
    public override T this[int index]
    {
        get
        {
            CheckIndex(index);
            // The first part whose end lies beyond index holds it.
            int k = Array.BinarySearch(_ends, index);
            k = k >= 0 ? k + 1 : ~k;
            while (_parts[k].Count == 0) k++;   // never stops on an empty part
            return _parts[k][index - (k == 0 ? 0 : _ends[k - 1])];
        }
    }
}
