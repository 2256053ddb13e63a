namespace MetaGrad.Onnx;

/// <summary>
/// A tensor of the traced forward as the graph sees it: its name once it has one, its dtype and
/// traced shape, and for each dim the multiple of the batch it is (0: a fixed size). A constant
/// (a parameter, a buffer, a tensor made inside the forward, or one computed only from those)
/// keeps its values and becomes an initializer when a node first reads it.
/// </summary>
internal sealed class GraphValue(DType dtype, int[] shape, int[] batchFactors, Tensor? constant, string? name)
{
    /// <summary>The storage version the tensor had when it was made (null: not tracked, a constant).</summary>
    public int? Version { get; set; }

    public DType DType { get; } = dtype;
    public int[] Shape { get; } = shape;
    public int[] BatchFactors { get; } = batchFactors;
    public Tensor? Constant { get; } = constant;
    public string? Name { get; set; } = name;
    public bool IsDynamic => BatchFactors.Any(k => k != 0);
    public int Rank => Shape.Length;
}

/// <summary>
/// Turns two traces of a forward (the example's and, for a dynamic batch, one row more's) into an
/// ONNX graph: values by tensor identity, operations mapped one by one (<see cref="OnnxGraphBuilder"/>'s
/// other half, OpMappings), operations on constants alone folded into constants, and nodes no
/// output needs dropped at the end.
/// </summary>
internal sealed partial class OnnxGraphBuilder(Tensor[] examples, int[][]? otherShapes, Dictionary<Tensor, string> named, OnnxExportOptions options)
{
    readonly Dictionary<Tensor, GraphValue> _values = new(ReferenceEqualityComparer.Instance);
    readonly List<OnnxNode> _nodes = [];
    readonly List<OnnxTensor> _initializers = [];
    readonly HashSet<string> _names = [];
    // Small constants by value (axes, sizes, pads, scalars), each written once however many nodes read it.
    readonly Dictionary<string, string> _smallConstants = [];
    // Which traced operation made each tensor, with its resolved operands (a recurrent layer looks back at its projection).
    readonly Dictionary<Tensor, (TracedOp Op, GraphValue[] Operands)> _producers = new(ReferenceEqualityComparer.Instance);
    // Each max pooling's winners, with the pooled input and the name of ONNX MaxPool's values.
    readonly Dictionary<Tensor, (Tensor Input, string Values)> _poolMaxima = new(ReferenceEqualityComparer.Instance);
    string? _batch;
    int _batchA, _batchB;

    bool Dynamic => otherShapes is not null;

    public OnnxModel Build(string graphName, ForwardTrace traceA, Tensor[] outputsA, ForwardTrace? traceB, Tensor[]? outputsB)
    {
        var inputs = new List<OnnxValueInfo>();
        for (int i = 0; i < examples.Length; i++)
        {
            var x = examples[i];
            string name = Claim(options.InputNames?[i] ?? (examples.Length == 1 ? "input" : $"input_{i}"));
            var factors = new int[x.NDim];
            if (Dynamic) factors[options.BatchDim] = 1;
            _values[x] = new GraphValue(x.DType, x.Shape.ToArray(), factors, null, name) { Version = x.Version };
            inputs.Add(new OnnxValueInfo(name, OnnxType.Of(x.DType), Dims(x.Shape.ToArray(), factors)));
        }
        if (Dynamic) (_batchA, _batchB) = (examples[0].Shape[options.BatchDim], otherShapes![0][options.BatchDim]);
        var opsA = traceA.Ops;
        var opsB = traceB?.Ops;
        if (opsB is not null)
        {
            string others = Dynamic ? $"at batch size {_batchB}" : "on other input values";
            for (int i = 0; i < Math.Min(opsA.Count, opsB.Count); i++)
                if (opsA[i].Kind != opsB[i].Kind)
                    throw new NotSupportedException($"ONNX export: the forward ran {opsA[i].Name} ({opsA[i].CalledFrom}) on the example but {opsB[i].Name} {others}: a traced graph needs the same operations for every input");
            if (opsA.Count != opsB.Count)
                throw new NotSupportedException($"ONNX export: the forward ran {opsA.Count} operations on the example but {opsB.Count} {others}: a traced graph needs the same operations for every input");
        }
        for (int i = 0; i < opsA.Count; i++) Add(opsA[i], opsB?[i]);

        var outputs = new List<OnnxValueInfo>();
        for (int k = 0; k < outputsA.Length; k++)
        {
            var value = Resolve(outputsA[k], outputsB?[k], null, $"output {k}");
            string name = Claim(options.OutputNames?[k] ?? (outputsA.Length == 1 ? "output" : $"output_{k}"));
            _nodes.Add(new OnnxNode("Identity", [NameOf(value)], [name], name + "_identity", [], null));
            outputs.Add(new OnnxValueInfo(name, OnnxType.Of(value.DType), Dims(value.Shape, value.BatchFactors)));
        }
        var (nodes, initializers) = Needed(outputs.Select(o => o.Name));
        return new OnnxModel(graphName, nodes, initializers, inputs, outputs, options.Opset);
    }

