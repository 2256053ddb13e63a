using System.Buffers.Binary;
using System.IO.Compression;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using CsCheck;
using MetaGrad.Data;
using MetaGrad.IO;
using MetaGrad.NN;
using MetaGrad.Optim;

namespace MetaGrad.Tests.IO;

/// <summary>
/// Every reader of outside bytes, fed mutated real files (truncated, bytes flipped, bytes inserted or
/// cut, huge numbers written into headers, headers spliced from other files). The promise: a
/// complete load that matches what the bytes say, or an exception of a documented type, never a
/// crash, a hang, an allocation far beyond the file's size, or a tensor that differs from its bytes.
/// </summary>
/// <remarks>
/// CI runs a fixed stream of <see cref="Cases"/> cases per reader; METAGRAD_FUZZ_CASES raises the
/// count and METAGRAD_FUZZ_SEED moves the stream. A failure prints the seed of its case and what was
/// done to the file.
/// </remarks>
public class ReaderFuzzTests
{
    static readonly int Cases = Setting("METAGRAD_FUZZ_CASES", 1500);
    static readonly ulong Seed = (ulong)Setting("METAGRAD_FUZZ_SEED", 20261204);

    static int Setting(string name, int fallback) =>
        int.TryParse(Environment.GetEnvironmentVariable(name), out var v) && v > 0 ? v : fallback;

    // ---- the mutations ----

    /// <summary>One change to a file; positions are fractions of its length, so a change fits any file.</summary>
    public sealed record Mutation(string Kind, double At, int Length, byte[] Bytes)
    {
        // Numbers that break arithmetic: sign, 32- and 64-bit limits, overflow of products.
        static readonly string[] HugeText = ["4294967296", "9223372036854775807", "18446744073709551616", "-1", "2147483648", "1e30", "0", "65536"];
        static readonly ulong[] HugeBinary = [ulong.MaxValue, 1UL << 63, 1UL << 32, int.MaxValue, (ulong)int.MaxValue + 1, 1UL << 30, 0, 100_000_001];

        public byte[] Apply(byte[] file, byte[] donor)
        {
            int at = (int)(At * file.Length);
            switch (Kind)
            {
                case "truncate": return file[..at];
                case "flip":
                    var flipped = (byte[])file.Clone();
                    for (int k = 0; k < Bytes.Length && at + k < file.Length; k++) flipped[at + k] ^= Bytes[k] == 0 ? (byte)1 : Bytes[k];
                    return flipped;
                case "insert": return [.. file[..at], .. Bytes, .. file[at..]];
                case "cut": return [.. file[..at], .. file[Math.Min(file.Length, at + Length)..]];
                case "huge-binary":
                    var binary = (byte[])file.Clone();
                    Span<byte> value = stackalloc byte[8];
                    BinaryPrimitives.WriteUInt64LittleEndian(value, HugeBinary[Length % HugeBinary.Length]);
                    if (Bytes.Length > 0 && Bytes[0] % 2 == 0) value.Reverse();   // big-endian, as IDX dims are
                    int width = Bytes.Length > 1 && Bytes[1] % 2 == 0 ? 4 : 8;
                    for (int k = 0; k < width && at + k < binary.Length; k++) binary[at + k] = value[8 - width + k];
                    return binary;
                case "huge-text":
                    // Replace the run of digits nearest the position with a huge (or negative) number.
                    int start = at;
                    while (start < file.Length && !char.IsAsciiDigit((char)file[start])) start++;
                    if (start == file.Length) return file;
                    int end = start;
                    while (end < file.Length && char.IsAsciiDigit((char)file[end])) end++;
                    return [.. file[..start], .. Encoding.ASCII.GetBytes(HugeText[Length % HugeText.Length]), .. file[end..]];
                default:   // "splice": the start of another file of the same format over this one's
                    int take = Math.Min(donor.Length, Math.Max(1, at));
                    return [.. donor[..take], .. file[Math.Min(file.Length, take)..]];
            }
        }

        public override string ToString() => $"{Kind} at {At:F4} (length {Length}, bytes {Convert.ToHexString(Bytes)})";
    }

    static readonly Gen<Mutation> OneMutation =
        from kind in Gen.OneOf<string>("truncate", "flip", "flip", "insert", "cut", "huge-binary", "huge-binary", "huge-text", "huge-text", "splice")
        from at in Gen.Double[0, 1]
        from length in Gen.Int[0, 64]
        from bytes in Gen.Byte.Array[1, 8]
        select new Mutation(kind, Math.Min(at, 0.9999), length, bytes);

    static readonly Gen<Mutation[]> Mutations = OneMutation.Array[1, 3];

