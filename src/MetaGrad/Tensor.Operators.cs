using MetaGrad.Backends;
using MetaGrad.Functions;

namespace MetaGrad;

public partial class Tensor
{
    // Binary operands are promoted to one dtype here (PyTorch's result_type), so every Function
    // and kernel below sees a single dtype.
    static (Tensor, Tensor) Promote(Tensor a, Tensor b)
    {
        var dt = DTypes.ResultType(a, b);
        return (a.To(dt), b.To(dt));
    }

    // A C# number joins a tensor the way a Python number does: it never widens a float tensor.
    Tensor ScalarLike(double value)
    {
        bool isFloat = value != Math.Floor(value) || double.IsInfinity(value) || double.IsNaN(value);
        return Scalar(value, DTypes.WithScalar(DType, isFloat));
    }

    static Tensor Arith(BinaryFunction f, Tensor a, Tensor b)
    {
        var (x, y) = Promote(a, b);
        return f.Apply(x, y);
    }

    /// <summary>Elementwise sum with broadcasting.</summary>
    public static Tensor operator +(Tensor a, Tensor b) => Arith(new Add(), a, b);
    /// <summary>Adds a number.</summary>
    public static Tensor operator +(Tensor a, double b) => a + a.ScalarLike(b);
    /// <summary>Adds a number.</summary>
    public static Tensor operator +(double a, Tensor b) => b.ScalarLike(a) + b;
    /// <summary>Elementwise difference with broadcasting.</summary>
    public static Tensor operator -(Tensor a, Tensor b) => Arith(new Sub(), a, b);
    /// <summary>Subtracts a number.</summary>
    public static Tensor operator -(Tensor a, double b) => a - a.ScalarLike(b);
    /// <summary>Subtracts from a number.</summary>
    public static Tensor operator -(double a, Tensor b) => b.ScalarLike(a) - b;
    /// <summary>Elementwise product with broadcasting.</summary>
    public static Tensor operator *(Tensor a, Tensor b) => Arith(new Mul(), a, b);
    /// <summary>Multiplies by a number.</summary>
    public static Tensor operator *(Tensor a, double b) => a * a.ScalarLike(b);
    /// <summary>Multiplies by a number.</summary>
    public static Tensor operator *(double a, Tensor b) => b.ScalarLike(a) * b;

    /// <summary>True division with broadcasting: integer operands give Float32, as in PyTorch.</summary>
    public static Tensor operator /(Tensor a, Tensor b)
    {
        var (x, y) = Promote(a, b);
        if (!x.DType.IsFloatingPoint()) (x, y) = (x.To(DType.Float32), y.To(DType.Float32));
        return new Div().Apply(x, y);
    }

    /// <summary>Divides by a number.</summary>
    public static Tensor operator /(Tensor a, double b) => a / a.ScalarLike(b);
    /// <summary>Divides a number.</summary>
    public static Tensor operator /(double a, Tensor b) => b.ScalarLike(a) / b;
    /// <summary>Negation.</summary>
    public static Tensor operator -(Tensor a) => new Neg().Apply(a);

    /// <summary>Elementwise power with a constant exponent.</summary>
    public Tensor Pow(double exponent)
    {
        // PyTorch refuses a negative integral number as the exponent of an integer tensor (a tensor of such exponents is allowed).
        if (!DType.IsFloatingPoint() && exponent < 0 && exponent == Math.Floor(exponent))
            throw new ArgumentException($"Pow: integers to negative integer powers are not allowed ({DType} tensor to the power {exponent})");
        return new PowScalar(exponent).Apply(DType.IsFloatingPoint() || exponent == Math.Floor(exponent) ? this : To(DType.Float32));
    }
    /// <summary>Elementwise power with tensor exponents (broadcast).</summary>
    public Tensor Pow(Tensor exponent) => Arith(new Functions.Pow(), this, exponent);

