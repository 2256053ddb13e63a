using MetaGrad.NN;
using Xunit;

namespace MetaGrad.Tests.NN;

/// <summary>
/// Module hooks as PyTorch runs them: forward pre-hooks and forward hooks around Call, full
/// backward (pre-)hooks as the gradients pass, in PyTorch's order (checked against PyTorch 1.13 by
/// tests/MetaGrad.Tests/Fixtures/hook_order.py, whose printout the expected values copy; 1.13 has
/// no backward pre-hooks and no prepend, which follow PyTorch 2.0's documentation), with handles
/// that remove them.
/// </summary>
public class ModuleHooksTests
{
    static Linear Layer(float[] weight, float[] bias, int inF, int outF)
    {
        var layer = new Linear(inF, outF);
        using (Autograd.NoGrad())
        {
            layer.Weight.Copy_(Tensor.From(weight).Reshape(outF, inF));
            layer.Bias!.Copy_(Tensor.From(bias));
        }
        return layer;
    }

    static (Sequential Model, Linear Fc, ReLU Relu) Model()
    {
        var fc = Layer([1, -2, 3, 0.5f, 1, -1], [0.5f, -4], 3, 2);
        var relu = new ReLU();
        return (new Sequential(fc, relu), fc, relu);
    }

    static void LogAll(List<string> log, params (string Name, Module Module)[] modules)
    {
        foreach (var (name, m) in modules)
        {
            m.RegisterForwardPreHook((_, _) => { log.Add($"{name} pre"); return null; });
            m.RegisterForwardHook((_, _, _) => { log.Add($"{name} forward"); return null; });
            m.RegisterFullBackwardPreHook((_, _) => { log.Add($"{name} backward pre"); return null; });
            m.RegisterFullBackwardHook((_, _, _) => { log.Add($"{name} backward"); return null; });
        }
    }

    [Fact]
    public void Hooks_FireInPyTorchsOrder_ThroughAContainer()
    {
        var (model, fc, relu) = Model();
        var log = new List<string>();
        LogAll(log, ("model", model), ("fc", fc), ("relu", relu));
        var x = Tensor.From(new float[] { 1, 2, 3 }).Reshape(1, 3).RequiresGrad_();

        var y = model.Call(x);
        log.Add("-- backward");
        y.Sum().Backward();

        Assert.Equal([
            "model pre", "fc pre", "fc forward", "relu pre", "relu forward", "model forward",
            "-- backward",
            "model backward pre", "relu backward pre", "relu backward", "fc backward pre", "fc backward", "model backward",
        ], log);
    }

    [Fact]
    public void Forward_CalledDirectly_RunsNoHooks_AsPyTorchsForwardMethod()
    {
        var (model, fc, _) = Model();
        int calls = 0;
        model.RegisterForwardHook((_, _, _) => { calls++; return null; });
        fc.RegisterForwardHook((_, _, _) => { calls += 10; return null; });

        model.Forward(Tensor.Ones(1, 3));
        Assert.Equal(10, calls);          // the container calls its layers through Call
        model.Call(Tensor.Ones(1, 3));
        Assert.Equal(21, calls);
    }

    [Fact]
    public void ForwardHooks_SeeInputAndOutput_AndMayReplaceThem()
    {
        var fc = Layer([1, 2], [0], 2, 1);
        object? seenInput = null, seenOutput = null;
        fc.RegisterForwardPreHook((_, input) => ((Tensor)input) * 10);
        fc.RegisterForwardHook((_, input, output) => { (seenInput, seenOutput) = (input, output); return null; });
        fc.RegisterForwardHook((_, _, output) => ((Tensor)output) + 1);

        var y = fc.Call(Tensor.From(new float[] { 1, 1 }).Reshape(1, 2));

        // The pre-hook's replacement reaches forward and the hooks after it: 10·1 + 10·2 = 30.
        Assert.Equal([10f, 10f], ((Tensor)seenInput!).ToArray<float>());
        Assert.Equal(30f, ((Tensor)seenOutput!).Item<float>());
        Assert.Equal(31f, y.Item<float>());
    }

    [Fact]
    public void Prepend_RunsBeforeTheHooksAlreadyThere_AndHandlesRemove()
    {
        var relu = new ReLU();
        var log = new List<string>();
        var first = relu.RegisterForwardHook((_, _, _) => { log.Add("a"); return null; });
        relu.RegisterForwardHook((_, _, _) => { log.Add("b"); return null; });
        using (relu.RegisterForwardHook((_, _, _) => { log.Add("c"); return null; }, prepend: true))
            relu.Call(Tensor.Ones(2));
        first.Remove();
        first.Remove();  // removing twice does nothing, as PyTorch's handle
        relu.Call(Tensor.Ones(2));

        Assert.Equal(["c", "a", "b", "b"], log);
        Assert.True(relu.HasHooks);
    }

    [Fact]
    public void RemovingTheLastHook_LeavesTheModuleWithoutHooks()
    {
        var relu = new ReLU();
        var handle = relu.RegisterForwardPreHook((_, _) => null);
        Assert.True(relu.HasHooks);
        handle.Dispose();
        Assert.False(relu.HasHooks);
    }

