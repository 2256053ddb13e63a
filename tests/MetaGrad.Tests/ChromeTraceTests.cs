using System.Text.Json;

namespace MetaGrad.Tests;

/// <summary>The profiler's trace file, field by field (it is written without reflection, so each field is written by hand).</summary>
public class ChromeTraceTests
{
    [Fact]
    public void SaveChromeTrace_WritesEveryEventWithItsTimesShapesAndAllocations()
    {
        Profiler profiler;
        using (profiler = Profiler.Record())
            (Tensor.Ones(2, 3).RequiresGrad_() * 3).Sum().Backward();
        using var folder = new TempFolder();
        string path = folder.File("trace.json");
        profiler.SaveChromeTrace(path);

        using var json = JsonDocument.Parse(File.ReadAllText(path));
        Assert.Equal("ms", json.RootElement.GetProperty("displayTimeUnit").GetString());
        var written = json.RootElement.GetProperty("traceEvents").EnumerateArray().ToList();
        Assert.Equal(profiler.Events.Count, written.Count);
        foreach (var (e, w) in profiler.Events.Zip(written))
        {
            Assert.Equal(e.Name, w.GetProperty("name").GetString());
            Assert.Equal(e.Phase, w.GetProperty("cat").GetString());
            Assert.Equal("X", w.GetProperty("ph").GetString());
            Assert.Equal(e.StartMicroseconds, w.GetProperty("ts").GetDouble());
            Assert.Equal(e.Microseconds, w.GetProperty("dur").GetDouble());
            Assert.Equal(Environment.ProcessId, w.GetProperty("pid").GetInt32());
            Assert.Equal(e.Thread, w.GetProperty("tid").GetInt32());
            var args = w.GetProperty("args");
            Assert.Equal(e.Shapes, args.GetProperty("shapes").GetString());
            Assert.Equal(e.SelfMicroseconds, args.GetProperty("self_us").GetDouble());
            Assert.Equal(e.AllocatedBytes, args.GetProperty("allocated_bytes").GetInt64());
        }
        var mul = written.First(w => w.GetProperty("name").GetString() == "Mul");
        Assert.Equal("[2, 3], []", mul.GetProperty("args").GetProperty("shapes").GetString());
    }
}
