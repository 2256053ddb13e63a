using MetaGrad.NN;

namespace MetaGrad.Tests;

/// <summary>Generators shared between threads stay whole; modules that own one are reproducible.</summary>
public class GeneratorThreadingTests
{
    static T[] OnThreads<T>(int threads, Func<int, T> work)
    {
        var results = new T[threads];
        using var start = new Barrier(threads);
        var workers = Enumerable.Range(0, threads).Select(t => new Thread(() => { start.SignalAndWait(); results[t] = work(t); })).ToArray();
        foreach (var w in workers) w.Start();
        foreach (var w in workers) w.Join();
        return results;
    }

    [Fact]
    public void AGeneratorSharedByFourThreads_GivesEachNumberOfItsSequenceOnce()
    {
        // Unlocked, the threads tore the 256-bit state: numbers repeated or fell outside the sequence.
        var shared = new Generator(42);
        var drawn = OnThreads(4, _ => Enumerable.Range(0, 25_000).Select(_ => shared.NextUInt64()).ToArray()).SelectMany(a => a).Order().ToArray();
        var serial = new Generator(42);
        var expected = Enumerable.Range(0, 100_000).Select(_ => serial.NextUInt64()).Order().ToArray();
        Assert.Equal(expected, drawn);
    }

    [Fact]
    public void TensorsFilledFromASharedGenerator_TakeWholeRunsOfItsSequence()
    {
        var shared = new Generator(5);
        var tensors = OnThreads(2, _ => Enumerable.Range(0, 50).Select(_ => Tensor.Rand([1000], DType.Float64, generator: shared).ToArray<double>()).ToArray())
            .SelectMany(a => a).ToArray();
        var serial = new Generator(5);
        var runs = Enumerable.Range(0, 100).Select(_ => Enumerable.Range(0, 1000).Select(_ => serial.NextDouble()).ToArray()).ToArray();
        // Each tensor is one run of 1000 consecutive draws, whichever thread drew it.
        Assert.Equal(runs.Select(r => r[0]).Order(), tensors.Select(t => t[0]).Order());
        foreach (var t in tensors) Assert.Equal(runs.Single(r => r[0] == t[0]), t);
    }

    static float[][] DropoutMasks(Dropout dropout, int steps) =>
        Enumerable.Range(0, steps).Select(_ => dropout.Forward(Tensor.Ones(512)).ToArray<float>()).ToArray();

    [Fact]
    public void DropoutWithItsOwnGenerator_IsReproducibleOnTwoThreadsWhileOthersDraw()
    {
        var expected = DropoutMasks(new Dropout(0.5, new Generator(7)), 40);
        Assert.Contains(0f, expected[0]);
        Assert.Contains(2f, expected[0]);
        // Two models train side by side while a third thread draws from the default generator.
        var results = OnThreads(3, t => t == 2
            ? Enumerable.Range(0, 200).Select(_ => Tensor.Rand(512).ToArray<float>()).ToArray()
            : DropoutMasks(new Dropout(0.5, new Generator(7)), 40));
        Assert.Equal(expected, results[0]);
        Assert.Equal(expected, results[1]);
    }

    [Fact]
    public void ARecurrentLayersDropout_DrawsFromTheGeneratorItWasGiven()
    {
        float[] Run()
        {
            var lstm = new LSTM(3, 4, numLayers: 2, dropout: 0.5, generator: new Generator(11));
            return lstm.Forward(Tensor.Ones(5, 2, 3)).Output.ToArray<float>();
        }
        var first = Run();
        Generator.Default.NextUInt64();   // the default generator has moved on: it must not matter
        Assert.Equal(first, Run());
        var withoutDropout = new LSTM(3, 4, numLayers: 2, generator: new Generator(11)).Forward(Tensor.Ones(5, 2, 3)).Output.ToArray<float>();
        Assert.NotEqual(withoutDropout, first);   // the dropout did act
    }
}
