using MetaGrad.NN;

namespace MetaGrad.Tests.NN;

/// <summary>ParameterList, ParameterDict, Unflatten, lookups by dotted name and the containers' list operations.</summary>
public class ModuleContainerTests
{
    sealed class Holder : Module<Tensor, Tensor>
    {
        public readonly ParameterList Scales = new(new Parameter(Tensor.Ones(2)), new Parameter(Tensor.Full([2], 2f)));
        public readonly ParameterDict Shifts = new(("alpha", new Parameter(Tensor.Zeros(2))), ("beta", new Parameter(Tensor.Ones(2))));
        public readonly Sequential Body = new(new Linear(2, 3), new ReLU(), new BatchNorm1d(3));

        public override Tensor Forward(Tensor x) => Body.Forward(x * Scales[0] * Scales[1] + Shifts["alpha"] + Shifts["beta"]);
    }

    [Fact]
    public void ParameterContainers_NameTheirEntriesAsPyTorch()
    {
        var names = new Holder().StateDict().Keys.ToArray();
        Assert.Equal(new[]
        {
            "scales.0", "scales.1", "shifts.alpha", "shifts.beta",
            "body.0.weight", "body.0.bias", "body.2.weight", "body.2.bias",
            "body.2.running_mean", "body.2.running_var", "body.2.num_batches_tracked",
        }, names);
        Assert.Equal(new[] { "0", "1", "2" }, new ParameterList(new Parameter(Tensor.Zeros(1)), new Parameter(Tensor.Zeros(1)), new Parameter(Tensor.Zeros(1)))
            .NamedParameters().Select(p => p.Name));
    }

    [Fact]
    public void ParameterContainers_RoundTripThroughAStrictLoad()
    {
        var a = new Holder();
        var b = new Holder();
        a.Scales[1] = new Parameter(Tensor.From(new float[] { 3, 4 }));   // replaced in place: still "scales.1"
        a.Shifts["beta"] = new Parameter(Tensor.From(new float[] { -1, 5 }));
        var (missing, unexpected) = b.LoadStateDict(a.StateDict());
        Assert.Empty(missing);
        Assert.Empty(unexpected);
        Assert.Equal(new float[] { 3, 4 }, b.Scales[1].ToArray<float>());
        Assert.Equal(new float[] { -1, 5 }, b.GetParameter("shifts.beta").ToArray<float>());
        Assert.Same(b.Scales[1], b.Scales[-1]);
    }

