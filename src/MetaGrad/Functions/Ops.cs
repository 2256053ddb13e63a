using MetaGrad.Backends;
using MetaGrad.NN;

namespace MetaGrad.Functions;

/// <summary>
/// The one internal surface that NN and Optim use beside the public Tensor API, as torch.nn and
/// torch.optim reach below torch's public functions: operations that are a node of their own (a
/// fused linear layer, an embedding lookup, a whole recurrent layer, padding, binary cross-entropy,
/// softplus) and the in-place kernels of an optimizer step. NN and Optim name no Function class and
/// no backend kernel themselves; the Functions and kernels behind these can change freely.
/// </summary>
internal static class Ops
{
    /// <summary>y = x·Wᵀ + b as one node (the bias added inside the GEMM's tiles).</summary>
    public static Tensor Linear(Tensor input, Tensor weight, Tensor? bias) => LinearFunction.Apply(input, weight, bias);

    /// <summary>Rows of weight at flat ids; with sparse, a leaf weight's gradient comes as rows (<see cref="Tensor.SparseGrad"/>).</summary>
    public static Tensor EmbeddingLookup(Tensor ids, Tensor weight, int? paddingIdx, bool sparse) =>
        new EmbeddingLookup(ids, paddingIdx, sparse).Apply(weight);

    /// <summary>One direction of a recurrent layer over all its steps: row outputs and final states from one node.</summary>
    public static RecurrentOutputs RecurrentLayer(RecurrentKind kind, Tensor gi, Tensor h0, Tensor? c0, Tensor weightHh, Tensor? biasHh,
        int[] batchSizes, bool reverse, Tensor? biasIh = null) =>
        Functions.RecurrentLayer.Run(kind, gi, h0, c0, weightHh, biasHh, batchSizes, reverse, biasIh);

    /// <summary>x placed in a zero tensor of <paramref name="shape"/> at the view <paramref name="region"/> picks out.</summary>
    public static Tensor Pad(Tensor x, Func<Layout, Layout> region, int[] shape) => new EmbedIn(region, shape, "Pad").Apply(x);

    /// <summary>
    /// Batch normalisation with the batch's statistics over every dim but 1, as one node; also the
    /// batch mean and biased variance (broadcastable) for running statistics.
    /// </summary>
    public static (Tensor Output, Tensor Mean, Tensor Variance) BatchNormTraining(Tensor input, Tensor? weight, Tensor? bias, double eps)
    {
        var dims = Enumerable.Range(0, input.NDim).Where(d => d != 1).ToArray();
        var node = new BatchNormTraining(dims, eps);
        var y = weight is null ? node.Apply(input) : node.Apply(input, weight, bias!);
        return (y, node.Mean, node.Variance);
    }

    /// <summary>-(y·log x + (1 - y)·log(1 - x)) elementwise, each log clamped at -100.</summary>
    public static Tensor BinaryCrossEntropy(Tensor input, Tensor target) => new BinaryCrossEntropy().Apply(input, target);

    /// <summary>log(1 + exp(βx)) / β, linear above the threshold.</summary>
    public static Tensor Softplus(Tensor x, double beta, double threshold) => new Softplus(beta, threshold).Apply(x);

    /// <summary>Whether the parameter's backend has the fused Adam step (else the optimizer runs it as tensor operations).</summary>
    public static bool HasFusedAdam(Tensor param) => param.Backend is IFusedKernels;

    /// <summary>One Adam or AdamW step on a parameter and its moments, in place, in one pass (see <see cref="HasFusedAdam"/>).</summary>
    public static void AdamUpdate_(Tensor param, Tensor grad, Tensor expAvg, Tensor expAvgSq, Tensor? maxExpAvgSq, AdamCoefficients coefficients)
    {
        ((IFusedKernels)param.Backend).AdamUpdate(param, grad, expAvg, expAvgSq, maxExpAvgSq, coefficients);
        foreach (var t in new[] { param, expAvg, expAvgSq, maxExpAvgSq }) t?.MarkWritten();
    }

    /// <summary>target[rows] += values in place, repeated rows adding up (an update of the rows a sparse gradient touched).</summary>
    public static void AddRows_(Tensor target, Tensor rows, Tensor values)
    {
        int rowSize = target.Layout.Shape.Length == 0 || target.Layout.Shape[0] == 0 ? 0 : target.Numel / target.Layout.Shape[0];
        var positions = rows.Unsqueeze(1) * (double)rowSize + Tensor.Arange(rowSize, dtype: DType.Int64);
        target.Backend.Put(target, positions, values.Reshape(rows.Shape[0], rowSize).To(target.DType), accumulate: true);
        target.MarkWritten();
    }
}
