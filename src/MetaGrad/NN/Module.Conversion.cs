namespace MetaGrad.NN;

public abstract partial class Module
{
    /// <summary>
    /// Casts every floating parameter, gradient and buffer here and below to <paramref name="dtype"/>
    /// in place (PyTorch's <c>module.to(dtype)</c>): the parameter objects stay the same, so code
    /// holding them keeps working; integer buffers (num_batches_tracked) keep their dtype. Build
    /// the optimizer after converting, as in PyTorch: state it already made keeps the old dtype.
    /// </summary>
    internal void ConvertFloating(DType dtype)
    {
        if (!dtype.IsFloatingPoint())
            throw new ArgumentException($"Module.To: a module's dtype must be floating, got {dtype} (integer parameters could not hold gradients)");
        using (Autograd.NoGrad())
            foreach (var t in Parameters().Concat<Tensor>(Buffers()))
            {
                // A tensor met twice (a shared buffer) already has the dtype the second time.
                if (!t.DType.IsFloatingPoint() || t.DType == dtype) continue;
                t.ReplaceData(t.To(dtype));
                if (t.Grad is { } grad) t.Grad = grad.To(dtype);
            }
        // A weight a reparametrization computed for the last call has the old dtype; the next call recomputes it.
        foreach (var m in Modules()) m._computed = null;
    }
}

/// <summary>Dtype conversion of whole modules, typed so that <c>new Net().Double()</c> is still a Net.</summary>
public static class ModuleConversions
{
    /// <summary>The module with its floating parameters and buffers cast to <paramref name="dtype"/> in place (PyTorch's <c>module.to(dtype)</c>).</summary>
    public static T To<T>(this T module, DType dtype) where T : Module
    {
        ArgumentNullException.ThrowIfNull(module);
        module.ConvertFloating(dtype);
        return module;
    }

    /// <summary>Floating parameters and buffers to Float64 (PyTorch's <c>module.double()</c>).</summary>
    public static T Double<T>(this T module) where T : Module => module.To(DType.Float64);

    /// <summary>Floating parameters and buffers to Float32 (PyTorch's <c>module.float()</c>).</summary>
    public static T Float<T>(this T module) where T : Module => module.To(DType.Float32);

    /// <summary>
    /// Floating parameters and buffers to Float16 (PyTorch's <c>module.half()</c>). Layers built from
    /// elementwise operations and matmul (Linear, LayerNorm, activations) then compute in float and
    /// round each result to half; fused layers (convolution, batch norm, recurrent, attention) refuse Float16.
    /// </summary>
    public static T Half<T>(this T module) where T : Module => module.To(DType.Float16);

    /// <summary>Floating parameters and buffers to BFloat16 (PyTorch's <c>module.bfloat16()</c>); computes as <see cref="Half{T}"/> does.</summary>
    public static T BFloat16<T>(this T module) where T : Module => module.To(DType.BFloat16);
}
