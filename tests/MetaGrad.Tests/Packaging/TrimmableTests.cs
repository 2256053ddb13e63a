using System.Reflection;

namespace MetaGrad.Tests.Packaging;

/// <summary>
/// The library declares itself trimmable (IsAotCompatible in MetaGrad.csproj), so a trimmed or
/// NativeAOT application trims it rather than keeping it whole. That the declaration is true is
/// checked at build time: TrimAnalysis.globalconfig turns every trim or AOT analyzer warning into
/// an error.
/// </summary>
public class TrimmableTests
{
    [Fact]
    public void Library_IsMarkedTrimmable()
    {
        var metadata = typeof(Tensor).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().ToDictionary(m => m.Key, m => m.Value);
        Assert.Equal("True", metadata.GetValueOrDefault("IsTrimmable"));
    }
}