    /// <summary>Runs the fixed stream of cases: each mutates one of the seeds and hands the bytes to <paramref name="read"/>.</summary>
    static void Fuzz(string reader, byte[][] seeds, Action<byte[]> read, params Type[] documented)
    {
        ulong seed = Seed ^ (ulong)reader.Length * 0x9E3779B97F4A7C15UL;
        foreach (var original in seeds) read(original);   // the seeds themselves load
        int loaded = 0, refused = 0;
        for (int i = 0; i < Cases; i++)
        {
            var pcg = new PCG((uint)i, seed);
            string caseSeed = pcg.ToString();
            var mutations = Mutations.Generate(pcg, null!, out _);
            var file = seeds[i % seeds.Length];
            foreach (var m in mutations) file = m.Apply(file, seeds[(i + 1) % seeds.Length]);
            long before = GC.GetAllocatedBytesForCurrentThread();
            try
            {
                read(file);
                loaded++;
            }
            catch (Exception e) when (documented.Any(t => t.IsInstanceOfType(e)))
            {
                Assert.False(string.IsNullOrWhiteSpace(e.Message));
                refused++;
            }
            catch (Exception e)
            {
                throw new Xunit.Sdk.XunitException($"{reader}: case {i} (seed {caseSeed}: {string.Join("; ", mutations.AsEnumerable())}) " +
                    $"threw {e.GetType().Name}, not a documented {string.Join(" or ", documented.Select(t => t.Name))}: {e.Message}\n{e.StackTrace}");
            }
            long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
            // Generous for the tensors, their conversions and the header's JSON, yet far below what a
            // header's size fields can claim (gigabytes).
            Assert.True(allocated <= 64L * file.Length + (4 << 20),
                $"{reader}: case {i} (seed {caseSeed}) allocated {allocated:N0} bytes for a file of {file.Length:N0}");
        }
        // Both outcomes must occur, or the mutations are not reaching the reader's checks (or its happy path).
        Assert.True(loaded > Cases / 100 && refused > Cases / 10, $"{reader}: {loaded} of {Cases} mutated files loaded, {refused} were refused");
    }

    // ---- safetensors ----

    static byte[] SafetensorsSeed(int variant) => Safetensors.Serialize(variant == 0
        ? new Dictionary<string, Tensor>
        {
            ["weight"] = Tensor.Arange(6, DType.Float32).Reshape(2, 3),
            ["steps"] = Tensor.From(new long[] { 1, -2, 3, long.MaxValue }),
            ["mask"] = Tensor.From(new[] { true, false, true, true, false }),
            ["scale"] = Tensor.Scalar(0.5, DType.Float64),
            ["ids"] = Tensor.From(new[] { 7, 8 }),
        }
        : new Dictionary<string, Tensor> { ["a"] = Tensor.Ones(4, 4), ["empty"] = Tensor.Zeros(0, 3) },
        variant == 0 ? new Dictionary<string, string> { ["format"] = "pt", ["epoch"] = "12" } : null);

    /// <summary>What the reader returned must be what the header says the bytes are, read independently.</summary>
    static void LoadsFaithfully(byte[] file)
    {
        var content = Safetensors.Load(new MemoryStream(file), "fuzzed");
        ulong n = BinaryPrimitives.ReadUInt64LittleEndian(file);
        using var header = JsonDocument.Parse(file.AsMemory(8, (int)n));
        int data = 8 + (int)n;
        foreach (var entry in header.RootElement.EnumerateObject())
        {
            if (entry.Name == "__metadata__")
            {
                foreach (var m in entry.Value.EnumerateObject()) Assert.Equal(m.Value.GetString(), content.Metadata[m.Name]);
                continue;
            }
            var t = content.Tensors[entry.Name];
            Assert.Equal(entry.Value.GetProperty("shape").EnumerateArray().Select(s => s.GetInt32()), t.Shape.ToArray());
            var offsets = entry.Value.GetProperty("data_offsets");
            var raw = file.AsSpan(data + (int)offsets[0].GetInt64(), (int)(offsets[1].GetInt64() - offsets[0].GetInt64()));
            byte[] expected = t.DType switch
            {
                DType.Float32 => MemoryMarshal.AsBytes(t.ToArray<float>().AsSpan()).ToArray(),
                DType.Float64 => MemoryMarshal.AsBytes(t.ToArray<double>().AsSpan()).ToArray(),
                DType.Int64 => MemoryMarshal.AsBytes(t.ToArray<long>().AsSpan()).ToArray(),
                DType.Int32 => MemoryMarshal.AsBytes(t.ToArray<int>().AsSpan()).ToArray(),
                _ => t.ToArray<bool>().Select(b => b ? (byte)1 : (byte)0).ToArray(),
            };
            Assert.Equal(t.DType == DType.Bool ? raw.ToArray().Select(b => b != 0 ? (byte)1 : (byte)0).ToArray() : raw.ToArray(), expected);
        }
        Assert.Equal(header.RootElement.EnumerateObject().Count(e => e.Name != "__metadata__"), content.Tensors.Count);
    }

    [Fact]
    public void Safetensors_MutatedFiles_LoadFaithfullyOrAreRefused() =>
        Fuzz("safetensors", [SafetensorsSeed(0), SafetensorsSeed(1)], LoadsFaithfully, typeof(InvalidDataException));

