using MetaGrad.Backends;
using MetaGrad.Functions;

namespace MetaGrad.Onnx;

// Each traced operation as ONNX nodes. Functions that keep a tensor beside their inputs (a
// Where's condition, an embedding's ids) read it as one more operand, so that it is resolved,
// folded and named like any input.
internal sealed partial class OnnxGraphBuilder
{
    // ONNX operators of the same name and meaning (elementwise, numpy broadcasting).
    static readonly HashSet<string> SameName =
    [
        "Add", "Sub", "Mul", "Div", "Neg", "Pow", "Exp", "Log", "Sqrt", "Abs", "Erf", "Sin", "Cos", "Tan", "Asin", "Acos", "Atan",
        "Sinh", "Cosh", "Asinh", "Acosh", "Atanh", "Relu", "Sigmoid", "Tanh",
    ];

    static Tensor[] Reads(TracedOp op) => op.Function switch
    {
        Where w => [w.Condition, .. op.Inputs],
        Gather g => [.. op.Inputs, g.Picks.Index],
        IndexSelect s => [.. op.Inputs, s.Picks.Index],
        Selection s => [.. op.Inputs, s.Picks.Indices],
        EmbeddingLookup e => [.. op.Inputs, e.Ids],
        CrossEntropyRows c => [.. op.Inputs, c.Settings.Target],
        _ => op.Inputs,
    };

    NotSupportedException Unsupported(TracedOp op, string why = "has no ONNX mapping in this exporter") =>
        new($"ONNX export: {op.Name} ({op.CalledFrom}) {why}");

