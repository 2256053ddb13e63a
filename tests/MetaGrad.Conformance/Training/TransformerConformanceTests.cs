using MetaGrad.NN;
using TorchSharp;
using static MetaGrad.Conformance.Interop.TorchBridge;
using static MetaGrad.Conformance.Training.ModuleConformanceTests;
using TT = TorchSharp.torch.Tensor;

namespace MetaGrad.Conformance.Training;

/// <summary>
/// MultiheadAttention and the Transformer layers against TorchSharp's modules: MetaGrad's state dict
/// loaded strictly into libtorch's module (so every parameter name is PyTorch's), then outputs,
/// attention weights, input gradients and every parameter's gradient compared, dropout off.
/// </summary>
public class TransformerConformanceTests
{
    static (double Rtol, double Atol) Tolerance(DType dtype) => dtype == DType.Float64 ? (1e-10, 1e-12) : (1e-4, 1e-5);

    public static TheoryData<string> MhaCases => new()
    {
        "plain", "no bias", "bias kv", "zero attn", "bias kv + zero attn", "kdim vdim", "bool attn mask", "float attn mask",
        "key padding", "key padding + attn mask", "weights per head", "no weights",
    };

    [Theory, MemberData(nameof(MhaCases))]
    public void MultiheadAttention_MatchesLibTorch(string option)
    {
        foreach (var dtype in new[] { DType.Float64, DType.Float32 })
        {
            using var scope = torch.NewDisposeScope();
            const int e = 8, h = 2, l = 3, s = 4, n = 2;
            // libtorch's C++ frontend asserts key and value of one size, so kdim = vdim here (separate projections all the same).
            int kdim = option == "kdim vdim" ? 5 : e, vdim = kdim;
            bool bias = option != "no bias", biasKv = option.Contains("bias kv"), zeroAttn = option.Contains("zero attn");
            var ours = new MultiheadAttention(e, h, bias: bias, addBiasKv: biasKv, addZeroAttn: zeroAttn, kdim: kdim, vdim: vdim, dtype: dtype, generator: new Generator(3));
            var theirs = torch.nn.MultiheadAttention(e, h, 0.0, bias, biasKv, zeroAttn, kdim, vdim);
            theirs.to(ToTorch(dtype));
            LoadInto(theirs, ours);

            var q = Randn(1, dtype, l, n, e).RequiresGrad_();
            var k = Randn(2, dtype, s, n, kdim).RequiresGrad_();
            var v = Randn(3, dtype, s, n, vdim).RequiresGrad_();
            Tensor? mask = option switch
            {
                "bool attn mask" or "key padding + attn mask" => Tensor.From(new[] { false, true, false, false, true, false, false, true, false, false, true, false }, [l, s]),
                "float attn mask" => Randn(4, dtype, l, s),
                _ => null,
            };
            Tensor? padding = option.StartsWith("key padding") ? Tensor.From(new[] { false, false, true, false, false, false, false, true }, [n, s]) : null;
            bool needWeights = option != "no weights", average = option != "weights per head";

            var (y, w) = ours.Forward(q, k, v, padding, needWeights, mask, average);
            var (tq, tk, tv) = (ToTorch(q).requires_grad_(), ToTorch(k).requires_grad_(), ToTorch(v).requires_grad_());
            var (ty, tw) = Run(theirs, tq, tk, tv, padding is null ? null : ToTorch(padding), needWeights, mask is null ? null : TheirMask(mask, dtype), average, h);
            var (rtol, atol) = Tolerance(dtype);
            string what = $"MultiheadAttention {option} {dtype}";
            AssertClose(ty, y, rtol, atol, $"{what}: output");
            if (needWeights) AssertClose(tw!, w!, rtol, atol, $"{what}: weights");
            else Assert.Null(w);

            var upstream = Randn(9, dtype, y.Shape.ToArray());
            (y * upstream).Sum().Backward();
            (ty * ToTorch(upstream)).sum().backward();
            AssertClose(tq.grad!, q.Grad!, rtol, atol, $"{what}: query gradient");
            AssertClose(tk.grad!, k.Grad!, rtol, atol, $"{what}: key gradient");
            AssertClose(tv.grad!, v.Grad!, rtol, atol, $"{what}: value gradient");
            AssertSameParameterGradients(what, ours, theirs, rtol, atol);
        }
    }

    // libtorch's C++ frontend adds a Bool attn_mask as numbers (true = +1) instead of masking where
    // true, as PyTorch documents and MetaGrad does: it is given the equivalent float mask. (Its 3-D
    // masks fail a broadcast inside; MetaGrad's are checked in the unit tests.)
    static TT TheirMask(Tensor mask, DType dtype) =>
        mask.DType == DType.Bool ? ToTorch(Tensor.Zeros(mask.Shape.ToArray(), dtype).MaskedFill(mask, double.NegativeInfinity)) : ToTorch(mask);

    // TorchSharp's module averages the weights over heads; per-head weights come from the same
    // computation in libtorch's tensor operations.
    static (TT, TT?) Run(TorchSharp.Modules.MultiheadAttention theirs, TT q, TT k, TT v, TT? padding, bool needWeights, TT? mask, bool average, int heads)
    {
        var (y, w) = theirs.forward(q, k, v, padding, needWeights, mask);
        if (!needWeights || average) return (y, needWeights ? w : null);
        return (y, PerHeadWeights(theirs, q, k, padding, mask, heads));
    }

