using System.Globalization;

namespace MetaGrad.Optim;

/// <summary>
/// A set of parameters that share one set of options (PyTorch's param_groups entry). Options are
/// keyed by PyTorch's names (<c>"lr"</c>, <c>"weight_decay"</c>, <c>"betas"</c>...), so a group
/// can carry keys added by schedulers (<c>"initial_lr"</c>) and a state dict reads like PyTorch's.
/// Values are numbers (stored as double), booleans, or pairs (betas).
/// </summary>
/// <example>
/// Give the head its own learning rate; the other options come from the optimizer's defaults:
/// <code>new SGD([new ParamGroup(body), new ParamGroup(head) { ["lr"] = 1e-3 }], lr: 1e-2, momentum: 0.9)</code>
/// </example>
public sealed class ParamGroup
{
    readonly Tensor[] _params;
    readonly Dictionary<string, object> _options = [];

    /// <summary>A group of parameters; options not set here come from the optimizer's defaults.</summary>
    public ParamGroup(IEnumerable<Tensor> parameters) => _params = parameters.ToArray();

    /// <summary>The parameters, in the order the optimizer numbers them.</summary>
    public IReadOnlyList<Tensor> Params => _params;

    /// <summary>The options by name.</summary>
    public IReadOnlyDictionary<string, object> Options => _options;

    /// <summary>The learning rate (the option schedulers change).</summary>
    public double Lr
    {
        get => Double("lr");
        set => this["lr"] = value;
    }

    /// <summary>An option: a double, a bool, or a (double, double) pair. Integers and arrays of two numbers are converted.</summary>
    public object this[string name]
    {
        get => _options.TryGetValue(name, out var v) ? v : throw Missing(name);
        set => _options[name] = Normalise(name, value);
    }

    /// <summary>Whether the option is set.</summary>
    public bool Has(string name) => _options.ContainsKey(name);

    /// <summary>A numeric option.</summary>
    public double Double(string name) => this[name] is double d ? d : throw WrongType(name, "a number");

    /// <summary>A boolean option.</summary>
    public bool Bool(string name) => this[name] is bool b ? b : throw WrongType(name, "a bool");

    /// <summary>A pair option (Adam's betas).</summary>
    public (double, double) Pair(string name) => this[name] is ValueTuple<double, double> p ? p : throw WrongType(name, "a pair of numbers");

    /// <summary>Sets the option when the group does not have it (Python's dict.setdefault).</summary>
    public void SetDefault(string name, object value)
    {
        if (!Has(name)) this[name] = value;
    }

    // One canonical type per kind of value, so optimizers can pattern-match and state dicts stay plain.
    static object Normalise(string name, object value) => value switch
    {
        double or bool or ValueTuple<double, double> => value,
        float or int or long => Convert.ToDouble(value, CultureInfo.InvariantCulture),
        ValueTuple<float, float> p => ((double)p.Item1, (double)p.Item2),
        double[] { Length: 2 } a => (a[0], a[1]),
        float[] { Length: 2 } a => ((double)a[0], (double)a[1]),
        _ => throw new ArgumentException($"ParamGroup: option '{name}' must be a number, a bool or a pair of numbers, got {value?.GetType().Name ?? "null"}"),
    };

    KeyNotFoundException Missing(string name) =>
        new($"ParamGroup: option '{name}' is not set; this group has {string.Join(", ", _options.Keys.Select(k => $"'{k}'"))}");

    ArgumentException WrongType(string name, string expected) =>
        new($"ParamGroup: option '{name}' is {_options[name].GetType().Name}, expected {expected}");
}
