namespace MetaGrad.Conformance.Harness;

/// <summary>
/// The knobs of a conformance run, read once from the environment. CI uses the defaults, so every
/// run generates the same cases; a deep run raises the case count or moves the seed.
/// </summary>
static class Settings
{
    /// <summary>Generated cases per operation (each run in float32 and float64): METAGRAD_CONFORMANCE_CASES.</summary>
    public static readonly int Cases = Int("METAGRAD_CONFORMANCE_CASES", 24);

    /// <summary>
    /// Generated cases per invalid-call operation: half as many, since each libtorch exception costs
    /// about 10 ms (TorchSharp reads its message, which symbolizes a C++ backtrace).
    /// </summary>
    public static int ErrorCases => Math.Max(1, Cases / 2);

    /// <summary>The seed every operation's case stream starts from: METAGRAD_CONFORMANCE_SEED.</summary>
    public static readonly ulong Seed = (ulong)Int("METAGRAD_CONFORMANCE_SEED", 20260101);

    /// <summary>A CsCheck seed printed by a failure: run only that case (METAGRAD_CONFORMANCE_REPLAY).</summary>
    public static readonly string? Replay = Environment.GetEnvironmentVariable("METAGRAD_CONFORMANCE_REPLAY");

    /// <summary>How long CsCheck may look for a smaller failing case once one fails: METAGRAD_CONFORMANCE_SHRINK_SECONDS.</summary>
    public static readonly int ShrinkSeconds = Int("METAGRAD_CONFORMANCE_SHRINK_SECONDS", 10);

    static int Int(string name, int fallback) =>
        int.TryParse(Environment.GetEnvironmentVariable(name), out var value) && value > 0 ? value : fallback;
}