    static TT PerHeadWeights(TorchSharp.Modules.MultiheadAttention theirs, TT q, TT k, TT? padding, TT? mask, int heads)
    {
        var state = theirs.state_dict();
        long e = q.shape[2], l = q.shape[0], n = q.shape[1], s = k.shape[0], hd = e / heads;
        var wq = state["in_proj_weight"].narrow(0, 0, e);
        var wk = state["in_proj_weight"].narrow(0, e, e);
        var pq = torch.nn.functional.linear(q, wq, state["in_proj_bias"].narrow(0, 0, e));
        var pk = torch.nn.functional.linear(k, wk, state["in_proj_bias"].narrow(0, e, e));
        pq = pq.reshape(l, n * heads, hd).transpose(0, 1);
        pk = pk.reshape(s, n * heads, hd).transpose(0, 1);
        var scores = pq.matmul(pk.transpose(1, 2)) / Math.Sqrt(hd);
        return scores.softmax(-1).reshape(n, heads, l, s);
    }

    [Theory]
    [InlineData(DType.Float64, "relu")]
    [InlineData(DType.Float32, "relu")]
    [InlineData(DType.Float64, "gelu")]
    public void TransformerEncoderLayer_MatchesLibTorch(DType dtype, string activation)
    {
        using var scope = torch.NewDisposeScope();
        var ours = new TransformerEncoderLayer(8, 2, dimFeedforward: 16, dropout: 0, activation: activation, dtype: dtype, generator: new Generator(4));
        var theirs = torch.nn.TransformerEncoderLayer(8, 2, 16, 0.0, activation == "relu" ? torch.nn.Activations.ReLU : torch.nn.Activations.GELU);
        theirs.to(ToTorch(dtype));
        LoadInto(theirs, ours);
        var x = Randn(6, dtype, 5, 3, 8).RequiresGrad_();
        var tx = ToTorch(x).requires_grad_();
        CompareLayers($"TransformerEncoderLayer {activation} {dtype}", ours, theirs, ours.Forward(x), theirs.forward(tx), [(x, tx)], dtype);
    }

    [Theory]
    [InlineData(DType.Float64)]
    [InlineData(DType.Float32)]
    public void TransformerDecoderLayer_MatchesLibTorch_WithACausalMaskAndPadding(DType dtype)
    {
        using var scope = torch.NewDisposeScope();
        var ours = new TransformerDecoderLayer(8, 2, dimFeedforward: 16, dropout: 0, dtype: dtype, generator: new Generator(5));
        var theirs = torch.nn.TransformerDecoderLayer(8, 2, 16, 0.0, torch.nn.Activations.ReLU);
        theirs.to(ToTorch(dtype));
        LoadInto(theirs, ours);
        var tgt = Randn(7, dtype, 4, 2, 8).RequiresGrad_();
        var memory = Randn(8, dtype, 5, 2, 8).RequiresGrad_();
        var mask = Transformer.GenerateSquareSubsequentMask(4, dtype);
        var padding = Tensor.From(new[] { false, false, false, true, false, false, false, false, false, false }, [2, 5]);
        var (ttgt, tmemory) = (ToTorch(tgt).requires_grad_(), ToTorch(memory).requires_grad_());
        var y = ours.Forward(tgt, memory, mask, memoryKeyPaddingMask: padding);
        var ty = theirs.forward(ttgt, tmemory, ToTorch(mask), null, null, ToTorch(padding));
        CompareLayers($"TransformerDecoderLayer {dtype}", ours, theirs, y, ty, [(tgt, ttgt), (memory, tmemory)], dtype);
    }

    static void CompareLayers(string what, Module ours, torch.nn.Module theirs, Tensor y, TT ty, (Tensor Ours, TT Theirs)[] inputs, DType dtype)
    {
        var (rtol, atol) = Tolerance(dtype);
        AssertClose(ty, y, rtol, atol, $"{what}: output");
        var upstream = Randn(10, dtype, y.Shape.ToArray());
        (y * upstream).Sum().Backward();
        (ty * ToTorch(upstream)).sum().backward();
        foreach (var (x, tx) in inputs) AssertClose(tx.grad!, x.Grad!, rtol, atol, $"{what}: input gradient");
        AssertSameParameterGradients(what, ours, theirs, rtol, atol);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(-2)]
    public void TrilTriu_MatchLibTorch(int diagonal)
    {
        using var scope = torch.NewDisposeScope();
        var x = Randn(11, DType.Float64, 2, 3, 5);
        AssertClose(torch.tril(ToTorch(x), diagonal), x.Tril(diagonal), 0, 0, "Tril");
        AssertClose(torch.triu(ToTorch(x), diagonal), x.Triu(diagonal), 0, 0, "Triu");
    }

    [Fact]
    public void RMSNorm_MatchesTheFormulaInLibTorch_WithItsDefaultEpsilon()
    {
        using var scope = torch.NewDisposeScope();
        foreach (var dtype in new[] { DType.Float32, DType.Float64 })
        {
            var norm = new RMSNorm([4, 3], dtype: dtype);
            using (Autograd.NoGrad()) norm.Weight!.Copy_(Randn(12, dtype, 4, 3));
            var x = Randn(13, dtype, 2, 4, 3) * 1e-4;   // small values: the epsilon matters
            var tx = ToTorch(x);
            double eps = dtype == DType.Float64 ? 2.220446049250313e-16 : 1.1920928955078125e-07;
            var expected = tx * (tx.pow(2).mean([1, 2], keepdim: true) + eps).rsqrt() * ToTorch(norm.Weight!);
            var (rtol, atol) = Tolerance(dtype);
            AssertClose(expected, norm.Forward(x), rtol, atol, $"RMSNorm {dtype}");
        }
    }
}
