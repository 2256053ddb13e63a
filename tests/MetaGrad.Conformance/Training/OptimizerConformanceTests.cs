using System.Reflection;
using MetaGrad.Optim;
using ParamGroup = MetaGrad.Optim.ParamGroup;
using TorchSharp;
using TS = TorchSharp.Modules;
using static MetaGrad.Conformance.Interop.TorchBridge;
using TorchOptimizer = TorchSharp.torch.optim.Optimizer;

namespace MetaGrad.Conformance.Training;

/// <summary>
/// Every update rule of MetaGrad.Optim against TorchSharp's torch.optim on the same parameters and
/// the same gradients (set directly into .grad on both sides, no autograd): two parameter groups,
/// the second with its own lr, 8 steps, parameters and every state buffer compared after each step.
/// The cases are those of tests/MetaGrad.Tests/Optim/LIBTORCH-CASES.md.
/// </summary>
public class OptimizerConformanceTests
{
    const int Steps = 8;
    const double SecondGroupLr = 0.003;

    internal static readonly double[] StartA = [0.5, -1.25, 2.0, 0.0, -0.3, 1.7];
    internal static readonly double[] StartB = [0.1, 0.2, -0.4];

    /// <summary>
    /// ∇f at step t for f(θ) = Σ(θᵢ - 0.1·i)² plus a wobble in t (OptimizerCases.Gradient of the
    /// unit tests), computed from MetaGrad's θ and fed to both sides.
    /// </summary>
    internal static double[] Gradient(double[] theta, int t) =>
        theta.Select((x, i) => 2 * (x - 0.1 * i) + Math.Sin(0.9 * t + i)).ToArray();

    // (float32, float64) tolerances: float32 steps round differently in the two libraries
    // (lerp against mul/add, fused against separate kernels), a few ulps per step. add_(other,
    // alpha), in SGD's and RMSprop's updates, is one fused multiply-add in both (libtorch's
    // AVX2/AVX-512 kernels and ours); with two roundings, as before 2026-12-05, RMSprop-momentum's
    // float32 buffer drifted 4.9e-6 from libtorch in six steps on the Intel Xeon kind. See DIFFERENCES.md.
    static (double Rtol, double Atol) Tolerance(DType dtype) => dtype == DType.Float32 ? (1e-6, 1e-7) : (1e-12, 1e-14);

    /// <param name="Ours">MetaGrad's optimizer over the two groups.</param>
    /// <param name="Theirs">TorchSharp's over the same two groups.</param>
    /// <param name="MaximizeByNegating">
    /// TorchSharp's maximize differs from PyTorch's (see DIFFERENCES.md), so its side runs without
    /// maximize on the negated gradients, which is PyTorch's definition of maximize.
    /// </param>
    /// <param name="TorchCountsSteps">False where TorchSharp leaves "step" at 0 (its Adadelta); ours is then checked to equal t.</param>
    sealed record Case(
        Func<IEnumerable<ParamGroup>, Optimizer> Ours,
        Func<TS.Parameter, TS.Parameter, TorchOptimizer> Theirs,
        bool MaximizeByNegating = false,
        bool TorchCountsSteps = true);