    /// <summary>Elementwise e^x.</summary>
    public Tensor Exp() => new Functions.Exp().Apply(Floating());
    /// <summary>Elementwise natural logarithm.</summary>
    public Tensor Log() => new Functions.Log().Apply(Floating());
    /// <summary>Elementwise log(1 + x), accurate for small x.</summary>
    public Tensor Log1p() => new Functions.Log1p().Apply(Floating());
    /// <summary>Elementwise square root.</summary>
    public Tensor Sqrt() => new Functions.Sqrt().Apply(Floating());
    /// <summary>Elementwise 1/√x.</summary>
    public Tensor Rsqrt() => 1.0 / Sqrt();
    /// <summary>Elementwise sine.</summary>
    public Tensor Sin() => new Functions.Sin().Apply(Floating());
    /// <summary>Elementwise cosine.</summary>
    public Tensor Cos() => new Functions.Cos().Apply(Floating());
    /// <summary>Elementwise hyperbolic tangent.</summary>
    public Tensor Tanh() => new Functions.Tanh().Apply(Floating());
    /// <summary>Elementwise logistic function, stable for large |x|.</summary>
    public Tensor Sigmoid() => new Functions.Sigmoid().Apply(Floating());
    /// <summary>Elementwise max(x, 0).</summary>
    public Tensor Relu() => new Functions.Relu().Apply(this);
    /// <summary>Elementwise error function.</summary>
    public Tensor Erf() => new Functions.Erf().Apply(Floating());
    /// <summary>Elementwise |x|.</summary>
    public Tensor Abs() => new Functions.Abs().Apply(this);
    /// <summary>Elementwise x².</summary>
    public Tensor Square() => this * this;
    /// <summary>Elementwise 1/x.</summary>
    public Tensor Reciprocal() => 1.0 / this;

    /// <summary>Elementwise sign (-1, 0, 1); zero gradient, as in PyTorch.</summary>
    public Tensor Sign() => DType == DType.Bool ? Clone() : StepOf("Sign", UnaryOp.Sign);   // a Bool's sign is itself, as in PyTorch
    /// <summary>Elementwise floor (zero gradient).</summary>
    public Tensor Floor() => StepOf("Floor", UnaryOp.Floor);
    /// <summary>Elementwise ceiling (zero gradient).</summary>
    public Tensor Ceil() => StepOf("Ceil", UnaryOp.Ceil);
    /// <summary>Elementwise rounding half to even (zero gradient).</summary>
    public Tensor Round() => StepOf("Round", UnaryOp.Round);

    /// <summary>Limits every element to [min, max]; either bound may be omitted.</summary>
    public Tensor Clamp(double? min = null, double? max = null)
    {
        if (min is null && max is null) throw new ArgumentException("Clamp: at least one of min and max must be given");
        return new Functions.Clamp(min, max).Apply(this);
    }

    /// <summary>Alias of <see cref="Clamp"/> (torch.clip).</summary>
    public Tensor Clip(double? min = null, double? max = null) => Clamp(min, max);

    /// <summary>Elementwise maximum of two tensors; ties share the gradient.</summary>
    public Tensor Maximum(Tensor other) => Arith(new ElementwiseExtreme(max: true), this, other);
    /// <summary>Elementwise minimum of two tensors; ties share the gradient.</summary>
    public Tensor Minimum(Tensor other) => Arith(new ElementwiseExtreme(max: false), this, other);

    // Floating functions of integer tensors compute in the default float dtype, as in PyTorch.
    Tensor Floating() => DType.IsFloatingPoint() ? this : To(DType.Float32);

    /// <summary>This tensor converted to a dtype (itself when it already has it). Float conversions keep the gradient.</summary>
    public Tensor To(DType dtype)
    {
        if (dtype == DType) return this;
        if (!dtype.IsFloatingPoint())
        {
            Tensor cast = Backend.Cast(this, dtype);
            Tracing.Active?.Primitive("Cast", dtype, [this], cast);
            return cast;
        }
        return new Functions.Cast(dtype).Apply(this);
    }

    /// <summary>This tensor on a device (only the CPU exists today).</summary>
    public Tensor To(Device device) => device.Equals(Device) ? this : throw new NotSupportedException($"To: device {device} is not available; MetaGrad runs on the CPU only");

    /// <summary>Float32 copy (or itself).</summary>
    public Tensor Float() => To(DType.Float32);
    /// <summary>Float64 copy (or itself).</summary>
    public Tensor Double() => To(DType.Float64);
    /// <summary>Int64 copy (or itself).</summary>
    public Tensor Long() => To(DType.Int64);
    /// <summary>Int32 copy (or itself).</summary>
    public Tensor Int() => To(DType.Int32);
    /// <summary>Bool copy (or itself).</summary>
    public Tensor Bool() => To(DType.Bool);
    /// <summary>Float16 copy (or itself), PyTorch's <c>half()</c>: rounded to nearest even, beyond ±65504 to infinity.</summary>
    public Tensor Half() => To(DType.Float16);
    /// <summary>BFloat16 copy (or itself), PyTorch's <c>bfloat16()</c>: rounded to nearest even.</summary>
    public Tensor BFloat16() => To(DType.BFloat16);
    /// <summary>UInt8 copy (or itself), PyTorch's <c>byte()</c>: truncated toward zero, then wrapped modulo 256.</summary>
    public Tensor Byte() => To(DType.UInt8);
    /// <summary>Int8 copy (or itself), PyTorch's <c>char()</c>.</summary>
    public Tensor Char() => To(DType.Int8);
    /// <summary>Int16 copy (or itself), PyTorch's <c>short()</c>.</summary>
    public Tensor Short() => To(DType.Int16);

