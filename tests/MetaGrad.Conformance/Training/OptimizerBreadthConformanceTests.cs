using MetaGrad.Optim;
using TorchSharp;
using static MetaGrad.Conformance.Interop.TorchBridge;
using static MetaGrad.Conformance.Training.OptimizerConformanceTests;
using ParamGroup = MetaGrad.Optim.ParamGroup;
using TorchOptimizer = TorchSharp.torch.optim.Optimizer;
using TS = TorchSharp.Modules;

namespace MetaGrad.Conformance.Training;

/// <summary>
/// Adamax, NAdam, RAdam, ASGD and Rprop against TorchSharp's torch.optim, as
/// <see cref="OptimizerConformanceTests"/> does: two groups (the second with lr 0.003), the same
/// gradients set into .grad on both sides, 8 steps, the parameters and every state buffer of ours
/// (which must exist on TorchSharp's side by PyTorch's name) compared after each step.
/// </summary>
public class OptimizerBreadthConformanceTests
{
    const double SecondGroupLr = 0.003;

    /// <param name="Ours">MetaGrad's optimizer over the two groups.</param>
    /// <param name="Theirs">TorchSharp's over the same two groups.</param>
    /// <param name="SecondLr">The second group's lr.</param>
    sealed record Case(Func<IEnumerable<ParamGroup>, Optimizer> Ours, Func<TS.Parameter, TS.Parameter, TorchOptimizer> Theirs,
        double SecondLr = SecondGroupLr);

    static readonly Dictionary<string, Case> Cases = new()
    {
        ["Adamax"] = new(g => new Adamax(g),
            (a, b) => torch.optim.Adamax([new TS.Adamax.ParamGroup([a], new TS.Adamax.Options()), new TS.Adamax.ParamGroup([b], new TS.Adamax.Options { LearningRate = SecondGroupLr })], 2e-3)),
        ["Adamax-decay"] = new(g => new Adamax(g, lr: 0.05, betas: (0.8, 0.9), eps: 1e-3, weightDecay: 0.1),
            (a, b) => torch.optim.Adamax([new TS.Adamax.ParamGroup([a], new TS.Adamax.Options()), new TS.Adamax.ParamGroup([b], new TS.Adamax.Options { LearningRate = SecondGroupLr })], 0.05, 0.8, 0.9, 1e-3, 0.1)),
        ["NAdam"] = new(g => new NAdam(g),
            (a, b) => torch.optim.NAdam([new TS.NAdam.ParamGroup([a], new TS.NAdam.Options()), new TS.NAdam.ParamGroup([b], new TS.NAdam.Options { LearningRate = SecondGroupLr })], 2e-3)),
        ["NAdam-decay"] = new(g => new NAdam(g, lr: 0.05, betas: (0.8, 0.9), eps: 1e-3, weightDecay: 0.1, momentumDecay: 0.1),
            (a, b) => torch.optim.NAdam([new TS.NAdam.ParamGroup([a], new TS.NAdam.Options()), new TS.NAdam.ParamGroup([b], new TS.NAdam.Options { LearningRate = SecondGroupLr })], 0.05, 0.8, 0.9, 1e-3, 0.1, 0.1)),
        // TorchSharp's RAdam multiplies the rectified step by lr twice (PyTorch once; see DIFFERENCES.md),
        // so both groups run at lr 1, where the two agree. β2 = 0.9 takes ρ_t past 5 within the 8
        // steps, so both branches are compared.
        ["RAdam"] = new(g => new RAdam(g, lr: 1, betas: (0.9, 0.9)),
            (a, b) => torch.optim.RAdam([new TS.RAdam.ParamGroup([a], new TS.RAdam.Options()), new TS.RAdam.ParamGroup([b], new TS.RAdam.Options { LearningRate = 1 })], 1, 0.9, 0.9),
            SecondLr: 1),
        ["RAdam-decay"] = new(g => new RAdam(g, lr: 1, betas: (0.8, 0.85), eps: 1e-3, weightDecay: 0.1),
            (a, b) => torch.optim.RAdam([new TS.RAdam.ParamGroup([a], new TS.RAdam.Options()), new TS.RAdam.ParamGroup([b], new TS.RAdam.Options { LearningRate = 1 })], 1, 0.8, 0.85, 1e-3, 0.1),
            SecondLr: 1),
        ["ASGD"] = new(g => new ASGD(g),
            (a, b) => torch.optim.ASGD([new TS.ASGD.ParamGroup([a], new TS.ASGD.Options()), new TS.ASGD.ParamGroup([b], new TS.ASGD.Options { LearningRate = SecondGroupLr })], 1e-2)),
        // Averaging from step 3 on, a strong decay term, weight decay.
        ["ASGD-averaging"] = new(g => new ASGD(g, lr: 0.05, lambd: 0.1, alpha: 0.5, t0: 3, weightDecay: 0.1),
            (a, b) => torch.optim.ASGD([new TS.ASGD.ParamGroup([a], new TS.ASGD.Options()), new TS.ASGD.ParamGroup([b], new TS.ASGD.Options { LearningRate = SecondGroupLr })], 0.05, 0.1, 0.5, 3, 0.1)),
        ["Rprop"] = new(g => new Rprop(g),
            (a, b) => torch.optim.Rprop([new TS.Rprop.ParamGroup([a], new TS.Rprop.Options()), new TS.Rprop.ParamGroup([b], new TS.Rprop.Options { LearningRate = SecondGroupLr })], 1e-2)),
        ["Rprop-bounds-maximize"] = new(g => new Rprop(g, lr: 0.1, etas: (0.3, 1.5), stepSizes: (0.01, 0.2), maximize: true),
            (a, b) => torch.optim.Rprop([new TS.Rprop.ParamGroup([a], new TS.Rprop.Options()), new TS.Rprop.ParamGroup([b], new TS.Rprop.Options { LearningRate = SecondGroupLr })], 0.1, 0.3, 1.5, 0.01, 0.2, maximize: true)),
    };

