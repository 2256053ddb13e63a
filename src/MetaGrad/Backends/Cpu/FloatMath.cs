using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace MetaGrad.Backends.Cpu;

/// <summary>
/// exp, sigmoid, tanh, sin and cos of float spans (and the fused activations built on them),
/// vectorised in float, where TensorPrimitives goes through double at a multiple of the time
/// (bench/results/TUNING.md); exp, sigmoid and tanh are most of a recurrent layer's pointwise
/// work: an LSTM step takes a sigmoid or tanh of every gate value.
/// Tests hold them to double precision: within 1 ulp for exp over its whole range (subnormal
/// results included), 2 ulp for sigmoid and tanh (tanh keeps its relative accuracy near zero),
/// 2 ulp for sin and cos up to 8192 (past it, MathF's).
/// The generic overloads use TensorPrimitives elsewhere (no AVX2 and FMA, or double).
/// </summary>
internal static class FloatMath
{
    /// <summary>Whether the vectorised paths run on this machine.</summary>
    public static bool IsAccelerated => Vector256.IsHardwareAccelerated && System.Runtime.Intrinsics.X86.Fma.IsSupported;

    const float Log2E = 1.44269504088896341f;
    // ln 2 split so that n·Ln2High is exact for |n| < 2^9 (it has 15 significant bits; |n| ≤ 150
    // here): r = x - n·ln2 keeps its low bits.
    const float Ln2High = 0.693145751953125f;
    const float Ln2Low = 1.42860682030941723212e-6f;

    /// <summary>y = exp(x); x and y may be the same span.</summary>
    public static void Exp(ReadOnlySpan<float> x, Span<float> y) => Map<ExpOp>(x, y);

    /// <summary>y = 1 / (1 + exp(-x)); x and y may be the same span.</summary>
    public static void Sigmoid(ReadOnlySpan<float> x, Span<float> y) => Map<SigmoidOp>(x, y);

    /// <summary>y = tanh(x); x and y may be the same span.</summary>
    public static void Tanh(ReadOnlySpan<float> x, Span<float> y) => Map<TanhOp>(x, y);

    /// <summary>y = sin(x), within 2 ulp; x and y may be the same span (see <see cref="SinCos"/>).</summary>
    public static void Sin(ReadOnlySpan<float> x, Span<float> y) => SinCos<SinOp>(x, y);

    /// <summary>y = cos(x), within 2 ulp; x and y may be the same span (see <see cref="SinCos"/>).</summary>
    public static void Cos(ReadOnlySpan<float> x, Span<float> y) => SinCos<CosOp>(x, y);

    /// <summary>Past this magnitude (or for NaN and infinities) a span goes through MathF: n·π/2 needs more than 13 bits of n.</summary>
    const float SinCosLimit = 8192f;

    // One pass for the span's largest magnitude decides: the vector path for all of it, or MathF's
    // sin and cos for all of it (a span with a huge argument, NaN or infinity, which is rare).
    static void SinCos<TOp>(ReadOnlySpan<float> x, Span<float> y) where TOp : struct, IOp
    {
        if (x.Length != y.Length) throw new ArgumentException($"FloatMath: input length {x.Length} and output length {y.Length} differ");
        if (x.IsEmpty) return;
        if (!(UseVector512 ? AllWithin<Floats16>(x, SinCosLimit) : AllWithin<Floats8>(x, SinCosLimit)))
        {
            for (int i = 0; i < x.Length; i++) y[i] = typeof(TOp) == typeof(SinOp) ? MathF.Sin(x[i]) : MathF.Cos(x[i]);
            return;
        }
        Map<TOp>(x, y);
    }

    // Whether every |x| ≤ limit (false for NaN): a lane's flag is 1 unless limit ≥ |x| holds,
    // which a NaN fails; the flags' max needs no NaN rule (TensorPrimitives.MaxMagnitude's took a
    // third of sin's time).
    static bool AllWithin<TV>(ReadOnlySpan<float> x, float limit) where TV : struct, IFloatVector<TV>
    {
        int n = x.Length, w = TV.Count, i = 0;
        ref float at = ref MemoryMarshal.GetReference(x);
        TV bound = TV.Create(limit), zero = TV.Create(0f), one = TV.Create(1f), f0 = zero, f1 = zero;
        for (; i <= n - 2 * w; i += 2 * w)
        {
            f0 = TV.Max(f0, TV.WhereGreater(bound, TV.CopySign(TV.Load(ref at, (nuint)i), zero), zero, one));
            f1 = TV.Max(f1, TV.WhereGreater(bound, TV.CopySign(TV.Load(ref at, (nuint)(i + w)), zero), zero, one));
        }
        bool within = TV.Max(f0, f1).HorizontalMax() == 0;
        for (; i < n && within; i++) within = MathF.Abs(x[i]) < limit;
        return within;
    }

