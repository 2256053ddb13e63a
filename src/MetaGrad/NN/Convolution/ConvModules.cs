namespace MetaGrad.NN;

/// <summary>
/// What the convolution modules share: weight and bias with PyTorch's names, shapes and
/// initialisation (kaiming-uniform with a = √5, i.e. U(-1/√fan_in, 1/√fan_in), and the bias
/// from the same bound), and PyTorch's printed form.
/// </summary>
public abstract class ConvModule : Module<Tensor, Tensor>
{
    /// <summary>[out, in / groups, kernel...] for a convolution, [in, out / groups, kernel...] for a transposed one.</summary>
    public readonly Parameter Weight;
    /// <summary>[out], or null without bias.</summary>
    public readonly Parameter? Bias;
    private protected readonly int InChannels, OutChannels, Groups;
    private protected readonly string Name;
    /// <summary>Whether this is a transposed convolution (weight [in, out / groups, kernel...]).</summary>
    public bool IsTransposed { get; }

    private protected ConvModule(string name, int inChannels, int outChannels, int[] kernel, int groups, bool bias, bool transposed, DType? dtype, Generator? generator)
    {
        (Name, InChannels, OutChannels, Groups, IsTransposed) = (name, inChannels, outChannels, groups, transposed);
        if (inChannels <= 0 || outChannels <= 0 || kernel.Any(k => k <= 0))
            throw new ArgumentException($"{name}: channels and kernel size must be positive, got in_channels = {inChannels}, out_channels = {outChannels}, kernel_size = ({string.Join(", ", kernel)})");
        if (groups <= 0 || inChannels % groups != 0 || outChannels % groups != 0)
            throw new ArgumentException($"{name}: groups = {groups} must be positive and divide both in_channels ({inChannels}) and out_channels ({outChannels})");
        int[] shape = transposed ? [inChannels, outChannels / groups, .. kernel] : [outChannels, inChannels / groups, .. kernel];
        Weight = new Parameter(Tensor.Empty(shape, dtype));
        Init.KaimingUniform_(Weight, a: Math.Sqrt(5), generator: generator);
        if (bias)
        {
            // fan_in of the weight as PyTorch computes it: dim 1 times the kernel.
            int fanIn = shape[1] * kernel.Aggregate(1, (a, b) => a * b);
            double bound = 1 / Math.Sqrt(fanIn);
            Bias = new Parameter(Init.Uniform_(Tensor.Empty([outChannels], dtype), -bound, bound, generator));
        }
        RegisterParameter("weight", Weight);
        RegisterParameter("bias", Bias);
    }

    private protected Tensor Checked(Tensor input, int spatialDims)
    {
        if (input.NDim != spatialDims + 1 && input.NDim != spatialDims + 2)
            throw new ArgumentException($"{Name}: expected a {spatialDims + 2}-D (batched) or {spatialDims + 1}-D (unbatched) input, got shape {ShapeMath.Format(input.Shape.ToArray())}");
        RequireDType(Name, input, Weight, Bias);
        return input;
    }

    private protected override bool ReadsParameterValues => true;

    private protected static string Tuple(params int[] values) => $"({string.Join(", ", values)})";
}

/// <summary>2-D convolution over [N, C, H, W] (torch.nn.Conv2d).</summary>
public sealed class Conv2d : ConvModule
{
    readonly Size2 _kernel, _stride, _dilation;
    readonly Padding2 _padding;
    readonly string _paddingMode;

