using System.Globalization;
using MetaGrad.Bench;
using TorchSharp;
using static TorchSharp.torch;
using MG = MetaGrad;

// dotnet run -c Release --project bench/MetaGrad.Bench -- [--quick] [--out folder] [--only text] [--warmup-ms 600] [--memory] [--avx2]
const string Usage = "usage: MetaGrad.Bench [--quick] [--out FOLDER] [--only TEXT] [--warmup-ms MS] [--memory] [--avx2]";
if (args is ["--help"] or ["-h"])
{
    Console.WriteLine(Usage);
    return 0;
}
// A mistyped option ran the whole suite and overwrote bench/results/latest.*: refuse it instead.
if (Arguments.Problem(args) is { } problem)
{
    Console.Error.WriteLine($"MetaGrad.Bench: {problem}\n{Usage}");
    return 2;
}
if (args.Contains("--avx2")) return InstructionSets.RunCapped(args);
if (InstructionSets.CapProblem() is { } capProblem)
{
    Console.Error.WriteLine($"MetaGrad.Bench: {capProblem}");
    return 2;
}
NativeAllocator.Steady();   // before libtorch allocates anything: see NativeAllocator
bool quick = args.Contains("--quick");
if (args.SkipWhile(a => a != "--memory-child").Skip(1).Take(3).ToArray() is [var childRow, var childThreads, var childEngine])
    return Memory.Child(childRow, int.Parse(childThreads, CultureInfo.InvariantCulture), childEngine, quick);
bool memory = args.Contains("--memory");
if (memory && !Memory.Available)
{
    Console.Error.WriteLine("--memory needs Linux's /proc/self/clear_refs: peak memory is not measured here.");
    memory = false;
}
string outDir = args.SkipWhile(a => a != "--out").Skip(1).FirstOrDefault() ?? "bench/results";
string? only = args.SkipWhile(a => a != "--only").Skip(1).FirstOrDefault();   // run only rows whose name contains this
int samples = quick ? 7 : 21;
// Every row warms up 600 ms, --quick too: with 150 ms MetaGrad's code was measured before the
// JIT's tier-1 versions were in (LeNet 15.4 ms a step against 5.4 ms in a full run; MLP 1.2-1.7 ms
// against 0.8 ms); with 600 ms both agree within 10-15%. --warmup-ms overrides it.
var warmup = TimeSpan.FromMilliseconds(args.SkipWhile(a => a != "--warmup-ms").Skip(1).FirstOrDefault() is { } warmupMs ? double.Parse(warmupMs, CultureInfo.InvariantCulture) : 600);

var workloads = new List<Workload>();

// Matrix multiply: float32, square, 1 and 2 threads.
foreach (var threads in new[] { 1, 2 })
    foreach (var n in quick ? new[] { 64, 512, 1024 } : [64, 128, 512, 1024, 2048])
    {
        var a = MG.Tensor.Randn(n, n);
        var b = MG.Tensor.Randn(n, n);
        var ta = torch.randn(n, n);
        var tb = torch.randn(n, n);
        int inner = n <= 128 ? 50 : 1;
        workloads.Add(new($"sgemm {n}³", () => a.Matmul(b), () => { using var _ = ta.matmul(tb); }, Flops: 2.0 * n * n * n, Threads: threads, Inner: inner));
    }

// Elementwise add with a new output.
foreach (var n in new[] { 1 << 20, 1 << 24 })
{
    var a = MG.Tensor.Randn(n);
    var b = MG.Tensor.Randn(n);
    var ta = torch.randn(n);
    var tb = torch.randn(n);
    workloads.Add(new($"a+b, {n / (1 << 20)}M float32", () => _ = a + b, () => { using var _ = ta + tb; }, Bytes: 12.0 * n, Inner: n < 1 << 24 ? 10 : 1));
}

// The narrow float dtypes: stored narrow, computed in float32 and rounded back (MetaGrad's
// WideningBackend), against libtorch's own half and bfloat16 kernels.
{
    int n = 1 << 20;
    var f = MG.Tensor.Randn(n);
    var (h1, h2) = (MG.Tensor.Randn(n).Half(), MG.Tensor.Randn(n).Half());
    var tf = torch.randn(n);
    var (th1, th2) = (torch.randn(n).to_type(ScalarType.Float16), torch.randn(n).to_type(ScalarType.Float16));
    workloads.Add(new("cast float32→float16, 1M", () => _ = f.Half(), () => { using var _ = tf.to_type(ScalarType.Float16); }, Bytes: 6.0 * n, Inner: 10));
    workloads.Add(new("a+b, 1M float16", () => _ = h1 + h2, () => { using var _ = th1 + th2; }, Bytes: 6.0 * n, Inner: 10));
    var (b1, b2) = (h1.BFloat16(), h2.BFloat16());
    var (tb1, tb2) = (th1.to_type(ScalarType.BFloat16), th2.to_type(ScalarType.BFloat16));
    workloads.Add(new("a+b, 1M bfloat16", () => _ = b1 + b2, () => { using var _ = tb1 + tb2; }, Bytes: 6.0 * n, Inner: 10));
    int m = 512;
    var (ba, bb) = (MG.Tensor.Randn(m, m).BFloat16(), MG.Tensor.Randn(m, m).BFloat16());
    var (tba, tbb) = (torch.randn(m, m).to_type(ScalarType.BFloat16), torch.randn(m, m).to_type(ScalarType.BFloat16));
    workloads.Add(new($"matmul {m}³ bfloat16", () => ba.Matmul(bb), () => { using var _ = tba.matmul(tbb); }, Flops: 2.0 * m * m * m));
}

