using System.Diagnostics;

namespace MetaGrad.Distributed.Tests;

/// <summary>Starts the worker as N ranks under mpiexec on this machine and collects what they print.</summary>
internal static class MpiLauncher
{
    public sealed record Result(int ExitCode, string Output, TimeSpan Elapsed);

    static string Worker => Path.Combine(AppContext.BaseDirectory, "MetaGrad.Distributed.Worker.dll");

    public static Result Run(string scenario, string output, int ranks = 2, TimeSpan? limit = null)
    {
        var mpiexec = FindMpiexec();
        var start = new ProcessStartInfo(mpiexec)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var a in new[] { "-n", ranks.ToString(), "dotnet", Worker, scenario, output }) start.ArgumentList.Add(a);
        var clock = Stopwatch.StartNew();
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(limit ?? TimeSpan.FromSeconds(120)))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"mpiexec -n {ranks} {scenario} did not end within {(limit ?? TimeSpan.FromSeconds(120)).TotalSeconds} s: the ranks hang");
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
