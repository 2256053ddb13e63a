using CsCheck;
using torch = TorchSharp.torch;

namespace MetaGrad.Conformance.Harness;

/// <summary>
/// One entry of an index expression, written once and converted to both libraries: an integer, a
/// slice start:stop:step, a C# range, None, an ellipsis, or a tensor (an Int64 index or a Bool mask,
/// given as input number <see cref="Input"/> of the case).
/// </summary>
public readonly record struct Ix(Ix.Kinds Kind, int Value = 0, int? Start = null, int? Stop = null, int Step = 1, int Input = -1)
{
    /// <summary>The kinds of entry.</summary>
    public enum Kinds { Int, Slice, Range, NewAxis, Ellipsis, Tensor }

    /// <summary>A full slice (:).</summary>
    public static Ix Full => new(Kinds.Slice);

    /// <summary>MetaGrad's form; tensor entries come from <paramref name="inputs"/>.</summary>
    public TensorIndex ToMetaGrad(Tensor[] inputs) => Kind switch
    {
        Kinds.Int => Value,
        Kinds.Slice => TensorIndex.Slice(Start, Stop, Step),
        Kinds.Range => new Range(At(Start ?? 0), Stop is null ? Index.End : At(Stop.Value)),
        Kinds.NewAxis => Tensor.NewAxis,
        Kinds.Ellipsis => Tensor.Ellipsis,
        _ => inputs[Input],
    };

    static Index At(int i) => i < 0 ? Index.FromEnd(-i) : Index.FromStart(i);

    /// <summary>libtorch's form.</summary>
    public torch.TensorIndex ToTorch(torch.Tensor[] inputs) => Kind switch
    {
        Kinds.Int => torch.TensorIndex.Single(Value),
        Kinds.Slice => torch.TensorIndex.Slice(Start, Stop, Step),
        Kinds.Range => torch.TensorIndex.Slice(Start ?? 0, Stop),
        Kinds.NewAxis => torch.TensorIndex.None,
        Kinds.Ellipsis => torch.TensorIndex.Ellipsis,
        _ => torch.TensorIndex.Tensor(inputs[Input]),
    };

    /// <inheritdoc/>
    public override string ToString() => Kind switch
    {
        Kinds.Int => Value.ToString(),
        Kinds.Slice => $"{Start}:{Stop}:{Step}",
        Kinds.Range => $"{Start ?? 0}..{(Stop is null ? "^0" : Stop < 0 ? "^" + -Stop : Stop.ToString())}",
        Kinds.NewAxis => "None",
        Kinds.Ellipsis => "...",
        _ => $"input {Input}",
    };

    /// <summary>The expression in MetaGrad's form.</summary>
    public static TensorIndex[] ToMetaGrad(Ix[] expr, Tensor[] inputs) => expr.Select(i => i.ToMetaGrad(inputs)).ToArray();

    /// <summary>The expression in libtorch's form.</summary>
    public static torch.TensorIndex[] ToTorch(Ix[] expr, torch.Tensor[] inputs) => expr.Select(i => i.ToTorch(inputs)).ToArray();

    // A slice bound: none, or anything from one before the start to one past the end (clamped by both).
    static Gen<int?> Bound(int size) =>
        Gen.Frequency((1, Gen.Const((int?)null)), (3, Gen.Int[-size - 1, size + 1].Select(i => (int?)i)));

    /// <summary>An entry that consumes one dim of this size: a full slice, an integer, a slice or a C# range.</summary>
    public static Gen<Ix> Basic(int size)
    {
        var choices = new List<(int, IGen<Ix>)>
        {
            (2, Gen.Const(Full)),
            (3, from start in Bound(size) from stop in Bound(size) from step in Gen.Int[1, 3] select new Ix(Kinds.Slice, Start: start, Stop: stop, Step: step)),
            (1, from start in Gen.Int[-size, size] from stop in Bound(size) select new Ix(Kinds.Range, Start: start, Stop: stop)),
        };
        if (size > 0) choices.Add((2, Gen.Int[-size, size - 1].Select(i => new Ix(Kinds.Int, i))));
        return Gen.Frequency(choices.ToArray());
    }

    /// <summary>
    /// A basic index expression for a shape: one entry per dim, then either the trailing entries
    /// dropped or a run of them replaced by an ellipsis, and None inserted here and there.
    /// </summary>
    public static Gen<Ix[]> BasicExpression(int[] shape) =>
        from items in Gens.Sequence(shape.Select(Basic))
        from ellipsisAt in Gen.Int[-1, shape.Length]
        from ellipsisLength in Gen.Int[0, shape.Length]
        from keep in Gen.Int[0, shape.Length]
        from newAxis in Gen.Frequency((6, Gen.Const(false)), (1, Gen.Const(true))).Array[shape.Length + 2]
        select WithNewAxes(ellipsisAt >= 0
            ? [.. items[..ellipsisAt], new Ix(Kinds.Ellipsis), .. items[Math.Min(ellipsisAt + ellipsisLength, items.Length)..]]
            : items[..keep], newAxis);

    // libtorch's C++ index() refuses an empty list (Python's x[()]): an ellipsis stands for it.
    static Ix[] WithNewAxes(Ix[] items, bool[] before)
    {
        if (items.Length == 0) items = [new Ix(Kinds.Ellipsis)];
        var result = new List<Ix>();
        for (int i = 0; i <= items.Length; i++)
        {
            if (before[Math.Min(i, before.Length - 1)]) result.Add(new Ix(Kinds.NewAxis));
            if (i < items.Length) result.Add(items[i]);
        }
        return result.ToArray();
    }
}
