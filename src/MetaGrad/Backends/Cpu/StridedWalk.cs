namespace MetaGrad.Backends.Cpu;

/// <summary>
/// Walks several strided operands of one shape together: an odometer over all dims but the
/// last, and the innermost dim left to the kernel's tight loop. Dims that every operand can
/// treat as one (stride[d] == stride[d+1] * shape[d+1]) are merged first, so a contiguous
/// tensor of any rank becomes a single inner loop. Runs once per kernel call, so it avoids LINQ.
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
        int k = operands.Length, rank = 0;
        var dims = new int[Math.Max(shape.Length, 1)];
        var strides = new int[k][];
        for (int o = 0; o < k; o++) strides[o] = new int[dims.Length];
        bool empty = false;
        for (int d = 0; d < shape.Length; d++)
        {
            if (shape[d] == 0) empty = true;
            if (shape[d] == 1) continue;   // a size-1 dim's stride never matters
            bool merge = rank > 0;
            for (int o = 0; o < k && merge; o++) merge = strides[o][rank - 1] == operands[o].Strides[d] * shape[d];
            if (merge)
            {
                dims[rank - 1] *= shape[d];
                for (int o = 0; o < k; o++) strides[o][rank - 1] = operands[o].Strides[d];
                continue;
            }
            dims[rank] = shape[d];
            for (int o = 0; o < k; o++) strides[o][rank] = operands[o].Strides[d];
            rank++;
        }
        if (empty) { rank = 1; dims[0] = 0; }
        if (rank == 0) { rank = 1; dims[0] = 1; for (int o = 0; o < k; o++) strides[o][0] = 0; }
        _shape = rank == dims.Length ? dims : dims[..rank];
        _strides = strides;
        _index = new int[rank];
        Offsets = new int[k];
        for (int o = 0; o < k; o++) Offsets[o] = operands[o].Offset;
        InnerSize = _shape[rank - 1];
        long outer = 1;
        for (int d = 0; d < rank - 1; d++) outer *= _shape[d];
        OuterCount = InnerSize == 0 ? 0 : (int)outer;
    }

    /// <summary>Stride of operand k along the inner run.</summary>
    public int InnerStride(int k) => _strides[k][_shape.Length - 1];

    /// <summary>Moves every operand to the start of inner run <paramref name="run"/> (0 ≤ run ≤ OuterCount), from the walk's start.</summary>
    public void Seek(int run)
    {
        for (int d = _shape.Length - 2; d >= 0; d--)
        {
            _index[d] = run % _shape[d];
            run /= _shape[d];
            for (int k = 0; k < Offsets.Length; k++) Offsets[k] += _strides[k][d] * _index[d];
        }
    }

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
    public static (int[] Strides, int Offset) Broadcast(RawTensor t, int[] shape)
    {
        var l = t.Layout.Expand(shape);
        return (l.Strides, l.Offset);
    }

    public static (int[] Strides, int Offset) Of(RawTensor t) => (t.Layout.Strides, t.Layout.Offset);
}
