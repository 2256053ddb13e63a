using MetaGrad.NN;

namespace MetaGrad.Backends;

/// <summary>
/// The narrow dtypes (Float16, BFloat16, UInt8, Int8, Int16, UInt16) in front of a backend whose kernels
/// compute only in Float32, Float64, Int64 and Int32. Every kernel entry decides here, once, what a
/// narrow operand gets: data movement passes through untouched (the backend stores every dtype);
/// arithmetic runs in the wider dtype and the result is rounded back to the narrow one, as PyTorch
/// computes half and bfloat16 in float on the CPU and wraps small integers modulo their width;
/// and the fused and LAPACK-style kernels refuse, naming the operation and the dtype.
/// </summary>
internal sealed class WideningBackend(IBackend inner) : IBackend, IFusedKernels
{
    readonly IFusedKernels _fused = (IFusedKernels)inner;

    RawTensor Widen(RawTensor x)
    {
        if (!x.DType.IsNarrow()) return x;
        var wide = inner.Cast(x, x.DType.ComputeDType());
        var ring = t_widened ??= new Storage?[WidenedKept];
        t_nextWidened = (t_nextWidened + 1) % WidenedKept;
        ring[t_nextWidened] = wide.Storage;
        return wide;
    }

    // The widened temporaries of the last few calls on this thread, kept reachable. A kernel reads
    // an operand's array after its last use of the operand itself, and a collection in between
    // could hand the temporary's pooled array to the next Rent (another thread's, or the kernel's
    // own) while it is still read (see DenseRun). A call widens at most three operands and the
    // kernels never call back into this class, so a ring of eight covers every call in flight; the
    // price is a few temporaries kept a few calls longer.
    const int WidenedKept = 8;
    [ThreadStatic] static Storage?[]? t_widened;
    [ThreadStatic] static int t_nextWidened;
    RawTensor? Widen(RawTensor? x) => x is { } v ? Widen(v) : default(RawTensor?);
    RawTensor Narrow(RawTensor y, DType dtype) => y.DType == dtype ? y : inner.Cast(y, dtype);

    // Operands of one narrow dtype; operands of different dtypes go to the backend as they are, to
    // be refused there as the bug they are (the public API casts both to the promoted dtype first).
    static bool BothNarrow(RawTensor a, RawTensor b) => a.DType.IsNarrow() && a.DType == b.DType;

    static bool AnyNarrow(RawTensor a, RawTensor? b = null, RawTensor? c = null) =>
        a.DType.IsNarrow() || b is { } vb && vb.DType.IsNarrow() || c is { } vc && vc.DType.IsNarrow();

    // Kernels with only floating forms: a small integer is refused with its own name (widened to
    // Int64 the backend's message would name the wrong dtype).
    static void RequireFloating(string op, RawTensor x)
    {
        if (x.DType.IsNarrow() && x.DType.IsInteger())
            throw new ArgumentException($"{op}: expected a floating tensor, got {x.DType}");
    }

    static NotSupportedException Refused(string op, DType dtype) =>
        new($"{op}: {dtype} is not supported by the CPU's fused kernel; convert with .Float() (module.Float() for a module) first");

    // Storage and data movement: every dtype, as it is.
    public RawTensor Empty(int[] shape, DType dtype) => inner.Empty(shape, dtype);
    public RawTensor FromArray<T>(T[] data, int[] shape) where T : unmanaged => inner.FromArray(data, shape);
    public T[] ToArray<T>(RawTensor x) where T : unmanaged => inner.ToArray<T>(x);
    public void Copy(RawTensor dst, RawTensor src) => inner.Copy(dst, src);
    public RawTensor Clone(RawTensor x) => inner.Clone(x);
    public void Fill(RawTensor dst, double value) => inner.Fill(dst, value);
    public RawTensor Cast(RawTensor x, DType dtype) => inner.Cast(x, dtype);
    public RawTensor Arange(double start, double end, double step, DType dtype) => inner.Arange(start, end, step, dtype);
    public RawTensor Logical(LogicalOp op, RawTensor a, RawTensor b) => inner.Logical(op, a, b);
    public RawTensor LogicalNot(RawTensor x) => inner.LogicalNot(x);
    public RawTensor Where(RawTensor cond, RawTensor a, RawTensor b) => inner.Where(cond, a, b);
    public RawTensor Gather(RawTensor x, int dim, RawTensor index) => inner.Gather(x, dim, index);
    public RawTensor IndexSelect(RawTensor x, int dim, RawTensor index) => inner.IndexSelect(x, dim, index);
    public RawTensor MaskedSelect(RawTensor x, RawTensor mask) => inner.MaskedSelect(x, mask);
    public RawTensor MaskedScatter(RawTensor self, RawTensor mask, RawTensor src) => inner.MaskedScatter(self, mask, src);
    public RawTensor Nonzero(RawTensor x) => inner.Nonzero(x);
    public RawTensor Cat(RawTensor[] xs, int dim) => inner.Cat(xs, dim);

