using System.Globalization;
using torch = TorchSharp.torch;

namespace MetaGrad.Conformance.Harness;

/// <summary>
/// Runs one case in one dtype through both libraries and compares: every output (shape, dtype,
/// values, whether it requires grad), then the gradients of Σ_k Σ w_k·y_k with respect to every
/// floating leaf, w_k random in [-1, 1] and the same for both.
/// </summary>
public static class Runner
{
    static Runner() => torch.set_num_threads(1);   // xunit already runs test classes side by side

    /// <summary>Compares MetaGrad's <paramref name="metaGrad"/> with libtorch's <paramref name="torchOp"/> on one case.</summary>
    /// <param name="oracle">The float dtype libtorch computes in, when not <paramref name="dtype"/>: its results are
    /// rounded to <paramref name="dtype"/> before the comparison (for cases where libtorch's own float32 is inexact).</param>
    public static void Run(string name, TensorSpec[] inputs, int weightSeed, DType dtype,
        Func<Tensor[], Tensor[]> metaGrad, Func<torch.Tensor[], torch.Tensor[]> torchOp, Expect expect = Expect.Valid, string? op = null,
        DType? oracle = null)
    {
        using var scope = torch.NewDisposeScope();
        string where = oracle is { } o ? $"{name} [{dtype}, libtorch in {o}]" : $"{name} [{dtype}]";
        var ours = inputs.Select(s => s.ToMetaGrad(dtype)).ToArray();
        var theirs = inputs.Select(s => s.ToTorch(ToTorch(oracle ?? dtype))).ToArray();

        torch.Tensor[] expected;
        try
        {
            expected = RetryingScalarRace(() => torchOp(theirs.Select(t => t.Input).ToArray()));
        }
        catch (Exception e) when (expect != Expect.Valid)
        {
            ExpectThrow(where, op ?? name, () => metaGrad(ours.Select(t => t.Input).ToArray()), e);
            return;
        }
        catch (Exception e)
        {
            throw new ConformanceException($"{where}: libtorch rejected a generated case, so the generator is wrong: {e.Message}", e);
        }
        if (expect == Expect.Throws)
            throw new ConformanceException($"{where}: libtorch accepted a call the generator meant to be invalid, so the generator is wrong");
        Tensor[] actual;
        try
        {
            actual = metaGrad(ours.Select(t => t.Input).ToArray());
        }
        catch (Exception e)
        {
            throw new ConformanceException($"{where}: MetaGrad threw where libtorch computed a result: {e.GetType().Name}: {e.Message}", e);
        }
        if (actual.Length != expected.Length)
            throw new ConformanceException($"{where}: MetaGrad gave {actual.Length} outputs, libtorch {expected.Length}");
        for (int k = 0; k < actual.Length; k++)
        {
            Compare($"{where} output {k}", actual[k], Rounded(expected[k], actual[k].DType));
            if (actual[k].RequiresGrad != expected[k].requires_grad)
                throw new ConformanceException($"{where} output {k}: RequiresGrad is {actual[k].RequiresGrad} in MetaGrad, {expected[k].requires_grad} in libtorch");
        }

        var leaves = Enumerable.Range(0, inputs.Length).Where(i => inputs[i].IsDifferentiable).ToArray();
        var outputs = Enumerable.Range(0, expected.Length).Where(k => expected[k].requires_grad).ToArray();
        if (leaves.Length == 0 || outputs.Length == 0) return;

        var random = new Random(weightSeed);
        var weights = outputs.Select(k => Enumerable.Range(0, (int)expected[k].numel()).Select(_ => random.NextDouble() * 2 - 1).ToArray()).ToArray();
        var torchGrads = torch.autograd.grad(
            outputs.Select(k => expected[k]).ToList(),
            leaves.Select(i => theirs[i].Leaf).ToList(),
            outputs.Select((k, j) => torch.tensor(weights[j], expected[k].shape, expected[k].dtype)).ToList(),
            allow_unused: true);
        Tensor?[] ourGrads;
        try
        {
            ourGrads = Autograd.Grad(
                outputs.Select(k => actual[k]).ToArray(),
                leaves.Select(i => ours[i].Leaf).ToArray(),
                outputs.Select((k, j) => Tensor.From(weights[j], actual[k].Shape.ToArray()).To(actual[k].DType)).ToArray(),
                allowUnused: true);
        }
        catch (Exception e)
        {
            throw new ConformanceException($"{where}: MetaGrad's backward threw: {e.GetType().Name}: {e.Message}", e);
        }
        for (int j = 0; j < leaves.Length; j++)
        {
            var leaf = theirs[leaves[j]].Leaf;
            var expectedGrad = torchGrads[j] is { } g && !g.IsInvalid ? g : torch.zeros_like(leaf);
            var actualGrad = ourGrads[j] ?? Tensor.ZerosLike(ours[leaves[j]].Leaf);
            Compare($"{where} gradient of input {leaves[j]}", actualGrad, Rounded(expectedGrad, actualGrad.DType));
        }
    }

