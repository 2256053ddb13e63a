using Google.Protobuf;

namespace MetaGrad.Onnx;

// ONNX's messages, only the fields the exporter writes, from the field numbers published in
// onnx/onnx.proto (IR version 8). Written with Protocol Buffers' own CodedOutputStream: a few
// dozen lines instead of a generated file of several thousand, and no protoc step in the build.

/// <summary>ONNX's TensorProto.DataType codes for MetaGrad's dtypes.</summary>
internal static class OnnxType
{
    public const int Float = 1, Int32 = 6, Int64 = 7, Bool = 9, Double = 11;

    public static int Of(DType dtype) => dtype switch
    {
        DType.Float32 => Float,
        DType.Float64 => Double,
        DType.Int64 => Int64,
        DType.Int32 => Int32,
        DType.Bool => Bool,
        _ => throw new NotSupportedException($"ONNX export: dtype {dtype} has no ONNX counterpart here"),
    };
}

/// <summary>A constant tensor (TensorProto) as raw little-endian bytes.</summary>
internal sealed record OnnxTensor(string Name, long[] Dims, int DataType, byte[] Raw)
{
    public void WriteTo(CodedOutputStream o)
    {
        foreach (var d in Dims) { o.WriteTag(1, WireFormat.WireType.Varint); o.WriteInt64(d); }
        o.WriteTag(2, WireFormat.WireType.Varint); o.WriteInt32(DataType);
        o.WriteTag(8, WireFormat.WireType.LengthDelimited); o.WriteString(Name);
        o.WriteTag(9, WireFormat.WireType.LengthDelimited); o.WriteBytes(ByteString.CopyFrom(Raw));
    }

    /// <summary>The values of <paramref name="t"/> (any layout) under <paramref name="name"/>.</summary>
    public static OnnxTensor From(string name, Tensor t)
    {
        var c = t.Contiguous();
        byte[] raw = t.DType switch
        {
            DType.Float32 => Bytes(c.ToArray<float>()),
            DType.Float64 => Bytes(c.ToArray<double>()),
            DType.Int64 => Bytes(c.ToArray<long>()),
            DType.Int32 => Bytes(c.ToArray<int>()),
            DType.Bool => [.. c.ToArray<bool>().Select(b => b ? (byte)1 : (byte)0)],
            _ => throw new NotSupportedException($"ONNX export: dtype {t.DType} has no ONNX counterpart here"),
        };
        return new OnnxTensor(name, [.. t.Shape.Select(d => (long)d)], OnnxType.Of(t.DType), raw);
    }

    /// <summary>A 1-D Int64 tensor (shapes, axes, pads).</summary>
    public static OnnxTensor Int64s(string name, long[] values) => new(name, [values.Length], OnnxType.Int64, Bytes(values));

    // Raw data is little-endian, as the platforms .NET runs on.
    static byte[] Bytes<T>(T[] values) where T : unmanaged => System.Runtime.InteropServices.MemoryMarshal.AsBytes(values.AsSpan()).ToArray();
}

/// <summary>One attribute of a node (AttributeProto): a float, an int, a string, or a list of ints or strings (all the exporter writes).</summary>
internal sealed record OnnxAttribute(string Name, long? Int = null, string? Text = null, long[]? Ints = null, string[]? Texts = null, float? Float = null)
{
    public void WriteTo(CodedOutputStream o)
    {
        o.WriteTag(1, WireFormat.WireType.LengthDelimited); o.WriteString(Name);
        int type;
        if (Float is float f) { type = 1; o.WriteTag(2, WireFormat.WireType.Fixed32); o.WriteFloat(f); }
        else if (Int is long i) { type = 2; o.WriteTag(3, WireFormat.WireType.Varint); o.WriteInt64(i); }
        else if (Text is string s) { type = 3; o.WriteTag(4, WireFormat.WireType.LengthDelimited); o.WriteBytes(ByteString.CopyFromUtf8(s)); }
        else if (Ints is long[] ints) { type = 7; foreach (var v in ints) { o.WriteTag(8, WireFormat.WireType.Varint); o.WriteInt64(v); } }
        else if (Texts is string[] texts) { type = 8; foreach (var v in texts) { o.WriteTag(9, WireFormat.WireType.LengthDelimited); o.WriteBytes(ByteString.CopyFromUtf8(v)); } }
        else throw new InvalidOperationException($"ONNX attribute {Name} has no value");
        o.WriteTag(20, WireFormat.WireType.Varint); o.WriteEnum(type);
    }
}

