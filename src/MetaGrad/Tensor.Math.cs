using MetaGrad.Backends;
using MetaGrad.Functions;

namespace MetaGrad;

// Elementwise math beyond the operators: the trigonometric and hyperbolic family, other bases'
// exp and log, remainders, interpolation, and the tests of floating values. Integer tensors meet
// floating functions in Float32, as in PyTorch (Floating, Promote in Tensor.Operators.cs).
public partial class Tensor
{
    /// <summary>Elementwise tangent.</summary>
    public Tensor Tan() => new Functions.Tan().Apply(Floating());
    /// <summary>Elementwise arcsine (NaN outside [-1, 1]).</summary>
    public Tensor Asin() => new Functions.Asin().Apply(Floating());
    /// <summary>Elementwise arccosine (NaN outside [-1, 1]).</summary>
    public Tensor Acos() => new Functions.Acos().Apply(Floating());
    /// <summary>Elementwise arctangent.</summary>
    public Tensor Atan() => new Functions.Atan().Apply(Floating());
    /// <summary>Elementwise hyperbolic sine.</summary>
    public Tensor Sinh() => new Functions.Sinh().Apply(Floating());
    /// <summary>Elementwise hyperbolic cosine.</summary>
    public Tensor Cosh() => new Functions.Cosh().Apply(Floating());
    /// <summary>Elementwise inverse hyperbolic sine.</summary>
    public Tensor Asinh() => new Functions.Asinh().Apply(Floating());
    /// <summary>Elementwise inverse hyperbolic cosine (NaN below 1).</summary>
    public Tensor Acosh() => new Functions.Acosh().Apply(Floating());
    /// <summary>Elementwise inverse hyperbolic tangent (±inf at ±1, NaN beyond).</summary>
    public Tensor Atanh() => new Functions.Atanh().Apply(Floating());
    /// <summary>Elementwise base-2 logarithm.</summary>
    public Tensor Log2() => new Functions.Log2().Apply(Floating());
    /// <summary>Elementwise base-10 logarithm.</summary>
    public Tensor Log10() => new Functions.Log10().Apply(Floating());
    /// <summary>Elementwise 2^x.</summary>
    public Tensor Exp2() => new Functions.Exp2().Apply(Floating());
    /// <summary>Elementwise e^x − 1, accurate for small x.</summary>
    public Tensor Expm1() => new Functions.Expm1().Apply(Floating());

    /// <summary>Elementwise rounding toward zero (zero gradient, as in PyTorch).</summary>
    public Tensor Trunc() => StepOf("Trunc", UnaryOp.Trunc);
    /// <summary>Alias of <see cref="Trunc"/> (torch.fix).</summary>
    public Tensor Fix() => Trunc();

    /// <summary>Elementwise fractional part x − trunc(x), with the sign of x; its gradient passes unchanged.</summary>
    public Tensor Frac()
    {
        if (!DType.IsFloatingPoint()) throw new ArgumentException($"Frac: expected a floating tensor, got {DType}");
        return this - Trunc();
    }

    /// <summary>Elementwise rounding half to even at <paramref name="decimals"/> decimal places (tens, hundreds... when negative); zero gradient.</summary>
    public Tensor Round(int decimals)
    {
        if (decimals == 0) return Round();
        if (!DType.IsFloatingPoint()) throw new ArgumentException($"Round: decimals are only supported for floating tensors, got {DType}");
        return new Functions.Step("Round", x => x.Backend.RoundDecimals(x, decimals)).Apply(this);
    }

    // Floor, Ceil, Round, Trunc and Sign are recorded with a zero gradient, as PyTorch records them.
    Tensor StepOf(string name, UnaryOp op) => new Functions.Step(name, x => x.Backend.Unary(op, x)).Apply(this);

    /// <summary>Elementwise atan2(this, other): the angle of the point (other, this), in (−π, π] (broadcast).</summary>
    public Tensor Atan2(Tensor other) => FloatArith(new Functions.Atan2(), this, other);

