using System.Globalization;
using Google.Protobuf;
using MetaGrad.TensorBoard.Proto;

namespace MetaGrad.TensorBoard;

/// <summary>
/// Logs scalars, histograms, images, text and hyper-parameters to TensorBoard event files, as
/// PyTorch's torch.utils.tensorboard.SummaryWriter does (the same file names, tags and messages):
/// <c>tensorboard --logdir runs</c> shows a MetaGrad run beside PyTorch ones.
/// <code>
/// using var writer = new SummaryWriter("runs/mnist");
/// writer.AddScalar("Loss/train", loss, globalStep: step);
/// writer.AddHistogram("fc1.weight", model.Fc1.Weight, globalStep: epoch);
/// </code>
/// Events are buffered: they reach the files every <c>flushSecs</c> seconds (a timer, as PyTorch's
/// writer thread), at <see cref="Flush"/> and at <see cref="Dispose"/>; with <c>flushSecs</c> 0,
/// at every event. A writer may be used from several threads.
/// </summary>
public sealed class SummaryWriter : IDisposable
{
    readonly EventFile _file;
    readonly Dictionary<string, EventFile> _scalarsFiles = [];   // add_scalars' one run per tag
    readonly string _filenameSuffix;
    readonly bool _flushEachEvent;
    readonly Timer? _flushTimer;
    readonly object _lock = new();
    bool _disposed;

    /// <summary>
    /// Opens a new event file in <paramref name="logDir"/> (created if missing). Without one, the run is
    /// runs/<i>Mon</i><i>dd</i>_<i>HH-mm-ss</i>_<i>host</i><paramref name="comment"/>, as PyTorch names it.
    /// </summary>
    public SummaryWriter(string? logDir = null, string comment = "", double flushSecs = 120, string filenameSuffix = "")
    {
        if (flushSecs < 0) throw new ArgumentException($"SummaryWriter: flushSecs must be 0 or more, got {flushSecs}");
        LogDir = logDir ?? Path.Combine("runs", DateTime.Now.ToString("MMMdd_HH-mm-ss", CultureInfo.InvariantCulture) + "_" + Environment.MachineName + comment);
        _filenameSuffix = filenameSuffix;
        _file = new EventFile(LogDir, filenameSuffix);
        _flushEachEvent = flushSecs == 0;
        if (!_flushEachEvent)
        {
            var period = TimeSpan.FromSeconds(flushSecs);
            // A write error here would end the process from a pool thread; the events stay buffered and the
            // next Flush or Dispose, on the caller's thread, meets the error again.
            _flushTimer = new Timer(_ => { try { Flush(); } catch (IOException) { } }, null, period, period);
        }
    }

    /// <summary>The folder this writer's event file is in (TensorBoard's run).</summary>
    public string LogDir { get; }

    /// <summary>The event file this writer writes.</summary>
    public string FilePath => _file.Path;

    /// <summary>A scalar (loss, accuracy, learning rate) at <paramref name="globalStep"/>: TensorBoard's Scalars tab.</summary>
    public void AddScalar(string tag, double value, long? globalStep = null, double? walltime = null) =>
        Add(_file, Summaries.Scalar(tag, value), globalStep, walltime);

    /// <summary>A scalar from a one-element tensor (a loss), as PyTorch takes it.</summary>
    public void AddScalar(string tag, Tensor value, long? globalStep = null, double? walltime = null)
    {
        if (value.Numel != 1) throw new ArgumentException($"add_scalar: '{tag}' needs a tensor of one element, got shape {value.Shape}");
        AddScalar(tag, value.Detach().To(DType.Float64).ToArray<double>()[0], globalStep, walltime);
    }

    /// <summary>
    /// Several scalars on one chart (train and test loss): each goes to its own run,
    /// <see cref="LogDir"/>/<paramref name="mainTag"/>_<i>name</i>, under the tag <paramref name="mainTag"/>, as PyTorch's add_scalars.
    /// </summary>
    public void AddScalars(string mainTag, IReadOnlyDictionary<string, double> values, long? globalStep = null, double? walltime = null)
    {
        walltime ??= Now();   // one time for the whole group, as PyTorch
        foreach (var (name, value) in values)
        {
            string dir = Path.Combine(LogDir, mainTag.Replace('/', '_') + "_" + name);
            EventFile file;
            lock (_lock)
            {
                ObjectDisposedException.ThrowIf(_disposed, this);
                if (!_scalarsFiles.TryGetValue(dir, out file!)) _scalarsFiles[dir] = file = new EventFile(dir, _filenameSuffix);
            }
            Add(file, Summaries.Scalar(mainTag, value), globalStep, walltime);
        }
    }

    /// <summary>
    /// A histogram of <paramref name="values"/> (weights, gradients, activations): the Histograms and
    /// Distributions tabs. Over TensorBoard's default exponential bins (PyTorch's bins="tensorflow"), or
    /// over <paramref name="bins"/> equal bins from the least value to the greatest.
    /// </summary>
    public void AddHistogram(string tag, Tensor values, long? globalStep = null, int? bins = null, double? walltime = null)
    {
        var data = Values(values);
        var edges = bins is int count ? Summaries.EqualBins(data, count) : Summaries.TensorFlowBins;
        Add(_file, Summaries.Histogram(tag, Summaries.Histogram(data, edges)), globalStep, walltime);
    }