    Tensor Compare(CompareOp op, Tensor other)
    {
        var (a, b) = Promote(this, other);
        Tensor result = Backend.Compare(op, a, b);
        Tracing.Active?.Primitive("Compare", op, [a, b], result);
        return result;
    }

    /// <summary>Elementwise a == b, giving Bool.</summary>
    public Tensor Eq(Tensor other) => Compare(CompareOp.Eq, other);
    /// <summary>Elementwise a != b, giving Bool.</summary>
    public Tensor Ne(Tensor other) => Compare(CompareOp.Ne, other);
    /// <summary>Elementwise a &lt; b, giving Bool.</summary>
    public Tensor Lt(Tensor other) => Compare(CompareOp.Lt, other);
    /// <summary>Elementwise a &lt;= b, giving Bool.</summary>
    public Tensor Le(Tensor other) => Compare(CompareOp.Le, other);
    /// <summary>Elementwise a &gt; b, giving Bool.</summary>
    public Tensor Gt(Tensor other) => Compare(CompareOp.Gt, other);
    /// <summary>Elementwise a &gt;= b, giving Bool.</summary>
    public Tensor Ge(Tensor other) => Compare(CompareOp.Ge, other);

    /// <summary>
    /// Elementwise equality, giving Bool. A null operand compares by reference instead, as Python's
    /// <c>x.grad == None</c> does: <c>if (x.Grad == null)</c> reads as C# users expect (a 0-d Bool
    /// tensor, true when both are null, tested by <c>if</c> through the truth operators below).
    /// </summary>
    public static Tensor operator ==(Tensor? a, Tensor? b) => a is null || b is null ? From(ReferenceEquals(a, b)) : a.Eq(b);
    /// <summary>Elementwise inequality, giving Bool; a null operand compares by reference (see ==).</summary>
    public static Tensor operator !=(Tensor? a, Tensor? b) => a is null || b is null ? From(!ReferenceEquals(a, b)) : a.Ne(b);

    /// <summary>
    /// A one-element tensor's truth, as Python's <c>bool(tensor)</c>: its value is not zero. A tensor
    /// of any other size is ambiguous and throws, as in PyTorch.
    /// </summary>
    public static bool operator true(Tensor t) => t.IsTrue();
    /// <summary>The negation of <see cref="op_True"/>.</summary>
    public static bool operator false(Tensor t) => !t.IsTrue();

    bool IsTrue()
    {
        if (Numel != 1)
            throw new InvalidOperationException($"Boolean value of a tensor with {Numel} elements (shape {ShapeMath.Format(Layout.Shape)}) is ambiguous: use .Any() or .All(), or compare a single element");
        return Backend.ToArray<double>(this)[0] != 0;
    }
    /// <summary>Elementwise comparison, giving Bool.</summary>
    public static Tensor operator <(Tensor a, Tensor b) => a.Lt(b);
    /// <summary>Elementwise comparison, giving Bool.</summary>
    public static Tensor operator >(Tensor a, Tensor b) => a.Gt(b);
    /// <summary>Elementwise comparison, giving Bool.</summary>
    public static Tensor operator <=(Tensor a, Tensor b) => a.Le(b);
    /// <summary>Elementwise comparison, giving Bool.</summary>
    public static Tensor operator >=(Tensor a, Tensor b) => a.Ge(b);
    /// <summary>Elementwise comparison with a number, giving Bool.</summary>
    public static Tensor operator ==(Tensor a, double b) => a.Eq(a.ScalarLike(b));
    /// <summary>Elementwise comparison with a number, giving Bool.</summary>
    public static Tensor operator !=(Tensor a, double b) => a.Ne(a.ScalarLike(b));
    /// <summary>Elementwise comparison with a number, giving Bool.</summary>
    public static Tensor operator <(Tensor a, double b) => a.Lt(a.ScalarLike(b));
    /// <summary>Elementwise comparison with a number, giving Bool.</summary>
    public static Tensor operator >(Tensor a, double b) => a.Gt(a.ScalarLike(b));
    /// <summary>Elementwise comparison with a number, giving Bool.</summary>
    public static Tensor operator <=(Tensor a, double b) => a.Le(a.ScalarLike(b));
    /// <summary>Elementwise comparison with a number, giving Bool.</summary>
    public static Tensor operator >=(Tensor a, double b) => a.Ge(a.ScalarLike(b));

