namespace MetaGrad.NN;

/// <summary>Max over each window of [N, C, H, W] (torch.nn.MaxPool2d); stride defaults to the kernel size.</summary>
public sealed class MaxPool2d(Size2 kernelSize, Size2? stride = null, Size2? padding = null, Size2? dilation = null, bool ceilMode = false) : Module<Tensor, Tensor>
{
    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) => Functional.MaxPool2d(input, kernelSize, stride, padding, dilation, ceilMode);

    /// <summary>The pooled values and the flat index of each max in its input plane (return_indices = True).</summary>
    public (Tensor Values, Tensor Indices) ForwardWithIndices(Tensor input) => Functional.MaxPool2dWithIndices(input, kernelSize, stride, padding, dilation, ceilMode);

    /// <inheritdoc/>
    protected override string ExtraRepr() =>
        $"kernel_size={Pool(kernelSize)}, stride={Pool(stride ?? kernelSize)}, padding={Pool(padding ?? 0)}, dilation={Pool(dilation ?? 1)}, ceil_mode={Py(ceilMode)}";

    // PyTorch prints a pooling size given as one int as that int.
    internal static string Pool(Size2 s) => s.H == s.W ? $"{s.H}" : s.ToString();
}

/// <summary>Max over each window of [N, C, L] (torch.nn.MaxPool1d).</summary>
public sealed class MaxPool1d(int kernelSize, int? stride = null, int padding = 0, int dilation = 1, bool ceilMode = false) : Module<Tensor, Tensor>
{
    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) => Functional.MaxPool1d(input, kernelSize, stride, padding, dilation, ceilMode);

    /// <summary>The pooled values and the index of each max along L (return_indices = True).</summary>
    public (Tensor Values, Tensor Indices) ForwardWithIndices(Tensor input) => Functional.MaxPool1dWithIndices(input, kernelSize, stride, padding, dilation, ceilMode);
    /// <inheritdoc/>
    protected override string ExtraRepr() => $"kernel_size={kernelSize}, stride={stride ?? kernelSize}, padding={padding}, dilation={dilation}, ceil_mode={Py(ceilMode)}";
}

/// <summary>Puts pooled maxima back at their indices along L (torch.nn.MaxUnpool1d).</summary>
public sealed class MaxUnpool1d(int kernelSize, int? stride = null, int padding = 0) : Module<Tensor, Tensor, Tensor>
{
    /// <inheritdoc/>
    public override Tensor Forward(Tensor input, Tensor indices) => Functional.MaxUnpool1d(input, indices, kernelSize, stride, padding);
    /// <inheritdoc/>
    protected override string ExtraRepr() => $"kernel_size=({kernelSize},), stride=({stride ?? kernelSize},), padding=({padding},)";
}

/// <summary>Puts pooled maxima back at their indices (torch.nn.MaxUnpool2d).</summary>
public sealed class MaxUnpool2d(Size2 kernelSize, Size2? stride = null, Size2? padding = null) : Module<Tensor, Tensor, Tensor>
{
    /// <inheritdoc/>
    public override Tensor Forward(Tensor input, Tensor indices) => Functional.MaxUnpool2d(input, indices, kernelSize, stride, padding);
    /// <inheritdoc/>
    protected override string ExtraRepr() => $"kernel_size={kernelSize}, stride={stride ?? kernelSize}, padding={padding ?? 0}";
}

/// <summary>Mean over each window of [N, C, H, W] (torch.nn.AvgPool2d).</summary>
public sealed class AvgPool2d(Size2 kernelSize, Size2? stride = null, Size2? padding = null, bool ceilMode = false, bool countIncludePad = true,
    int? divisorOverride = null) : Module<Tensor, Tensor>
{
    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) => Functional.AvgPool2d(input, kernelSize, stride, padding, ceilMode, countIncludePad, divisorOverride);
    /// <inheritdoc/>
    protected override string ExtraRepr() =>
        $"kernel_size={MaxPool2d.Pool(kernelSize)}, stride={MaxPool2d.Pool(stride ?? kernelSize)}, padding={MaxPool2d.Pool(padding ?? 0)}";
}

/// <summary>Mean over each window of [N, C, L] (torch.nn.AvgPool1d).</summary>
public sealed class AvgPool1d(int kernelSize, int? stride = null, int padding = 0, bool ceilMode = false, bool countIncludePad = true) : Module<Tensor, Tensor>
{
    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) => Functional.AvgPool1d(input, kernelSize, stride, padding, ceilMode, countIncludePad);
    /// <inheritdoc/>
    protected override string ExtraRepr() => $"kernel_size=({kernelSize},), stride=({stride ?? kernelSize},), padding=({padding},)";
}

/// <summary>Mean pooling to a fixed output size (torch.nn.AdaptiveAvgPool2d); (1, 1) is global average pooling.</summary>
public sealed class AdaptiveAvgPool2d(Size2 outputSize) : Module<Tensor, Tensor>
{
    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) => Functional.AdaptiveAvgPool2d(input, outputSize);
    /// <inheritdoc/>
    protected override string ExtraRepr() => $"output_size={MaxPool2d.Pool(outputSize)}";
}

