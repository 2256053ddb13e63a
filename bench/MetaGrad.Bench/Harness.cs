using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;

namespace MetaGrad.Bench;

/// <summary>One row of the table: the same work written for both engines.</summary>
/// <param name="Name">What is measured.</param>
/// <param name="MetaGrad">One repetition in MetaGrad.</param>
/// <param name="Torch">One repetition in libtorch.</param>
/// <param name="Flops">Floating-point operations per repetition (0 when not meaningful).</param>
/// <param name="Bytes">Bytes moved per repetition (0 when not meaningful).</param>
/// <param name="Threads">Threads both engines may use.</param>
/// <param name="Inner">Repetitions per timed sample, for work too short to time alone.</param>
sealed record Workload(string Name, Action MetaGrad, Action Torch, double Flops = 0, double Bytes = 0, int Threads = 2, int Inner = 1);

/// <summary>
/// A measured row: medians in seconds per repetition; the ratios of the samples taken side by side
/// (see <see cref="Harness.Measure"/>) as their quartiles; with --memory, each engine's peak memory
/// above its baseline (see <see cref="Memory"/>).
/// </summary>
sealed record Result(string Name, int Threads, double MetaGradSeconds, double TorchSeconds, double Flops, double Bytes, double AllocatedBytes, double GcPercent,
    Quartiles PairedRatios, double? MetaGradPeakBytes = null, double? TorchPeakBytes = null)
{
    public double Ratio => TorchSeconds / MetaGradSeconds;
}

/// <summary>The lower quartile, median and upper quartile of a set of values.</summary>
readonly record struct Quartiles(double Lower, double Median, double Upper);

/// <summary>
/// Runs each workload in both engines in the same process, alternating, after warm-up, and
/// reports medians: the machine is shared and noisy, so only ratios from one run mean much.
/// </summary>
static class Harness
{
    public static Result Measure(Workload w, int samples, TimeSpan warmup)
    {
        SetThreads(w.Threads);
        WarmUp(w.MetaGrad, warmup);
        WarmUp(w.Torch, warmup);
        var mg = new List<double>();
        var th = new List<double>();
        long allocated = 0, gcPauseTicks = 0, mgTicks = 0;
        for (int s = 0; s < samples; s++)
        {
            // Alternate which engine goes first so drifting load hits both alike, and pause between
            // engines: both keep worker threads spinning for a moment after parallel work (libtorch's
            // OpenMP team, .NET's thread pool), which would otherwise steal a core from the other.
            if (s % 2 == 0) { Time(w, w.MetaGrad, mg, ref allocated, ref gcPauseTicks, ref mgTicks); Settle(); TimeTorch(w, th); Settle(); }
            else { TimeTorch(w, th); Settle(); Time(w, w.MetaGrad, mg, ref allocated, ref gcPauseTicks, ref mgTicks); Settle(); }
        }
        double perRep = samples * (double)w.Inner;
        // Sample s of each engine ran back to back, within a few tens of milliseconds: their ratio
        // sees the same state of a shared host, where the two medians can come from different
        // stretches of another tenant's load. The spread of these ratios tells how far one run's
        // ratio can be trusted.
        var paired = Enumerable.Range(0, samples).Select(s => th[s] / mg[s]).ToList();
        return new Result(w.Name, w.Threads, Median(mg), Median(th), w.Flops, w.Bytes, allocated / perRep,
            100.0 * gcPauseTicks / Math.Max(mgTicks, 1), QuartilesOf(paired));
    }

    // Quartiles by linear interpolation between the sorted values (numpy's default).
    static Quartiles QuartilesOf(List<double> xs)
    {
        var s = xs.Order().ToArray();
        double At(double q)
        {
            double position = q * (s.Length - 1);
            int below = (int)Math.Floor(position);
            int above = Math.Min(below + 1, s.Length - 1);
            return s[below] + (s[above] - s[below]) * (position - below);
        }
        return new Quartiles(At(0.25), At(0.5), At(0.75));
    }

    static void Settle() => Thread.Sleep(20);

    internal static void SetThreads(int n)
    {
        MetaGrad.Tensor.SetNumThreads(n);
        TorchSharp.torch.set_num_threads(n);
    }

    static void WarmUp(Action a, TimeSpan budget)
    {
        var sw = Stopwatch.StartNew();
        int n = 0;
        while (n < 3 || sw.Elapsed < budget) { a(); n++; }
    }

    // On two threads, untimed calls first for 10 ms (at least one): after the pause between engines
    // the other thread's core has gone idle, and on the 2-vCPU VMs here a thread woken then starts
    // milliseconds later (README, the benchmark), which short rows would time instead of their work,
    // either engine's. A training loop's steps follow each other without such pauses.
    static void Wake(Workload w, Action a)
    {
        if (w.Threads == 1) return;
        long until = Stopwatch.GetTimestamp() + Stopwatch.Frequency / 100;
        do a(); while (Stopwatch.GetTimestamp() < until);
    }

    static void Time(Workload w, Action a, List<double> into, ref long allocated, ref long gcPause, ref long ticks)
    {
        Wake(w, a);
        long before = GC.GetTotalAllocatedBytes(precise: false);
        var pauseBefore = GC.GetTotalPauseDuration();
        long t0 = Stopwatch.GetTimestamp();
        for (int i = 0; i < w.Inner; i++) a();
        long t1 = Stopwatch.GetTimestamp();
        gcPause += (GC.GetTotalPauseDuration() - pauseBefore).Ticks * Stopwatch.Frequency / TimeSpan.TicksPerSecond;
        ticks += t1 - t0;
        allocated += GC.GetTotalAllocatedBytes(precise: false) - before;
        into.Add((t1 - t0) / (double)Stopwatch.Frequency / w.Inner);
    }

