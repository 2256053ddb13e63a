using System.Globalization;
using System.Text;

namespace MetaGrad;

public partial class Tensor
{
    const int SummariseAbove = 1000, EdgeItems = 3;

    /// <summary>
    /// PyTorch's printout: <c>tensor([[1., 2.], [3., 4.]], requires_grad=True)</c>, with the same
    /// number styles (integral floats as "1.", four decimals, or scientific for wide ranges), a
    /// dtype suffix for non-default dtypes, and "..." summaries beyond 1000 elements.
    /// </summary>
    public override string ToString()
    {
        var values = ToArray<double>();
        var format = NumberFormat(values);
        var cells = values.Select(format).ToArray();
        int width = cells.Length == 0 ? 0 : cells.Max(c => c.Length);
        var sb = new StringBuilder("tensor(");
        bool summarise = Numel > SummariseAbove;
        if (Numel == 0) sb.Append(NDim == 1 ? "[]" : "[]");
        else Append(sb, cells, width, 0, 0, Layout.ContiguousStrides(Layout.Shape), "tensor(".Length, summarise);
        var suffix = new List<string>();
        if (Numel == 0 && NDim > 1) suffix.Add($"size=({string.Join(", ", Layout.Shape)})");
        bool defaultDType = DType is DType.Float32 or DType.Int64 or DType.Bool;
        if (!defaultDType) suffix.Add("dtype=" + DType.TorchName());
        if (GradFn is not null) suffix.Add($"grad_fn=<{GradFn.Name}>");
        else if (RequiresGrad) suffix.Add("requires_grad=True");
        foreach (var s in suffix) sb.Append(", ").Append(s);
        return sb.Append(')').ToString();
    }

    void Append(StringBuilder sb, string[] cells, int width, int dim, int offset, int[] strides, int indent, bool summarise)
    {
        if (NDim == 0)
        {
            sb.Append(cells[0]);
            return;
        }
        int size = Layout.Shape[dim];
        sb.Append('[');
        bool cut = summarise && size > 2 * EdgeItems;
        for (int i = 0; i < size; i++)
        {
            if (cut && i == EdgeItems)
            {
                sb.Append(dim == NDim - 1 ? " ..." : "...");   // PyTorch pads the 1-D ellipsis by one space
                i = size - EdgeItems;
                sb.Append(dim == NDim - 1 ? ", " : "," + new string('\n', NDim - 1 - dim) + new string(' ', indent + dim + 1));
            }
            if (dim == NDim - 1) sb.Append(cells[offset + i * strides[dim]].PadLeft(width));
            else Append(sb, cells, width, dim + 1, offset + i * strides[dim], strides, indent, summarise);
            if (i < size - 1)
                sb.Append(dim == NDim - 1 ? ", " : "," + new string('\n', NDim - 1 - dim) + new string(' ', indent + dim + 1));
        }
        sb.Append(']');
    }

    Func<double, string> NumberFormat(double[] values)
    {
        var inv = CultureInfo.InvariantCulture;
        if (DType == DType.Bool) return v => v != 0 ? "True" : "False";
        if (!DType.IsFloatingPoint()) return v => ((long)v).ToString(inv);
        var finite = values.Where(double.IsFinite).Select(Math.Abs).Where(v => v != 0).ToArray();
        static string Special(double v) => double.IsNaN(v) ? "nan" : v > 0 ? "inf" : "-inf";
        if (finite.Length == 0 || values.Where(double.IsFinite).All(v => v == Math.Floor(v)))
        {
            if (finite.Length > 0 && finite.Max() >= 1e8)
                return v => double.IsFinite(v) ? v.ToString("0.0000e+00", inv) : Special(v);
            return v => double.IsFinite(v) ? ((long)v).ToString(inv) + "." : Special(v);
        }
        double max = finite.Max(), min = finite.Min();
        if (max / min > 1000 || max > 1e8 || min < 1e-4)
            return v => double.IsFinite(v) ? v.ToString("0.0000e+00", inv) : Special(v);
        return v => double.IsFinite(v) ? v.ToString("0.0000", inv) : Special(v);
    }
}
