using MetaGrad.Backends.Cpu;

namespace MetaGrad.Tests.Backends;

/// <summary>
/// The vectorised Float32 ↔ Float16 conversions held equal, bit for bit, to the element-by-element
/// reference (CastOp.Apply): every half value one way, and the other way every tie between
/// neighbouring halves, the values just either side of each tie, and a spread of arbitrary bit
/// patterns; and the same for Float32 ↔ BFloat16.
/// </summary>
public class CastFastPathTests
{
    static ushort Bits(Half h) => BitConverter.HalfToUInt16Bits(h);

    [Fact]
    public void HalfToFloat_EveryHalfValue()
    {
        var halves = Enumerable.Range(0, 1 << 16).Select(i => BitConverter.UInt16BitsToHalf((ushort)i)).ToArray();
        var fast = new float[halves.Length];
        Assert.True(CastOp<Half, float>.ApplySpan(halves, fast));
        for (int i = 0; i < halves.Length; i++)
        {
            float reference = CastOp<Half, float>.Apply(halves[i]);
            Assert.True(BitConverter.SingleToUInt32Bits(reference) == BitConverter.SingleToUInt32Bits(fast[i]),
                $"half 0x{i:X4}: reference {reference:R}, vectorised {fast[i]:R}");
        }
    }

    [Fact]
    public void FloatToHalf_TiesNeighboursAndArbitraryBits()
    {
        var values = new List<float>();
        for (int i = 0; i < 0x7C00; i++)
        {
            // The midpoint between half i and half i+1 (exact in float), and the floats next to it, both signs.
            float mid = ((float)BitConverter.UInt16BitsToHalf((ushort)i) + (float)BitConverter.UInt16BitsToHalf((ushort)(i + 1))) / 2;
            foreach (var v in new[] { mid, MathF.BitDecrement(mid), MathF.BitIncrement(mid) }) { values.Add(v); values.Add(-v); }
        }
        uint state = 12345;
        for (int i = 0; i < 200_000; i++)
        {
            state = state * 1664525 + 1013904223;
            values.Add(BitConverter.UInt32BitsToSingle(state));
        }
        values.AddRange([float.PositiveInfinity, float.NegativeInfinity, 65520f, 65519.996f, 1e-8f, float.Epsilon, -0f]);
        var input = values.ToArray();
        var fast = new Half[input.Length];
        Assert.True(CastOp<float, Half>.ApplySpan(input, fast));
        for (int i = 0; i < input.Length; i++)
        {
            Half reference = CastOp<float, Half>.Apply(input[i]);
            bool same = Bits(reference) == Bits(fast[i]) || (Half.IsNaN(reference) && Half.IsNaN(fast[i]));
            Assert.True(same, $"float 0x{BitConverter.SingleToUInt32Bits(input[i]):X8}: reference 0x{Bits(reference):X4}, vectorised 0x{Bits(fast[i]):X4}");
        }
    }

    [Fact]
    public void BFloat16ToFloat_EveryBFloat16Value()
    {
        var values = Enumerable.Range(0, 1 << 16).Select(i => BFloat16.FromBits((ushort)i)).ToArray();
        var fast = new float[values.Length];
        Assert.True(CastOp<BFloat16, float>.ApplySpan(values, fast));
        for (int i = 0; i < values.Length; i++)
            Assert.True(BitConverter.SingleToUInt32Bits(CastOp<BFloat16, float>.Apply(values[i])) == BitConverter.SingleToUInt32Bits(fast[i]), $"bfloat16 0x{i:X4}");
    }

