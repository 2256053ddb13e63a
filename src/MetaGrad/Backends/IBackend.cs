using MetaGrad.NN;
namespace MetaGrad.Backends;

/// <summary>Elementwise functions of one tensor.</summary>
internal enum UnaryOp
{
    Neg, Abs, Sign, Square, Relu,
    Exp, Log, Log1p, Expm1, Sqrt, Rsqrt, Sin, Cos, Tanh, Sigmoid, Erf, Reciprocal,
    Floor, Ceil, Round, Trunc,
    /// <summary>GELU: x·Φ(x), and PyTorch's tanh approximation of it (floating types).</summary>
    Gelu, GeluTanh,
}

/// <summary>Elementwise functions of two tensors, broadcast.</summary>
internal enum BinaryOp
{
    Add, Sub, Mul, Div, Pow, Maximum, Minimum,
    /// <summary>a where b &gt; 0, else 0: ReLU's backward (grad, output) in one pass (PyTorch's threshold_backward).</summary>
    ThresholdBackward,
    /// <summary>grad·GELU'(x) (a = grad, b = x), exact or tanh-approximated (floating types).</summary>
    GeluBackward, GeluTanhBackward,
}

/// <summary>Elementwise comparisons giving Bool.</summary>
internal enum CompareOp { Eq, Ne, Lt, Le, Gt, Ge }

/// <summary>Elementwise logic on Bool tensors.</summary>
internal enum LogicalOp { And, Or, Xor }

/// <summary>Reductions over a set of dims.</summary>
internal enum ReduceOp { Sum, Prod, Max, Min }

/// <summary>
/// The seam between tensors and raw numbers: every kernel a device must provide. Kernels take and
/// return <see cref="RawTensor"/>s (storage and layout) and never see gradients: autograd is a
/// layer above (the Functions). A GPU backend implements this interface (and, for speed,
/// <see cref="IFusedKernels"/>) and nothing else changes. Unless said otherwise, results are new
/// contiguous tensors and inputs are any strided layout.
/// </summary>
internal partial interface IBackend
{
    /// <summary>Uninitialised (zeroed on the CPU) storage for a contiguous tensor.</summary>
    RawTensor Empty(int[] shape, DType dtype);
    /// <summary>Wraps a .NET array as a contiguous tensor (no copy).</summary>
    RawTensor FromArray<T>(T[] data, int[] shape) where T : unmanaged;
    /// <summary>The elements in row-major order as a new array of T (casting if needed).</summary>
    T[] ToArray<T>(RawTensor x) where T : unmanaged;
    /// <summary>Writes src (broadcast to dst's shape, cast to dst's dtype) into dst's strided view.</summary>
    void Copy(RawTensor dst, RawTensor src);
    /// <summary>A new contiguous tensor with x's values (x's buffer is never shared).</summary>
    RawTensor Clone(RawTensor x);
    /// <summary>Sets every element of dst's strided view to value.</summary>
    void Fill(RawTensor dst, double value);
    /// <summary>A converted copy.</summary>
    RawTensor Cast(RawTensor x, DType dtype);
    /// <summary>start, start+step, ... below end.</summary>
    RawTensor Arange(double start, double end, double step, DType dtype);

    /// <summary>f(x) elementwise.</summary>
    RawTensor Unary(UnaryOp op, RawTensor x);
    /// <summary>f(a, b) elementwise with broadcasting; a and b share a dtype.</summary>
    RawTensor Binary(BinaryOp op, RawTensor a, RawTensor b);
    /// <summary>dst = f(dst, other) in place, other broadcast to dst's shape; dst is contiguous and shares other's dtype.</summary>
    void BinaryInPlace(BinaryOp op, RawTensor dst, RawTensor other);
    /// <summary>Comparison with broadcasting, giving Bool.</summary>
    RawTensor Compare(CompareOp op, RawTensor a, RawTensor b);
    /// <summary>Logic on Bool tensors with broadcasting.</summary>
    RawTensor Logical(LogicalOp op, RawTensor a, RawTensor b);
    /// <summary>Logical not of a Bool tensor.</summary>
    RawTensor LogicalNot(RawTensor x);
    /// <summary>cond ? a : b, all three broadcast; a and b share a dtype.</summary>
    RawTensor Where(RawTensor cond, RawTensor a, RawTensor b);
    /// <summary>min(max(x, lo), hi) with either bound optional.</summary>
    RawTensor Clamp(RawTensor x, double? lo, double? hi);

