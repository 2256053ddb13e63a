using System.Globalization;
using Spectre.Console;

namespace MetaGrad.Training;

/// <summary>How progress within an epoch is shown.</summary>
public enum ProgressStyle
{
    /// <summary>A live bar when the output is an interactive terminal, plain lines otherwise (logs, CI).</summary>
    Auto,
    /// <summary>A few plain lines per epoch.</summary>
    Lines,
    /// <summary>Nothing but the per-epoch summary.</summary>
    None,
}

/// <summary>
/// Runs one epoch while showing its progress (batches, loss, throughput, ETA): as a Spectre.Console
/// live bar in a terminal, or, where a live display would only fill a log with control codes, as a
/// plain line at each quarter of the epoch.
/// <code>
/// var meter = EpochProgress.Run($"epoch {epoch}/{epochs}", loader.Count, ProgressStyle.Auto, meter =>
/// {
///     foreach (var batch in loader) { /* forward, backward, step */ meter.Step(loss.Item&lt;float&gt;(), batch[0].Shape[0]); }
/// });
/// Console.WriteLine($"loss {meter.MeanLoss:F4} in {meter.Elapsed.TotalSeconds:F1} s");
/// </code>
/// </summary>
public static class EpochProgress
{
    /// <summary>
    /// Runs <paramref name="epoch"/> with a fresh <see cref="EpochMeter"/> whose every step the
    /// display shows; returns the meter (mean loss, time).
    /// </summary>
    public static EpochMeter Run(string title, int batches, ProgressStyle style, Action<EpochMeter> epoch, TextWriter? lines = null) =>
        Run(title, batches, style, report =>
        {
            var meter = new EpochMeter(batches, report);
            epoch(meter);
            return meter;
        }, lines);

    /// <summary>
    /// Runs <paramref name="epoch"/>, handing it the callback to report each batch with (null when
    /// nothing is shown), and returns what it returns. Plain lines go to <paramref name="lines"/>
    /// (the console by default; given a writer, Auto writes lines to it rather than a live bar).
    /// </summary>
    public static T Run<T>(string title, int batches, ProgressStyle style, Func<Action<BatchProgress>?, T> epoch, TextWriter? lines = null)
    {
        if (style == ProgressStyle.None) return epoch(null);
        if (style == ProgressStyle.Auto && lines is null && AnsiConsole.Profile.Capabilities.Interactive && !Console.IsOutputRedirected)
            return Live(title, batches, epoch);
        lines ??= Console.Out;
        return epoch(p =>
        {
            bool crossedAQuarter = p.Batch * 4 / p.Batches != (p.Batch - 1) * 4 / p.Batches;
            if (crossedAQuarter) lines.WriteLine($"  {Describe(title, p)}");
        });
    }

    static T Live<T>(string title, int batches, Func<Action<BatchProgress>?, T> epoch) =>
        AnsiConsole.Progress()
            .AutoClear(true)
            .Columns(new ProgressBarColumn(), new PercentageColumn(), new TaskDescriptionColumn { Alignment = Justify.Left }, new SpinnerColumn())
            .Start(context =>
            {
                var task = context.AddTask(title, maxValue: batches);
                return epoch(p =>
                {
                    task.MaxValue = p.Batches;
                    task.Value = p.Batch;
                    task.Description = Markup.Escape(Describe(title, p));
                });
            });

    /// <summary>The line shown for <paramref name="p"/>: "title  batch  12/125  loss 0.3141  5,120 samples/s  ETA 0:03".</summary>
    public static string Describe(string title, BatchProgress p) => string.Create(CultureInfo.InvariantCulture,
        $"{title}  batch {p.Batch.ToString(CultureInfo.InvariantCulture).PadLeft(p.Batches.ToString(CultureInfo.InvariantCulture).Length)}/{p.Batches}  loss {p.Loss:F4}  {p.SamplesPerSecond,6:N0} samples/s  ETA {p.Remaining:m\\:ss}");
}
