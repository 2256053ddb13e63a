namespace MetaGrad.Backends.Cpu;

/// <summary>
/// Walks several strided operands of one shape together: an odometer over all dims but the
/// last, and the innermost dim left to the kernel's tight loop. Dims that every operand can
/// treat as one (stride[d] == stride[d+1] * shape[d+1]) are merged first, so a contiguous
/// tensor of any rank becomes a single inner loop.
/// </summary>
internal sealed class StridedWalk
{
    readonly int[] _shape;
    readonly int[][] _strides;
    readonly int[] _index;

    /// <summary>Current start offset of each operand's inner run.</summary>
    public readonly int[] Offsets;
    /// <summary>Length of the inner run.</summary>
    public readonly int InnerSize;
    /// <summary>Number of inner runs.</summary>
    public readonly int OuterCount;

    public StridedWalk(int[] shape, params (int[] Strides, int Offset)[] operands)
    {
        // Merge mergeable adjacent dims; drop size-1 dims (their stride never matters).
        var dims = new List<int>();
        var strides = operands.Select(_ => new List<int>()).ToArray();
        for (int d = 0; d < shape.Length; d++)
        {
            if (shape[d] == 1) continue;
            if (dims.Count > 0 && operands.Select((o, k) => strides[k][^1] == o.Strides[d] * shape[d]).All(b => b))
            {
                dims[^1] *= shape[d];
                for (int k = 0; k < operands.Length; k++) strides[k][^1] = operands[k].Strides[d];
                continue;
            }
            dims.Add(shape[d]);
            for (int k = 0; k < operands.Length; k++) strides[k].Add(operands[k].Strides[d]);
        }
        if (shape.Any(s => s == 0)) { dims.Clear(); dims.Add(0); foreach (var s in strides) { s.Clear(); s.Add(0); } }
        if (dims.Count == 0) { dims.Add(1); foreach (var s in strides) s.Add(0); }
        _shape = dims.ToArray();
        _strides = strides.Select(s => s.ToArray()).ToArray();
        _index = new int[_shape.Length];
        Offsets = operands.Select(o => o.Offset).ToArray();
        InnerSize = _shape[^1];
        long outer = 1;
        for (int d = 0; d < _shape.Length - 1; d++) outer *= _shape[d];
        OuterCount = InnerSize == 0 ? 0 : (int)outer;
    }

    /// <summary>Stride of operand k along the inner run.</summary>
    public int InnerStride(int k) => _strides[k][^1];

    /// <summary>Moves every operand to the start of the next inner run.</summary>
    public void Advance()
    {
        for (int d = _shape.Length - 2; d >= 0; d--)
        {
            _index[d]++;
            for (int k = 0; k < Offsets.Length; k++) Offsets[k] += _strides[k][d];
            if (_index[d] < _shape[d]) return;
            for (int k = 0; k < Offsets.Length; k++) Offsets[k] -= _strides[k][d] * _shape[d];
            _index[d] = 0;
        }
    }

    /// <summary>Operand strides of a tensor seen through a broadcast to <paramref name="shape"/>.</summary>
    public static (int[] Strides, int Offset) Broadcast(Tensor t, int[] shape)
    {
        var l = t.Layout.Expand(shape);
        return (l.Strides, l.Offset);
    }

    public static (int[] Strides, int Offset) Of(Tensor t) => (t.Layout.Strides, t.Layout.Offset);
}
