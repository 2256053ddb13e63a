using System.Numerics.Tensors;
using System.Numerics;

namespace MetaGrad.Backends.Cpu;

internal sealed partial class CpuBackend
{
    static RawTensor View(RawTensor t, Layout layout) => new(t.Storage, layout);

    static int[] IndexData(RawTensor index, string op)
    {
        if (index.DType is not (DType.Int64 or DType.Int32))
            throw new ArgumentException($"{op}: expected an Int64 or Int32 index tensor, got {index.DType}");
        var data = Instance.ToArray<long>(index);
        var result = new int[data.Length];
        for (int i = 0; i < data.Length; i++) result[i] = checked((int)data[i]);
        return result;
    }

    static void CheckIndex(string op, long index, int size, int dim)
    {
        if (index < 0 || index >= size)
            throw new ArgumentOutOfRangeException(nameof(index), $"{op}: index {index} is out of bounds for dimension {dim} with size {size}");
    }

    public RawTensor Gather(RawTensor x, int dim, RawTensor index)
    {
        CheckGatherShapes("Gather", x, dim, index);
        if (AlongContiguousRows(x, dim, index, null))
            return x.DType == DType.Float32 ? GatherRows<float>(x, index) : GatherRows<double>(x, index);
        var idx = IndexData(index, "Gather");
        var y = Empty(index.Layout.Shape, x.DType);
        // Walk the index shape; the source is x with its gathered dim pinned, moved by idx * stride.
        var pinned = (int[])x.Layout.Strides.Clone();
        pinned[dim] = 0;
        int size = x.Layout.Shape[dim], stride = x.Layout.Strides[dim];
        var positions = Positions(index.Layout.Shape, (pinned, x.Layout.Offset));
        var offsets = new int[idx.Length];
        for (int k = 0; k < idx.Length; k++)
        {
            CheckIndex("Gather", idx[k], size, dim);
            offsets[k] = positions[k] + idx[k] * stride;
        }
        GatherOffsets(x, y, offsets);
        return y;
    }

    static void CheckGatherShapes(string op, RawTensor x, int dim, RawTensor index)
    {
        var xs = x.Layout.Shape;
        var ids = index.Layout.Shape;
        if (ids.Length != xs.Length)
            throw new ArgumentException($"{op}: index tensor must have the same number of dimensions as the input ({ShapeMath.Format(ids)} vs {ShapeMath.Format(xs)})");
        for (int d = 0; d < xs.Length; d++)
            if (d != dim && ids[d] > xs[d])
                throw new ArgumentException($"{op}: size {ids[d]} of index {ShapeMath.Format(ids)} exceeds size {xs[d]} of input {ShapeMath.Format(xs)} at dimension {d}");
    }

    /// <summary>The storage offset of every element of a strided view, in row-major order of <paramref name="shape"/>.</summary>
    static int[] Positions(int[] shape, (int[] Strides, int Offset) operand)
    {
        var result = new int[ShapeMath.Numel(shape)];
        var w = new StridedWalk(shape, operand);
        int n = w.InnerSize, s = w.InnerStride(0), i = 0;
        for (int o = 0; o < w.OuterCount; o++, w.Advance())
            for (int j = 0; j < n; j++) result[i++] = w.Offsets[0] + j * s;
        return result;
    }

    static void GatherOffsets(RawTensor x, RawTensor y, int[] offsets)
    {
        switch (x.DType)
        {
            case DType.Float32: Take<float>(x, y, offsets); break;
            case DType.Float64: Take<double>(x, y, offsets); break;
            case DType.Int64: Take<long>(x, y, offsets); break;
            case DType.Int32: Take<int>(x, y, offsets); break;
            case DType.Bool: Take<bool>(x, y, offsets); break;
            case DType.Float16: Take<Half>(x, y, offsets); break;
            case DType.BFloat16: Take<BFloat16>(x, y, offsets); break;
            case DType.UInt8: Take<byte>(x, y, offsets); break;
            case DType.Int8: Take<sbyte>(x, y, offsets); break;
            case DType.Int16: Take<short>(x, y, offsets); break;
            case DType.UInt16: Take<ushort>(x, y, offsets); break;
            default: throw UnknownDType("Gather", x.DType);
        }
    }

