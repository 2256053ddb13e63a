namespace MetaGrad;

public static partial class Autograd
{
    /// <summary>
    /// Computes and returns the gradients of <paramref name="outputs"/> with respect to
    /// <paramref name="inputs"/> without touching any .Grad (torch.autograd.grad).
    /// </summary>
    /// <param name="outputs">Tensors to differentiate.</param>
    /// <param name="inputs">Tensors to differentiate with respect to (leaves or not).</param>
    /// <param name="gradOutputs">The vector in the vector-Jacobian product; may be null for scalar outputs.</param>
    /// <param name="retainGraph">Keep saved tensors for another backward; defaults to <paramref name="createGraph"/>.</param>
    /// <param name="createGraph">Record the backward itself, so the results can be differentiated again.</param>
    /// <param name="allowUnused">Return null for inputs the outputs do not depend on, instead of throwing.</param>
    public static Tensor?[] Grad(Tensor[] outputs, Tensor[] inputs, Tensor[]? gradOutputs = null,
        bool? retainGraph = null, bool createGraph = false, bool allowUnused = false)
    {
        var capture = new Engine.Capture { Grads = new Tensor?[inputs.Length] };
        for (int i = 0; i < inputs.Length; i++)
        {
            if (!inputs[i].RequiresGrad)
                throw new ArgumentException($"Autograd.Grad: input {i} does not require grad");
            capture.Add(inputs[i], i);
        }
        Engine.Run(outputs, RootGrads("Autograd.Grad", outputs, gradOutputs), retainGraph ?? createGraph, createGraph, capture);
        for (int i = 0; i < inputs.Length; i++)
            if (capture.Grads[i] is null && !allowUnused)
                throw new InvalidOperationException($"Autograd.Grad: input {i} appears to not have been used in the graph; pass allowUnused: true if this is intended");
        return capture.Grads;
    }

    /// <summary>Single-output, single-input form of <see cref="Grad(Tensor[], Tensor[], Tensor[], bool?, bool, bool)"/>.</summary>
    public static Tensor Grad(Tensor output, Tensor input, Tensor? gradOutput = null, bool? retainGraph = null, bool createGraph = false) =>
        Grad([output], [input], gradOutput is null ? null : [gradOutput], retainGraph, createGraph)[0]!;

    internal static Tensor[] RootGrads(string op, Tensor[] outputs, Tensor[]? grads)
    {
        var result = new Tensor[outputs.Length];
        for (int i = 0; i < outputs.Length; i++)
        {
            var y = outputs[i];
            if (!y.RequiresGrad)
                throw new InvalidOperationException($"{op}: element {i} of tensors does not require grad and does not have a grad_fn");
            var g = grads?[i];
            if (g is null)
            {
                if (y.Numel != 1)
                    throw new InvalidOperationException($"{op}: grad can be implicitly created only for scalar outputs, but the output has shape {ShapeMath.Format(y.Layout.Shape)}; pass a gradient of that shape");
                g = Tensor.OnesLike(y);
            }
            else if (!g.Layout.Shape.SequenceEqual(y.Layout.Shape))
                throw new ArgumentException($"{op}: the gradient has shape {ShapeMath.Format(g.Layout.Shape)} but the output has shape {ShapeMath.Format(y.Layout.Shape)}");
            result[i] = g.DType == y.DType ? g : g.To(y.DType);
        }
        return result;
    }
}
