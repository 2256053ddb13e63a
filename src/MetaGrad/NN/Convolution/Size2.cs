namespace MetaGrad.NN;

/// <summary>
/// A size per spatial dim of a 2-D operation (height, width): written <c>3</c> for both or
/// <c>(3, 5)</c>, as PyTorch takes an int or a pair for kernel_size, stride, dilation and padding.
/// </summary>
public readonly record struct Size2(int H, int W)
{
    /// <summary>The same size for height and width.</summary>
    public static implicit operator Size2(int size) => new(size, size);

    /// <summary>Height, then width.</summary>
    public static implicit operator Size2((int H, int W) size) => new(size.H, size.W);

    /// <inheritdoc/>
    public override string ToString() => $"({H}, {W})";
}

/// <summary>
/// The padding of a convolution: a number of zeros per side (<c>1</c> or <c>(1, 2)</c>), or
/// <c>"same"</c> (output as large as the input, stride 1 only) or <c>"valid"</c> (no padding),
/// as torch.nn.Conv2d's padding argument.
/// </summary>
public readonly struct Padding2
{
    internal Size2 Size { get; }
    internal bool Same { get; }

    Padding2(Size2 size, bool same) => (Size, Same) = (size, same);

    /// <summary>The same padding for height and width.</summary>
    public static implicit operator Padding2(int padding) => new(padding, false);

    /// <summary>Height, then width.</summary>
    public static implicit operator Padding2((int H, int W) padding) => new(padding, false);

    /// <summary>"same" or "valid".</summary>
    public static implicit operator Padding2(string mode) => mode switch
    {
        "same" => new(0, true),
        "valid" => new(0, false),
        _ => throw new ArgumentException($"Conv: invalid padding string \"{mode}\", expected \"same\" or \"valid\""),
    };

    /// <inheritdoc/>
    public override string ToString() => Same ? "same" : Size.ToString();
}

/// <summary>A size per spatial dim of a 3-D operation (depth, height, width): <c>3</c> for all or <c>(1, 3, 3)</c>.</summary>
public readonly record struct Size3(int D, int H, int W)
{
    /// <summary>The same size for depth, height and width.</summary>
    public static implicit operator Size3(int size) => new(size, size, size);

    /// <summary>Depth, height, then width.</summary>
    public static implicit operator Size3((int D, int H, int W) size) => new(size.D, size.H, size.W);

    /// <inheritdoc/>
    public override string ToString() => $"({D}, {H}, {W})";
}