    /// <summary>
    /// A convolution from <paramref name="inChannels"/> to <paramref name="outChannels"/> channels;
    /// <paramref name="paddingMode"/> "zeros", "reflect", "replicate" or "circular" says what the padding holds.
    /// </summary>
    public Conv2d(int inChannels, int outChannels, Size2 kernelSize, Size2? stride = null, Padding2? padding = null, Size2? dilation = null,
        int groups = 1, bool bias = true, string paddingMode = "zeros", DType? dtype = null, Generator? generator = null)
        : base("Conv2d", inChannels, outChannels, [kernelSize.H, kernelSize.W], groups, bias, transposed: false, dtype, generator)
    {
        (_kernel, _stride, _padding, _dilation, _paddingMode) = (kernelSize, stride ?? 1, padding ?? 0, dilation ?? 1, paddingMode);
        if (paddingMode is not ("zeros" or "reflect" or "replicate" or "circular"))
            throw new ArgumentException($"Conv2d: padding_mode must be \"zeros\", \"reflect\", \"replicate\" or \"circular\", got \"{paddingMode}\"");
        if (_padding.Same && _stride != new Size2(1, 1))
            throw new ArgumentException($"Conv2d: padding \"same\" is not supported for strided convolutions (stride {_stride})");
    }

    /// <inheritdoc/>
    public override Tensor Forward(Tensor input)
    {
        Checked(input, 2);
        if (_paddingMode == "zeros") return Functional.Conv2d(input, Value(Weight), Value(Bias), _stride, _padding, _dilation, Groups);
        // Other modes pad first, then convolve with none, as PyTorch does.
        int totalH = _dilation.H * (_kernel.H - 1), totalW = _dilation.W * (_kernel.W - 1);
        var p = _padding.Size;
        int[] pad = _padding.Same ? [totalW / 2, totalW - totalW / 2, totalH / 2, totalH - totalH / 2] : [p.W, p.W, p.H, p.H];
        return Functional.Conv2d(Functional.Pad(input, pad, mode: _paddingMode), Value(Weight), Value(Bias), _stride, 0, _dilation, Groups);
    }

    /// <inheritdoc/>
    protected override string ExtraRepr()
    {
        var s = $"{InChannels}, {OutChannels}, kernel_size={_kernel}, stride={_stride}";
        if (_padding.Same || _padding.Size != new Size2(0, 0)) s += _padding.Same ? ", padding=same" : $", padding={_padding.Size}";
        if (_dilation != new Size2(1, 1)) s += $", dilation={_dilation}";
        if (Groups != 1) s += $", groups={Groups}";
        if (Bias is null) s += ", bias=False";
        if (_paddingMode != "zeros") s += $", padding_mode={_paddingMode}";
        return s;
    }
}

/// <summary>1-D convolution over [N, C, L] (torch.nn.Conv1d).</summary>
public sealed class Conv1d : ConvModule
{
    readonly int _kernel, _stride, _dilation;
    readonly Padding2 _padding;
    readonly string _paddingMode;

    /// <summary>A convolution over sequences; see <see cref="Conv2d"/> for the padding modes.</summary>
    public Conv1d(int inChannels, int outChannels, int kernelSize, int stride = 1, Padding2? padding = null, int dilation = 1,
        int groups = 1, bool bias = true, string paddingMode = "zeros", DType? dtype = null, Generator? generator = null)
        : base("Conv1d", inChannels, outChannels, [kernelSize], groups, bias, transposed: false, dtype, generator)
    {
        (_kernel, _stride, _padding, _dilation, _paddingMode) = (kernelSize, stride, padding ?? 0, dilation, paddingMode);
        if (paddingMode is not ("zeros" or "reflect" or "replicate" or "circular"))
            throw new ArgumentException($"Conv1d: padding_mode must be \"zeros\", \"reflect\", \"replicate\" or \"circular\", got \"{paddingMode}\"");
    }

    /// <inheritdoc/>
    public override Tensor Forward(Tensor input)
    {
        Checked(input, 1);
        if (_paddingMode == "zeros") return Functional.Conv1d(input, Value(Weight), Value(Bias), _stride, _padding, _dilation, Groups);
        int total = _dilation * (_kernel - 1);
        int[] pad = _padding.Same ? [total / 2, total - total / 2] : [_padding.Size.W, _padding.Size.W];
        return Functional.Conv1d(Functional.Pad(input, pad, mode: _paddingMode), Value(Weight), Value(Bias), _stride, 0, _dilation, Groups);
    }

