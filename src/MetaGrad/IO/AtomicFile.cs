using System.Runtime.InteropServices;

namespace MetaGrad.IO;

/// <summary>
/// Writes a file all at once or not at all: the bytes go to a temporary file in the same folder,
/// are flushed to disk, and only then renamed over the target (rename within one folder is atomic),
/// so a crash or an exception mid-write leaves the previous file as it was.
/// </summary>
/// <remarks>
/// Nothing is left behind for good. A temporary is named <c>.NAME.&lt;32 hex digits&gt;.tmp</c> and held
/// locked while it is written; a save removes every unlocked temporary of its target, which only a
/// killed writer leaves (kill -9, power loss). On SIGTERM, SIGINT, SIGQUIT or SIGHUP, and at process
/// exit, saves in progress are given <see cref="Grace"/> to finish before the process goes on to end;
/// what is still unfinished then is removed.
/// </remarks>
internal static class AtomicFile
{
    /// <summary>How long a terminating process waits for saves in progress (a supervisor's SIGKILL usually follows SIGTERM after 10 s).</summary>
    internal static TimeSpan Grace { get; set; } = TimeSpan.FromSeconds(5);

    static readonly object s_gate = new();
    static readonly HashSet<string> s_writing = [];
    static List<PosixSignalRegistration>? s_hooks;

    public static void Write(string path, Action<Stream> write)
    {
        var full = Path.GetFullPath(path);
        var folder = Path.GetDirectoryName(full)!;
        var name = Path.GetFileName(full);
        if (!Directory.Exists(folder)) throw new DirectoryNotFoundException($"Cannot write {full}: the folder {folder} does not exist");
        if (Directory.Exists(full)) throw new IOException($"Cannot write {full}: it is a folder");
        RemoveStaleTemporaries(folder, name);
        var temp = Path.Combine(folder, $".{name}.{Guid.NewGuid():N}.tmp");
        Begin(temp);
        try
        {
            // FileShare.None locks the temporary (flock on Unix) so that no other save takes it for stale.
            using (var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, bufferSize: 1 << 16))
            {
                write(stream);
                stream.Flush(flushToDisk: true);
            }
            File.Move(temp, full, overwrite: true);
        }
        catch
        {
            TryDelete(temp);
            throw;
        }
        finally
        {
            End(temp);
        }
    }

    // A temporary that nobody holds locked belongs to a writer that died before renaming it.
    static void RemoveStaleTemporaries(string folder, string name)
    {
        foreach (var candidate in Directory.EnumerateFiles(folder, $".{name}.*.tmp"))
        {
            var file = Path.GetFileName(candidate);   // exactly .NAME.<guid>.tmp: nothing else is ours
            if (file.Length != name.Length + 38 || !Guid.TryParseExact(file.AsSpan(name.Length + 2, 32), "N", out _)) continue;
            lock (s_gate)
                if (s_writing.Contains(candidate)) continue;
            try
            {
                using (new FileStream(candidate, FileMode.Open, FileAccess.ReadWrite, FileShare.None)) { }
                File.Delete(candidate);
            }
            catch (IOException) { }                  // locked: a save in progress, here or in another process
            catch (UnauthorizedAccessException) { }  // not ours to remove
        }
    }

    static void Begin(string temp)
    {
        lock (s_gate)
        {
            s_writing.Add(temp);
            s_hooks ??= Hook();
        }
    }

    static void End(string temp)
    {
        lock (s_gate)
        {
            s_writing.Remove(temp);
            Monitor.PulseAll(s_gate);
        }
    }

    // Registered at the first save and kept: handlers that neither cancel the signal nor throw, so
    // the process ends as it would have, only after its saves finished or were removed.
    static List<PosixSignalRegistration> Hook()
    {
        AppDomain.CurrentDomain.ProcessExit += (_, _) => FinishOrRemove();
        var hooks = new List<PosixSignalRegistration>();
        foreach (var signal in new[] { PosixSignal.SIGTERM, PosixSignal.SIGINT, PosixSignal.SIGQUIT, PosixSignal.SIGHUP })
        {
            try { hooks.Add(PosixSignalRegistration.Create(signal, _ => FinishOrRemove())); }
            catch (PlatformNotSupportedException) { }
        }
        return hooks;
    }

    static void FinishOrRemove()
    {
        long deadline = Environment.TickCount64 + (long)Grace.TotalMilliseconds;
        lock (s_gate)
        {
            for (long left; s_writing.Count > 0 && (left = deadline - Environment.TickCount64) > 0;)
                Monitor.Wait(s_gate, (int)Math.Min(left, int.MaxValue));
            foreach (var temp in s_writing) TryDelete(temp);
        }
    }

    static void TryDelete(string path)
    {
        try { File.Delete(path); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}
