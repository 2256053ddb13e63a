using System.Globalization;

namespace MetaGrad.NN;

// The modules of the activations in Functional.Activations.cs, with torch.nn's arguments and reprs.

/// <summary>x for x &gt; 0, w·x otherwise, with a learned slope w (torch.nn.PReLU; the parameter is named "weight").</summary>
public sealed class PReLU : Module<Tensor, Tensor>
{
    /// <summary>[numParameters]: one slope, or one per input channel (dim 1).</summary>
    public readonly Parameter Weight;
    readonly int _numParameters;

    /// <summary>numParameters slopes (1, or the number of input channels), each starting at init.</summary>
    public PReLU(int numParameters = 1, double init = 0.25, DType? dtype = null)
    {
        if (numParameters < 1) throw new ArgumentOutOfRangeException(nameof(numParameters), $"PReLU: numParameters must be at least 1, got {numParameters}");
        _numParameters = numParameters;
        Weight = new Parameter(Tensor.Full([numParameters], init, dtype));
        RegisterParameter("weight", Weight);
    }

    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) => Functional.Prelu(input, Weight);
    /// <inheritdoc/>
    protected override string ExtraRepr() => $"num_parameters={_numParameters}";
}

/// <summary>min(max(x, 0), 6) (torch.nn.ReLU6).</summary>
public sealed class ReLU6 : Module<Tensor, Tensor>
{
    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) => Functional.Relu6(input);
}

/// <summary>min(max(x, minVal), maxVal) (torch.nn.Hardtanh).</summary>
public sealed class Hardtanh : Module<Tensor, Tensor>
{
    readonly double _minVal, _maxVal;

    /// <summary>Clips to [minVal, maxVal]; maxVal must exceed minVal.</summary>
    public Hardtanh(double minVal = -1, double maxVal = 1)
    {
        if (!(maxVal > minVal)) throw new ArgumentException($"Hardtanh: maxVal ({maxVal}) must be greater than minVal ({minVal})");
        (_minVal, _maxVal) = (minVal, maxVal);
    }

    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) => Functional.Hardtanh(input, _minVal, _maxVal);
    /// <inheritdoc/>
    protected override string ExtraRepr() => FormattableString.Invariant($"min_val={_minVal}, max_val={_maxVal}");
}

/// <summary>x·relu6(x + 3)/6 (torch.nn.Hardswish).</summary>
public sealed class Hardswish : Module<Tensor, Tensor>
{
    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) => Functional.Hardswish(input);
}

/// <summary>relu6(x + 3)/6 (torch.nn.Hardsigmoid).</summary>
public sealed class Hardsigmoid : Module<Tensor, Tensor>
{
    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) => Functional.Hardsigmoid(input);
}

/// <summary>x·tanh(softplus(x)) (torch.nn.Mish).</summary>
public sealed class Mish : Module<Tensor, Tensor>
{
    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) => Functional.Mish(input);
}

/// <summary>The scaled ELU of self-normalising networks (torch.nn.SELU).</summary>
public sealed class SELU : Module<Tensor, Tensor>
{
    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) => Functional.Selu(input);
}

/// <summary>x for x &gt; 0, α(e^(x/α) - 1) otherwise (torch.nn.CELU).</summary>
public sealed class CELU(double alpha = 1.0) : Module<Tensor, Tensor>
{
    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) => Functional.Celu(input, alpha);
    /// <inheritdoc/>
    protected override string ExtraRepr() => "alpha=" + alpha.ToString(CultureInfo.InvariantCulture);
}

/// <summary>The gated linear unit a·σ(b) over the halves of dim (torch.nn.GLU).</summary>
public sealed class GLU(int dim = -1) : Module<Tensor, Tensor>
{
    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) => Functional.Glu(input, dim);
    /// <inheritdoc/>
    protected override string ExtraRepr() => $"dim={dim}";
}

/// <summary>softmax(-x) along dim (torch.nn.Softmin).</summary>
public sealed class Softmin(int dim) : Module<Tensor, Tensor>
{
    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) => Functional.Softmin(input, dim);
    /// <inheritdoc/>
    protected override string ExtraRepr() => $"dim={dim}";
}

/// <summary>x / (1 + |x|) (torch.nn.Softsign).</summary>
public sealed class Softsign : Module<Tensor, Tensor>
{
    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) => Functional.Softsign(input);
}

/// <summary>x - tanh(x) (torch.nn.Tanhshrink).</summary>
public sealed class Tanhshrink : Module<Tensor, Tensor>
{
    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) => Functional.Tanhshrink(input);
}

/// <summary>x where x &gt; threshold, value elsewhere (torch.nn.Threshold).</summary>
public sealed class Threshold(double threshold, double value) : Module<Tensor, Tensor>
{
    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) => Functional.Threshold(input, threshold, value);
    /// <inheritdoc/>
    protected override string ExtraRepr() => FormattableString.Invariant($"threshold={threshold}, value={value}");
}

/// <summary>log σ(x) (torch.nn.LogSigmoid).</summary>
public sealed class LogSigmoid : Module<Tensor, Tensor>
{
    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) => Functional.LogSigmoid(input);
}
