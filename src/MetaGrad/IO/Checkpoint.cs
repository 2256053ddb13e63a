using System.Diagnostics.CodeAnalysis;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;

namespace MetaGrad.IO;

/// <summary>
/// A whole training state in one safetensors file, so that training resumes bit for bit: tensors
/// under dotted prefixes (<c>model.fc1.weight</c>, <c>optim.state.0.exp_avg</c>) and everything else
/// (epoch, optimizer and scheduler options, step counts) as JSON text in the file's string metadata.
/// Tensors are stored with their exact bits; numbers stored as JSON read back to the same value.
/// </summary>
/// <example>
/// <code>
/// var checkpoint = new Checkpoint()
///     .Add("model", model.StateDict())
///     .Add("optim", optimizerTensors)
///     .Set("epoch", 3)
///     .Set("optim.options", new { lr = 1e-3, betas = new[] { 0.9, 0.999 } });
/// checkpoint.Save("run/last.safetensors");
///
/// var resumed = Checkpoint.Load("run/last.safetensors");
/// model.LoadStateDict(resumed.Section("model"));
/// int epoch = resumed.Get&lt;int&gt;("epoch");
/// </code>
/// </example>
public sealed class Checkpoint
{
    /// <summary>The tensors by full (prefixed) name.</summary>
    public Dictionary<string, Tensor> Tensors { get; } = [];

    /// <summary>String metadata; <see cref="Set{T}(string, T)"/> stores values as JSON text.</summary>
    public Dictionary<string, string> Metadata { get; } = [];

    /// <summary>Adds tensors named <c>prefix.name</c>; a name already present is an error.</summary>
    public Checkpoint Add(string prefix, IEnumerable<KeyValuePair<string, Tensor>> tensors)
    {
        foreach (var (name, tensor) in tensors)
        {
            var full = $"{prefix}.{name}";
            if (!Tensors.TryAdd(full, tensor)) throw new ArgumentException($"Checkpoint.Add: a tensor named \"{full}\" is already in the checkpoint");
        }
        return this;
    }

    /// <summary>The tensors named <c>prefix.*</c>, with the prefix and its dot removed.</summary>
    public Dictionary<string, Tensor> Section(string prefix)
    {
        var start = prefix + ".";
        return Tensors.Where(p => p.Key.StartsWith(start, StringComparison.Ordinal))
            .ToDictionary(p => p.Key[start.Length..], p => p.Value);
    }

    /// <summary>Stores a value (a number, a string, an array, a record...) as JSON text under <paramref name="key"/>.</summary>
    /// <remarks>Reads the value's type by reflection; a trimmed or NativeAOT application passes a <see cref="JsonTypeInfo{T}"/> instead.</remarks>
    [RequiresUnreferencedCode(ReflectionJson)]
    [RequiresDynamicCode(ReflectionJson)]
    public Checkpoint Set<T>(string key, T value)
    {
        Metadata[key] = JsonSerializer.Serialize(value);
        return this;
    }

    /// <summary>
    /// Stores a value as JSON text under <paramref name="key"/>, written with the type information of
    /// a source-generated <see cref="System.Text.Json.Serialization.JsonSerializerContext"/> (safe when trimmed and under NativeAOT).
    /// </summary>
    public Checkpoint Set<T>(string key, T value, JsonTypeInfo<T> typeInfo)
    {
        Metadata[key] = JsonSerializer.Serialize(value, typeInfo);
        return this;
    }

    /// <summary>Reads back a value stored by <see cref="Set{T}(string, T)"/>.</summary>
    /// <remarks>Reads the value's type by reflection; a trimmed or NativeAOT application passes a <see cref="JsonTypeInfo{T}"/> instead.</remarks>
    [RequiresUnreferencedCode(ReflectionJson)]
    [RequiresDynamicCode(ReflectionJson)]
    public T Get<T>(string key) => Read(key, typeof(T).Name, json => JsonSerializer.Deserialize<T>(json)!);

    /// <summary>Reads back a value stored by <see cref="Set{T}(string, T, JsonTypeInfo{T})"/> (or by the reflection overload), with source-generated type information.</summary>
    public T Get<T>(string key, JsonTypeInfo<T> typeInfo) => Read(key, typeof(T).Name, json => JsonSerializer.Deserialize(json, typeInfo)!);

    const string ReflectionJson = "Checkpoint: JSON serialization of an arbitrary type uses reflection; pass a JsonTypeInfo<T> from a JsonSerializerContext instead";

    T Read<T>(string key, string typeName, Func<string, T> deserialize)
    {
        if (!Metadata.TryGetValue(key, out var json))
            throw new KeyNotFoundException($"Checkpoint: no metadata entry \"{key}\"; the entries are: {string.Join(", ", Metadata.Keys.Order(StringComparer.Ordinal))}");
        try
        {
            return deserialize(json);
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"Checkpoint: metadata entry \"{key}\" ({json}) cannot be read as {typeName}: {e.Message}", e);
        }
    }

    /// <summary>Writes the checkpoint atomically: an interrupted save leaves the previous file intact.</summary>
    public void Save(string path) => Save(path, Tensors, Metadata);

    /// <summary>Writes tensors and metadata as one safetensors file, atomically.</summary>
    public static void Save(string path, IReadOnlyDictionary<string, Tensor> tensors, IReadOnlyDictionary<string, string> metadata) =>
        Safetensors.Save(path, tensors, metadata);

    /// <summary>Reads a checkpoint (any safetensors file).</summary>
    public static Checkpoint Load(string path) => From(Safetensors.Load(path));

    /// <summary>Reads a checkpoint from a seekable stream; <paramref name="name"/> goes in error messages.</summary>
    public static Checkpoint Load(Stream stream, string name = "stream") => From(Safetensors.Load(stream, name));

    static Checkpoint From(SafetensorsContent content)
    {
        var (tensors, metadata) = content;
        var checkpoint = new Checkpoint();
        foreach (var (name, t) in tensors) checkpoint.Tensors.Add(name, t);
        foreach (var (key, value) in metadata) checkpoint.Metadata.Add(key, value);
        return checkpoint;
    }
}
