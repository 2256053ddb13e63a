using System.Numerics;
using System.Runtime.Intrinsics;

namespace MetaGrad.Backends.Cpu;

internal sealed partial class CpuBackend
{
    public void AdamUpdate(RawTensor param, RawTensor grad, RawTensor expAvg, RawTensor expAvgSq, RawTensor? maxExpAvgSq, AdamCoefficients c)
    {
        if (param.DType == DType.Float32) AdamTyped<float>(param, grad, expAvg, expAvgSq, maxExpAvgSq, c);
        else AdamTyped<double>(param, grad, expAvg, expAvgSq, maxExpAvgSq, c);
    }

    // Each constant is rounded to T first and each operation rounds in T, in the order of
    // Adam.Update's tensor operations, so the fused step is bit-identical to them (the JIT never
    // contracts a·b + c into a fused multiply-add).
    static void AdamTyped<T>(RawTensor param, RawTensor grad, RawTensor expAvg, RawTensor expAvgSq, RawTensor? maxExpAvgSq, AdamCoefficients c)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int n = param.Numel;
        // Each element's update is independent of the others: large parameters are cut into one
        // range per thread (the update was the one serial stretch of an LSTM step on two threads).
        int parts = UpdateParts(n);
        if (parts <= 1) AdamRange<T>(param, grad, expAvg, expAvgSq, maxExpAvgSq, c, 0, n);
        else Threading.For(parts, part =>
        {
            // Ranges of whole vectors, so that every element takes the vector path it takes serially.
            int w = Vector256<T>.Count;
            int lo = (int)((long)n / w * part / parts) * w, hi = part == parts - 1 ? n : (int)((long)n / w * (part + 1) / parts) * w;
            AdamRange<T>(param, grad, expAvg, expAvgSq, maxExpAvgSq, c, lo, hi);
        });
    }

    public void AddScaled(RawTensor dst, RawTensor other, double alpha)
    {
        if (dst.DType == DType.Float32) AddScaledTyped(dst, other, (float)alpha);
        else AddScaledTyped(dst, other, alpha);
    }

    // SGD's and RMSprop's param.add_(buffer, alpha: -lr) and momentum updates. One rounding, as
    // libtorch's vectorised kernel (fmadd); the separate multiply and add rounded twice and made a
    // temporary (RMSprop with momentum drifted 4.9e-6 from libtorch in six float32 steps). Every
    // element is fused on every path, so the split between threads cannot change a bit.
    static void AddScaledTyped<T>(RawTensor dst, RawTensor other, T alpha) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int n = dst.Numel;
        var d = Data<T>(dst);
        var o = Data<T>(other);
        var (dAt, oAt) = (dst.Layout.Offset, other.Layout.Offset);
        void Range(int lo, int hi)
        {
            var into = d.AsSpan(dAt + lo, hi - lo);
            System.Numerics.Tensors.TensorPrimitives.FusedMultiplyAdd(o.AsSpan(oAt + lo, hi - lo), alpha, into, into);
        }
        int parts = UpdateParts(n);
        if (parts <= 1) Range(0, n);
        else Threading.For(parts, part => Range((int)((long)n * part / parts), (int)((long)n * (part + 1) / parts)));
    }

    /// <summary>From this many elements a parameter's update is split between threads (about 0.1 ms of work).</summary>
    const int UpdateParallelElements = 1 << 16;

    /// <summary>How many ranges a parameter update of n elements is cut into: one per thread, each of at least half the threshold.</summary>
    static int UpdateParts(int n) => n >= UpdateParallelElements ? Math.Min(Threading.NumThreads, n / (UpdateParallelElements / 2)) : 1;

    static void AdamRange<T>(RawTensor param, RawTensor grad, RawTensor expAvg, RawTensor expAvgSq, RawTensor? maxExpAvgSq, AdamCoefficients c, int lo, int hi)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int n = hi - lo;
        var P = Data<T>(param).AsSpan(param.Layout.Offset + lo, n);
        var G = Data<T>(grad).AsSpan(grad.Layout.Offset + lo, n);
        var M = Data<T>(expAvg).AsSpan(expAvg.Layout.Offset + lo, n);
        var V = Data<T>(expAvgSq).AsSpan(expAvgSq.Layout.Offset + lo, n);
        var X = maxExpAvgSq is null ? default : Data<T>(maxExpAvgSq.Value).AsSpan(maxExpAvgSq.Value.Layout.Offset + lo, n);
        bool ams = maxExpAvgSq is not null, decay = c.WeightDecay != 0;
        double w = 1 - c.Beta1;
        bool lerpForward = w < 0.5;
        T decayFactor = T.CreateTruncating(1 - c.Lr * c.WeightDecay), weightDecay = T.CreateTruncating(c.WeightDecay);
        T lerpWeight = T.CreateTruncating(lerpForward ? w : 1 - w);
        T beta2 = T.CreateTruncating(c.Beta2), oneMinusBeta2 = T.CreateTruncating(1 - c.Beta2);
        T bc2 = T.CreateTruncating(c.BiasCorrection2Sqrt), eps = T.CreateTruncating(c.Eps);
        T stepSize = T.CreateTruncating(-c.Lr / c.BiasCorrection1);
        int i = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            // The same operations lane by lane: vector arithmetic rounds exactly as scalar does.
            int width = Vector256<T>.Count;
            var vDecay = Vector256.Create(decayFactor); var vWd = Vector256.Create(weightDecay);
            var vLerp = Vector256.Create(lerpWeight); var vB2 = Vector256.Create(beta2); var vOneMinusB2 = Vector256.Create(oneMinusBeta2);
            var vBc2 = Vector256.Create(bc2); var vEps = Vector256.Create(eps); var vStep = Vector256.Create(stepSize);
            for (; i <= n - width; i += width)
            {
                var g = Vector256.Create(G.Slice(i, width));
                if (c.Maximize) g = -g;
                var p = Vector256.Create(P.Slice(i, width));
                if (decay)
                {
                    if (c.Decoupled) p *= vDecay;
                    else g += p * vWd;
                }
                var m = Vector256.Create(M.Slice(i, width));
                m = lerpForward ? m + (g - m) * vLerp : g - (g - m) * vLerp;
                var v = Vector256.Create(V.Slice(i, width)) * vB2;
                v += g * vOneMinusB2 * g;
                var second = v;
                if (ams)
                {
                    var x = Vector256.Create(X.Slice(i, width));
                    var keep = ~Vector256.Equals(x, x) | Vector256.GreaterThan(x, v);
                    second = Vector256.ConditionalSelect(keep, x, v);
                    second.CopyTo(X.Slice(i, width));
                }
                var denom = Vector256.Sqrt(second) / vBc2 + vEps;
                (p + m * vStep / denom).CopyTo(P.Slice(i, width));
                m.CopyTo(M.Slice(i, width));
                v.CopyTo(V.Slice(i, width));
            }
        }
        for (; i < n; i++)
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