    public static TheoryData<string, DType> All()
    {
        var data = new TheoryData<string, DType>();
        foreach (var name in Cases.Keys)
            foreach (var dtype in new[] { DType.Float32, DType.Float64 }) data.Add(name, dtype);
        return data;
    }

    [Theory]
    [MemberData(nameof(All))]
    public void ParametersAndStateFollowLibtorchStepByStep(string name, DType dtype)
    {
        using var scope = torch.NewDisposeScope();
        var c = Cases[name];
        var a = Tensor.From(StartA, [2, 3]).To(dtype).Detach();
        var b = Tensor.From(StartB, [3]).To(dtype).Detach();
        a.RequiresGrad = b.RequiresGrad = true;
        var (ta, tb) = (ToTorchParameter(a), ToTorchParameter(b));
        var ours = c.Ours([new ParamGroup([a]), new ParamGroup([b]) { ["lr"] = c.SecondLr }]);
        using var theirs = c.Theirs(ta, tb);
        var (rtol, atol) = dtype == DType.Float32 ? (1e-6, 1e-7) : (1e-12, 1e-14);
        for (int t = 1; t <= 8; t++)
        {
            foreach (var (p, tp, shift) in new[] { (a, ta, 0), (b, tb, 100) })
            {
                var g = Tensor.From(Gradient(Values(p), t + shift), p.Shape.ToArray()).To(dtype);
                p.Grad = g;
                tp.grad = ToTorch(g);
            }
            ours.Step();
            theirs.step();
            string what = $"{name} {dtype} step {t}";
            AssertClose(ta, a, rtol, atol, $"{what}: A");
            AssertClose(tb, b, rtol, atol, $"{what}: B");

            var theirStates = ((TS.OptimizerHelper)theirs).state_dict().State;
            var ourState = ours.StateDict().State;
            for (int i = 0; i < theirStates.Count; i++)
            {
                var expected = TorchState(theirStates[i]);
                foreach (var key in ourState.Keys.Where(k => k.StartsWith($"state.{i}.")))
                {
                    string n = key[$"state.{i}.".Length..];
                    // TorchSharp keeps the scalar states (NAdam's mu_product, ASGD's eta and mu) as double fields, not tensors.
                    if (theirStates[i].GetType().GetField(n)?.GetValue(theirStates[i]) is double scalar)
                    {
                        AssertClose([scalar], [ourState[key].Item<double>()], rtol, atol, $"{what}: state.{i}.{n}");
                        continue;
                    }
                    Assert.True(expected.ContainsKey(n), $"{what}: our state '{n}' of parameter {i} is not in libtorch's state ({string.Join(", ", expected.Keys)})");
                    if (expected[n] is long step) Assert.Equal(step, ourState[key].Item<double>());
                    else AssertClose((torch.Tensor)expected[n], ourState[key], rtol, atol, $"{what}: state.{i}.{n}");
                }
            }
        }
    }
}
