using System.Globalization;
using Google.Protobuf;
using MetaGrad.TensorBoard.Proto;
using WellKnown = Google.Protobuf.WellKnownTypes;

namespace MetaGrad.TensorBoard;

/// <summary>
/// The <see cref="Summary"/> messages <see cref="SummaryWriter"/> logs, made as PyTorch's
/// torch.utils.tensorboard.summary makes them (the same tags, plugins and conversions), so
/// TensorBoard shows a MetaGrad run as it shows a PyTorch one.
/// </summary>
public static class Summaries
{
    /// <summary>A scalar, as an old-style simple value (PyTorch's default): TensorBoard's Scalars tab.</summary>
    public static Summary Scalar(string tag, double value) =>
        new() { Value = { new Summary.Types.Value { Tag = tag, SimpleValue = (float)value } } };

    /// <summary>
    /// A histogram of <paramref name="values"/> over the bins whose edges are <paramref name="edges"/>
    /// (ascending; numpy's rule: [e_i, e_i+1), the last bin closed, values outside dropped), cut to
    /// the bins from the first to the last that hold a value, with an empty bin before them because
    /// TensorBoard reads only each bucket's right limit.
    /// </summary>
    public static HistogramProto Histogram(ReadOnlySpan<double> values, ReadOnlySpan<double> edges)
    {
        if (values.IsEmpty) throw new ArgumentException("add_histogram: the values are empty");
        if (edges.Length < 2) throw new ArgumentException($"add_histogram: bins need at least 2 edges, got {edges.Length}");
        for (int i = 1; i < edges.Length; i++)
            if (!(edges[i] > edges[i - 1])) throw new ArgumentException($"add_histogram: bin edges must increase, but edge {i} ({edges[i]}) follows {edges[i - 1]}");

        var counts = new double[edges.Length - 1];
        double min = double.PositiveInfinity, max = double.NegativeInfinity, sum = 0, squares = 0;
        foreach (double v in values)
        {
            if (!double.IsFinite(v)) throw new ArgumentException($"add_histogram: the values must be finite, found {v}");
            min = Math.Min(min, v);
            max = Math.Max(max, v);
            sum += v;
            squares += v * v;
            if (v < edges[0] || v > edges[^1]) continue;
            int bin = edges.BinarySearch(v);   // an exact edge opens its bin; otherwise ~bin is the next edge
            bin = bin >= 0 ? Math.Min(bin, counts.Length - 1) : ~bin - 1;
            counts[bin]++;
        }

        int first = Array.FindIndex(counts, c => c > 0), last = Array.FindLastIndex(counts, c => c > 0);
        if (first < 0) throw new ArgumentException($"add_histogram: no value lies inside the bins [{edges[0]}, {edges[^1]}]");
        var histogram = new HistogramProto { Min = min, Max = max, Num = values.Length, Sum = sum, SumSquares = squares };
        // Bucket k is counts[first - 1 + k] with right limit edges[first + k]: the first is the empty bin
        // left of the data (a zero of our own when the data starts in the first bin), whose right limit
        // is the data's left edge.
        histogram.Bucket.Add(first > 0 ? counts[first - 1] : 0);
        for (int k = first; k <= last; k++) histogram.Bucket.Add(counts[k]);
        for (int k = first; k <= last + 1; k++) histogram.BucketLimit.Add(edges[k]);
        return histogram;
    }

    /// <summary>
    /// TensorBoard's default bins (PyTorch's bins="tensorflow"): edges at ±1e-12·1.1^k up to 1e20 and
    /// 0, so every scale of weight or gradient gets relative resolution of 10%.
    /// </summary>
    public static double[] TensorFlowBins { get; } = MakeTensorFlowBins();

    static double[] MakeTensorFlowBins()
    {
        var positive = new List<double>();
        for (double v = 1e-12; v < 1e20; v *= 1.1) positive.Add(v);
        return [.. positive.AsEnumerable().Reverse().Select(v => -v), 0.0, .. positive];
    }

    /// <summary>
    /// <paramref name="count"/> equal bins from the least to the greatest value (numpy's bins=n; one
    /// unit wide around a constant).
    /// </summary>
    public static double[] EqualBins(ReadOnlySpan<double> values, int count)
    {
        if (count < 1) throw new ArgumentException($"add_histogram: bins must be at least 1, got {count}");
        if (values.IsEmpty) throw new ArgumentException("add_histogram: the values are empty");
        double lo = double.PositiveInfinity, hi = double.NegativeInfinity;
        foreach (double v in values) { lo = Math.Min(lo, v); hi = Math.Max(hi, v); }
        if (!double.IsFinite(lo) || !double.IsFinite(hi)) throw new ArgumentException($"add_histogram: the values must be finite, their range is [{lo}, {hi}]");
        if (lo == hi) { lo -= 0.5; hi += 0.5; }
        var edges = new double[count + 1];
        for (int i = 0; i <= count; i++) edges[i] = lo + (hi - lo) * i / count;
        edges[count] = hi;
        return edges;
    }

    /// <summary>A histogram summary: TensorBoard's Histograms and Distributions tabs.</summary>
    public static Summary Histogram(string tag, HistogramProto histogram) =>
        new() { Value = { new Summary.Types.Value { Tag = tag, Histo = histogram } } };