    static void TimeTorch(Workload w, List<double> into)
    {
        Wake(w, w.Torch);
        long t0 = Stopwatch.GetTimestamp();
        for (int i = 0; i < w.Inner; i++) w.Torch();
        into.Add((Stopwatch.GetTimestamp() - t0) / (double)Stopwatch.Frequency / w.Inner);
    }

    static double Median(List<double> xs) => QuartilesOf(xs).Median;

    static string Duration(double seconds) => seconds switch
    {
        < 1e-3 => (seconds * 1e6).ToString("F1", CultureInfo.InvariantCulture) + " µs",
        < 1 => (seconds * 1e3).ToString("F2", CultureInfo.InvariantCulture) + " ms",
        _ => seconds.ToString("F2", CultureInfo.InvariantCulture) + " s",
    };

    static string Rate(Result r, double seconds) =>
        r.Flops > 0 ? (r.Flops / seconds / 1e9).ToString("F1", CultureInfo.InvariantCulture) + " GFLOP/s" :
        r.Bytes > 0 ? (r.Bytes / seconds / 1e9).ToString("F1", CultureInfo.InvariantCulture) + " GB/s" : "";

    static string Bytes(double b) => b switch
    {
        < 1024 => b.ToString("F0", CultureInfo.InvariantCulture) + " B",
        < 1 << 20 => (b / 1024).ToString("F1", CultureInfo.InvariantCulture) + " KiB",
        _ => (b / (1 << 20)).ToString("F1", CultureInfo.InvariantCulture) + " MiB",
    };

    // A row not measured (not a model row) or whose child failed is left blank.
    static string PeakCell(double? bytes) => bytes is { } b ? Bytes(b) : "";

    public static string Markdown(IReadOnlyList<Result> results, string header, double peakPerCore)
    {
        var sb = new StringBuilder(header).Append("\n\n");
        bool memory = results.Any(r => r.MetaGradPeakBytes is not null || r.TorchPeakBytes is not null);
        sb.Append("| workload | threads | MetaGrad | libtorch | ratio (libtorch / MetaGrad) | paired ratios: median (quartiles) | MetaGrad rate | libtorch rate | MetaGrad alloc/rep | MetaGrad GC % |");
        sb.Append(memory ? " MetaGrad peak memory | libtorch peak memory |\n" : "\n");
        sb.Append("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |").Append(memory ? " ---: | ---: |\n" : "\n");
        foreach (var r in results)
        {
            string share = r.Name.StartsWith("sgemm", StringComparison.Ordinal) && peakPerCore > 0
                ? string.Create(CultureInfo.InvariantCulture, $" ({100 * r.Flops / r.MetaGradSeconds / 1e9 / (peakPerCore * r.Threads):F0}% of peak)") : "";
            sb.Append(CultureInfo.InvariantCulture, $"| {r.Name} | {r.Threads} | {Duration(r.MetaGradSeconds)} | {Duration(r.TorchSeconds)} | {r.Ratio:F2} | {r.PairedRatios.Median:F2} ({r.PairedRatios.Lower:F2}–{r.PairedRatios.Upper:F2}) | {Rate(r, r.MetaGradSeconds)}{share} | {Rate(r, r.TorchSeconds)} | {Bytes(r.AllocatedBytes)} | {r.GcPercent:F1} |");
            if (memory) sb.Append(CultureInfo.InvariantCulture, $" {PeakCell(r.MetaGradPeakBytes)} | {PeakCell(r.TorchPeakBytes)} |");
            sb.Append('\n');
        }
        return sb.ToString();
    }

    /// <summary>
    /// What --quick could not estimate. Seven samples put a row's median at the mercy of a stretch
    /// of another tenant's load: the rows whose paired ratios spread wider than ±10% around their
    /// median (the quartiles; the precision full runs are read at) are named as not estimated.
    /// </summary>
    public static string QuickCaveat(IReadOnlyList<Result> results)
    {
        var loose = results.Where(r => r.PairedRatios.Upper - r.PairedRatios.Lower > 0.2 * r.PairedRatios.Median).ToList();
        if (loose.Count == 0) return "\n--quick: every row's paired ratios fell within ±10% of its median (quartiles).\n";
        var sb = new StringBuilder($"\n--quick could not estimate {loose.Count} of {results.Count} rows to ±10% (their paired ratios' quartiles spread wider); run them without --quick (--only TEXT):\n\n");
        foreach (var r in loose)
            sb.Append(CultureInfo.InvariantCulture, $"- {r.Name} ({r.Threads} threads): paired ratios {r.PairedRatios.Lower:F2}–{r.PairedRatios.Upper:F2} around {r.PairedRatios.Median:F2}\n");
        return sb.ToString();
    }

    public static string Json(IReadOnlyList<Result> results, string machine, int vectorBits, double peakPerCore) => JsonSerializer.Serialize(new
    {
        date = DateTime.UtcNow.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture),
        machine,
        vector_bits = vectorBits,
        fma_peak_gflops_per_core = peakPerCore,
        results = results.Select(r => new
        {
            r.Name, r.Threads, metagrad_seconds = r.MetaGradSeconds, libtorch_seconds = r.TorchSeconds, ratio = r.Ratio,
            paired_ratio_median = r.PairedRatios.Median, paired_ratio_lower_quartile = r.PairedRatios.Lower, paired_ratio_upper_quartile = r.PairedRatios.Upper,
            r.Flops, r.Bytes, allocated_bytes_per_rep = r.AllocatedBytes, gc_percent = r.GcPercent,
            metagrad_peak_bytes = r.MetaGradPeakBytes, libtorch_peak_bytes = r.TorchPeakBytes,
        }),
    }, new JsonSerializerOptions { WriteIndented = true });
}
