using System.Diagnostics;
using System.Text.Json;
using MetaGrad.NN;

namespace MetaGrad.Tests;

/// <summary>Profiler: what it records, that its times add up within the wall time, the table and the Chrome trace.</summary>
public class ProfilerTests
{
    [Fact]
    public void ATrainingStep_RecordsEachForwardCallAndBackwardNode()
    {
        var model = new Sequential(new Linear(3, 5, generator: new Generator(1)), new ReLU(), new Linear(5, 2, generator: new Generator(2)));
        var x = Tensor.Randn(4, 3);
        var watch = Stopwatch.StartNew();
        Profiler profiler;
        using (profiler = Profiler.Record())
        {
            var loss = model.Forward(x).Square().Mean();
            loss.Backward();
        }
        double wall = watch.Elapsed.TotalMicroseconds;
        var forward = profiler.Events.Where(e => e.Phase == "forward").ToList();
        var backward = profiler.Events.Where(e => e.Phase == "backward").ToList();
        Assert.Equal(2, forward.Count(e => e.Name == "Linear"));
        Assert.Equal("[4, 3], [5, 3], [5]", forward.First(e => e.Name == "Linear").Shapes);
        Assert.Contains(forward, e => e.Name == "Relu");
        Assert.Equal(2, backward.Count(e => e.Name == "LinearBackward"));
        Assert.Contains(backward, e => e.Name == "SumBackward");       // Mean is a sum and a division
        Assert.Contains(backward, e => e.Name == "DivBackward");
        // Self times never exceed totals, and together fit in the wall time of the block.
        Assert.All(profiler.Events, e => Assert.True(e.SelfMicroseconds <= e.Microseconds + 1e-9 && e.SelfMicroseconds >= -1e-9));
        double self = profiler.Events.Sum(e => e.SelfMicroseconds);
        Assert.InRange(self, 1e-3, wall);
        // A backward written in tensor operations calls them: its self time is less than its total.
        var square = backward.Single(e => e.Name == "MulBackward");     // Square is x·x
        Assert.True(square.SelfMicroseconds < square.Microseconds);
        Assert.Contains(profiler.Events, e => e.Phase == "forward" && e.StartMicroseconds >= square.StartMicroseconds
            && e.StartMicroseconds + e.Microseconds <= square.StartMicroseconds + square.Microseconds + 1e-6);

        int recorded = profiler.Events.Count;
        _ = (x * 2).Sum();
        Assert.Equal(recorded, profiler.Events.Count);   // closed: nothing more
    }

    [Fact]
    public void Table_AndChromeTrace()
    {
        Profiler profiler;
        using (profiler = Profiler.Record())
            for (int i = 0; i < 3; i++) (Tensor.Ones(8, 8).RequiresGrad_() * 3).Sum().Backward();
        var table = profiler.Table();
        Assert.StartsWith("operation", table);
        Assert.Matches(@"Mul\s+forward\s+6\s", table);                  // x·3, and grad·3 in each MulBackward
        Assert.Matches(@"SumBackward\s+backward\s+3\s", table);
        Assert.Contains($"self time of all {profiler.Events.Count} operations", table);

        using var folder = new TempFolder();
        string path = Path.Combine(folder.Path, "trace.json");
        profiler.SaveChromeTrace(path);
        using var json = JsonDocument.Parse(File.ReadAllText(path));
        var events = json.RootElement.GetProperty("traceEvents").EnumerateArray().ToList();
        Assert.Equal(profiler.Events.Count, events.Count);
        Assert.All(events, e => Assert.Equal("X", e.GetProperty("ph").GetString()));
        Assert.Equal(9, events.Count(e => e.GetProperty("name").GetString() is "Mul" or "MulBackward"));
    }
}