    string?[] Map(TracedOp a, TracedOp? b, GraphValue[] operands, GraphValue[] outputs)
    {
        _doc = $"{a.Name}, {a.CalledFrom}";
        var x = operands.Select(NameOf).ToArray();
        var output = outputs[0];
        if (a.Primitive is { } primitive) return [MapPrimitive(a, primitive, x, operands)];
        string type = a.Function!.GetType().Name;
        if (SameName.Contains(type)) return [Node(type, x)];
        switch (a.Function)
        {
            case LinearFunction:
                if (operands[0].Rank == 2) return [Node("Gemm", x, new OnnxAttribute("transB", Int: 1))];
                var product = Node("MatMul", [x[0], Node("Transpose", [x[1]], new OnnxAttribute("perm", Ints: [1, 0]))]);
                return [x.Length > 2 ? Node("Add", [product, x[2]]) : product];
            case Matmul:
                return [Node("MatMul", x)];
            case CrossEntropyRows c:
                // Per-sample losses, ignored targets 0: ONNX's own loss with no reduction (opset 13).
                return [Node("SoftmaxCrossEntropyLoss", x, new OnnxAttribute("reduction", Text: "none"),
                    new OnnxAttribute("ignore_index", Int: c.Settings.IgnoreIndex))];
            case LayerNormRows n:
            {
                // ONNX's LayerNormalization (opset 17) over the trailing dims; its scale is required.
                var (shape, hasWeight, hasBias, eps) = n.Settings;
                var dtype = operands[0].DType;
                string scale = hasWeight ? x[1] : Initializer("ones", Tensor.Ones(shape).To(dtype));
                string[] inputs = hasBias ? [x[0], scale, x[^1]] : [x[0], scale];
                return [Node("LayerNormalization", inputs, new OnnxAttribute("axis", Int: -shape.Length), new OnnxAttribute("epsilon", Float: (float)eps))];
            }
            case Functions.Softmax s when s.ZeroEmptyRows:
            {
                // ONNX's Softmax gives NaN for a row of all -inf: those rows (and only NaN could
                // also come from a NaN input) are set to 0, as the node does.
                string y = Node("Softmax", x, new OnnxAttribute("axis", Int: s.Dim));
                return [Node("Where", [Node("IsNaN", [y]), Scalar(0, operands[0].DType), y])];
            }
            case Functions.Softmax s:
                return [Node("Softmax", x, new OnnxAttribute("axis", Int: s.Dim))];
            case Functions.LogSoftmax s:
                return [Node("LogSoftmax", x, new OnnxAttribute("axis", Int: s.Dim))];
            case ElementwiseExtreme e:
                return [Node(e.Name.StartsWith("Max", StringComparison.Ordinal) ? "Max" : "Min", x)];
            case PowScalar p:
                // x² as a product, exactly as MetaGrad's kernel; other powers through Pow.
                return [p.Exponent == 2 ? Node("Mul", [x[0], x[0]]) : Node("Pow", [x[0], Scalar(p.Exponent, operands[0].DType)])];
            case Functions.Softplus s:
            {
                // MetaGrad's own form, max(z, 0) + log(1 + exp(-|z|)) over β, linear above the threshold.
                var (beta, threshold) = s.Settings;
                var dtype = operands[0].DType;
                string z = Node("Mul", [x[0], Scalar(beta, dtype)]);
                string tail = Node("Log", [Node("Add", [Scalar(1, dtype), Node("Exp", [Node("Neg", [Node("Abs", [z])])])])]);
                string smooth = Node("Div", [Node("Add", [Node("Relu", [z]), tail]), Scalar(beta, dtype)]);
                return [Node("Where", [Node("Greater", [z, Scalar(threshold, dtype)]), x[0], smooth])];
            }
            case Log1p:
                return [Node("Log", [Node("Add", [x[0], Scalar(1, operands[0].DType)])])];
            case Functions.Cast:
                return [Node("Cast", x, new OnnxAttribute("to", Int: OnnxType.Of(output.DType)))];
            case Functions.Clamp c:
            {
                var (min, max) = c.Bounds;
                string low = min is double lo ? Scalar(lo, operands[0].DType) : "", high = max is double hi ? Scalar(hi, operands[0].DType) : "";
                return [Node("Clip", high.Length == 0 ? [x[0], low] : [x[0], low, high])];
            }
            case Step s when s.Name is "FloorBackward" or "CeilBackward" or "RoundBackward" or "SignBackward":
                return [Node(s.Name[..^"Backward".Length], x)];
            case Functions.Where:
                return [Node("Where", x)];
            case Copy:
                return [Node("Identity", x)];
            case Functions.Reshape when PooledMaximum(a) is { } pooled:
                return [pooled];
            case Functions.Reshape:
                return [Node("Reshape", [x[0], ReshapeTarget(output)])];
            case Functions.Permute p:
                return [Node("Transpose", x, new OnnxAttribute("perm", Ints: [.. p.Dims.Select(d => (long)d)]))];
            case Functions.Expand:
                return [Node("Expand", [x[0], ShapeVector(output.Shape, output.BatchFactors)])];
            case Functions.View v:
                return [MapView(a, b, v, (View?)b?.Function, x[0], operands[0], output)];
            case EmbedIn e:
                return [MapPad(a, e, x[0], operands[0], output)];
            case Functions.Cat c:
                return [Node("Concat", x, new OnnxAttribute("axis", Int: c.Dim))];
            case Functions.Split s:
            {
                if (operands[0].BatchFactors[s.Dim] != 0) throw Unsupported(a, "splits the batch dim, which a dynamic batch cannot fix in sizes");
                var sizes = outputs.Select(o => (long)o.Shape[s.Dim]).ToArray();
                return Nodes("Split", [x[0], Int64s(sizes)], outputs.Length, new OnnxAttribute("axis", Int: s.Dim));
            }
            case Sum s:
            {
                var (dims, keep) = s.Reduced;
                if (dims.Length == 0) return [Node("Identity", x)];   // ONNX reads no axes as all of them
                return [Node("ReduceSum", [x[0], Int64s([.. dims.Select(d => (long)d)])], new OnnxAttribute("keepdims", Int: keep ? 1 : 0))];
            }
            case Extreme e:
            {
                var (dims, keep, max) = e.Reduced;
                long[] axes = [.. dims.Select(d => (long)d)];
                var keepDims = new OnnxAttribute("keepdims", Int: keep ? 1 : 0);
                // Opset 18 moved ReduceMax's and ReduceMin's axes from an attribute to an input, as ReduceSum's in 13.
                return [options.Opset >= 18 ? Node(max ? "ReduceMax" : "ReduceMin", [x[0], Int64s(axes)], keepDims)
                    : Node(max ? "ReduceMax" : "ReduceMin", [x[0]], new OnnxAttribute("axes", Ints: axes), keepDims)];
            }
            case Gather g:
                return [Node("GatherElements", x, new OnnxAttribute("axis", Int: g.Picks.Dim))];
            case IndexSelect s:
                return [Node("Gather", x, new OnnxAttribute("axis", Int: s.Picks.Dim))];
            case EmbeddingLookup:
                return [Node("Gather", x, new OnnxAttribute("axis", Int: 0))];
            case Selection s:
                // The values gathered at the indices, and the indices themselves as the second output.
                return [Node("GatherElements", x, new OnnxAttribute("axis", Int: s.Picks.Dim)), x[1]];
            case FusedConv2d c:
                return [MapConv(c.Windows, c.Groups, x)];
            case Functions.Unfold u:
                return [MapUnfold(u.Windows, x[0], operands[0], output)];
            case Functions.Fold f:
                return [MapFold(f.Settings, x[0], operands[0], output)];
            case RecurrentLayer r:
                return MapRecurrent(a, r, operands, outputs);
            case FusedAttention f:
                return [MapAttention(f, x, operands)];
            default:
                throw Unsupported(a);
        }
    }

