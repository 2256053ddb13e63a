using System.Numerics;

namespace MetaGrad.Backends.Cpu;

// Running reductions along one dim: cumsum, cumprod, logcumsumexp.
internal sealed partial class CpuBackend
{
    public RawTensor Scan(ScanOp op, RawTensor x, int dim)
    {
        if (op == ScanOp.LogSumExp && x.DType is not (DType.Float32 or DType.Float64))
            throw new ArgumentException($"Logcumsumexp: expected a floating point input, got {x.DType}");
        return x.DType switch
        {
            // Float32 runs accumulate in double, as PyTorch's CPU scans do, then round once per element.
            DType.Float32 => Cast(ScanTyped<double>(op, Cast(x, DType.Float64), dim), DType.Float32),
            DType.Float64 => ScanTyped<double>(op, x, dim),
            // Integer and Bool running sums and products give Int64, as in PyTorch.
            DType.Int64 or DType.Int32 or DType.Bool => ScanTyped<long>(op, x.DType == DType.Int64 ? x : Cast(x, DType.Int64), dim),
            _ => throw NotComputed(op.ToString(), x.DType),
        };
    }

    static RawTensor ScanTyped<T>(ScanOp op, RawTensor x, int dim) where T : unmanaged, INumber<T>
    {
        var shape = x.Layout.Shape;
        var y = New<T>(shape);
        if (x.Numel == 0) return y;
        if (shape.Length == 0)
        {
            Data<T>(y)[0] = Data<T>(x)[x.Layout.Offset];   // a 0-d tensor is its own running reduction
            return y;
        }
        var X = Data<T>(x);
        var Y = Data<T>(y);
        int size = shape[dim], sx = x.Layout.Strides[dim], sy = y.Layout.Strides[dim];
        ForEachLine(shape, dim, [StridedWalk.Of(x), StridedWalk.Of(y)], off =>
        {
            T acc = X[off[0]];
            Y[off[1]] = acc;
            for (int k = 1; k < size; k++)
            {
                T v = X[off[0] + k * sx];
                acc = op switch
                {
                    ScanOp.Sum => acc + v,
                    ScanOp.Prod => acc * v,
                    _ => LogAddExp(acc, v),
                };
                Y[off[1] + k * sy] = acc;
            }
        });
        return y;
    }

    // log(e^a + e^b) without overflow: the larger exponent factored out. Two -inf give -inf (not
    // NaN from -inf - -inf); +inf wins; NaN propagates.
    static T LogAddExp<T>(T a, T b) where T : INumber<T>
    {
        double da = double.CreateTruncating(a), db = double.CreateTruncating(b);
        if (double.IsNaN(da) || double.IsNaN(db)) return T.CreateTruncating(double.NaN);
        double m = Math.Max(da, db);
        if (double.IsInfinity(m)) return T.CreateTruncating(m);
        return T.CreateTruncating(m + double.LogP1(Math.Exp(-Math.Abs(da - db))));
    }
}