    /// <summary>Elementwise √(this² + other²) without overflow (broadcast); floating tensors only.</summary>
    public Tensor Hypot(Tensor other)
    {
        var (a, b) = Promote(this, other);
        if (!a.DType.IsFloatingPoint()) throw new ArgumentException($"Hypot: expected floating tensors, got {DType} and {other.DType}");
        return new Functions.Hypot().Apply(a, b);
    }

    /// <summary>Elementwise |this| with the sign of other, −0 included (broadcast).</summary>
    public Tensor Copysign(Tensor other) => FloatArith(new Functions.Copysign(), this, other);
    /// <summary>Elementwise |this| with the sign of a number.</summary>
    public Tensor Copysign(double other) => Copysign(ScalarLike(other));

    /// <summary>Elementwise this·log(other), 0 where this is 0 unless other is NaN (broadcast).</summary>
    public Tensor Xlogy(Tensor other) => FloatArith(new Functions.Xlogy(), this, other);
    /// <summary>Elementwise this·log(other) for a number other.</summary>
    public Tensor Xlogy(double other) => Xlogy(ScalarLike(other));
    /// <summary>Elementwise x·log(other) for a number x (torch.xlogy with a Scalar self).</summary>
    public static Tensor Xlogy(double x, Tensor other) => other.ScalarLike(x).Xlogy(other);

    // The functions PyTorch computes in floating point only (its binary_float_op): integer
    // operands are promoted, then taken to Float32.
    static Tensor FloatArith(BinaryFunction f, Tensor a, Tensor b)
    {
        var (x, y) = Promote(a, b);
        return f.Apply(x.Floating(), y.Floating());
    }

    /// <summary>Elementwise remainder of this / other truncated toward zero (C's fmod): the sign of this (broadcast).</summary>
    public Tensor Fmod(Tensor other) => RemainderOf("Fmod", floored: false, this, other);
    /// <summary>Elementwise remainder of this / a number, truncated (C's fmod).</summary>
    public Tensor Fmod(double other) => Fmod(ScalarLike(other));
    /// <summary>Elementwise remainder of this / other floored (Python's %): the sign of other (broadcast).</summary>
    public Tensor Remainder(Tensor other) => RemainderOf("Remainder", floored: true, this, other);
    /// <summary>Elementwise remainder of this / a number, floored (Python's %).</summary>
    public Tensor Remainder(double other) => Remainder(ScalarLike(other));
    /// <summary>Elementwise remainder of a number / other, floored (torch.remainder with a Scalar self).</summary>
    public static Tensor Remainder(double x, Tensor other) => other.ScalarLike(x).Remainder(other);

    static Tensor RemainderOf(string name, bool floored, Tensor a, Tensor b)
    {
        var (x, y) = Promote(a, b);
        if (x.DType == DType.Bool) throw new ArgumentException($"{name}: not supported for Bool tensors");
        // PyTorch raises ZeroDivisionError for an integer divisor of zero; floats give NaN.
        if (x.DType.IsInteger() && (y == 0.0).Any()) throw new DivideByZeroException($"{name}: integer division by zero ({x.DType} divisor holds a 0)");
        return new Functions.Remainder(floored).Apply(x, y);
    }

    /// <summary>Elementwise this + weight·(end − this), all three broadcast; one floating dtype throughout (but for a 0-d weight), as torch.lerp asks.</summary>
    public Tensor Lerp(Tensor end, Tensor weight)
    {
        // libtorch lets a 0-d weight of another floating dtype through, converted.
        if (weight.NDim == 0 && weight.DType.IsFloatingPoint()) weight = weight.To(DType);
        CheckLerp(end, weight.DType);
        ShapeMath.Broadcast("Lerp", ShapeMath.Broadcast("Lerp", Layout.Shape, end.Layout.Shape), weight.Layout.Shape);
        var diff = end - this;
        // PyTorch's two forms: from this for small weights, from end for the others, so that weight 1 gives end exactly.
        return Where(weight.Abs() < 0.5, this + weight * diff, end - diff * (1.0 - weight));
    }