    // Random draws are made in double and converted on the way in, whatever the dtype.
    public void FillUniform(RawTensor dst, Generator gen, double lo, double hi) => inner.FillUniform(dst, gen, lo, hi);
    public void FillNormal(RawTensor dst, Generator gen, double mean, double std) => inner.FillNormal(dst, gen, mean, std);
    public void FillRandInt(RawTensor dst, Generator gen, long lo, long hi) => inner.FillRandInt(dst, gen, lo, hi);
    public RawTensor Multinomial(RawTensor probs, int samples, bool replacement, Generator gen) => inner.Multinomial(probs, samples, replacement, gen);
    public RawTensor Bernoulli(RawTensor probs, Generator gen) => inner.Bernoulli(probs, gen);
    public RawTensor Poisson(RawTensor rates, Generator gen) => inner.Poisson(rates, gen);

    public RawTensor Randperm(int n, DType dtype, Generator gen)
    {
        // PyTorch's bound: every value 0..n-1 must be exact in the dtype.
        long limit = dtype switch
        {
            DType.UInt8 => 256, DType.Int8 => 128, DType.Int16 => 32768, DType.UInt16 => 65536,
            DType.Float16 => 2048, DType.BFloat16 => 256,
            _ => long.MaxValue,
        };
        if (n > limit) throw new ArgumentException($"Randperm: n={n} is too large for result dtype {dtype}");
        return inner.Randperm(n, dtype, gen);
    }

    // Elementwise arithmetic: computed wide, rounded (or wrapped) back.
    public RawTensor Unary(UnaryOp op, RawTensor x) =>
        x.DType.IsNarrow() ? Narrow(inner.Unary(op, Widen(x)), x.DType) : inner.Unary(op, x);

    public RawTensor Binary(BinaryOp op, RawTensor a, RawTensor b) =>
        !BothNarrow(a, b) ? inner.Binary(op, a, b)
        : (inner as Cpu.CpuBackend)?.TryNarrowFloatBinary(op, a, b) ?? Narrow(inner.Binary(op, Widen(a), Widen(b)), a.DType);

    public void BinaryInPlace(BinaryOp op, RawTensor dst, RawTensor other)
    {
        if (!BothNarrow(dst, other)) { inner.BinaryInPlace(op, dst, other); return; }
        if (!dst.Layout.IsContiguous) throw new ArgumentException($"{op}: an in-place kernel needs a contiguous destination");
        ShapeMath.Broadcast(op.ToString(), dst.Layout.Shape, other.Layout.Shape);
        inner.Copy(dst, inner.Binary(op, Widen(dst), Widen(other)));
    }

    public RawTensor Compare(CompareOp op, RawTensor a, RawTensor b) =>
        BothNarrow(a, b) ? inner.Compare(op, Widen(a), Widen(b)) : inner.Compare(op, a, b);

    public RawTensor Clamp(RawTensor x, double? lo, double? hi) =>
        x.DType.IsNarrow() ? Narrow(inner.Clamp(Widen(x), lo, hi), x.DType) : inner.Clamp(x, lo, hi);

    public RawTensor UnaryMath(MathOp op, RawTensor x)
    {
        RequireFloating(op.ToString(), x);
        return x.DType.IsNarrow() ? Narrow(inner.UnaryMath(op, Widen(x)), x.DType) : inner.UnaryMath(op, x);
    }

    public RawTensor BinaryMath(MathBinaryOp op, RawTensor a, RawTensor b) =>
        BothNarrow(a, b) ? Narrow(inner.BinaryMath(op, Widen(a), Widen(b)), a.DType) : inner.BinaryMath(op, a, b);