    static readonly Dictionary<string, Case> Cases = new()
    {
        ["SGD"] = new(g => new SGD(g, lr: 0.1),
            (a, b) => torch.optim.SGD([new TS.SGD.ParamGroup([a], new TS.SGD.Options()), new TS.SGD.ParamGroup([b], new TS.SGD.Options { LearningRate = SecondGroupLr })], 0.1)),
        ["SGD-momentum-dampening"] = new(g => new SGD(g, lr: 0.05, momentum: 0.9, dampening: 0.1, weightDecay: 0.01),
            (a, b) => torch.optim.SGD([new TS.SGD.ParamGroup([a], new TS.SGD.Options()), new TS.SGD.ParamGroup([b], new TS.SGD.Options { LearningRate = SecondGroupLr })], 0.05, momentum: 0.9, dampening: 0.1, weight_decay: 0.01)),
        ["SGD-nesterov"] = new(g => new SGD(g, lr: 0.05, momentum: 0.9, weightDecay: 0.01, nesterov: true),
            (a, b) => torch.optim.SGD([new TS.SGD.ParamGroup([a], new TS.SGD.Options()), new TS.SGD.ParamGroup([b], new TS.SGD.Options { LearningRate = SecondGroupLr })], 0.05, momentum: 0.9, weight_decay: 0.01, nesterov: true)),
        ["SGD-maximize"] = new(g => new SGD(g, lr: 0.1, momentum: 0.5, dampening: 0.1, weightDecay: 0.01, maximize: true),
            (a, b) => torch.optim.SGD([new TS.SGD.ParamGroup([a], new TS.SGD.Options()), new TS.SGD.ParamGroup([b], new TS.SGD.Options { LearningRate = SecondGroupLr })], 0.1, momentum: 0.5, dampening: 0.1, weight_decay: 0.01),
            MaximizeByNegating: true),
        ["Adam"] = new(g => new Adam(g),
            (a, b) => torch.optim.Adam([new TS.Adam.ParamGroup([a], new TS.Adam.Options()), new TS.Adam.ParamGroup([b], new TS.Adam.Options { LearningRate = SecondGroupLr })], 1e-3, 0.9, 0.999, 1e-8)),
        ["Adam-weight-decay"] = new(g => new Adam(g, lr: 0.01, weightDecay: 0.01),
            (a, b) => torch.optim.Adam([new TS.Adam.ParamGroup([a], new TS.Adam.Options()), new TS.Adam.ParamGroup([b], new TS.Adam.Options { LearningRate = SecondGroupLr })], 0.01, 0.9, 0.999, 1e-8, weight_decay: 0.01)),
        ["Adam-amsgrad"] = new(g => new Adam(g, lr: 0.01, betas: (0.8, 0.9), amsgrad: true),
            (a, b) => torch.optim.Adam([new TS.Adam.ParamGroup([a], new TS.Adam.Options()), new TS.Adam.ParamGroup([b], new TS.Adam.Options { LearningRate = SecondGroupLr })], 0.01, 0.8, 0.9, 1e-8, amsgrad: true)),
        ["Adam-everything"] = new(g => new Adam(g, lr: 0.02, betas: (0.5, 0.9), eps: 1e-3, weightDecay: 0.05, amsgrad: true, maximize: true),
            (a, b) => torch.optim.Adam([new TS.Adam.ParamGroup([a], new TS.Adam.Options()), new TS.Adam.ParamGroup([b], new TS.Adam.Options { LearningRate = SecondGroupLr })], 0.02, 0.5, 0.9, 1e-3, weight_decay: 0.05, amsgrad: true, maximize: true)),
        // TorchSharp's AdamW defaults weight_decay to 0 (PyTorch: 0.01), so it is passed explicitly.
        ["AdamW"] = new(g => new AdamW(g),
            (a, b) => torch.optim.AdamW([new TS.AdamW.ParamGroup([a], new TS.AdamW.Options()), new TS.AdamW.ParamGroup([b], new TS.AdamW.Options { LearningRate = SecondGroupLr })], 1e-3, 0.9, 0.999, 1e-8, weight_decay: 0.01)),
        ["AdamW-amsgrad"] = new(g => new AdamW(g, lr: 0.05, betas: (0.9, 0.99), weightDecay: 0.5, amsgrad: true),
            (a, b) => torch.optim.AdamW([new TS.AdamW.ParamGroup([a], new TS.AdamW.Options()), new TS.AdamW.ParamGroup([b], new TS.AdamW.Options { LearningRate = SecondGroupLr })], 0.05, 0.9, 0.99, 1e-8, weight_decay: 0.5, amsgrad: true)),
        ["Adagrad"] = new(g => new Adagrad(g),
            (a, b) => torch.optim.Adagrad([new TS.Adagrad.ParamGroup([a], new TS.Adagrad.Options()), new TS.Adagrad.ParamGroup([b], new TS.Adagrad.Options { LearningRate = SecondGroupLr })], 1e-2)),
        ["Adagrad-decay"] = new(g => new Adagrad(g, lr: 0.1, lrDecay: 0.01, weightDecay: 0.01, initialAccumulatorValue: 0.1),
            (a, b) => torch.optim.Adagrad([new TS.Adagrad.ParamGroup([a], new TS.Adagrad.Options()), new TS.Adagrad.ParamGroup([b], new TS.Adagrad.Options { LearningRate = SecondGroupLr })], 0.1, lr_decay: 0.01, weight_decay: 0.01, initial_accumulator_value: 0.1)),
        ["RMSprop"] = new(g => new RMSprop(g),
            (a, b) => torch.optim.RMSProp([new TS.RMSProp.ParamGroup([a], new TS.RMSProp.Options()), new TS.RMSProp.ParamGroup([b], new TS.RMSProp.Options { LearningRate = SecondGroupLr })], 1e-2, 0.99, 1e-8)),
        ["RMSprop-momentum"] = new(g => new RMSprop(g, lr: 0.01, momentum: 0.9, weightDecay: 0.01),
            (a, b) => torch.optim.RMSProp([new TS.RMSProp.ParamGroup([a], new TS.RMSProp.Options()), new TS.RMSProp.ParamGroup([b], new TS.RMSProp.Options { LearningRate = SecondGroupLr })], 0.01, momentum: 0.9, weight_decay: 0.01)),
        ["RMSprop-centered"] = new(g => new RMSprop(g, lr: 0.01, alpha: 0.9, momentum: 0.5, centered: true),
            (a, b) => torch.optim.RMSProp([new TS.RMSProp.ParamGroup([a], new TS.RMSProp.Options()), new TS.RMSProp.ParamGroup([b], new TS.RMSProp.Options { LearningRate = SecondGroupLr })], 0.01, alpha: 0.9, momentum: 0.5, centered: true)),
        ["RMSprop-everything"] = new(g => new RMSprop(g, lr: 0.005, alpha: 0.8, weightDecay: 0.1, momentum: 0.5, centered: true, maximize: true),
            (a, b) => torch.optim.RMSProp([new TS.RMSProp.ParamGroup([a], new TS.RMSProp.Options()), new TS.RMSProp.ParamGroup([b], new TS.RMSProp.Options { LearningRate = SecondGroupLr })], 0.005, alpha: 0.8, weight_decay: 0.1, momentum: 0.5, centered: true, maximize: true)),
        ["Adadelta"] = new(g => new Adadelta(g),
            (a, b) => torch.optim.Adadelta([new TS.Adadelta.ParamGroup([a], new TS.Adadelta.Options()), new TS.Adadelta.ParamGroup([b], new TS.Adadelta.Options { LearningRate = SecondGroupLr })], 1.0, 0.9, 1e-6),
            TorchCountsSteps: false),
        ["Adadelta-decay"] = new(g => new Adadelta(g, lr: 0.5, rho: 0.95, eps: 1e-4, weightDecay: 0.1),
            (a, b) => torch.optim.Adadelta([new TS.Adadelta.ParamGroup([a], new TS.Adadelta.Options()), new TS.Adadelta.ParamGroup([b], new TS.Adadelta.Options { LearningRate = SecondGroupLr })], 0.5, rho: 0.95, eps: 1e-4, weight_decay: 0.1),
            TorchCountsSteps: false),
    };