    /// <summary>Reduction over dims (sorted, distinct); reduced dims are kept with size 1.</summary>
    RawTensor Reduce(ReduceOp op, RawTensor x, int[] dims);
    /// <summary>Index of the first max (or min) along dim, kept with size 1; Int64.</summary>
    RawTensor ArgReduce(RawTensor x, int dim, bool max);
    /// <summary>Sorted values and their Int64 indices along dim (stable).</summary>
    (RawTensor Values, RawTensor Indices) Sort(RawTensor x, int dim, bool descending);
    /// <summary>The Int64 indices of the first k elements along dim of the stable sort (descending when largest): TopK's.</summary>
    RawTensor TopKIndices(RawTensor x, int dim, int k, bool largest);

    /// <summary>
    /// Softmax (or log-softmax) along dim, in one pass per line, shifted by the line's max for
    /// stability. With <paramref name="zeroEmptyRows"/> (softmax along the last dim only), a line
    /// of all -inf (every position masked) comes out as zeros rather than NaN: PyTorch's safe softmax.
    /// </summary>
    RawTensor Softmax(RawTensor x, int dim, bool log, bool zeroEmptyRows = false);

    /// <summary>Batched matrix product: a [..., n, k] times b [..., k, m], batch dims broadcast.</summary>
    RawTensor Matmul(RawTensor a, RawTensor b);
    /// <summary>
    /// input [m, in] times weightᵀ (weight [out, in]) plus bias [out] on every row, or none; float or
    /// double, one dtype. The bias is added to each finished sum, as a product then an addition round.
    /// </summary>
    RawTensor Linear(RawTensor input, RawTensor weight, RawTensor? bias);

    /// <summary>out[i][j] = x[index[i][j]][j] along dim (torch.gather).</summary>
    RawTensor Gather(RawTensor x, int dim, RawTensor index);
    /// <summary>A copy of self with src added at index along dim (torch.scatter_add).</summary>
    RawTensor ScatterAdd(RawTensor self, int dim, RawTensor index, RawTensor src);
    /// <summary>The slices of x at the 1-D Int64 index along dim.</summary>
    RawTensor IndexSelect(RawTensor x, int dim, RawTensor index);
    /// <summary>A copy of self with the slices of src added at index along dim.</summary>
    RawTensor IndexAdd(RawTensor self, int dim, RawTensor index, RawTensor src);
    /// <summary>The elements of x where the broadcast mask is true, as 1-D.</summary>
    RawTensor MaskedSelect(RawTensor x, RawTensor mask);
    /// <summary>A copy of self with the mask positions filled from src in order.</summary>
    RawTensor MaskedScatter(RawTensor self, RawTensor mask, RawTensor src);
    /// <summary>The coordinates of non-zero (true) elements, Int64 [count, rank].</summary>
    RawTensor Nonzero(RawTensor x);
    /// <summary>Writes values at logical row-major positions of dst (its own strided layout), adding when accumulate.</summary>
    void Put(RawTensor dst, RawTensor positions, RawTensor values, bool accumulate);
    /// <summary>
    /// The sliding windows of images x [N, C, H, W] as columns [N, C·kh·kw, L] (L window positions,
    /// row-major), zero where a window overhangs the padding (torch.nn.functional.unfold).
    /// </summary>
    RawTensor Im2Col(RawTensor x, Windows2d windows);
    /// <summary>The adjoint of <see cref="Im2Col"/>: columns summed back into images [N, C, height, width] (fold).</summary>
    RawTensor Col2Im(RawTensor cols, int height, int width, Windows2d windows);
    /// <summary>
    /// For each window of images x [N, C, H, W] (padding never wins), the flat index h·W + w of its
    /// max within its plane, Int64 [N, C, outH, outW]: the first max in row-major order, or the last
    /// NaN (PyTorch's rule). <c>AnyEmpty</c> says some window held no pixel at all (dilation past the padding).
    /// </summary>
    (RawTensor Indices, bool AnyEmpty) MaxPoolIndices(RawTensor x, Windows2d windows, int outH, int outW);
    /// <summary>Concatenation along dim of same-dtype tensors.</summary>
    RawTensor Cat(RawTensor[] xs, int dim);