    public RawTensor Classify(FloatClass c, RawTensor x)
    {
        RequireFloating($"Is{c}", x);
        return inner.Classify(c, Widen(x));
    }

    public RawTensor RoundDecimals(RawTensor x, int decimals)
    {
        RequireFloating("Round", x);
        return x.DType.IsNarrow() ? Narrow(inner.RoundDecimals(Widen(x), decimals), x.DType) : inner.RoundDecimals(x, decimals);
    }

    // Reductions accumulate wide (PyTorch's acc_type: float for half, int64 for integers). Integer
    // sums and products stay Int64, as PyTorch's do; extremes come back in the input's dtype.
    public RawTensor Reduce(ReduceOp op, RawTensor x, int[] dims)
    {
        if (!x.DType.IsNarrow()) return inner.Reduce(op, x, dims);
        var y = inner.Reduce(op, Widen(x), dims);
        return x.DType.IsInteger() && op is ReduceOp.Sum or ReduceOp.Prod ? y : Narrow(y, x.DType);
    }

    public RawTensor ArgReduce(RawTensor x, int dim, bool max) => inner.ArgReduce(Widen(x), dim, max);

    public RawTensor TopKIndices(RawTensor x, int dim, int k, bool largest) => inner.TopKIndices(x.DType.IsNarrow() ? Widen(x) : x, dim, k, largest);

    public (RawTensor Values, RawTensor Indices) Sort(RawTensor x, int dim, bool descending)
    {
        if (!x.DType.IsNarrow()) return inner.Sort(x, dim, descending);
        var (values, indices) = inner.Sort(Widen(x), dim, descending);
        return (Narrow(values, x.DType), indices);
    }

    // Integer scans give Int64, as PyTorch's cumsum and cumprod do.
    public RawTensor Scan(ScanOp op, RawTensor x, int dim)
    {
        if (op == ScanOp.LogSumExp) RequireFloating("Logcumsumexp", x);
        if (!x.DType.IsNarrow()) return inner.Scan(op, x, dim);
        var y = inner.Scan(op, Widen(x), dim);
        return x.DType.IsInteger() ? y : Narrow(y, x.DType);
    }

    public RawTensor ModeIndices(RawTensor x, int dim) => inner.ModeIndices(Widen(x), dim);

    public (RawTensor Values, RawTensor Inverse, RawTensor Counts) Unique(RawTensor x)
    {
        if (!x.DType.IsNarrow()) return inner.Unique(x);
        var (values, inverse, counts) = inner.Unique(Widen(x));
        return (Narrow(values, x.DType), inverse, counts);
    }

    public (RawTensor First, RawTensor Inverse, RawTensor Counts) UniqueRows(RawTensor rows) => inner.UniqueRows(Widen(rows));

    // Integer bins are read through Int64; weights other than Float32 sum in Float64, as in PyTorch.
    public RawTensor Bincount(RawTensor x, RawTensor? weights, int length) => inner.Bincount(x, weights, length);

    public RawTensor Histc(RawTensor x, int bins, double min, double max)
    {
        RequireFloating("Histc", x);
        return x.DType.IsNarrow() ? Narrow(inner.Histc(Widen(x), bins, min, max), x.DType) : inner.Histc(x, bins, min, max);
    }

    public RawTensor Softmax(RawTensor x, int dim, bool log, bool zeroEmptyRows = false)
    {
        RequireFloating(log ? "LogSoftmax" : "Softmax", x);
        return x.DType.IsNarrow() ? Narrow(inner.Softmax(Widen(x), dim, log, zeroEmptyRows), x.DType) : inner.Softmax(x, dim, log, zeroEmptyRows);
    }

    // Products accumulate in the wide dtype (float GEMM for half and bfloat16) and round once per element.
    public RawTensor Matmul(RawTensor a, RawTensor b) =>
        BothNarrow(a, b) ? Narrow(inner.Matmul(Widen(a), Widen(b)), a.DType) : inner.Matmul(a, b);

    public RawTensor Linear(RawTensor input, RawTensor weight, RawTensor? bias)
    {
        if (!AnyNarrow(input, weight, bias)) return inner.Linear(input, weight, bias);
        RequireFloating("Linear", input);
        return Narrow(inner.Linear(Widen(input), Widen(weight), Widen(bias)), input.DType);
    }