    public static TheoryData<string, DType> All()
    {
        var data = new TheoryData<string, DType>();
        foreach (var name in Cases.Keys)
            foreach (var dtype in new[] { DType.Float32, DType.Float64 }) data.Add(name, dtype);
        return data;
    }

    /// <summary>Both sides over copies of the same A [2, 3] and B [3], B in a group with lr 0.003.</summary>
    sealed class Pair : IDisposable
    {
        public readonly Tensor A, B;
        public readonly TS.Parameter TA, TB;
        public readonly Optimizer Ours;
        public readonly TorchOptimizer Theirs;
        public readonly Case Case;

        public Pair(Case c, DType dtype)
        {
            Case = c;
            A = Tensor.From(StartA, [2, 3]).To(dtype).Detach();
            B = Tensor.From(StartB, [3]).To(dtype).Detach();
            A.RequiresGrad = B.RequiresGrad = true;
            (TA, TB) = (ToTorchParameter(A), ToTorchParameter(B));
            Ours = c.Ours([new ParamGroup([A]), new ParamGroup([B]) { ["lr"] = SecondGroupLr }]);
            Theirs = c.Theirs(TA, TB);
        }

        /// <summary>One step on both sides with the gradient of step t, computed from MetaGrad's parameters.</summary>
        public void Step(int t)
        {
            SetGradients(A, TA, B, TB, t, Case.MaximizeByNegating);
            Ours.Step();
            Theirs.step();
        }

        public void Dispose() => Theirs.Dispose();
    }

    /// <summary>
    /// The gradients of step t (B's with t + 100), from MetaGrad's current values, into .grad on both
    /// sides; negated on TorchSharp's side when it stands in for maximize.
    /// </summary>
    static void SetGradients(Tensor a, TS.Parameter ta, Tensor b, TS.Parameter tb, int t, bool negateTheirs)
    {
        foreach (var (ours, theirs, shift) in new[] { (a, ta, 0), (b, tb, 100) })
        {
            var g = Tensor.From(Gradient(Values(ours), t + shift), ours.Shape.ToArray()).To(ours.DType);
            ours.Grad = g;
            theirs.grad = ToTorch(negateTheirs ? -g : g);
        }
    }

