using static MetaGrad.Conformance.Interop.TorchBridge;
using torch = TorchSharp.torch;

namespace MetaGrad.Conformance;

/// <summary>
/// UInt16 against libtorch 2.10's torch.uint16. TorchSharp's ScalarType has no member for it, but
/// libtorch takes c10's number (UInt16 = 27) as it is, so the tensors are made there by a cast;
/// values travel as Int32, which holds every uint16 exactly. libtorch's CPU kernels for this
/// "barebones" dtype cover only part of the API (multiplication, true division, equality, sums,
/// sort, joins, casts, fills): there the two must agree exactly. Where libtorch raises "not
/// implemented for 'UInt16'" (addition, negation, ordering comparisons, extremes, indexing
/// kernels...) MetaGrad computes, wrapping modulo 65536 as uint8 does; those results are checked
/// against libtorch computing in Int64 and casting back, and the refusal itself is asserted, so a
/// libtorch that learns the operation fails here and the two are compared directly.
/// </summary>
public class UInt16Conformance
{
    const torch.ScalarType TorchUInt16 = (torch.ScalarType)27;

    static torch.Tensor ToTorchU16(Tensor t) =>
        torch.tensor(t.ToArray<int>(), t.Shape.Select(d => (long)d).ToArray()).to_type(TorchUInt16);

    static void Same(Tensor ours, torch.Tensor theirs, string what)
    {
        Assert.True(ours.Shape.Select(d => (long)d).SequenceEqual(theirs.shape), $"{what}: shapes differ");
        if (theirs.dtype == TorchUInt16)
        {
            Assert.True(ours.DType == DType.UInt16, $"{what}: MetaGrad gave {ours.DType}, libtorch uint16");
            using var wide = theirs.to_type(torch.ScalarType.Int32).contiguous();
            Assert.Equal(wide.data<int>().ToArray(), ours.ToArray<int>());
            return;
        }
        Assert.True(ours.DType == FromTorch(theirs.dtype), $"{what}: dtype {ours.DType} in MetaGrad, {theirs.dtype} in libtorch");
        using var d = theirs.to_type(torch.ScalarType.Float64).contiguous();
        Assert.Equal(d.data<double>().ToArray(), ours.ToArray<double>());
    }

    // Values over the whole range, the ends and the int16 boundary included.
    static Tensor Spread(int n, int seed) =>
        Tensor.From(Enumerable.Range(0, n).Select(i => (ushort)(i switch { 0 => 0, 1 => 65535, 2 => 32767, 3 => 32768, _ => (i * 7919 + seed * 104729) % 65536 })).ToArray(), [n / 8, 8]);

    [Fact]
    public void WhatLibtorchComputes_AgreesExactly()
    {
        using var scope = torch.NewDisposeScope();
        var (a, b) = (Spread(256, 1), Spread(256, 2));
        var (ta, tb) = (ToTorchU16(a), ToTorchU16(b));
        Same(a * b, ta * tb, "Mul (wraps)");
        Same(a * 3, ta * 3, "Mul by a number");
        Same(a * 70001, ta * 70001, "Mul by a number beyond the range (wrapped first)");
        Same(a * -1, ta * -1, "Mul by a negative number (wrapped first)");
        Same(a * Tensor.From(70001L), ta * torch.tensor(70001L), "Mul by a 0-d Int64 (stays uint16)");
        Same(a / b.Clamp(1, null), ta / ToTorchU16(b.Clamp(1, null)), "True division (Float32)");
        Same(a + 0.5, ta + 0.5, "Add a float number (Float32)");
        Same(a == b, ta == tb, "Eq");
        Same(a.Sum(), ta.sum(), "Sum (Int64)");
        Same(a.Sum(1), ta.sum(1), "Sum(1) (Int64)");
        Same(a.Cumsum(1), ta.cumsum(1), "Cumsum (Int64)");
        Same(a[.., ..2].Prod(1), ta[.., ..2].prod(1), "Prod (Int64)");
        var (values, indices) = a.Sort(1);
        var sorted = ta.sort(1);
        Same(values, sorted.Values, "Sort values");
        Same(indices, sorted.Indices, "Sort indices");
        Same(a.Unique().Values, ta.unique().output, "Unique");
        Same(Tensor.Cat([a, b], 1), torch.cat([ta, tb], 1), "Cat");
        Same(Tensor.Stack([a, b]), torch.stack([ta, tb]), "Stack");
        Same(a.T.Contiguous(), ta.t().contiguous(), "Transpose, contiguous");
        var rows = Tensor.From(new[] { 3L, 0L, 31L });
        Same(a.IndexSelect(0, rows), ta.index_select(0, ToTorch(rows)), "IndexSelect of rows");
        Same(Tensor.Full([3], 65535, DType.UInt16), torch.full([3], 65535, TorchUInt16), "Full");
        Same(Tensor.Ones([3], DType.UInt16), torch.ones(3, TorchUInt16), "Ones");
        var y = a.Clone();
        y[0, 0] = Tensor.Scalar(40000, DType.UInt16);
        var ty = ta.clone();
        ty[0, 0] = torch.tensor(40000).to_type(TorchUInt16);
        Same(y, ty, "Index assignment");
        foreach (var dtype in new[] { DType.Float32, DType.Float64, DType.Float16, DType.BFloat16, DType.Int64, DType.Int32, DType.Int16, DType.Int8, DType.UInt8, DType.Bool })
            Same(a.To(dtype), ta.to_type(ToTorch(dtype)), $"UInt16 -> {dtype}");
    }

