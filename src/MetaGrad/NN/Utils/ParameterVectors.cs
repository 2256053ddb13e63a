namespace MetaGrad.NN.Utils;

/// <summary>All parameters as one flat vector and back (torch.nn.utils.parameters_to_vector and vector_to_parameters).</summary>
public static class ParameterVectors
{
    /// <summary>
    /// The parameters flattened and joined in order into one vector: a differentiable copy, so a
    /// loss of the vector sends gradients to each parameter (torch.nn.utils.parameters_to_vector).
    /// </summary>
    public static Tensor ParametersToVector(IEnumerable<Tensor> parameters)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        var list = parameters.ToList();
        if (list.Count == 0) throw new ArgumentException("ParametersToVector: expected at least one parameter");
        return Tensor.Cat(list.Select(p => p.Reshape(-1)).ToArray(), 0);
    }

    /// <summary>
    /// Copies consecutive slices of a vector into the parameters, each reshaped to its parameter
    /// (torch.nn.utils.vector_to_parameters). PyTorch rebinds each parameter's data to a view of the
    /// vector; here the values are copied in place (without recording a graph), so optimizers
    /// holding the parameters keep them. Entries past the parameters' total are ignored, as in PyTorch.
    /// </summary>
    public static void VectorToParameters(Tensor vector, IEnumerable<Tensor> parameters)
    {
        ArgumentNullException.ThrowIfNull(vector);
        ArgumentNullException.ThrowIfNull(parameters);
        if (vector.NDim != 1) throw new ArgumentException($"VectorToParameters: expected a 1-d vector, got shape {ShapeMath.Format(vector.Shape.ToArray())}");
        var list = parameters.ToList();
        long total = list.Sum(p => (long)p.Numel);
        if (total > vector.Shape[0])
            throw new ArgumentException($"VectorToParameters: the parameters hold {total} values but the vector has only {vector.Shape[0]}");
        int offset = 0;
        using (Autograd.NoGrad())
            foreach (var p in list)
            {
                p.Copy_(vector.Narrow(0, offset, p.Numel).Reshape(p.Shape.ToArray()));
                offset += p.Numel;
            }
    }
}
