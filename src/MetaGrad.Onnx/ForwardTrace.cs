using System.Diagnostics;

namespace MetaGrad.Onnx;

/// <summary>
/// One operation of a traced forward: a Function's call, or an operation that computes without one
/// (a comparison, an integer cast, an arg-max), with its input and output tensors and where the
/// user's code called it.
/// </summary>
internal sealed record TracedOp(Function? Function, string? Primitive, object? Attribute, Tensor[] Inputs, Tensor[] Outputs, string CalledFrom)
{
    /// <summary>Each input's storage version when the operation read it, and each output's when it was made (an in-place write moves them).</summary>
    public int[] InputVersions { get; init; } = [];

    /// <inheritdoc cref="InputVersions"/>
    public int[] OutputVersions { get; init; } = [];

    /// <summary>The operation's name as a user knows it: the Function's forward name or the primitive's.</summary>
    public string Name => Primitive ?? (Function!.Name.EndsWith("Backward", StringComparison.Ordinal) ? Function.Name[..^"Backward".Length] : Function.Name);

    /// <summary>What decides whether two traces took the same operation here.</summary>
    public string Kind => Primitive ?? Function!.GetType().FullName!;
}

/// <summary>
/// Records the outermost operations of one forward call (torch.jit.trace's idea): a Function's
/// forward may itself call tensor operations (a linear layer reshapes its rows), and those are
/// that Function's business, so only calls at depth 0 are kept.
/// </summary>
internal sealed class ForwardTrace : IOperationTracer
{
    readonly List<TracedOp> _ops = [];
    readonly (string Name, NN.Module Module)[] _modules;
    readonly Stack<(string CallSite, int[] Versions)> _open = new();
    int _depth;

    ForwardTrace(NN.Module root) => _modules = [.. root.NamedModules()];

    public IReadOnlyList<TracedOp> Ops => _ops;

    /// <summary>Runs <paramref name="forward"/> with this trace open on the thread.</summary>
    public static (ForwardTrace Trace, Tensor[] Outputs) Record(NN.Module root, Func<Tensor[], Tensor[]> forward, Tensor[] inputs)
    {
        var trace = new ForwardTrace(root);
        Tensor[] outputs;
        using (Autograd.NoGrad())
        using (Tracing.Open(trace))
            outputs = forward(inputs);
        return (trace, outputs);
    }

    public void Begin(Function function, Tensor[] inputs)
    {
        if (_depth++ == 0) _open.Push((CallSite(), Versions(inputs)));
    }

    public void End(Function function, Tensor[] inputs, Tensor[] outputs)
    {
        if (--_depth != 0) return;
        var (callSite, versions) = _open.Pop();
        _ops.Add(new TracedOp(function, null, null, [.. inputs], [.. outputs], callSite) { InputVersions = versions, OutputVersions = Versions(outputs) });
    }

    public void Primitive(string op, object? attribute, Tensor[] inputs, Tensor output)
    {
        if (_depth == 0)
            _ops.Add(new TracedOp(null, op, attribute, [.. inputs], [output], CallSite()) { InputVersions = Versions(inputs), OutputVersions = [output.Version] });
    }

    static int[] Versions(Tensor[] tensors) => [.. tensors.Select(t => t.Version)];

    // The innermost module whose forward made the call, by its path in the exported module when
    // that is unambiguous ("module 2.fc (Linear)"), and the user's frame below the library:
    // "in module 3 (Softplus), from MyModel.Forward (Model.cs:12)".
    string CallSite()
    {
        var frames = new StackTrace(2, fNeedFileInfo: true).GetFrames();
        string? layer = null, user = null;
        foreach (var f in frames)
        {
            var method = f.GetMethod();
            var type = method?.DeclaringType;
            if (type is null) continue;
            if (layer is null && typeof(NN.Module).IsAssignableFrom(type) && method!.Name == "Forward") layer = LayerName(type);
            var assembly = type.Assembly;
            if (assembly == typeof(Tensor).Assembly || assembly == typeof(ForwardTrace).Assembly
                || type.Namespace?.StartsWith("System", StringComparison.Ordinal) == true) continue;
            string file = f.GetFileName() is { } path ? $" ({Path.GetFileName(path)}:{f.GetFileLineNumber()})" : "";
            user ??= $"{type.FullName}.{method!.Name}{file}";
            if (layer is not null) break;
        }
        return (layer, user) switch
        {
            (null, null) => "called from an unknown place",
            (null, _) => "called from " + user,
            (_, null) => "in " + layer,
            _ => $"in {layer}, called from {user}",
        };
    }

    string LayerName(Type type)
    {
        var paths = _modules.Where(m => m.Module.GetType() == type).Select(m => m.Name).ToArray();
        return paths.Length == 1 ? $"module {(paths[0].Length == 0 ? "(the root)" : paths[0])} ({type.Name})"
            : paths.Length == 0 ? type.Name : $"one of modules {string.Join(", ", paths)} ({type.Name})";
    }
}
