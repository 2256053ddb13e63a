using System.Diagnostics;
using System.IO.Compression;
using System.Reflection;
using System.Text.RegularExpressions;
using System.Xml.Linq;

namespace MetaGrad.Tests.Packaging;

/// <summary>
/// The NuGet package as a user meets it. SLOW (about half a minute on 2 cores: it runs
/// `dotnet pack` and then restores, builds and runs a fresh console project): it packs the library
/// already built for these tests, checks what the package holds, then restores it into an empty
/// project from a local folder feed, offline (that feed and the machine's NuGet cache are the only
/// sources), and trains a small model with it.
/// </summary>
[Trait("Category", "Slow")]
public class NuGetPackageTests
{
    [Fact]
    public void Package_HoldsDocsReadmeAndSymbols_AndTrainsAModelInAFreshProject()
    {
        using var work = new TempFolder();
        string feed = Directory.CreateDirectory(work.File("feed")).FullName;
        string configuration = typeof(Tensor).Assembly.GetCustomAttribute<AssemblyConfigurationAttribute>()!.Configuration;
        Run(RepositoryRoot(), "pack", "src/MetaGrad/MetaGrad.csproj", "--no-build", "--no-restore", "--disable-build-servers", "-c", configuration, "-o", feed);

        string package = Assert.Single(Directory.GetFiles(feed, "MetaGrad.*.nupkg"));
        string version;
        using (var zip = ZipFile.OpenRead(package))
        {
            var files = zip.Entries.Select(e => e.FullName).ToList();
            Assert.Contains("README.md", files);
            Assert.Contains("lib/net10.0/MetaGrad.dll", files);
            Assert.Contains("lib/net10.0/MetaGrad.xml", files);
            var nuspec = Read(zip, "MetaGrad.nuspec");
            XNamespace ns = nuspec.Root!.Name.Namespace;
            var metadata = nuspec.Root.Element(ns + "metadata")!;
            version = metadata.Element(ns + "version")!.Value;
            Assert.Equal("README.md", metadata.Element(ns + "readme")?.Value);
            var repository = metadata.Element(ns + "repository")!;
            Assert.Equal("git", repository.Attribute("type")?.Value);
            string git = Path.Combine(RepositoryRoot(), ".git");   // the commit is known only in a git checkout
            if (Directory.Exists(git) || File.Exists(git)) Assert.Matches("^[0-9a-f]{40}$", repository.Attribute("commit")?.Value ?? "");
            // XML documentation for the public surface: a type, a method, an enum member.
            var docs = Read(zip, "lib/net10.0/MetaGrad.xml").Descendants("member").Select(m => m.Attribute("name")!.Value).ToHashSet();
            Assert.Contains("T:MetaGrad.Tensor", docs);
            Assert.Contains("M:MetaGrad.Tensor.Matmul(MetaGrad.Tensor)", docs);
            Assert.Contains("F:MetaGrad.NN.FanMode.FanIn", docs);
        }
        Assert.Equal($"MetaGrad.{version}.nupkg", Path.GetFileName(package));
        using (var symbols = ZipFile.OpenRead(Path.ChangeExtension(package, ".snupkg")))
            Assert.Contains("lib/net10.0/MetaGrad.pdb", symbols.Entries.Select(e => e.FullName));

        string project = Directory.CreateDirectory(work.File("consumer")).FullName;
        File.WriteAllText(Path.Combine(project, "Consumer.csproj"), $"""
            <Project Sdk="Microsoft.NET.Sdk">
              <PropertyGroup>
                <OutputType>Exe</OutputType>
                <TargetFramework>net10.0</TargetFramework>
                <ImplicitUsings>enable</ImplicitUsings>
                <Nullable>enable</Nullable>
              </PropertyGroup>
              <ItemGroup>
                <PackageReference Include="MetaGrad" Version="{version}" />
              </ItemGroup>
            </Project>
            """);
        // The package from the feed, its dependency (System.Numerics.Tensors) from the machine's
        // cache used as a folder feed, and an empty packages folder, so that no registry is asked
        // and no earlier MetaGrad of the same version can be picked up from the cache.
        File.WriteAllText(Path.Combine(project, "nuget.config"), $"""
            <?xml version="1.0" encoding="utf-8"?>
            <configuration>
              <config><add key="globalPackagesFolder" value="{work.File("packages")}" /></config>
              <packageSources>
                <clear />
                <add key="local" value="{feed}" />
                <add key="cache" value="{MachinePackageCache()}" />
              </packageSources>
            </configuration>
            """);
        File.WriteAllText(Path.Combine(project, "Program.cs"), """
            using MetaGrad;
            using MetaGrad.NN;
            using MetaGrad.Optim;

            // y = 3x1 - 2x2 + 1 from 64 points; one Linear layer held in a private field.
            var x = Tensor.Rand([64, 2], generator: new Generator(5)) * 2.0 - 1.0;
            var y = x.Matmul(Tensor.From(new float[,] { { 3f }, { -2f } })) + 1.0;
            var model = new Fit();
            var optimizer = new SGD(model.Parameters(), lr: 0.5);
            float first = 0, last = 0;
            for (int step = 0; step < 200; step++)
            {
                var loss = Losses.MseLoss(model.Forward(x), y);
                optimizer.ZeroGrad();
                loss.Backward();
                optimizer.Step();
                last = loss.Item<float>();
                if (step == 0) first = last;
            }
            var w = model.NamedParameters().ToDictionary(p => p.Name, p => p.Parameter.Detach().Reshape(-1).ToArray<float>());
            Console.WriteLine(string.Join(" ", w.Keys));
            Console.WriteLine(FormattableString.Invariant($"loss {first:R} {last:R}"));
            Console.WriteLine(FormattableString.Invariant($"w = {w["layer.weight"][0]:F3} {w["layer.weight"][1]:F3}, b = {w["layer.bias"][0]:F3}"));

            sealed class Fit : Module<Tensor, Tensor>
            {
                readonly Linear _layer = new(2, 1, generator: new Generator(0));
                public override Tensor Forward(Tensor input) => _layer.Forward(input);
            }
            """);

        // No build servers: nothing of this test outlives it.
        string output = Run(project, "run", "--disable-build-servers", "-c", "Release");
        var lines = output.Split('\n', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        Assert.Contains("layer.weight layer.bias", lines);
        var losses = lines.Single(l => l.StartsWith("loss ")).Split(' ')[1..].Select(v => double.Parse(v, System.Globalization.CultureInfo.InvariantCulture)).ToArray();
        Assert.True(losses[0] > 0.5 && losses[1] < 1e-8, $"the loss went from {losses[0]} to {losses[1]}");
        Assert.Contains("w = 3.000 -2.000, b = 1.000", lines);
    }

    static XDocument Read(ZipArchive zip, string name)
    {
        using var stream = zip.GetEntry(name)!.Open();
        return XDocument.Load(stream);
    }

    static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "MetaGrad.sln"))) return dir.FullName;
        throw new DirectoryNotFoundException($"no MetaGrad.sln above {AppContext.BaseDirectory}");
    }

    static string MachinePackageCache() =>
        Environment.GetEnvironmentVariable("NUGET_PACKAGES") is { Length: > 0 } cache ? cache
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");

    static string Run(string directory, params string[] arguments)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = directory, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
        };
        foreach (var a in arguments) start.ArgumentList.Add(a);
        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        start.Environment["DOTNET_NOLOGO"] = "1";
        start.Environment.Remove("NUGET_PACKAGES");   // the packages folder comes from the project's nuget.config
        using var process = Process.Start(start)!;
        var error = process.StandardError.ReadToEndAsync();
        string output = process.StandardOutput.ReadToEnd();
        if (!process.WaitForExit(TimeSpan.FromMinutes(5)))
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail($"dotnet {string.Join(' ', arguments)} did not finish within 5 minutes");
        }
        Assert.True(process.ExitCode == 0, $"dotnet {string.Join(' ', arguments)} exited with {process.ExitCode}:\n{output}\n{error.Result}");
        return output;
    }
}
