using System.Diagnostics;

namespace MetaGrad.Distributed.Tests;

/// <summary>Starts the worker as N ranks under mpiexec on this machine and collects what they print.</summary>
internal static class MpiLauncher
{
    public sealed record Result(int ExitCode, string Output, TimeSpan Elapsed);

    /// <summary>Runs a worker scenario (see MetaGrad.Distributed.Worker.Scenarios).</summary>
    public static Result Run(string scenario, string output, int ranks = 2, TimeSpan? limit = null) =>
        RunProgram("MetaGrad.Distributed.Worker.dll", [scenario, output], ranks, limit);

    /// <summary>Runs a program built beside the tests, as <paramref name="ranks"/> ranks.</summary>
    public static Result RunProgram(string dll, string[] arguments, int ranks = 2, TimeSpan? limit = null)
    {
        var mpiexec = FindMpiexec();
        var start = new ProcessStartInfo(mpiexec)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var a in (string[])["-n", ranks.ToString(), "dotnet", Path.Combine(AppContext.BaseDirectory, dll), .. arguments]) start.ArgumentList.Add(a);
        var clock = Stopwatch.StartNew();
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(limit ?? TimeSpan.FromSeconds(120)))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"mpiexec -n {ranks} {dll} {string.Join(' ', arguments)} did not end within {(limit ?? TimeSpan.FromSeconds(120)).TotalSeconds} s: the ranks hang");
        }
        process.WaitForExit();
        return new Result(process.ExitCode, stdout.Result + stderr.Result, clock.Elapsed);
    }

    static string FindMpiexec()
    {
        foreach (var folder in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':'))
            if (folder.Length > 0 && File.Exists(Path.Combine(folder, "mpiexec"))) return Path.Combine(folder, "mpiexec");
        throw new InvalidOperationException("mpiexec was not found on PATH: these tests need MPICH (apt-get install mpich libmpich-dev; .ci/run installs it)");
    }
}
