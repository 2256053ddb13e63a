namespace MetaGrad.NN;

/// <summary>Modules applied in order, named "0", "1", ... or by the names given (torch.nn.Sequential).</summary>
public sealed class Sequential : Module<Tensor, Tensor>
{
    readonly List<Module<Tensor, Tensor>> _layers = [];

    /// <summary>Layers named by position.</summary>
    public Sequential(params Module<Tensor, Tensor>[] layers)
    {
        foreach (var layer in layers) Append(layer);
    }

    /// <summary>Layers with names.</summary>
    public Sequential(params (string Name, Module<Tensor, Tensor> Layer)[] layers)
    {
        foreach (var (name, layer) in layers)
        {
            RegisterModule(name, layer);
            _layers.Add(layer);
        }
    }

    /// <summary>Adds a layer at the end.</summary>
    public Sequential Append(Module<Tensor, Tensor> layer)
    {
        RegisterModule(_layers.Count.ToString(), layer);
        _layers.Add(layer);
        return this;
    }

    /// <summary>The i-th layer.</summary>
    public Module<Tensor, Tensor> this[int i] => _layers[i];

    /// <summary>Number of layers.</summary>
    public int Count => _layers.Count;

    /// <inheritdoc/>
    public override Tensor Forward(Tensor input)
    {
        foreach (var layer in _layers) input = layer.Forward(input);
        return input;
    }
}

/// <summary>A list of submodules whose parameters are registered (torch.nn.ModuleList).</summary>
public sealed class ModuleList<T> : Module where T : Module
{
    readonly List<T> _items = [];

    /// <summary>A list of the given modules.</summary>
    public ModuleList(params T[] modules)
    {
        foreach (var m in modules) Add(m);
    }

    /// <summary>Appends a module, named by its position.</summary>
    public void Add(T module)
    {
        RegisterModule(_items.Count.ToString(), module);
        _items.Add(module);
    }

    /// <summary>The i-th module.</summary>
    public T this[int i] => _items[i];

    /// <summary>Number of modules.</summary>
    public int Count => _items.Count;

    /// <summary>The modules in order.</summary>
    public IEnumerator<T> GetEnumerator() => _items.GetEnumerator();
}

/// <summary>Submodules by name (torch.nn.ModuleDict).</summary>
public sealed class ModuleDict<T> : Module where T : Module
{
    readonly Dictionary<string, T> _items = [];

    /// <summary>Adds or replaces a module under a name.</summary>
    public T this[string name]
    {
        get => _items[name];
        set
        {
            RegisterModule(name, value);
            _items[name] = value;
        }
    }

    /// <summary>The names in insertion order.</summary>
    public IEnumerable<string> Keys => NamedChildren().Select(c => c.Name);

    /// <summary>Number of modules.</summary>
    public int Count => _items.Count;
}
