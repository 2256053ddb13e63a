namespace MetaGrad.NN;

/// <summary>
/// Modules applied in order, named "0", "1", ... or by the names given (torch.nn.Sequential). Its
/// layers are its registered submodules, so one added with <see cref="Module.AddModule"/> runs too.
/// </summary>
public sealed class Sequential : Module<Tensor, Tensor>
{
    /// <summary>Layers named by position.</summary>
    public Sequential(params Module<Tensor, Tensor>[] layers)
    {
        foreach (var layer in layers) Append(layer);
    }

    /// <summary>Layers with names.</summary>
    public Sequential(params (string Name, Module<Tensor, Tensor> Layer)[] layers)
    {
        foreach (var (name, layer) in layers) RegisterModule(name, layer);
    }

    /// <summary>Adds a layer at the end, named by its position.</summary>
    public Sequential Append(Module<Tensor, Tensor> layer)
    {
        ArgumentNullException.ThrowIfNull(layer);
        RegisterModule(Count.ToString(), layer);
        return this;
    }

    /// <summary>Appends each layer in turn (Sequential.extend).</summary>
    public Sequential Extend(IEnumerable<Module<Tensor, Tensor>> layers)
    {
        foreach (var layer in layers.ToList()) Append(layer);
        return this;
    }

    /// <summary>
    /// Puts a layer at position index (negative counts from the end; index = Count appends) and
    /// renumbers the layers after it, as Sequential.insert does; the layers must be named by position.
    /// </summary>
    public Sequential Insert(int index, Module<Tensor, Tensor> layer)
    {
        ArgumentNullException.ThrowIfNull(layer);
        int n = Count;
        if (index < -n || index > n) throw new ArgumentOutOfRangeException(nameof(index), $"Sequential.Insert: index {index} is out of range for a Sequential of {n} layers");
        if (index < 0) index += n;
        InsertRenumbered("Sequential.Insert", index, layer);
        return this;
    }

    /// <summary>The i-th layer (negative counts from the end); setting it replaces the layer and keeps its name.</summary>
    public Module<Tensor, Tensor> this[int i]
    {
        get => Layer(RegisteredModules[Position(i)]);
        set
        {
            ArgumentNullException.ThrowIfNull(value);
            RegisterModule(RegisteredModules[Position(i)].Name, value);
        }
    }

    int Position(int i)
    {
        int n = Count;
        if (i < -n || i >= n) throw new ArgumentOutOfRangeException(nameof(i), $"Sequential: index {i} is out of range for a Sequential of {n} layers");
        return i < 0 ? i + n : i;
    }

    static Module<Tensor, Tensor> Layer((string Name, Module? Module) entry) => entry.Module as Module<Tensor, Tensor>
        ?? throw new InvalidOperationException($"Sequential: the layer \"{entry.Name}\" is {(entry.Module is null ? "null" : $"a {entry.Module.GetType().Name}, not a module from Tensor to Tensor")}");

    /// <summary>Number of layers.</summary>
    public int Count => RegisteredModules.Count;

    /// <inheritdoc/>
    public override Tensor Forward(Tensor input)
    {
        // By index, not a copy of the list per call: a layer appended meanwhile still runs, as in PyTorch.
        for (int i = 0; i < RegisteredModules.Count; i++) input = Layer(RegisteredModules[i]).Call(input);
        return input;
    }
}

/// <summary>A list of submodules whose parameters are registered (torch.nn.ModuleList).</summary>
public sealed class ModuleList<T> : Module, IReadOnlyList<T> where T : Module
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
        ArgumentNullException.ThrowIfNull(module);
        RegisterModule(_items.Count.ToString(), module);
        _items.Add(module);
    }

    /// <summary>Appends a module, named by its position (ModuleList.append).</summary>
    public ModuleList<T> Append(T module)
    {
        Add(module);
        return this;
    }

    /// <summary>Appends each module in turn (ModuleList.extend).</summary>
    public ModuleList<T> Extend(IEnumerable<T> modules)
    {
        foreach (var m in modules.ToList()) Add(m);
        return this;
    }

    /// <summary>Puts a module at position index (negative counts from the end) and renumbers the ones after it (ModuleList.insert).</summary>
    public ModuleList<T> Insert(int index, T module)
    {
        ArgumentNullException.ThrowIfNull(module);
        int n = _items.Count;
        if (index < -n || index > n) throw new ArgumentOutOfRangeException(nameof(index), $"ModuleList.Insert: index {index} is out of range for a ModuleList of {n} modules");
        if (index < 0) index += n;
        InsertRenumbered("ModuleList.Insert", index, module);
        _items.Insert(index, module);
        return this;
    }

    /// <summary>The i-th module (negative counts from the end); setting it replaces the module under the same name.</summary>
    public T this[int i]
    {
        get => _items[Position(i)];
        set
        {
            ArgumentNullException.ThrowIfNull(value);
            int p = Position(i);
            RegisterModule(p.ToString(), value);
            _items[p] = value;
        }
    }

    int Position(int i)
    {
        int n = _items.Count;
        if (i < -n || i >= n) throw new ArgumentOutOfRangeException(nameof(i), $"ModuleList: index {i} is out of range for a ModuleList of {n} modules");
        return i < 0 ? i + n : i;
    }

    /// <summary>Number of modules.</summary>
    public int Count => _items.Count;

    /// <summary>The modules in order.</summary>
    public IEnumerator<T> GetEnumerator() => _items.GetEnumerator();

    System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();
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
