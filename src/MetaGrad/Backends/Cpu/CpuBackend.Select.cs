namespace MetaGrad.Backends.Cpu;

// Choosing between values elementwise: Where picks by a condition, Clamp between bounds.
internal sealed partial class CpuBackend
{
    public RawTensor Where(RawTensor cond, RawTensor a, RawTensor b)
    {
        RequireSameDType("Where", a, b);
        cond = cond.DType == DType.Bool ? cond : Cast(cond, DType.Bool);
        return a.DType switch
        {
            DType.Float32 => WhereTyped<float>(cond, a, b),
            DType.Float64 => WhereTyped<double>(cond, a, b),
            DType.Int64 => WhereTyped<long>(cond, a, b),
            DType.Int32 => WhereTyped<int>(cond, a, b),
            DType.Bool => WhereTyped<bool>(cond, a, b),
            DType.Float16 => WhereTyped<Half>(cond, a, b),
            DType.BFloat16 => WhereTyped<BFloat16>(cond, a, b),
            DType.UInt8 => WhereTyped<byte>(cond, a, b),
            DType.Int8 => WhereTyped<sbyte>(cond, a, b),
            DType.Int16 => WhereTyped<short>(cond, a, b),
            DType.UInt16 => WhereTyped<ushort>(cond, a, b),
            _ => throw UnknownDType("Where", a.DType),
        };
    }

    static RawTensor WhereTyped<T>(RawTensor cond, RawTensor a, RawTensor b) where T : unmanaged
    {
        var shape = ShapeMath.Broadcast("Where", ShapeMath.Broadcast("Where", cond.Layout.Shape, a.Layout.Shape), b.Layout.Shape);
        var y = New<T>(shape);
        var Y = Data<T>(y);
        var C = Data<bool>(cond);
        var A = Data<T>(a);
        var B = Data<T>(b);
        var w = new StridedWalk(shape, StridedWalk.Broadcast(cond, shape), StridedWalk.Broadcast(a, shape), StridedWalk.Broadcast(b, shape));
        int n = w.InnerSize, sc = w.InnerStride(0), sa = w.InnerStride(1), sb = w.InnerStride(2), i = 0;
        for (int o = 0; o < w.OuterCount; o++, w.Advance())
        {
            int pc = w.Offsets[0], pa = w.Offsets[1], pb = w.Offsets[2];
            for (int j = 0; j < n; j++) Y[i++] = C[pc + j * sc] ? A[pa + j * sa] : B[pb + j * sb];
        }
        return y;
    }

    public RawTensor Clamp(RawTensor x, double? lo, double? hi)
    {
        // Always a new tensor, even with no bound: the result must not alias the input.
        if (lo is null && hi is null) return Contiguous(x);
        var y = x;
        if (lo is double l) y = Binary(BinaryOp.Maximum, y, Cast(FromArray(new[] { l }, []), x.DType));
        if (hi is double h) y = Binary(BinaryOp.Minimum, y, Cast(FromArray(new[] { h }, []), x.DType));
        return y;
    }
}
