using System.Diagnostics;
using System.Globalization;
using MetaGrad;
using MetaGrad.IO;
using MetaGrad.NN;
using MetaGrad.Optim;

// MetaGrad as one native executable: the time from process start to the first matrix product,
// then a small model trained, checkpointed, restored and run, each step checked, so that a
// trimmed or NativeAOT build that lost something (parameters found by reflection, checkpoint JSON)
// fails loudly here. Exit code 1 when a check fails.
//
// --started-at-ns N   the launcher's clock (Unix time in ns, `date +%s%N`) just before it started
//                     this process; without it, the kernel's start time (10 ms resolution) is used
// --startup-only      stop after the first matrix product (for repeated timing)

var now = DateTime.UtcNow;
var a = Tensor.Randn([128, 128], generator: new Generator(1));
var b = Tensor.Randn([128, 128], generator: new Generator(2));
float corner = a.Matmul(b)[0, 0].Item<float>();
var done = DateTime.UtcNow;
var (started, clock) = StartTime(args);
Console.WriteLine(FormattableString.Invariant(
    $"process start to first matrix product (128x128 @ 128x128 float32): {(done - started).TotalMilliseconds:F1} ms ({clock}; Main's share, two random matrices and their product, {(done - now).TotalMilliseconds:F1} ms)"));
Console.WriteLine(FormattableString.Invariant(
    $"runtime: {(System.Runtime.CompilerServices.RuntimeFeature.IsDynamicCodeSupported ? "JIT" : "NativeAOT")}, vectors: {Isa()}, product[0, 0] = {corner:F4}"));
if (args.Contains("--startup-only")) return 0;

// Points inside or outside a circle of radius 1.1, from two seeded generators (train, test).
static (Tensor X, Tensor Y) Circle(int n, ulong seed)
{
    var x = Tensor.Rand([n, 2], generator: new Generator(seed)) * 4.0 - 2.0;
    var y = (x.Pow(2).Sum(1) < 1.21).To(DType.Int64);
    return (x, y);
}
var (trainX, trainY) = Circle(512, 10);
var (testX, testY) = Circle(512, 11);

var clockTrain = Stopwatch.StartNew();
var model = new CircleNet(new Generator(0));
var names = string.Join(", ", model.NamedParameters().Select(p => $"{p.Name} {Shape(p.Parameter)}"));
Console.WriteLine($"parameters found in fields: {names}");
if (model.Parameters().Count() != 6) return Fail("expected 6 parameters (3 layers' weights and biases) discovered from fields");

var optimizer = new Adam(model.Parameters(), lr: 0.03);
double first = 0, last = 0;
for (int step = 0; step < 300; step++)
{
    var loss = Losses.CrossEntropy(model.Forward(trainX), trainY);
    optimizer.ZeroGrad();
    loss.Backward();
    optimizer.Step();
    last = loss.Item<float>();
    if (step == 0) first = last;
}
double accuracy = Accuracy(model, testX, testY);
Console.WriteLine(FormattableString.Invariant(
    $"300 Adam steps on 512 points: loss {first:F4} -> {last:F4}, held-out accuracy {accuracy:P1} ({clockTrain.ElapsedMilliseconds} ms)"));
if (!(last < first / 4) || accuracy < 0.9) return Fail("the model did not learn the circle");

// A training checkpoint round trip: model tensors, optimizer state and its options as JSON.
string path = Path.Combine(Path.GetTempPath(), $"metagrad-aot-{Environment.ProcessId}.safetensors");
try
{
    new Checkpoint().Add("model", model.StateDict()).AddOptimizer("optim", optimizer.StateDict()).Save(path);
    var saved = Checkpoint.Load(path);
    var restored = new CircleNet(new Generator(99));
    restored.LoadStateDict(saved.Section("model"));
    new Adam(restored.Parameters(), lr: 0.03).LoadStateDict(saved.OptimizerState("optim"));
    using (Autograd.NoGrad())
        if (!restored.Forward(testX).Equal(model.Forward(testX))) return Fail("the restored model's outputs differ");
    Console.WriteLine($"checkpoint saved and restored: {saved.Tensors.Count} tensors, outputs identical");
}
finally
{
    File.Delete(path);
}

var probe = Tensor.From(new float[,] { { 0f, 0f }, { 1.8f, 1.8f } });
using (Autograd.NoGrad())
{
    var classes = model.Forward(probe).ArgMax(1);
    Console.WriteLine($"(0, 0) -> {(classes[0].Item<long>() == 1 ? "inside" : "outside")}, (1.8, 1.8) -> {(classes[1].Item<long>() == 1 ? "inside" : "outside")}");
}
return 0;

static double Accuracy(CircleNet model, Tensor x, Tensor y)
{
    using (Autograd.NoGrad())
        return model.Forward(x).ArgMax(1).Eq(y).To(DType.Float32).Mean().Item<float>();
}

// The widest vector instructions the kernels' fast paths can use in this build (NativeAOT fixes them at compile time).
static string Isa() =>
    System.Runtime.Intrinsics.X86.Avx512F.IsSupported ? "AVX-512" :
    System.Runtime.Intrinsics.X86.Avx2.IsSupported ? "AVX2" :
    System.Runtime.Intrinsics.Vector128.IsHardwareAccelerated ? "128-bit only" : "none";

static string Shape(Tensor t) => "[" + string.Join(", ", t.Shape.ToArray()) + "]";

static int Fail(string why)
{
    Console.Error.WriteLine($"FAILED: {why}");
    return 1;
}

static (DateTime Started, string Clock) StartTime(string[] args)
{
    int i = Array.IndexOf(args, "--started-at-ns");
    if (i >= 0 && i + 1 < args.Length && long.TryParse(args[i + 1], NumberStyles.None, CultureInfo.InvariantCulture, out long ns))
        return (DateTime.UnixEpoch.AddTicks(ns / 100), "from the launcher's clock");
    return (Process.GetCurrentProcess().StartTime.ToUniversalTime(), "from the kernel's start time, 10 ms resolution");
}

/// <summary>Two tanh layers of 16, as private fields of a base class.</summary>
class Backbone(Generator generator) : Module<Tensor, Tensor>
{
    readonly Linear _hidden1 = new(2, 16, generator: generator);
    readonly Linear _hidden2 = new(16, 16, generator: generator);

    public override Tensor Forward(Tensor x) => _hidden2.Forward(_hidden1.Forward(x).Tanh()).Tanh();
}

/// <summary>
/// A 2-16-16-2 perceptron: the backbone's layers and its own output layer, all found without
/// registration (under NativeAOT too: Module's annotation keeps the fields of every subclass and of its bases).
/// </summary>
sealed class CircleNet(Generator generator) : Backbone(generator)
{
    readonly Linear _output = new(16, 2, generator: generator);

    public override Tensor Forward(Tensor x) => _output.Forward(base.Forward(x));
}
