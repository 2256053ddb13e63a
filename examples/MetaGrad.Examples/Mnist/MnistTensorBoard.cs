using System.Globalization;
using MetaGrad.TensorBoard;
using MetaGrad.Training;

namespace MetaGrad.Examples;

/// <summary>
/// Logs an MNIST run for TensorBoard (<c>--tensorboard</c>): each batch's loss and the learning rate
/// by step; by epoch the losses and accuracies, histograms of the weights and of their last
/// gradients, and LeNet's first filters; the settings as text and, at the end, the
/// hyper-parameters beside the results and the confusion matrix's picture.
/// A resumed run appends a new event file to the same folder, which TensorBoard reads as one run.
/// </summary>
public sealed class MnistTensorBoard(string logDir, MnistTrainer trainer) : IDisposable
{
    readonly SummaryWriter _writer = new(logDir);

    /// <summary>The folder of the event files.</summary>
    public string LogDir => _writer.LogDir;

    /// <summary>Logs a batch of the epoch now training, numbered across epochs.</summary>
    public void OnBatch(BatchProgress p)
    {
        long step = (long)trainer.Epoch * trainer.BatchesPerEpoch + p.Batch;
        _writer.AddScalar("loss/train_batch", p.Loss, step);
        if (p.Batch == 1) _writer.AddScalar("lr", trainer.Optimizer.ParamGroups[0].Lr, step);
    }

    /// <summary>Logs a finished epoch: its figures, the parameters' histograms, LeNet's filters.</summary>
    public void OnEpoch(EpochResult r)
    {
        _writer.AddScalar("loss/train", r.TrainLoss, r.Epoch);
        _writer.AddScalar("loss/test", r.TestLoss, r.Epoch);
        _writer.AddScalar("accuracy/train", r.TrainAccuracy, r.Epoch);
        _writer.AddScalar("accuracy/test", r.TestAccuracy, r.Epoch);
        _writer.AddScalar("seconds_per_epoch", r.Seconds, r.Epoch);
        foreach (var (name, parameter) in trainer.Model.NamedParameters())
        {
            _writer.AddHistogram(name, parameter, r.Epoch);
            if (parameter.Grad is { } grad) _writer.AddHistogram(name + ".grad", grad, r.Epoch);   // the epoch's last batch
        }
        if (trainer.Model is LeNet lenet)
        {
            // One scale for all six filters, so their strengths compare: darkest the most negative weight.
            var w = lenet.FirstFilters.Detach();
            var (lo, hi) = (w.Min(), w.Max());
            _writer.AddImages("conv1 filters", (w - lo) / (hi - lo + 1e-12), r.Epoch);
        }
        _writer.Flush();   // TensorBoard sees each epoch as it ends
    }

    /// <summary>Logs the settings as text, once at the start.</summary>
    public void OnStart(string description) => _writer.AddText("settings", description, trainer.Epoch);

    /// <summary>Logs a picture the run saved as PNG (the confusion matrix) at the last epoch.</summary>
    public void OnPicture(string tag, string pngPath) => _writer.AddImagePng(tag, File.ReadAllBytes(pngPath), trainer.Epoch);

    /// <summary>Logs the settings beside the final figures, for TensorBoard's HParams tab.</summary>
    public void OnEnd()
    {
        var s = trainer.Settings;
        var last = trainer.History[^1];
        _writer.AddHparams(
            new Dictionary<string, object?>
            {
                ["model"] = s.Model, ["optimizer"] = s.Optimizer, ["lr"] = s.Lr ?? MnistTrainer.DefaultLr(s.Optimizer), ["lr_decay"] = s.LrDecay,
                ["batch_size"] = s.BatchSize, ["seed"] = s.Seed, ["augment"] = s.Augment, ["epochs"] = last.Epoch,
            },
            new Dictionary<string, double> { ["hparam/test_accuracy"] = last.TestAccuracy, ["hparam/test_loss"] = last.TestLoss },
            runName: "hparams-" + last.Epoch.ToString(CultureInfo.InvariantCulture));
    }

    public void Dispose() => _writer.Dispose();
}