    /// <summary>Fills dst with U(lo, hi).</summary>
    void FillUniform(RawTensor dst, Generator gen, double lo, double hi);
    /// <summary>Fills dst with N(mean, std²).</summary>
    void FillNormal(RawTensor dst, Generator gen, double mean, double std);
    /// <summary>Fills dst with integers in [lo, hi).</summary>
    void FillRandInt(RawTensor dst, Generator gen, long lo, long hi);
    /// <summary>Samples of category indices from rows of non-negative weights.</summary>
    RawTensor Multinomial(RawTensor probs, int samples, bool replacement, Generator gen);
}

/// <summary>
/// Kernels a backend may add for speed: each fuses what a sequence of <see cref="IBackend"/> calls
/// already computes, and each has a tensor-operation reference that callers fall back to when the
/// backend lacks this interface (Adam's unfused step, <c>RecurrentLayer.Composite</c>). A new
/// backend can start without them and gain them one at a time, tested against the reference.
/// </summary>
internal interface IFusedKernels
{
    /// <summary>
    /// One Adam step fused into a single pass over contiguous tensors of one floating dtype,
    /// giving exactly the values of the sequence of tensor operations it replaces.
    /// </summary>
    void AdamUpdate(RawTensor param, RawTensor grad, RawTensor expAvg, RawTensor expAvgSq, RawTensor? maxExpAvgSq, AdamCoefficients c);

    /// <summary>
    /// dst += alpha·other with one rounding per element (a fused multiply-add, as libtorch's
    /// vectorised add(other, alpha)), over contiguous float32 or float64 tensors of one shape.
    /// </summary>
    void AddScaled(RawTensor dst, RawTensor other, double alpha);

    /// <summary>
    /// LeakyReLU of a float32 or float64 tensor in one pass (x where x &gt; 0, else slope·x; NaN
    /// stays NaN), and its backward grad·(x &gt; 0 ? 1 : slope) for grad and x of one shape.
    /// </summary>
    RawTensor LeakyRelu(RawTensor x, double slope);

    /// <inheritdoc cref="LeakyRelu"/>
    RawTensor LeakyReluBackward(RawTensor grad, RawTensor x, double slope);

    /// <summary>
    /// Hardswish of a float32 or float64 tensor in one pass, as libtorch computes it
    /// (x·min(max(x + 3, 0), 6)/6), and its backward (0 up to -3, grad·(x/3 + 1/2) strictly inside, grad from 3 on).
    /// </summary>
    RawTensor Hardswish(RawTensor x);

    /// <inheritdoc cref="Hardswish"/>
    RawTensor HardswishBackward(RawTensor grad, RawTensor x);

    /// <summary>
    /// softplus_β of a float32 or float64 tensor in one pass, (max(βx, 0) + log1p(e^(-|βx|)))/β and
    /// x itself where βx exceeds the threshold, and its backward grad·σ(βx) (grad above the threshold).
    /// </summary>
    RawTensor Softplus(RawTensor x, double beta, double threshold);

    /// <inheritdoc cref="Softplus"/>
    RawTensor SoftplusBackward(RawTensor grad, RawTensor x, double beta, double threshold);

    /// <summary>
    /// The ELU family of a float32 or float64 tensor in one pass: scale·x for x &gt; 0, else
    /// scale·α·(e^(x·inputScale) - 1) (ELU, SELU and CELU are its settings), and its backward
    /// (grad·scale above 0, grad·scale·α·inputScale·e^(x·inputScale) at and below it).
    /// </summary>
    RawTensor Elu(RawTensor x, double alpha, double scale, double inputScale);