    string MapPrimitive(TracedOp op, string primitive, string[] x, GraphValue[] operands)
    {
        switch (primitive)
        {
            case "Compare":
                var compare = (CompareOp)op.Attribute!;
                return compare switch
                {
                    CompareOp.Eq => Node("Equal", x),
                    CompareOp.Ne => Node("Not", [Node("Equal", x)]),
                    CompareOp.Lt => Node("Less", x),
                    CompareOp.Le => Node("LessOrEqual", x),
                    CompareOp.Gt => Node("Greater", x),
                    _ => Node("GreaterOrEqual", x),
                };
            case "Cast":
                return Node("Cast", x, new OnnxAttribute("to", Int: OnnxType.Of((DType)op.Attribute!)));
            case "ArgMax" or "ArgMin":
                // First index on ties (select_last_index 0), kept dim, as MetaGrad's arg-reduce.
                return Node(primitive, x, new OnnxAttribute("axis", Int: (int)op.Attribute!), new OnnxAttribute("keepdims", Int: 1));
            case "MaxPoolIndices":
                return MapMaxPoolIndices(op, x[0], operands[0]);
            default:
                throw Unsupported(op);
        }
    }

    // Each window's winner as its flat place in the input plane (row·W + column): ONNX's MaxPool
    // gives it over the whole tensor (n·C·H·W + c·H·W + row·W + column), so modulo H·W; the
    // values follow from a GatherElements that the trace holds next. Both take the first maximum
    // in the window's row-major order.
    string MapMaxPoolIndices(TracedOp op, string x, GraphValue input)
    {
        var (w, oh, ow) = ((Windows2d, int, int))op.Attribute!;
        int h = input.Shape[2], width = input.Shape[3];
        long EndPad(int size, int kernel, int dilation, int pad, int stride, int count) =>
            Math.Max(pad, (long)(count - 1) * stride + (long)dilation * (kernel - 1) + 1 - size - pad);
        long endH = EndPad(h, w.KernelH, w.DilationH, w.PadH, w.StrideH, oh), endW = EndPad(width, w.KernelW, w.DilationW, w.PadW, w.StrideW, ow);
        var pooled = Nodes("MaxPool", [x], 2,
            new OnnxAttribute("kernel_shape", Ints: [w.KernelH, w.KernelW]),
            new OnnxAttribute("strides", Ints: [w.StrideH, w.StrideW]),
            new OnnxAttribute("pads", Ints: [w.PadH, w.PadW, endH, endW]),
            new OnnxAttribute("dilations", Ints: [w.DilationH, w.DilationW]));
        _poolMaxima[op.Outputs[0]] = (op.Inputs[0], pooled[0]);
        return Node("Mod", [pooled[1], Int64s((long)h * width)]);
    }

