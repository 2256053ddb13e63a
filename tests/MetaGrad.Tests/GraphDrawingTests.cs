using MetaGrad.NN;

namespace MetaGrad.Tests;

/// <summary>Autograd.ToDot: the backward graph as Graphviz text, compared with graphs drawn by hand.</summary>
public class GraphDrawingTests
{
    const string Header = "digraph backward {\n  node [shape=box, style=\"filled,rounded\", fontname=\"Helvetica\", fontsize=10];\n";

    [Fact]
    public void ALayer_NamesItsParameters_AndShowsWhatEachNodeSaved()
    {
        var fc = new Linear(3, 2, generator: new Generator(1));
        var y = fc.Forward(Tensor.Randn(4, 3)).Relu().Sum();
        Assert.Equal(Header +
            "  n0 [label=\"output\\n[] Float32\", fillcolor=\"#a6d96a\"];\n" +
            "  n0 -> n1;\n" +
            "  n1 [label=\"SumBackward\", fillcolor=\"#d9d9d9\"];\n" +
            "  n1 -> n2;\n" +
            "  n2 [label=\"ReluBackward\\nsaved [4, 2]\", fillcolor=\"#d9d9d9\"];\n" +
            "  n2 -> n3;\n" +
            "  n3 [label=\"LinearBackward\\nsaved [4, 3], [2, 3]\", fillcolor=\"#d9d9d9\"];\n" +
            "  n3 -> n4;\n" +
            "  n4 [label=\"weight\\n[2, 3] Float32\", fillcolor=\"#abd9e9\"];\n" +
            "  n3 -> n5;\n" +
            "  n5 [label=\"bias\\n[2] Float32\", fillcolor=\"#abd9e9\"];\n" +
            "}\n", Autograd.ToDot(y, fc.NamedParameters()));
    }

    [Fact]
    public void ALeafUsedTwice_IsOneNodeWithTwoEdges_AndFreedGraphsShowNothingSaved()
    {
        var x = Tensor.From(new float[] { 1, 3, 3 }, [3]).RequiresGrad_();
        var y = (x * x).Max();                       // the seed's Max, with a tie
        string drawn = Autograd.ToDot(y, showSaved: false);
        Assert.Equal(Header +
            "  n0 [label=\"output\\n[] Float32\", fillcolor=\"#a6d96a\"];\n" +
            "  n0 -> n1;\n" +
            "  n1 [label=\"MaxBackward\", fillcolor=\"#d9d9d9\"];\n" +
            "  n1 -> n2;\n" +
            "  n2 [label=\"MulBackward\", fillcolor=\"#d9d9d9\"];\n" +
            "  n2 -> n3;\n" +
            "  n3 [label=\"leaf\\n[3] Float32\", fillcolor=\"#abd9e9\"];\n" +
            "  n2 -> n3;\n" +
            "}\n", drawn);
        Assert.Contains("saved", Autograd.ToDot(y));
        y.Backward();
        Assert.DoesNotContain("saved", Autograd.ToDot(y));   // backward freed the saved tensors
        Assert.Equal(Header + "  n0 [label=\"output\\n[3] Float32\", fillcolor=\"#a6d96a\"];\n}\n", Autograd.ToDot(x));
    }

    [Fact]
    public void RenderDot_WritesTheImage_OrSaysGraphvizIsMissing()
    {
        using var folder = new TempFolder();
        string path = Path.Combine(folder.Path, "graph.svg");
        string dot = Autograd.ToDot((Tensor.Ones(2).RequiresGrad_() * 2).Sum());
        bool hasDot = (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':').Any(p => File.Exists(Path.Combine(p, "dot")));
        if (hasDot)
        {
            Autograd.RenderDot(dot, path);
            Assert.Contains("<svg", File.ReadAllText(path));
        }
        else
        {
            var e = Assert.Throws<InvalidOperationException>(() => Autograd.RenderDot(dot, path));
            Assert.Contains("graphviz", e.Message);
        }
        Assert.Contains("extension", Assert.Throws<ArgumentException>(() => Autograd.RenderDot(dot, Path.Combine(folder.Path, "graph"))).Message);
    }
}
