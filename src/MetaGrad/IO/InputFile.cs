namespace MetaGrad.IO;

/// <summary>
/// Opens the files that MetaGrad's readers load, saying plainly what is wrong with a path: .NET
/// reports a folder as "Access to the path ... is denied".
/// </summary>
internal static class InputFile
{
    /// <summary>A stream over <paramref name="path"/>; <paramref name="reader"/> ("Safetensors.Load") goes in messages.</summary>
    /// <exception cref="FileNotFoundException">Nothing is at the path.</exception>
    /// <exception cref="IOException">The path is a folder.</exception>
    public static FileStream Open(string path, string reader)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (Directory.Exists(path)) throw new IOException($"{reader}: {Path.GetFullPath(path)} is a folder, not a file");
        if (!File.Exists(path)) throw new FileNotFoundException($"{reader}: no file at {Path.GetFullPath(path)}", path);
        return new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1 << 16);
    }

    /// <summary>All the bytes of <paramref name="path"/>, with <see cref="Open"/>'s messages.</summary>
    public static byte[] ReadAllBytes(string path, string reader)
    {
        using var stream = Open(path, reader);
        var bytes = new byte[stream.Length];
        stream.ReadExactly(bytes);
        return bytes;
    }
}
