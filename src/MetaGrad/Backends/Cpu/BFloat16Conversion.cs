using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace MetaGrad.Backends.Cpu;

/// <summary>
/// Float32 ↔ BFloat16 over runs, 16 elements per step: the same bit arithmetic as the BFloat16
/// struct's conversions (round to nearest even by adding 0x7FFF plus the kept part's low bit; every
/// NaN to 0x7FC0), so CastFastPathTests can hold the two equal. The element loop ran at the speed
/// of a call per element, around every bfloat16 operation.
/// </summary>
internal static class BFloat16Conversion
{
    public static void FromSingle(ReadOnlySpan<float> x, Span<BFloat16> y)
    {
        var src = MemoryMarshal.Cast<float, uint>(x);
        var dst = MemoryMarshal.Cast<BFloat16, ushort>(y);
        int i = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            var bias = Vector256.Create(0x7FFFu);
            var nan = Vector256.Create(0x7FC0u);
            for (; i <= src.Length - 16; i += 16)
            {
                var low = Round(Vector256.Create(src.Slice(i, 8)), bias, nan);
                var high = Round(Vector256.Create(src.Slice(i + 8, 8)), bias, nan);
                Vector256.Narrow(low, high).CopyTo(dst.Slice(i, 16));
            }
        }
        for (; i < src.Length; i++) y[i] = (BFloat16)x[i];
    }

    static Vector256<uint> Round(Vector256<uint> bits, Vector256<uint> bias, Vector256<uint> nan)
    {
        var rounded = (bits + bias + ((bits >> 16) & Vector256<uint>.One)) >> 16;
        var f = bits.AsSingle();
        return Vector256.ConditionalSelect(Vector256.Equals(f, f).AsUInt32(), rounded, nan);
    }

    public static void ToSingle(ReadOnlySpan<BFloat16> x, Span<float> y)
    {
        var src = MemoryMarshal.Cast<BFloat16, ushort>(x);
        var dst = MemoryMarshal.Cast<float, uint>(y);
        int i = 0;
        if (Vector256.IsHardwareAccelerated)
            for (; i <= src.Length - 16; i += 16)
            {
                var (low, high) = Vector256.Widen(Vector256.Create(src.Slice(i, 16)));
                (low << 16).CopyTo(dst.Slice(i, 8));
                (high << 16).CopyTo(dst.Slice(i + 8, 8));
            }
        for (; i < src.Length; i++) y[i] = (float)x[i];
    }
}
