namespace MetaGrad.Distributed;

/// <summary>
/// Checks at start-up that every rank holds the same model: the same parameters in the same order
/// with the same shapes and dtypes, the same buffers, the same buckets and options. Ranks that
/// disagree would otherwise sum unrelated numbers, or wait forever for an all-reduce of another size.
/// </summary>
internal static class ReplicaCheck
{
    public sealed record Part(string Kind, string Name, DType DType, int[] Shape);

    /// <summary>Throws on every rank when any rank's description differs from rank 0's; each rank says what differs on its side.</summary>
    public static void Verify(Communicator communicator, IReadOnlyList<Part> parts, IReadOnlyList<long> settings, IReadOnlyList<string> settingNames)
    {
        if (communicator.Size == 1) return;
        var mine = Encode(parts, settings);
        var length = new[] { (long)mine.Length };
        communicator.Broadcast(length, 0, "DistributedDataParallel: comparing the replicas");
        var first = new long[length[0]];
        if (communicator.IsMain) Array.Copy(mine, first, mine.Length);
        communicator.Broadcast(first, 0, "DistributedDataParallel: comparing the replicas");

        string? difference = Describe(first, parts, settings, settingNames);
        var flags = new long[communicator.Size];
        if (difference is not null) flags[communicator.Rank] = 1;
        flags = communicator.AllReduce(flags, ReduceOp.Sum, "DistributedDataParallel: comparing the replicas");
        var differing = Enumerable.Range(0, flags.Length).Where(r => flags[r] != 0).ToArray();
        if (differing.Length == 0) return;
        // Every rank throws the first differing rank's account: whichever rank's error ends the job, it says what differs.
        int teller = differing[0];
        var words = System.Text.Encoding.UTF8.GetBytes(difference ?? "");
        var size = new[] { (long)words.Length };
        communicator.Broadcast(size, teller, "DistributedDataParallel: comparing the replicas");
        if (communicator.Rank != teller) words = new byte[size[0]];
        communicator.Broadcast(words, teller, "DistributedDataParallel: comparing the replicas");
        string others = differing.Length > 1 ? $" (ranks {string.Join(", ", differing)} all differ from rank 0)" : "";
        throw new DistributedException($"DistributedDataParallel: rank {teller}'s model differs from rank 0's: {System.Text.Encoding.UTF8.GetString(words)}{others}");
    }

    // [part count, then per part: kind, dtype, rank, dims..., then the settings]
    static long[] Encode(IReadOnlyList<Part> parts, IReadOnlyList<long> settings)
    {
        var code = new List<long> { parts.Count };
        foreach (var p in parts)
        {
            code.Add(p.Kind == "parameter" ? 0 : 1);
            code.Add((long)p.DType);
            code.Add(p.Shape.Length);
            foreach (var d in p.Shape) code.Add(d);
        }
        code.AddRange(settings);
        return [.. code];
    }

    // What differs between rank 0's encoding and this rank's own description, or null. Parameters
    // come first: a different shape also makes different buckets, and the shape is the cause.
    static string? Describe(long[] first, IReadOnlyList<Part> parts, IReadOnlyList<long> settings, IReadOnlyList<string> settingNames)
    {
        const string Truncated = "rank 0 sent a truncated description";
        int at = 0;
        long count = first[at++];
        for (int i = 0; i < Math.Min(count, parts.Count); i++)
        {
            var p = parts[i];
            if (at + 3 > first.Length) return Truncated;
            string kind = first[at++] == 0 ? "parameter" : "buffer";
            var dtype = (DType)first[at++];
            int rank = (int)first[at++];
            if (at + rank > first.Length) return Truncated;
            var shape = first.AsSpan(at, rank).ToArray().Select(d => (int)d).ToArray();
            at += rank;
            if (kind != p.Kind || dtype != p.DType || !shape.SequenceEqual(p.Shape))
                return $"entry {i}, {p.Kind} {p.Name}, is {p.DType} of shape {ShapeMath.Format(p.Shape)} here but rank 0's entry {i} is a {kind} of {dtype} with shape {ShapeMath.Format(shape)}";
        }
        if (count != parts.Count) return $"{parts.Count} parameters and buffers here but {count} on rank 0";
        for (int s = 0; s < settings.Count; s++, at++)
            if (at >= first.Length || first[at] != settings[s])
                return $"{settingNames[s]} is {settings[s]} here but {(at < first.Length ? first[at] : "missing")} on rank 0";
        return null;
    }
}