    static void Take<T>(RawTensor x, RawTensor y, int[] offsets) where T : unmanaged
    {
        var X = Data<T>(x);
        var Y = Data<T>(y);
        for (int k = 0; k < offsets.Length; k++) Y[k] = X[offsets[k]];
    }

    /// <summary>dst[offsets[k]] (+)= values[k] for a contiguous values tensor.</summary>
    static void Scatter(RawTensor dst, int[] offsets, RawTensor values, bool accumulate)
    {
        values = Instance.Cast(values, dst.DType);
        switch (dst.DType)
        {
            case DType.Float32: ScatterTyped<float>(dst, offsets, values, accumulate); break;
            case DType.Float64: ScatterTyped<double>(dst, offsets, values, accumulate); break;
            case DType.Int64: ScatterTyped<long>(dst, offsets, values, accumulate); break;
            case DType.Int32: ScatterTyped<int>(dst, offsets, values, accumulate); break;
            case DType.Bool: Overwrite<bool>(dst, offsets, values, accumulate); break;
            case DType.Float16: Overwrite<Half>(dst, offsets, values, accumulate); break;
            case DType.BFloat16: Overwrite<BFloat16>(dst, offsets, values, accumulate); break;
            case DType.UInt8: Overwrite<byte>(dst, offsets, values, accumulate); break;
            case DType.Int8: Overwrite<sbyte>(dst, offsets, values, accumulate); break;
            case DType.Int16: Overwrite<short>(dst, offsets, values, accumulate); break;
            case DType.UInt16: Overwrite<ushort>(dst, offsets, values, accumulate); break;
            default: throw UnknownDType("Scatter", dst.DType);
        }
    }

    // Plain writes for the dtypes the kernels store but do not add in (Bool; the narrow dtypes,
    // whose accumulating writes WideningBackend runs in the wider dtype).
    static void Overwrite<T>(RawTensor dst, int[] offsets, RawTensor values, bool accumulate) where T : unmanaged
    {
        if (accumulate) throw new ArgumentException($"accumulating writes are not supported on {dst.DType} tensors");
        var D = Data<T>(dst);
        var V = Data<T>(values);
        for (int k = 0; k < offsets.Length; k++) D[offsets[k]] = V[k];
    }

    static void ScatterTyped<T>(RawTensor dst, int[] offsets, RawTensor values, bool accumulate) where T : unmanaged, INumber<T>
    {
        var D = Data<T>(dst);
        var V = Data<T>(values);
        if (accumulate) for (int k = 0; k < offsets.Length; k++) D[offsets[k]] += V[k];
        else for (int k = 0; k < offsets.Length; k++) D[offsets[k]] = V[k];
    }

    public RawTensor ScatterAdd(RawTensor self, int dim, RawTensor index, RawTensor src)
    {
        CheckGatherShapes("ScatterAdd", self, dim, index);
        var ids = index.Layout.Shape;
        for (int d = 0; d < ids.Length; d++)
            if (ids[d] > src.Layout.Shape[d])
                throw new ArgumentException($"ScatterAdd: size {ids[d]} of index {ShapeMath.Format(ids)} exceeds size {src.Layout.Shape[d]} of src {ShapeMath.Format(src.Layout.Shape)} at dimension {d}");
        if (AlongContiguousRows(self, dim, index, src))
            return self.DType == DType.Float32 ? ScatterAddRows<float>(self, index, src) : ScatterAddRows<double>(self, index, src);
        var idx = IndexData(index, "ScatterAdd");
        var y = Contiguous(self);
        var pinned = (int[])y.Layout.Strides.Clone();
        pinned[dim] = 0;
        int size = y.Layout.Shape[dim], stride = y.Layout.Strides[dim];
        var positions = Positions(ids, (pinned, 0));
        for (int k = 0; k < idx.Length; k++)
        {
            CheckIndex("ScatterAdd", idx[k], size, dim);
            positions[k] += idx[k] * stride;
        }
        // The src elements that pair with the index are its leading sub-block of the index's shape.
        var srcBlock = Contiguous(View(src, new Layout(ids, src.Layout.Strides, src.Layout.Offset)));
        Scatter(y, positions, srcBlock, accumulate: true);
        return y;
    }

