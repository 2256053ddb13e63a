using System.Diagnostics.CodeAnalysis;
using System.Reflection;
using System.Runtime.CompilerServices;

namespace MetaGrad.Data;

/// <summary>PyTorch's default_collate for items that are tuples or records of tensors and numbers.</summary>
public static partial class Collate
{
    /// <summary>
    /// Merges items with named or positional fields, field by field, as default_collate does for
    /// tuples and dicts: a tuple's elements, or else the public properties of a record or class in
    /// declaration order. Tensor fields are stacked along a new first dim; number fields become a
    /// vector (integers Int64 and bool Bool, as PyTorch makes them; float Float32, double Float64).
    /// A batch of (image, label) items gives { images [N, ...], labels [N] }.
    /// </summary>
    public static Tensor[] Fields<[DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.PublicProperties)] T>(IReadOnlyList<T> items)
    {
        ArgumentNullException.ThrowIfNull(items);
        if (items.Count == 0) throw new ArgumentException("Collate.Fields: cannot collate an empty batch");
        var rows = new object?[items.Count][];
        PropertyInfo[]? properties = null;
        if (!typeof(ITuple).IsAssignableFrom(typeof(T)))
            properties = typeof(T).GetProperties(BindingFlags.Public | BindingFlags.Instance).Where(p => p.CanRead && p.GetIndexParameters().Length == 0).ToArray();
        for (int i = 0; i < items.Count; i++)
        {
            var item = items[i] ?? throw new ArgumentException($"Collate.Fields: item {i} is null");
            rows[i] = item is ITuple tuple
                ? Enumerable.Range(0, tuple.Length).Select(k => tuple[k]).ToArray()
                : properties!.Select(p => p.GetValue(item)).ToArray();
            if (rows[i].Length != rows[0].Length)
                throw new ArgumentException($"Collate.Fields: each item in a batch must have the same number of fields, but item 0 has {rows[0].Length} and item {i} has {rows[i].Length}");
        }
        if (rows[0].Length == 0) throw new ArgumentException($"Collate.Fields: items of type {typeof(T).Name} have no fields to collate");
        var batch = new Tensor[rows[0].Length];
        for (int f = 0; f < batch.Length; f++)
            batch[f] = Column(rows.Select(r => r[f]).ToArray(), f, typeof(T).Name);
        return batch;
    }

    // One field of every item, as one tensor.
    static Tensor Column(object?[] values, int field, string type)
    {
        int n = values.Length;
        try
        {
            switch (values[0])
            {
                case Tensor:
                    return Tensor.Stack(values.Select((v, i) => v as Tensor ?? throw Mixed(i, v)).ToArray());
                case bool:
                    return Tensor.From(values.Select((v, i) => v is bool b ? b : throw Mixed(i, v)).ToArray(), [n]);
                case float:
                    return Tensor.From(values.Select((v, i) => v is float x ? x : throw Mixed(i, v)).ToArray(), [n]);
                case double:
                    return Tensor.From(values.Select((v, i) => v is double x ? x : throw Mixed(i, v)).ToArray(), [n]);
                case int or long or short or sbyte or byte or ushort or uint:
                    return Tensor.From(values.Select((v, i) => v switch
                    {
                        int x => x, long x => x, short x => x, sbyte x => x, byte x => x, ushort x => x, uint x => (long)x,
                        _ => throw Mixed(i, v),
                    }).ToArray(), [n]);
                default:
                    throw new ArgumentException($"Collate.Fields: field {field} of {type} holds a {values[0]?.GetType().Name ?? "null"}; only tensors, numbers and bools can be collated");
            }
        }
        catch (ArgumentException e) when (!e.Message.StartsWith("Collate.Fields"))
        {
            throw new ArgumentException($"Collate.Fields: field {field} of the items cannot be stacked: {e.Message}", e);
        }

        ArgumentException Mixed(int i, object? v) => new(
            $"Collate.Fields: field {field} of {type} is a {values[0]!.GetType().Name} in item 0 but a {v?.GetType().Name ?? "null"} in item {i}");
    }
}
