using System.Diagnostics;
using System.Globalization;

namespace MetaGrad.Bench;

/// <summary>
/// Peak resident memory of a model row (training steps, convolutions, attention), each engine in
/// a fresh process of its own (<c>--memory</c>): in the timing process the two engines, and the
/// rows before, leave memory resident that neither row needs, and .NET keeps freed pages, so no
/// in-process figure would say what a row costs. The child builds the row (both engines' models:
/// the same in either child), takes its resident set as the baseline, resets the kernel's
/// high-water mark and runs repetitions for at least a second: the figure is the high-water mark
/// above that baseline, the memory the steps need at their peak, with what comes into being at
/// the first step (optimizer state, buffer pools, the code the JIT compiles) included; libtorch's
/// with a collection after each step (see <see cref="Collect"/>). Linux only (/proc/self/status
/// and clear_refs).
/// </summary>
static class Memory
{
    /// <summary>The rows whose memory is measured, in the order the timing runs them.</summary>
    public static IEnumerable<Workload> Rows(bool quick) => Training.Workloads(quick).Concat(Convolution.Workloads()).Concat(Attention.Workloads());

    /// <summary>Whether this machine can measure it.</summary>
    public static bool Available => OperatingSystem.IsLinux() && File.Exists("/proc/self/clear_refs");

    /// <summary>
    /// The child's side (<c>--memory-child NAME THREADS ENGINE</c>): prints the baseline resident
    /// set and the peak above it, in bytes, on one line.
    /// </summary>
    public static int Child(string name, int threads, string engine, bool quick)
    {
        var w = Rows(quick).FirstOrDefault(w => w.Name == name && w.Threads == threads);
        if (w is null)
        {
            Console.Error.WriteLine($"--memory-child: no row named '{name}' at {threads} threads");
            return 2;
        }
        Harness.SetThreads(threads);
        var step = engine switch
        {
            "metagrad" => w.MetaGrad,
            "libtorch" => w.Torch,
            _ => throw new ArgumentException($"--memory-child: engine must be metagrad or libtorch, got '{engine}'"),
        };
        Collect();   // the construction's garbage (and the other engine's model's) out of the way
        long baseline = Status("VmRSS");
        File.WriteAllText("/proc/self/clear_refs", "5");   // the high-water mark starts again from the current resident set
        var clock = Stopwatch.StartNew();
        for (int n = 0; n < 5 || clock.Elapsed < TimeSpan.FromSeconds(1); n++)
        {
            step();
            if (engine == "libtorch") Collect();
        }
        long peak = Status("VmHWM");
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{baseline} {Math.Max(0, peak - baseline)}"));
        return 0;
    }

    /// <summary>The peak above the baseline, in bytes, of one engine running a row in a child process; null where the child failed (it says why on standard error).</summary>
    public static double? Measure(string name, int threads, string engine, bool quick)
    {
        // Run as `dotnet MetaGrad.Bench.dll`, the first argument is the assembly; as the apphost, the program itself.
        string self = Environment.GetCommandLineArgs()[0];
        var start = new ProcessStartInfo(Environment.ProcessPath!) { RedirectStandardOutput = true, UseShellExecute = false };
        if (!string.Equals(Path.GetFullPath(self), Environment.ProcessPath, StringComparison.Ordinal)) start.ArgumentList.Add(self);
        foreach (var a in new[] { "--memory-child", name, threads.ToString(CultureInfo.InvariantCulture), engine }) start.ArgumentList.Add(a);
        if (quick) start.ArgumentList.Add("--quick");
        using var child = Process.Start(start)!;
        string output = child.StandardOutput.ReadToEnd();
        child.WaitForExit();
        var fields = output.Trim().Split(' ');
        if (child.ExitCode != 0 || fields.Length != 2) return null;
        return double.Parse(fields[1], CultureInfo.InvariantCulture);
    }

    // Some of TorchSharp's tensor handles outlive a step's dispose scope and free their libtorch
    // memory only when the .NET finalizer runs: without this, libtorch's process grows step after
    // step until a collection comes. PyTorch frees a tensor when its last reference goes, so
    // libtorch is measured so, collecting after every step: its figure is what it needs, not what
    // TorchSharp holds back. MetaGrad's child runs as a user's program would, with no collection forced.
    static void Collect()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
    }

    // A "Name:   123 kB" line of /proc/self/status, in bytes.
    static long Status(string field)
    {
        foreach (var line in File.ReadLines("/proc/self/status"))
            if (line.StartsWith(field + ":", StringComparison.Ordinal))
                return long.Parse(line[(field.Length + 1)..].Trim().Split(' ')[0], CultureInfo.InvariantCulture) * 1024;
        throw new InvalidOperationException($"/proc/self/status has no {field} line");
    }
}