    /// <summary>Elementwise logical and of Bool tensors.</summary>
    public static Tensor operator &(Tensor a, Tensor b) => a.Backend.Logical(LogicalOp.And, a, b);
    /// <summary>Elementwise logical or of Bool tensors.</summary>
    public static Tensor operator |(Tensor a, Tensor b) => a.Backend.Logical(LogicalOp.Or, a, b);
    /// <summary>Elementwise logical xor of Bool tensors.</summary>
    public static Tensor operator ^(Tensor a, Tensor b) => a.Backend.Logical(LogicalOp.Xor, a, b);
    /// <summary>Elementwise logical not of a Bool tensor.</summary>
    public static Tensor operator !(Tensor a) => a.Backend.LogicalNot(a);
    /// <summary>Elementwise logical not of a Bool tensor (PyTorch's ~mask).</summary>
    public static Tensor operator ~(Tensor a) => a.Backend.LogicalNot(a);

    /// <summary>A 0-d Float32 tensor from a number, so numbers can stand where tensors are expected.</summary>
    public static implicit operator Tensor(float value) => From(value);
    /// <summary>A 0-d Float64 tensor from a number.</summary>
    public static implicit operator Tensor(double value) => From(value);

    /// <summary>True when every element is true (or non-zero).</summary>
    public bool All() => Backend.ToArray<bool>(this).All(b => b);
    /// <summary>True when any element is true (or non-zero).</summary>
    public bool Any() => Backend.ToArray<bool>(this).Any(b => b);

    /// <summary>torch.allclose(a, b): true when both have the same shape and all elements of a are within rtol·|b| + atol of b.</summary>
    public static bool AllClose(Tensor a, Tensor b, double rtol = 1e-5, double atol = 1e-8) => a.AllClose(b, rtol, atol);

    /// <summary>True when both tensors have the same shape and all elements within rtol·|other| + atol.</summary>
    public bool AllClose(Tensor other, double rtol = 1e-5, double atol = 1e-8)
    {
        if (!Layout.Shape.SequenceEqual(other.Layout.Shape)) return false;
        var a = ToArray<double>();
        var b = other.ToArray<double>();
        for (int i = 0; i < a.Length; i++)
            if (!(Math.Abs(a[i] - b[i]) <= atol + rtol * Math.Abs(b[i])) && !(double.IsNaN(a[i]) && double.IsNaN(b[i])) && a[i] != b[i]) return false;
        return true;
    }

    // In-place arithmetic: computed out of place, then written into this storage. When the graph
    // is involved, this tensor takes over the new node as its history (PyTorch's rebase), and the
    // computation reads a clone of it: a node that saves its input for backward (Mul, Div, Clamp)
    // must keep the values from before the write, as PyTorch keeps the original self.

    /// <summary>this += other (times alpha), in place.</summary>
    public Tensor Add_(Tensor other, double alpha = 1) => alpha == 1
        ? Arithmetic_("Add_", BinaryOp.Add, other, self => self + other)
        : AddScaled_(other, alpha);