    // Along the last dim of contiguous float operands whose other dims match (max pooling's gather
    // and its gradient): row r of the index reads from, or adds into, row r of x, with no table of
    // element offsets, which the general path builds and which cost it most of its time.
    static bool AlongContiguousRows(RawTensor x, int dim, RawTensor index, RawTensor? src) =>
        dim == x.Rank - 1 && x.DType is DType.Float32 or DType.Float64 && index.DType == DType.Int64
        && x.Layout.IsContiguous && index.Layout.IsContiguous
        && x.Shape.AsSpan(0, dim).SequenceEqual(index.Shape.AsSpan(0, dim))
        && (src is not { } s || (s.DType == x.DType && s.Layout.IsContiguous && s.Shape.AsSpan().SequenceEqual(index.Shape)));

    static RawTensor GatherRows<T>(RawTensor x, RawTensor index) where T : unmanaged
    {
        int width = x.Shape[^1], picks = index.Shape[^1], rows = picks == 0 ? 0 : index.Numel / picks;
        var (X, xAt) = (Data<T>(x), x.Layout.Offset);
        var (I, iAt) = (Data<long>(index), index.Layout.Offset);
        var y = NewUninitialized<T>(index.Shape);
        var Y = Data<T>(y);
        // Rows shared between threads; an index out of range stops its part and is reported after.
        int parts = RowParts(rows, index.Numel);
        var bad = new long?[parts];
        Threading.For(parts, part =>
        {
            for (int r = part * rows / parts; r < (part + 1) * rows / parts; r++)
                for (int j = 0; j < picks; j++)
                {
                    long k = I[iAt + r * picks + j];
                    if ((ulong)k >= (ulong)width)
                    {
                        bad[part] = k;
                        return;
                    }
                    Y[r * picks + j] = X[xAt + r * width + (int)k];
                }
        });
        foreach (var k in bad)
            if (k is long index0) CheckIndex("Gather", index0, width, x.Rank - 1);
        return y;
    }

    static RawTensor ScatterAddRows<T>(RawTensor self, RawTensor index, RawTensor src) where T : unmanaged, INumber<T>
    {
        int width = self.Shape[^1], picks = index.Shape[^1], rows = picks == 0 ? 0 : index.Numel / picks;
        var (I, iAt) = (Data<long>(index), index.Layout.Offset);
        var (S, sAt) = (Data<T>(src), src.Layout.Offset);
        var y = Contiguous(self);
        var Y = Data<T>(y);
        for (int r = 0; r < rows; r++)
            for (int j = 0; j < picks; j++)
            {
                long k = I[iAt + r * picks + j];
                if ((ulong)k >= (ulong)width) CheckIndex("ScatterAdd", k, width, self.Rank - 1);
                Y[r * width + (int)k] += S[sAt + r * picks + j];
            }
        return y;
    }

    public RawTensor IndexSelect(RawTensor x, int dim, RawTensor index)
    {
        var idx = IndexData(index, "IndexSelect");
        var shape = (int[])x.Layout.Shape.Clone();
        shape[dim] = idx.Length;
        foreach (var i in idx) CheckIndex("IndexSelect", i, x.Layout.Shape[dim], dim);
        var y = Overwritten(shape, x.DType);
        if (dim == 0 && x.Layout.IsContiguous)
        {
            // Rows of a contiguous tensor are contiguous blocks: one block copy per index (a batch of
            // images, an embedding's rows), the indices shared between threads when large.
            int row = x.Numel / Math.Max(x.Layout.Shape[0], 1);
            var src = x.Storage;
            int parts = (long)idx.Length * row >= ParallelElements && Threading.NumThreads > 1 && idx.Length > 1 ? Math.Min(Threading.NumThreads, idx.Length) : 1;
            Threading.For(parts, part =>
            {
                for (int k = part * idx.Length / parts; k < (part + 1) * idx.Length / parts; k++)
                    CopyBlock(src, x.Layout.Offset + idx[k] * row, y.Storage, k * row, row);
            });
            return y;
        }
        for (int k = 0; k < idx.Length; k++)
            Copy(View(y, y.Layout.Select(dim, k)), View(x, x.Layout.Select(dim, idx[k])));
        return y;
    }