    // Accumulating writes add in the wide dtype: a narrow destination is widened, updated and written back.
    public RawTensor ScatterAdd(RawTensor self, int dim, RawTensor index, RawTensor src) =>
        AnyNarrow(self, src) ? Narrow(inner.ScatterAdd(Widen(self), dim, index, Widen(src)), self.DType) : inner.ScatterAdd(self, dim, index, src);

    public RawTensor IndexAdd(RawTensor self, int dim, RawTensor index, RawTensor src) =>
        AnyNarrow(self, src) ? Narrow(inner.IndexAdd(Widen(self), dim, index, Widen(src)), self.DType) : inner.IndexAdd(self, dim, index, src);

    public RawTensor PutReduce(RawTensor self, RawTensor positions, RawTensor values, ScatterReduction reduce, bool includeSelf) =>
        AnyNarrow(self, values)
            ? Narrow(inner.PutReduce(Widen(self), positions, Widen(values), reduce, includeSelf), self.DType)
            : inner.PutReduce(self, positions, values, reduce, includeSelf);

    public void Put(RawTensor dst, RawTensor positions, RawTensor values, bool accumulate)
    {
        if (!accumulate || !AnyNarrow(dst, values)) { inner.Put(dst, positions, values, accumulate); return; }
        var wide = Widen(dst);   // a contiguous copy in dst's shape, so positions mean the same there
        inner.Put(wide, positions, Widen(values), accumulate: true);
        inner.Copy(dst, wide);
    }

    // Windows of an image: exact in the wide dtype, and Col2Im's overlapping sums accumulate there.
    public RawTensor Im2Col(RawTensor x, Windows2d windows)
    {
        RequireFloating("Unfold", x);
        return x.DType.IsNarrow() ? Narrow(inner.Im2Col(Widen(x), windows), x.DType) : inner.Im2Col(x, windows);
    }

    public RawTensor Col2Im(RawTensor cols, int height, int width, Windows2d windows)
    {
        RequireFloating("Fold", cols);
        return cols.DType.IsNarrow() ? Narrow(inner.Col2Im(Widen(cols), height, width, windows), cols.DType) : inner.Col2Im(cols, height, width, windows);
    }

    public (RawTensor Indices, bool AnyEmpty) MaxPoolIndices(RawTensor x, Windows2d windows, int outH, int outW)
    {
        RequireFloating("MaxPool2d", x);
        return inner.MaxPoolIndices(Widen(x), windows, outH, outW);
    }

    // Factorizations: PyTorch's CPU LAPACK kernels take float32 and float64 only.
    static RawTensor Factorizable(string op, RawTensor a) =>
        a.DType.IsNarrow() ? throw new NotSupportedException($"{op}: {a.DType} is not supported by the CPU's linear-algebra kernels (as in PyTorch); convert with .Float() first") : a;

    public (RawTensor Diagonal, RawTensor Sign) LuDiagonal(RawTensor a) => inner.LuDiagonal(Factorizable("Lu", a));
    public (RawTensor X, int[] Info) LuSolve(RawTensor a, RawTensor? b) => inner.LuSolve(Factorizable("LuSolve", a), b is { } v ? Factorizable("LuSolve", v) : default(RawTensor?));
    public (RawTensor LU, RawTensor Pivots, int[] Info) LuFactor(RawTensor a) => inner.LuFactor(Factorizable("LuFactor", a));
    public (RawTensor L, int[] Info) Cholesky(RawTensor a) => inner.Cholesky(Factorizable("Cholesky", a));
    public (RawTensor Q, RawTensor R) Qr(RawTensor a, bool complete) => inner.Qr(Factorizable("Qr", a), complete);
    public (RawTensor Values, RawTensor Vectors) Eigh(RawTensor a) => inner.Eigh(Factorizable("Eigh", a));
    public (RawTensor U, RawTensor S, RawTensor Vh) Svd(RawTensor a) => inner.Svd(Factorizable("Svd", a));

    // Fused kernels: refused, except Adam's update, which runs on wide copies written back.
    public void AddScaled(RawTensor dst, RawTensor other, double alpha)
    {
        if (AnyNarrow(dst, other)) throw new NotSupportedException($"AddScaled: {dst.DType} has no fused kernel; the caller takes the tensor operations");
        _fused.AddScaled(dst, other, alpha);
    }