    static double[] Values(Tensor values)
    {
        if (values.Numel == 0) throw new ArgumentException($"add_histogram: the tensor of shape {values.Shape} is empty");
        return values.Detach().To(DType.Float64).Contiguous().ToArray<double>();
    }

    /// <summary>
    /// An image, [C, H, W] by default (<paramref name="dataFormats"/>: "CHW", "HWC" or "HW"); floats in
    /// [0, 1], integers in [0, 255]: TensorBoard's Images tab, stored as PNG.
    /// </summary>
    public void AddImage(string tag, Tensor image, long? globalStep = null, double? walltime = null, string dataFormats = "CHW") =>
        Add(_file, Summaries.Image(tag, image, dataFormats), globalStep, walltime);

    /// <summary>A batch of images [N, C, H, W] (or "NHWC") as one grid of up to 8 a row.</summary>
    public void AddImages(string tag, Tensor images, long? globalStep = null, double? walltime = null, string dataFormats = "NCHW") =>
        Add(_file, Summaries.Image(tag, images, dataFormats), globalStep, walltime);

    /// <summary>A picture already encoded as PNG (a plot saved to a file), as PyTorch's add_figure logs a rendered figure.</summary>
    public void AddImagePng(string tag, byte[] png, long? globalStep = null, double? walltime = null) =>
        Add(_file, Summaries.ImagePng(tag, png), globalStep, walltime);

    /// <summary>Text, rendered as markdown in TensorBoard's Text tab.</summary>
    public void AddText(string tag, string text, long? globalStep = null, double? walltime = null) =>
        Add(_file, Summaries.Text(tag, text), globalStep, walltime);

    /// <summary>
    /// One run's settings and results for TensorBoard's HParams tab, as PyTorch's add_hparams: written
    /// to a run of their own, <see cref="LogDir"/>/<paramref name="runName"/> (the time by default),
    /// with each metric also logged there as a scalar.
    /// </summary>
    public void AddHparams(IReadOnlyDictionary<string, object?> hparams, IReadOnlyDictionary<string, double> metrics,
        IReadOnlyDictionary<string, object[]>? hparamDomainDiscrete = null, string? runName = null, long? globalStep = null)
    {
        var (experiment, start, end) = Summaries.Hparams(hparams, metrics, hparamDomainDiscrete);
        runName ??= Now().ToString("R", CultureInfo.InvariantCulture);
        using var run = new EventFile(Path.Combine(LogDir, runName), _filenameSuffix);
        double now = Now();
        foreach (var summary in new[] { experiment, start, end }) run.Write(MakeEvent(summary, globalStep, now));
        foreach (var (tag, value) in metrics) run.Write(MakeEvent(Summaries.Scalar(tag, value), globalStep, Now()));
    }

    /// <summary>Writes <paramref name="summary"/> as it is (one made with <see cref="Summaries"/> or by hand).</summary>
    public void AddSummary(Summary summary, long? globalStep = null, double? walltime = null) => Add(_file, summary, globalStep, walltime);

    /// <summary>Pushes every buffered event to the files.</summary>
    public void Flush()
    {
        lock (_lock)
        {
            if (_disposed) return;
            _file.Flush();
            foreach (var file in _scalarsFiles.Values) file.Flush();
        }
    }

    /// <summary>Flushes and closes the files.</summary>
    public void Dispose()
    {
        _flushTimer?.Dispose();
        lock (_lock)
        {
            if (_disposed) return;
            _disposed = true;
            _file.Dispose();
            foreach (var file in _scalarsFiles.Values) file.Dispose();
        }
    }

    void Add(EventFile file, Summary summary, long? globalStep, double? walltime)
    {
        var e = MakeEvent(summary, globalStep, walltime ?? Now());
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            file.Write(e);
            if (_flushEachEvent) file.Flush();
        }
    }

    static Event MakeEvent(Summary summary, long? globalStep, double walltime)
    {
        var e = new Event { WallTime = walltime, Summary = summary };
        if (globalStep is long step) e.Step = step;
        return e;
    }

    static double Now() => (DateTime.UtcNow - DateTime.UnixEpoch).TotalSeconds;

    /// <summary>One event file: its name as TensorFlow's writers make it, and the file-version record first.</summary>
    sealed class EventFile : IDisposable
    {
        readonly RecordWriter _records;

        public EventFile(string dir, string suffix)
        {
            Directory.CreateDirectory(dir);
            double now = Now();
            // The last part tells apart two files of one process in one second (PyTorch counts them
            // process-wide): the first number whose file does not exist yet, taken atomically.
            for (int uid = 0; ; uid++)
            {
                Path = System.IO.Path.Combine(dir, string.Create(CultureInfo.InvariantCulture,
                    $"events.out.tfevents.{(long)now:D10}.{Environment.MachineName}.{Environment.ProcessId}.{uid}{suffix}"));
                try
                {
                    _records = new RecordWriter(new FileStream(Path, FileMode.CreateNew, FileAccess.Write, FileShare.Read, bufferSize: 64 * 1024));
                    break;
                }
                catch (IOException) when (File.Exists(Path)) { }
            }
            Write(new Event { WallTime = now, FileVersion = "brain.Event:2" });
            Flush();   // TensorBoard finds the run as soon as it exists
        }

        public string Path { get; }

        public void Write(Event e) => _records.Write(e.ToByteArray());

        public void Flush() => _records.Flush();

        public void Dispose() => _records.Dispose();
    }
}
