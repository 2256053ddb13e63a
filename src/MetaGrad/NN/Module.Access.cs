namespace MetaGrad.NN;

/// <summary>
/// Reaching into a module tree by dotted name (torch.nn.Module.get_submodule, get_parameter,
/// get_buffer) and registering submodules from outside (add_module), plus the raw registration
/// list the containers build on.
/// </summary>
public abstract partial class Module
{
    /// <summary>Registers a submodule under a name, as <c>model.add_module(name, m)</c> does (same as <see cref="RegisterModule"/>).</summary>
    public void AddModule(string name, Module? module) => RegisterModule(name, module);

    /// <summary>
    /// The submodule at a dotted path such as "encoder.layers.0" ("" is this module), as
    /// torch.nn.Module.get_submodule; a missing step throws, naming the module that lacks it.
    /// </summary>
    public Module GetSubmodule(string target)
    {
        ArgumentNullException.ThrowIfNull(target);
        if (target.Length == 0) return this;
        Module current = this;
        string path = "";
        foreach (var part in target.Split('.'))
        {
            var child = current.NamedChildren().FirstOrDefault(c => c.Name == part).Module;
            if (child is null)
                throw new ArgumentException($"GetSubmodule: {current.GetType().Name}{(path.Length > 0 ? $" at \"{path}\"" : "")} has no submodule `{part}` (looking up \"{target}\")");
            current = child;
            path = Join(path, part);
        }
        return current;
    }

    /// <summary>The parameter at a dotted path such as "encoder.layers.0.weight", as torch.nn.Module.get_parameter.</summary>
    public Parameter GetParameter(string target)
    {
        var (module, name) = Owner("GetParameter", target);
        return module.Own(module._parameters).FirstOrDefault(p => p.Name == name).Value
            ?? throw new ArgumentException($"GetParameter: {module.GetType().Name} has no parameter `{name}` (looking up \"{target}\")");
    }

    /// <summary>The buffer at a dotted path such as "bn.running_mean", as torch.nn.Module.get_buffer.</summary>
    public Tensor GetBuffer(string target)
    {
        var (module, name) = Owner("GetBuffer", target);
        return module._buffers.FirstOrDefault(b => b.Name == name && b.Value is not null).Value
            ?? throw new ArgumentException($"GetBuffer: {module.GetType().Name} has no buffer `{name}` (looking up \"{target}\")");
    }

    // The module that holds the last name of a dotted path, and that name.
    (Module Module, string Name) Owner(string op, string target)
    {
        ArgumentNullException.ThrowIfNull(target);
        if (target.Length == 0) throw new ArgumentException($"{op}: the target name must not be empty");
        int dot = target.LastIndexOf('.');
        return dot < 0 ? (this, target) : (GetSubmodule(target[..dot]), target[(dot + 1)..]);
    }

    /// <summary>
    /// The registered submodules in registration order, repeats and null entries included: the
    /// containers' contents (PyTorch's <c>_modules</c>), whereas <see cref="NamedChildren"/> lists each module once.
    /// </summary>
    private protected IReadOnlyList<(string Name, Module? Module)> RegisteredModules => _modules;

    /// <summary>Replaces every registered submodule with the given list, in its order (containers renumber with it).</summary>
    private protected void ReplaceRegisteredModules(IEnumerable<(string Name, Module? Module)> modules)
    {
        var list = modules.ToList();
        foreach (var (name, _) in list)
            if (string.IsNullOrEmpty(name) || name.Contains('.'))
                throw new ArgumentException($"Module: invalid name \"{name}\" (names must be non-empty and contain no dots)");
        _modules.Clear();
        _modules.AddRange(list);
    }

    /// <summary>
    /// Registers module at position index of a container named "0", "1", ... and shifts the later
    /// ones up by one name, as PyTorch's Sequential.insert and ModuleList.insert do; refuses a
    /// container whose names are not positional (PyTorch fails on those too).
    /// </summary>
    private protected void InsertRenumbered(string op, int index, Module module)
    {
        for (int k = 0; k < _modules.Count; k++)
            if (_modules[k].Name != k.ToString())
                throw new InvalidOperationException($"{op}: the submodules must be named by position (\"0\", \"1\", ...) to insert, but submodule {k} is named \"{_modules[k].Name}\"");
        var items = _modules.Select(m => m.Value).ToList();
        items.Insert(index, module);
        ReplaceRegisteredModules(items.Select((m, k) => (k.ToString(), m)));
    }
}
