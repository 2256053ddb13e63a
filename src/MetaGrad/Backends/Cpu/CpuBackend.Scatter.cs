using System.Numerics;

namespace MetaGrad.Backends.Cpu;

internal sealed partial class CpuBackend
{
    public RawTensor PutReduce(RawTensor self, RawTensor positions, RawTensor values, ScatterReduction reduce, bool includeSelf) => self.DType switch
    {
        DType.Float32 => PutReduce<float>(self, positions, values, reduce, includeSelf),
        DType.Float64 => PutReduce<double>(self, positions, values, reduce, includeSelf),
        DType.Int64 => PutReduce<long>(self, positions, values, reduce, includeSelf),
        DType.Int32 => PutReduce<int>(self, positions, values, reduce, includeSelf),
        _ => throw new ArgumentException($"ScatterReduce: not supported for {self.DType} tensors"),
    };

    static RawTensor PutReduce<T>(RawTensor self, RawTensor positions, RawTensor values, ScatterReduction reduce, bool includeSelf)
        where T : unmanaged, INumber<T>
    {
        var at = IndexData(positions, "ScatterReduce");
        var v = Instance.ToArray<T>(values);
        if (v.Length != at.Length)
            throw new ArgumentException($"ScatterReduce: {v.Length} values for {at.Length} positions");
        var y = Contiguous(self);
        var Y = Data<T>(y);
        int n = y.Numel;
        var landed = new int[n];   // how many values have landed on each element
        for (int k = 0; k < at.Length; k++)
        {
            int p = at[k];
            if ((uint)p >= (uint)n) CheckIndex("ScatterReduce", p, n, 0);
            T value = v[k];
            // Without includeSelf the first value to land replaces self's.
            if (landed[p]++ == 0 && !includeSelf) { Y[p] = value; continue; }
            Y[p] = reduce switch
            {
                ScatterReduction.Prod => Y[p] * value,
                // NaN wins, as in PyTorch: a comparison with NaN is false, so it must be asked for.
                ScatterReduction.Amax => T.IsNaN(value) || value > Y[p] ? value : Y[p],
                ScatterReduction.Amin => T.IsNaN(value) || value < Y[p] ? value : Y[p],
                _ => Y[p] + value,   // Sum, and Mean's running sum
            };
        }
        if (reduce == ScatterReduction.Mean)
        {
            bool integral = typeof(T) != typeof(float) && typeof(T) != typeof(double);
            for (int p = 0; p < n; p++)
            {
                if (landed[p] == 0) continue;
                T count = T.CreateChecked(landed[p] + (includeSelf ? 1 : 0));
                T q = Y[p] / count;
                // Integer means round towards -inf (PyTorch divides them with rounding_mode "floor").
                if (integral && q * count != Y[p] && Y[p] < T.Zero) q -= T.One;
                Y[p] = q;
            }
        }
        return y;
    }
}