    /// <summary>
    /// Runs a libtorch call again when it failed with "Unknown scalar type": TorchSharp 0.107 hands
    /// libtorch the raw handle of a temporary Scalar (<c>vector_norm(x, 2)</c> makes one inside,
    /// <c>ord.ToScalar().Handle</c>) that nothing keeps alive, so a collection on another thread can
    /// finalize and free it while libtorch reads it. That is the binding's race, not the case: one
    /// full run in ten on a loaded machine failed this way.
    /// </summary>
    public static T RetryingScalarRace<T>(Func<T> call)
    {
        for (int attempt = 1; ; attempt++)
        {
            try
            {
                return call();
            }
            catch (System.Runtime.InteropServices.ExternalException e) when (attempt < 3 && e.Message.StartsWith("Unknown scalar type", StringComparison.Ordinal))
            {
            }
        }
    }

    // libtorch's result in MetaGrad's dtype, when an oracle dtype made them differ (floats only).
    static torch.Tensor Rounded(torch.Tensor t, DType dtype) =>
        t.is_floating_point() && dtype.IsFloatingPoint() && t.dtype != ToTorch(dtype) ? t.to_type(ToTorch(dtype)) : t;

    // libtorch rejected the call: MetaGrad must reject it too, with a message naming the operation.
    static void ExpectThrow(string where, string op, Func<Tensor[]> metaGrad, Exception theirs)
    {
        Tensor[] result;
        try
        {
            result = metaGrad();
        }
        catch (Exception ours)
        {
            if (!ours.Message.Contains(op, StringComparison.Ordinal))
                throw new ConformanceException($"{where}: MetaGrad rejected the call, but its message does not name {op}: {ours.GetType().Name}: {ours.Message}", ours);
            return;
        }
        throw new ConformanceException($"{where}: libtorch rejects this call ({FirstLine(theirs.Message)}) but MetaGrad returned a result of shape {TensorSpec.Fmt(result[0].Shape)}");
    }

    static string FirstLine(string message) => message.Split('\n')[0];

    /// <summary>libtorch's dtype for a MetaGrad dtype.</summary>
    public static torch.ScalarType ToTorch(DType dtype) => Interop.TorchBridge.ToTorch(dtype);

    /// <summary>Asserts that a MetaGrad tensor matches a libtorch tensor: shape, dtype, then values within <see cref="Tolerance"/>.</summary>
    public static void Compare(string what, Tensor actual, torch.Tensor expected)
    {
        var shape = expected.shape.Select(s => (int)s).ToArray();
        if (!actual.Shape.SequenceEqual(shape))
            throw new ConformanceException($"{what}: shape {TensorSpec.Fmt(actual.Shape)} in MetaGrad, {TensorSpec.Fmt(shape)} in libtorch");
        if (ToTorch(actual.DType) != expected.dtype)
            throw new ConformanceException($"{what}: dtype {actual.DType} in MetaGrad, {expected.dtype} in libtorch");
        var a = actual.ToArray<double>();
        var b = expected.numel() == 0 ? [] : expected.to_type(torch.ScalarType.Float64).contiguous().data<double>().ToArray();
        var tolerance = Tolerance.For(actual.DType);
        double magnitude = Math.Max(1, b.Where(double.IsFinite).Select(Math.Abs).DefaultIfEmpty(0).Max());
        for (int i = 0; i < a.Length; i++)
        {
            if (tolerance.Accepts(a[i], b[i], magnitude)) continue;
            var text = $"{what}: element {Position(i, shape)} is {Num(a[i])} in MetaGrad, {Num(b[i])} in libtorch " +
                       $"(|difference| {Num(Math.Abs(a[i] - b[i]))}; allowed {Num(tolerance.Rel)}·|b| + {Num(tolerance.Abs)}·{Num(magnitude)})";
            if (a.Length <= 48)
                text += $"\n    MetaGrad: [{string.Join(", ", a.Select(Num))}]\n    libtorch: [{string.Join(", ", b.Select(Num))}]";
            throw new ConformanceException(text);
        }
    }

    static string Position(int flat, int[] shape)
    {
        var index = new int[shape.Length];
        for (int d = shape.Length - 1; d >= 0; d--)
        {
            index[d] = flat % shape[d];
            flat /= shape[d];
        }
        return TensorSpec.Fmt(index);
    }

    static string Num(double v) => v.ToString("R", CultureInfo.InvariantCulture);
}
