using System.Text.Json;
using System.Text.Json.Serialization;
using MetaGrad.IO;

namespace MetaGrad.Tests.IO;

/// <summary>
/// Checkpoint values written and read with source-generated JSON type information, the path a
/// trimmed or NativeAOT application takes (the reflection overloads are marked unsafe there).
/// </summary>
public partial class CheckpointTypeInfoTests
{
    public sealed record RunInfo(int Epoch, double[] Losses, string Note);

    [JsonSerializable(typeof(RunInfo))]
    [JsonSerializable(typeof(int))]
    partial class TestJson : JsonSerializerContext;

    [Fact]
    public void SetAndGet_WithTypeInfo_RoundTripThroughTheFile()
    {
        using var dir = new TempFolder();
        var path = dir.File("run.safetensors");
        new Checkpoint()
            .Add("model", new Dictionary<string, Tensor> { ["w"] = Tensor.Ones(2) })
            .Set("run", new RunInfo(3, [0.5, 0.25], "warm-up"), TestJson.Default.RunInfo)
            .Save(path);

        var loaded = Checkpoint.Load(path);
        Assert.Equal("""{"Epoch":3,"Losses":[0.5,0.25],"Note":"warm-up"}""", loaded.Metadata["run"]);
        var run = loaded.Get("run", TestJson.Default.RunInfo);
        Assert.Equal(3, run.Epoch);
        Assert.Equal([0.5, 0.25], run.Losses);
        Assert.Equal("warm-up", run.Note);
    }

    [Fact]
    public void TypeInfoAndReflection_WriteTheSameJson_AndReadEachOther()
    {
        var value = new RunInfo(7, [0.1 + 0.2], "same");
        var byReflection = new Checkpoint().Set("run", value);
        var byTypeInfo = new Checkpoint().Set("run", value, TestJson.Default.RunInfo);
        Assert.Equal(byReflection.Metadata["run"], byTypeInfo.Metadata["run"]);
        Assert.Equal(0.1 + 0.2, byReflection.Get("run", TestJson.Default.RunInfo).Losses[0]);   // the exact double comes back
        Assert.Equal(7, byTypeInfo.Get<RunInfo>("run").Epoch);
    }

    [Fact]
    public void Get_WithTypeInfo_ExplainsAMissingKeyAndUnreadableJson()
    {
        var checkpoint = new Checkpoint().Set("epoch", 4, TestJson.Default.Int32);
        var missing = Assert.Throws<KeyNotFoundException>(() => checkpoint.Get("epochs", TestJson.Default.Int32));
        Assert.Contains("no metadata entry \"epochs\"; the entries are: epoch", missing.Message);
        checkpoint.Metadata["run"] = "[1, 2]";
        var unreadable = Assert.Throws<InvalidDataException>(() => checkpoint.Get("run", TestJson.Default.RunInfo));
        Assert.Contains("metadata entry \"run\" ([1, 2]) cannot be read as RunInfo", unreadable.Message);
        Assert.IsType<JsonException>(unreadable.InnerException);
    }
}