    // ---- PyTorch's torch.save zip ----

    [Fact]
    public void PyTorch_MutatedFiles_LoadOrAreRefused() =>
        Fuzz("pt", [PyTorchFilesTests.PyTorchWritten("parameter.pt"), PyTorchFilesTests.PyTorchWritten("tensors.pt")],
            bytes => PyTorchFiles.Load(new MemoryStream(bytes), "fuzzed.pt"), typeof(InvalidDataException));

    // ---- IDX, plain and gzip ----

    static byte[] IdxImages(int count)
    {
        var bytes = new byte[16 + count * 4];
        BinaryPrimitives.WriteInt32BigEndian(bytes, 2051);
        BinaryPrimitives.WriteInt32BigEndian(bytes.AsSpan(4), count);
        BinaryPrimitives.WriteInt32BigEndian(bytes.AsSpan(8), 2);
        BinaryPrimitives.WriteInt32BigEndian(bytes.AsSpan(12), 2);
        for (int i = 16; i < bytes.Length; i++) bytes[i] = (byte)(i * 37);
        return bytes;
    }

    static byte[] Gzip(byte[] plain)
    {
        using var buffer = new MemoryStream();
        using (var gzip = new GZipStream(buffer, CompressionLevel.SmallestSize)) gzip.Write(plain);
        return buffer.ToArray();
    }

    static void IdxLoadsFaithfully(byte[] file)
    {
        var idx = Idx.Parse(file, "fuzzed", 2051, "images");
        var plain = file is [0x1f, 0x8b, ..] ? Gunzip(file) : file;
        Assert.Equal(Enumerable.Range(0, 3).Select(d => BinaryPrimitives.ReadInt32BigEndian(plain.AsSpan(4 + 4 * d))), idx.Dims);
        Assert.Equal(plain[16..], idx.Data.ToArray());
    }

    static byte[] Gunzip(byte[] file)
    {
        using var gzip = new GZipStream(new MemoryStream(file), CompressionMode.Decompress);
        using var plain = new MemoryStream();
        gzip.CopyTo(plain);
        return plain.ToArray();
    }

    [Fact]
    public void Idx_MutatedFiles_LoadFaithfullyOrAreRefused() =>
        Fuzz("idx", [IdxImages(3), IdxImages(5)], IdxLoadsFaithfully, typeof(InvalidDataException));

    [Fact]
    public void IdxGzip_MutatedFiles_LoadFaithfullyOrAreRefused() =>
        Fuzz("idx.gz", [Gzip(IdxImages(3)), Gzip(IdxImages(50))], IdxLoadsFaithfully, typeof(InvalidDataException));

    // ---- the training checkpoint: model, optimizer, scheduler and generator restored from one file ----

    static (Linear Model, Adam Optimizer, StepLR Scheduler) Training()
    {
        var model = new Linear(3, 2, generator: new Generator(1));
        var optimizer = new Adam(model.Parameters(), lr: 0.01);
        return (model, optimizer, new StepLR(optimizer, stepSize: 2, gamma: 0.5));
    }

    static byte[] CheckpointSeed()
    {
        var (model, optimizer, scheduler) = Training();
        Losses.MseLoss(model.Forward(Tensor.Ones(4, 3)), Tensor.Zeros(4, 2)).Backward();
        optimizer.Step();
        scheduler.Step();
        var checkpoint = new Checkpoint()
            .Add("model", model.StateDict())
            .AddOptimizer("optim", optimizer.StateDict())
            .AddScheduler("scheduler", scheduler.StateDict())
            .AddGenerator("rng", new Generator(9))
            .Set("epoch", 3);
        return Safetensors.Serialize(checkpoint.Tensors, checkpoint.Metadata);
    }

    static void Resume(byte[] file)
    {
        var saved = Checkpoint.Load(new MemoryStream(file), "fuzzed");
        var (model, optimizer, scheduler) = Training();
        model.LoadStateDict(saved.Section("model"));
        optimizer.LoadStateDict(saved.OptimizerState("optim"));
        scheduler.LoadStateDict(saved.SchedulerState("scheduler"));
        saved.RestoreGenerator("rng", new Generator(0));
        saved.Get<int>("epoch");
        foreach (var (name, t) in model.StateDict()) Assert.Equal(saved.Tensors["model." + name].ToArray<float>(), t.ToArray<float>());
    }

    [Fact]
    public void TrainingCheckpoint_MutatedFiles_ResumeOrAreRefused() =>
        // Beyond the format's InvalidDataException: a missing entry is a KeyNotFoundException, and a
        // state that does not fit the model or optimizer is an ArgumentException from LoadStateDict.
        Fuzz("checkpoint", [CheckpointSeed()], Resume, typeof(InvalidDataException), typeof(KeyNotFoundException), typeof(ArgumentException));
}
