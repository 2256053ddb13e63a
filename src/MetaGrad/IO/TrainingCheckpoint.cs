using System.Text.Json;
using System.Text.Json.Serialization;
using MetaGrad.Optim;

namespace MetaGrad.IO;

/// <summary>
/// The rest of a training state in a <see cref="Checkpoint"/>, beside the model's tensors: an
/// optimizer's state dict (its buffers as tensors, its groups' options as JSON), a scheduler's
/// state dict and a generator's state (as JSON). Each goes in and comes back out exactly, so a run
/// resumed from the checkpoint continues bit for bit.
/// </summary>
/// <example>
/// <code>
/// new Checkpoint()
///     .Add("model", model.StateDict())
///     .AddOptimizer("optim", optimizer.StateDict())
///     .AddScheduler("scheduler", scheduler.StateDict())
///     .AddGenerator("rng", Generator.Default)
///     .Set("epoch", epoch)
///     .Save(path);
///
/// var saved = Checkpoint.Load(path);
/// model.LoadStateDict(saved.Section("model"));
/// optimizer.LoadStateDict(saved.OptimizerState("optim"));
/// scheduler.LoadStateDict(saved.SchedulerState("scheduler"));
/// saved.RestoreGenerator("rng", Generator.Default);
/// </code>
/// </example>
public static partial class TrainingCheckpoint
{
    // The types stored here, their JSON code generated at build time so that checkpoints work
    // trimmed and under NativeAOT. ReduceLROnPlateau's best starts at ±∞, which plain JSON cannot
    // write. Group options are object-typed: their runtime types (ParamGroup's double, bool and
    // pair as double[]) must be listed for the generated code to write them.
    [JsonSourceGenerationOptions(NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals)]
    [JsonSerializable(typeof(List<ParamGroupState>))]
    [JsonSerializable(typeof(List<SavedGroup?>))]
    [JsonSerializable(typeof(SchedulerStateDict))]
    [JsonSerializable(typeof(JsonElement))]
    [JsonSerializable(typeof(ulong[]))]
    [JsonSerializable(typeof(double))]
    [JsonSerializable(typeof(bool))]
    [JsonSerializable(typeof(double[]))]
    sealed partial class Json : JsonSerializerContext;

    /// <summary>Adds an optimizer's buffers as tensors <c>prefix.state.*</c> and its groups under metadata <c>prefix.param_groups</c>.</summary>
    public static Checkpoint AddOptimizer(this Checkpoint checkpoint, string prefix, OptimizerStateDict state)
    {
        checkpoint.Add(prefix, state.State);
        checkpoint.Metadata[$"{prefix}.param_groups"] = JsonSerializer.Serialize(state.ParamGroups, Json.Default.ListParamGroupState);
        return checkpoint;
    }

    /// <summary>The optimizer state dict stored by <see cref="AddOptimizer"/>, ready for <see cref="Optimizer.LoadStateDict"/>.</summary>
    public static OptimizerStateDict OptimizerState(this Checkpoint checkpoint, string prefix)
    {
        string key = $"{prefix}.param_groups";
        var groups = checkpoint.Get(key, Json.Default.ListSavedGroup);
        // JSON null, or a group without its fields, deserialises to nulls: refuse it here rather than deep in LoadStateDict.
        if (groups is null || groups.Any(g => g?.Params is null || g.Options is null))
            throw new InvalidDataException($"Checkpoint: metadata entry \"{key}\" must be a list of groups, each with Params and Options");
        return new OptimizerStateDict
        {
            State = checkpoint.Section(prefix),
            ParamGroups = groups.Select(g => new ParamGroupState
            {
                Params = g!.Params,
                Options = g.Options.ToDictionary(o => o.Key, o => Option(key, o.Key, o.Value)),
            }).ToList(),
        };
    }

    /// <summary>Adds a scheduler's state dict as JSON under metadata <paramref name="key"/>.</summary>
    public static Checkpoint AddScheduler(this Checkpoint checkpoint, string key, SchedulerStateDict state)
    {
        checkpoint.Metadata[key] = JsonSerializer.Serialize(state, Json.Default.SchedulerStateDict);
        return checkpoint;
    }

    /// <summary>The scheduler state dict stored by <see cref="AddScheduler"/>.</summary>
    public static SchedulerStateDict SchedulerState(this Checkpoint checkpoint, string key)
    {
        var json = checkpoint.Get(key, Json.Default.JsonElement);   // checks the key is there and is JSON
        SchedulerStateDict? state;
        try
        {
            state = json.Deserialize(Json.Default.SchedulerStateDict);
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"Checkpoint: metadata entry \"{key}\" is not a scheduler state: {e.Message}", e);
        }
        if (state?.BaseLrs is null || state.LastLr is null || state.Values is null)
            throw new InvalidDataException($"Checkpoint: metadata entry \"{key}\" is not a scheduler state (null, or a field is null)");
        return state;
    }

    /// <summary>Adds a generator's state (<see cref="Generator.GetState"/>) under metadata <paramref name="key"/>.</summary>
    public static Checkpoint AddGenerator(this Checkpoint checkpoint, string key, Generator generator) =>
        checkpoint.Set(key, generator.GetState(), Json.Default.UInt64Array);

    /// <summary>Puts <paramref name="generator"/> back in the state stored by <see cref="AddGenerator"/>.</summary>
    public static void RestoreGenerator(this Checkpoint checkpoint, string key, Generator generator) =>
        generator.SetState(checkpoint.Get(key, Json.Default.UInt64Array));

    sealed record SavedGroup(int[] Params, Dictionary<string, JsonElement> Options);

    // Group options are numbers, booleans or pairs of numbers (ParamGroup's kinds); JSON gives them back untyped.
    static object Option(string key, string name, JsonElement value)
    {
        try
        {
            return value.ValueKind switch
            {
                JsonValueKind.Number => value.GetDouble(),
                JsonValueKind.String => value.Deserialize(Json.Default.Double),   // a named literal: NaN, Infinity
                JsonValueKind.True or JsonValueKind.False => value.GetBoolean(),
                JsonValueKind.Array => value.Deserialize(Json.Default.DoubleArray)!,
                _ => throw new JsonException(),
            };
        }
        catch (Exception e) when (e is JsonException or FormatException)
        {
            throw new InvalidDataException($"Checkpoint: option \"{name}\" in metadata entry \"{key}\" is {value}, not a number, a bool or a pair of numbers", e);
        }
    }
}
