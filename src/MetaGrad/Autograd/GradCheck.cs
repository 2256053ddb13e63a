using System.Text;

namespace MetaGrad;

/// <summary>Thrown when analytical and numerical gradients disagree; the message shows both.</summary>
public sealed class GradCheckException(string message) : Exception(message);

public static partial class Autograd
{
    /// <summary>
    /// Compares the gradients autograd computes for <paramref name="f"/> with central finite
    /// differences, element by element of the full Jacobian (torch.autograd.gradcheck). Inputs
    /// should be Float64 with RequiresGrad set; the function receives them as given, so
    /// non-contiguous inputs are checked as they are. Returns true or throws a
    /// <see cref="GradCheckException"/> naming the input, the element and both values.
    /// </summary>
    public static bool GradCheck(Func<Tensor[], Tensor> f, Tensor[] inputs, double eps = 1e-6, double atol = 1e-5, double rtol = 1e-3)
    {
        foreach (var x in inputs.Where(x => x.RequiresGrad))
            if (x.DType != DType.Float64)
                throw new ArgumentException($"GradCheck: inputs that require grad should be Float64 for finite differences to be meaningful, got {x.DType}");

        var output = f(inputs);
        int outCount = output.Numel;
        var analytical = new double[inputs.Length][][];
        for (int i = 0; i < inputs.Length; i++) analytical[i] = new double[outCount][];

        // Row j of each Jacobian: the gradient of output element j.
        var wanted = inputs.Where(x => x.RequiresGrad).ToArray();
        for (int j = 0; j < outCount; j++)
        {
            var onehot = new double[outCount];
            onehot[j] = 1;
            var grads = output.RequiresGrad
                ? Grad([output], wanted, [Tensor.From(onehot, output.Shape.ToArray()).To(output.DType)], retainGraph: true, allowUnused: true)
                : new Tensor?[wanted.Length];
            int w = 0;
            for (int i = 0; i < inputs.Length; i++)
            {
                if (!inputs[i].RequiresGrad) continue;
                analytical[i][j] = grads[w++]?.ToArray<double>() ?? new double[inputs[i].Numel];
            }
        }

        for (int i = 0; i < inputs.Length; i++)
        {
            var x = inputs[i];
            if (!x.RequiresGrad) continue;
            for (int k = 0; k < x.Numel; k++)
            {
                var plus = Evaluate(f, inputs, i, k, eps);
                var minus = Evaluate(f, inputs, i, k, -eps);
                for (int j = 0; j < outCount; j++)
                {
                    double numerical = (plus[j] - minus[j]) / (2 * eps);
                    double a = analytical[i][j][k];
                    if (!(Math.Abs(a - numerical) <= atol + rtol * Math.Abs(numerical)))
                    {
                        var sb = new StringBuilder();
                        sb.Append($"GradCheck: Jacobian mismatch for output element {j} with respect to input {i} (shape {ShapeMath.Format(x.Layout.Shape)}), element {k}: ");
                        sb.Append($"numerical {numerical:R}, analytical {a:R}");
                        throw new GradCheckException(sb.ToString());
                    }
                }
            }
        }
        return true;
    }

    // f with element k (row-major) of input i moved by delta; the other inputs are passed unchanged.
    // Grad mode stays on and the moved input keeps requiring grad, so f may itself differentiate
    // (checking a gradient of a gradient).
    static double[] Evaluate(Func<Tensor[], Tensor> f, Tensor[] inputs, int i, int k, double delta)
    {
        var x = inputs[i];
        var values = x.ToArray<double>();
        values[k] += delta;
        var moved = Tensor.From(values, x.Shape.ToArray());
        // Keep the caller's layout: a transposed input stays transposed.
        var restrided = (x.IsContiguous ? moved : RestoreLayout(x, moved)).RequiresGrad_(x.RequiresGrad);
        var args = (Tensor[])inputs.Clone();
        args[i] = restrided;
        return f(args).Detach().ToArray<double>();
    }

    static Tensor RestoreLayout(Tensor like, Tensor values)
    {
        var copy = new Tensor(like.Storage.Device.Backend.Empty([like.Storage.Length], like.DType).Storage, like.Layout);
        copy.Backend.Copy(copy, values);
        return copy;
    }
}