    static void CopyBlock(Storage src, int srcOffset, Storage dst, int dstOffset, int length)
    {
        switch (src)
        {
            case CpuStorage<float> f: Array.Copy(f.Data, srcOffset, ((CpuStorage<float>)dst).Data, dstOffset, length); break;
            case CpuStorage<double> d: Array.Copy(d.Data, srcOffset, ((CpuStorage<double>)dst).Data, dstOffset, length); break;
            case CpuStorage<long> l: Array.Copy(l.Data, srcOffset, ((CpuStorage<long>)dst).Data, dstOffset, length); break;
            case CpuStorage<int> i: Array.Copy(i.Data, srcOffset, ((CpuStorage<int>)dst).Data, dstOffset, length); break;
            case CpuStorage<bool> b: Array.Copy(b.Data, srcOffset, ((CpuStorage<bool>)dst).Data, dstOffset, length); break;
            case CpuStorage<Half> h: Array.Copy(h.Data, srcOffset, ((CpuStorage<Half>)dst).Data, dstOffset, length); break;
            case CpuStorage<BFloat16> h: Array.Copy(h.Data, srcOffset, ((CpuStorage<BFloat16>)dst).Data, dstOffset, length); break;
            case CpuStorage<byte> u: Array.Copy(u.Data, srcOffset, ((CpuStorage<byte>)dst).Data, dstOffset, length); break;
            case CpuStorage<sbyte> i8: Array.Copy(i8.Data, srcOffset, ((CpuStorage<sbyte>)dst).Data, dstOffset, length); break;
            case CpuStorage<short> i16: Array.Copy(i16.Data, srcOffset, ((CpuStorage<short>)dst).Data, dstOffset, length); break;
            case CpuStorage<ushort> u16: Array.Copy(u16.Data, srcOffset, ((CpuStorage<ushort>)dst).Data, dstOffset, length); break;
            default: throw UnknownDType("IndexSelect", src.DType);
        }
    }

    public RawTensor IndexAdd(RawTensor self, int dim, RawTensor index, RawTensor src)
    {
        var idx = IndexData(index, "IndexAdd");
        if (src.Layout.Shape[dim] != idx.Length)
            throw new ArgumentException($"IndexAdd: src has {src.Layout.Shape[dim]} slices along dim {dim} but the index has {idx.Length} entries");
        var y = Contiguous(self);
        if (src.DType == y.DType)
        {
            switch (y.DType)
            {
                case DType.Float32: AddSlices<float>(y, dim, idx, src); return y;
                case DType.Float64: AddSlices<double>(y, dim, idx, src); return y;
                case DType.Int64: AddSlices<long>(y, dim, idx, src); return y;
                case DType.Int32: AddSlices<int>(y, dim, idx, src); return y;
            }
        }
        for (int k = 0; k < idx.Length; k++)
        {
            CheckIndex("IndexAdd", idx[k], y.Layout.Shape[dim], dim);
            var target = View(y, y.Layout.Select(dim, idx[k]));
            var slice = View(src, src.Layout.Select(dim, k));
            Copy(target, Binary(BinaryOp.Add, target, Cast(slice, y.DType)));
        }
        return y;
    }