/// <summary>Mean pooling of sequences to a fixed length (torch.nn.AdaptiveAvgPool1d).</summary>
public sealed class AdaptiveAvgPool1d(int outputSize) : Module<Tensor, Tensor>
{
    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) => Functional.AdaptiveAvgPool1d(input, outputSize);
    /// <inheritdoc/>
    protected override string ExtraRepr() => $"output_size={outputSize}";
}

/// <summary>Max pooling of sequences to a fixed number of positions (torch.nn.AdaptiveMaxPool1d).</summary>
public sealed class AdaptiveMaxPool1d(int outputSize) : Module<Tensor, Tensor>
{
    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) => Functional.AdaptiveMaxPool1d(input, outputSize);

    /// <summary>The pooled values and the index of each max along L (return_indices = True).</summary>
    public (Tensor Values, Tensor Indices) ForwardWithIndices(Tensor input) => Functional.AdaptiveMaxPool1dWithIndices(input, outputSize);
    /// <inheritdoc/>
    protected override string ExtraRepr() => $"output_size={outputSize}";
}

/// <summary>Max pooling to a fixed output size (torch.nn.AdaptiveMaxPool2d).</summary>
public sealed class AdaptiveMaxPool2d(Size2 outputSize) : Module<Tensor, Tensor>
{
    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) => Functional.AdaptiveMaxPool2d(input, outputSize);

    /// <summary>The pooled values and the flat index of each max in its input plane (return_indices = True).</summary>
    public (Tensor Values, Tensor Indices) ForwardWithIndices(Tensor input) => Functional.AdaptiveMaxPool2dWithIndices(input, outputSize);
    /// <inheritdoc/>
    protected override string ExtraRepr() => $"output_size={MaxPool2d.Pool(outputSize)}";
}

/// <summary>Max over each window of [N, C, D, H, W] (torch.nn.MaxPool3d); stride defaults to the kernel size.</summary>
public sealed class MaxPool3d(Size3 kernelSize, Size3? stride = null, Size3? padding = null, Size3? dilation = null, bool ceilMode = false) : Module<Tensor, Tensor>
{
    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) => Functional.MaxPool3d(input, kernelSize, stride, padding, dilation, ceilMode);

    /// <summary>The pooled values and the flat index of each max in its input volume (return_indices = True).</summary>
    public (Tensor Values, Tensor Indices) ForwardWithIndices(Tensor input) => Functional.MaxPool3dWithIndices(input, kernelSize, stride, padding, dilation, ceilMode);
    /// <inheritdoc/>
    protected override string ExtraRepr() =>
        $"kernel_size={AvgPool3d.Pool(kernelSize)}, stride={AvgPool3d.Pool(stride ?? kernelSize)}, padding={AvgPool3d.Pool(padding ?? 0)}, dilation={AvgPool3d.Pool(dilation ?? 1)}, ceil_mode={Py(ceilMode)}";
}

/// <summary>Mean over each window of [N, C, D, H, W] (torch.nn.AvgPool3d).</summary>
public sealed class AvgPool3d(Size3 kernelSize, Size3? stride = null, Size3? padding = null, bool ceilMode = false, bool countIncludePad = true,
    int? divisorOverride = null) : Module<Tensor, Tensor>
{
    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) => Functional.AvgPool3d(input, kernelSize, stride, padding, ceilMode, countIncludePad, divisorOverride);
    /// <inheritdoc/>
    protected override string ExtraRepr() => $"kernel_size={Pool(kernelSize)}, stride={Pool(stride ?? kernelSize)}, padding={Pool(padding ?? 0)}";

    // PyTorch prints a pooling size given as one int as that int.
    internal static string Pool(Size3 s) => s.D == s.H && s.H == s.W ? $"{s.D}" : s.ToString();
}

/// <summary>Power-average pooling of [N, C, H, W] (torch.nn.LPPool2d): (Σ x^p)^(1/p) over each window.</summary>
public sealed class LPPool2d(double normType, Size2 kernelSize, Size2? stride = null, bool ceilMode = false) : Module<Tensor, Tensor>
{
    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) => Functional.LpPool2d(input, normType, kernelSize, stride, ceilMode);
    /// <inheritdoc/>
    protected override string ExtraRepr() =>
        FormattableString.Invariant($"norm_type={normType}, kernel_size={MaxPool2d.Pool(kernelSize)}, stride={(stride is Size2 s ? MaxPool2d.Pool(s) : "None")}, ceil_mode={Py(ceilMode)}");
}

/// <summary>Power-average pooling of [N, C, L] (torch.nn.LPPool1d).</summary>
public sealed class LPPool1d(double normType, int kernelSize, int? stride = null, bool ceilMode = false) : Module<Tensor, Tensor>
{
    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) => Functional.LpPool1d(input, normType, kernelSize, stride, ceilMode);
    /// <inheritdoc/>
    protected override string ExtraRepr() =>
        FormattableString.Invariant($"norm_type={normType}, kernel_size={kernelSize}, stride={(stride is int s ? s.ToString() : "None")}, ceil_mode={Py(ceilMode)}");
}