    [Fact]
    public void CastsIntoUInt16_AgreeExactly()
    {
        using var scope = torch.NewDisposeScope();
        // In range, float to uint16 truncates toward zero; outside it C++ leaves the conversion undefined.
        var f = Tensor.From(Enumerable.Range(0, 64).Select(i => i * 1023.97f).ToArray());
        Same(f.To(DType.UInt16), ToTorch(f).to_type(TorchUInt16), "Float32 -> UInt16");
        Same(f.Half().To(DType.UInt16), ToTorch(f.Half()).to_type(TorchUInt16), "Float16 -> UInt16");
        var l = Tensor.From(Enumerable.Range(0, 64).Select(i => (long)i * 40009 - 1000000).ToArray());
        Same(l.To(DType.UInt16), ToTorch(l).to_type(TorchUInt16), "Int64 -> UInt16 (wraps)");
        var s = Tensor.From(Enumerable.Range(0, 64).Select(i => (short)(i * 1237 - 30000)).ToArray());
        Same(s.To(DType.UInt16), ToTorch(s).to_type(TorchUInt16), "Int16 -> UInt16");
        Same(Tensor.From(new[] { true, false }).To(DType.UInt16), torch.tensor(new[] { true, false }).to_type(TorchUInt16), "Bool -> UInt16");
    }

    [Fact]
    public void Promotion_AgreesWithLibtorch()
    {
        using var scope = torch.NewDisposeScope();
        var a = Spread(8, 3);
        var ta = ToTorchU16(a);
        foreach (var other in new[] { DType.Int64, DType.Int32, DType.Int16, DType.Int8, DType.UInt8, DType.Bool })
        {
            var o = Tensor.Ones([8], other);
            Assert.Contains("Promotion for uint16, uint32, uint64 types is not supported", Assert.ThrowsAny<Exception>(() => ta * ToTorch(o)).Message);
            Assert.Contains("Promotion for uint16, uint32, uint64 types is not supported", Assert.Throws<ArgumentException>(() => a * o).Message);
        }
        foreach (var other in new[] { DType.Float32, DType.Float64, DType.Float16, DType.BFloat16 })
        {
            var o = Tensor.Full([8], 0.5, other);
            Same(a * o, ta * ToTorch(o), $"UInt16 * {other}");
        }
        // A 0-d uint16 does not decide an Int32 tensor's dtype; a Bool tensor meets it through promote_types, which refuses.
        Same(Tensor.Ones([8], DType.Int32) * Tensor.Scalar(7, DType.UInt16), torch.ones(8, torch.ScalarType.Int32) * torch.tensor(7).to_type(TorchUInt16), "Int32 * 0-d UInt16");
        Assert.ThrowsAny<Exception>(() => torch.ones(8, torch.ScalarType.Bool) * torch.tensor(7).to_type(TorchUInt16));
        Assert.Throws<ArgumentException>(() => Tensor.Ones([8], DType.Bool) * Tensor.Scalar(7, DType.UInt16));
    }

    [Fact]
    public void WhatLibtorchRefuses_MetaGradComputes_AsInt64WrappedBack()
    {
        using var scope = torch.NewDisposeScope();
        var (a, b) = (Spread(256, 4), Spread(256, 5));
        var (ta, tb) = (ToTorchU16(a), ToTorchU16(b));
        var (la, lb) = (ta.to_type(torch.ScalarType.Int64), tb.to_type(torch.ScalarType.Int64));
        void Refused(Func<torch.Tensor> op) => Assert.Contains("not implemented for 'UInt16'", Assert.ThrowsAny<Exception>(op).Message);

        Refused(() => ta + tb);
        Same(a + b, (la + lb).to_type(TorchUInt16), "Add");
        Refused(() => ta - tb);
        Same(a - b, (la - lb).to_type(TorchUInt16), "Sub");
        Refused(() => -ta);
        Same(-a, (-la).to_type(TorchUInt16), "Neg");
        Refused(() => ta < tb);
        Same(a < b, la < lb, "Lt");
        Refused(() => ta.max());
        Same(a.Max(), la.max().to_type(TorchUInt16), "Max");
        Refused(() => ta.clamp(100, 60000));
        Same(a.Clamp(100, 60000), la.clamp(100, 60000).to_type(TorchUInt16), "Clamp");
        Refused(() => ta.remainder(tb.clamp_min(1)));
        var positive = b.Clamp(1, null);
        Same(a.Remainder(positive), la.remainder(ToTorchU16(positive).to_type(torch.ScalarType.Int64)).to_type(TorchUInt16), "Remainder");
        var index = Tensor.From(new[] { 3L, 0L, 7L });
        Refused(() => ta[0].index_select(0, ToTorch(index)));   // a 1-d source; libtorch selects rows of a matrix by copies
        Same(a[0].IndexSelect(0, index), la[0].index_select(0, ToTorch(index)).to_type(TorchUInt16), "IndexSelect");
        Refused(() => ta.flip(1));
        Same(a.Flip(1).Contiguous(), la.flip(1).to_type(TorchUInt16), "Flip");
    }
}
