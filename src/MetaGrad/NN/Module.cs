using System.Collections.Concurrent;
using System.Diagnostics.CodeAnalysis;
using System.Reflection;
using System.Text;

namespace MetaGrad.NN;

/// <summary>
/// The base of every layer and model (torch.nn.Module). Parameters and submodules held in fields
/// are found without registration, named like PyTorch (field <c>Fc1</c> or <c>_fc1</c> becomes
/// <c>fc1</c>, <c>OutputLayer</c> becomes <c>output_layer</c>); buffers (running statistics) are
/// registered by name with <see cref="RegisterBuffer"/>, and anything can be registered explicitly.
/// </summary>
// The trimmer (and NativeAOT) keeps the fields of every module class and of its base classes,
// which discovery reads; "AllFields" includes the base classes' private fields, so the annotation
// follows Type.BaseType and the analyzer can check discovery without a suppression.
[DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.AllFields)]
public abstract partial class Module
{
    readonly List<(string Name, Parameter? Value)> _parameters = [];
    readonly List<(string Name, Tensor? Value, bool Persistent)> _buffers = [];
    readonly List<(string Name, Module? Value)> _modules = [];

    static readonly ConcurrentDictionary<Type, FieldInfo[]> FieldCache = new();

    /// <summary>True in training mode (the default), false after <see cref="Eval"/>.</summary>
    public bool Training { get; private set; } = true;

    /// <summary>Registers a parameter under a name (null reserves the name, as for a missing bias).</summary>
    public void RegisterParameter(string name, Parameter? parameter) => Set(_parameters, name, parameter);

    /// <summary>Registers a tensor that is state but not learned (running mean...). Persistent buffers go into the state dict.</summary>
    public void RegisterBuffer(string name, Tensor? buffer, bool persistent = true)
    {
        int i = _buffers.FindIndex(b => b.Name == name);
        if (i >= 0) _buffers[i] = (name, buffer, persistent);
        else _buffers.Add((name, buffer, persistent));
    }

    /// <summary>Registers a submodule under a name.</summary>
    public void RegisterModule(string name, Module? module) => Set(_modules, name, module);

    static void Set<T>(List<(string, T?)> list, string name, T? value)
    {
        if (string.IsNullOrEmpty(name) || name.Contains('.'))
            throw new ArgumentException($"Module: invalid name \"{name}\" (names must be non-empty and contain no dots)");
        int i = list.FindIndex(e => e.Item1 == name);
        if (i >= 0) list[i] = (name, value);
        else list.Add((name, value));
    }

    /// <summary>
    /// Refuses an input whose dtype differs from the module's floating state (parameters, running
    /// statistics), as PyTorch's layers do, naming the module. Called before a forward changes
    /// anything, so a refused call leaves the module as it was.
    /// </summary>
    private protected static void RequireDType(string module, Tensor input, params Tensor?[] state)
    {
        foreach (var t in state)
            if (t is not null && t.DType.IsFloatingPoint() && t.DType != input.DType)
                throw new ArgumentException($"{module}: input of dtype {input.DType} and parameters of dtype {t.DType} must share one floating dtype; convert the input with To() or the module's parameters");
    }

    /// <summary>
    /// A per-channel scale (ones) and shift (zeros) registered as "weight" and "bias", as the
    /// normalisation layers have them, or both null (names reserved) without affine.
    /// </summary>
    private protected (Parameter? Weight, Parameter? Bias) AffineParameters(int features, bool affine, DType? dtype = null)
    {
        var weight = affine ? new Parameter(Tensor.Ones(features, dtype)) : null;
        var bias = affine ? new Parameter(Tensor.Zeros(features, dtype)) : null;
        RegisterParameter("weight", weight);
        RegisterParameter("bias", bias);
        return (weight, bias);
    }

    /// <summary>Reads a registered buffer (null when absent).</summary>
    protected Tensor? Buffer(string name) => _buffers.FirstOrDefault(b => b.Name == name).Value;

