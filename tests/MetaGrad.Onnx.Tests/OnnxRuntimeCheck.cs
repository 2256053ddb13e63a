using MetaGrad.NN;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace MetaGrad.Onnx.Tests;

/// <summary>
/// Runs an exported model in ONNX Runtime and MetaGrad's forward on the same inputs, and holds
/// every output equal within float32's rounding: |ort − metagrad| ≤ 1e-5·|metagrad| + 1e-6.
/// </summary>
internal static class OnnxRuntimeCheck
{
    public const double Relative = 1e-5, Absolute = 1e-6;

    /// <summary>Compares the model with the forward on each input set; returns the largest relative error (|diff| over |value|, values below 1e-3 counted as 1e-3).</summary>
    public static double Compare(byte[] model, Module module, Func<Tensor[], Tensor[]> forward, params Tensor[][] inputSets)
    {
        using var session = new InferenceSession(model);
        var inputNames = session.InputMetadata.Keys.ToArray();
        var outputNames = session.OutputMetadata.Keys.ToArray();
        double worst = 0;
        module.Eval();
        foreach (var inputs in inputSets)
        {
            Tensor[] expected;
            using (Autograd.NoGrad()) expected = forward(inputs);
            Assert.Equal(expected.Length, outputNames.Length);
            var feeds = inputs.Select((x, i) => ToOrt(inputNames[i], x)).ToList();
            using var results = session.Run(feeds);
            var byName = results.ToDictionary(r => r.Name);
            for (int k = 0; k < expected.Length; k++)
            {
                var got = byName[outputNames[k]].AsTensor<float>();
                Assert.Equal(expected[k].Shape.ToArray(), got.Dimensions.ToArray());
                var want = expected[k].Contiguous().ToArray<float>();
                var have = got.ToArray();
                for (int i = 0; i < want.Length; i++)
                {
                    double diff = Math.Abs((double)have[i] - want[i]);
                    Assert.True(diff <= Relative * Math.Abs(want[i]) + Absolute,
                        $"output {outputNames[k]} element {i}: ONNX Runtime gives {have[i]}, MetaGrad {want[i]} (inputs of shape [{string.Join(", ", inputs[0].Shape.ToArray())}])");
                    worst = Math.Max(worst, diff / Math.Max(Math.Abs(want[i]), 1e-3));
                }
            }
        }
        return worst;
    }

    /// <summary>Exports a one-input module with a dynamic batch and compares it at the traced batch size and another.</summary>
    public static double ExportAndCompare(Module<Tensor, Tensor> module, Func<int, Tensor> input, int traced = 3, int other = 5)
    {
        var model = OnnxExport.ToBytes(module, input(traced), new OnnxExportOptions { DynamicBatch = true });
        return Compare(model, module, xs => [module.Forward(xs[0])], [input(traced)], [input(other)]);
    }

    static NamedOnnxValue ToOrt(string name, Tensor x)
    {
        var dims = x.Shape.ToArray();
        var c = x.Contiguous();
        return x.DType switch
        {
            DType.Float32 => NamedOnnxValue.CreateFromTensor(name, new DenseTensor<float>(c.ToArray<float>(), dims)),
            DType.Int64 => NamedOnnxValue.CreateFromTensor(name, new DenseTensor<long>(c.ToArray<long>(), dims)),
            DType.Int32 => NamedOnnxValue.CreateFromTensor(name, new DenseTensor<int>(c.ToArray<int>(), dims)),
            _ => throw new NotSupportedException($"test inputs of {x.DType}"),
        };
    }
}
