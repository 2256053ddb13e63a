using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text;
using MetaGrad.IO;

namespace MetaGrad.Tests.IO;

/// <summary>
/// Atomic saves under faults: a separate process (MetaGrad.FaultHost) is stopped inside a save by
/// SIGKILL or SIGTERM at a known point, and no temporary file may outlive the next save.
/// </summary>
public class AtomicFileTests
{
    const int SigTerm = 15;

    [DllImport("libc", SetLastError = true)]
    static extern int kill(int pid, int sig);

    static string[] Temporaries(TempFolder dir) => Directory.GetFiles(dir.Path, ".*.tmp");

    static Dictionary<string, Tensor> Weights(float value) => new() { ["w"] = Tensor.Full([3], value) };

    /// <summary>Starts the host and waits until it is inside the save.</summary>
    static Process StartInsideASave(string mode, string target, int ms)
    {
        var host = Path.Combine(AppContext.BaseDirectory, "MetaGrad.FaultHost.dll");
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, UseShellExecute = false };
        foreach (var a in new[] { host, mode, target, ms.ToString() }) start.ArgumentList.Add(a);
        var process = Process.Start(start)!;
        var line = process.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(120)).GetAwaiter().GetResult();
        Assert.Equal("writing", line);
        return process;
    }

    static void WaitForExit(Process p)
    {
        if (!p.WaitForExit(TimeSpan.FromSeconds(60)))
        {
            p.Kill();
            Assert.Fail("the host did not end within 60 s of the signal");
        }
    }

    [Fact]
    public void ASaveKilledBySigkill_LeavesATemporaryThatTheNextSaveRemoves()
    {
        using var dir = new TempFolder();
        var target = dir.File("model.safetensors");
        Safetensors.Save(target, Weights(1));
        using (var host = StartInsideASave("hold", target, 0))
        {
            host.Kill();   // SIGKILL: nothing in the process runs
            WaitForExit(host);
        }
        Assert.Single(Temporaries(dir));                                    // the orphan, as the fault test found it
        Assert.Equal([1f, 1f, 1f], Safetensors.Load(target).Tensors["w"].ToArray<float>());   // the old file intact

        Safetensors.Save(target, Weights(2));
        Assert.Empty(Temporaries(dir));
        Assert.Equal([2f, 2f, 2f], Safetensors.Load(target).Tensors["w"].ToArray<float>());
    }

    // SIGINT, SIGQUIT and SIGHUP take the same handler, but only SIGTERM is sent here: a process
    // started in the background by a non-interactive shell (as CI may run this) ignores SIGINT
    // from birth, and .NET keeps it ignored, so the host would never end.
    [Fact]
    public void Sigterm_DuringASave_LetsTheSaveFinishBeforeTheProcessEnds()
    {
        using var dir = new TempFolder();
        var target = dir.File("checkpoint.bin");
        File.WriteAllText(target, "old");
        using var host = StartInsideASave("slow", target, 500);
        Assert.Equal(0, kill(host.Id, SigTerm));
        WaitForExit(host);
        Assert.Equal(128 + SigTerm, host.ExitCode);   // ended by the signal, as without the hook
        Assert.Equal("new", File.ReadAllText(target));
        Assert.Empty(Temporaries(dir));
    }

    [Fact]
    public void Sigterm_DuringASaveThatDoesNotFinish_RemovesItsTemporary()
    {
        using var dir = new TempFolder();
        var target = dir.File("checkpoint.bin");
        File.WriteAllText(target, "old");
        using var host = StartInsideASave("hold", target, 200);   // 200 ms of grace, then the temporary goes
        Assert.Single(Temporaries(dir));
        Assert.Equal(0, kill(host.Id, SigTerm));
        WaitForExit(host);
        Assert.Equal(128 + SigTerm, host.ExitCode);
        Assert.Equal("old", File.ReadAllText(target));
        Assert.Empty(Temporaries(dir));
    }

    [Fact]
    public void ASave_LeavesLockedTemporariesAndOtherFilesAlone()
    {
        using var dir = new TempFolder();
        var target = dir.File("a.bin");
        var live = dir.File($".a.bin.{Guid.NewGuid():N}.tmp");      // another save in progress holds it locked
        var foreign = dir.File(".a.bin.backup.tmp");                 // not a name AtomicFile makes
        File.WriteAllText(foreign, "keep");
        using (var held = new FileStream(live, FileMode.CreateNew, FileAccess.Write, FileShare.None))
        {
            AtomicFile.Write(target, s => s.Write(Encoding.ASCII.GetBytes("one")));
            Assert.True(File.Exists(live));
        }
        AtomicFile.Write(target, s => s.Write(Encoding.ASCII.GetBytes("two")));
        Assert.False(File.Exists(live));   // unlocked now: its writer is gone
        Assert.Equal("keep", File.ReadAllText(foreign));
        Assert.Equal("two", File.ReadAllText(target));
    }

    [Fact]
    public void ASaveThatThrows_LeavesNoTemporaryAndTheOldFile()
    {
        using var dir = new TempFolder();
        var target = dir.File("a.bin");
        File.WriteAllText(target, "old");
        Assert.Throws<InvalidOperationException>(() => AtomicFile.Write(target, s =>
        {
            s.Write(Encoding.ASCII.GetBytes("half"));
            throw new InvalidOperationException("disk full");
        }));
        Assert.Empty(Temporaries(dir));
        Assert.Equal("old", File.ReadAllText(target));
    }

    [Fact]
    public void SavingOverAFolder_SaysSo()
    {
        using var dir = new TempFolder();
        Directory.CreateDirectory(dir.File("model.safetensors"));
        var ex = Assert.Throws<IOException>(() => Safetensors.Save(dir.File("model.safetensors"), Weights(1)));
        Assert.Contains("is a folder", ex.Message);
    }
}
