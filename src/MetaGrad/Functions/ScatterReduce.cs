namespace MetaGrad.Functions;

/// <summary>
/// Values combined into self at logical row-major positions by a sum, product, mean, max or min
/// (torch.scatter_reduce, after the Tensor method has turned dim and index into positions). The
/// backward is written in tensor operations, so it differentiates again; each value's gradient is
/// read back from its position, and without includeSelf an element that received values forgets
/// its own, which then gets no gradient.
/// </summary>
internal sealed class ScatterReduce(Tensor positions, ScatterReduction reduce, bool includeSelf) : BinaryFunction
{
    readonly Tensor _flat = positions.Reshape(-1);

    public override string Name => "ScatterReduceBackward";

    protected override Tensor Forward(Context ctx, Tensor self, Tensor values)
    {
        Tensor y = self.Backend.PutReduce(self, positions, values, reduce, includeSelf);
        ctx.Save(self, values, y);
        return y;
    }

    protected override (Tensor?, Tensor?) Backward(Context ctx, Tensor grad)
    {
        var (self, values, y) = ctx.Saved;
        var landed = Landed(Tensor.OnesLike(values), self);              // how many values each element received
        var received = landed > 0.0;
        var keptOwn = includeSelf ? null : grad.MaskedFill(received, 0);  // self's gradient without includeSelf
        switch (reduce)
        {
            case ScatterReduction.Sum:
                return (keptOwn ?? grad, At(grad, values));
            case ScatterReduction.Mean:
            {
                var share = grad / (includeSelf ? landed + 1 : landed.Clamp(min: 1));
                return (keptOwn ?? share, At(share, values));
            }
            case ScatterReduction.Prod:
                return Product(grad, self, values, keptOwn);
            default:
            {
                // Every member equal to the extreme shares its gradient evenly (as PyTorch's amax and amin).
                var selfWins = includeSelf ? self == y : Tensor.ZerosLike(self, DType.Bool);
                var valueWins = values == At(y, values);
                var winners = Landed(valueWins.To(grad.DType), self) + selfWins.To(grad.DType);
                var share = grad / winners.Clamp(min: 1);
                return (keptOwn ?? share.MaskedFill(~selfWins, 0), At(share, values).MaskedFill(~valueWins, 0));
            }
        }
    }

    // d(product)/d(member) is the product of the other members: 0 when another member is 0, else the
    // product of the non-zero members over this one (dividing the whole product by a zero member fails).
    (Tensor?, Tensor?) Product(Tensor grad, Tensor self, Tensor values, Tensor? keptOwn)
    {
        var selfZero = includeSelf ? self == 0.0 : Tensor.ZerosLike(self, DType.Bool);
        var valueZero = values == 0.0;
        var zeros = Landed(valueZero.To(grad.DType), self) + selfZero.To(grad.DType);
        var nonzeroSelf = self.MaskedFill(selfZero, 1);
        var nonzeroValues = values.MaskedFill(valueZero, 1);
        // Through this node again, so the gradient differentiates with respect to the other members too.
        var nonzeroProduct = new ScatterReduce(positions, ScatterReduction.Prod, includeSelf).Apply(nonzeroSelf, nonzeroValues);
        var weighted = grad * nonzeroProduct;
        var gself = keptOwn ?? (weighted / nonzeroSelf).MaskedFill(zeros - selfZero.To(grad.DType) > 0.0, 0);
        var gvalues = (At(weighted, values) / nonzeroValues).MaskedFill(At(zeros, values) - valueZero.To(grad.DType) > 0.0, 0);
        return (gself, gvalues);
    }

    // t's elements at the positions, in the values' shape.
    Tensor At(Tensor t, Tensor values) => t.Reshape(-1).IndexSelect(0, _flat).Reshape(values.Shape.ToArray());

    // The sum of v's entries that land on each element of self.
    Tensor Landed(Tensor v, Tensor self) =>
        Tensor.Zeros([self.Numel], v.DType).IndexAdd(0, _flat, v.Reshape(-1)).Reshape(self.Shape.ToArray());
}
