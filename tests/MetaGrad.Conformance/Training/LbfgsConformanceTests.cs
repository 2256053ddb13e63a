using MetaGrad.Optim;
using TorchSharp;
using static TorchSharp.torch;

namespace MetaGrad.Conformance.Training;

/// <summary>
/// LBFGS against torch.optim.LBFGS on a smooth non-quadratic loss of two parameters (one vector
/// of 10), float64: the parameters after each of four steps, with a long history and with one of
/// three pairs (so old pairs are dropped).
/// </summary>
public class LbfgsConformanceTests
{
    [Theory]
    [InlineData(100, 1.0, 5)]
    [InlineData(3, 0.5, 8)]
    public void Steps_MatchLibTorch(int historySize, double lr, int maxIter)
    {
        var g = new Generator(11);
        var m = MetaGrad.Tensor.Randn([8, 10], DType.Float64, generator: g) * 0.5;
        var c = MetaGrad.Tensor.Randn([8], DType.Float64, generator: g);
        var a0 = MetaGrad.Tensor.Randn([3, 2], DType.Float64, generator: g);
        var b0 = MetaGrad.Tensor.Randn([4], DType.Float64, generator: g);

        var a = a0.Clone().RequiresGrad_();
        var b = b0.Clone().RequiresGrad_();
        var optimizer = new LBFGS([a, b], lr: lr, maxIter: maxIter, historySize: historySize);
        MetaGrad.Tensor Loss()
        {
            var w = MetaGrad.Tensor.Cat([a.Reshape(-1), b]);
            return (m.Mv(w) - c).Square().Sum() + w.Pow(4).Sum() * 0.1;
        }

        static torch.Tensor T(MetaGrad.Tensor t) => torch.tensor(t.ToArray<double>(), t.Shape.Select(s => (long)s).ToArray(), ScalarType.Float64);
        var tm = T(m);
        var tc = T(c);
        var ta = torch.nn.Parameter(T(a0));
        var tb = torch.nn.Parameter(T(b0));
        var torchOptimizer = torch.optim.LBFGS([ta, tb], lr, maxIter, null, 1e-7, 1e-9, historySize);
        torch.Tensor TorchLoss()
        {
            var w = torch.cat([ta.reshape(-1), tb]);
            return (tm.matmul(w) - tc).square().sum() + w.pow(4).sum() * 0.1;
        }

        for (int step = 0; step < 4; step++)
        {
            optimizer.Step(() =>
            {
                optimizer.ZeroGrad();
                var loss = Loss();
                loss.Backward();
                return loss;
            });
            torchOptimizer.step(() =>
            {
                torchOptimizer.zero_grad();
                var loss = TorchLoss();
                loss.backward();
                return loss;
            });
            var ours = a.ToArray<double>().Concat(b.ToArray<double>()).ToArray();
            var theirs = ta.detach().data<double>().ToArray().Concat(tb.detach().data<double>().ToArray()).ToArray();
            for (int i = 0; i < ours.Length; i++)
                Assert.True(Math.Abs(ours[i] - theirs[i]) <= 1e-9 * Math.Abs(theirs[i]) + 1e-11, $"step {step}, element {i}: {ours[i]} vs {theirs[i]}");
        }
    }
}