    // MaxPool's own output for MetaGrad's gather of the winners, when the reshape at hand ends that
    // gather: [N, C, oh·ow] values of x.Flatten(2) at winners.Flatten(2), back in the winners' shape.
    // The gather's nodes are then dropped with everything else no output reads.
    string? PooledMaximum(TracedOp reshape)
    {
        if (!_producers.TryGetValue(reshape.Inputs[0], out var gather) || gather.Op.Function is not Gather { Picks.Dim: 2 } g) return null;
        if (!_producers.TryGetValue(gather.Op.Inputs[0], out var flatInput) || flatInput.Op.Function is not Functions.Reshape) return null;
        if (!_producers.TryGetValue(g.Picks.Index, out var flatWinners) || flatWinners.Op.Function is not Functions.Reshape) return null;
        if (!_poolMaxima.TryGetValue(flatWinners.Op.Inputs[0], out var pool) || !ReferenceEquals(pool.Input, flatInput.Op.Inputs[0])) return null;
        return reshape.Outputs[0].Shape.SequenceEqual(flatWinners.Op.Inputs[0].Shape) ? pool.Values : null;
    }

    // A slice or select, read off the view applied to a contiguous layout of the input's shape:
    // the offset spells each dim's start in its stride, a stride grown by k a step of k.
    string MapView(TracedOp op, TracedOp? other, View view, View? otherView, string x, GraphValue input, GraphValue output)
    {
        var (starts, steps, selected) = SliceOf(op, view, input.Shape);
        if (selected is int dim)
        {
            var picked = Node("Gather", [x, Int64s(starts[dim])], new OnnxAttribute("axis", Int: dim));
            return Node("Squeeze", [picked, Int64s(dim)]);
        }
        var axes = new List<long>();
        var begin = new List<long>();
        var end = new List<long>();
        var step = new List<long>();
        for (int d = 0; d < input.Rank; d++)
        {
            bool whole = starts[d] == 0 && steps[d] == 1 && output.Shape[d] == input.Shape[d];
            if (whole) continue;
            long stop = starts[d] + (long)(output.Shape[d] - 1) * steps[d] + 1;
            if (input.BatchFactors[d] != 0)
            {
                // Along the batch: only a slice that runs to the end at both batch sizes, from a fixed start.
                var (startsB, stepsB, _) = SliceOf(other!, otherView!, other!.Inputs[0].Shape.ToArray());
                int sizeB = other.Outputs[0].Shape[d], inputB = other.Inputs[0].Shape[d];
                bool toEnd = startsB[d] == starts[d] && stepsB[d] == steps[d] && stop + steps[d] > input.Shape[d]
                    && startsB[d] + (long)(sizeB - 1) * stepsB[d] + 1 + stepsB[d] > inputB;
                if (!toEnd) throw Unsupported(op, "slices the batch dim other than from a fixed start to its end");
                stop = long.MaxValue;
            }
            axes.Add(d); begin.Add(starts[d]); end.Add(stop); step.Add(steps[d]);
        }
        if (axes.Count == 0) return Node("Identity", [x]);
        return Node("Slice", [x, Int64s([.. begin]), Int64s([.. end]), Int64s([.. axes]), Int64s([.. step])]);
    }

