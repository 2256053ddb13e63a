namespace MetaGrad.Functions;

/// <summary>
/// A value chosen from x (its median, say) returned as a function of x whose gradient is split
/// evenly among the elements equal to it, as PyTorch's median() of a whole tensor does
/// (evenly_distribute_backward); NaN is shared among the NaNs.
/// </summary>
internal sealed class EvenlyDistributed(string name, Tensor value) : UnaryFunction
{
    public override string Name => name + "Backward";

    protected override Tensor Forward(Context ctx, Tensor x)
    {
        ctx.Save(x);
        return value;
    }

    protected override Tensor Backward(Context ctx, Tensor grad)
    {
        var x = ctx.Saved[0];
        var isValue = (double.IsNaN(value.Item<double>()) ? x.IsNaN() : x == value).To(x.DType);
        return isValue / isValue.Sum() * grad;
    }
}