    // Outside the graph, contiguous floats of one shape take the fused kernel: one pass, no
    // temporary, one rounding as in libtorch; anything else is computed as self + other·alpha.
    Tensor AddScaled_(Tensor other, double alpha)
    {
        bool fused = !(Autograd.IsGradEnabled && (RequiresGrad || other.RequiresGrad))
            && (DType == DType.Float32 || DType == DType.Float64) && other.DType == DType
            && IsContiguous && other.IsContiguous && Layout.Shape.AsSpan().SequenceEqual(other.Layout.Shape)
            && Backend is Backends.IFusedKernels && other.Backend == Backend
            && (!ReferenceEquals(other.Storage, Storage) || other.Layout.Offset == Layout.Offset);
        if (!fused) return InPlace("Add_", other, self => self + other * alpha);
        CheckInPlace("Add_");
        ((Backends.IFusedKernels)Backend).AddScaled(this, other, alpha);
        MarkWritten();
        return this;
    }
    /// <summary>this += value, in place.</summary>
    public Tensor Add_(double value) => Arithmetic_("Add_", BinaryOp.Add, ScalarLike(value), self => self + value);
    /// <summary>this -= other, in place.</summary>
    public Tensor Sub_(Tensor other) => Arithmetic_("Sub_", BinaryOp.Sub, other, self => self - other);
    /// <summary>this -= value, in place.</summary>
    public Tensor Sub_(double value) => Arithmetic_("Sub_", BinaryOp.Sub, ScalarLike(value), self => self - value);
    /// <summary>this *= other, in place.</summary>
    public Tensor Mul_(Tensor other) => Arithmetic_("Mul_", BinaryOp.Mul, other, self => self * other);
    /// <summary>this *= value, in place.</summary>
    public Tensor Mul_(double value) => Arithmetic_("Mul_", BinaryOp.Mul, ScalarLike(value), self => self * value);
    /// <summary>this /= other, in place.</summary>
    public Tensor Div_(Tensor other) => Arithmetic_("Div_", BinaryOp.Div, other, self => self / other);
    /// <summary>this /= value, in place.</summary>
    public Tensor Div_(double value) => Arithmetic_("Div_", BinaryOp.Div, ScalarLike(value), self => self / value);

    // Outside the graph, a contiguous tensor is updated by the kernel directly (one pass, no new
    // buffer); otherwise the general path computes out of place and writes back.
    Tensor Arithmetic_(string op, BinaryOp kernel, Tensor other, Func<Tensor, Tensor> compute)
    {
        bool direct = !(Autograd.IsGradEnabled && (RequiresGrad || other.RequiresGrad))
            && IsContiguous && DTypes.ResultType(this, other) == DType
            && (kernel != BinaryOp.Div || DType.IsFloatingPoint())
            && IsExpandable(other.Layout.Shape, Layout.Shape)
            && (!ReferenceEquals(other.Storage, Storage) || (other.Layout.Offset == Layout.Offset && other.Layout.Strides.SequenceEqual(Layout.Strides) && other.Layout.Shape.SequenceEqual(Layout.Shape)));
        if (!direct) return InPlace(op, other, compute);
        CheckInPlace(op);
        Backend.BinaryInPlace(kernel, this, other.To(DType));
        MarkWritten();
        return this;
    }
    /// <summary>Clamps in place.</summary>
    public Tensor Clamp_(double? min = null, double? max = null) => InPlace("Clamp_", null, self => self.Clamp(min, max));
    /// <summary>Copies src (broadcast, converted) into this tensor, in place.</summary>
    public Tensor Copy_(Tensor src)
    {
        if (!(Autograd.IsGradEnabled && (RequiresGrad || src.RequiresGrad)) && IsExpandable(src.Layout.Shape, Layout.Shape))
        {
            // Nothing to record: the backend copies (broadcast, converted) straight into this
            // view, where the recorded form below builds a mask and a Where (4 ns an element).
            CheckInPlace("Copy_");
            Backend.Copy(this, src);
            MarkWritten();
            return this;
        }
        return InPlace("Copy_", src, self =>
            // Where over an all-true mask: src's gradient passes, the overwritten values get zero, and
            // the result is in the graph when either side is (as PyTorch's CopyBackwards).
            Where(OnesLike(self, DType.Bool), src.To(DType).Expand(Layout.Shape), self));
    }

    internal Tensor InPlace(string op, Tensor? other, Func<Tensor, Tensor> compute)
    {
        CheckInPlace(op);
        bool track = Autograd.IsGradEnabled && (RequiresGrad || other is { RequiresGrad: true });
        if (track && ViewBase is not null)
            throw new NotSupportedException($"{op}: in-place operations on a view of another tensor are not recorded by autograd yet; assign through the base tensor's indexer (x[...] = value) instead");
        Tensor result;
        // When recorded, the operation reads a copy of the old values: its backward may have saved
        // them, and they are about to be overwritten.
        using (Autograd.SetGradEnabled(track)) result = compute(track ? Clone() : this);
        if (result.DType != DType)
            throw new InvalidOperationException($"{op}: result type {result.DType} can't be cast to the desired output type {DType}");
        if (!result.Layout.Shape.SequenceEqual(Layout.Shape))
            throw new ArgumentException($"{op}: output with shape {ShapeMath.Format(Layout.Shape)} doesn't match the broadcast shape {ShapeMath.Format(result.Layout.Shape)}");
        Backend.Copy(this, result);
        MarkWritten();
        if (track) (GradFn, OutputNr) = (result.GradFn, result.OutputNr);
        return this;
    }
}
