using System.Globalization;
using torch = TorchSharp.torch;

namespace MetaGrad.Conformance.Harness;

/// <summary>What an input holds: floating values (the dtype under test), an Int64 index, or a Bool mask.</summary>
public enum Kind { Float, Int64, Bool }

/// <summary>
/// How an input is laid out in memory. Every layout but Contiguous is a view of a leaf tensor, made
/// the same way in both libraries, so the view's own backward is part of what is compared.
/// </summary>
public enum LayoutKind
{
    /// <summary>The leaf itself, row-major.</summary>
    Contiguous,
    /// <summary>The leaf with dims Dim0 and Dim1 swapped: leaf.Transpose(Dim0, Dim1).</summary>
    Transposed,
    /// <summary>Every other element of dim Dim0 of a leaf twice as long: leaf[..., ::2, ...].</summary>
    Stepped,
    /// <summary>A leaf with size-1 (or missing leading) dims broadcast to the shape: leaf.Expand(shape), stride 0.</summary>
    Expanded,
}

/// <summary>
/// One input of a generated case: the values of a leaf tensor (row-major, as doubles), the view that
/// turns the leaf into the operation's argument, and whether the leaf requires grad. Gradients are
/// compared at the leaf.
/// </summary>
public sealed record TensorSpec(Kind Kind, int[] Shape, LayoutKind Layout, int[] LeafShape, double[] Values, int Dim0 = 0, int Dim1 = 0, bool RequiresGrad = false)
{
    /// <summary>True for a floating leaf whose gradient is compared.</summary>
    public bool IsDifferentiable => Kind == Kind.Float && RequiresGrad;

    /// <summary>A contiguous input.</summary>
    public static TensorSpec Plain(Kind kind, int[] shape, double[] values, bool requiresGrad = false) =>
        new(kind, shape, LayoutKind.Contiguous, shape, values, RequiresGrad: requiresGrad);

    /// <summary>The leaf and the view of it, in MetaGrad; floating inputs take <paramref name="floatType"/>.</summary>
    public (Tensor Leaf, Tensor Input) ToMetaGrad(DType floatType)
    {
        var leaf = Kind switch
        {
            Kind.Float when floatType == DType.Float32 => Tensor.From(Values.Select(v => (float)v).ToArray(), LeafShape, RequiresGrad),
            Kind.Float => Tensor.From(Values.ToArray(), LeafShape, RequiresGrad),
            Kind.Int64 => Tensor.From(Values.Select(v => (long)v).ToArray(), LeafShape),
            _ => Tensor.From(Values.Select(v => v != 0).ToArray(), LeafShape),
        };
        var input = Layout switch
        {
            LayoutKind.Transposed => leaf.Transpose(Dim0, Dim1),
            LayoutKind.Stepped => leaf[Enumerable.Range(0, leaf.NDim).Select(d => d == Dim0 ? TensorIndex.Slice(step: 2) : (TensorIndex)Range.All).ToArray()],
            LayoutKind.Expanded => leaf.Expand(Shape),
            _ => leaf,
        };
        return (leaf, input);
    }

    /// <summary>The leaf and the view of it, in libtorch.</summary>
    public (torch.Tensor Leaf, torch.Tensor Input) ToTorch(torch.ScalarType floatType)
    {
        var dims = LeafShape.Select(s => (long)s).ToArray();
        var leaf = Kind switch
        {
            Kind.Float when floatType == torch.ScalarType.Float32 => torch.tensor(Values.Select(v => (float)v).ToArray(), dims, requires_grad: RequiresGrad),
            Kind.Float => torch.tensor(Values.ToArray(), dims, requires_grad: RequiresGrad),
            Kind.Int64 => torch.tensor(Values.Select(v => (long)v).ToArray(), dims),
            _ => torch.tensor(Values.Select(v => v != 0).ToArray(), dims),
        };
        var input = Layout switch
        {
            LayoutKind.Transposed => leaf.transpose(Dim0, Dim1),
            LayoutKind.Stepped => leaf.slice(Dim0, 0, LeafShape[Dim0], 2),
            LayoutKind.Expanded => leaf.expand(Shape.Select(s => (long)s).ToArray()),
            _ => leaf,
        };
        return (leaf, input);
    }

    /// <summary>A reproducible description: shape, layout, dtype kind and every leaf value (round-trip precision).</summary>
    public override string ToString()
    {
        var layout = Layout switch
        {
            LayoutKind.Transposed => $" = leaf{Fmt(LeafShape)}.Transpose({Dim0}, {Dim1})",
            LayoutKind.Stepped => $" = leaf{Fmt(LeafShape)}[step 2 on dim {Dim0}]",
            LayoutKind.Expanded => $" = leaf{Fmt(LeafShape)}.Expand",
            _ => "",
        };
        var values = string.Join(", ", Values.Select(v => Kind == Kind.Float ? v.ToString("R", CultureInfo.InvariantCulture) : ((long)v).ToString(CultureInfo.InvariantCulture)));
        return $"{Kind}{Fmt(Shape)}{layout}{(RequiresGrad ? " requiresGrad" : "")} values [{values}]";
    }

    internal static string Fmt(IEnumerable<int> shape) => "[" + string.Join(", ", shape) + "]";
}
