using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text;

namespace MetaGrad.NN;

/// <summary>
/// A model's layers as one forward call met them, like torchinfo's summary: per layer its output
/// shape, its own parameters and the multiply-adds of its products, then the totals. Made by
/// running the model once under NoGrad with forward hooks on every submodule, so it shows the
/// shapes the model really produces and only the layers reached through <c>Call</c>.
/// </summary>
public sealed class ModelSummary
{
    /// <summary>One layer: its path in the model ("" for the model itself), depth, type, output shapes, own parameters, multiply-adds, calls.</summary>
    public sealed record Row(string Name, int Depth, string Type, string OutputShape, long Parameters, long MultAdds, int Calls);

    /// <summary>The layers in the order the forward first entered them (a parent before its children).</summary>
    public IReadOnlyList<Row> Rows { get; }
    /// <summary>Every parameter of the model, each counted once however often it is shared.</summary>
    public long TotalParameters { get; }
    /// <summary>The parameters that require gradients.</summary>
    public long TrainableParameters { get; }
    /// <summary>The multiply-adds of all layers' products (Linear, convolutions, recurrent and attention layers).</summary>
    public long TotalMultAdds { get; }
    /// <summary>Bytes of the input tensors.</summary>
    public long InputBytes { get; }
    /// <summary>Bytes of the layers' outputs, twice (the values kept for backward and their gradients), as torchinfo estimates a training step.</summary>
    public long ForwardBackwardBytes { get; }
    /// <summary>Bytes of the parameters.</summary>
    public long ParameterBytes { get; }

    ModelSummary(List<Row> rows, long total, long trainable, long multAdds, long inputBytes, long fwdBwdBytes, long paramBytes) =>
        (Rows, TotalParameters, TrainableParameters, TotalMultAdds, InputBytes, ForwardBackwardBytes, ParameterBytes) =
        (rows, total, trainable, multAdds, inputBytes, fwdBwdBytes, paramBytes);

    /// <summary>The summary of <paramref name="model"/> applied to <paramref name="input"/> (e.g. a batch of zeros of the input's shape).</summary>
    public static ModelSummary Of<TIn, TOut>(Module<TIn, TOut> model, TIn input) =>
        Of(model, () => model.Call(input), Bytes(input!));

    /// <summary>The summary of <paramref name="model"/> while <paramref name="forward"/> runs it (for several inputs, masks or a custom call).</summary>
    public static ModelSummary Of(Module model, Action forward) => Of(model, forward, 0);

    static ModelSummary Of(Module model, Action forward, long inputBytes)
    {
        var names = new Dictionary<Module, string>(ReferenceEqualityComparer.Instance);
        foreach (var (name, module) in model.NamedModules())
            names.TryAdd(module, name);
        var order = new List<Module>();
        var seen = new Dictionary<Module, (string Shape, long MultAdds, long OutputBytes, int Calls)>(ReferenceEqualityComparer.Instance);
        var handles = new List<HookHandle>();
        try
        {
            foreach (var module in names.Keys)
            {
                handles.Add(module.RegisterForwardPreHook((m, _) =>
                {
                    if (!seen.ContainsKey(m)) { order.Add(m); seen[m] = ("", 0, 0, 0); }
                    return null;
                }));
                handles.Add(module.RegisterForwardHook((m, input, output) =>
                {
                    var (_, macs, bytes, calls) = seen[m];
                    seen[m] = (ShapesOf(output), macs + MultAdds(m, input, output), bytes + Bytes(output), calls + 1);
                    return null;
                }));
            }
            using (Autograd.NoGrad()) forward();
        }
        finally
        {
            foreach (var h in handles) h.Remove();
        }

        var rows = new List<Row>();
        long multAdds = 0, outputBytes = 0;
        foreach (var m in order)
        {
            var name = names[m];
            var (shape, macs, bytes, calls) = seen[m];
            long own = m.Parameters(recurse: false).Sum(p => (long)p.Numel);
            int depth = name.Length == 0 ? 0 : name.Count(c => c == '.') + 1;
            rows.Add(new Row(name, depth, m.GetType().Name, shape, own, macs, calls));
            multAdds += macs;
            // Leaves hold the activations; a container's output is one of its children's.
            if (!m.Children().Any()) outputBytes += bytes;
        }
        var parameters = model.Parameters().ToList();   // each once, shared ones too
        return new ModelSummary(rows,
            parameters.Sum(p => (long)p.Numel),
            parameters.Where(p => p.RequiresGrad).Sum(p => (long)p.Numel),
            multAdds, inputBytes, 2 * outputBytes,
            parameters.Sum(p => (long)p.Numel * p.DType.ElementSize()));
    }

