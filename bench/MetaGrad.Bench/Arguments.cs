namespace MetaGrad.Bench;

/// <summary>The benchmark's command line, checked before anything runs.</summary>
static class Arguments
{
    static readonly string[] Flags = ["--quick", "--memory", "--avx2"];
    static readonly string[] WithValue = ["--out", "--only", "--warmup-ms"];

    /// <summary>What is wrong with the arguments (an unknown option, a missing value), or null.</summary>
    public static string? Problem(string[] args)
    {
        for (int i = 0; i < args.Length; i++)
        {
            string a = args[i];
            if (Flags.Contains(a)) continue;
            int values = WithValue.Contains(a) ? 1 : a == "--memory-child" ? 3 : -1;
            if (values < 0) return $"unknown argument '{a}'";
            if (i + values >= args.Length) return $"{a} needs {(values == 1 ? "a value" : $"{values} values")}";
            i += values;
        }
        return null;
    }
}