    [Fact]
    public void FloatToBFloat16_TiesNeighboursNaNsAndArbitraryBits()
    {
        var values = new List<float>();
        for (uint hi = 0; hi < 0x7F80; hi += 3)
        {
            // The tie between bfloat16 hi and hi+1 is the float with low half 0x8000; then its neighbours.
            float tie = BitConverter.UInt32BitsToSingle(hi << 16 | 0x8000);
            foreach (var v in new[] { tie, MathF.BitDecrement(tie), MathF.BitIncrement(tie) }) { values.Add(v); values.Add(-v); }
        }
        uint state = 777;
        for (int i = 0; i < 200_000; i++)
        {
            state = state * 1664525 + 1013904223;
            values.Add(BitConverter.UInt32BitsToSingle(state));   // NaNs with every payload among them
        }
        values.AddRange([float.NaN, float.PositiveInfinity, float.NegativeInfinity, float.MaxValue, float.Epsilon, -0f]);
        var input = values.ToArray();
        var fast = new BFloat16[input.Length];
        Assert.True(CastOp<float, BFloat16>.ApplySpan(input, fast));
        for (int i = 0; i < input.Length; i++)
            Assert.True(CastOp<float, BFloat16>.Apply(input[i]).Bits == fast[i].Bits,
                $"float 0x{BitConverter.SingleToUInt32Bits(input[i]):X8}: reference 0x{CastOp<float, BFloat16>.Apply(input[i]).Bits:X4}, vectorised 0x{fast[i].Bits:X4}");
    }

    // Bool masks made float by widened vectors: against the element loop (a strided view), lengths
    // with tails and past the thread split.
    [Theory]
    [InlineData(1)]
    [InlineData(7)]
    [InlineData(8)]
    [InlineData(1001)]
    [InlineData(300_001)]
    public void BoolToFloat_EqualsTheElementLoop(int length)
    {
        var mask = Tensor.Randn([2, length], generator: new Generator((ulong)length)) > 0.0;
        var wide = Tensor.Zeros([2, 2 * length], DType.Bool);
        wide[Tensor.Ellipsis, TensorIndex.Slice(0, null, 2)] = mask;
        var strided = wide[Tensor.Ellipsis, TensorIndex.Slice(0, null, 2)];
        var expected = strided.To(DType.Float32).ToArray<float>();
        Assert.Equal(expected, mask.To(DType.Float32).ToArray<float>());
        Assert.Equal(mask.ToArray<bool>().Select(b => b ? 1f : 0f), expected);
    }

    // Float ↔ double by vectors, bit for bit against C#'s own conversions (exact widening; rounding
    // to nearest, ties to even, overflow to infinity and subnormal results narrowing): arbitrary
    // bit patterns, NaN, infinities, signed zeros, doubles at and between float's ties, past the
    // thread split, with tails.
    [Theory]
    [InlineData(7)]
    [InlineData(1001)]
    [InlineData(300_001)]
    public void FloatAndDouble_EqualTheScalarConversions(int length)
    {
        var random = new Random(length);
        var floats = new float[length];
        var doubles = new double[length];
        double[] special = [double.NaN, double.PositiveInfinity, double.NegativeInfinity, 0.0, -0.0, 1e300, -1e-300, 3.4028235677973366e38, 1.401298464324817e-45 / 2, 1 + Math.Pow(2, -24)];
        for (int i = 0; i < length; i++)
        {
            floats[i] = BitConverter.Int32BitsToSingle(random.Next() ^ (random.Next(2) << 31));
            doubles[i] = i < special.Length ? special[i] : i % 3 == 0 ? (double)floats[i] + Math.Pow(2, -30) * floats[i] : BitConverter.Int64BitsToDouble(random.NextInt64());
        }
        var widened = Tensor.From(floats, [length]).To(DType.Float64).ToArray<double>();
        var narrowed = Tensor.From(doubles, [length]).To(DType.Float32).ToArray<float>();
        for (int i = 0; i < length; i++)
        {
            Assert.Equal(BitConverter.DoubleToInt64Bits(floats[i]), BitConverter.DoubleToInt64Bits(widened[i]));
            Assert.Equal(BitConverter.SingleToInt32Bits((float)doubles[i]), BitConverter.SingleToInt32Bits(narrowed[i]));
        }
    }
}