    // A tensor's shape, a tuple's shapes in brackets, nested as the output is ("--" for anything else).
    static string ShapesOf(object? value) => value switch
    {
        Tensor t => t.Shape.ToString(),
        ITuple tuple => "(" + string.Join(", ", Enumerable.Range(0, tuple.Length).Select(i => ShapesOf(tuple[i]))) + ")",
        null => "None",
        _ => "--",
    };

    static long Bytes(object? value) => value switch
    {
        Tensor t => (long)t.Numel * t.DType.ElementSize(),
        ITuple tuple => Enumerable.Range(0, tuple.Length).Sum(i => Bytes(tuple[i])),
        _ => 0,
    };

    static Tensor? First(object? value) => value switch
    {
        Tensor t => t,
        ITuple { Length: > 0 } tuple => First(tuple[0]),
        _ => null,
    };

    /// <summary>
    /// The multiply-adds of a layer's products, counted as torchinfo counts them: every weight
    /// element meets one input element per output position it produces.
    /// </summary>
    static long MultAdds(Module m, object input, object output)
    {
        var y = First(output);
        var x = First(input);
        if (y is null || x is null) return 0;
        switch (m)
        {
            case Linear linear:
                return (long)linear.Weight.Shape[1] * y.Numel;
            case Bilinear bilinear:
                return (long)bilinear.Weight.Shape[1] * bilinear.Weight.Shape[2] * y.Numel;
            case ConvModule conv when conv.IsTransposed:
                // Each input element is spread over its window: weight elements per input channel, per input position.
                return (long)conv.Weight.Numel / conv.Weight.Shape[0] * x.Numel;
            case ConvModule conv:
                return (long)conv.Weight.Numel / conv.Weight.Shape[0] * y.Numel;
            case IRecurrentLayer rnn:
                // Every layer's input and hidden matrices once per token of the batch.
                long weights = m.NamedParameters(recurse: false).Where(p => p.Name.StartsWith("weight", StringComparison.Ordinal)).Sum(p => (long)p.Parameter.Numel);
                return weights * (x.Numel / rnn.InputSize);
            case MultiheadAttention attention when input is ITuple { Length: 3 } qkv:
                return attention.MultAdds((Tensor)qkv[0]!, (Tensor)qkv[1]!, (Tensor)qkv[2]!);
            default:
                return 0;
        }
    }

    /// <summary>The table torchinfo prints: layer, output shape, parameters, multiply-adds; then the totals.</summary>
    public override string ToString()
    {
        var labels = Rows.Select(r => new string(' ', 2 * r.Depth) + (r.Depth == 0 ? r.Type : $"{r.Name.Split('.')[^1]} ({r.Type})") + (r.Calls > 1 ? $" ×{r.Calls}" : "")).ToList();
        int w0 = Math.Max(24, labels.Max(l => l.Length) + 2), w1 = Math.Max(16, Rows.Max(r => r.OutputShape.Length) + 2);
        int width = w0 + w1 + 26;
        var rule = new string('=', width);
        var sb = new StringBuilder();
        sb.AppendLine(rule);
        sb.AppendLine($"{"Layer (type)".PadRight(w0)}{"Output Shape".PadRight(w1)}{"Param #",12}{"Mult-Adds",14}");
        sb.AppendLine(rule);
        for (int i = 0; i < Rows.Count; i++)
        {
            var r = Rows[i];
            string parameters = r.Parameters == 0 ? "--" : r.Parameters.ToString("N0", CultureInfo.InvariantCulture);
            string macs = r.MultAdds == 0 ? "--" : r.MultAdds.ToString("N0", CultureInfo.InvariantCulture);
            sb.AppendLine($"{labels[i].PadRight(w0)}{r.OutputShape.PadRight(w1)}{parameters,12}{macs,14}");
        }
        sb.AppendLine(rule);
        sb.AppendLine($"Total params: {TotalParameters.ToString("N0", CultureInfo.InvariantCulture)}");
        sb.AppendLine($"Trainable params: {TrainableParameters.ToString("N0", CultureInfo.InvariantCulture)}");
        sb.AppendLine($"Non-trainable params: {(TotalParameters - TrainableParameters).ToString("N0", CultureInfo.InvariantCulture)}");
        sb.AppendLine($"Total mult-adds (M): {TotalMultAdds / 1e6:F2}");
        sb.AppendLine(rule);
        sb.AppendLine($"Input size (MB): {InputBytes / 1e6:F2}");
        sb.AppendLine($"Forward/backward pass size (MB): {ForwardBackwardBytes / 1e6:F2}");
        sb.AppendLine($"Params size (MB): {ParameterBytes / 1e6:F2}");
        sb.AppendLine($"Estimated Total Size (MB): {(InputBytes + ForwardBackwardBytes + ParameterBytes) / 1e6:F2}");
        sb.Append(rule);
        return sb.ToString();
    }
}
