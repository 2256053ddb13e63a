namespace MetaGrad.Backends;

/// <summary>
/// What a kernel sees of a tensor: its storage and its layout (shape, strides, offset), and nothing
/// of autograd — no gradient, no graph node, no hooks. Kernels take and return these, so a kernel
/// cannot reach the graph even by mistake (candle's split of storage and layout). A struct of two
/// references: passing one costs nothing over passing the tensor.
/// </summary>
internal readonly record struct RawTensor(Storage Storage, Layout Layout)
{
    public DType DType => Storage.DType;
    public int[] Shape => Layout.Shape;
    public int Numel => Layout.Numel;
    public int Rank => Layout.Rank;

    // A Function hands its inputs to a kernel as they are ... (A null literal would reach this
    // operator too, through the conversion of null to Tensor: kernels write default(RawTensor?).)
    public static implicit operator RawTensor(Tensor t) =>
        t is null ? throw new ArgumentNullException(nameof(t), "a kernel was given a missing tensor where one is required") : new(t.Storage, t.Layout);
    // ... optional ones too (a missing bias stays missing) ...
    public static implicit operator RawTensor?(Tensor? t) => t is null ? null : new(t.Storage, t.Layout);
    // ... and wraps a kernel's result as a tensor with no history, which Function.End then links.
    public static implicit operator Tensor(RawTensor r) => new(r.Storage, r.Layout);
    public static implicit operator Tensor?(RawTensor? r) => r is { } v ? new(v.Storage, v.Layout) : null;
}
