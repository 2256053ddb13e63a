using System.Numerics;
using System.Runtime.InteropServices;
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
            int w = UseVector512Updates ? Vector512<T>.Count : Vector256<T>.Count;
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
        // The same operations lane by lane: vector arithmetic rounds exactly as scalar does. Each
        // element's root and two divisions set the pace (the divider's, not memory's), so 512-bit
        // lanes, where there are any, do twice the elements per division.
        var k = AdamConstants<T>.Of(c, ams: maxExpAvgSq is not null);
        int i = UseVector512Updates ? AdamVectors<T, Lanes512<T>>(P, G, M, V, X, k)
            : Vector256.IsHardwareAccelerated ? AdamVectors<T, Lanes256<T>>(P, G, M, V, X, k) : 0;
        for (; i < n; i++)
        {
            T g = k.Maximize ? -G[i] : G[i];
            T p = P[i];
            if (k.Decay)
            {
                if (k.Decoupled) p *= k.DecayFactor;
                else g += p * k.WeightDecay;
            }
            T m = M[i];
            m = k.LerpForward ? m + (g - m) * k.LerpWeight : g - (g - m) * k.LerpWeight;
            T v = V[i] * k.Beta2;
            v += g * k.OneMinusBeta2 * g;
            T second = v;
            if (k.Ams)
            {
                T x = X[i];
                second = X[i] = T.IsNaN(x) || x > v ? x : v;
            }
            T denom = T.Sqrt(second) / k.Bc2 + k.Eps;
            P[i] = p + m * k.StepSize / denom;
            M[i] = m;
            V[i] = v;
        }
    }

    /// <summary>Whether parameter updates run 512-bit lanes (where AVX-512 is accelerated; tests switch it to hold both widths to the same bits).</summary>
    internal static bool UseVector512Updates { get; set; } = Vector512.IsHardwareAccelerated;

    /// <summary>Adam's per-call constants, each rounded to T once (see AdamTyped).</summary>
    readonly record struct AdamConstants<T>(bool Maximize, bool Decay, bool Decoupled, bool Ams, bool LerpForward,
        T DecayFactor, T WeightDecay, T LerpWeight, T Beta2, T OneMinusBeta2, T Bc2, T Eps, T StepSize)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        // lerp(m, g, 1 − β1) as PyTorch's lerp_ computes it: from m below a weight of 0.5, from g above.
        public static AdamConstants<T> Of(AdamCoefficients c, bool ams)
        {
            double w = 1 - c.Beta1;
            bool lerpForward = w < 0.5;
            return new(c.Maximize, c.WeightDecay != 0, c.Decoupled, ams, lerpForward,
                T.CreateTruncating(1 - c.Lr * c.WeightDecay), T.CreateTruncating(c.WeightDecay), T.CreateTruncating(lerpForward ? w : 1 - w),
                T.CreateTruncating(c.Beta2), T.CreateTruncating(1 - c.Beta2), T.CreateTruncating(c.BiasCorrection2Sqrt), T.CreateTruncating(c.Eps),
                T.CreateTruncating(-c.Lr / c.BiasCorrection1));
        }
    }

    // AdamRange's whole vectors at the width TV; returns how many elements it updated (the rest
    // go through the scalar loop).
    static int AdamVectors<T, TV>(Span<T> P, ReadOnlySpan<T> G, Span<T> M, Span<T> V, Span<T> X, AdamConstants<T> k)
        where T : unmanaged, IFloatingPointIeee754<T> where TV : struct, IVectorLanes<TV, T>
    {
        int n = P.Length, width = TV.Count, i = 0;
        ref T p0 = ref MemoryMarshal.GetReference(P), g0 = ref MemoryMarshal.GetReference(G), m0 = ref MemoryMarshal.GetReference(M);
        ref T v0 = ref MemoryMarshal.GetReference(V), x0 = ref MemoryMarshal.GetReference(X);
        TV decayFactor = TV.Create(k.DecayFactor), weightDecay = TV.Create(k.WeightDecay), lerp = TV.Create(k.LerpWeight);
        TV beta2 = TV.Create(k.Beta2), oneMinusBeta2 = TV.Create(k.OneMinusBeta2), bc2 = TV.Create(k.Bc2), eps = TV.Create(k.Eps), stepSize = TV.Create(k.StepSize);
        for (; i <= n - width; i += width)
        {
            nuint at = (nuint)i;
            var g = TV.Load(ref g0, at);
            if (k.Maximize) g = -g;
            var p = TV.Load(ref p0, at);
            if (k.Decay)
            {
                if (k.Decoupled) p *= decayFactor;
                else g += p * weightDecay;
            }
            var m = TV.Load(ref m0, at);
            m = k.LerpForward ? m + (g - m) * lerp : g - (g - m) * lerp;
            var v = TV.Load(ref v0, at) * beta2;
            v += g * oneMinusBeta2 * g;
            var second = v;
            if (k.Ams)
            {
                second = TV.NaNOrLarger(TV.Load(ref x0, at), v);
                second.Store(ref x0, at);
            }
            var denom = TV.Sqrt(second) / bc2 + eps;
            (p + m * stepSize / denom).Store(ref p0, at);
            m.Store(ref m0, at);
            v.Store(ref v0, at);
        }
        return i;
    }
}
