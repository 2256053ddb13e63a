namespace MetaGrad;

public partial class Tensor
{
    /// <summary>
    /// The lower triangle of the last two dims: elements with column − row ≤ <paramref name="diagonal"/>
    /// kept, the rest zero (torch.tril); its gradient is the same triangle of the incoming one.
    /// </summary>
    public Tensor Tril(int diagonal = 0) => Triangle("Tril", diagonal, lower: true);

    /// <summary>The upper triangle of the last two dims: column − row ≥ <paramref name="diagonal"/> kept (torch.triu).</summary>
    public Tensor Triu(int diagonal = 0) => Triangle("Triu", diagonal, lower: false);

    Tensor Triangle(string op, int diagonal, bool lower)
    {
        if (NDim < 2) throw new ArgumentException($"{op}: expected a tensor of at least 2 dims, got shape {ShapeMath.Format(Layout.Shape)}");
        int rows = Layout.Shape[^2], columns = Layout.Shape[^1];
        var offset = Arange(columns) - Arange(rows).Unsqueeze(1);     // column − row, [rows, columns]
        var keep = lower ? offset <= (double)diagonal : offset >= (double)diagonal;
        return Where(keep, this, Scalar(0, DType));
    }
}