    /// <summary>Elementwise this + weight·(end − this) for a number weight.</summary>
    public Tensor Lerp(Tensor end, double weight)
    {
        CheckLerp(end, DType);
        ShapeMath.Broadcast("Lerp", Layout.Shape, end.Layout.Shape);
        var diff = end - this;
        var w = Scalar(weight, DType);
        return Math.Abs(weight) < 0.5 ? this + w * diff : end - diff * (1.0 - w);
    }

    void CheckLerp(Tensor end, DType weight)
    {
        if (!DType.IsFloatingPoint()) throw new ArgumentException($"Lerp: expected floating tensors, got {DType}");
        if (end.DType != DType) throw new ArgumentException($"Lerp: expected dtype {DType} for `end` but got dtype {end.DType}");
        if (weight != DType) throw new ArgumentException($"Lerp: expected dtype {DType} for `weight` but got dtype {weight}");
    }

    /// <summary>this + value·tensor1·tensor2 elementwise, all three broadcast and promoted together.</summary>
    public Tensor Addcmul(Tensor tensor1, Tensor tensor2, double value = 1)
    {
        var (t1, t2, dt) = Fused("Addcmul", tensor1, tensor2);
        return To(dt) + (value == 1 ? t1 : t1 * value) * t2;
    }

    /// <summary>this + value·tensor1/tensor2 elementwise, all three broadcast and promoted together; tensor1 and tensor2 may not both be integers.</summary>
    public Tensor Addcdiv(Tensor tensor1, Tensor tensor2, double value = 1)
    {
        if (!tensor1.DType.IsFloatingPoint() && !tensor2.DType.IsFloatingPoint())
            throw new ArgumentException($"Addcdiv: integer division with addcdiv is not supported (tensor1 {tensor1.DType}, tensor2 {tensor2.DType}); convert one to a floating dtype");
        var (t1, t2, dt) = Fused("Addcdiv", tensor1, tensor2);
        return To(dt) + (value == 1 ? t1 : t1 * value) / t2;
    }

    // Addcmul's and Addcdiv's operands, checked to broadcast and promoted to their common dtype.
    (Tensor, Tensor, DType) Fused(string op, Tensor tensor1, Tensor tensor2)
    {
        ShapeMath.Broadcast(op, ShapeMath.Broadcast(op, Layout.Shape, tensor1.Layout.Shape), tensor2.Layout.Shape);
        var dt = ResultType(this, tensor1, tensor2);
        return (tensor1.To(dt), tensor2.To(dt), dt);
    }

    // PyTorch's result_type over three operands: tensors with dims decide within a category, 0-d
    // ones count only from a higher category (float beats integer beats Bool).
    static DType ResultType(params Tensor[] operands)
    {
        DType? dimmed = null, zeroD = null;
        foreach (var t in operands)
            if (t.NDim > 0) dimmed = dimmed is { } d ? DTypes.Promote(d, t.DType) : t.DType;
            else zeroD = zeroD is { } z ? DTypes.Promote(z, t.DType) : t.DType;
        if (dimmed is not { } dims) return zeroD!.Value;
        if (zeroD is not { } zero) return dims;
        static int Category(DType d) => d.IsFloatingPoint() ? 2 : d.IsInteger() ? 1 : 0;
        return Category(zero) > Category(dims) ? zero : dims;
    }

    /// <summary>Elementwise log(x/(1 − x)), x first clamped to [eps, 1 − eps] when eps is given (a negative eps clamps nothing, as in PyTorch).</summary>
    public Tensor Logit(double? eps = null) => new Functions.Logit(eps is >= 0 ? eps : null).Apply(Floating());