    static object[] Dims(int[] shape, int[] factors) =>
        [.. shape.Select((s, d) => factors[d] == 0 ? (object)(long)s : factors[d] == 1 ? "batch" : $"batch*{factors[d]}")];

    // One operation: its operands resolved, then folded when all are constant, else mapped.
    void Add(TracedOp a, TracedOp? b)
    {
        var readsA = Reads(a);
        var readsB = b is null ? null : Reads(b);
        var operands = new GraphValue[readsA.Length];
        for (int i = 0; i < readsA.Length; i++)
        {
            operands[i] = Resolve(readsA[i], readsB?[i], a, $"operand {i}");
            // The graph would hand this operation the value as it was made; the forward changed it since.
            if (operands[i].Version is int made && i < a.InputVersions.Length && a.InputVersions[i] != made)
                throw new NotSupportedException($"ONNX export: {Describe(a)} reads a tensor (operand {i}) that was changed in place after it was computed; the exporter follows only operations that make new tensors");
        }
        var outputs = new GraphValue[a.Outputs.Length];
        bool dynamicOutput = false;
        for (int k = 0; k < outputs.Length; k++)
        {
            var factors = Factors(a.Outputs[k].Shape.ToArray(), b?.Outputs[k].Shape.ToArray(), a);
            dynamicOutput |= factors.Any(f => f != 0);
            outputs[k] = new GraphValue(a.Outputs[k].DType, a.Outputs[k].Shape.ToArray(), factors, null, null);
        }
        if (!dynamicOutput && operands.All(v => v.Constant is not null))
        {
            // Computed from constants alone (a mask, positions, a reshaped buffer): its values are the answer.
            for (int k = 0; k < outputs.Length; k++)
                _values.TryAdd(a.Outputs[k], new GraphValue(a.Outputs[k].DType, outputs[k].Shape, outputs[k].BatchFactors, a.Outputs[k], null));
            return;
        }
        foreach (var t in a.Outputs) _producers.TryAdd(t, (a, operands));
        var names = Map(a, b, operands, outputs);
        for (int k = 0; k < outputs.Length; k++)
        {
            if (names[k] is null) continue;
            outputs[k].Name = names[k];
            outputs[k].Version = a.OutputVersions[k];
            _values.TryAdd(a.Outputs[k], outputs[k]);
        }
    }

    // Each dim's multiple of the batch, from the two traces' sizes (a size that does not follow the batch linearly has none).
    int[] Factors(int[] shapeA, int[]? shapeB, TracedOp? op)
    {
        var factors = new int[shapeA.Length];
        if (shapeB is null) return factors;
        if (!Dynamic)
        {
            if (!shapeA.SequenceEqual(shapeB))
                throw new NotSupportedException($"ONNX export: {Describe(op)} gave shape {ShapeMath.Format(shapeA)} on the example but {ShapeMath.Format(shapeB)} on other values of the same shape: a size that depends on the values cannot be traced");
            return factors;
        }
        if (shapeB.Length != shapeA.Length)
            throw new NotSupportedException($"ONNX export: {Describe(op)} gave rank {shapeA.Length} at batch size {_batchA} but rank {shapeB.Length} at batch size {_batchB}");
        for (int d = 0; d < shapeA.Length; d++)
        {
            if (shapeA[d] == shapeB[d]) continue;
            int k = shapeB[d] - shapeA[d];
            if (k <= 0 || shapeA[d] != k * _batchA)
                throw new NotSupportedException($"ONNX export: {Describe(op)} gave size {shapeA[d]} at dim {d} for batch size {_batchA} and {shapeB[d]} for {_batchB}, not a multiple of the batch");
            factors[d] = k;
        }
        return factors;
    }

    static string Describe(TracedOp? op) => op is null ? "the forward" : $"{op.Name} ({op.CalledFrom})";