    [Fact]
    public void FullBackwardHook_GetsTheInputAndOutputGradients()
    {
        // y = W x + b, L = Σ y·[1, 2]: dL/dy = [1, 2], dL/dx = Wᵀ [1, 2] = [1 + 1, -2 + 2, 3 - 2].
        var fc = Layer([1, -2, 3, 0.5f, 1, -1], [0, 0], 3, 2);
        Tensor?[]? gradIn = null, gradOut = null;
        fc.RegisterFullBackwardHook((_, gi, go) => { (gradIn, gradOut) = (gi, go); return null; });
        var x = Tensor.From(new float[] { 1, 2, 3 }).Reshape(1, 3).RequiresGrad_();

        (fc.Call(x) * Tensor.From(new float[] { 1, 2 })).Sum().Backward();

        Assert.Equal([1f, 2f], gradOut![0]!.ToArray<float>());
        Assert.Equal([2f, 0f, 1f], gradIn![0]!.ToArray<float>());
        Assert.Equal([2f, 0f, 1f], x.Grad!.ToArray<float>());
    }

    [Fact]
    public void FullBackwardHook_ReplacesTheInputGradient_AndPreHookTheOutputGradient()
    {
        var fc = Layer([1, -2, 3, 0.5f, 1, -1], [0, 0], 3, 2);
        fc.RegisterFullBackwardPreHook((_, go) => [go[0]! * 2]);
        fc.RegisterFullBackwardHook((_, gi, _) => [gi[0]! + 100]);
        var x = Tensor.From(new float[] { 1, 2, 3 }).Reshape(1, 3).RequiresGrad_();

        fc.Call(x).Sum().Backward();

        // dL/dy = 2·[1, 1] after the pre-hook: dL/dx = 2·[1.5, -1, 2], then + 100; the weight's
        // gradient sees the doubled output gradient too: 2·x per row.
        Assert.Equal([103f, 98f, 104f], x.Grad!.ToArray<float>());
        Assert.Equal([2f, 4f, 6f, 2f, 4f, 6f], fc.Weight.Grad!.ToArray<float>());
    }

    [Fact]
    public void FullBackwardHook_OnAnInputWithoutGradient_GetsNullInputGradients()
    {
        var fc = Layer([1, -2, 3, 0.5f, 1, -1], [0, 0], 3, 2);
        Tensor?[]? gradIn = null, gradOut = null;
        fc.RegisterFullBackwardHook((_, gi, go) => { (gradIn, gradOut) = (gi, go); return null; });

        fc.Call(Tensor.Ones(1, 3)).Sum().Backward();

        Assert.Single(gradIn!);
        Assert.Null(gradIn![0]);
        Assert.Equal([1f, 1f], gradOut![0]!.ToArray<float>());
    }

    [Fact]
    public void BackwardHooks_OnATwoInputModule_GetOneGradientPerInput()
    {
        // MSE: L = mean((a - b)²), dL/da = (a - b), dL/db = -(a - b) for two elements.
        var loss = new MSELoss();
        Tensor?[]? gradIn = null;
        loss.RegisterFullBackwardHook((_, gi, _) => { gradIn = gi; return null; });
        var a = Tensor.From(new float[] { 3, 1 }).RequiresGrad_();
        var b = Tensor.From(new float[] { 1, 2 }).RequiresGrad_();

        loss.Call(a, b).Backward();

        Assert.Equal([2f, -1f], gradIn![0]!.ToArray<float>());
        Assert.Equal([-2f, 1f], gradIn![1]!.ToArray<float>());
    }

    [Fact]
    public void BadHooks_AreRefused_NamingTheModule()
    {
        var fc = new Linear(2, 2);
        fc.RegisterForwardHook((_, _, _) => "not a tensor");
        var error = Assert.Throws<InvalidOperationException>(() => fc.Call(Tensor.Ones(1, 2)));
        Assert.Contains("Linear", error.Message);
        Assert.Contains("String", error.Message);

        var lstm = new LSTM(2, 3);
        var refused = Assert.Throws<NotSupportedException>(() => lstm.RegisterFullBackwardHook((_, _, _) => null));
        Assert.Contains("LSTM", refused.Message);

        var relu = new ReLU();
        relu.RegisterFullBackwardHook((_, gi, _) => [gi[0], gi[0]]);
        var x = Tensor.Ones(2).RequiresGrad_();
        var wrongCount = Assert.Throws<InvalidOperationException>(() => relu.Call(x).Sum().Backward());
        Assert.Contains("2 gradients; expected 1", wrongCount.Message);
    }

    [Fact]
    public void TransformerLayers_AndAttention_AreEnteredThroughCall()
    {
        var layer = new TransformerEncoderLayer(dModel: 8, nhead: 2, dimFeedforward: 16, dropout: 0);
        var encoder = new TransformerEncoder(layer, numLayers: 2);
        var entered = new List<string>();
        foreach (var (name, m) in encoder.NamedModules())
            m.RegisterForwardPreHook((_, _) => { entered.Add(name); return null; });

        encoder.Call(Tensor.Randn(5, 3, 8));

        Assert.Equal("", entered[0]);
        Assert.Contains("layers.0.self_attn", entered);
        Assert.Contains("layers.1.linear2", entered);
        Assert.Contains("layers.1.norm2", entered);
        Assert.Contains("layers.0.self_attn.out_proj", entered);
    }
}