    /// <inheritdoc cref="Elu"/>
    RawTensor EluBackward(RawTensor grad, RawTensor x, double alpha, double scale, double inputScale);

    /// <summary>SiLU, x·σ(x), of a float32 or float64 tensor in one pass, and its backward grad·σ(x)·(1 + x·(1 − σ(x))).</summary>
    RawTensor Silu(RawTensor x);

    /// <inheritdoc cref="Silu"/>
    RawTensor SiluBackward(RawTensor grad, RawTensor x);

    /// <summary>
    /// One direction of a recurrent layer over every step, in the packed layout: step t owns the
    /// batchSizes[t] rows after the earlier steps' rows of <paramref name="gi"/> (the input half of the
    /// gates, x·W_ihᵀ, [rows, gates·H]; plus <paramref name="biasIh"/>, when given, added to each row
    /// first), and only the first batchSizes[t] states take it.
    /// h0 (and c0 for the LSTM) are [N, H]; the recurrent half h·W_hhᵀ + b_hh is computed here, step
    /// by step, and the gates in one pass. With <paramref name="trace"/> it also keeps what
    /// <see cref="RecurrentBackward"/> needs.
    /// </summary>
    RecurrentTrace RecurrentForward(RecurrentKind kind, RawTensor gi, RawTensor h0, RawTensor? c0, RawTensor weightHh, RawTensor? biasHh, RawTensor? biasIh,
        int[] batchSizes, bool reverse, bool trace);

    /// <summary>
    /// Backpropagation through time for <see cref="RecurrentForward"/>: from the gradients of its
    /// outputs, the final h and the final c (each absent one zero), the gradients of gi, h0, c0, W_hh and b_hh (the weight's in one product over all steps),
    /// and of b_ih with <paramref name="withBiasIh"/> (the sum of gi's gradient over the rows).
    /// With <paramref name="overwriteGates"/> (the caller will not read the trace again) the LSTM's
    /// gate gradients are written over the trace's Gates, which becomes gi's gradient.
    /// </summary>
    RecurrentGradients RecurrentBackward(RecurrentKind kind, RecurrentTrace trace, RecurrentStateGradients gradStates, RawTensor weightHh,
        int[] batchSizes, bool reverse, bool withBiasIh, bool overwriteGates);

    /// <summary>
    /// softmax(scale·q·kᵀ + bias)·v for contiguous q [B, L, E], k [B, S, E], v [B, S, Ev] of one
    /// floating dtype, S ≥ 1, optionally under the causal mask (query i sees keys j ≤ i) and an
    /// additive bias (a mask: −∞ where a key is hidden), without forming the [L, S] weights: the
    /// output [B, L, Ev] and each query row's log Σ exp of its biased scores [B, L] (−∞, and a zero
    /// output row, where the bias hides every key), which is all <see cref="AttentionBackward"/>
    /// needs besides the inputs.
    /// </summary>
    AttentionResult AttentionForward(RawTensor q, RawTensor k, RawTensor v, bool causal, double scale, AttentionBias? bias);

    /// <summary>The gradients of q, k and v for <see cref="AttentionForward"/>, from the output's gradient [B, L, Ev] (contiguous).</summary>
    AttentionGradients AttentionBackward(RawTensor q, RawTensor k, RawTensor v, AttentionResult forward, RawTensor gradOutput, bool causal, double scale,
        AttentionBias? bias);

    /// <summary>
    /// A 2-D convolution (cross-correlation) of x [N, C, H, W] with weight [O, C/groups, kh, kw] (zero
    /// padding as the windows say), plus bias [O] when given: [N, O, oh, ow], as W·unfold(x) + b
    /// per group, without storing unfold's columns; a depthwise one (groups = C, weight
    /// [O, 1, kh, kw] with O a multiple of C) each output plane from its own input plane.
    /// </summary>
    RawTensor Conv2dForward(RawTensor x, RawTensor weight, RawTensor? bias, Windows2d windows, int groups);

