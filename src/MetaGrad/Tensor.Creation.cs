namespace MetaGrad;

public partial class Tensor
{
    // Tensors are made on the default device (the only one today); its backend allocates the storage.
    static Backends.IBackend Cpu => Device.Cpu.Backend;

    static Tensor Leaf(Tensor t, bool requiresGrad) => requiresGrad ? t.RequiresGrad_() : t;

    static T[] Copy<T>(Array source) where T : unmanaged
    {
        // Byte for byte, as Buffer.BlockCopy would do but for Half and BFloat16 too, which it refuses (not primitive).
        var result = new T[source.Length];
        var bytes = System.Runtime.InteropServices.MemoryMarshal.CreateReadOnlySpan(
            ref System.Runtime.InteropServices.MemoryMarshal.GetArrayDataReference(source), source.Length * System.Runtime.CompilerServices.Unsafe.SizeOf<T>());
        bytes.CopyTo(System.Runtime.InteropServices.MemoryMarshal.AsBytes(result.AsSpan()));
        return result;
    }

    static int[] ShapeOf(Array a) => Enumerable.Range(0, a.Rank).Select(a.GetLength).ToArray();

    /// <summary>
    /// A tensor holding a copy of a .NET array of any rank (<c>float[]</c>, <c>double[,]</c>, <c>long[,,]</c>...),
    /// with its dtype from the element type: float → Float32, double → Float64, long → Int64, int → Int32, bool → Bool,
    /// Half → Float16, BFloat16 → BFloat16, byte → UInt8, sbyte → Int8, short → Int16, ushort → UInt16.
    /// </summary>
    public static Tensor From(Array data, bool requiresGrad = false)
    {
        var shape = ShapeOf(data);
        var t = data switch
        {
            _ when data.GetType().GetElementType() == typeof(float) => Cpu.FromArray(Copy<float>(data), shape),
            _ when data.GetType().GetElementType() == typeof(double) => Cpu.FromArray(Copy<double>(data), shape),
            _ when data.GetType().GetElementType() == typeof(long) => Cpu.FromArray(Copy<long>(data), shape),
            _ when data.GetType().GetElementType() == typeof(int) => Cpu.FromArray(Copy<int>(data), shape),
            _ when data.GetType().GetElementType() == typeof(bool) => Cpu.FromArray(Copy<bool>(data), shape),
            _ when data.GetType().GetElementType() == typeof(Half) => Cpu.FromArray(Copy<Half>(data), shape),
            _ when data.GetType().GetElementType() == typeof(BFloat16) => Cpu.FromArray(Copy<BFloat16>(data), shape),
            _ when data.GetType().GetElementType() == typeof(byte) => Cpu.FromArray(Copy<byte>(data), shape),
            _ when data.GetType().GetElementType() == typeof(sbyte) => Cpu.FromArray(Copy<sbyte>(data), shape),
            _ when data.GetType().GetElementType() == typeof(short) => Cpu.FromArray(Copy<short>(data), shape),
            _ when data.GetType().GetElementType() == typeof(ushort) => Cpu.FromArray(Copy<ushort>(data), shape),
            _ => throw new ArgumentException($"Tensor.From: unsupported element type {data.GetType().GetElementType()?.Name}; use float, double, long, int, bool, Half, BFloat16, byte, sbyte, short or ushort"),
        };
        return Leaf(t, requiresGrad);
    }

    /// <summary>A 0-d Float32 tensor.</summary>
    public static Tensor From(float value, bool requiresGrad = false) => Leaf(Cpu.FromArray(new[] { value }, []), requiresGrad);
    /// <summary>A 0-d Float64 tensor.</summary>
    public static Tensor From(double value, bool requiresGrad = false) => Leaf(Cpu.FromArray(new[] { value }, []), requiresGrad);
    /// <summary>A 0-d Int64 tensor.</summary>
    public static Tensor From(long value) => Cpu.FromArray(new[] { value }, []);
    /// <summary>A 0-d Int32 tensor.</summary>
    public static Tensor From(int value) => Cpu.FromArray(new[] { value }, []);
    /// <summary>A 0-d Bool tensor.</summary>
    public static Tensor From(bool value) => Cpu.FromArray(new[] { value }, []);