/// <summary>Puts pooled maxima back at their indices in a volume (torch.nn.MaxUnpool3d).</summary>
public sealed class MaxUnpool3d(Size3 kernelSize, Size3? stride = null, Size3? padding = null) : Module<Tensor, Tensor, Tensor>
{
    /// <inheritdoc/>
    public override Tensor Forward(Tensor input, Tensor indices) => Functional.MaxUnpool3d(input, indices, kernelSize, stride, padding);
    /// <inheritdoc/>
    protected override string ExtraRepr() => $"kernel_size={kernelSize}, stride={stride ?? kernelSize}, padding={padding ?? 0}";
}

/// <summary>Mean pooling of [N, C, D, H, W] to a fixed output size (torch.nn.AdaptiveAvgPool3d).</summary>
public sealed class AdaptiveAvgPool3d(Size3 outputSize) : Module<Tensor, Tensor>
{
    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) => Functional.AdaptiveAvgPool3d(input, outputSize);
    /// <inheritdoc/>
    protected override string ExtraRepr() => $"output_size={AvgPool3d.Pool(outputSize)}";
}

/// <summary>Max pooling of [N, C, D, H, W] to a fixed output size (torch.nn.AdaptiveMaxPool3d).</summary>
public sealed class AdaptiveMaxPool3d(Size3 outputSize) : Module<Tensor, Tensor>
{
    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) => Functional.AdaptiveMaxPool3d(input, outputSize);

    /// <summary>The pooled values and the flat index of each max in its input volume (return_indices = True).</summary>
    public (Tensor Values, Tensor Indices) ForwardWithIndices(Tensor input) => Functional.AdaptiveMaxPool3dWithIndices(input, outputSize);
    /// <inheritdoc/>
    protected override string ExtraRepr() => $"output_size={AvgPool3d.Pool(outputSize)}";
}

/// <summary>
/// Fractional max pooling of images (torch.nn.FractionalMaxPool2d): windows of
/// <c>kernelSize</c> at pseudo-random starts giving <c>outputSize</c>, or ⌊size · <c>outputRatio</c>⌋,
/// outputs; see <see cref="Functional.FractionalMaxPool2d"/>. Each call draws new samples from
/// the generator unless given them.
/// </summary>
public sealed class FractionalMaxPool2d : Module<Tensor, Tensor>
{
    readonly Size2 _kernel;
    readonly Size2? _outputSize;
    readonly (double H, double W)? _outputRatio;
    readonly Generator? _generator;

    /// <summary>Exactly one of <paramref name="outputSize"/> and <paramref name="outputRatio"/> (each ratio strictly between 0 and 1).</summary>
    public FractionalMaxPool2d(Size2 kernelSize, Size2? outputSize = null, (double H, double W)? outputRatio = null, Generator? generator = null)
    {
        Functional.RequireOneOutput("FractionalMaxPool2d", outputSize, outputRatio, r => r.H, r => r.W);
        (_kernel, _outputSize, _outputRatio, _generator) = (kernelSize, outputSize, outputRatio, generator);
    }

    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) => ForwardWithIndices(input).Values;

    /// <summary>The pooled values and the flat index of each max in its input plane (return_indices = True), with the given samples [N, C, 2] if any.</summary>
    public (Tensor Values, Tensor Indices) ForwardWithIndices(Tensor input, Tensor? randomSamples = null) =>
        Functional.FractionalMaxPool2dWithIndices(input, _kernel, _outputSize, _outputRatio, randomSamples, _generator);
}

/// <summary>Fractional max pooling of volumes (torch.nn.FractionalMaxPool3d); see <see cref="FractionalMaxPool2d"/>.</summary>
public sealed class FractionalMaxPool3d : Module<Tensor, Tensor>
{
    readonly Size3 _kernel;
    readonly Size3? _outputSize;
    readonly (double D, double H, double W)? _outputRatio;
    readonly Generator? _generator;

    /// <summary>Exactly one of <paramref name="outputSize"/> and <paramref name="outputRatio"/> (each ratio strictly between 0 and 1).</summary>
    public FractionalMaxPool3d(Size3 kernelSize, Size3? outputSize = null, (double D, double H, double W)? outputRatio = null, Generator? generator = null)
    {
        Functional.RequireOneOutput("FractionalMaxPool3d", outputSize, outputRatio, r => r.D, r => r.H, r => r.W);
        (_kernel, _outputSize, _outputRatio, _generator) = (kernelSize, outputSize, outputRatio, generator);
    }

    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) => ForwardWithIndices(input).Values;

    /// <summary>The pooled values and the flat index of each max in its input volume (return_indices = True), with the given samples [N, C, 3] if any.</summary>
    public (Tensor Values, Tensor Indices) ForwardWithIndices(Tensor input, Tensor? randomSamples = null) =>
        Functional.FractionalMaxPool3dWithIndices(input, _kernel, _outputSize, _outputRatio, randomSamples, _generator);
}
