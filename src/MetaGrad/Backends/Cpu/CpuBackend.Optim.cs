using System.Numerics;

namespace MetaGrad.Backends.Cpu;

internal sealed partial class CpuBackend
{
    public void AdamUpdate(Tensor param, Tensor grad, Tensor expAvg, Tensor expAvgSq, Tensor? maxExpAvgSq, AdamCoefficients c)
    {
        if (param.DType == DType.Float32) AdamTyped<float>(param, grad, expAvg, expAvgSq, maxExpAvgSq, c);
        else AdamTyped<double>(param, grad, expAvg, expAvgSq, maxExpAvgSq, c);
    }

    // Each constant is rounded to T first and each operation rounds in T, in the order of
    // Adam.Update's tensor operations, so the fused step is bit-identical to them (the JIT never
    // contracts a·b + c into a fused multiply-add).
    static void AdamTyped<T>(Tensor param, Tensor grad, Tensor expAvg, Tensor expAvgSq, Tensor? maxExpAvgSq, AdamCoefficients c)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int n = param.Numel;
        var P = Data<T>(param).AsSpan(param.Layout.Offset, n);
        var G = Data<T>(grad).AsSpan(grad.Layout.Offset, n);
        var M = Data<T>(expAvg).AsSpan(expAvg.Layout.Offset, n);
        var V = Data<T>(expAvgSq).AsSpan(expAvgSq.Layout.Offset, n);
        var X = maxExpAvgSq is null ? default : Data<T>(maxExpAvgSq).AsSpan(maxExpAvgSq.Layout.Offset, n);
        bool ams = maxExpAvgSq is not null, decay = c.WeightDecay != 0;
        double w = 1 - c.Beta1;
        bool lerpForward = w < 0.5;
        T decayFactor = T.CreateTruncating(1 - c.Lr * c.WeightDecay), weightDecay = T.CreateTruncating(c.WeightDecay);
        T lerpWeight = T.CreateTruncating(lerpForward ? w : 1 - w);
        T beta2 = T.CreateTruncating(c.Beta2), oneMinusBeta2 = T.CreateTruncating(1 - c.Beta2);
        T bc2 = T.CreateTruncating(c.BiasCorrection2Sqrt), eps = T.CreateTruncating(c.Eps);
        T stepSize = T.CreateTruncating(-c.Lr / c.BiasCorrection1);
        for (int i = 0; i < n; i++)
        {
            T g = c.Maximize ? -G[i] : G[i];
            T p = P[i];
            if (decay)
            {
                if (c.Decoupled) p *= decayFactor;
                else g += p * weightDecay;
            }
            T m = M[i];
            m = lerpForward ? m + (g - m) * lerpWeight : g - (g - m) * lerpWeight;
            T v = V[i] * beta2;
            v += g * oneMinusBeta2 * g;
            T second = v;
            if (ams)
            {
                T x = X[i];
                second = X[i] = T.IsNaN(x) || x > v ? x : v;
            }
            T denom = T.Sqrt(second) / bc2 + eps;
            P[i] = p + m * stepSize / denom;
            M[i] = m;
            V[i] = v;
        }
    }
}