    /// <summary>A tensor of the given shape over a copy of row-major data.</summary>
    public static Tensor From<T>(T[] data, int[] shape, bool requiresGrad = false) where T : unmanaged =>
        Leaf(Cpu.FromArray((T[])data.Clone(), ShapeMath.Infer("Tensor.From", shape, data.Length)), requiresGrad);

    /// <summary>A 0-d tensor of a given dtype.</summary>
    public static Tensor Scalar(double value, DType? dtype = null) => (dtype ?? DefaultDType) switch
    {
        DType.Float32 => Cpu.FromArray(new[] { (float)value }, []),
        DType.Float64 => Cpu.FromArray(new[] { value }, []),
        DType.Int64 => Cpu.FromArray(new[] { (long)value }, []),
        DType.Int32 => Cpu.FromArray(new[] { (int)value }, []),
        DType.Bool => Cpu.FromArray(new[] { value != 0 }, []),
        // The narrow dtypes convert as a cast from double does (round to nearest even, wrap for integers).
        var narrow => Cpu.Cast(Cpu.FromArray(new[] { value }, []), narrow),
    };

    /// <summary>Zeros (the CPU backend's memory is zeroed, so Empty equals Zeros there).</summary>
    public static Tensor Empty(params int[] shape) => Empty(shape, dtype: null);
    /// <summary>An uninitialised tensor (zeroed on the CPU).</summary>
    public static Tensor Empty(int[] shape, DType? dtype = null, bool requiresGrad = false) =>
        Leaf(Cpu.Empty(CheckShape("Empty", shape), dtype ?? DefaultDType), requiresGrad);

    /// <summary>A tensor of zeros.</summary>
    public static Tensor Zeros(params int[] shape) => Zeros(shape, dtype: null);
    /// <summary>A tensor of zeros.</summary>
    public static Tensor Zeros(int[] shape, DType? dtype = null, bool requiresGrad = false) =>
        Leaf(Cpu.Empty(CheckShape("Zeros", shape), dtype ?? DefaultDType), requiresGrad);

    // Sizes as separate arguments followed by options, as a PyTorch user writes them
    // (torch.zeros(32, 10, requires_grad=True)); more than four dims take an array.
    /// <summary>A tensor of zeros, sizes given one by one.</summary>
    public static Tensor Zeros(int size0, DType? dtype = null, bool requiresGrad = false) => Zeros([size0], dtype, requiresGrad);
    /// <summary>A tensor of zeros, sizes given one by one.</summary>
    public static Tensor Zeros(int size0, int size1, DType? dtype = null, bool requiresGrad = false) => Zeros([size0, size1], dtype, requiresGrad);
    /// <summary>A tensor of zeros, sizes given one by one.</summary>
    public static Tensor Zeros(int size0, int size1, int size2, DType? dtype = null, bool requiresGrad = false) => Zeros([size0, size1, size2], dtype, requiresGrad);
    /// <summary>A tensor of zeros, sizes given one by one.</summary>
    public static Tensor Zeros(int size0, int size1, int size2, int size3, DType? dtype = null, bool requiresGrad = false) => Zeros([size0, size1, size2, size3], dtype, requiresGrad);

    /// <summary>A tensor of ones.</summary>
    public static Tensor Ones(params int[] shape) => Ones(shape, dtype: null);
    /// <summary>A tensor of ones.</summary>
    public static Tensor Ones(int[] shape, DType? dtype = null, bool requiresGrad = false) => Full(shape, 1, dtype, requiresGrad);