    public RawTensor LeakyRelu(RawTensor x, double slope)
    {
        if (AnyNarrow(x)) throw new NotSupportedException($"LeakyRelu: {x.DType} has no fused kernel; the caller takes the tensor operations");
        return _fused.LeakyRelu(x, slope);
    }

    public RawTensor LeakyReluBackward(RawTensor grad, RawTensor x, double slope)
    {
        if (AnyNarrow(grad, x)) throw new NotSupportedException($"LeakyReluBackward: {x.DType} has no fused kernel; the caller takes the tensor operations");
        return _fused.LeakyReluBackward(grad, x, slope);
    }

    public RawTensor Hardswish(RawTensor x)
    {
        if (AnyNarrow(x)) throw new NotSupportedException($"Hardswish: {x.DType} has no fused kernel; the caller takes the tensor operations");
        return _fused.Hardswish(x);
    }

    public RawTensor HardswishBackward(RawTensor grad, RawTensor x)
    {
        if (AnyNarrow(grad, x)) throw new NotSupportedException($"HardswishBackward: {x.DType} has no fused kernel; the caller takes the tensor operations");
        return _fused.HardswishBackward(grad, x);
    }

    public RawTensor Softplus(RawTensor x, double beta, double threshold)
    {
        if (AnyNarrow(x)) throw new NotSupportedException($"Softplus: {x.DType} has no fused kernel; the caller takes the tensor operations");
        return _fused.Softplus(x, beta, threshold);
    }

    public RawTensor SoftplusBackward(RawTensor grad, RawTensor x, double beta, double threshold)
    {
        if (AnyNarrow(grad, x)) throw new NotSupportedException($"SoftplusBackward: {x.DType} has no fused kernel; the caller takes the tensor operations");
        return _fused.SoftplusBackward(grad, x, beta, threshold);
    }

    public RawTensor Elu(RawTensor x, double alpha, double scale, double inputScale)
    {
        if (AnyNarrow(x)) throw new NotSupportedException($"Elu: {x.DType} has no fused kernel; the caller takes the tensor operations");
        return _fused.Elu(x, alpha, scale, inputScale);
    }

    public RawTensor EluBackward(RawTensor grad, RawTensor x, double alpha, double scale, double inputScale)
    {
        if (AnyNarrow(grad, x)) throw new NotSupportedException($"EluBackward: {x.DType} has no fused kernel; the caller takes the tensor operations");
        return _fused.EluBackward(grad, x, alpha, scale, inputScale);
    }

    public RawTensor Silu(RawTensor x)
    {
        if (AnyNarrow(x)) throw new NotSupportedException($"Silu: {x.DType} has no fused kernel; the caller takes the tensor operations");
        return _fused.Silu(x);
    }

    public RawTensor SiluBackward(RawTensor grad, RawTensor x)
    {
        if (AnyNarrow(grad, x)) throw new NotSupportedException($"SiluBackward: {x.DType} has no fused kernel; the caller takes the tensor operations");
        return _fused.SiluBackward(grad, x);
    }

    public void AdamUpdate(RawTensor param, RawTensor grad, RawTensor expAvg, RawTensor expAvgSq, RawTensor? maxExpAvgSq, AdamCoefficients c)
    {
        if (!AnyNarrow(param, grad, expAvg) && !AnyNarrow(expAvgSq, maxExpAvgSq))
        {
            _fused.AdamUpdate(param, grad, expAvg, expAvgSq, maxExpAvgSq, c);
            return;
        }
        var (p, m, v, vMax) = (Widen(param), Widen(expAvg), Widen(expAvgSq), Widen(maxExpAvgSq));
        _fused.AdamUpdate(p, Widen(grad), m, v, vMax, c);
        if (param.DType.IsNarrow()) inner.Copy(param, p);
        if (expAvg.DType.IsNarrow()) inner.Copy(expAvg, m);
        if (expAvgSq.DType.IsNarrow()) inner.Copy(expAvgSq, v);
        if (maxExpAvgSq is { } max && max.DType.IsNarrow()) inner.Copy(max, vMax!.Value);
    }

    public RecurrentTrace RecurrentForward(RecurrentKind kind, RawTensor gi, RawTensor h0, RawTensor? c0, RawTensor weightHh, RawTensor? biasHh, RawTensor? biasIh,
        int[] batchSizes, bool reverse, bool trace) =>
        gi.DType.IsNarrow() ? throw Refused(kind.ToString(), gi.DType)
            : _fused.RecurrentForward(kind, gi, h0, c0, weightHh, biasHh, biasIh, batchSizes, reverse, trace);

