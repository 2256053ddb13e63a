using System.Collections;

namespace MetaGrad;

/// <summary>
/// A tensor's sizes, as PyTorch's <c>torch.Size</c>: a read-only list of ints that prints as
/// <c>[2, 3]</c> (so <c>Console.WriteLine(x.Shape)</c> shows the shape, not a collection's type
/// name) and equals another shape of the same sizes.
/// </summary>
public sealed class TensorShape : IReadOnlyList<int>, IEquatable<TensorShape>
{
    readonly int[] _sizes;   // the layout's own array: never written through this class

    internal TensorShape(int[] sizes) => _sizes = sizes;

    /// <summary>The size of dimension <paramref name="dim"/> (from 0; <c>shape[^1]</c> is the last).</summary>
    public int this[int dim] => _sizes[dim];

    /// <summary>The number of dimensions.</summary>
    public int Count => _sizes.Length;

    /// <summary>The number of elements a tensor of this shape holds (1 for a 0-d tensor), as <c>torch.Size.numel()</c>.</summary>
    public int Numel()
    {
        int n = 1;
        foreach (int s in _sizes) n *= s;
        return n;
    }

    /// <summary>The sizes as a new array.</summary>
    public int[] ToArray() => (int[])_sizes.Clone();

    /// <inheritdoc/>
    public IEnumerator<int> GetEnumerator() => ((IEnumerable<int>)_sizes).GetEnumerator();
    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    /// <summary>The sizes in brackets, <c>[2, 3]</c> (<c>[]</c> for a 0-d tensor).</summary>
    public override string ToString() => $"[{string.Join(", ", _sizes)}]";

    /// <inheritdoc/>
    public bool Equals(TensorShape? other) => other is not null && _sizes.AsSpan().SequenceEqual(other._sizes);
    /// <inheritdoc/>
    public override bool Equals(object? obj) => obj is TensorShape other && Equals(other);
    /// <inheritdoc/>
    public override int GetHashCode()
    {
        var hash = new HashCode();
        foreach (int s in _sizes) hash.Add(s);
        return hash.ToHashCode();
    }

    /// <summary>Whether two shapes have the same sizes.</summary>
    public static bool operator ==(TensorShape? a, TensorShape? b) => a is null ? b is null : a.Equals(b);
    /// <summary>Whether two shapes differ.</summary>
    public static bool operator !=(TensorShape? a, TensorShape? b) => !(a == b);
}
