namespace MetaGrad.NN;

/// <summary>Returns its input (a placeholder layer).</summary>
public sealed class Identity : Module<Tensor, Tensor>
{
    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) => input;
}

/// <summary>Flattens dims startDim..endDim (by default all but the batch dim).</summary>
public sealed class Flatten(int startDim = 1, int endDim = -1) : Module<Tensor, Tensor>
{
    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) => input.Flatten(startDim, endDim);
    /// <inheritdoc/>
    protected override string ExtraRepr() => $"start_dim={startDim}, end_dim={endDim}";
}

/// <summary>y = x·Wᵀ + b, with weight [out, in] and PyTorch's default initialisation.</summary>
public sealed class Linear : Module<Tensor, Tensor>
{
    /// <summary>[outFeatures, inFeatures].</summary>
    public readonly Parameter Weight;
    /// <summary>[outFeatures], or null without bias.</summary>
    public readonly Parameter? Bias;
    readonly int _in, _out;

    /// <summary>
    /// A linear layer. Weight ~ kaiming-uniform(a = √5), i.e. U(-1/√in, 1/√in), and the bias
    /// ~ U(-1/√in, 1/√in), as torch.nn.Linear.
    /// </summary>
    public Linear(int inFeatures, int outFeatures, bool bias = true, DType? dtype = null, Generator? generator = null)
    {
        (_in, _out) = (inFeatures, outFeatures);
        Weight = new Parameter(Tensor.Empty([outFeatures, inFeatures], dtype));
        Init.KaimingUniform_(Weight, a: Math.Sqrt(5), generator: generator);
        if (bias)
        {
            double bound = inFeatures > 0 ? 1 / Math.Sqrt(inFeatures) : 0;
            Bias = new Parameter(Init.Uniform_(Tensor.Empty([outFeatures], dtype), -bound, bound, generator));
        }
        RegisterParameter("weight", Weight);
        RegisterParameter("bias", Bias);
    }

    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) => Functional.Linear(input, Value(Weight), Value(Bias));

    private protected override bool ReadsParameterValues => true;

    /// <inheritdoc/>
    protected override string ExtraRepr() => $"in_features={_in}, out_features={_out}, bias={Py(Bias is not null)}";
}

/// <summary>y = x₁ᵀ·A·x₂ + b for each output feature, weight [out, in1, in2] (torch.nn.Bilinear).</summary>
public sealed class Bilinear : Module<Tensor, Tensor, Tensor>
{
    /// <summary>[outFeatures, in1, in2].</summary>
    public readonly Parameter Weight;
    /// <summary>[outFeatures], or null.</summary>
    public readonly Parameter? Bias;
    readonly int _in1, _in2, _out;

    /// <summary>A bilinear layer; weight and bias ~ U(-1/√in1, 1/√in1) as in PyTorch.</summary>
    public Bilinear(int in1Features, int in2Features, int outFeatures, bool bias = true, Generator? generator = null, DType? dtype = null)
    {
        (_in1, _in2, _out) = (in1Features, in2Features, outFeatures);
        double bound = 1 / Math.Sqrt(in1Features);
        Weight = new Parameter(Init.Uniform_(Tensor.Empty([outFeatures, in1Features, in2Features], dtype), -bound, bound, generator));
        if (bias) Bias = new Parameter(Init.Uniform_(Tensor.Empty([outFeatures], dtype), -bound, bound, generator));
        RegisterParameter("weight", Weight);
        RegisterParameter("bias", Bias);
    }

    /// <inheritdoc/>
    public override Tensor Forward(Tensor input1, Tensor input2)
    {
        if (input1.Shape[^1] != _in1 || input2.Shape[^1] != _in2)
            throw new ArgumentException($"Bilinear: expected inputs with last dims {_in1} and {_in2}, got shapes {ShapeMath.Format(input1.Shape.ToArray())} and {ShapeMath.Format(input2.Shape.ToArray())}");
        RequireDType("Bilinear", input1, Weight, Bias);
        RequireDType("Bilinear", input2, Weight, Bias);
        var lead = input1.Shape.Take(input1.NDim - 1).ToArray();
        var x1 = input1.Reshape(-1, _in1);
        var x2 = input2.Reshape(-1, _in2);
        // [B, 1, 1, in1] @ [out, in1, in2] -> [B, out, 1, in2], then a dot with x2 over in2.
        var left = x1.Unsqueeze(1).Unsqueeze(2).Matmul(Value(Weight)).Squeeze(2);
        var y = (left * x2.Unsqueeze(1)).Sum(-1);
        if (Bias is not null) y = y + Value(Bias);
        return y.Reshape([.. lead, _out]);
    }

    /// <inheritdoc/>
    private protected override bool ReadsParameterValues => true;

    /// <inheritdoc/>
    protected override string ExtraRepr() => $"in1_features={_in1}, in2_features={_in2}, out_features={_out}, bias={Py(Bias is not null)}";
}