    /// <summary>
    /// Batch normalisation with the batch's statistics of x [N, C, ...] (floating) over every dim
    /// but 1: y = (x − μ)/√(σ² + eps)·γ + β per channel (γ and β [C] optional, together).
    /// </summary>
    BatchNormStatistics BatchNormForward(RawTensor x, RawTensor? weight, RawTensor? bias, double eps);

    /// <summary>The gradients of <see cref="BatchNormForward"/> from the output's gradient: of x when <paramref name="input"/>, of γ and β when <paramref name="affine"/>.</summary>
    BatchNormGradients BatchNormBackward(RawTensor x, RawTensor? weight, BatchNormStatistics forward, RawTensor grad, bool input, bool affine);

    /// <summary>
    /// Cross-entropy of logits x [N, C] against class indices [N] (integers), per sample: the
    /// row's log-sum-exp less its target's logit, 0 where the target is <paramref name="ignoreIndex"/>.
    /// Also each row's log-sum-exp, for the backward. A target outside [0, C) is refused.
    /// </summary>
    (RawTensor Losses, RawTensor LogSumExp) CrossEntropyForward(RawTensor x, RawTensor target, int ignoreIndex);

    /// <summary>The gradient of <see cref="CrossEntropyForward"/>'s losses, g [N]: g_i·(softmax(x_i) − onehot(t_i)), zero rows where ignored.</summary>
    RawTensor CrossEntropyBackward(RawTensor x, RawTensor target, RawTensor logSumExp, RawTensor grad, int ignoreIndex);

    /// <summary>
    /// The gradient of softmax (or log-softmax) along dim from its output y and the output's
    /// gradient g (of y's shape): y·(g − Σ g·y) per line, or g − exp(y)·Σ g.
    /// </summary>
    RawTensor SoftmaxBackward(RawTensor y, RawTensor grad, int dim, bool log);

    /// <summary>
    /// Layer normalisation of x's rows of <paramref name="rowLength"/> contiguous values (the
    /// trailing normalized dims): y = (x − μ)/√(σ² + eps)·γ + β per row, γ and β (rowLength values,
    /// each optional) shared by every row.
    /// </summary>
    LayerNormStatistics LayerNormForward(RawTensor x, int rowLength, RawTensor? weight, RawTensor? bias, double eps);

    /// <summary>The gradients of <see cref="LayerNormForward"/> from the output's gradient: of x when <paramref name="input"/>, of γ and β when asked.</summary>
    LayerNormGradients LayerNormBackward(RawTensor x, int rowLength, RawTensor? weight, LayerNormStatistics forward, RawTensor grad,
        bool input, bool needWeight, bool needBias);

    /// <summary>The gradients asked for (of x, weight, bias) of <see cref="Conv2dForward"/>, from the output's gradient [N, O, oh, ow].</summary>
    ConvGradients Conv2dBackward(RawTensor x, RawTensor weight, RawTensor gradOutput, Windows2d windows, int groups, bool needInput, bool needWeight, bool needBias);
}

/// <summary>What <see cref="IFusedKernels.BatchNormForward"/> computed: the output, and per channel [C] the batch mean, biased variance and 1/√(variance + eps).</summary>
internal readonly record struct BatchNormStatistics(RawTensor Output, RawTensor Mean, RawTensor Variance, RawTensor InvStd);

/// <summary>What <see cref="IFusedKernels.LayerNormForward"/> computed: the output, and per row the mean and 1/√(variance + eps).</summary>
internal readonly record struct LayerNormStatistics(RawTensor Output, RawTensor Mean, RawTensor InvStd);

/// <summary>The gradients of <see cref="IFusedKernels.LayerNormBackward"/>: of x, and of γ and β; null where not asked for.</summary>
internal readonly record struct LayerNormGradients(RawTensor? Input, RawTensor? Weight, RawTensor? Bias);

/// <summary>The gradients of <see cref="IFusedKernels.BatchNormBackward"/>: of x, and of γ and β [C]; null where not asked for.</summary>
internal readonly record struct BatchNormGradients(RawTensor? Input, RawTensor? Weight, RawTensor? Bias);