    public RecurrentGradients RecurrentBackward(RecurrentKind kind, RecurrentTrace trace, RecurrentStateGradients gradStates, RawTensor weightHh,
        int[] batchSizes, bool reverse, bool withBiasIh, bool overwriteGates) =>
        gradStates.DType.IsNarrow() ? throw Refused(kind.ToString(), gradStates.DType)
            : _fused.RecurrentBackward(kind, trace, gradStates, weightHh, batchSizes, reverse, withBiasIh, overwriteGates);

    public AttentionResult AttentionForward(RawTensor q, RawTensor k, RawTensor v, bool causal, double scale, AttentionBias? bias) =>
        AnyNarrow(q, k, v) ? throw Refused("ScaledDotProductAttention", q.DType) : _fused.AttentionForward(q, k, v, causal, scale, bias);

    public AttentionGradients AttentionBackward(RawTensor q, RawTensor k, RawTensor v, AttentionResult forward, RawTensor gradOutput, bool causal, double scale,
        AttentionBias? bias) =>
        AnyNarrow(q, k, v) ? throw Refused("ScaledDotProductAttention", q.DType) : _fused.AttentionBackward(q, k, v, forward, gradOutput, causal, scale, bias);

    public RawTensor Conv2dForward(RawTensor x, RawTensor weight, RawTensor? bias, Windows2d windows, int groups) =>
        AnyNarrow(x, weight, bias) ? throw Refused("Conv2d", x.DType) : _fused.Conv2dForward(x, weight, bias, windows, groups);

    public ConvGradients Conv2dBackward(RawTensor x, RawTensor weight, RawTensor gradOutput, Windows2d windows, int groups, bool needInput, bool needWeight, bool needBias) =>
        AnyNarrow(x, weight, gradOutput) ? throw Refused("Conv2d", x.DType) : _fused.Conv2dBackward(x, weight, gradOutput, windows, groups, needInput, needWeight, needBias);

    public BatchNormStatistics BatchNormForward(RawTensor x, RawTensor? weight, RawTensor? bias, double eps) =>
        AnyNarrow(x, weight, bias) ? throw Refused("BatchNorm", x.DType) : _fused.BatchNormForward(x, weight, bias, eps);

    public BatchNormGradients BatchNormBackward(RawTensor x, RawTensor? weight, BatchNormStatistics forward, RawTensor grad, bool input, bool affine) =>
        AnyNarrow(x, weight, grad) ? throw Refused("BatchNorm", x.DType) : _fused.BatchNormBackward(x, weight, forward, grad, input, affine);

    public LayerNormStatistics LayerNormForward(RawTensor x, int rowLength, RawTensor? weight, RawTensor? bias, double eps) =>
        AnyNarrow(x, weight, bias) ? throw Refused("LayerNorm", x.DType) : _fused.LayerNormForward(x, rowLength, weight, bias, eps);

    public LayerNormGradients LayerNormBackward(RawTensor x, int rowLength, RawTensor? weight, LayerNormStatistics forward, RawTensor grad,
        bool input, bool needWeight, bool needBias) =>
        AnyNarrow(x, weight, grad) ? throw Refused("LayerNorm", x.DType) : _fused.LayerNormBackward(x, rowLength, weight, forward, grad, input, needWeight, needBias);

    public RawTensor SoftmaxBackward(RawTensor y, RawTensor grad, int dim, bool log) =>
        AnyNarrow(y, grad) ? throw Refused(log ? "LogSoftmax" : "Softmax", y.DType) : _fused.SoftmaxBackward(y, grad, dim, log);

    public (RawTensor Losses, RawTensor LogSumExp) CrossEntropyForward(RawTensor x, RawTensor target, int ignoreIndex) =>
        AnyNarrow(x) ? throw Refused("CrossEntropy", x.DType) : _fused.CrossEntropyForward(x, target, ignoreIndex);

    public RawTensor CrossEntropyBackward(RawTensor x, RawTensor target, RawTensor logSumExp, RawTensor grad, int ignoreIndex) =>
        AnyNarrow(x, grad) ? throw Refused("CrossEntropy", x.DType) : _fused.CrossEntropyBackward(x, target, logSumExp, grad, ignoreIndex);
}
