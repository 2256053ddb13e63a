using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace MetaGrad.Backends.Cpu;

/// <summary>
/// The attention backward's work on a float tile row as single vector passes, where
/// <see cref="FloatMath.IsAccelerated"/>: the row's probabilities exp(scale·s + bias − lse), and
/// its score gradient (dP − D) ∘ P · scale. Through TensorPrimitives these were three to five calls
/// a row, each paying its own entry and tail on rows of only 48-128 keys (bench/results/TUNING.md).
/// Each pass does the calls' operations in their order, so the bits are the same as theirs.
/// </summary>
internal static class AttentionTileRows
{
    /// <summary>
    /// row[j] = exp(row[j]·scale + bias − shift) for j &lt; visible, 0 past it. The bias is none
    /// (<paramref name="bias"/> empty and <paramref name="biasValue"/> 0), one value a key
    /// (<paramref name="bias"/>, visible long), or one value for the row (<paramref name="biasValue"/>).
    /// </summary>
    public static void Probabilities(Span<float> row, int visible, float scale, ReadOnlySpan<float> bias, float biasValue, float shift)
    {
        if (FloatMath.UseVector512) Probabilities<Floats16>(row, visible, scale, bias, biasValue, shift);
        else Probabilities<Floats8>(row, visible, scale, bias, biasValue, shift);
        row[visible..].Clear();
    }

    /// <summary>ds[j] = (ds[j] − delta)·p[j]·scale, rounded after each operation.</summary>
    public static void ScoreGradient(Span<float> ds, ReadOnlySpan<float> p, float delta, float scale)
    {
        if (FloatMath.UseVector512) ScoreGradient<Floats16>(ds, p, delta, scale);
        else ScoreGradient<Floats8>(ds, p, delta, scale);
    }

    static void Probabilities<TV>(Span<float> row, int visible, float scale, ReadOnlySpan<float> bias, float biasValue, float shift)
        where TV : struct, IFloatVector<TV>
    {
        int w = TV.Count, i = 0;
        bool perKey = !bias.IsEmpty, perRow = biasValue != 0;
        ref float x = ref MemoryMarshal.GetReference(row);
        ref float b = ref MemoryMarshal.GetReference(bias);
        TV times = TV.Create(scale), by = TV.Create(shift), value = TV.Create(biasValue);
        for (; i <= visible - w; i += w)
            Step(TV.Load(ref x, (nuint)i), perKey ? TV.Load(ref b, (nuint)i) : value).Store(ref x, (nuint)i);
        if (i == visible) return;
        // The tail through one padded vector, so that every value takes the same exp.
        Span<float> tail = stackalloc float[16], tailBias = stackalloc float[16];
        row[i..visible].CopyTo(tail);
        if (perKey) bias[i..visible].CopyTo(tailBias);
        ref float t = ref MemoryMarshal.GetReference(tail);
        Step(TV.Load(ref t, 0), perKey ? TV.Load(ref MemoryMarshal.GetReference(tailBias), 0) : value).Store(ref t, 0);
        tail[..(visible - i)].CopyTo(row[i..]);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        TV Step(TV s, TV add)
        {
            var scaled = s * times;
            if (perKey || perRow) scaled += add;
            return FloatMath.ExpVector(scaled - by);
        }
    }

    static void ScoreGradient<TV>(Span<float> ds, ReadOnlySpan<float> p, float delta, float scale) where TV : struct, IFloatVector<TV>
    {
        int n = ds.Length, w = TV.Count, i = 0;
        ref float d = ref MemoryMarshal.GetReference(ds);
        ref float q = ref MemoryMarshal.GetReference(p);
        TV less = TV.Create(delta), times = TV.Create(scale);
        for (; i <= n - w; i += w)
            ((TV.Load(ref d, (nuint)i) - less) * TV.Load(ref q, (nuint)i) * times).Store(ref d, (nuint)i);
        for (; i < n; i++) ds[i] = (ds[i] - delta) * p[i] * scale;
    }
}