    (long[] Starts, long[] Steps, int? Selected) SliceOf(TracedOp op, View view, int[] shape)
    {
        var full = Layout.Contiguous(shape);
        var viewed = view.Apply(full);
        var starts = Starts(full, viewed.Offset);
        if (viewed.Rank == shape.Length)
        {
            var steps = new long[shape.Length];
            for (int d = 0; d < shape.Length; d++)
            {
                steps[d] = viewed.Shape[d] <= 1 ? 1 : viewed.Strides[d] / Math.Max(full.Strides[d], 1);
                if (steps[d] <= 0 || (viewed.Shape[d] > 1 && viewed.Strides[d] != steps[d] * full.Strides[d])) throw Unsupported(op, "is a view that is not a slice");
            }
            return (starts, steps, null);
        }
        if (viewed.Rank == shape.Length - 1)
            for (int d = 0; d < shape.Length; d++)
            {
                var kept = Enumerable.Range(0, shape.Length).Where(k => k != d).ToArray();
                if (kept.Select(k => shape[k]).SequenceEqual(viewed.Shape) && kept.Select(k => full.Strides[k]).SequenceEqual(viewed.Strides) && starts[d] < shape[d])
                    return (starts, [.. Enumerable.Repeat(1L, shape.Length)], d);
            }
        throw Unsupported(op, "is a view that is not a slice");
    }

    // Where an offset into a contiguous layout starts along each dim: its digits in the strides,
    // largest first (a start below its dim's size never carries into the next).
    static long[] Starts(Layout full, long offset)
    {
        var starts = new long[full.Rank];
        for (int d = 0; d < full.Rank; d++)
        {
            if (full.Strides[d] == 0 || full.Shape[d] == 0) continue;
            starts[d] = offset / full.Strides[d];
            offset -= starts[d] * full.Strides[d];
        }
        return starts;
    }

    // x written into zeros of the output's shape at a region (constant padding): the region read
    // off a contiguous layout as a slice is, each dim's start its padding before.
    string MapPad(TracedOp op, EmbedIn embed, string x, GraphValue input, GraphValue output)
    {
        var full = Layout.Contiguous(output.Shape);
        var region = embed.Region(full);
        var before = Starts(full, region.Offset);
        if (region.Rank != output.Rank || !region.Shape.SequenceEqual(input.Shape)
            || Enumerable.Range(0, output.Rank).Any(d => region.Shape[d] > 1 && region.Strides[d] != full.Strides[d]))
            throw Unsupported(op, "writes into a region that is not a box");
        var after = Enumerable.Range(0, output.Rank).Select(d => (long)(output.Shape[d] - input.Shape[d]) - before[d]).ToArray();
        if (Enumerable.Range(0, output.Rank).Any(d => output.BatchFactors[d] != 0 && (before[d] != 0 || after[d] != 0)))
            throw Unsupported(op, "pads the batch dim");
        return Node("Pad", [x, Int64s([.. before, .. after]), Scalar(0, input.DType)], new OnnxAttribute("mode", Text: "constant"));
    }

