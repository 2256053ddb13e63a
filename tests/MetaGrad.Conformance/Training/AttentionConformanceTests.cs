using MetaGrad.NN;
using TorchSharp;
using static MetaGrad.Conformance.Interop.TorchBridge;
using static MetaGrad.Conformance.Training.ModuleConformanceTests;

namespace MetaGrad.Conformance.Training;

/// <summary>
/// Functional.ScaledDotProductAttention against torch.nn.functional.scaled_dot_product_attention:
/// the output and the gradients of query, key, value (and of a floating mask) for one non-uniform
/// upstream gradient. TorchSharp 0.107 has no scale argument, so the explicit-scale case scales
/// the query on libtorch's side instead.
/// </summary>
public class AttentionConformanceTests
{
    public enum Mask { None, Causal, Bool, Float, BoolWithEmptyRow }

    [Theory]
    [InlineData(DType.Float32, Mask.None, false)]
    [InlineData(DType.Float32, Mask.Causal, false)]
    [InlineData(DType.Float32, Mask.Bool, false)]
    [InlineData(DType.Float32, Mask.Float, false)]
    [InlineData(DType.Float64, Mask.None, false)]
    [InlineData(DType.Float64, Mask.Causal, false)]
    [InlineData(DType.Float64, Mask.Bool, false)]
    [InlineData(DType.Float64, Mask.Float, false)]
    [InlineData(DType.Float64, Mask.None, true)]
    [InlineData(DType.Float32, Mask.Bool, true)]
    [InlineData(DType.Float32, Mask.BoolWithEmptyRow, false)]
    [InlineData(DType.Float64, Mask.BoolWithEmptyRow, false)]
    public void ScaledDotProductAttention(DType dtype, Mask mask, bool explicitScale)
    {
        using var scope = torch.NewDisposeScope();
        var (rtol, atol) = dtype == DType.Float64 ? (1e-10, 1e-12) : (1e-4, 1e-5);
        const int e = 8;
        var q = Randn(1, dtype, 2, 3, 5, e);
        var k = Randn(2, dtype, 2, 3, 6, e);
        var v = Randn(3, dtype, 2, 3, 6, 4);
        // An empty row (query 1 sees no key) gives zeros in this libtorch, as MetaGrad (older versions gave NaN).
        var m = mask switch
        {
            Mask.Bool => Randn(4, DType.Float64, 5, 6) > -0.5 | Tensor.Arange(5).Unsqueeze(1) == Tensor.Arange(6),
            Mask.BoolWithEmptyRow => (Randn(4, DType.Float64, 5, 6) > -0.5) & (Tensor.Arange(5).Unsqueeze(1) != 1.0),
            Mask.Float => Randn(4, dtype, 2, 1, 5, 6),
            _ => null,
        };
        double? scale = explicitScale ? 0.3 : null;
        var inputs = new[] { q, k, v }.Concat(mask == Mask.Float ? [m!] : []).Select(t => t.Detach().Clone()).ToArray();
        foreach (var t in inputs) t.RequiresGrad = true;
        var theirInputs = inputs.Select(t => ToTorch(t).requires_grad_()).ToArray();

        var y = Functional.ScaledDotProductAttention(inputs[0], inputs[1], inputs[2], mask == Mask.Float ? inputs[3] : m, isCausal: mask == Mask.Causal, scale: scale);
        var tq = explicitScale ? theirInputs[0] * (0.3 * Math.Sqrt(e)) : theirInputs[0];
        var tm = mask == Mask.Float ? theirInputs[3] : m is null ? null : ToTorch(m);
        var ty = torch.nn.functional.scaled_dot_product_attention(tq, theirInputs[1], theirInputs[2], tm, 0.0, mask == Mask.Causal);
        string what = $"SDPA {dtype} {mask} scale {scale}";
        AssertClose(ty, y, rtol, atol, $"{what}: output");

        var upstream = Randn(99, dtype, y.Shape.ToArray());
        (y * upstream).Sum().Backward();
        (ty * ToTorch(upstream)).sum().backward();
        string[] names = ["query", "key", "value", "mask"];
        for (int i = 0; i < inputs.Length; i++)
            AssertClose(theirInputs[i].grad!, inputs[i].Grad!, rtol, atol, $"{what}: gradient of {names[i]}");
    }

    // The fused kernel's tiles (64 queries × 64 keys) cut every way: partial tiles, several key
    // blocks per row, the causal mask with more queries than keys and fewer.
    [Theory]
    [InlineData(DType.Float32, 130, 150, false)]
    [InlineData(DType.Float32, 130, 150, true)]
    [InlineData(DType.Float32, 200, 70, true)]
    [InlineData(DType.Float64, 130, 150, false)]
    [InlineData(DType.Float64, 130, 150, true)]
    [InlineData(DType.Float64, 200, 70, true)]
    public void ScaledDotProductAttention_FusedTiles(DType dtype, int l, int s, bool causal)
    {
        using var scope = torch.NewDisposeScope();
        var (rtol, atol) = dtype == DType.Float64 ? (1e-10, 1e-12) : (1e-4, 1e-5);
        var inputs = new[] { Randn(1, dtype, 2, 2, l, 16) * 2, Randn(2, dtype, 2, 2, s, 16), Randn(3, dtype, 2, 2, s, 24) }
            .Select(t => t.Detach().RequiresGrad_()).ToArray();
        var theirInputs = inputs.Select(t => ToTorch(t).requires_grad_()).ToArray();
        var y = Functional.ScaledDotProductAttention(inputs[0], inputs[1], inputs[2], isCausal: causal);
        var ty = torch.nn.functional.scaled_dot_product_attention(theirInputs[0], theirInputs[1], theirInputs[2], null, 0.0, causal);
        string what = $"fused SDPA {dtype} L {l} S {s} causal {causal}";
        AssertClose(ty, y, rtol, atol, $"{what}: output");
        var upstream = Randn(99, dtype, y.Shape.ToArray());
        (y * upstream).Sum().Backward();
        (ty * ToTorch(upstream)).sum().backward();
        string[] names = ["query", "key", "value"];
        for (int i = 0; i < 3; i++)
            AssertClose(theirInputs[i].grad!, inputs[i].Grad!, rtol, atol, $"{what}: gradient of {names[i]}");
    }
}
