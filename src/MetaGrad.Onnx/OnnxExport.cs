using MetaGrad.NN;

namespace MetaGrad.Onnx;

/// <summary>How a forward is exported: names, a dynamic batch dim, the opset.</summary>
public sealed record OnnxExportOptions
{
    /// <summary>
    /// Lets the first dim of every input and output be any size (dim_param "batch"), as
    /// torch.onnx.export's dynamic_axes: the forward is traced a second time with one more row, so
    /// that every size that follows the batch is told apart from the fixed ones.
    /// </summary>
    public bool DynamicBatch { get; init; }

    /// <summary>Which dim of every input is the batch when <see cref="DynamicBatch"/> is on: 0, or 1 for a sequence-first recurrent layer's [T, N, features].</summary>
    public int BatchDim { get; init; }

    /// <summary>The graph's input names (default "input", or "input_0", "input_1", … for several).</summary>
    public IReadOnlyList<string>? InputNames { get; init; }

    /// <summary>The graph's output names (default "output", or "output_0", … for several).</summary>
    public IReadOnlyList<string>? OutputNames { get; init; }

    /// <summary>The default domain's opset: 17 (LayerNormalization's), the oldest this exporter writes.</summary>
    public int Opset { get; init; } = 17;
}

/// <summary>
/// Exports a module's forward to ONNX (torch.onnx.export with tracing): the forward runs once on an
/// example input with every operation recorded, and each recorded operation becomes ONNX nodes,
/// the module's parameters and buffers initializers under their own names. The module is put in
/// evaluation mode for the trace (dropout off, batch norm on its running statistics) and back in
/// the mode it was in after. An operation without an ONNX mapping fails the export with its name
/// and the place it was called from.
/// </summary>
public static class OnnxExport
{
    /// <summary>Writes <paramref name="module"/>'s forward on inputs like <paramref name="example"/> to an .onnx file.</summary>
    public static void Save(Module<Tensor, Tensor> module, Tensor example, string path, OnnxExportOptions? options = null) =>
        File.WriteAllBytes(path, ToBytes(module, example, options));

    /// <summary>A forward of several inputs and outputs (an LSTM's output and states, say), written to an .onnx file.</summary>
    public static void Save(Module module, Func<Tensor[], Tensor[]> forward, Tensor[] examples, string path, OnnxExportOptions? options = null) =>
        File.WriteAllBytes(path, ToBytes(module, forward, examples, options));

    /// <summary>The ONNX model of <paramref name="module"/>'s forward, as bytes.</summary>
    public static byte[] ToBytes(Module<Tensor, Tensor> module, Tensor example, OnnxExportOptions? options = null) =>
        ToBytes(module, xs => [module.Forward(xs[0])], [example], options);

    /// <summary>The ONNX model of <paramref name="forward"/> (which calls <paramref name="module"/>), as bytes.</summary>
    public static byte[] ToBytes(Module module, Func<Tensor[], Tensor[]> forward, Tensor[] examples, OnnxExportOptions? options = null) =>
        Build(module, forward, examples, options).ToBytes();

    internal static OnnxModel Build(Module module, Func<Tensor[], Tensor[]> forward, Tensor[] examples, OnnxExportOptions? options = null)
    {
        options ??= new OnnxExportOptions();
        if (options.Opset < 17) throw new ArgumentException($"ONNX export: opset {options.Opset} is older than 17, the oldest this exporter writes");
        if (examples.Length == 0) throw new ArgumentException("ONNX export: at least one example input is needed");
        bool wasTraining = module.Training;
        module.Eval();
        try
        {
            int? batchDim = null;
            if (options.DynamicBatch)
            {
                int bd = options.BatchDim;
                if (examples.Any(x => bd < 0 || x.NDim <= bd || x.Shape[bd] != examples[0].Shape[bd]))
                    throw new ArgumentException($"ONNX export: a dynamic batch needs inputs that share their dim {bd}, got shapes {string.Join(", ", examples.Select(x => ShapeMath.Format(x.Shape.ToArray())))}");
                batchDim = bd;
            }
            var (traceA, outputsA) = ForwardTrace.Record(module, forward, examples);
            // Always a second trace, on other values (and one more row for a dynamic batch).
            var others = OtherInputs(examples, batchDim);
            var (traceB, outputsB) = ForwardTrace.Record(module, forward, others);
            var named = new Dictionary<Tensor, string>(ReferenceEqualityComparer.Instance);
            foreach (var (name, p) in module.NamedParameters()) named.TryAdd(p, name);
            foreach (var (name, b) in module.NamedBuffers()) named.TryAdd(b, name);
            var builder = new OnnxGraphBuilder(examples, batchDim is null ? null : [.. others.Select(x => x.Shape.ToArray())], named, options);
            return builder.Build(module.GetType().Name, traceA, outputsA, traceB, outputsB);
        }
        finally
        {
            module.Train(wasTraining);
        }
    }

    // Inputs with other values drawn from the examples' own range, one row more in the batch dim
    // when there is one: a tensor that the forward computes from its input outside the traced
    // operations then shows itself by differing between the two traces.
    static Tensor[] OtherInputs(Tensor[] examples, int? batchDim)
    {
        var generator = new Generator(0x0A11CEUL);
        return [.. examples.Select(x =>
        {
            int[] shape = [.. x.Shape.Select((size, d) => d == batchDim ? size + 1 : size)];
            if (x.DType.IsFloatingPoint()) return Tensor.Randn(shape, x.DType, generator: generator);
            if (x.DType == DType.Bool) return Tensor.Rand(shape, generator: generator) < 0.5;
            var values = x.To(DType.Float64);
            double low = x.Numel == 0 ? 0 : values.Min().Item<double>(), high = x.Numel == 0 ? 0 : values.Max().Item<double>();
            return (Tensor.Rand(shape, DType.Float64, generator: generator) * (high - low + 1) + low).Floor().Clamp(low, high).To(x.DType);
        })];
    }
}