    // Sizes as separate arguments followed by options, as a PyTorch user writes them
    // (torch.ones(32, 10, requires_grad=True)); more than four dims take an array.
    /// <summary>A tensor of ones, sizes given one by one.</summary>
    public static Tensor Ones(int size0, DType? dtype = null, bool requiresGrad = false) => Ones([size0], dtype, requiresGrad);
    /// <summary>A tensor of ones, sizes given one by one.</summary>
    public static Tensor Ones(int size0, int size1, DType? dtype = null, bool requiresGrad = false) => Ones([size0, size1], dtype, requiresGrad);
    /// <summary>A tensor of ones, sizes given one by one.</summary>
    public static Tensor Ones(int size0, int size1, int size2, DType? dtype = null, bool requiresGrad = false) => Ones([size0, size1, size2], dtype, requiresGrad);
    /// <summary>A tensor of ones, sizes given one by one.</summary>
    public static Tensor Ones(int size0, int size1, int size2, int size3, DType? dtype = null, bool requiresGrad = false) => Ones([size0, size1, size2, size3], dtype, requiresGrad);

    /// <summary>A tensor filled with one value.</summary>
    public static Tensor Full(int[] shape, double value, DType? dtype = null, bool requiresGrad = false)
    {
        var type = dtype ?? DefaultDType;
        DTypes.CheckFits("Full", value, type);
        Tensor t = Cpu.Empty(CheckShape("Full", shape), type);
        Cpu.Fill(t, value);
        return Leaf(t, requiresGrad);
    }

    static int[] CheckShape(string op, int[] shape)
    {
        foreach (var s in shape)
            if (s < 0) throw new ArgumentException($"{op}: negative dimension {s} in shape {ShapeMath.Format(shape)}");
        ShapeMath.Numel(shape, op);
        return (int[])shape.Clone();
    }

    /// <summary>0, 1, ..., end-1 as Int64 (as torch.arange with an integer bound).</summary>
    public static Tensor Arange(long end, DType dtype = DType.Int64, bool requiresGrad = false) => Arange(0, end, 1, dtype, requiresGrad);
    /// <summary>0, 1, ... below end as Float32.</summary>
    public static Tensor Arange(double end, DType? dtype = null, bool requiresGrad = false) => Arange(0, end, 1, dtype, requiresGrad);
    /// <summary>start, start+step, ... below end.</summary>
    public static Tensor Arange(double start, double end, double step = 1, DType? dtype = null, bool requiresGrad = false) =>
        Leaf(Cpu.Arange(start, end, step, dtype ?? DefaultDType), requiresGrad);

    /// <summary><paramref name="steps"/> evenly spaced values from start to end inclusive.</summary>
    public static Tensor Linspace(double start, double end, int steps, DType? dtype = null, bool requiresGrad = false)
    {
        if (steps < 0) throw new ArgumentException($"Linspace: number of steps must be non-negative, got {steps}");
        var values = new double[steps];
        double step = steps > 1 ? (end - start) / (steps - 1) : 0;
        // Fill from both ends, as PyTorch does, so the last value is exactly end.
        for (int i = 0; i < steps; i++) values[i] = i < steps / 2 ? start + i * step : end - (steps - 1 - i) * step;
        return Leaf(Cpu.Cast(Cpu.FromArray(values, [steps]), dtype ?? DefaultDType), requiresGrad);
    }

    /// <summary>An n×m matrix with ones on the diagonal.</summary>
    public static Tensor Eye(int n, int? m = null, DType? dtype = null, bool requiresGrad = false)
    {
        int cols = m ?? n;
        var values = new double[n * cols];
        for (int i = 0; i < Math.Min(n, cols); i++) values[i * cols + i] = 1;
        return Leaf(Cpu.Cast(Cpu.FromArray(values, [n, cols]), dtype ?? DefaultDType), requiresGrad);
    }

    /// <summary>Sets how many threads the CPU kernels may use (torch.set_num_threads).</summary>
    public static void SetNumThreads(int threads) => Backends.Cpu.Threading.SetNumThreads(threads);

