using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;

namespace MetaGrad;

/// <summary>One operation the profiler saw: a forward call or a backward node, with its times in microseconds.</summary>
/// <param name="Name">The operation (the Function's type, e.g. <c>Mul</c>) or the backward node's name (<c>MulBackward</c>).</param>
/// <param name="Phase"><c>forward</c> or <c>backward</c>.</param>
/// <param name="Shapes">The input shapes of a forward call (empty for a backward node).</param>
/// <param name="StartMicroseconds">When it began, from the start of the recording.</param>
/// <param name="Microseconds">Its wall time, including the operations it called.</param>
/// <param name="SelfMicroseconds">Its wall time less that of the operations it called (a backward written in tensor operations calls several).</param>
/// <param name="AllocatedBytes">Bytes the calling thread allocated on the managed heap meanwhile (tensors' pooled storage is not counted).</param>
/// <param name="Thread">The managed thread it ran on.</param>
public readonly record struct ProfilerEvent(string Name, string Phase, string Shapes, double StartMicroseconds, double Microseconds,
    double SelfMicroseconds, long AllocatedBytes, int Thread);

/// <summary>
/// Records every operation run on this thread while it is open (torch.profiler's
/// <c>with profile(): ...</c>): each forward call of a Function and each backward node, with wall
/// and self time, input shapes and allocations. <see cref="Table"/> groups them by name, largest
/// self time first (torch's <c>key_averages().table()</c>); <see cref="SaveChromeTrace"/> writes the
/// events for chrome://tracing or Perfetto. When no recording is open the cost is one thread-static
/// read per operation. Setting <c>METAGRAD_PROFILE_MS</c> to a number prints every operation slower
/// than that many milliseconds to the standard error, as the seed's debug mode printed each one.
/// </summary>
public sealed class Profiler : IDisposable
{
    [ThreadStatic] internal static Profiler? t_current;
    static readonly double? PrintAboveMs = double.TryParse(Environment.GetEnvironmentVariable("METAGRAD_PROFILE_MS"),
        NumberStyles.Float, CultureInfo.InvariantCulture, out var ms) ? ms : null;
    [ThreadStatic] static Profiler? t_printer;

    readonly List<ProfilerEvent> _events = [];
    readonly Stack<(string Name, string Phase, string Shapes, long Start, long Allocated, double Children)> _open = new();
    readonly long _origin = Stopwatch.GetTimestamp();
    readonly Profiler? _previous;
    readonly bool _printing;

    Profiler(Profiler? previous, bool printing) => (_previous, _printing) = (previous, printing);

    /// <summary>Starts recording this thread's operations until the returned profiler is disposed.</summary>
    public static Profiler Record() => t_current = new Profiler(t_current, printing: false);

    /// <summary>The operations recorded, in the order they finished.</summary>
    public IReadOnlyList<ProfilerEvent> Events => _events;

    /// <summary>Stops recording (the events stay readable).</summary>
    public void Dispose()
    {
        if (ReferenceEquals(t_current, this)) t_current = _previous;
    }

    // The profiler an operation reports to: the open recording, else the printer when the
    // environment asks for one.
    internal static Profiler? Active => t_current ?? (PrintAboveMs is null ? null : t_printer ??= new Profiler(null, printing: true));

    internal void Begin(string name, string phase, Tensor[]? inputs) =>
        _open.Push((name, phase, inputs is null ? "" : string.Join(", ", inputs.Select(t => ShapeMath.Format(t.Layout.Shape))),
            Stopwatch.GetTimestamp(), GC.GetAllocatedBytesForCurrentThread(), 0));

    internal void End(string name)
    {
        // An operation that threw left its own entries open above ours: drop them.
        while (_open.Count > 0 && _open.Peek().Name != name) _open.Pop();
        if (_open.Count == 0) return;
        var open = _open.Pop();
        double total = Stopwatch.GetElapsedTime(open.Start).TotalMicroseconds;
        if (_open.Count > 0)
        {
            var parent = _open.Pop();
            _open.Push(parent with { Children = parent.Children + total });
        }
        var done = new ProfilerEvent(open.Name, open.Phase, open.Shapes, Stopwatch.GetElapsedTime(_origin, open.Start).TotalMicroseconds, total,
            total - open.Children, GC.GetAllocatedBytesForCurrentThread() - open.Allocated, Environment.CurrentManagedThreadId);
        if (_printing)
        {
            if (total >= PrintAboveMs * 1000)
                Console.Error.WriteLine($"[metagrad] {done.Phase} {done.Name}({done.Shapes}) {total / 1000:F3} ms");
            return;
        }
        _events.Add(done);
    }

    /// <summary>
    /// The events grouped by name and phase, largest total self time first: calls, self and total
    /// time (ms), mean time per call (µs), allocated bytes; <paramref name="top"/> rows at most.
    /// </summary>
    public string Table(int top = 20)
    {
        var rows = _events.GroupBy(e => (e.Name, e.Phase))
            .Select(g => (g.Key.Name, g.Key.Phase, Calls: g.Count(), Self: g.Sum(e => e.SelfMicroseconds), Total: g.Sum(e => e.Microseconds), Bytes: g.Sum(e => e.AllocatedBytes)))
            .OrderByDescending(r => r.Self).Take(top).ToList();
        var text = new StringBuilder();
        text.AppendLine(CultureInfo.InvariantCulture, $"{"operation",-32} {"phase",-9} {"calls",7} {"self ms",10} {"total ms",10} {"µs/call",10} {"alloc KiB",10}");
        foreach (var r in rows)
            text.AppendLine(CultureInfo.InvariantCulture,
                $"{r.Name,-32} {r.Phase,-9} {r.Calls,7} {r.Self / 1000,10:F3} {r.Total / 1000,10:F3} {r.Total / r.Calls,10:F1} {r.Bytes / 1024.0,10:F1}");
        double all = _events.Sum(e => e.SelfMicroseconds);
        text.AppendLine(CultureInfo.InvariantCulture, $"self time of all {_events.Count} operations: {all / 1000:F3} ms");
        return text.ToString();
    }

    /// <summary>Writes the events in the Trace Event Format (complete events, "ph": "X"), for chrome://tracing or Perfetto.</summary>
    public void SaveChromeTrace(string path)
    {
        // Written field by field rather than serialized from objects, which would need reflection (not available trimmed or under NativeAOT).
        IO.AtomicFile.Write(path, stream =>
        {
            using var json = new Utf8JsonWriter(stream);
            json.WriteStartObject();
            json.WriteStartArray("traceEvents");
            foreach (var e in _events)
            {
                json.WriteStartObject();
                json.WriteString("name", e.Name);
                json.WriteString("cat", e.Phase);
                json.WriteString("ph", "X");
                json.WriteNumber("ts", e.StartMicroseconds);
                json.WriteNumber("dur", e.Microseconds);
                json.WriteNumber("pid", Environment.ProcessId);
                json.WriteNumber("tid", e.Thread);
                json.WriteStartObject("args");
                json.WriteString("shapes", e.Shapes);
                json.WriteNumber("self_us", e.SelfMicroseconds);
                json.WriteNumber("allocated_bytes", e.AllocatedBytes);
                json.WriteEndObject();
                json.WriteEndObject();
            }
            json.WriteEndArray();
            json.WriteString("displayTimeUnit", "ms");
            json.WriteEndObject();
        });
    }
}
