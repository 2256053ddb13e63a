using System.Diagnostics;
using System.Text;

namespace MetaGrad;

/// <summary>
/// A NaN or infinity found by anomaly mode (<see cref="Autograd.DetectAnomaly"/>): in the gradient a
/// backward function returned, or, with the forward check, in the output of an operation whose
/// inputs were finite.
/// </summary>
public sealed class AnomalyException : ArithmeticException
{
    /// <summary>The node (<c>LogBackward</c>) or, for the forward check, the operation (<c>Log</c>).</summary>
    public string Operation { get; }

    /// <summary>The user's frames of the call that created the node or ran the operation.</summary>
    public string ForwardTrace { get; }

    internal AnomalyException(string operation, string problem, string forwardTrace)
        : base($"{problem}{(forwardTrace.Length > 0 ? $"\nThe forward call that made it:\n{forwardTrace}" : "")}")
        => (Operation, ForwardTrace) = (operation, forwardTrace);
}

public static partial class Autograd
{
    /// <summary>
    /// Anomaly mode on this thread (torch.autograd.detect_anomaly): every node recorded from now
    /// on remembers the user's call that created it, and the first backward function that returns
    /// a NaN or infinity throws an <see cref="AnomalyException"/> naming the node, the shapes and that
    /// call. With <paramref name="checkForward"/>, an operation whose output holds NaN or infinity
    /// while its inputs held none throws as well, at the operation. Dispose the scope to restore the
    /// previous mode. Off, it costs one thread-local read per operation; on, a stack trace per
    /// recorded node and a scan of every gradient: for debugging, not for training runs.
    /// </summary>
    /// <remarks>Like grad mode and unlike PyTorch's, the mode is per thread: tests and threads that
    /// train side by side do not switch it for each other.</remarks>
    public static AnomalyScope DetectAnomaly(bool checkForward = false) => SetDetectAnomaly(true, checkForward);

    /// <summary>Turns anomaly mode on or off on this thread until the scope is disposed (torch.autograd.set_detect_anomaly).</summary>
    public static AnomalyScope SetDetectAnomaly(bool enabled, bool checkForward = false)
    {
        var scope = new AnomalyScope(Anomaly.t_mode);
        Anomaly.t_mode = !enabled ? Anomaly.Off : checkForward ? Anomaly.Backward | Anomaly.Forward : Anomaly.Backward;
        return scope;
    }

    /// <summary>Whether anomaly mode is on for this thread.</summary>
    public static bool IsAnomalyEnabled => Anomaly.t_mode != Anomaly.Off;

    /// <summary>Restores the anomaly mode that was in force when it was created.</summary>
    public readonly struct AnomalyScope : IDisposable
    {
        readonly int _previous;
        internal AnomalyScope(int previous) => _previous = previous;
        /// <inheritdoc/>
        public void Dispose() => Anomaly.t_mode = _previous;
    }
}

/// <summary>The checks of anomaly mode; the engine and Function call in only when it is on.</summary>
internal static class Anomaly
{
    public const int Off = 0, Backward = 1, Forward = 2;

    [ThreadStatic] internal static int t_mode;

    /// <summary>Called by Function.End with the mode already read: records the creation site, checks the output.</summary>
    public static void OnForward(int mode, Function node, Tensor[] inputs, Tensor output, bool recorded)
    {
        if ((mode & Forward) != 0 && NonFinite(output) is { } found && !inputs.Any(i => NonFinite(i) is not null))
        {
            string op = node.GetType().Name;
            throw new AnomalyException(op,
                $"Anomaly: {op} produced {found} values (output shape {ShapeMath.Format(output.Layout.Shape)}) from finite inputs of shapes {Shapes(inputs)}",
                UserTrace());
        }
        if (recorded)
        {
            node.CreationTrace = UserTrace();
            node.CreationShapes = Shapes(inputs);
        }
    }

    /// <summary>Called by the engine after each backward function when the mode is on.</summary>
    public static void OnBackward(Function node, Tensor?[] grads)
    {
        for (int i = 0; i < grads.Length; i++)
            if (grads[i] is { } g && NonFinite(g) is { } found)
                throw new AnomalyException(node.Name,
                    $"Anomaly: {node.Name} returned {found} values in its gradient for input {i} (shape {ShapeMath.Format(g.Layout.Shape)}); " +
                    $"the node's inputs had shapes {node.CreationShapes ?? "(not recorded: the node was created outside anomaly mode)"}",
                    node.CreationTrace ?? "");
    }

    // "nan" or "inf" for a floating tensor that holds one, else null.
    static string? NonFinite(Tensor t)
    {
        if (!t.DType.IsFloatingPoint() || t.Numel == 0) return null;
        bool inf = false;
        foreach (var v in t.Backend.ToArray<double>(t))
        {
            if (double.IsNaN(v)) return "nan";
            inf |= double.IsInfinity(v);
        }
        return inf ? "inf" : null;
    }

    static string Shapes(Tensor[] tensors) => string.Join(", ", tensors.Select(t => ShapeMath.Format(t.Layout.Shape)));

    // The frames of the caller's own code: MetaGrad's frames say only which operation, which the node already names.
    static string UserTrace()
    {
        // DiagnosticMethodInfo rather than StackFrame.GetMethod: it needs no reflection metadata, so it works trimmed and under NativeAOT.
        var own = typeof(Anomaly).Assembly.FullName;
        var text = new StringBuilder();
        foreach (var frame in new StackTrace(2, fNeedFileInfo: true).GetFrames())
        {
            var method = DiagnosticMethodInfo.Create(frame);
            if (method is null || method.DeclaringAssemblyName == own) continue;
            text.Append("   at ").Append(method.DeclaringTypeName).Append('.').Append(method.Name);
            if (frame.GetFileName() is { } file) text.Append(" in ").Append(file).Append(":line ").Append(frame.GetFileLineNumber());
            text.Append('\n');
            if (text.Length > 2000) break;
        }
        return text.ToString().TrimEnd('\n');
    }
}
