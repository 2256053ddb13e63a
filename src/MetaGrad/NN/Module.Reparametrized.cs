using System.Diagnostics.CodeAnalysis;

namespace MetaGrad.NN;

public abstract partial class Module
{
    // What a reparametrization (WeightNorm, SpectralNorm) computed for a parameter before this
    // call, read by the forward through Value; null while none is applied, so the read is one test.
    Dictionary<Parameter, Tensor>? _computed;

    /// <summary>
    /// The tensor a forward uses for one of this module's parameters: the parameter itself, or the
    /// weight a reparametrization computed from other parameters for this call (WeightNorm's
    /// g·v/‖v‖), which is how PyTorch's hook replaces <c>module.weight</c>.
    /// </summary>
    [return: NotNullIfNotNull(nameof(parameter))]
    protected Tensor? Value(Parameter? parameter) =>
        parameter is not null && _computed is not null && _computed.TryGetValue(parameter, out var value) ? value : parameter;

    /// <summary>Whether the forward reads its parameters through <see cref="Value(Parameter?)"/>, so a reparametrization reaches it.</summary>
    private protected virtual bool ReadsParameterValues => false;

    /// <summary>
    /// The parameter registered (or found in a field) under <paramref name="name"/>, for a
    /// reparametrization to take over; refuses modules whose forward would not see the new value.
    /// </summary>
    internal Parameter ReparametrizableParameter(string what, string name)
    {
        if (!ReadsParameterValues)
            throw new NotSupportedException($"{what}: {GetType().Name} is not supported (Linear, Bilinear, the convolutions and Embedding are)");
        foreach (var (n, p) in Own(_parameters))
            if (n == name) return p;
        throw new ArgumentException($"{what}: {GetType().Name} has no parameter named \"{name}\" (it has {string.Join(", ", Own(_parameters).Select(p => p.Name))})");
    }

    internal void SetComputed(Parameter parameter, Tensor? value)
    {
        if (value is not null) (_computed ??= new(ReferenceEqualityComparer.Instance))[parameter] = value;
        else if (_computed is not null && _computed.Remove(parameter) && _computed.Count == 0) _computed = null;
    }

    /// <summary>Forgets a registration (not only its value), so the name is free again; a field's parameter under that name shows again.</summary>
    internal void Unregister(string name)
    {
        _parameters.RemoveAll(p => p.Name == name);
        _buffers.RemoveAll(b => b.Name == name);
    }
}
