using System.Collections;
using System.Globalization;
using System.Runtime.CompilerServices;
using CsCheck;
using torch = TorchSharp.torch;

namespace MetaGrad.Conformance.Harness;

/// <summary>
/// One generated call: the inputs, the operation's own arguments (dims, flags, numbers) and the seed
/// of the random weights w whose weighted sum Σ w·y is differentiated.
/// </summary>
public sealed record Case<P>(TensorSpec[] Inputs, P Args, int WeightSeed)
{
    /// <inheritdoc/>
    public override string ToString() =>
        string.Concat(Inputs.Select((s, i) => $"\n  input {i}: {s}")) + $"\n  args: {Describe(Args)}\n  weight seed: {WeightSeed}";

    static string Describe(object? value) => value switch
    {
        null => "null",
        string s => s,
        double d => d.ToString("R", CultureInfo.InvariantCulture),
        IEnumerable e => "[" + string.Join(", ", e.Cast<object?>().Select(Describe)) + "]",
        ITuple t => "(" + string.Join(", ", Enumerable.Range(0, t.Length).Select(i => Describe(t[i]))) + ")",
        _ => Convert.ToString(value, CultureInfo.InvariantCulture) ?? "",
    };
}

/// <summary>What a generated call is expected to do in libtorch.</summary>
public enum Expect
{
    /// <summary>libtorch computes a result (a rejection means the generator is wrong); MetaGrad must match it.</summary>
    Valid,
    /// <summary>libtorch rejects the call (the generator makes only invalid calls); MetaGrad must throw too, naming the operation.</summary>
    Throws,
    /// <summary>Either: MetaGrad must throw exactly when libtorch does, and match it otherwise.</summary>
    Agree,
}

/// <summary>An operation under test, by name.</summary>
public abstract class Op
{
    /// <summary>The name a test case carries, e.g. "Sum(dims, keepDim)".</summary>
    public abstract string Name { get; }

    /// <summary>Generates the cases and compares MetaGrad with libtorch on each, in float64 and float32.</summary>
    public abstract void Check();

    /// <inheritdoc/>
    public override string ToString() => Name;

    /// <summary>An operation written once against both libraries over generated inputs and arguments.</summary>
    /// <param name="expect">What libtorch is expected to do with the generated calls.</param>
    /// <param name="op">With <see cref="Expect.Agree"/>: the name MetaGrad's error messages must carry (default: <paramref name="name"/>).</param>
    /// <param name="oracle">The float dtype libtorch computes in, when not the case's own (see <see cref="Runner.Run"/>).</param>
    public static Op<P> Create<P>(string name, Gen<(TensorSpec[] Inputs, P Args)> cases,
        Func<Tensor[], P, Tensor> metaGrad, Func<torch.Tensor[], P, torch.Tensor> torch, Expect expect = Expect.Valid, string? op = null,
        DType? oracle = null) =>
        new(name, cases, (x, p) => [metaGrad(x, p)], (x, p) => [torch(x, p)], expect, op, oracle);

    /// <summary>An operation with several outputs (Sort's values and indices, Split's pieces).</summary>
    public static Op<P> CreateMany<P>(string name, Gen<(TensorSpec[] Inputs, P Args)> cases,
        Func<Tensor[], P, Tensor[]> metaGrad, Func<torch.Tensor[], P, torch.Tensor[]> torch, Expect expect = Expect.Valid, DType? oracle = null) =>
        new(name, cases, metaGrad, torch, expect, oracle: oracle);

    /// <summary>
    /// Invalid calls: libtorch must reject every generated case, and MetaGrad must throw too with a
    /// message that names <paramref name="op"/>, the operation the user called.
    /// </summary>
    public static Op<P> Throws<P>(string name, string op, Gen<(TensorSpec[] Inputs, P Args)> cases,
        Func<Tensor[], P, Tensor> metaGrad, Func<torch.Tensor[], P, torch.Tensor> torch) =>
        new(name, cases, (x, p) => [metaGrad(x, p)], (x, p) => [torch(x, p)], Expect.Throws, op);

    /// <summary>An elementwise function of one tensor of any shape and layout.</summary>
    public static Op<int> Unary(string name, Gen<double> values, Func<Tensor, Tensor> metaGrad, Func<torch.Tensor, torch.Tensor> torch) =>
        Create(name,
            from shape in Gens.Shape()
            from x in Gens.Floats(shape, values)
            select (new[] { x }, 0),
            (x, _) => metaGrad(x[0]), (x, _) => torch(x[0]));

