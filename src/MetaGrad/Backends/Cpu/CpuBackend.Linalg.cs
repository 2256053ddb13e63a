using System.Numerics;

namespace MetaGrad.Backends.Cpu;

internal sealed partial class CpuBackend
{
    public RawTensor Matmul(RawTensor a, RawTensor b)
    {
        RequireSameDType("Matmul", a, b);
        return a.DType switch
        {
            DType.Float32 => MatmulTyped<float>(a, b, reference: false),
            DType.Float64 => MatmulTyped<double>(a, b, reference: false),
            DType.Int64 => MatmulTyped<long>(a, b, reference: true),
            DType.Int32 => MatmulTyped<int>(a, b, reference: true),
            DType.Bool => throw new ArgumentException("Matmul: not supported for Bool tensors"),
            _ => throw NotComputed("Matmul", a.DType),
        };
    }

    /// <summary>The plain triple loop that the blocked GEMM is tested against.</summary>
    public RawTensor Linear(RawTensor input, RawTensor weight, RawTensor? bias) => input.DType switch
    {
        DType.Float32 => LinearTyped<float>(input, weight, bias),
        DType.Float64 => LinearTyped<double>(input, weight, bias),
        _ => throw new ArgumentException($"Linear: expected a float32 or float64 input, got {input.DType}"),
    };

    static RawTensor LinearTyped<T>(RawTensor x, RawTensor w, RawTensor? b) where T : unmanaged
    {
        int m = x.Layout.Shape[0], k = x.Layout.Shape[1], n = w.Layout.Shape[0];
        var y = NewUninitialized<T>([m, n]);
        using var biasRun = Dense<T>(b);
        var (bias, biasAt) = (biasRun.Array, biasRun.Offset);
        // The weight is read as Bᵀ through its strides: packing takes care of the layout.
        Gemm.Multiply(m, n, k, StridedMatrix.Of(Data<T>(x), x.Layout.Offset, x.Layout.Strides[0], x.Layout.Strides[1]),
            StridedMatrix.Of(Data<T>(w), w.Layout.Offset, w.Layout.Strides[1], w.Layout.Strides[0]), Data<T>(y), 0, bias: bias, biasOff: biasAt);
        return y;
    }

    /// <summary>
    /// From this many multiply-adds in all a batch of products is shared between the threads,
    /// whole products each: a small model's hundreds of per-head products, each too small to split,
    /// ran on one thread below 160³ (bench/results/TUNING.md).
    /// </summary>
    const long AcrossBatchWork = 64 * 64 * 64;

    /// <summary>
    /// Whether a batch of products runs as whole products per thread rather than one after another,
    /// each split between the threads: when there is work enough for the threads in all, the batch
    /// divides evenly among them (or is long enough that an uneven share hardly matters), and no
    /// product is so large that splitting its columns for the whole product pays (Gemm.ColumnSplit).
    /// </summary>
    static bool AcrossBatch(int count, long work)
    {
        int threads = Threading.NumThreads;
        return threads > 1 && count >= threads && work * count >= AcrossBatchWork && work < 256L * 1024 * 1024
            && (count % threads == 0 || count >= 4 * threads);
    }

    internal static RawTensor MatmulReference(RawTensor a, RawTensor b) => a.DType == DType.Float32
        ? MatmulTyped<float>(a, b, reference: true)
        : MatmulTyped<double>(a, b, reference: true);

    static RawTensor MatmulTyped<T>(RawTensor a, RawTensor b, bool reference) where T : unmanaged, INumber<T>
    {
        var sa = a.Layout.Shape;
        var sb = b.Layout.Shape;
        int n = sa[^2], k = sa[^1], m = sb[^1];
        var batch = ShapeMath.Broadcast("Matmul", sa[..^2], sb[..^2]);
        // The blocked GEMM writes every element; the reference loop accumulates into zeros.
        var y = reference ? New<T>([.. batch, n, m]) : NewUninitialized<T>([.. batch, n, m]);
        var Y = Data<T>(y);
        var A = Data<T>(a);
        var B = Data<T>(b);
        // Batch offsets of each operand through broadcasting; matrices are read through their own strides.
        var aBatch = new Layout(sa[..^2], a.Layout.Strides[..^2], a.Layout.Offset).Expand(batch);
        var bBatch = new Layout(sb[..^2], b.Layout.Strides[..^2], b.Layout.Offset).Expand(batch);
        var pa = Positions(batch, (aBatch.Strides, aBatch.Offset));
        var pb = Positions(batch, (bBatch.Strides, bBatch.Offset));
        int ar = a.Layout.Strides[^2], ac = a.Layout.Strides[^1], br = b.Layout.Strides[^2], bc = b.Layout.Strides[^1];
        if (!reference && AcrossBatch(pa.Length, (long)n * m * k))
        {
            // Whole products per thread: a convolution's per-sample products (im2col) each split
            // between the threads spent a hand-off per K slice on each, and LeNet's, too small to
            // split, ran on one thread only.
            int parts = Threading.NumThreads;
            Threading.For(parts, part =>
            {
                for (int t = part * pa.Length / parts; t < (part + 1) * pa.Length / parts; t++)
                    Gemm.Multiply(n, m, k, StridedMatrix.Of(A, pa[t], ar, ac), StridedMatrix.Of(B, pb[t], br, bc), Y, t * n * m, parallel: false);
            });
            return y;
        }
        for (int t = 0; t < pa.Length; t++)
        {
            int yo = t * n * m;
            if (!reference)
            {
                Gemm.Multiply(n, m, k, StridedMatrix.Of(A, pa[t], ar, ac), StridedMatrix.Of(B, pb[t], br, bc), Y, yo);
                continue;
            }
            // i-p-j order: the innermost loop streams a row of b and a row of the output.
            for (int i = 0; i < n; i++)
                for (int p = 0; p < k; p++)
                {
                    T aip = A[pa[t] + i * ar + p * ac];
                    int bo = pb[t] + p * br, ro = yo + i * m;
                    for (int j = 0; j < m; j++) Y[ro + j] += aip * B[bo + j * bc];
                }
        }
        return y;
    }
}
