using System.Diagnostics;
using System.Globalization;
using System.Text;

namespace MetaGrad;

public static partial class Autograd
{
    /// <summary>
    /// The backward graph that ends at <paramref name="output"/>, in Graphviz's DOT language (as
    /// torchviz's make_dot draws it): the output tensor, a box per backward function with its name
    /// and the shapes it saved, and the leaves that receive gradients, named from
    /// <paramref name="names"/> (a module's <c>NamedParameters()</c>) where given. Edges point the
    /// way gradients flow, from the output towards the leaves. Nodes are numbered in the order a
    /// breadth-first walk from the output meets them, so a graph always prints the same text.
    /// </summary>
    public static string ToDot(Tensor output, IEnumerable<(string Name, NN.Parameter Parameter)>? names = null, bool showSaved = true)
    {
        var nameOf = new Dictionary<object, string>(ReferenceEqualityComparer.Instance);
        foreach (var (name, parameter) in names ?? []) nameOf[parameter] = name;
        var ids = new Dictionary<object, string>(ReferenceEqualityComparer.Instance);
        var text = new StringBuilder();
        text.Append("digraph backward {\n");
        text.Append("  node [shape=box, style=\"filled,rounded\", fontname=\"Helvetica\", fontsize=10];\n");

        string Id(object node) => ids.TryGetValue(node, out var id) ? id : ids[node] = "n" + ids.Count.ToString(CultureInfo.InvariantCulture);
        void Node(string id, string label, string colour) =>
            text.Append($"  {id} [label=\"{Escape(label)}\", fillcolor=\"{colour}\"];\n");
        string Describe(Tensor t) => $"{ShapeMath.Format(t.Layout.Shape)} {t.DType}";

        string root = Id(output);
        Node(root, $"{(nameOf.TryGetValue(output, out var outName) ? outName : "output")}\n{Describe(output)}", "#a6d96a");
        if (output.GradFn is null)
        {
            text.Append("}\n");
            return text.ToString();
        }
        var queue = new Queue<Function>();
        var seen = new HashSet<object>(ReferenceEqualityComparer.Instance) { output.GradFn };
        text.Append($"  {root} -> {Id(output.GradFn)};\n");
        queue.Enqueue(output.GradFn);
        while (queue.Count > 0)
        {
            var fn = queue.Dequeue();
            string id = Id(fn);
            var label = fn.Name;
            if (showSaved && fn.SavedForDrawing.Count > 0)
                label += "\nsaved " + string.Join(", ", fn.SavedForDrawing.Select(s => ShapeMath.Format(s.Layout.Shape)));
            Node(id, label, "#d9d9d9");
            foreach (var edge in fn.Edges)
            {
                object? next = edge.Node is { } node ? node : edge.Leaf;
                if (next is null) continue;
                text.Append($"  {id} -> {Id(next)};\n");
                if (!seen.Add(next)) continue;
                if (edge.Node is { } function) queue.Enqueue(function);
                else
                {
                    var leaf = edge.Leaf!;
                    Node(Id(leaf), $"{(nameOf.TryGetValue(leaf, out var leafName) ? leafName : "leaf")}\n{Describe(leaf)}", "#abd9e9");
                }
            }
        }
        text.Append("}\n");
        return text.ToString();
    }

    /// <summary>
    /// Renders DOT text to an image with Graphviz's <c>dot</c> (Debian's <c>graphviz</c> package),
    /// the format from the file's extension (<c>.svg</c>, <c>.png</c>, <c>.pdf</c>).
    /// </summary>
    /// <exception cref="InvalidOperationException">When <c>dot</c> is not installed or fails.</exception>
    public static void RenderDot(string dot, string path)
    {
        var format = Path.GetExtension(path).TrimStart('.').ToLowerInvariant();
        if (format.Length == 0) throw new ArgumentException($"RenderDot: give the image file an extension (.svg, .png, .pdf), got \"{path}\"");
        Process process;
        try
        {
            process = Process.Start(new ProcessStartInfo("dot", ["-T" + format, "-o", path])
            {
                RedirectStandardInput = true, RedirectStandardError = true, UseShellExecute = false,
            })!;
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new InvalidOperationException("RenderDot: Graphviz's `dot` was not found on the PATH; install it (Debian: apt-get install graphviz) or paste the DOT text into any Graphviz viewer", e);
        }
        using (process)
        {
            process.StandardInput.Write(dot);
            process.StandardInput.Close();
            var errors = process.StandardError.ReadToEnd();
            process.WaitForExit();
            if (process.ExitCode != 0) throw new InvalidOperationException($"RenderDot: dot failed (exit code {process.ExitCode}): {errors.Trim()}");
        }
    }

    static string Escape(string label) => label.Replace("\\", "\\\\").Replace("\"", "\\\"").Replace("\n", "\\n");
}
