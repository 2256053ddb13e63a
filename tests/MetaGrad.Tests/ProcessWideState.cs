namespace MetaGrad.Tests;

/// <summary>
/// Tests that set or read process-wide state run alone, after the parallel ones: the default
/// generator's exact sequence (any other test may draw from <see cref="Generator.Default"/> between a
/// ManualSeed and the draws after it) and the thread count (<see cref="ThreadScope"/>: two scopes
/// open at once on different test threads would run each other's code on the wrong count, and
/// could restore each other's values).
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ProcessWideState
{
    public const string Name = "Process-wide state";
}
