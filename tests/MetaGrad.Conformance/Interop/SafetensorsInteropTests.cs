using TorchSharp;
using TorchSharp.PyBridge;
using static MetaGrad.Conformance.Interop.TorchBridge;
using MgSafetensors = MetaGrad.IO.Safetensors;
using TorchSafetensors = TorchSharp.PyBridge.Safetensors;
using TT = TorchSharp.torch.Tensor;

namespace MetaGrad.Conformance.Interop;

/// <summary>
/// Safetensors files move between MetaGrad (MetaGrad.IO.Safetensors) and TorchSharp (through
/// TorchSharp.PyBridge's reader and writer) in both directions with every value bit-exact, for each
/// dtype MetaGrad has, including special values, 0-d and empty tensors; and a model's weights saved
/// on one side give the same outputs on the other.
/// </summary>
public sealed class SafetensorsInteropTests : IDisposable
{
    readonly string _folder = Directory.CreateTempSubdirectory("metagrad-safetensors-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    string PathOf(string name) => Path.Combine(_folder, name);

    /// <summary>One tensor of each dtype and awkward shape, with the values that a lossy path would change.</summary>
    static Dictionary<string, Tensor> Samples() => new()
    {
        ["f32"] = Tensor.From(new[] { 0f, -0f, 1.5f, float.NaN, float.PositiveInfinity, float.NegativeInfinity, float.Epsilon, float.MaxValue, -1e-38f, 0.1f, 1f / 3, -7.25f }, [3, 4]),
        ["f64"] = Tensor.From(new[] { 0.0, -0.0, double.NaN, double.NegativeInfinity, double.Epsilon, double.MaxValue, 0.1, Math.PI }, [2, 2, 2]),
        ["i64"] = Tensor.From(new[] { long.MinValue, -1, 0, 1, long.MaxValue, 1L << 53 | 1 }, [6]),
        ["i32"] = Tensor.From(new[] { int.MinValue, -7, 0, 42, int.MaxValue, 65536 }, [2, 3]),
        ["bool"] = Tensor.From(new[] { true, false, false, true, true }, [5]),
        ["f16"] = Tensor.From(new[] { 0f, -0f, 1.5f, float.PositiveInfinity, 65504f, 5.960464477539063e-08f, 0.1f }).Half(),
        ["bf16"] = Tensor.From(new[] { 0f, -0f, 1.5f, float.NegativeInfinity, 3.3895313892515355e38f, 1e-40f, 0.1f }).BFloat16(),
        ["u8"] = Tensor.From(new byte[] { 0, 1, 127, 128, 255 }),
        ["i8"] = Tensor.From(new sbyte[] { sbyte.MinValue, -1, 0, sbyte.MaxValue }, [2, 2]),
        ["i16"] = Tensor.From(new short[] { short.MinValue, -1, 0, short.MaxValue }),
        ["scalar"] = Tensor.From(2.5f),
        ["empty"] = Tensor.Zeros([0, 3]),
        ["nested.module.weight"] = Tensor.From(Enumerable.Range(0, 24).Select(i => i * 0.37f - 3).ToArray(), [2, 3, 4]),
    };

    /// <summary>The raw bytes of a tensor's values, so NaN payloads and -0 are compared exactly.</summary>
    static byte[] Bytes(Tensor t) => t.DType switch
    {
        DType.Float32 => t.ToArray<float>().SelectMany(BitConverter.GetBytes).ToArray(),
        DType.Float64 => t.ToArray<double>().SelectMany(BitConverter.GetBytes).ToArray(),
        DType.Int64 => t.ToArray<long>().SelectMany(BitConverter.GetBytes).ToArray(),
        DType.Int32 => t.ToArray<int>().SelectMany(BitConverter.GetBytes).ToArray(),
        DType.Bool => t.ToArray<bool>().Select(b => (byte)(b ? 1 : 0)).ToArray(),
        DType.Float16 => t.ToArray<Half>().SelectMany(BitConverter.GetBytes).ToArray(),
        DType.BFloat16 => t.ToArray<BFloat16>().SelectMany(b => BitConverter.GetBytes(b.Bits)).ToArray(),
        DType.UInt8 => t.ToArray<byte>(),
        DType.Int8 => t.ToArray<sbyte>().Select(b => unchecked((byte)b)).ToArray(),
        DType.Int16 => t.ToArray<short>().SelectMany(BitConverter.GetBytes).ToArray(),
        _ => throw new ArgumentOutOfRangeException(nameof(t), $"no bytes for {t.DType}"),
    };

    static void AssertIdentical(Tensor expected, Tensor actual, string name)
    {
        Assert.True(expected.DType == actual.DType, $"{name}: dtype {actual.DType}, expected {expected.DType}");
        Assert.True(expected.Shape.SequenceEqual(actual.Shape), $"{name}: shape [{string.Join(", ", actual.Shape)}], expected [{string.Join(", ", expected.Shape)}]");
        Assert.True(Bytes(expected).SequenceEqual(Bytes(actual)), $"{name}: values differ");
    }

    [Fact]
    public void FileWrittenByTorchSharpReadsBackExactly()
    {
        using var scope = torch.NewDisposeScope();
        var samples = Samples();
        TorchSafetensors.SaveStateDict(PathOf("torch.safetensors"), samples.ToDictionary(kv => kv.Key, kv => ToTorch(kv.Value)));

        var loaded = MgSafetensors.Load(PathOf("torch.safetensors")).Tensors;
        Assert.Equal(samples.Keys.Order(), loaded.Keys.Order());
        foreach (var (name, expected) in samples) AssertIdentical(expected, loaded[name], name);
    }

    [Fact]
    public void FileWrittenByMetaGradReadsBackExactlyInTorchSharp()
    {
        using var scope = torch.NewDisposeScope();
        var samples = Samples();
        MgSafetensors.Save(PathOf("metagrad.safetensors"), samples, new Dictionary<string, string> { ["format"] = "pt" });

        var loaded = TorchSafetensors.LoadStateDict(PathOf("metagrad.safetensors"));
        Assert.Equal(samples.Keys.Order(), loaded.Keys.Order());
        foreach (var (name, expected) in samples)
        {
            Assert.Equal(ToTorch(expected.DType), loaded[name].dtype);
            AssertIdentical(expected, FromTorch(loaded[name]), name);
        }
    }

    [Fact]
    public void NonContiguousTensorsAreWrittenInRowMajorOrder()
    {
        using var scope = torch.NewDisposeScope();
        var t = Tensor.From(Enumerable.Range(0, 12).Select(i => (double)i).ToArray(), [3, 4]).T;   // a transposed view
        MgSafetensors.Save(PathOf("view.safetensors"), new Dictionary<string, Tensor> { ["t"] = t });
        var loaded = TorchSafetensors.LoadStateDict(PathOf("view.safetensors"))["t"];
        AssertClose(loaded, t, 0, 0, "a transposed view, stored as its row-major values");
    }

    /// <summary>An MLP in both libraries under the same names, so a checkpoint from one loads into the other.</summary>
    static (NN.Sequential Ours, torch.nn.Module<TT, TT> Theirs) Mlp() =>
        (new NN.Sequential(new NN.Linear(5, 7), new NN.Tanh(), new NN.Linear(7, 2)),
         torch.nn.Sequential(torch.nn.Linear(5, 7), torch.nn.Tanh(), torch.nn.Linear(7, 2)));

    static void AssertSameOutputs(NN.Sequential ours, torch.nn.Module<TT, TT> theirs)
    {
        var x = Tensor.From(Enumerable.Range(0, 15).Select(i => MathF.Sin(i)).ToArray(), [3, 5]);
        using var y = theirs.forward(ToTorch(x));
        AssertClose(y, ours.Forward(x), 1e-6, 1e-7, "outputs of the same weights");
    }

    [Fact]
    public void ModelSavedByTorchSharpLoadsIntoMetaGrad()
    {
        using var scope = torch.NewDisposeScope();
        var (ours, theirs) = Mlp();
        theirs.save_safetensors(PathOf("torch-model.safetensors"));
        var (missing, unexpected) = ours.LoadStateDict(MgSafetensors.Load(PathOf("torch-model.safetensors")).Tensors, strict: true);
        Assert.Empty(missing);
        Assert.Empty(unexpected);
        AssertSameOutputs(ours, theirs);
    }

    [Fact]
    public void ModelSavedByMetaGradLoadsIntoTorchSharp()
    {
        using var scope = torch.NewDisposeScope();
        var (ours, theirs) = Mlp();
        MgSafetensors.Save(PathOf("metagrad-model.safetensors"), ours.StateDict());
        theirs.load_safetensors(PathOf("metagrad-model.safetensors"), strict: true);
        AssertSameOutputs(ours, theirs);
    }
}