    /// <summary>
    /// NaN, +inf and −inf replaced by <paramref name="nan"/>, <paramref name="posinf"/> and
    /// <paramref name="neginf"/>; the infinities default to the dtype's largest and lowest finite
    /// values. The gradient passes where the element was finite. Integer tensors are copied.
    /// </summary>
    public Tensor NanToNum(double nan = 0, double? posinf = null, double? neginf = null)
    {
        if (!DType.IsFloatingPoint()) return Clone();
        double hi = posinf ?? DType.MaxFinite();
        double lo = neginf ?? -DType.MaxFinite();
        var replacement = Where(IsNaN(), Scalar(nan, DType), Where(this > 0.0, Scalar(hi, DType), Scalar(lo, DType)));
        return Where(IsFinite(), this, replacement);
    }

    /// <summary>Elementwise test for NaN, giving Bool (false throughout for integer tensors).</summary>
    public Tensor IsNaN() => Classify(FloatClass.NaN, whenInteger: false);
    /// <summary>Elementwise test for ±inf, giving Bool.</summary>
    public Tensor IsInf() => Classify(FloatClass.Inf, whenInteger: false);
    /// <summary>Elementwise test for +inf, giving Bool.</summary>
    public Tensor IsPosInf() => Classify(FloatClass.PosInf, whenInteger: false);
    /// <summary>Elementwise test for −inf, giving Bool.</summary>
    public Tensor IsNegInf() => Classify(FloatClass.NegInf, whenInteger: false);
    /// <summary>Elementwise test for a finite value (neither NaN nor ±inf), giving Bool (true throughout for integer tensors).</summary>
    public Tensor IsFinite() => Classify(FloatClass.Finite, whenInteger: true);

    Tensor Classify(FloatClass c, bool whenInteger) =>
        DType.IsFloatingPoint() ? Backend.Classify(c, this) : Full(Layout.Shape, whenInteger ? 1 : 0, DType.Bool);

    /// <summary>
    /// Elementwise |this − other| ≤ atol + rtol·|other|, or equal (so equal infinities are close);
    /// NaNs are close to each other only with <paramref name="equalNan"/> (and then other may only
    /// broadcast to this tensor's shape, as in libtorch). Both must have one dtype. Gives Bool.
    /// </summary>
    public Tensor IsClose(Tensor other, double rtol = 1e-5, double atol = 1e-8, bool equalNan = false)
    {
        if (DType != other.DType) throw new ArgumentException($"IsClose: expected both tensors to have the same dtype, but got {DType} and {other.DType}");
        if (rtol < 0) throw new ArgumentException($"IsClose: rtol must be greater than or equal to zero, but got {rtol}");
        if (atol < 0) throw new ArgumentException($"IsClose: atol must be greater than or equal to zero, but got {atol}");
        // With equalNan libtorch ands the NaN masks in place into one of self's shape: other may
        // broadcast to it, not beyond.
        var shape = ShapeMath.Broadcast("IsClose", Layout.Shape, other.Layout.Shape);
        if (equalNan && DType.IsFloatingPoint() && !shape.SequenceEqual(Layout.Shape))
            throw new ArgumentException($"IsClose: output with shape {ShapeMath.Format(Layout.Shape)} doesn't match the broadcast shape {ShapeMath.Format(shape)}");
        using var _ = Autograd.NoGrad();
        var close = Eq(other);
        if (equalNan && DType.IsFloatingPoint()) close |= IsNaN() & other.IsNaN();
        if (rtol == 0 && atol == 0) return close;
        // Bool operands are measured in Float32; integers promote where they meet the tolerances.
        var (a, b) = DType == DType.Bool ? (To(DType.Float32), other.To(DType.Float32)) : (this, other);
        var allowed = (b * rtol).Abs() + atol;
        var actual = (a - b).Abs();
        return close | (actual.IsFinite() & (actual <= allowed));
    }

    /// <summary>True when both tensors have the same shape and every element is equal (NaN equals nothing); the dtypes are promoted as for <see cref="Eq"/>, as libtorch's torch.equal does.</summary>
    public bool Equal(Tensor other) => Layout.Shape.SequenceEqual(other.Layout.Shape) && Eq(other).All();
}