    // Fields of type Parameter or Module anywhere in the class hierarchy, base class first, in
    // declaration order; read once per class.
    static FieldInfo[] DiscoverableFields([DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.AllFields)] Type type)
    {
        if (FieldCache.TryGetValue(type, out var cached)) return cached;
        var chain = new List<FieldInfo[]>();
        for (Type? c = type; c is not null && c != typeof(Module); c = c.BaseType)
            chain.Insert(0, c.GetFields(BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.DeclaredOnly));
        var fields = chain.SelectMany(f => f)
            .Where(f => typeof(Parameter).IsAssignableFrom(f.FieldType) || typeof(Module).IsAssignableFrom(f.FieldType))
            .ToArray();
        return FieldCache.GetOrAdd(type, fields);
    }

    /// <summary>PyTorch-style name of a C# field: backing-field and underscore decoration removed, PascalCase to snake_case.</summary>
    internal static string TorchName(string field)
    {
        if (field.StartsWith('<')) field = field[1..field.IndexOf('>')];
        field = field.TrimStart('_');
        var sb = new StringBuilder();
        for (int i = 0; i < field.Length; i++)
        {
            char c = field[i];
            if (char.IsUpper(c) && i > 0 && (char.IsLower(field[i - 1]) || char.IsDigit(field[i - 1]))) sb.Append('_');
            sb.Append(char.ToLowerInvariant(c));
        }
        return sb.ToString();
    }

    // The fields are looked up here, outside the iterator: NativeAOT's compiler keeps the fields of
    // Module's subclasses only where it sees GetType() called on a Module, and it does not see the
    // call inside an iterator's generated state machine (discovery then found nothing).
    IEnumerable<(string Name, T Value)> Own<T>(List<(string Name, T? Value)> registered) where T : class =>
        Own(registered, DiscoverableFields(GetType()));

    IEnumerable<(string Name, T Value)> Own<T>(List<(string Name, T? Value)> registered, FieldInfo[] fields) where T : class
    {
        var seen = new HashSet<object>(ReferenceEqualityComparer.Instance);
        var names = new HashSet<string>();
        foreach (var (name, value) in registered)
        {
            names.Add(name);
            if (value is null || !seen.Add(value)) continue;
            yield return (name, value);
        }
        foreach (var f in fields)
        {
            if (!typeof(T).IsAssignableFrom(f.FieldType)) continue;
            if (f.GetValue(this) is not T value || !seen.Add(value)) continue;
            string name = TorchName(f.Name);
            if (names.Add(name)) yield return (name, value);
        }
    }

    /// <summary>The direct submodules with their names.</summary>
    public IEnumerable<(string Name, Module Module)> NamedChildren() => Own(_modules);

    /// <summary>The direct submodules.</summary>
    public IEnumerable<Module> Children() => NamedChildren().Select(c => c.Module);

    /// <summary>This module and every module below it, with dotted names ("" for this one).</summary>
    public IEnumerable<(string Name, Module Module)> NamedModules(string prefix = "")
    {
        yield return (prefix, this);
        foreach (var (name, child) in NamedChildren())
            foreach (var m in child.NamedModules(Join(prefix, name))) yield return m;
    }

    /// <summary>This module and every module below it.</summary>
    public IEnumerable<Module> Modules() => NamedModules().Select(m => m.Module);

    static string Join(string prefix, string name) => prefix.Length == 0 ? name : prefix + "." + name;

    /// <summary>The parameters with PyTorch's dotted names (fc1.weight, layers.0.bias), each once.</summary>
    public IEnumerable<(string Name, Parameter Parameter)> NamedParameters(string prefix = "", bool recurse = true)
    {
        var seen = new HashSet<Parameter>(ReferenceEqualityComparer.Instance);
        foreach (var (path, module) in recurse ? NamedModules(prefix) : [(prefix, this)])
            foreach (var (name, p) in module.Own(module._parameters))
                if (seen.Add(p)) yield return (Join(path, name), p);
    }

    /// <summary>The parameters, each once (shared parameters are not repeated).</summary>
    public IEnumerable<Parameter> Parameters(bool recurse = true) => NamedParameters(recurse: recurse).Select(p => p.Parameter);

    /// <summary>The buffers with dotted names.</summary>
    public IEnumerable<(string Name, Tensor Buffer)> NamedBuffers(string prefix = "", bool recurse = true)
    {
        foreach (var (path, module) in recurse ? NamedModules(prefix) : [(prefix, this)])
            foreach (var (name, b, _) in module._buffers)
                if (b is not null) yield return (Join(path, name), b);
    }

    /// <summary>The buffers.</summary>
    public IEnumerable<Tensor> Buffers(bool recurse = true) => NamedBuffers(recurse: recurse).Select(b => b.Buffer);

    /// <summary>Sets training mode here and below (affects Dropout and BatchNorm).</summary>
    public Module Train(bool mode = true)
    {
        foreach (var m in Modules()) m.Training = mode;
        return this;
    }

    /// <summary>Sets evaluation mode here and below.</summary>
    public Module Eval() => Train(false);

    /// <summary>Clears the gradients of every parameter (to null by default, as PyTorch 2 does).</summary>
    public void ZeroGrad(bool setToNone = true)
    {
        foreach (var p in Parameters())
        {
            if (setToNone || p.GradUnseen is null) p.DropGrad();
            else using (Autograd.NoGrad()) p.GradUnseen.Zero_();
        }
    }

    /// <summary>Calls fn on every submodule (children first) and then on this module.</summary>
    public Module Apply(Action<Module> fn)
    {
        foreach (var child in Children()) child.Apply(fn);
        fn(this);
        return this;
    }

    /// <summary>Parameters and persistent buffers by dotted name, sharing storage with the module (detached).</summary>
    public Dictionary<string, Tensor> StateDict()
    {
        var state = new Dictionary<string, Tensor>();
        foreach (var (path, module) in NamedModules())
        {
            foreach (var (name, p) in module.Own(module._parameters)) state.TryAdd(Join(path, name), p.Detach());
            foreach (var (name, b, persistent) in module._buffers)
                if (b is not null && persistent) state.TryAdd(Join(path, name), b.Detach());
        }
        return state;
    }

    /// <summary>
    /// Copies values from a state dict into this module's parameters and buffers (in place, so
    /// optimizers holding the parameters keep working). With strict, missing or unexpected keys
    /// are an error; shapes must always match.
    /// </summary>
    public (List<string> Missing, List<string> Unexpected) LoadStateDict(IReadOnlyDictionary<string, Tensor> state, bool strict = true)
    {
        ArgumentNullException.ThrowIfNull(state);
        var own = StateDict();
        var missing = own.Keys.Where(k => !state.ContainsKey(k)).ToList();
        var unexpected = state.Keys.Where(k => !own.ContainsKey(k)).ToList();
        if (strict && (missing.Count > 0 || unexpected.Count > 0))
            throw new ArgumentException($"LoadStateDict: error(s) in loading state dict for {GetType().Name}: " +
                (missing.Count > 0 ? $"missing key(s): {string.Join(", ", missing)}. " : "") +
                (unexpected.Count > 0 ? $"unexpected key(s): {string.Join(", ", unexpected)}." : ""));
        // Every entry is checked before any is copied: a refused load leaves the module as it was.
        var copies = new List<(Tensor Target, Tensor Source)>(own.Count);
        var mismatched = new List<string>();
        foreach (var (key, target) in own)
        {
            if (!state.TryGetValue(key, out var source)) continue;
            if (source is null) mismatched.Add($"{key} is null");
            else if (!source.Shape.SequenceEqual(target.Shape))
                mismatched.Add($"size mismatch for {key}: copying a param with shape {ShapeMath.Format(source.Shape.ToArray())}, the shape in the current model is {ShapeMath.Format(target.Shape.ToArray())}");
            else copies.Add((target, source));
        }
        if (mismatched.Count > 0)
            throw new ArgumentException($"LoadStateDict: error(s) in loading state dict for {GetType().Name}: {string.Join("; ", mismatched)}");
        using (Autograd.NoGrad())
            foreach (var (target, source) in copies) target.Copy_(source);
        return (missing, unexpected);
    }

    /// <summary>The layer's settings inside the parentheses of its printout, e.g. "in_features=4, out_features=2, bias=True".</summary>
    protected virtual string ExtraRepr() => "";

    /// <summary>The module tree as PyTorch prints it.</summary>
    public override string ToString()
    {
        var children = NamedChildren().ToList();
        var name = GetType().Name;
        if (children.Count == 0) return $"{name}({ExtraRepr()})";
        var sb = new StringBuilder(name).Append('(');
        var extra = ExtraRepr();
        if (extra.Length > 0) sb.Append("\n  ").Append(extra);
        foreach (var (childName, child) in children)
            sb.Append("\n  (").Append(childName).Append("): ").Append(child.ToString().Replace("\n", "\n  "));
        return sb.Append("\n)").ToString();
    }

    /// <summary>Python-style bool text for printouts.</summary>
    protected static string Py(bool b) => b ? "True" : "False";
}