    // A tensor an operation reads: a value already in the graph, a named parameter or buffer, or a
    // constant made inside the forward, which must then be the same in both traces (else it was
    // computed from the input by something the trace did not see) or, when its size follows the
    // batch, hold one value throughout (zeros for a recurrent layer's first state).
    GraphValue Resolve(Tensor t, Tensor? other, TracedOp? reader, string what)
    {
        if (_values.TryGetValue(t, out var known)) return known;
        if (named.TryGetValue(t, out var paramName))
        {
            var param = new GraphValue(t.DType, t.Shape.ToArray(), new int[t.NDim], t, null);
            param.Name = Claim(paramName);
            _initializers.Add(OnnxTensor.From(param.Name, t));
            return _values[t] = param;
        }
        var factors = Factors(t.Shape.ToArray(), other?.Shape.ToArray(), reader);
        if (factors.All(f => f == 0))
        {
            if (other is not null && !SameValues(t, other) && BatchMultiple(t, other) is { } counted) return _values[t] = counted;
            if (other is not null && !SameValues(t, other))
                throw new NotSupportedException($"ONNX export: {Describe(reader)} reads a tensor ({what}, shape {ShapeMath.Format(t.Shape.ToArray())}) that changes with the input but was not computed by an operation the exporter traces; compute it with tensor operations");
            return _values[t] = new GraphValue(t.DType, t.Shape.ToArray(), factors, t, null);
        }
        var flat = t.Reshape(-1);
        var first = t.Numel == 0 ? null : flat.Narrow(0, 0, 1).Reshape([]);
        if (first is null || !SameValues(t, first.Expand(t.Shape.ToArray())))
            throw new NotSupportedException($"ONNX export: {Describe(reader)} reads a tensor ({what}, shape {ShapeMath.Format(t.Shape.ToArray())}) whose size follows the batch but that was not computed by an operation the exporter traces; compute it from the input with tensor operations");
        string scalar = Initializer("fill", first);
        string filled = Node("Expand", [scalar, ShapeVector(t.Shape.ToArray(), factors)]);
        return _values[t] = new GraphValue(t.DType, t.Shape.ToArray(), factors, null, filled);
    }

    // A number that is k times the batch at both batch sizes (a mean's count over the batch, say)
    // is read from the input's shape instead: Cast(batch)·k as a 0-d or one-element tensor.
    GraphValue? BatchMultiple(Tensor a, Tensor b)
    {
        if (!Dynamic || a.Numel != 1 || b.Numel != 1 || a.DType == DType.Bool) return null;
        double va = a.To(DType.Float64).Reshape([]).Item<double>(), vb = b.To(DType.Float64).Reshape([]).Item<double>();
        double k = va / _batchA;
        if (va == 0 || k * _batchB != vb) return null;
        string batch = Node("Cast", [Node("Reshape", [Batch, Int64s([.. a.Shape.Select(d => (long)d)])])], new OnnxAttribute("to", Int: OnnxType.Of(a.DType)));
        string name = k == 1 ? batch : Node("Mul", [batch, Scalar(k, a.DType)]);
        return new GraphValue(a.DType, a.Shape.ToArray(), new int[a.NDim], null, name);
    }

    static bool SameValues(Tensor a, Tensor b)
    {
        if (a.DType != b.DType || !a.Shape.SequenceEqual(b.Shape)) return false;
        var x = a.To(DType.Float64).Contiguous().ToArray<double>();
        var y = b.To(DType.Float64).Contiguous().ToArray<double>();
        for (int i = 0; i < x.Length; i++)
            if (!x[i].Equals(y[i])) return false;
        return true;
    }

    /// <summary>The value's name in the graph, writing a constant's initializer when it is first read.</summary>
    string NameOf(GraphValue v)
    {
        if (v.Name is not null) return v.Name;
        v.Name = Initializer("const", v.Constant!);
        return v.Name;
    }

    string Initializer(string hint, Tensor t)
    {
        string name = Fresh(hint);
        _initializers.Add(OnnxTensor.From(name, t));
        return name;
    }

    /// <summary>A 1-D Int64 constant (axes, sizes, pads), shared between nodes that use the same values.</summary>
    string Int64s(params long[] values)
    {
        string key = string.Join(",", values);
        if (_smallConstants.TryGetValue(key, out var name)) return name;
        name = Fresh("ints");
        _initializers.Add(OnnxTensor.Int64s(name, values));
        return _smallConstants[key] = name;
    }