    /// <summary>How many threads the CPU kernels may use (torch.get_num_threads).</summary>
    public static int GetNumThreads() => Backends.Cpu.Threading.NumThreads;

    /// <summary>Reseeds the default generator (torch.manual_seed).</summary>
    public static void ManualSeed(ulong seed) => Generator.Default.ManualSeed(seed);

    /// <summary>Uniform samples in [0, 1).</summary>
    public static Tensor Rand(params int[] shape) => Rand(shape, dtype: null);
    /// <summary>Uniform samples in [0, 1).</summary>
    public static Tensor Rand(int[] shape, DType? dtype = null, bool requiresGrad = false, Generator? generator = null)
    {
        Tensor t = Cpu.Empty(CheckShape("Rand", shape), dtype ?? DefaultDType);
        Cpu.FillUniform(t, generator ?? Generator.Default, 0, 1);
        return Leaf(t, requiresGrad);
    }

    /// <summary>Uniform samples in [0, 1), sizes given one by one (torch.rand(32, 10, requires_grad=True)).</summary>
    public static Tensor Rand(int size0, DType? dtype = null, bool requiresGrad = false, Generator? generator = null) =>
        Rand([size0], dtype, requiresGrad, generator);
    /// <summary>Uniform samples in [0, 1), sizes given one by one.</summary>
    public static Tensor Rand(int size0, int size1, DType? dtype = null, bool requiresGrad = false, Generator? generator = null) =>
        Rand([size0, size1], dtype, requiresGrad, generator);
    /// <summary>Uniform samples in [0, 1), sizes given one by one.</summary>
    public static Tensor Rand(int size0, int size1, int size2, DType? dtype = null, bool requiresGrad = false, Generator? generator = null) =>
        Rand([size0, size1, size2], dtype, requiresGrad, generator);
    /// <summary>Uniform samples in [0, 1), sizes given one by one.</summary>
    public static Tensor Rand(int size0, int size1, int size2, int size3, DType? dtype = null, bool requiresGrad = false, Generator? generator = null) =>
        Rand([size0, size1, size2, size3], dtype, requiresGrad, generator);

    /// <summary>Standard normal samples.</summary>
    public static Tensor Randn(params int[] shape) => Randn(shape, dtype: null);
    /// <summary>Standard normal samples.</summary>
    public static Tensor Randn(int[] shape, DType? dtype = null, bool requiresGrad = false, Generator? generator = null)
    {
        Tensor t = Cpu.Empty(CheckShape("Randn", shape), dtype ?? DefaultDType);
        Cpu.FillNormal(t, generator ?? Generator.Default, 0, 1);
        return Leaf(t, requiresGrad);
    }

    /// <summary>Standard normal samples, sizes given one by one (torch.randn(32, 10, requires_grad=True)).</summary>
    public static Tensor Randn(int size0, DType? dtype = null, bool requiresGrad = false, Generator? generator = null) =>
        Randn([size0], dtype, requiresGrad, generator);
    /// <summary>Standard normal samples, sizes given one by one.</summary>
    public static Tensor Randn(int size0, int size1, DType? dtype = null, bool requiresGrad = false, Generator? generator = null) =>
        Randn([size0, size1], dtype, requiresGrad, generator);
    /// <summary>Standard normal samples, sizes given one by one.</summary>
    public static Tensor Randn(int size0, int size1, int size2, DType? dtype = null, bool requiresGrad = false, Generator? generator = null) =>
        Randn([size0, size1, size2], dtype, requiresGrad, generator);
    /// <summary>Standard normal samples, sizes given one by one.</summary>
    public static Tensor Randn(int size0, int size1, int size2, int size3, DType? dtype = null, bool requiresGrad = false, Generator? generator = null) =>
        Randn([size0, size1, size2, size3], dtype, requiresGrad, generator);

