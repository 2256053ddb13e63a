using MetaGrad.Examples;

// The examples, runnable by name: `dotnet run --project examples/MetaGrad.Examples -- <name>`.
var examples = new Dictionary<string, Action<string[]>>
{
    ["linear-regression"] = LinearRegression.Run,
};

string name = args.Length > 0 ? args[0] : "linear-regression";
if (!examples.TryGetValue(name, out var run))
{
    Console.Error.WriteLine($"unknown example '{name}'; available: {string.Join(", ", examples.Keys)}");
    return 2;
}
run(args.Skip(1).ToArray());
return 0;