    [Theory]
    [MemberData(nameof(All))]
    public void ParametersAndStateFollowLibtorchStepByStep(string name, DType dtype)
    {
        using var scope = torch.NewDisposeScope();
        using var pair = new Pair(Cases[name], dtype);
        var (rtol, atol) = Tolerance(dtype);
        for (int t = 1; t <= Steps; t++)
        {
            pair.Step(t);
            AssertClose(pair.TA, pair.A, rtol, atol, $"{name} {dtype} step {t}: A");
            AssertClose(pair.TB, pair.B, rtol, atol, $"{name} {dtype} step {t}: B");
            AssertStateEqual(pair, t, rtol, atol, $"{name} {dtype} step {t}");
        }
        AssertOptionsEqual(pair, name);
    }

    /// <summary>
    /// A TorchSharp per-parameter state as PyTorch's (name → value): its public Tensor fields (the
    /// buffers, by PyTorch's names) and its step count.
    /// </summary>
    internal static Dictionary<string, object> TorchState(object state)
    {
        var result = new Dictionary<string, object>();
        foreach (var f in state.GetType().GetFields(BindingFlags.Public | BindingFlags.Instance))
        {
            var v = f.GetValue(state);
            if (v is torch.Tensor t) result[f.Name] = t;
            else if (f.Name == "step" && v is long step) result[f.Name] = step;
        }
        return result;
    }

    /// <summary>
    /// Every state entry of ours exists in TorchSharp's state with the same value. (TorchSharp creates
    /// some buffers PyTorch creates only when an option needs them, such as RMSprop's grad_avg when
    /// not centered; those extra zero buffers are not compared.)
    /// </summary>
    static void AssertStateEqual(Pair pair, int t, double rtol, double atol, string what)
    {
        var theirStates = ((TS.OptimizerHelper)pair.Theirs).state_dict().State;
        var ourState = pair.Ours.StateDict().State;
        for (int i = 0; i < theirStates.Count; i++)
        {
            var expected = TorchState(theirStates[i]);
            var names = ourState.Keys.Where(k => k.StartsWith($"state.{i}.")).Select(k => k[$"state.{i}.".Length..]).ToList();
            foreach (var n in names)
            {
                Assert.True(expected.ContainsKey(n), $"{what}: our state '{n}' of parameter {i} is not in libtorch's state ({string.Join(", ", expected.Keys)})");
                var actual = ourState[$"state.{i}.{n}"];
                if (expected[n] is long step) Assert.Equal(pair.Case.TorchCountsSteps ? step : t, actual.Item<double>());
                else AssertClose((torch.Tensor)expected[n], actual, rtol, atol, $"{what}: state.{i}.{n}");
            }
        }
    }

    /// <summary>Each group's options equal TorchSharp's by PyTorch's names (beta1/beta2 as our betas pair, lr as LearningRate).</summary>
    static void AssertOptionsEqual(Pair pair, string what)
    {
        var (theirs, ours) = (pair.Theirs, pair.Ours);
        var theirOptions = ((TS.OptimizerHelper)theirs).state_dict().Options;
        Assert.Equal(theirOptions.Count, ours.ParamGroups.Count);
        for (int i = 0; i < theirOptions.Count; i++)
        {
            var group = ours.ParamGroups[i];
            Assert.Equal(theirOptions[i].LearningRate!.Value, group.Lr);
            foreach (var f in theirOptions[i].GetType().GetFields(BindingFlags.Public | BindingFlags.Instance))
            {
                object? v = f.GetValue(theirOptions[i]);
                if (f.Name == "maximize" && pair.Case.MaximizeByNegating) continue;
                switch (f.Name, v)
                {
                    case ("beta1", double b1): Assert.Equal(b1, group.Pair("betas").Item1); break;
                    case ("beta2", double b2): Assert.Equal(b2, group.Pair("betas").Item2); break;
                    case (_, double d): Assert.True(d == group.Double(f.Name), $"{what} group {i}: {f.Name} is {group.Double(f.Name)}, libtorch {d}"); break;
                    case (_, bool b): Assert.True(b == group.Bool(f.Name), $"{what} group {i}: {f.Name} is {group.Bool(f.Name)}, libtorch {b}"); break;
                }
            }
        }
    }