    // sin x and cos x as ±sin r or ±cos r of r = x − n·π/2 (|r| ≤ π/4, see HalfPi1), by
    // Cephes' single-precision polynomials, the quadrant n mod 4 read from the fraction of n/4
    // (0, ±1/4 or ±1/2) so that no integer lanes are needed: n = 4m → sin r, 4m + 1 → cos r,
    // 4m + 2 → −sin r, 4m + 3 → −cos r. cos x is the same with n + 1.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static TV SinOfQuadrant<TV>(TV x, bool cosine) where TV : struct, IFloatVector<TV>
    {
        var n = TV.Fma(x, TV.Create(TwoOverPi), TV.Create(RoundingShift)) - TV.Create(RoundingShift);
        var r = TV.Fma(n, TV.Create(-HalfPi1), x);
        r = TV.Fma(n, TV.Create(-HalfPi2), r);
        r = TV.Fma(n, TV.Create(-HalfPi3), r);
        var z = r * r;
        var sin = TV.Fma(TV.Fma(TV.Fma(TV.Create(-1.9515295891e-4f), z, TV.Create(8.3321608736e-3f)), z, TV.Create(-1.6666654611e-1f)) * z, r, r);
        var cos = TV.Fma(TV.Fma(TV.Fma(TV.Create(2.443315711809948e-5f), z, TV.Create(-1.388731625493765e-3f)), z, TV.Create(4.166664568298827e-2f)) * z, z,
            TV.Fma(z, TV.Create(-0.5f), TV.Create(1f)));
        var quadrant = cosine ? n + TV.Create(1f) : n;
        var quarter = quadrant * TV.Create(0.25f);
        var fraction = quarter - TV.Round(quarter);                 // 0, 1/4, ±1/2, −1/4 for n mod 4 = 0, 1, 2, 3
        var size = TV.CopySign(fraction, TV.Create(0f));
        var y = TV.WhereGreater(size, TV.Create(0.375f), sin, TV.WhereGreater(size, TV.Create(0.125f), cos, sin));
        // Negated for n mod 4 = 2 (a fraction of +1/2 or −1/2, by the tie's rounding) and 3 (−1/4).
        y = TV.WhereGreater(fraction, TV.Create(0.375f), -y, TV.WhereGreater(TV.Create(-0.125f), fraction, -y, y));
        // A zero's sine is that zero (r's sum above loses the sign of −0).
        return cosine ? y : TV.WhereGreater(TV.CopySign(x, TV.Create(0f)), TV.Create(0f), y, x);
    }

    const float TwoOverPi = 0.636619772367581343f;
    // π/2 as the sum of three floats, each the nearest to what the ones before leave (to about
    // 1e-23). With fused multiply-adds each n·part is exact, the first subtraction too (for
    // |n| ≤ 2^13 the difference fits 24 bits), and the other two round relative to what is left,
    // which is r itself: r comes out within an ulp even next to a multiple of π/2, where Cephes'
    // split for separate multiplies loses its relative accuracy.
    const float HalfPi1 = 1.57079637050628662109375f;
    const float HalfPi2 = -4.371138828673793e-08f;
    const float HalfPi3 = -1.7151245100058819e-15f;

    /// <summary>y = erf(x), to 3.3e-7 (see <see cref="Erf{TV}"/>); x and y may be the same span.</summary>
    public static void Erf(ReadOnlySpan<float> x, Span<float> y) => Map<ErfOp>(x, y);

    /// <summary>y = GELU(x), exact (x·Φ(x)) or PyTorch's tanh approximation; x and y may be the same span.</summary>
    public static void Gelu(ReadOnlySpan<float> x, Span<float> y, bool tanh)
    {
        if (tanh) Map<GeluTanhOp>(x, y);
        else Map<GeluOp>(x, y);
    }

