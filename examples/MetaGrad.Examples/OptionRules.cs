using System.CommandLine;

namespace MetaGrad.Examples;

/// <summary>
/// Range checks for the examples' options. A value that does not parse (<c>--epochs abc</c>,
/// <c>--batch-size 1.5</c>, <c>--epochs 99999999999</c>) is left to the parser's own one-line error:
/// System.CommandLine runs validators even then, and reading the value there throws
/// (dotnet/command-line-api#2645), which ended the program with a stack trace.
/// </summary>
internal static class OptionRules
{
    /// <summary>Adds an error to <paramref name="option"/> when its parsed value fails <paramref name="ok"/>.</summary>
    public static void Require<T>(Option<T> option, Func<T, bool> ok, string error) =>
        option.Validators.Add(result =>
        {
            T value;
            try { value = result.GetValueOrDefault<T>(); }
            catch (InvalidOperationException) { return; }   // did not parse: the parser reports it
            if (!ok(value)) result.AddError(error);
        });

    /// <summary>Each option must be above zero.</summary>
    public static void Positive(params Option<int>[] options)
    {
        foreach (var option in options) Require(option, v => v > 0, $"{option.Name} must be positive");
    }

    /// <summary>Each option must be above zero.</summary>
    public static void Positive(params Option<double>[] options)
    {
        foreach (var option in options) Require(option, v => v > 0, $"{option.Name} must be positive");
    }
}