    [Fact]
    public void AdagradStateExistsBeforeTheFirstStep()
    {
        using var scope = torch.NewDisposeScope();
        using var pair = new Pair(Cases["Adagrad-decay"], DType.Float32);
        var theirs = ((TS.OptimizerHelper)pair.Theirs).state_dict().State;
        var ours = pair.Ours.StateDict().State;
        for (int i = 0; i < 2; i++)
        {
            var expected = TorchState(theirs[i]);
            Assert.Equal(0L, (long)expected["step"]);
            Assert.Equal(0.0, ours[$"state.{i}.step"].Item<double>());
            AssertClose((torch.Tensor)expected["sum"], ours[$"state.{i}.sum"], 0, 0, $"state.{i}.sum");
            Assert.All(Values(ours[$"state.{i}.sum"]), v => Assert.Equal((double)0.1f, v));
        }
    }

    /// <summary>
    /// Training resumes from libtorch's state: 3 steps in TorchSharp, its state and parameters loaded
    /// into a fresh MetaGrad optimizer, then 3 more steps on both sides.
    /// </summary>
    [Theory]
    [InlineData("Adam-amsgrad")]
    [InlineData("SGD-momentum-dampening")]
    public void ResumesFromLibtorchState(string name)
    {
        using var scope = torch.NewDisposeScope();
        var c = Cases[name];
        using var pair = new Pair(c, DType.Float32);
        for (int t = 1; t <= 3; t++) pair.Step(t);

        var theirDict = ((TS.OptimizerHelper)pair.Theirs).state_dict();
        var loaded = new OptimizerStateDict();
        for (int i = 0; i < theirDict.State.Count; i++)
            foreach (var (key, value) in TorchState(theirDict.State[i]))
                loaded.State[$"state.{i}.{key}"] = value is long step ? Tensor.Scalar(step, DType.Float64) : FromTorch((torch.Tensor)value);
        for (int i = 0; i < theirDict.Options.Count; i++)
            loaded.ParamGroups.Add(new ParamGroupState { Params = [i], Options = new() { ["lr"] = theirDict.Options[i].LearningRate!.Value } });

        // Fresh parameters from libtorch's, a fresh optimizer, libtorch's state.
        var a = FromTorch(pair.TA); var b = FromTorch(pair.TB);
        a.RequiresGrad = b.RequiresGrad = true;
        var ours = c.Ours([new ParamGroup([a]), new ParamGroup([b]) { ["lr"] = SecondGroupLr }]);
        ours.LoadStateDict(loaded);

        for (int t = 4; t <= 6; t++)
        {
            SetGradients(a, pair.TA, b, pair.TB, t, c.MaximizeByNegating);
            ours.Step();
            pair.Theirs.step();
            AssertClose(pair.TA, a, 1e-6, 1e-7, $"{name} resumed step {t}: A");
            AssertClose(pair.TB, b, 1e-6, 1e-7, $"{name} resumed step {t}: B");
        }
    }

    /// <summary>AMSGrad keeps the largest raw second moment when the moment falls (gradients 4, 0.1, 0.1; betas 0.9, 0.5).</summary>
    [Fact]
    public void AmsgradKeepsTheMaximumWhenTheSecondMomentFalls()
    {
        using var scope = torch.NewDisposeScope();
        var p = Tensor.From(new[] { 1.0 }, [1]).Detach();
        p.RequiresGrad = true;
        var tp = ToTorchParameter(p);
        var ours = new Adam([p], lr: 0.1, betas: (0.9, 0.5), amsgrad: true);
        using var theirs = torch.optim.Adam([tp], 0.1, 0.9, 0.5, amsgrad: true);
        foreach (double g in new[] { 4, 0.1, 0.1 })
        {
            p.Grad = Tensor.From(new[] { g }, [1]);
            tp.grad = torch.tensor(new[] { g }, [1]);
            ours.Step();
            theirs.step();
            AssertClose(tp, p, 1e-15, 0, $"p after gradient {g}");
        }
        var state = TorchState(theirs.state_dict().State[0]);
        AssertClose((torch.Tensor)state["exp_avg_sq"], ours.StateOf(p)["exp_avg_sq"], 1e-15, 0, "exp_avg_sq");
        AssertClose((torch.Tensor)state["max_exp_avg_sq"], ours.StateOf(p)["max_exp_avg_sq"], 1e-15, 0, "max_exp_avg_sq");
        Assert.Equal(2.0075, Values(ours.StateOf(p)["exp_avg_sq"])[0], 12);
        Assert.Equal(8.0, Values(ours.StateOf(p)["max_exp_avg_sq"])[0], 12);
    }
}
