using System.Diagnostics;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace MetaGrad.Bench;

/// <summary>
/// <c>--avx2</c>: both engines held to AVX2 and FMA on a machine that has AVX-512, so that one
/// machine kind can stand in for the code paths of a kind without it (the Zen 3 kind). It is a
/// stand-in, not that machine: caches, clocks and the width of the execution units stay this
/// machine's. Each engine reads its cap once, at start-up (the .NET runtime, libtorch's ATen
/// dispatch, oneDNN, MKL), so the benchmark runs itself again as a child with the caps set.
/// </summary>
static class InstructionSets
{
    /// <summary>The environment that caps each engine at AVX2 (.NET 10 ignores the older DOTNET_EnableAVX512F).</summary>
    static readonly (string Name, string Value)[] Avx2Caps =
        [("DOTNET_EnableAVX512", "0"), ("ATEN_CPU_CAPABILITY", "avx2"), ("ONEDNN_MAX_CPU_ISA", "AVX2"), ("MKL_ENABLE_INSTRUCTIONS", "AVX2")];

    /// <summary>Whether this process runs under the caps (the child that <see cref="RunCapped"/> starts).</summary>
    public static bool Capped => Avx2Caps.All(c => Environment.GetEnvironmentVariable(c.Name) == c.Value);

    /// <summary>For the report's header: the caps in force, or nothing.</summary>
    public static string Describe() => Capped
        ? "; AVX-512 switched off for both engines (--avx2: " + string.Join(", ", Avx2Caps.Select(c => $"{c.Name}={c.Value}")) + ")"
        : "";

    /// <summary>
    /// Runs the benchmark again with the caps set and the other arguments as given; its exit
    /// code, or 2 where the capped child still saw 512-bit vectors (a runtime that ignores the switch).
    /// </summary>
    public static int RunCapped(string[] args)
    {
        if (!Avx512F.IsSupported)
            Console.Error.WriteLine("--avx2: this machine has no AVX-512; the run is the same as without --avx2.");
        // Run as `dotnet MetaGrad.Bench.dll`, the first argument is the assembly; as the apphost, the program itself.
        string self = Environment.GetCommandLineArgs()[0];
        var start = new ProcessStartInfo(Environment.ProcessPath!) { UseShellExecute = false };
        if (!string.Equals(Path.GetFullPath(self), Environment.ProcessPath, StringComparison.Ordinal)) start.ArgumentList.Add(self);
        foreach (var a in args.Where(a => a != "--avx2")) start.ArgumentList.Add(a);
        foreach (var (name, value) in Avx2Caps) start.Environment[name] = value;
        using var child = Process.Start(start)!;
        child.WaitForExit();
        return child.ExitCode;
    }

    /// <summary>In the capped child: null, or why the caps did not take (the numbers would be 512-bit ones).</summary>
    public static string? CapProblem() => Capped && (Vector512.IsHardwareAccelerated || Avx512F.IsSupported)
        ? "--avx2: the .NET runtime still reports AVX-512 under DOTNET_EnableAVX512=0; refusing to report 512-bit figures as AVX2 ones"
        : null;
}