    // col2im, Unfold's adjoint, for opset 17 (Col2Im came in 18): each kernel position's block
    // [N, C, oh, ow] spread out by the stride (a zero after each element, then cut), padded to its
    // place in the padded image, all summed, the padding cut away.
    string MapFold((Windows2d Windows, int Height, int Width) fold, string cols, GraphValue input, GraphValue output)
    {
        var (w, height, width) = fold;
        int oh = w.OutH(height), ow = w.OutW(width), kernel = w.Size, channels = input.Shape[1] / kernel;
        int paddedH = height + 2 * w.PadH, paddedW = width + 2 * w.PadW;
        int spanH = (oh - 1) * w.StrideH + 1, spanW = (ow - 1) * w.StrideW + 1;
        string blocks = Node("Reshape", [cols, Int64s(input.BatchFactors[0] != 0 ? -1 : input.Shape[0], channels, kernel, oh, ow)]);
        var placed = new List<string>();
        for (int i = 0; i < w.KernelH; i++)
            for (int j = 0; j < w.KernelW; j++)
            {
                string block = Node("Gather", [blocks, Initializer("position", Tensor.From((long)(i * w.KernelW + j)))], new OnnxAttribute("axis", Int: 2));
                if (w.StrideH > 1 || w.StrideW > 1)
                {
                    string gapped = Node("Pad", [Node("Unsqueeze", [block, Int64s(3, 5)]), Int64s(0, 0, 0, 0, 0, 0, 0, 0, 0, w.StrideH - 1, 0, w.StrideW - 1),
                        Scalar(0, input.DType)], new OnnxAttribute("mode", Text: "constant"));
                    string spread = Node("Reshape", [gapped, Int64s(0, channels, oh * w.StrideH, ow * w.StrideW)]);
                    block = Node("Slice", [spread, Int64s(0, 0), Int64s(spanH, spanW), Int64s(2, 3)]);
                }
                long top = (long)i * w.DilationH, left = (long)j * w.DilationW;
                placed.Add(Node("Pad", [block, Int64s(0, 0, top, left, 0, 0, paddedH - top - spanH, paddedW - left - spanW), Scalar(0, input.DType)],
                    new OnnxAttribute("mode", Text: "constant")));
            }
        string sum = placed.Count == 1 ? placed[0] : Node("Sum", [.. placed]);
        if (w.PadH == 0 && w.PadW == 0) return sum;
        return Node("Slice", [sum, Int64s(w.PadH, w.PadW), Int64s(w.PadH + height, w.PadW + width), Int64s(2, 3)]);
    }

    string MapConv(Windows2d w, int groups, string[] x) =>
        Node("Conv", x,
            new OnnxAttribute("kernel_shape", Ints: [w.KernelH, w.KernelW]),
            new OnnxAttribute("strides", Ints: [w.StrideH, w.StrideW]),
            new OnnxAttribute("pads", Ints: [w.PadH, w.PadW, w.PadH, w.PadW]),
            new OnnxAttribute("dilations", Ints: [w.DilationH, w.DilationW]),
            new OnnxAttribute("group", Int: groups));

    // im2col without an ONNX operator of its own: one strided slice of the zero-padded image per
    // kernel position, stacked as [N, C, kh·kw, oh, ow] and flattened to [N, C·kh·kw, oh·ow], the
    // row order of MetaGrad's columns (channel, then kernel row, then kernel column).
    string MapUnfold(Windows2d w, string x, GraphValue input, GraphValue output)
    {
        int h = input.Shape[2], width = input.Shape[3];
        int oh = w.OutH(h), ow = w.OutW(width);
        string padded = w.PadH == 0 && w.PadW == 0 ? x
            : Node("Pad", [x, Int64s(0, 0, w.PadH, w.PadW, 0, 0, w.PadH, w.PadW), Scalar(0, input.DType)], new OnnxAttribute("mode", Text: "constant"));
        var pieces = new List<string>();
        for (int i = 0; i < w.KernelH; i++)
            for (int j = 0; j < w.KernelW; j++)
            {
                long top = (long)i * w.DilationH, left = (long)j * w.DilationW;
                var slice = Node("Slice", [padded, Int64s(top, left), Int64s(top + (long)(oh - 1) * w.StrideH + 1, left + (long)(ow - 1) * w.StrideW + 1),
                    Int64s(2, 3), Int64s(w.StrideH, w.StrideW)]);
                pieces.Add(Node("Unsqueeze", [slice, Int64s(2)]));
            }
        string stacked = pieces.Count == 1 ? pieces[0] : Node("Concat", [.. pieces], new OnnxAttribute("axis", Int: 2));
        return Node("Reshape", [stacked, ReshapeTarget(output)]);
    }
}