    [Fact]
    public void ParameterList_AppendExtendAndBadIndex()
    {
        var list = new ParameterList();
        list.Append(new Parameter(Tensor.Zeros(1))).Extend([new Parameter(Tensor.Ones(2)), new Parameter(Tensor.Ones(3))]);
        Assert.Equal(3, list.Count);
        Assert.Equal(new[] { 1, 2, 3 }, list.Select(p => p.Shape[0]));
        Assert.Equal(new[] { "0", "1", "2" }, list.NamedParameters().Select(p => p.Name));
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => list[3]);
        Assert.Contains("index 3 is out of range for a ParameterList of 3", e.Message);
    }

    [Fact]
    public void ParameterDict_KeepsInsertionOrderAndRefusesDottedKeys()
    {
        var dict = new ParameterDict();
        dict["b"] = new Parameter(Tensor.Zeros(1));
        dict["a"] = new Parameter(Tensor.Zeros(2));
        dict["b"] = new Parameter(Tensor.Zeros(3));   // replaced: keeps its place
        Assert.Equal(new[] { "b", "a" }, dict.Keys);
        Assert.Equal(new[] { "b", "a" }, dict.NamedParameters().Select(p => p.Name));
        Assert.Equal(3, dict["b"].Shape[0]);
        Assert.True(dict.ContainsKey("a"));
        Assert.Throws<ArgumentException>(() => dict["x.y"] = new Parameter(Tensor.Zeros(1)));
        Assert.Equal(2, dict.Count);
        var e = Assert.Throws<KeyNotFoundException>(() => dict["c"]);
        Assert.Contains("\"c\"", e.Message);
    }

    [Fact]
    public void Unflatten_SplitsOneDimAndPrintsAsPyTorch()
    {
        var x = Tensor.Arange(24.0).Reshape(2, 12);
        var u = new Unflatten(1, 3, -1);
        var y = u.Forward(x);
        Assert.Equal(new[] { 2, 3, 4 }, y.Shape.ToArray());
        Assert.Equal(x.ToArray<float>(), y.ToArray<float>());
        Assert.Equal("Unflatten(dim=1, unflattened_size=(3, -1))", u.ToString());
        Assert.Equal(new[] { 4, 2, 3 }, new Unflatten(-1, 2, 3).Forward(Tensor.Zeros(4, 6)).Shape.ToArray());
    }

    [Fact]
    public void GetSubmoduleParameterAndBuffer_FollowDottedPaths()
    {
        var m = new Holder();
        Assert.Same(m, m.GetSubmodule(""));
        Assert.Same(m.Body[2], m.GetSubmodule("body.2"));
        Assert.Same(m.Body[0].Parameters().First(), m.GetParameter("body.0.weight"));
        Assert.Same(m.Scales[0], m.GetParameter("scales.0"));
        Assert.Equal(new[] { 3 }, m.GetBuffer("body.2.running_mean").Shape.ToArray());
        var e = Assert.Throws<ArgumentException>(() => m.GetSubmodule("body.7"));
        Assert.Contains("has no submodule `7`", e.Message);
        e = Assert.Throws<ArgumentException>(() => m.GetParameter("body.0.gamma"));
        Assert.Contains("Linear has no parameter `gamma`", e.Message);
        e = Assert.Throws<ArgumentException>(() => m.GetBuffer("body.0.weight"));
        Assert.Contains("Linear has no buffer `weight`", e.Message);
    }

    [Fact]
    public void AddModule_FromOutside_JoinsTheStateDictAndTheStrictLoad()
    {
        var a = new Holder();
        a.AddModule("head", new Linear(3, 1));
        Assert.Contains("head.weight", a.StateDict().Keys);
        var b = new Holder();
        Assert.Throws<ArgumentException>(() => b.LoadStateDict(a.StateDict()));   // strict: head.* unexpected
        b.RegisterModule("head", new Linear(3, 1));
        b.LoadStateDict(a.StateDict());
        Assert.Equal(a.GetParameter("head.weight").ToArray<float>(), b.GetParameter("head.weight").ToArray<float>());
        Assert.Throws<ArgumentException>(() => b.AddModule("a.b", new ReLU()));
    }

    sealed class AddConstant(float c) : Module<Tensor, Tensor>
    {
        public override Tensor Forward(Tensor x) => x + c;
    }

    sealed class Scale(float c) : Module<Tensor, Tensor>
    {
        public override Tensor Forward(Tensor x) => x * c;
    }

    [Fact]
    public void Sequential_InsertRenumbersAndRunsInTheNewOrder()
    {
        var seq = new Sequential(new AddConstant(1), new Scale(10));
        seq.Insert(1, new Scale(2));        // (x + 1)·2·10
        seq.Insert(-1, new AddConstant(3)); // before the last: ((x + 1)·2 + 3)·10
        seq.Insert(4, new AddConstant(-5)); // at the end
        Assert.Equal(5, seq.Count);
        Assert.Equal(new[] { "0", "1", "2", "3", "4" }, seq.NamedChildren().Select(c => c.Name));
        Assert.Equal(((2f + 1) * 2 + 3) * 10 - 5, seq.Forward(Tensor.From(2f)).Item<float>());
        Assert.Throws<ArgumentOutOfRangeException>(() => seq.Insert(6, new Scale(1)));
        Assert.Throws<ArgumentOutOfRangeException>(() => seq.Insert(-6, new Scale(1)));
    }

    [Fact]
    public void Sequential_IndexSetExtendAndAddModule()
    {
        var seq = new Sequential(new Linear(2, 2), new ReLU());
        seq[1] = new Scale(3);
        seq[-2] = new AddConstant(1);
        seq.Extend([new Scale(2), new AddConstant(-1)]);
        seq.AddModule("last", new Scale(-1));   // a registered submodule is a layer, as in PyTorch
        Assert.Equal(new[] { "0", "1", "2", "3", "last" }, seq.NamedChildren().Select(c => c.Name));
        Assert.Equal(-(((4f + 1) * 3) * 2 - 1), seq.Forward(Tensor.From(4f)).Item<float>());
        Assert.IsType<Scale>(seq[-1]);
        var e = Assert.Throws<InvalidOperationException>(() => seq.Insert(0, new ReLU()));
        Assert.Contains("submodule 4 is named \"last\"", e.Message);
    }

    [Fact]
    public void Sequential_RefusesToRunASubmoduleThatIsNotALayer()
    {
        var seq = new Sequential(new Scale(2));
        seq.AddModule("scales", new ParameterList(new Parameter(Tensor.Ones(1))));
        var e = Assert.Throws<InvalidOperationException>(() => seq.Forward(Tensor.From(1f)));
        Assert.Contains("\"scales\" is a ParameterList, not a module from Tensor to Tensor", e.Message);
    }

    [Fact]
    public void Sequential_Named_KeepsItsNamesWhenAnEntryIsReplaced()
    {
        var seq = new Sequential(("fc", new Linear(2, 2)), ("act", new ReLU()));
        seq[0] = new Linear(2, 2, bias: false);
        Assert.Equal(new[] { "fc.weight" }, seq.StateDict().Keys);
        Assert.Equal(new[] { "fc", "act" }, seq.NamedChildren().Select(c => c.Name));
    }

    [Fact]
    public void ModuleList_InsertExtendAppendAndSet()
    {
        var list = new ModuleList<Linear>(new Linear(1, 1), new Linear(2, 2));
        list.Insert(0, new Linear(3, 3)).Append(new Linear(4, 4)).Extend([new Linear(5, 5)]);
        list[-1] = new Linear(6, 6, bias: false);
        Assert.Equal(new[] { 3, 1, 2, 4, 6 }, list.Select(l => l.Weight.Shape[0]));
        Assert.Equal(new[] { "0.weight", "0.bias", "1.weight", "1.bias", "2.weight", "2.bias", "3.weight", "3.bias", "4.weight" },
            list.StateDict().Keys);
        Assert.Same(list[0], list.GetSubmodule("0"));
        Assert.Throws<ArgumentOutOfRangeException>(() => list.Insert(7, new Linear(1, 1)));
    }
}
