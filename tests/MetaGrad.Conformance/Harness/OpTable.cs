namespace MetaGrad.Conformance.Harness;

/// <summary>The operations of one family, by unique name, as xunit theory data.</summary>
public sealed class OpTable : IEnumerable<Op>
{
    readonly Dictionary<string, Op> _ops = [];

    /// <summary>Adds an operation (collection initialiser); names must be unique.</summary>
    public void Add(Op op)
    {
        if (!_ops.TryAdd(op.Name, op)) throw new ArgumentException($"two operations are named {op.Name}");
    }

    /// <summary>The operation with this name.</summary>
    public Op this[string name] => _ops[name];

    /// <summary>The names, one theory case each.</summary>
    public TheoryData<string> Names => new(_ops.Keys);

    /// <inheritdoc/>
    public IEnumerator<Op> GetEnumerator() => _ops.Values.GetEnumerator();
    System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();
}
