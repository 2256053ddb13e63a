namespace MetaGrad.NN;

/// <summary>
/// A list of parameters registered under "0", "1", ... (torch.nn.ParameterList), for a number of
/// parameters known only at run time; a module holding one names them "list.0", "list.1", ...
/// </summary>
public sealed class ParameterList : Module, IReadOnlyList<Parameter>
{
    readonly List<Parameter> _items = [];

    /// <summary>A list of the given parameters.</summary>
    public ParameterList(params Parameter[] parameters) => Extend(parameters);

    /// <summary>Appends a parameter, named by its position.</summary>
    public ParameterList Append(Parameter parameter)
    {
        ArgumentNullException.ThrowIfNull(parameter);
        RegisterParameter(_items.Count.ToString(), parameter);
        _items.Add(parameter);
        return this;
    }

    /// <summary>Appends each parameter in turn.</summary>
    public ParameterList Extend(IEnumerable<Parameter> parameters)
    {
        foreach (var p in parameters.ToList()) Append(p);
        return this;
    }

    /// <summary>The i-th parameter (negative counts from the end); setting it replaces it under the same name.</summary>
    public Parameter this[int i]
    {
        get => _items[Position(i)];
        set
        {
            ArgumentNullException.ThrowIfNull(value);
            int p = Position(i);
            RegisterParameter(p.ToString(), value);
            _items[p] = value;
        }
    }

    int Position(int i)
    {
        int n = _items.Count;
        if (i < -n || i >= n) throw new ArgumentOutOfRangeException(nameof(i), $"ParameterList: index {i} is out of range for a ParameterList of {n} parameters");
        return i < 0 ? i + n : i;
    }

    /// <summary>Number of parameters.</summary>
    public int Count => _items.Count;

    /// <summary>The parameters in order.</summary>
    public IEnumerator<Parameter> GetEnumerator() => _items.GetEnumerator();

    System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();

}

/// <summary>
/// Parameters by name, in insertion order (torch.nn.ParameterDict); the keys are the parameters'
/// names in the state dict, so they must not contain dots.
/// </summary>
public sealed class ParameterDict : Module
{
    readonly Dictionary<string, Parameter> _items = [];
    readonly List<string> _keys = [];

    /// <summary>A dictionary of the given named parameters, in order.</summary>
    public ParameterDict(params (string Name, Parameter Parameter)[] parameters)
    {
        foreach (var (name, p) in parameters) this[name] = p;
    }

    /// <summary>Adds or replaces the parameter under a name (a replaced one keeps its place).</summary>
    public Parameter this[string name]
    {
        get => _items.TryGetValue(name, out var p) ? p
            : throw new KeyNotFoundException($"ParameterDict: no parameter named \"{name}\"; the keys are {string.Join(", ", _keys.Select(k => $"\"{k}\""))}");
        set
        {
            ArgumentNullException.ThrowIfNull(value);
            RegisterParameter(name, value);   // validates the name before anything is stored
            if (!_items.ContainsKey(name)) _keys.Add(name);
            _items[name] = value;
        }
    }

    /// <summary>Whether a parameter is stored under the name.</summary>
    public bool ContainsKey(string name) => _items.ContainsKey(name);

    /// <summary>The names in insertion order.</summary>
    public IReadOnlyList<string> Keys => _keys;

    /// <summary>The parameters in insertion order.</summary>
    public IEnumerable<Parameter> Values => _keys.Select(k => _items[k]);

    /// <summary>Number of parameters.</summary>
    public int Count => _items.Count;
}
