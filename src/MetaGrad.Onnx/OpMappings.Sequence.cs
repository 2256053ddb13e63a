using MetaGrad.Functions;

namespace MetaGrad.Onnx;

internal sealed partial class OnnxGraphBuilder
{
    string?[] MapRecurrent(TracedOp op, RecurrentLayer layer, GraphValue[] operands, GraphValue[] outputs) =>
        throw Unsupported(op);

    string MapAttention(FusedAttention attention, string[] x, GraphValue[] operands) =>
        throw new NotSupportedException("ONNX export: FusedAttention has no ONNX mapping in this exporter");
}
