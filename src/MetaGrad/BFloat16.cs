namespace MetaGrad;

/// <summary>
/// A brain float (PyTorch's torch.bfloat16, c10::BFloat16): the top 16 bits of a Float32, so the
/// same range with 8 bits of mantissa. Tensors only store it; arithmetic converts to float.
/// </summary>
public readonly struct BFloat16 : IEquatable<BFloat16>, IComparable<BFloat16>
{
    /// <summary>The raw bits: sign, 8 exponent bits, 7 mantissa bits.</summary>
    public ushort Bits { get; }

    BFloat16(ushort bits) => Bits = bits;

    /// <summary>The value with the given raw bits.</summary>
    public static BFloat16 FromBits(ushort bits) => new(bits);

    /// <summary>
    /// Rounds a float to the nearest bfloat16, ties to even (c10's round_to_nearest_even); values
    /// beyond the largest finite bfloat16 round to infinity and every NaN becomes the canonical quiet NaN 0x7FC0.
    /// </summary>
    public static explicit operator BFloat16(float value)
    {
        if (float.IsNaN(value)) return new(0x7FC0);
        uint bits = BitConverter.SingleToUInt32Bits(value);
        // Adding 0x7FFF, plus one more when the kept part is odd, carries into bit 16 exactly when
        // the dropped half is above one half, or exactly one half with an odd kept part.
        uint bias = 0x7FFFu + ((bits >> 16) & 1);
        return new((ushort)((bits + bias) >> 16));
    }

    /// <summary>Rounds a double to bfloat16 through float, as PyTorch's conversion does.</summary>
    public static explicit operator BFloat16(double value) => (BFloat16)(float)value;

    /// <summary>The exact float value.</summary>
    public static explicit operator float(BFloat16 value) => BitConverter.UInt32BitsToSingle((uint)value.Bits << 16);

    /// <summary>The exact double value.</summary>
    public static explicit operator double(BFloat16 value) => (float)value;

    /// <summary>True for the NaN encodings.</summary>
    public static bool IsNaN(BFloat16 value) => float.IsNaN((float)value);

    /// <summary>Equality of values, as IEEE compares them (NaN equals nothing, 0 equals -0).</summary>
    public static bool operator ==(BFloat16 a, BFloat16 b) => (float)a == (float)b;

    /// <summary>Inequality of values.</summary>
    public static bool operator !=(BFloat16 a, BFloat16 b) => (float)a != (float)b;

    /// <summary>Equality of bits, so that a NaN equals itself in collections.</summary>
    public bool Equals(BFloat16 other) => Bits == other.Bits;

    /// <inheritdoc/>
    public override bool Equals(object? obj) => obj is BFloat16 other && Equals(other);

    /// <inheritdoc/>
    public override int GetHashCode() => Bits;

    /// <summary>Orders by value, as <see cref="float.CompareTo(float)"/> does.</summary>
    public int CompareTo(BFloat16 other) => ((float)this).CompareTo((float)other);

    /// <summary>The value printed as a float.</summary>
    public override string ToString() => ((float)this).ToString(System.Globalization.CultureInfo.InvariantCulture);
}