    /// <inheritdoc/>
    protected override string ExtraRepr()
    {
        var s = $"{InChannels}, {OutChannels}, kernel_size=({_kernel},), stride=({_stride},)";
        if (_padding.Same) s += ", padding=same";
        else if (_padding.Size.W != 0) s += $", padding=({_padding.Size.W},)";
        if (_dilation != 1) s += $", dilation=({_dilation},)";
        if (Groups != 1) s += $", groups={Groups}";
        if (Bias is null) s += ", bias=False";
        if (_paddingMode != "zeros") s += $", padding_mode={_paddingMode}";
        return s;
    }
}

/// <summary>2-D transposed convolution (torch.nn.ConvTranspose2d): the gradient of a Conv2d with respect to its input, as a layer.</summary>
public sealed class ConvTranspose2d : ConvModule
{
    readonly Size2 _kernel, _stride, _padding, _outputPadding, _dilation;

    /// <summary>A transposed convolution; weight [in, out / groups, kh, kw].</summary>
    public ConvTranspose2d(int inChannels, int outChannels, Size2 kernelSize, Size2? stride = null, Size2? padding = null, Size2? outputPadding = null,
        int groups = 1, bool bias = true, Size2? dilation = null, DType? dtype = null, Generator? generator = null)
        : base("ConvTranspose2d", inChannels, outChannels, [kernelSize.H, kernelSize.W], groups, bias, transposed: true, dtype, generator) =>
        (_kernel, _stride, _padding, _outputPadding, _dilation) = (kernelSize, stride ?? 1, padding ?? 0, outputPadding ?? 0, dilation ?? 1);

    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) =>
        Functional.ConvTranspose2d(Checked(input, 2), Value(Weight), Value(Bias), _stride, _padding, _outputPadding, Groups, _dilation);

    /// <inheritdoc/>
    protected override string ExtraRepr()
    {
        var s = $"{InChannels}, {OutChannels}, kernel_size={_kernel}, stride={_stride}";
        if (_padding != new Size2(0, 0)) s += $", padding={_padding}";
        if (_outputPadding != new Size2(0, 0)) s += $", output_padding={_outputPadding}";
        if (_dilation != new Size2(1, 1)) s += $", dilation={_dilation}";
        if (Groups != 1) s += $", groups={Groups}";
        if (Bias is null) s += ", bias=False";
        return s;
    }
}

/// <summary>1-D transposed convolution (torch.nn.ConvTranspose1d).</summary>
public sealed class ConvTranspose1d : ConvModule
{
    readonly int _stride, _padding, _outputPadding, _dilation, _kernel;

    /// <summary>A transposed convolution over sequences; weight [in, out / groups, k].</summary>
    public ConvTranspose1d(int inChannels, int outChannels, int kernelSize, int stride = 1, int padding = 0, int outputPadding = 0,
        int groups = 1, bool bias = true, int dilation = 1, DType? dtype = null, Generator? generator = null)
        : base("ConvTranspose1d", inChannels, outChannels, [kernelSize], groups, bias, transposed: true, dtype, generator) =>
        (_kernel, _stride, _padding, _outputPadding, _dilation) = (kernelSize, stride, padding, outputPadding, dilation);

    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) =>
        Functional.ConvTranspose1d(Checked(input, 1), Value(Weight), Value(Bias), _stride, _padding, _outputPadding, Groups, _dilation);

    /// <inheritdoc/>
    protected override string ExtraRepr() =>
        $"{InChannels}, {OutChannels}, kernel_size=({_kernel},), stride=({_stride},)" + (_padding != 0 ? $", padding=({_padding},)" : "")
        + (_outputPadding != 0 ? $", output_padding=({_outputPadding},)" : "") + (Bias is null ? ", bias=False" : "");
}