    /// <summary>
    /// An image from <paramref name="image"/> laid out as <paramref name="dataFormats"/> says ("CHW",
    /// "HWC", "HW", or "NCHW"/"NHWC" for a grid of up to 8 images a row, as PyTorch tiles them).
    /// Floating-point values are taken as [0, 1] and scaled by 255, integers as [0, 255]; both are
    /// clipped to [0, 255] and truncated to bytes. One channel is repeated to RGB, as PyTorch does.
    /// </summary>
    public static Summary Image(string tag, Tensor image, string dataFormats = "CHW")
    {
        var (pixels, height, width, channels) = ImageLayout.ToHwcBytes(image, dataFormats);
        var proto = new Summary.Types.Image
        {
            Height = height, Width = width, Colorspace = channels,
            EncodedImageString = ByteString.CopyFrom(Png.Encode(pixels, width, height, channels)),
        };
        return new Summary { Value = { new Summary.Types.Value { Tag = tag, Image = proto } } };
    }

    /// <summary>
    /// An image already encoded as PNG (a plot, a confusion matrix: PyTorch's add_figure logs a
    /// rendered figure so), its size and channels read from the PNG's header.
    /// </summary>
    public static Summary ImagePng(string tag, byte[] png)
    {
        var (width, height, channels) = Png.ReadHeader(png);
        var proto = new Summary.Types.Image { Height = height, Width = width, Colorspace = channels, EncodedImageString = ByteString.CopyFrom(png) };
        return new Summary { Value = { new Summary.Types.Value { Tag = tag, Image = proto } } };
    }

    /// <summary>Text (markdown) for TensorBoard's Text tab, under the tag "<paramref name="tag"/>/text_summary" as PyTorch writes it.</summary>
    public static Summary Text(string tag, string text)
    {
        var tensor = new TensorProto { Dtype = DataType.DtString, TensorShape = new TensorShapeProto { Dim = { new TensorShapeProto.Types.Dim { Size = 1 } } } };
        tensor.StringVal.Add(ByteString.CopyFromUtf8(text));
        return new Summary
        {
            Value =
            {
                new Summary.Types.Value
                {
                    Tag = tag + "/text_summary",
                    Metadata = PluginMetadata("text", new TextPluginData().ToByteString()),
                    Tensor = tensor,
                },
            },
        };
    }

    /// <summary>The hparams plugin's tags.</summary>
    public const string ExperimentTag = "_hparams_/experiment", SessionStartInfoTag = "_hparams_/session_start_info", SessionEndInfoTag = "_hparams_/session_end_info";

    /// <summary>
    /// The three summaries of one run for TensorBoard's HParams tab (PyTorch's hparams()): the
    /// experiment (each setting's name and type, each metric's tag), the run's settings, and its end.
    /// A setting is a number (an integer, a floating-point number, or a bool, which PyTorch too logs
    /// as a number) or a string; <paramref name="domainDiscrete"/> lists the values a setting can take.
    /// </summary>
    public static (Summary Experiment, Summary SessionStart, Summary SessionEnd) Hparams(
        IReadOnlyDictionary<string, object?> hparams, IReadOnlyDictionary<string, double> metrics,
        IReadOnlyDictionary<string, object[]>? domainDiscrete = null)
    {
        var start = new SessionStartInfo();
        var experiment = new Experiment();
        foreach (var (name, setting) in hparams)
        {
            if (setting is null) continue;   // PyTorch skips unset settings
            var value = HparamValue(name, setting, out var type);
            start.Hparams[name] = value;
            var info = new HParamInfo { Name = name, Type = type };
            if (domainDiscrete is not null && domainDiscrete.TryGetValue(name, out var domain))
            {
                var list = new WellKnown.ListValue();
                foreach (var d in domain)
                {
                    var v = HparamValue(name, d, out var domainType);
                    if (domainType != type)
                        throw new ArgumentException($"add_hparams: the domain of '{name}' holds {d} ({d.GetType().Name}), not of the setting's type {type}");
                    list.Values.Add(v);
                }
                info.DomainDiscrete = list;
            }
            experiment.HparamInfos.Add(info);
        }
        foreach (var tag in metrics.Keys) experiment.MetricInfos.Add(new MetricInfo { Name = new MetricName { Tag = tag } });

        return (HparamsSummary(ExperimentTag, new HParamsPluginData { Experiment = experiment }),
                HparamsSummary(SessionStartInfoTag, new HParamsPluginData { SessionStartInfo = start }),
                HparamsSummary(SessionEndInfoTag, new HParamsPluginData { SessionEndInfo = new SessionEndInfo { Status = SessionStatus.StatusSuccess } }));
    }

    static WellKnown.Value HparamValue(string name, object setting, out HParamDataType type)
    {
        switch (setting)
        {
            case string s:
                type = HParamDataType.DataTypeString;
                return WellKnown.Value.ForString(s);
            case bool b:
                type = HParamDataType.DataTypeFloat64;
                return WellKnown.Value.ForNumber(b ? 1 : 0);
            case sbyte or byte or short or ushort or int or uint or long or ulong or float or double or decimal:
                type = HParamDataType.DataTypeFloat64;
                return WellKnown.Value.ForNumber(Convert.ToDouble(setting, CultureInfo.InvariantCulture));
            default:
                throw new ArgumentException($"add_hparams: the value of '{name}' is a {setting.GetType().Name}; a setting must be a number, a bool or a string");
        }
    }

    static Summary HparamsSummary(string tag, HParamsPluginData data) =>
        new() { Value = { new Summary.Types.Value { Tag = tag, Metadata = PluginMetadata("hparams", data.ToByteString()) } } };

    static SummaryMetadata PluginMetadata(string plugin, ByteString content) =>
        new() { PluginData = new SummaryMetadata.Types.PluginData { PluginName = plugin, Content = content } };
}
