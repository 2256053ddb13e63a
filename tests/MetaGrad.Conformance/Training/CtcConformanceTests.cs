using MetaGrad.NN;
using TorchSharp;
using static TorchSharp.torch;

namespace MetaGrad.Conformance.Training;

/// <summary>
/// CTCLoss against torch.nn.functional.ctc_loss: the loss and the gradient of the logits under a
/// log_softmax (where libtorch's gradient is the true one), in float32 and float64, over padded and
/// concatenated targets, repeated labels, an empty target, sequences of different lengths, an
/// impossible alignment with zero_infinity, and every reduction.
/// </summary>
public class CtcConformanceTests
{
    // name, T, N, C, input lengths, targets (per sequence), padded rows?, reduction, zero_infinity
    public static TheoryData<string, int, long[], long[][], bool, Reduction, bool> Cases => new()
    {
        { "padded, mean", 6, [6, 5, 6], [[1, 2, 3], [2, 2], [3, 1, 1, 2]], true, Reduction.Mean, false },
        { "concatenated, sum", 7, [7, 4], [[1, 1, 1], [3]], false, Reduction.Sum, false },
        { "empty target, none", 5, [5, 3, 4], [[], [2, 3], [1]], true, Reduction.None, false },
        { "impossible alignment, zero infinity", 4, [4, 2], [[1, 2], [2, 2]], true, Reduction.None, true },
    };

    [Theory, MemberData(nameof(Cases))]
    public void LossAndLogitGradients_MatchLibTorch(string name, int steps, long[] inputLengths, long[][] labels, bool padded, Reduction reduction, bool zeroInfinity)
    {
        foreach (var dtype in new[] { DType.Float64, DType.Float32 })
        {
            int n = labels.Length, classes = 4;
            var logits = MetaGrad.Tensor.Randn([steps, n, classes], dtype, generator: new Generator(3)).RequiresGrad_();
            int width = labels.Max(l => l.Length);
            long[] targets = padded ? [.. labels.SelectMany(l => l.Concat(Enumerable.Repeat(1L, width - l.Length)))] : [.. labels.SelectMany(l => l)];
            int[] targetShape = padded ? [n, width] : [targets.Length];
            var lengths = labels.Select(l => (long)l.Length).ToArray();
            var loss = Losses.CtcLoss(logits.LogSoftmax(2), MetaGrad.Tensor.From(targets, targetShape), MetaGrad.Tensor.From(inputLengths, [n]),
                MetaGrad.Tensor.From(lengths, [n]), 0, reduction, zeroInfinity);
            var weights = MetaGrad.Tensor.Randn([.. loss.Shape], dtype, generator: new Generator(4));
            var grad = Autograd.Grad((loss * weights).Sum(), logits);

            var type = dtype == DType.Float64 ? ScalarType.Float64 : ScalarType.Float32;
            var tLogits = torch.tensor(logits.ToArray<double>(), [steps, n, classes], ScalarType.Float64).to_type(type).requires_grad_();
            var tLoss = torch.nn.functional.ctc_loss(torch.nn.functional.log_softmax(tLogits, 2), torch.tensor(targets, targetShape.Select(s => (long)s).ToArray()),
                torch.tensor(inputLengths), torch.tensor(lengths), 0, zeroInfinity,
                reduction switch { Reduction.None => nn.Reduction.None, Reduction.Sum => nn.Reduction.Sum, _ => nn.Reduction.Mean });
            var tWeights = torch.tensor(weights.ToArray<double>(), tLoss.shape, ScalarType.Float64).to_type(type);
            (tLoss * tWeights).sum().backward();

            double tolerance = dtype == DType.Float64 ? 1e-10 : 1e-4;
            var ours = loss.ToArray<double>();
            var theirs = tLoss.to_type(ScalarType.Float64).data<double>().ToArray();
            Assert.Equal(theirs.Length, ours.Length);
            for (int i = 0; i < ours.Length; i++)
                Assert.True(Math.Abs(ours[i] - theirs[i]) <= tolerance * (1 + Math.Abs(theirs[i])), $"{name} {dtype}: loss {i} {ours[i]} vs {theirs[i]}");
            var ourGrad = grad.ToArray<double>();
            var theirGrad = tLogits.grad!.to_type(ScalarType.Float64).data<double>().ToArray();
            for (int i = 0; i < ourGrad.Length; i++)
                Assert.True(Math.Abs(ourGrad[i] - theirGrad[i]) <= tolerance * (1 + Math.Abs(theirGrad[i])), $"{name} {dtype}: gradient {i} {ourGrad[i]} vs {theirGrad[i]}");
        }
    }
}