/// <summary>One operator call (NodeProto).</summary>
internal sealed record OnnxNode(string OpType, string[] Inputs, string[] Outputs, string Name, OnnxAttribute[] Attributes, string? Doc)
{
    public void WriteTo(CodedOutputStream o)
    {
        foreach (var i in Inputs) { o.WriteTag(1, WireFormat.WireType.LengthDelimited); o.WriteString(i); }
        foreach (var x in Outputs) { o.WriteTag(2, WireFormat.WireType.LengthDelimited); o.WriteString(x); }
        o.WriteTag(3, WireFormat.WireType.LengthDelimited); o.WriteString(Name);
        o.WriteTag(4, WireFormat.WireType.LengthDelimited); o.WriteString(OpType);
        foreach (var a in Attributes) Proto.WriteMessage(o, 5, a.WriteTo);
        if (Doc is not null) { o.WriteTag(6, WireFormat.WireType.LengthDelimited); o.WriteString(Doc); }
    }
}

/// <summary>A graph input or output (ValueInfoProto) with its element type and shape; a dim is a size or a name (dim_param).</summary>
internal sealed record OnnxValueInfo(string Name, int ElementType, object[] Dims)
{
    public void WriteTo(CodedOutputStream o)
    {
        o.WriteTag(1, WireFormat.WireType.LengthDelimited); o.WriteString(Name);
        Proto.WriteMessage(o, 2, type =>                        // TypeProto
            Proto.WriteMessage(type, 1, tensor =>               // TypeProto.Tensor
            {
                tensor.WriteTag(1, WireFormat.WireType.Varint); tensor.WriteInt32(ElementType);
                Proto.WriteMessage(tensor, 2, shape =>          // TensorShapeProto
                {
                    foreach (var d in Dims)
                        Proto.WriteMessage(shape, 1, dim =>     // TensorShapeProto.Dimension
                        {
                            if (d is string param) { dim.WriteTag(2, WireFormat.WireType.LengthDelimited); dim.WriteString(param); }
                            else { dim.WriteTag(1, WireFormat.WireType.Varint); dim.WriteInt64(Convert.ToInt64(d)); }
                        });
                });
            }));
    }
}

/// <summary>A whole model: one graph (GraphProto) in a ModelProto with the default domain's opset.</summary>
internal sealed record OnnxModel(string GraphName, List<OnnxNode> Nodes, List<OnnxTensor> Initializers, List<OnnxValueInfo> Inputs,
    List<OnnxValueInfo> Outputs, int Opset)
{
    /// <summary>IR version 8 is the one that goes with opsets 17 and 18.</summary>
    public const long IrVersion = 8;

    public byte[] ToBytes()
    {
        using var stream = new MemoryStream();
        var o = new CodedOutputStream(stream);
        o.WriteTag(1, WireFormat.WireType.Varint); o.WriteInt64(IrVersion);
        o.WriteTag(2, WireFormat.WireType.LengthDelimited); o.WriteString("MetaGrad");
        o.WriteTag(3, WireFormat.WireType.LengthDelimited); o.WriteString(typeof(Tensor).Assembly.GetName().Version?.ToString() ?? "0");
        Proto.WriteMessage(o, 7, WriteGraph);
        Proto.WriteMessage(o, 8, opset =>
        {
            opset.WriteTag(1, WireFormat.WireType.LengthDelimited); opset.WriteString("");
            opset.WriteTag(2, WireFormat.WireType.Varint); opset.WriteInt64(Opset);
        });
        o.Flush();
        return stream.ToArray();
    }

    void WriteGraph(CodedOutputStream o)
    {
        foreach (var n in Nodes) Proto.WriteMessage(o, 1, n.WriteTo);
        o.WriteTag(2, WireFormat.WireType.LengthDelimited); o.WriteString(GraphName);
        foreach (var t in Initializers) Proto.WriteMessage(o, 5, t.WriteTo);
        foreach (var i in Inputs) Proto.WriteMessage(o, 11, i.WriteTo);
        foreach (var x in Outputs) Proto.WriteMessage(o, 12, x.WriteTo);
    }
}

internal static class Proto
{
    /// <summary>Writes an embedded message as field <paramref name="field"/>: its bytes first, then their length and them.</summary>
    public static void WriteMessage(CodedOutputStream o, int field, Action<CodedOutputStream> body)
    {
        using var inner = new MemoryStream();
        var c = new CodedOutputStream(inner);
        body(c);
        c.Flush();
        o.WriteTag(field, WireFormat.WireType.LengthDelimited);
        o.WriteBytes(ByteString.CopyFrom(inner.GetBuffer(), 0, (int)inner.Length));
    }
}