/// <summary>The depthwise convolutions <see cref="IFusedKernels.Conv2dForward"/> runs by its direct kernel per plane.</summary>
internal static class Depthwise
{
    /// <summary>Most taps (kh·kw) of a fused depthwise kernel: the CPU kernel keeps each tap's vector and offset on the stack (40 KB at most).</summary>
    public const int MaxTaps = 1024;

    /// <summary>Whether groups = the input's channels, with one input channel per group, and at most <see cref="MaxTaps"/> taps.</summary>
    public static bool Covers(int channels, int channelsPerGroup, int kh, int kw, int groups) =>
        groups > 1 && channels == groups && channelsPerGroup == 1 && (long)kh * kw <= MaxTaps;
}

/// <summary>The gradients of <see cref="IFusedKernels.Conv2dBackward"/>: null where not asked for.</summary>
internal readonly record struct ConvGradients(RawTensor? Input, RawTensor? Weight, RawTensor? Bias);

/// <summary>What <see cref="IFusedKernels.AttentionForward"/> computed: the output [B, L, Ev] and the log-sum-exp of each query row's scores [B, L].</summary>
internal readonly record struct AttentionResult(RawTensor Output, RawTensor LogSumExp);

/// <summary>
/// An additive bias on attention's [B, L, S] scores, read where it lies: entry b's scores of query
/// row i and key j add Values' element BatchOffsets[b] + i·RowStride + j·ColumnStride (strides of
/// 0 where the bias is broadcast, as a padding mask over query rows), so a mask shared by heads or
/// rows is never copied out to [B, L, S]. Of the scores' dtype; −∞ hides a key.
/// </summary>
internal readonly record struct AttentionBias(RawTensor Values, int[] BatchOffsets, int RowStride, int ColumnStride)
{
    /// <summary>Where entry b's bias for query row i and key j lies in Values' array.</summary>
    public int At(int b, int i, int j) => BatchOffsets[b] + i * RowStride + j * ColumnStride;
}

/// <summary>The gradients of <see cref="IFusedKernels.AttentionBackward"/>: of q, k and v.</summary>
internal readonly record struct AttentionGradients(RawTensor Query, RawTensor Key, RawTensor Value);

/// <summary>
/// What <see cref="IFusedKernels.RecurrentForward"/> computed. States is [rows + N, H] ([rows + 2N, H] for
/// the LSTM): each row's output h, then the final h of every sequence, then the final c. The rest is
/// kept only when traced, for the backward: Gates holds the activated gates per row (LSTM i, f, g, o;
/// GRU r, z, n and W_hn·h + b_hn), Previous the state h each row started from, Cells (LSTM) the
/// c each row started from and tanh of the c it ended with.
/// </summary>
internal sealed record RecurrentTrace(RawTensor States, RawTensor? Gates, RawTensor? Previous, RawTensor? Cells);

/// <summary>The gradients that reach a recurrent layer's outputs [rows, H], final h [N, H] and final c [N, H] (LSTM); null where none does.</summary>
internal readonly record struct RecurrentStateGradients(RawTensor? Output, RawTensor? H, RawTensor? C)
{
    /// <summary>The dtype of the present ones.</summary>
    public DType DType => (Output ?? H ?? C)!.Value.DType;
}

/// <summary>The gradients of <see cref="IFusedKernels.RecurrentBackward"/>, one per input of the forward.</summary>
internal sealed record RecurrentGradients(RawTensor Input, RawTensor H0, RawTensor? C0, RawTensor WeightHh, RawTensor? BiasHh, RawTensor? BiasIh);

/// <summary>The scalars of one Adam step (see <see cref="IFusedKernels.AdamUpdate"/>).</summary>
internal readonly record struct AdamCoefficients(
    double Lr, double Beta1, double Beta2, double Eps, double WeightDecay, bool Decoupled, bool Maximize,
    double BiasCorrection1, double BiasCorrection2Sqrt);
