namespace MetaGrad;

/// <summary>
/// A seedable pseudo-random generator (xoshiro256**, seeded through splitmix64), like
/// torch.Generator. The same seed gives the same numbers on every machine.
/// </summary>
/// <remarks>
/// Safe to share between threads, as PyTorch's generators are: each draw, and each tensor filled
/// by one, holds a lock, so the state is never torn. Which numbers each thread gets then depends on
/// how the threads interleave: for reproducible work on several threads give each its own
/// generator (modules that draw, such as Dropout, take one).
/// </remarks>
public sealed class Generator
{
    ulong _s0, _s1, _s2, _s3;
    double? _spareNormal;

    /// <summary>Held by each public draw; bulk fills take it once and call the Draw methods.</summary>
    internal Lock Sync { get; } = new();

    /// <summary>The generator used when none is passed; reseed it with <see cref="Tensor.ManualSeed"/>.</summary>
    public static Generator Default { get; } = new(0x5EEDUL);

    /// <summary>A generator started from <paramref name="seed"/>.</summary>
    public Generator(ulong seed) => ManualSeed(seed);

    /// <summary>Restarts the sequence from <paramref name="seed"/>.</summary>
    public Generator ManualSeed(ulong seed)
    {
        using var _ = Sync.EnterScope();
        ulong x = seed;
        _s0 = SplitMix(ref x);
        _s1 = SplitMix(ref x);
        _s2 = SplitMix(ref x);
        _s3 = SplitMix(ref x);
        _spareNormal = null;
        return this;
    }

    /// <summary>The full state, so a checkpoint can resume the exact sequence (torch.Generator.get_state).</summary>
    public ulong[] GetState()
    {
        using var _ = Sync.EnterScope();
        return [_s0, _s1, _s2, _s3, _spareNormal is double ? 1UL : 0UL, _spareNormal is double v ? BitConverter.DoubleToUInt64Bits(v) : 0UL];
    }

    /// <summary>Restores a state from <see cref="GetState"/>.</summary>
    public void SetState(ulong[] state)
    {
        if (state.Length != 6) throw new ArgumentException($"Generator.SetState: expected a state of 6 values from GetState, got {state.Length}");
        using var _ = Sync.EnterScope();
        (_s0, _s1, _s2, _s3) = (state[0], state[1], state[2], state[3]);
        _spareNormal = state[4] != 0 ? BitConverter.UInt64BitsToDouble(state[5]) : null;
    }

    static ulong SplitMix(ref ulong x)
    {
        ulong z = x += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    /// <summary>64 uniformly random bits.</summary>
    public ulong NextUInt64()
    {
        using var _ = Sync.EnterScope();
        return DrawUInt64();
    }

    /// <summary>Uniform in [0, 1) with 53 random bits.</summary>
    public double NextDouble()
    {
        using var _ = Sync.EnterScope();
        return DrawDouble();
    }

    /// <summary>Uniform integer in [0, n) without modulo bias.</summary>
    public long NextInt64(long n)
    {
        if (n <= 0) throw new ArgumentOutOfRangeException(nameof(n), $"Generator.NextInt64: the range must be positive, got {n}");
        using var _ = Sync.EnterScope();
        return DrawInt64(n);
    }

    /// <summary>Standard normal by the Box–Muller transform (pairs are used in turn).</summary>
    public double NextNormal()
    {
        using var _ = Sync.EnterScope();
        return DrawNormal();
    }

    // The draws themselves, for callers that hold Sync (a tensor filled under one acquisition).

    internal ulong DrawUInt64()
    {
        ulong result = ulong.RotateLeft(_s1 * 5, 7) * 9;
        ulong t = _s1 << 17;
        _s2 ^= _s0;
        _s3 ^= _s1;
        _s1 ^= _s2;
        _s0 ^= _s3;
        _s2 ^= t;
        _s3 = ulong.RotateLeft(_s3, 45);
        return result;
    }

    internal double DrawDouble() => (DrawUInt64() >> 11) * (1.0 / (1UL << 53));

    internal long DrawInt64(long n)
    {
        ulong limit = ulong.MaxValue - ulong.MaxValue % (ulong)n;
        ulong r;
        do r = DrawUInt64(); while (r >= limit);
        return (long)(r % (ulong)n);
    }

    internal double DrawNormal()
    {
        if (_spareNormal is double spare)
        {
            _spareNormal = null;
            return spare;
        }
        double u1 = 1.0 - DrawDouble(); // in (0, 1]: log is finite
        double u2 = DrawDouble();
        double r = Math.Sqrt(-2.0 * Math.Log(u1));
        _spareNormal = r * Math.Sin(2 * Math.PI * u2);
        return r * Math.Cos(2 * Math.PI * u2);
    }
}