    /// <summary>y = grad · GELU'(x), exact or tanh-approximated, in one pass; y may be either input.</summary>
    public static void GeluBackward(ReadOnlySpan<float> grad, ReadOnlySpan<float> x, Span<float> y, bool tanh)
    {
        if (tanh) Map2<GeluTanhSlopeOp>(grad, x, y);
        else Map2<GeluSlopeOp>(grad, x, y);
    }

    /// <summary>exp of any floating type: the float path where it runs, TensorPrimitives otherwise.</summary>
    public static void Exp<T>(ReadOnlySpan<T> x, Span<T> y) where T : IFloatingPointIeee754<T>
    {
        if (typeof(T) == typeof(float) && IsAccelerated) Exp(AsFloat(x), AsFloat(y));
        else TensorPrimitives.Exp(x, y);
    }

    /// <summary>sigmoid of any floating type: the float path where it runs, TensorPrimitives otherwise.</summary>
    public static void Sigmoid<T>(ReadOnlySpan<T> x, Span<T> y) where T : IFloatingPointIeee754<T>
    {
        if (typeof(T) == typeof(float) && IsAccelerated) Sigmoid(AsFloat(x), AsFloat(y));
        else TensorPrimitives.Sigmoid(x, y);
    }

    /// <summary>tanh of any floating type: the float path where it runs, TensorPrimitives otherwise.</summary>
    public static void Tanh<T>(ReadOnlySpan<T> x, Span<T> y) where T : IFloatingPointIeee754<T>
    {
        if (typeof(T) == typeof(float) && IsAccelerated) Tanh(AsFloat(x), AsFloat(y));
        else TensorPrimitives.Tanh(x, y);
    }

    /// <summary>
    /// softplus_β(x) = log(1 + e^(βx))/β, x itself where βx exceeds the threshold (PyTorch's), as
    /// (max(βx, 0) + log1p(e^(-|βx|)))/β: no overflow, and log1p's argument lies in (0, 1], where
    /// 2·atanh(u/(2 + u)) needs seven terms for float. Within 2 units in the last place of the
    /// double result. β = -1 with no threshold is log σ(x).
    /// </summary>
    public static void Softplus(ReadOnlySpan<float> x, Span<float> y, float beta, float threshold) => Map(x, y, new SoftplusOp(beta, threshold));

    /// <summary>grad·σ(βx), grad itself where βx exceeds the threshold: the gradient of <see cref="Softplus"/>, within 3 units in the last place.</summary>
    public static void SoftplusBackward(ReadOnlySpan<float> grad, ReadOnlySpan<float> x, Span<float> y, float beta, float threshold) =>
        Map2(grad, x, y, new SoftplusSlopeOp(beta, threshold));