/// <summary>
/// A module with one input (the usual case). <see cref="Call"/> is PyTorch's <c>module(x)</c>: it
/// runs the module's hooks around <see cref="Forward"/>, which is what a subclass overrides and
/// what PyTorch's <c>module.forward(x)</c> is (no hooks).
/// </summary>
public abstract class Module<TIn, TOut> : Module
{
    /// <summary>Computes the output.</summary>
    public abstract TOut Forward(TIn input);

    /// <summary>
    /// Forward inside the module's hooks (PyTorch's <c>module(x)</c>); the containers call their
    /// layers this way. Convenient as a delegate (<c>Func&lt;TIn, TOut&gt; f = model.Call;</c>).
    /// </summary>
    public TOut Call(TIn input) => HasHooks ? CallWithHooks(input, Forward) : Forward(input);
}

/// <summary>A module with two inputs (Bilinear, losses).</summary>
public abstract class Module<TIn1, TIn2, TOut> : Module
{
    /// <summary>Computes the output.</summary>
    public abstract TOut Forward(TIn1 input1, TIn2 input2);

    /// <summary>Forward inside the module's hooks (PyTorch's <c>module(a, b)</c>); hooks see the inputs as a tuple.</summary>
    public TOut Call(TIn1 input1, TIn2 input2) =>
        HasHooks ? CallWithHooks((input1, input2), p => Forward(p.Item1, p.Item2)) : Forward(input1, input2);
}
