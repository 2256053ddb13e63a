using MetaGrad.Functions;
using MetaGrad.NN;

namespace MetaGrad.Onnx;

// Recurrent layers as ONNX's own LSTM, GRU and RNN operators, and attention.
internal sealed partial class OnnxGraphBuilder
{
    // ONNX's gate blocks, each as PyTorch's block index: LSTM i, o, f, c from PyTorch's i, f, g, o;
    // GRU z, r, h from r, z, n.
    static int[] OnnxGateOrder(RecurrentKind kind) => kind switch
    {
        RecurrentKind.Lstm => [0, 3, 1, 2],
        RecurrentKind.Gru => [1, 0, 2],
        _ => [0],
    };

    // MetaGrad's layer node reads the input half of every step already computed (gi = x·W_ihᵀ, a
    // linear node without bias just before it); ONNX's operators take x and W_ih themselves, so
    // the linear node's own operands are used and the node is dropped when nothing else reads it.
    string?[] MapRecurrent(TracedOp op, RecurrentLayer layer, GraphValue[] operands, GraphValue[] outputs)
    {
        var (kind, batchSizes, reverse, layout) = layer.Settings;
        if (batchSizes.Distinct().Count() > 1) throw Unsupported(op, "runs a packed batch of sequences of several lengths; export a padded batch");
        if (!_producers.TryGetValue(op.Inputs[0], out var projection) || projection.Op.Function is not LinearFunction || projection.Operands.Length != 2)
            throw Unsupported(op, "reads input projections that no linear layer without bias computed just before");
        var (data, weightIh) = (projection.Operands[0], projection.Operands[1]);
        int at = 1;
        var h0 = operands[at++];
        var c0 = layout.HasC0 ? operands[at++] : null;
        var weightHh = operands[at++];
        var biasHh = layout.HasBiasHh ? operands[at++] : null;
        var biasIh = layout.HasBiasIh ? operands[at] : null;
        if (weightIh.Constant is null || weightHh.Constant is null || biasHh is { Constant: null } || biasIh is { Constant: null })
            throw Unsupported(op, "has weights computed from the input; ONNX's recurrent operators take them as they are");

        int steps = batchSizes.Length, hidden = weightHh.Shape[1], inputSize = data.Shape[1];
        var order = OnnxGateOrder(kind);
        Tensor Gates(Tensor t) => Tensor.Cat([.. order.Select(b => t.Narrow(0, b * hidden, hidden))], 0).Unsqueeze(0);
        string w = Initializer("W", Gates(weightIh.Constant));
        string r = Initializer("R", Gates(weightHh.Constant));
        var zeros = Tensor.Zeros([order.Length * hidden], weightHh.DType);
        string b = Initializer("B", Tensor.Cat([Gates(biasIh?.Constant ?? zeros), Gates(biasHh?.Constant ?? zeros)], 1));
        string x = Node("Reshape", [NameOf(data), Int64s(steps, -1, inputSize)]);

        var attributes = new List<OnnxAttribute>
        {
            new("hidden_size", Int: hidden),
            new("direction", Text: reverse ? "reverse" : "forward"),
        };
        if (kind == RecurrentKind.Gru) attributes.Add(new("linear_before_reset", Int: 1));   // PyTorch's n = tanh(W_in·x + b_in + r ⊙ (W_hn·h + b_hn))
        if (kind is RecurrentKind.RnnTanh or RecurrentKind.RnnRelu) attributes.Add(new("activations", Texts: [kind == RecurrentKind.RnnRelu ? "Relu" : "Tanh"]));
        string initialH = Node("Unsqueeze", [NameOf(h0), Int64s(0)]);
        string[] inputs = kind == RecurrentKind.Lstm
            ? [x, w, r, b, "", initialH, Node("Unsqueeze", [NameOf(c0!), Int64s(0)])]
            : [x, w, r, b, "", initialH];
        string opType = kind switch { RecurrentKind.Lstm => "LSTM", RecurrentKind.Gru => "GRU", _ => "RNN" };
        var results = Nodes(opType, inputs, kind == RecurrentKind.Lstm ? 3 : 2, [.. attributes]);

        // Y [T, 1, N, H] back to MetaGrad's rows [T·N, H]; the final states [1, N, H] to [N, H].
        var names = new string?[outputs.Length];
        names[0] = Node("Reshape", [results[0], Int64s(-1, hidden)]);
        names[1] = Node("Squeeze", [results[1], Int64s(0)]);
        if (kind == RecurrentKind.Lstm) names[2] = Node("Squeeze", [results[2], Int64s(0)]);
        return names;
    }

    // The fused attention node written out: softmax(scale·q·kᵀ)·v over [B, L, E] × [B, S, E],
    // with the causal mask (key j ≤ query i, PyTorch's top-left triangle) added as 0 or −∞, and a
    // mask of the caller's own (the node's fourth input, computed from the model's inputs as
    // traced): Bool through Where (false → −∞), floating added, broadcast over q's leading dims as
    // they were before [B] flattened them. A row the mask hides whole comes out of Softmax as NaN,
    // where MetaGrad gives zeros: such rows are set to 0.
    string MapAttention(FusedAttention attention, string[] x, GraphValue[] operands)
    {
        var (causal, scale) = attention.Settings;
        var dtype = operands[0].DType;
        int l = operands[0].Shape[1], s = operands[1].Shape[1];
        string scores = Node("Mul", [Node("MatMul", [x[0], Node("Transpose", [x[1]], new OnnxAttribute("perm", Ints: [0, 2, 1]))]), Scalar(scale, dtype)]);
        if (causal)
        {
            var mask = new float[l * s];
            for (int i = 0; i < l; i++)
                for (int j = i + 1; j < s; j++) mask[i * s + j] = float.NegativeInfinity;
            scores = Node("Add", [scores, Initializer("causal_mask", Tensor.From(mask, [l, s]).To(dtype))]);
        }
        bool masked = x.Length > 3;
        if (masked)
        {
            // Back to q's leading dims (the first of them dynamic), so that the mask broadcasts as it did.
            int[] lead = attention.Lead;
            if (lead.Length > 1) scores = Node("Reshape", [scores, Int64s([-1, .. lead[1..].Select(d => (long)d), l, s])]);
            scores = operands[3].DType == DType.Bool
                ? Node("Where", [x[3], scores, Scalar(double.NegativeInfinity, dtype)])
                : Node("Add", [scores, x[3]]);
            if (lead.Length > 1) scores = Node("Reshape", [scores, Int64s(-1, l, s)]);
        }
        string weights = Node("Softmax", [scores], new OnnxAttribute("axis", Int: -1));
        if (masked) weights = Node("Where", [Node("IsNaN", [weights]), Scalar(0, dtype), weights]);
        return Node("MatMul", [weights, x[2]]);
    }
}