    readonly struct SoftplusOp(float beta, float threshold) : IOp
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public TV Apply<TV>(TV x) where TV : struct, IFloatVector<TV>
        {
            var z = x * TV.Create(beta);
            var smooth = (TV.WhereGreater(z, TV.Create(0f), z, TV.Create(0f)) + Log1pOfUnit(ExpVector(-TV.CopySign(z, TV.Create(0f))))) / TV.Create(beta);
            return TV.WhereGreater(z, TV.Create(threshold), x, TV.KeepNaN(z, smooth));
        }
    }

    readonly struct SoftplusSlopeOp(float beta, float threshold) : IOp2
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public TV Apply<TV>(TV grad, TV x) where TV : struct, IFloatVector<TV>
        {
            // σ(z) from u = e^(-|z|): 1/(1 + u) for z ≥ 0, u/(1 + u) below, so that far below zero
            // it is e^z itself, down to subnormals, as libtorch's e^z/(e^z + 1).
            var z = x * TV.Create(beta);
            var u = ExpVector(-TV.CopySign(z, TV.Create(0f)));
            var sigmoid = TV.WhereGreater(TV.Create(0f), z, u, TV.Create(1f)) / (u + TV.Create(1f));
            return TV.WhereGreater(z, TV.Create(threshold), grad, grad * sigmoid);
        }
    }

    /// <summary>
    /// The ELU family: scale·x for x &gt; 0, else scale·α·(e^(x·inputScale) - 1) (ELU: scale 1 and
    /// inputScale 1; SELU: its constants; CELU: inputScale 1/α), as libtorch's formula; NaN stays NaN.
    /// </summary>
    public static void Elu(ReadOnlySpan<float> x, Span<float> y, float alpha, float scale, float inputScale) => Map(x, y, new EluOp(alpha, scale, inputScale));

    /// <summary>grad·scale for x &gt; 0, else grad·scale·α·inputScale·e^(x·inputScale): the gradient of <see cref="Elu"/>.</summary>
    public static void EluBackward(ReadOnlySpan<float> grad, ReadOnlySpan<float> x, Span<float> y, float alpha, float scale, float inputScale) =>
        Map2(grad, x, y, new EluSlopeOp(alpha, scale, inputScale));

    // The exponential sees min(x, 0), as the composition's: a large x, whose branch is discarded,
    // would overflow it.
    readonly struct EluOp(float alpha, float scale, float inputScale) : IOp
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public TV Apply<TV>(TV x) where TV : struct, IFloatVector<TV>
        {
            var e = ExpVector(TV.Clamp(x, float.NegativeInfinity, 0f) * TV.Create(inputScale));
            var negative = (e - TV.Create(1f)) * TV.Create(alpha * scale);
            return TV.KeepNaN(x, TV.WhereGreater(x, TV.Create(0f), x * TV.Create(scale), negative));
        }
    }

    readonly struct EluSlopeOp(float alpha, float scale, float inputScale) : IOp2
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public TV Apply<TV>(TV grad, TV x) where TV : struct, IFloatVector<TV>
        {
            var e = ExpVector(TV.Clamp(x, float.NegativeInfinity, 0f) * TV.Create(inputScale));
            var negative = grad * TV.Create(scale * alpha * inputScale) * e;
            return TV.KeepNaN(x, TV.WhereGreater(x, TV.Create(0f), grad * TV.Create(scale), negative));
        }
    }

    /// <summary>SiLU, x·σ(x), as x/(1 + e^(-x)) in one pass (σ as <see cref="Sigmoid(ReadOnlySpan{float}, Span{float})"/> computes it).</summary>
    public static void Silu(ReadOnlySpan<float> x, Span<float> y) => Map<SiluOp>(x, y);

    /// <summary>grad·σ(x)·(1 + x·(1 - σ(x))): the gradient of <see cref="Silu"/>.</summary>
    public static void SiluBackward(ReadOnlySpan<float> grad, ReadOnlySpan<float> x, Span<float> y) => Map2<SiluSlopeOp>(grad, x, y);

    struct SiluOp : IOp
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public readonly TV Apply<TV>(TV x) where TV : struct, IFloatVector<TV> => x * Sigmoid(x);
    }

    struct SiluSlopeOp : IOp2
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public readonly TV Apply<TV>(TV grad, TV x) where TV : struct, IFloatVector<TV>
        {
            var s = Sigmoid(x);
            return grad * (s * TV.Fma(x, TV.Create(1f) - s, TV.Create(1f)));
        }
    }

    /// <summary>
    /// atan2(y, x) of float spans eight at a time: the angle of the smaller magnitude over the larger
    /// (t in [0, 1]; above tan(π/8), (t - 1)/(t + 1) and π/4 added), atan by Cephes' single-precision
    /// polynomial, then the octant from |y| &gt; |x|, the sign of x and the sign of y. Within 3 units
    /// in the last place of the double result. Zeros over zeros and infinities over infinities
    /// (where t is 0/0 or ∞/∞) go through Math.Atan2, lane by lane, as do the tails.
    /// </summary>
    public static void Atan2(ReadOnlySpan<float> y, ReadOnlySpan<float> x, Span<float> result)
    {
        if (y.Length != result.Length || x.Length != result.Length) throw new ArgumentException($"FloatMath.Atan2: input lengths {y.Length} and {x.Length} and output length {result.Length} differ");
        int i = 0;
        var zero = Vector256<float>.Zero;
        var infinity = Vector256.Create(float.PositiveInfinity);
        for (; i + 8 <= result.Length; i += 8)
        {
            var vy = Vector256.Create(y.Slice(i, 8));
            var vx = Vector256.Create(x.Slice(i, 8));
            var ax = Vector256.Abs(vx);
            var ay = Vector256.Abs(vy);
            var special = Vector256.Equals(ax, zero) & Vector256.Equals(ay, zero) | Vector256.Equals(ax, infinity) & Vector256.Equals(ay, infinity);
            if (Vector256.ExtractMostSignificantBits(special) != 0)
            {
                for (int k = i; k < i + 8; k++) result[k] = MathF.Atan2(y[k], x[k]);
                continue;
            }
            var steep = Vector256.GreaterThan(ay, ax);
            var t = Vector256.ConditionalSelect(steep, ax, ay) / Vector256.ConditionalSelect(steep, ay, ax);
            var far = Vector256.GreaterThan(t, Vector256.Create(0.414213562373095f));
            var u = Vector256.ConditionalSelect(far, (t - Vector256.Create(1f)) / (t + Vector256.Create(1f)), t);
            var z = u * u;
            var p = Vector256.FusedMultiplyAdd(Vector256.Create(8.05374449538e-2f), z, Vector256.Create(-1.38776856032e-1f));
            p = Vector256.FusedMultiplyAdd(p, z, Vector256.Create(1.99777106478e-1f));
            p = Vector256.FusedMultiplyAdd(p, z, Vector256.Create(-3.33329491539e-1f));
            var r = Vector256.FusedMultiplyAdd(p * z, u, u) + (far & Vector256.Create(MathF.PI / 4));
            r = Vector256.ConditionalSelect(steep, Vector256.Create(MathF.PI / 2) - r, r);
            r = Vector256.ConditionalSelect(Vector256.LessThan(vx, zero) | Vector256.Equals(vx.AsInt32(), Vector256.Create(int.MinValue)).AsSingle(), Vector256.Create(MathF.PI) - r, r);
            r = Vector256.ConditionalSelect(Vector256.Create(-0f), vy, r);   // the sign of y
            // NaN in either operand gives NaN.
            r = Vector256.ConditionalSelect(Vector256.Equals(vx, vx) & Vector256.Equals(vy, vy), r, vx + vy);
            r.CopyTo(result.Slice(i, 8));
        }
        for (; i < result.Length; i++) result[i] = MathF.Atan2(y[i], x[i]);
    }

    // log(1 + u) for u in [0, 1] as 2·atanh(s), s = u/(2 + u) ≤ 1/3: 2s·(1 + s²/3 + s⁴/5 + ... + s¹⁴/15),
    // the first term left out below 2e-9 of the sum.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static TV Log1pOfUnit<TV>(TV u) where TV : struct, IFloatVector<TV>
    {
        var s = u / (u + TV.Create(2f));
        var s2 = s * s;
        var p = TV.Fma(s2, TV.Create(1f / 15), TV.Create(1f / 13));
        p = TV.Fma(s2, p, TV.Create(1f / 11));
        p = TV.Fma(s2, p, TV.Create(1f / 9));
        p = TV.Fma(s2, p, TV.Create(1f / 7));
        p = TV.Fma(s2, p, TV.Create(1f / 5));
        p = TV.Fma(s2, p, TV.Create(1f / 3));
        return (s + s) * TV.Fma(s2, p, TV.Create(1f));
    }

    /// <summary>
    /// Whether the float kernels here (and the fused rows built on them) use 512-bit vectors: where
    /// AVX-512 is accelerated. Each lane computes as in the 256-bit path, so both give the same
    /// bits; tests switch it off to cover the 256-bit path on an AVX-512 machine. Besides twice the
    /// lanes per instruction, the wider vector halves the number of dependency chains: an
    /// exp is some 25 dependent steps, and with 8 lanes an LSTM row was bound by that latency.
    /// </summary>
    internal static bool UseVector512 { get; set; } = Vector512.IsHardwareAccelerated;

    // Called only when T is float (the JIT drops the other branch for each T).
    /// <summary>sigmoid of a vector, as <see cref="Sigmoid(ReadOnlySpan{float}, Span{float})"/> computes each (for fused kernels).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static TV Sigmoid<TV>(TV x) where TV : struct, IFloatVector<TV> => TV.Create(1f) / (TV.Create(1f) + ExpVector(-x));

    /// <summary>
    /// tanh of a vector, as <see cref="Tanh(ReadOnlySpan{float}, Span{float})"/> computes each (for
    /// fused kernels): tanh x = expm1(2x) / (expm1(2x) + 2), with no cancellation near zero, unlike
    /// 1 - 2/(e^2x + 1). Past |x| = 9 tanh rounds to ±1 in float; clamping there keeps expm1 finite.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static TV Tanh<TV>(TV x) where TV : struct, IFloatVector<TV>
    {
        var clamped = TV.Clamp(x, -9f, 9f);
        var e = Expm1Small(clamped + clamped);
        var y = e / (e + TV.Create(2f));
        return TV.KeepNaN(x, TV.CopySign(y, x));   // tanh is odd (tanh -0 = -0); NaN stays NaN
    }

    /// <summary>
    /// erf of a vector as x·P(x²)/Q(x²), x clamped to [-4, 4] (beyond, erf is ±1 in float): the
    /// minimax rational approximation XLA and Eigen use for float erf. Against the series in
    /// double over [-6, 6] in steps of 1e-5: at most 3.3e-7 off (near |x| = 3.94, three units in
    /// the last place of 1), relative error about 1e-7 down to the smallest x (erf ≈ 2x/√π).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static TV Erf<TV>(TV a) where TV : struct, IFloatVector<TV>
    {
        var x = TV.Clamp(a, -4f, 4f);
        var x2 = x * x;
        var p = TV.Fma(x2, TV.Create(-2.72614225801306e-10f), TV.Create(2.77068142495902e-08f));
        p = TV.Fma(x2, p, TV.Create(-2.10102402082508e-06f));
        p = TV.Fma(x2, p, TV.Create(-5.69250639462346e-05f));
        p = TV.Fma(x2, p, TV.Create(-7.34990630326855e-04f));
        p = TV.Fma(x2, p, TV.Create(-2.95459980854025e-03f));
        p = TV.Fma(x2, p, TV.Create(-1.60960333262415e-02f));
        var q = TV.Fma(x2, TV.Create(-1.45660718464996e-05f), TV.Create(-2.13374055278905e-04f));
        q = TV.Fma(x2, q, TV.Create(-1.68282697438203e-03f));
        q = TV.Fma(x2, q, TV.Create(-7.37332916720468e-03f));
        q = TV.Fma(x2, q, TV.Create(-1.42647390514189e-02f));
        return TV.KeepNaN(a, x * p / q);
    }

    const float HalfSqrt2 = 0.70710678118654752f;          // 1/√2
    const float InverseSqrt2Pi = 0.39894228040143268f;     // 1/√(2π)
    const float SqrtTwoOverPi = 0.79788456080286536f;      // √(2/π), PyTorch's tanh GELU
    const float TanhCubic = 0.044715f;

    // Φ(x) = (1 + erf(x/√2)) / 2.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static TV NormalCdf<TV>(TV x) where TV : struct, IFloatVector<TV> => TV.Fma(Erf(x * TV.Create(HalfSqrt2)), TV.Create(0.5f), TV.Create(0.5f));

    // The tanh approximation's (1 + tanh u)/2 and u's slope, u = √(2/π)(x + 0.044715x³).
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static (TV Half, TV Tanh) TanhGate<TV>(TV x) where TV : struct, IFloatVector<TV>
    {
        var x2 = x * x;
        var t = Tanh(x * TV.Fma(x2, TV.Create(SqrtTwoOverPi * TanhCubic), TV.Create(SqrtTwoOverPi)));
        return (TV.Fma(t, TV.Create(0.5f), TV.Create(0.5f)), t);
    }

    /// <summary>A span of T known to be float, as floats (the caller checks typeof(T)).</summary>
    internal static ReadOnlySpan<float> AsFloat<T>(ReadOnlySpan<T> x) => MemoryMarshal.CreateReadOnlySpan(ref Unsafe.As<T, float>(ref MemoryMarshal.GetReference(x)), x.Length);

    /// <inheritdoc cref="AsFloat{T}(ReadOnlySpan{T})"/>
    internal static Span<float> AsFloat<T>(Span<T> x) => MemoryMarshal.CreateSpan(ref Unsafe.As<T, float>(ref MemoryMarshal.GetReference(x)), x.Length);

    interface IOp
    {
        TV Apply<TV>(TV x) where TV : struct, IFloatVector<TV>;
    }

    struct SinOp : IOp
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public readonly TV Apply<TV>(TV x) where TV : struct, IFloatVector<TV> => SinOfQuadrant(x, cosine: false);
    }

    struct CosOp : IOp
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public readonly TV Apply<TV>(TV x) where TV : struct, IFloatVector<TV> => SinOfQuadrant(x, cosine: true);
    }

    struct ExpOp : IOp
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public readonly TV Apply<TV>(TV x) where TV : struct, IFloatVector<TV> => ExpVector(x);
    }

    struct SigmoidOp : IOp
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public readonly TV Apply<TV>(TV x) where TV : struct, IFloatVector<TV> => Sigmoid(x);
    }

    struct TanhOp : IOp
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public readonly TV Apply<TV>(TV x) where TV : struct, IFloatVector<TV> => Tanh(x);
    }

    struct ErfOp : IOp
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public readonly TV Apply<TV>(TV x) where TV : struct, IFloatVector<TV> => Erf(x);
    }

    // x·Φ(x).
    struct GeluOp : IOp
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public readonly TV Apply<TV>(TV x) where TV : struct, IFloatVector<TV> => x * NormalCdf(x);
    }

    // x·(1 + tanh u)/2.
    struct GeluTanhOp : IOp
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public readonly TV Apply<TV>(TV x) where TV : struct, IFloatVector<TV> => x * TanhGate(x).Half;
    }

    interface IOp2
    {
        TV Apply<TV>(TV a, TV b) where TV : struct, IFloatVector<TV>;
    }

    // grad·(Φ(x) + x·φ(x)), φ(x) = e^(-x²/2)/√(2π).
    struct GeluSlopeOp : IOp2
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public readonly TV Apply<TV>(TV grad, TV x) where TV : struct, IFloatVector<TV>
        {
            var density = ExpVector(x * x * TV.Create(-0.5f)) * TV.Create(InverseSqrt2Pi);
            return grad * TV.Fma(x, density, NormalCdf(x));
        }
    }

    // grad·((1 + t)/2 + x/2·(1 - t²)·√(2/π)(1 + 3·0.044715x²)), t = tanh u.
    struct GeluTanhSlopeOp : IOp2
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public readonly TV Apply<TV>(TV grad, TV x) where TV : struct, IFloatVector<TV>
        {
            var (half, t) = TanhGate(x);
            var du = TV.Fma(x * x, TV.Create(3 * SqrtTwoOverPi * TanhCubic), TV.Create(SqrtTwoOverPi));
            var sech2 = TV.Create(1f) - t * t;
            return grad * TV.Fma(x * TV.Create(0.5f) * sech2, du, half);
        }
    }

    static void Map2<TOp>(ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> y, TOp op = default) where TOp : struct, IOp2
    {
        if (a.Length != y.Length || b.Length != y.Length) throw new ArgumentException($"FloatMath: input lengths {a.Length} and {b.Length} and output length {y.Length} differ");
        if (UseVector512) Map2<TOp, Floats16>(a, b, y, op);
        else Map2<TOp, Floats8>(a, b, y, op);
    }

    static void Map2<TOp, TV>(ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> y, TOp op) where TOp : struct, IOp2 where TV : struct, IFloatVector<TV>
    {
        int n = y.Length, i = 0, w = TV.Count;
        ref float pa = ref MemoryMarshal.GetReference(a);
        ref float pb = ref MemoryMarshal.GetReference(b);
        ref float dst = ref MemoryMarshal.GetReference(y);
        for (; i <= n - w; i += w)
            op.Apply(TV.Load(ref pa, (nuint)i), TV.Load(ref pb, (nuint)i)).Store(ref dst, (nuint)i);
        if (i == n) return;
        // The tail through full vectors on the stack, rounded as the body is.
        Span<float> tail = stackalloc float[32];
        a[i..].CopyTo(tail);
        b[i..].CopyTo(tail[16..]);
        ref float t = ref MemoryMarshal.GetReference(tail);
        op.Apply(TV.Load(ref t, 0), TV.Load(ref t, 16)).Store(ref t, 0);
        tail[..(n - i)].CopyTo(y[i..]);
    }

    static void Map<TOp>(ReadOnlySpan<float> x, Span<float> y, TOp op = default) where TOp : struct, IOp
    {
        if (x.Length != y.Length) throw new ArgumentException($"FloatMath: input length {x.Length} and output length {y.Length} differ");
        if (UseVector512) Map<TOp, Floats16>(x, y, op);
        else Map<TOp, Floats8>(x, y, op);
    }

    static void Map<TOp, TV>(ReadOnlySpan<float> x, Span<float> y, TOp op) where TOp : struct, IOp where TV : struct, IFloatVector<TV>
    {
        int n = x.Length, i = 0, w = TV.Count;
        ref float src = ref MemoryMarshal.GetReference(x);
        ref float dst = ref MemoryMarshal.GetReference(y);
        for (; i <= n - w; i += w)
            op.Apply(TV.Load(ref src, (nuint)i)).Store(ref dst, (nuint)i);
        if (i == n) return;
        // The tail through a full vector on the stack, so that it gets the same rounding as the body.
        Span<float> tail = stackalloc float[16];
        x[i..].CopyTo(tail);
        ref float t = ref MemoryMarshal.GetReference(tail);
        op.Apply(TV.Load(ref t, 0)).Store(ref t, 0);
        tail[..(n - i)].CopyTo(y[i..]);
    }

    // exp x = 2^n · e^r with n = round(x·log2 e) and |r| ≤ ln2/2 (a hair more where the rounding
    // of x·log2 e falls the other way), e^r by its Taylor polynomial (degree 7: the first term
    // left out is below 1e-8 of the result). n is rounded by adding and taking away 1.5·2^23,
    // whose float has no fraction bits left: two instructions where Round took three. The scaling
    // by 2^n rounds once, so that results in the subnormal range and up to the overflow to
    // infinity come out right; the clamp only keeps n where that scaling is exact.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static TV ExpVector<TV>(TV x) where TV : struct, IFloatVector<TV>
    {
        var clamped = TV.Clamp(x, -104f, 89f);
        var n = TV.Fma(clamped, TV.Create(Log2E), TV.Create(RoundingShift)) - TV.Create(RoundingShift);
        var r = TV.Fma(n, TV.Create(-Ln2High), clamped);
        r = TV.Fma(n, TV.Create(-Ln2Low), r);
        var q = ExpMinusOne(r);
        return TV.KeepNaN(x, TV.ScaleByPowerOfTwo(q + TV.Create(1f), n));
    }

    // 1.5·2^23: a float of magnitude below 2^22 added to it keeps only its integer part, rounded to even.
    const float RoundingShift = 12582912f;

    // expm1 for |y| ≤ 18 (tanh's range): 2^n·(1 + q) - 1 = 2^n·q + (2^n - 1), exact in the
    // rounding that matters: for n = 0 it is q itself, so small arguments keep their relative accuracy.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static TV Expm1Small<TV>(TV y) where TV : struct, IFloatVector<TV>
    {
        var n = TV.Fma(y, TV.Create(Log2E), TV.Create(RoundingShift)) - TV.Create(RoundingShift);   // as ExpVector
        var r = TV.Fma(n, TV.Create(-Ln2High), y);
        r = TV.Fma(n, TV.Create(-Ln2Low), r);
        var scale = TV.ScaleByPowerOfTwo(TV.Create(1f), n);
        return TV.Fma(scale, ExpMinusOne(r), scale - TV.Create(1f));
    }

    // e^r - 1 for |r| ≤ ln2/2: r·(1 + r/2 + r²/6 + ... + r⁶/7!), Horner's rule in fused multiply-adds
    // (Estrin's shorter chain measured no faster here and lost an ulp in tanh).
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static TV ExpMinusOne<TV>(TV r) where TV : struct, IFloatVector<TV>
    {
        var p = TV.Create(1f / 5040);
        p = TV.Fma(p, r, TV.Create(1f / 720));
        p = TV.Fma(p, r, TV.Create(1f / 120));
        p = TV.Fma(p, r, TV.Create(1f / 24));
        p = TV.Fma(p, r, TV.Create(1f / 6));
        p = TV.Fma(p, r, TV.Create(0.5f));
        p = TV.Fma(p, r, TV.Create(1f));
        return p * r;
    }
}