    /// <summary>Uniform integers in [low, high), Int64 by default.</summary>
    public static Tensor RandInt(long low, long high, int[] shape, DType dtype = DType.Int64, Generator? generator = null)
    {
        Tensor t = Cpu.Empty(CheckShape("RandInt", shape), dtype);
        Cpu.FillRandInt(t, generator ?? Generator.Default, low, high);
        return t;
    }

    /// <summary>Zeros with this tensor's shape and dtype.</summary>
    public static Tensor ZerosLike(Tensor t, DType? dtype = null, bool requiresGrad = false) => Zeros(t.Layout.Shape, dtype ?? t.DType, requiresGrad);
    /// <summary>Ones with this tensor's shape and dtype.</summary>
    public static Tensor OnesLike(Tensor t, DType? dtype = null, bool requiresGrad = false) => Ones(t.Layout.Shape, dtype ?? t.DType, requiresGrad);
    /// <summary>A value with this tensor's shape and dtype.</summary>
    public static Tensor FullLike(Tensor t, double value, DType? dtype = null, bool requiresGrad = false) => Full(t.Layout.Shape, value, dtype ?? t.DType, requiresGrad);
    /// <summary>An uninitialised tensor with this tensor's shape and dtype.</summary>
    public static Tensor EmptyLike(Tensor t, DType? dtype = null, bool requiresGrad = false) => Empty(t.Layout.Shape, dtype ?? t.DType, requiresGrad);
    /// <summary>Uniform samples with this tensor's shape and dtype.</summary>
    public static Tensor RandLike(Tensor t, DType? dtype = null, bool requiresGrad = false) => Rand(t.Layout.Shape, dtype ?? t.DType, requiresGrad);
    /// <summary>Normal samples with this tensor's shape and dtype.</summary>
    public static Tensor RandnLike(Tensor t, DType? dtype = null, bool requiresGrad = false) => Randn(t.Layout.Shape, dtype ?? t.DType, requiresGrad);

    /// <summary>The single element of a one-element tensor.</summary>
    public T Item<T>() where T : unmanaged
    {
        if (Numel != 1) throw new InvalidOperationException($"Item: a tensor with {Numel} elements (shape {ShapeMath.Format(Layout.Shape)}) cannot be converted to a scalar");
        return Backend.ToArray<T>(this)[0];
    }

    /// <summary>
    /// The single element of a one-element tensor as a double, as PyTorch's <c>x.item()</c> gives
    /// a Python number (an Int64 beyond 2⁵³ loses digits: use <see cref="Item{T}"/> for it).
    /// </summary>
    public double Item() => Item<double>();

    /// <summary>The elements in row-major order, converted to T.</summary>
    public T[] ToArray<T>() where T : unmanaged => Backend.ToArray<T>(this);

    // In-place initialisers, recorded as writes (they bump the version) but never as graph nodes.

    /// <summary>Fills with U(from, to) in place.</summary>
    public Tensor Uniform_(double from = 0, double to = 1, Generator? generator = null) =>
        Overwrite("Uniform_", () => Backend.FillUniform(this, generator ?? Generator.Default, from, to));

    /// <summary>Fills with N(mean, std²) in place.</summary>
    public Tensor Normal_(double mean = 0, double std = 1, Generator? generator = null) =>
        Overwrite("Normal_", () => Backend.FillNormal(this, generator ?? Generator.Default, mean, std));

    /// <summary>Fills with a value in place.</summary>
    public Tensor Fill_(double value)
    {
        DTypes.CheckFits("Fill_", value, DType);
        return Overwrite("Fill_", () => Backend.Fill(this, value));
    }

    /// <summary>Fills with zeros in place.</summary>
    public Tensor Zero_() => Fill_(0);

    Tensor Overwrite(string op, Action write)
    {
        CheckInPlace(op);
        write();
        MarkWritten();
        if (GradFn is not null) GradFn = null; // the old history no longer describes these values
        return this;
    }
}
