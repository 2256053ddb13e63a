using System.Globalization;
using Spectre.Console;

namespace MetaGrad.Examples;

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
/// </summary>
public static class EpochProgress
{
    public static EpochResult Run(MnistTrainer trainer, string title, ProgressStyle style)
    {
        if (style == ProgressStyle.Auto && AnsiConsole.Profile.Capabilities.Interactive && !Console.IsOutputRedirected)
            return Live(trainer, title);
        if (style == ProgressStyle.None) return trainer.TrainEpoch();
        return trainer.TrainEpoch(p =>
        {
            bool crossedAQuarter = p.Batch * 4 / p.Batches != (p.Batch - 1) * 4 / p.Batches;
            if (crossedAQuarter) Console.WriteLine($"  {Describe(title, p)}");
        });
    }

    static EpochResult Live(MnistTrainer trainer, string title) =>
        AnsiConsole.Progress()
            .AutoClear(true)
            .Columns(new ProgressBarColumn(), new PercentageColumn(), new TaskDescriptionColumn { Alignment = Justify.Left }, new SpinnerColumn())
            .Start(context =>
            {
                var task = context.AddTask(title, maxValue: trainer.BatchesPerEpoch);
                return trainer.TrainEpoch(p =>
                {
                    task.Value = p.Batch;
                    task.Description = Markup.Escape(Describe(title, p));
                });
            });

    static string Describe(string title, BatchProgress p) => string.Create(CultureInfo.InvariantCulture,
        $"{title}  batch {p.Batch.ToString().PadLeft(p.Batches.ToString().Length)}/{p.Batches}  loss {p.Loss:F4}  {p.SamplesPerSecond,6:N0} samples/s  ETA {p.Remaining:m\\:ss}");
}
