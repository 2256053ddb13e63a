using System.CommandLine;

namespace MetaGrad.Examples;

/// <summary>
/// The options a training example takes to be watched or cut short: <c>--tensorboard</c> (event
/// files in the example's out/&lt;example&gt;/tb, for <c>tensorboard --logdir</c>) and <c>--patience</c>
/// (early stopping on the held-out figure).
/// </summary>
internal sealed class WatchOptions
{
    /// <summary>
    /// Adds the options to <paramref name="command"/>; <paramref name="monitored"/> names what --patience
    /// watches, <paramref name="logFolder"/> where --tensorboard writes.
    /// </summary>
    public WatchOptions(Command command, string monitored, string logFolder)
    {
        TensorBoard = new Option<bool>("--tensorboard") { Description = $"Also log the run for TensorBoard, in {logFolder} (tensorboard --logdir out)" };
        Patience = new Option<int?>("--patience") { Description = $"Stop once the {monitored} has not improved for this many epochs [default: train every epoch]" };
        OptionRules.Require(Patience, v => v is null or > 0, "--patience must be positive");
        command.Options.Add(TensorBoard);
        command.Options.Add(Patience);
    }

    public Option<bool> TensorBoard { get; }

    public Option<int?> Patience { get; }
}