    /// <summary>A 0-d constant of <paramref name="dtype"/>, shared like <see cref="Int64s"/>.</summary>
    string Scalar(double value, DType dtype)
    {
        string key = FormattableString.Invariant($"{dtype}:{value:R}");
        if (_smallConstants.TryGetValue(key, out var name)) return name;
        return _smallConstants[key] = Initializer("scalar", Tensor.Scalar(value, dtype));
    }

    // The batch size as a 1-D Int64 of one element, read once from the first input's shape.
    string Batch => _batch ??= Node("Shape", [_values[examples[0]].Name!], new OnnxAttribute("start", Int: options.BatchDim), new OnnxAttribute("end", Int: options.BatchDim + 1));

    /// <summary>
    /// A shape as a 1-D Int64 tensor: a constant when no dim follows the batch, else the fixed runs
    /// and each batch multiple (batch·k) concatenated, so no traced batch size is baked in.
    /// </summary>
    string ShapeVector(int[] shape, int[] factors)
    {
        if (factors.All(f => f == 0)) return Int64s([.. shape.Select(s => (long)s)]);
        var parts = new List<string>();
        var run = new List<long>();
        for (int d = 0; d < shape.Length; d++)
        {
            if (factors[d] == 0) { run.Add(shape[d]); continue; }
            if (run.Count > 0) { parts.Add(Int64s([.. run])); run.Clear(); }
            parts.Add(factors[d] == 1 ? Batch : Node("Mul", [Batch, Int64s(factors[d])]));
        }
        if (run.Count > 0) parts.Add(Int64s([.. run]));
        return parts.Count == 1 ? parts[0] : Node("Concat", [.. parts], new OnnxAttribute("axis", Int: 0));
    }

    /// <summary>Reshape's target: fixed sizes, with -1 where the one dim that follows the batch is (else each multiple spelled out).</summary>
    string ReshapeTarget(GraphValue output)
    {
        int dynamicDims = output.BatchFactors.Count(f => f != 0);
        if (dynamicDims != 1) return ShapeVector(output.Shape, output.BatchFactors);
        return Int64s([.. output.Shape.Select((s, d) => output.BatchFactors[d] != 0 ? -1L : s)]);
    }

    string Claim(string name)
    {
        if (!_names.Add(name)) throw new ArgumentException($"ONNX export: the name {name} is used twice");
        return name;
    }

    string Fresh(string hint)
    {
        for (int i = _names.Count; ; i++)
        {
            string name = $"{hint}_{i}";
            if (_names.Add(name)) return name;
        }
    }

    /// <summary>Adds a node of one output and returns the output's name.</summary>
    string Node(string op, string[] inputs, params OnnxAttribute[] attributes) => Nodes(op, inputs, 1, attributes)[0];

    string[] Nodes(string op, string[] inputs, int outputs, params OnnxAttribute[] attributes)
    {
        var names = new string[outputs];
        for (int k = 0; k < outputs; k++) names[k] = Fresh(op);
        _nodes.Add(new OnnxNode(op, inputs, names, names[0] + "_node", attributes, _doc));
        return names;
    }

    // The traced call each node comes from, written as the node's doc string.
    string? _doc;

    // Operators whose trailing outputs may be left off (MaxPool's indices, a recurrent layer's
    // final states), so that the runtime need not compute them when nothing reads them.
    static readonly HashSet<string> OptionalOutputs = ["MaxPool", "LSTM", "GRU", "RNN"];

    static int LastWanted(OnnxNode node, HashSet<string> wanted)
    {
        int last = 0;
        for (int k = 0; k < node.Outputs.Length; k++) if (wanted.Contains(node.Outputs[k])) last = k;
        return last;
    }

    // The nodes the outputs depend on, in order, and the initializers those read.
    (List<OnnxNode>, List<OnnxTensor>) Needed(IEnumerable<string> outputs)
    {
        var wanted = new HashSet<string>(outputs);
        var kept = new List<OnnxNode>();
        for (int i = _nodes.Count - 1; i >= 0; i--)
        {
            var node = _nodes[i];
            if (!node.Outputs.Any(wanted.Contains)) continue;
            kept.Add(OptionalOutputs.Contains(node.OpType) ? node with { Outputs = [.. node.Outputs.Take(LastWanted(node, wanted) + 1)] } : node);
            foreach (var input in node.Inputs) if (input.Length > 0) wanted.Add(input);
        }
        kept.Reverse();
        return (kept, [.. _initializers.Where(t => wanted.Contains(t.Name))]);
    }
}
