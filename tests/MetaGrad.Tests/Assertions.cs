namespace MetaGrad.Tests;

/// <summary>Value assertions on tensors with the tolerances of each dtype.</summary>
internal static class Check
{
    public static void Values(float[] expected, Tensor actual, float tolerance = 1e-6f)
    {
        var a = actual.ToArray<float>();
        Assert.Equal(expected.Length, a.Length);
        for (int i = 0; i < a.Length; i++)
            Assert.True(Math.Abs(expected[i] - a[i]) <= tolerance * Math.Max(1, Math.Abs(expected[i])) || expected[i].Equals(a[i]),
                $"element {i}: expected {expected[i]}, got {a[i]} (all: [{string.Join(", ", a)}])");
    }

    public static void Values(double[] expected, Tensor actual, double tolerance = 1e-12)
    {
        var a = actual.ToArray<double>();
        Assert.Equal(expected.Length, a.Length);
        for (int i = 0; i < a.Length; i++)
            Assert.True(Math.Abs(expected[i] - a[i]) <= tolerance * Math.Max(1, Math.Abs(expected[i])) || expected[i].Equals(a[i]),
                $"element {i}: expected {expected[i]}, got {a[i]} (all: [{string.Join(", ", a)}])");
    }

    public static void Shape(int[] expected, Tensor actual) => Assert.Equal(expected, actual.Shape.ToArray());

    /// <summary>Runs Autograd.GradCheck and asserts it passed.</summary>
    public static void Gradients(Func<Tensor[], Tensor> f, params Tensor[] inputs) => Assert.True(Autograd.GradCheck(f, inputs));

    /// <summary>A Float64 tensor of the given shape with well-spread distinct values that requires grad.</summary>
    public static Tensor Input(params int[] shape) => Input(shape, seed: 7);

    public static Tensor Input(int[] shape, ulong seed)
    {
        var g = new Generator(seed);
        return Tensor.Randn(shape, DType.Float64, requiresGrad: true, generator: g);
    }
}