    /// <summary>A function of one tensor of any shape and layout and of a generated argument (a number, a flag, a mode).</summary>
    public static Op<P> Unary<P>(string name, Gen<double> values, Gen<P> args, Func<Tensor, P, Tensor> metaGrad, Func<torch.Tensor, P, torch.Tensor> torch) =>
        Create(name,
            from shape in Gens.Shape()
            from x in Gens.Floats(shape, values)
            from p in args
            select (new[] { x }, p),
            (x, p) => metaGrad(x[0], p), (x, p) => torch(x[0], p));

    /// <summary>An elementwise function of two tensors whose shapes broadcast, in any layouts.</summary>
    public static Op<int> Binary(string name, Gen<double> left, Gen<double> right,
        Func<Tensor, Tensor, Tensor> metaGrad, Func<torch.Tensor, torch.Tensor, torch.Tensor> torch) =>
        Create(name,
            from shapes in Gens.BroadcastPair()
            from a in Gens.Floats(shapes.A, left)
            from b in Gens.Floats(shapes.B, right)
            select (new[] { a, b }, 0),
            (x, _) => metaGrad(x[0], x[1]), (x, _) => torch(x[0], x[1]));
}

/// <summary>An operation with arguments of type <typeparamref name="P"/>, and the loop that checks it.</summary>
public sealed class Op<P>(string name, Gen<(TensorSpec[] Inputs, P Args)> cases,
    Func<Tensor[], P, Tensor[]> metaGrad, Func<torch.Tensor[], P, torch.Tensor[]> torch,
    Expect expect = Expect.Valid, string? errorNames = null, DType? oracle = null) : Op
{
    /// <inheritdoc/>
    public override string Name => name;

    /// <summary>Whole cases: inputs, arguments and a weight seed.</summary>
    public Gen<Case<P>> Cases { get; } =
        from c in cases
        from w in Gen.Int[0, 9999]
        select new Case<P>(c.Inputs, c.Args, w);

    /// <inheritdoc/>
    public override void Check()
    {
        if (Settings.Replay is { } replay)
        {
            Run(Cases.Generate(PCG.Parse(replay), null!, out _));
            return;
        }
        // A fixed stream per operation, so CI sees the same cases run after run.
        ulong seed = Settings.Seed ^ (ulong)StableHash(name);
        int count = expect == Expect.Throws ? Settings.ErrorCases : Settings.Cases;
        for (int i = 0; i < count; i++)
        {
            var pcg = new PCG((uint)i, seed);
            string caseSeed = pcg.ToString();
            var c = Cases.Generate(pcg, null!, out _);
            try
            {
                Run(c);
            }
            catch (Exception e)
            {
                throw Shrunk(caseSeed, c, e);
            }
        }
    }

    /// <summary>Runs one case in float64 and float32.</summary>
    public void Run(Case<P> c)
    {
        foreach (var dtype in new[] { DType.Float64, DType.Float32 })
            Runner.Run(name, c.Inputs, c.WeightSeed, dtype, x => metaGrad(x, c.Args), x => torch(x, c.Args), expect, errorNames ?? name, oracle);
    }

    // Lets CsCheck search, from the failing seed, for a smaller case that fails too, and reports both.
    Exception Shrunk(string seed, Case<P> first, Exception error)
    {
        string report = $"{name} disagrees with libtorch.\nFirst failing case (seed {seed}):{first}\n{error.Message}";
        try
        {
            CsCheck.Check.Sample(Cases, Run, seed: seed, time: Settings.ShrinkSeconds, threads: 1, print: c => c.ToString());
        }
        catch (Exception shrunk)
        {
            var cause = shrunk.InnerException?.Message ?? "";
            return new ConformanceException($"{report}\n\nSmallest failing case CsCheck found:\n{shrunk.Message}\n{cause}\n\n" +
                $"Replay one case: METAGRAD_CONFORMANCE_REPLAY=<seed> dotnet test tests/MetaGrad.Conformance --filter \"DisplayName~{name}\"", error);
        }
        return new ConformanceException(report + "\n(CsCheck did not reproduce it from the seed.)", error);
    }

    static int StableHash(string s)
    {
        unchecked
        {
            int h = 17;
            foreach (char ch in s) h = h * 31 + ch;
            return h;
        }
    }
}

/// <summary>A disagreement between MetaGrad and libtorch.</summary>
public sealed class ConformanceException(string message, Exception? inner = null) : Exception(message, inner);
