using TorchSharp;
using static TorchSharp.torch;
using MG = MetaGrad;

namespace MetaGrad.Conformance.Derivatives;

/// <summary>
/// Autograd.Functional against libtorch. TorchSharp has no torch.autograd.functional, so the oracle
/// is built from what libtorch does have: the Jacobian one output at a time with autograd.grad, the
/// Hessian by differentiating each gradient entry again (createGraph), vector products by one grad
/// call each. float64, a function that mixes its inputs non-linearly.
/// </summary>
public class FunctionalDerivativeConformanceTests
{
    static readonly double[] X0 = [0.3, -1.2, 0.7, 2.0];
    static readonly double[] V = [1.0, -0.5, 0.25, 2.0];
    static readonly double[] W = [0.5, -1.0, 1.5];

    // f: R⁴ → R³, f(x) = [sin(x0·x1) + x2², exp(x3 / 2)·x0, tanh(x1 - x2)·x3]
    static MG.Tensor F(MG.Tensor x) => MG.Tensor.Stack([
        (x[0] * x[1]).Sin() + x[2].Square(), (x[3] / 2).Exp() * x[0], (x[1] - x[2]).Tanh() * x[3]]);

    static torch.Tensor F(torch.Tensor x) => torch.stack([
        (x[0] * x[1]).sin() + x[2].square(), (x[3] / 2).exp() * x[0], (x[1] - x[2]).tanh() * x[3]]);

    // g: R⁴ → R, a scalar for the Hessian and its vector products.
    static MG.Tensor G(MG.Tensor x) => (F(x) * MG.Tensor.From(W)).Sum() + x.Pow(3).Sum() / 6;
    static torch.Tensor G(torch.Tensor x) => (F(x) * torch.tensor(W, ScalarType.Float64)).sum() + x.pow(3).sum() / 6;

    static torch.Tensor Leaf(double[] values) => torch.tensor(values, ScalarType.Float64).requires_grad_();

    static double[] Torch(torch.Tensor t) => t.detach().to_type(ScalarType.Float64).data<double>().ToArray();

    static void Near(double[] expected, MG.Tensor actual)
    {
        var a = actual.ToArray<double>();
        Assert.Equal(expected.Length, a.Length);
        for (int i = 0; i < a.Length; i++) Assert.True(Math.Abs(expected[i] - a[i]) <= 1e-12 + 1e-10 * Math.Abs(expected[i]), $"element {i}: libtorch {expected[i]}, MetaGrad {a[i]}");
    }

    [Fact]
    public void Jacobian_MatchesLibTorchRowByRow()
    {
        var x = Leaf(X0);
        var y = F(x);
        var rows = Enumerable.Range(0, 3).SelectMany(i => Torch(torch.autograd.grad([y[i]], [x], retain_graph: true)[0])).ToArray();
        Near(rows, MG.Autograd.Functional.Jacobian(F, MG.Tensor.From(X0)));
    }

    [Fact]
    public void Hessian_MatchesLibTorchsSecondDerivatives()
    {
        var x = Leaf(X0);
        var grad = torch.autograd.grad([G(x)], [x], retain_graph: true, create_graph: true)[0];
        var rows = Enumerable.Range(0, 4).SelectMany(i => Torch(torch.autograd.grad([grad[i]], [x], retain_graph: true)[0])).ToArray();
        Near(rows, MG.Autograd.Functional.Hessian(G, MG.Tensor.From(X0)));
    }

    [Fact]
    public void VectorProducts_MatchLibTorch()
    {
        // vᵀJ (Vjp) is one grad call with grad_outputs; Jv (Jvp) is the Jacobian's product, libtorch having no forward mode here.
        var x = Leaf(X0);
        var y = F(x);
        var u = torch.tensor(W, ScalarType.Float64);
        var vjp = Torch(torch.autograd.grad([y], [x], [u], retain_graph: true)[0]);
        Near(vjp, MG.Autograd.Functional.Vjp(F, MG.Tensor.From(X0), MG.Tensor.From(W)).Vjp);

        var jacobian = torch.stack(Enumerable.Range(0, 3).Select(i => torch.autograd.grad([y[i]], [x], retain_graph: true)[0]).ToArray());
        Near(Torch(jacobian.matmul(torch.tensor(V, ScalarType.Float64))), MG.Autograd.Functional.Jvp(F, MG.Tensor.From(X0), MG.Tensor.From(V)).Jvp);

        // Hv (Hvp) = ∇(∇g · v); the Hessian is symmetric, so vᵀH (Vhp) is the same numbers.
        var xs = Leaf(X0);
        var g = torch.autograd.grad([G(xs)], [xs], retain_graph: true, create_graph: true)[0];
        var hv = Torch(torch.autograd.grad([(g * torch.tensor(V, ScalarType.Float64)).sum()], [xs])[0]);
        Near(hv, MG.Autograd.Functional.Hvp(G, MG.Tensor.From(X0), MG.Tensor.From(V)).Hvp);
        Near(hv, MG.Autograd.Functional.Vhp(G, MG.Tensor.From(X0), MG.Tensor.From(V)).Vhp);
    }
}