/// <summary>3-D convolution over [N, C, D, H, W] (torch.nn.Conv3d).</summary>
public sealed class Conv3d : ConvModule
{
    readonly Size3 _kernel, _stride, _padding, _dilation;
    readonly bool _same;

    /// <summary>A 3-D convolution with <paramref name="padding"/> zeros per side and dim.</summary>
    public Conv3d(int inChannels, int outChannels, Size3 kernelSize, Size3? stride = null, Size3? padding = null, Size3? dilation = null,
        int groups = 1, bool bias = true, DType? dtype = null, Generator? generator = null)
        : base("Conv3d", inChannels, outChannels, [kernelSize.D, kernelSize.H, kernelSize.W], groups, bias, transposed: false, dtype, generator) =>
        (_kernel, _stride, _padding, _dilation) = (kernelSize, stride ?? 1, padding ?? 0, dilation ?? 1);

    /// <summary>A 3-D convolution with padding "same" (stride 1) or "valid".</summary>
    public Conv3d(int inChannels, int outChannels, Size3 kernelSize, string padding, Size3? dilation = null, int groups = 1, bool bias = true,
        DType? dtype = null, Generator? generator = null)
        : this(inChannels, outChannels, kernelSize, null, null, dilation, groups, bias, dtype, generator) =>
        _same = padding switch
        {
            "same" => true,
            "valid" => false,
            _ => throw new ArgumentException($"Conv3d: invalid padding string \"{padding}\", expected \"same\" or \"valid\""),
        };

    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) =>
        Functional.Conv3d(Checked(input, 3), Value(Weight), Value(Bias), _stride, _padding, _dilation, Groups, _same);

    /// <inheritdoc/>
    protected override string ExtraRepr()
    {
        var s = $"{InChannels}, {OutChannels}, kernel_size={_kernel}, stride={_stride}";
        if (_same) s += ", padding=same";
        else if (_padding != new Size3(0, 0, 0)) s += $", padding={_padding}";
        if (_dilation != new Size3(1, 1, 1)) s += $", dilation={_dilation}";
        if (Groups != 1) s += $", groups={Groups}";
        if (Bias is null) s += ", bias=False";
        return s;
    }
}

/// <summary>3-D transposed convolution (torch.nn.ConvTranspose3d): the gradient of a Conv3d with respect to its input, as a layer.</summary>
public sealed class ConvTranspose3d : ConvModule
{
    readonly Size3 _kernel, _stride, _padding, _outputPadding, _dilation;

    /// <summary>A transposed 3-D convolution; weight [in, out / groups, kd, kh, kw].</summary>
    public ConvTranspose3d(int inChannels, int outChannels, Size3 kernelSize, Size3? stride = null, Size3? padding = null, Size3? outputPadding = null,
        int groups = 1, bool bias = true, Size3? dilation = null, DType? dtype = null, Generator? generator = null)
        : base("ConvTranspose3d", inChannels, outChannels, [kernelSize.D, kernelSize.H, kernelSize.W], groups, bias, transposed: true, dtype, generator) =>
        (_kernel, _stride, _padding, _outputPadding, _dilation) = (kernelSize, stride ?? 1, padding ?? 0, outputPadding ?? 0, dilation ?? 1);

    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) =>
        Functional.ConvTranspose3d(Checked(input, 3), Value(Weight), Value(Bias), _stride, _padding, _outputPadding, Groups, _dilation);

    /// <inheritdoc/>
    protected override string ExtraRepr()
    {
        var s = $"{InChannels}, {OutChannels}, kernel_size={_kernel}, stride={_stride}";
        if (_padding != new Size3(0, 0, 0)) s += $", padding={_padding}";
        if (_outputPadding != new Size3(0, 0, 0)) s += $", output_padding={_outputPadding}";
        if (_dilation != new Size3(1, 1, 1)) s += $", dilation={_dilation}";
        if (Groups != 1) s += $", groups={Groups}";
        if (Bias is null) s += ", bias=False";
        return s;
    }
}