    // y[..., idx[k], ...] += src[..., k, ...] over the dense y and src seen as [outer, ·, inner]: each
    // slice one vector addition of inner values, in the order of k (repeated indices accumulate as
    // PyTorch's serial kernel does), where a slice at a time through new tensors allocated three
    // small tensors per index (bench/results/TUNING.md).
    static void AddSlices<T>(RawTensor y, int dim, int[] idx, RawTensor src) where T : unmanaged, INumber<T>
    {
        var shape = y.Layout.Shape;
        int size = shape[dim], inner = 1, outer = 1;
        for (int d = dim + 1; d < shape.Length; d++) inner *= shape[d];
        for (int d = 0; d < dim; d++) outer *= shape[d];
        foreach (int i in idx) CheckIndex("IndexAdd", i, size, dim);
        using var source = Dense<T>(src);
        var (S, sAt) = source;
        var Y = Data<T>(y);
        for (int o = 0; o < outer; o++)
            for (int k = 0; k < idx.Length; k++)
            {
                var from = S.AsSpan(sAt + (o * idx.Length + k) * inner, inner);
                var to = Y.AsSpan((o * size + idx[k]) * inner, inner);
                TensorPrimitives.Add<T>(to, from, to);
            }
    }

    public RawTensor MaskedSelect(RawTensor x, RawTensor mask)
    {
        var shape = ShapeMath.Broadcast("MaskedSelect", x.Layout.Shape, mask.Layout.Shape);
        var m = ToArray<bool>(View(mask, mask.Layout.Expand(shape)));
        var positions = Positions(shape, StridedWalk.Broadcast(x, shape));
        var chosen = positions.Where((_, k) => m[k]).ToArray();
        var y = Empty([chosen.Length], x.DType);
        GatherOffsets(x, y, chosen);
        return y;
    }

    public RawTensor MaskedScatter(RawTensor self, RawTensor mask, RawTensor src)
    {
        var shape = self.Layout.Shape;
        ShapeMath.Broadcast("MaskedScatter", shape, mask.Layout.Shape);
        var m = ToArray<bool>(View(mask, mask.Layout.Expand(shape)));
        var y = Contiguous(self);
        var chosen = Enumerable.Range(0, m.Length).Where(k => m[k]).ToArray();
        if (src.Numel < chosen.Length)
            throw new ArgumentException($"MaskedScatter: the mask selects {chosen.Length} elements but src has only {src.Numel}");
        var flatSrc = Contiguous(src);
        Scatter(y, chosen, View(flatSrc, Layout.Contiguous([chosen.Length])), accumulate: false);
        return y;
    }

    public RawTensor Nonzero(RawTensor x)
    {
        var m = ToArray<bool>(x);
        var shape = x.Layout.Shape;
        var strides = Layout.ContiguousStrides(shape);
        var coords = new List<long>();
        int count = 0;
        for (int k = 0; k < m.Length; k++)
        {
            if (!m[k]) continue;
            count++;
            int rest = k;
            for (int d = 0; d < shape.Length; d++)
            {
                coords.Add(rest / strides[d]);
                rest %= strides[d];
            }
        }
        return FromArray(coords.ToArray(), [count, shape.Length]);
    }

    public void Put(RawTensor dst, RawTensor positions, RawTensor values, bool accumulate)
    {
        var logical = IndexData(positions, "Put");
        var offsets = Positions(dst.Layout.Shape, StridedWalk.Of(dst));
        var storageOffsets = new int[logical.Length];
        for (int k = 0; k < logical.Length; k++) storageOffsets[k] = offsets[logical[k]];
        var v = Contiguous(View(values, values.Layout.Expand(positions.Layout.Shape)));
        Scatter(dst, storageOffsets, v, accumulate);
    }

    public RawTensor Cat(RawTensor[] xs, int dim)
    {
        var shape = (int[])xs[0].Layout.Shape.Clone();
        shape[dim] = xs.Sum(x => x.Layout.Shape[dim]);
        var y = Overwritten(shape, xs[0].DType);   // the pieces cover it
        int start = 0;
        foreach (var x in xs)
        {
            int len = x.Layout.Shape[dim];
            Copy(View(y, y.Layout.Slice(dim, start, len, 1)), x);
            start += len;
        }
        return y;
    }
}