// Per-operation overhead on tiny tensors.
{
    var a = MG.Tensor.Randn(4);
    var b = MG.Tensor.Randn(4);
    var ga = MG.Tensor.Randn([4], requiresGrad: true);
    var gb = MG.Tensor.Randn([4], requiresGrad: true);
    var ta = torch.randn(4);
    var tb = torch.randn(4);
    var tga = torch.randn(4, requires_grad: true);
    var tgb = torch.randn(4, requires_grad: true);
    workloads.Add(new("add [4], no grad", () => _ = a + b, () => { using var _ = ta + tb; }, Inner: 2000));
    workloads.Add(new("add [4], with grad", () => _ = ga + gb, () => { using var _ = tga + tgb; }, Inner: 2000));
    workloads.Add(new("(x*y).Sum() forward + backward [4]", () =>
    {
        (ga * gb).Sum().Backward();
        ga.Grad = null;
        gb.Grad = null;
    }, () =>
    {
        using var scope = torch.NewDisposeScope();
        (tga * tgb).sum().backward();
        tga.grad?.zero_();
        tgb.grad?.zero_();
    }, Inner: 500));
}

foreach (var row in Training.Workloads(quick)) workloads.Add(row);
foreach (var row in Convolution.Workloads()) workloads.Add(row);
foreach (var row in Attention.Workloads()) workloads.Add(row);

// The peak is a property of the hardware: another tenant's load can only lower a reading (one
// taken at the end of a run read 118 against 162-182 GFLOP/s in the runs beside it), so it is
// measured before the rows and after them, and the higher reading is the yardstick.
double peakBefore = Peak.FmaGflopsPerCore();
var results = new List<Result>();
foreach (var w in workloads.Where(w => only is null || w.Name.Contains(only, StringComparison.OrdinalIgnoreCase)))
{
    var r = Harness.Measure(w, samples, warmup);
    results.Add(r);
    Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{r.Name} ({r.Threads} threads): ratio {r.Ratio:F2}"));
}

// Each model row's peak memory, each engine in a process of its own (see Memory).
if (memory)
{
    var modelRows = Memory.Rows(quick).Select(w => (w.Name, w.Threads)).ToHashSet();
    for (int i = 0; i < results.Count; i++)
    {
        var r = results[i];
        if (!modelRows.Contains((r.Name, r.Threads))) continue;
        results[i] = r with { MetaGradPeakBytes = Memory.Measure(r.Name, r.Threads, "metagrad", quick), TorchPeakBytes = Memory.Measure(r.Name, r.Threads, "libtorch", quick) };
        Console.Error.WriteLine($"{r.Name} ({r.Threads} threads): peak memory measured");
    }
}

double peak = Math.Max(peakBefore, Peak.FmaGflopsPerCore());
string machine = $"{Peak.CpuModel()}, {Environment.ProcessorCount} cores, {System.Runtime.InteropServices.RuntimeInformation.OSDescription}, .NET {Environment.Version}, libtorch 2.10 (TorchSharp 0.107.0) on {NativeAllocator.Setting}";
string header = $"Benchmarks of {DateTime.UtcNow:yyyy-MM-dd} on {machine}; {Peak.VectorBits}-bit vectors, fp32 FMA peak measured at " +
    string.Create(CultureInfo.InvariantCulture, $"{peak:F0} GFLOP/s per core (the higher of a reading before the rows and one after)") +
    $"{InstructionSets.Describe()}; medians of {samples} alternating samples{(quick ? " (--quick)" : "")}. Ratio above 1: MetaGrad is faster. GEMM rows give MetaGrad's share of that peak (per thread)." +
    (memory ? " Peak memory: each engine alone in a fresh process, the resident set's high-water mark over a second of repetitions above its size after the first (--memory; see bench/MetaGrad.Bench/Memory.cs)." : "");
var markdown = Harness.Markdown(results, header, peak);
if (quick) markdown += Harness.QuickCaveat(results);
Console.WriteLine(markdown);
Directory.CreateDirectory(outDir);
File.WriteAllText(Path.Combine(outDir, "latest.md"), markdown);
File.WriteAllText(Path.Combine(outDir, "latest.json"), Harness.Json(results, machine, Peak.VectorBits, peak));
return 0;
