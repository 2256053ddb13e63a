using System.Runtime.CompilerServices;

namespace MetaGrad.NN.Utils;

/// <summary>
/// Weight normalisation (torch.nn.utils.weight_norm, Salimans and Kingma 2016): a weight becomes
/// w = g · v / ‖v‖, the norm taken over every dimension but <c>dim</c>, so its direction (v) and
/// its length (g) are learned apart. The module's <c>weight</c> gives way to the parameters
/// <c>weight_g</c> and <c>weight_v</c> (PyTorch's names, so its state dicts load), and a forward
/// pre-hook computes w before every call.
/// </summary>
public static class WeightNorm
{
    /// <summary>
    /// Reparametrizes <paramref name="name"/> of <paramref name="module"/>. <paramref name="dim"/>
    /// is the dimension that keeps its own norm (0: one per output unit); null, or -1 as in
    /// PyTorch, normalises the whole tensor with one g.
    /// </summary>
    public static T Apply<T>(T module, string name = "weight", int? dim = 0) where T : Module
    {
        ArgumentNullException.ThrowIfNull(module);
        var applied = Reparametrizations.Of(module);
        if (applied.ContainsKey(name))
            throw new InvalidOperationException($"WeightNorm: {module.GetType().Name}.{name} is already reparametrized ({applied[name].Kind}); cannot register two hooks on one parameter");
        var weight = module.ReparametrizableParameter("WeightNorm", name);
        int? d = dim is null or -1 ? null : dim < 0 ? dim + weight.NDim : dim;
        if (d is int k && (k < 0 || k >= weight.NDim))
            throw new ArgumentException($"WeightNorm: dim {dim} is out of range for {name} of shape {weight.Shape}");

        Parameter g, v;
        using (Autograd.NoGrad())
        {
            g = new Parameter(NormExceptDim(weight, d).Clone());
            v = new Parameter(weight.Detach().Clone());
        }
        module.RegisterParameter(name, null);
        module.RegisterParameter(name + "_g", g);
        module.RegisterParameter(name + "_v", v);
        Tensor Compute() => v * (g / NormExceptDim(v, d));
        module.SetComputed(weight, Compute());
        var hook = module.RegisterForwardPreHook((m, _) => { m.SetComputed(weight, Compute()); return null; });
        applied[name] = new Reparametrization("WeightNorm", weight, hook, [name + "_g", name + "_v"], Compute);
        return module;
    }

    /// <summary>Undoes <see cref="Apply"/>: the module's <c>weight</c> is again a parameter, holding the last g · v / ‖v‖.</summary>
    public static T Remove<T>(T module, string name = "weight") where T : Module => Reparametrizations.Remove(module, name, "WeightNorm");

    /// <summary>‖x‖₂ over every dimension but <paramref name="dim"/> (kept, others of size 1), or over all of x (0-d) without one.</summary>
    static Tensor NormExceptDim(Tensor x, int? dim) => dim is int d
        ? x.Norm(2, [.. Enumerable.Range(0, x.NDim).Where(i => i != d)], keepDim: true)
        : x.Norm(2);
}

/// <summary>
/// Spectral normalisation (torch.nn.utils.spectral_norm, Miyato et al. 2018): a weight is divided
/// by its largest singular value σ, estimated by power iteration on vectors u and v kept as
/// buffers (<c>weight_u</c>, <c>weight_v</c>) and refined by <c>nPowerIterations</c> steps at
/// every call in training mode (none in evaluation). The learned parameter is <c>weight_orig</c>.
/// </summary>
public static class SpectralNorm
{
    /// <summary>
    /// Reparametrizes <paramref name="name"/> of <paramref name="module"/>; <paramref name="dim"/>
    /// is the output dimension (default 0, 1 for transposed convolutions, as PyTorch), the weight
    /// seen as a matrix of that dimension's rows. u and v start as normalised standard normal draws.
    /// </summary>
    public static T Apply<T>(T module, string name = "weight", int nPowerIterations = 1, double eps = 1e-12, int? dim = null,
        Generator? generator = null) where T : Module
    {
        ArgumentNullException.ThrowIfNull(module);
        if (nPowerIterations < 0)
            throw new ArgumentException($"SpectralNorm: expected nPowerIterations to be non-negative, got {nPowerIterations}");
        var applied = Reparametrizations.Of(module);
        if (applied.ContainsKey(name))
            throw new InvalidOperationException($"SpectralNorm: {module.GetType().Name}.{name} is already reparametrized ({applied[name].Kind}); cannot register two hooks on one parameter");
        var weight = module.ReparametrizableParameter("SpectralNorm", name);
        int d = dim ?? (module is ConvModule { IsTransposed: true } ? 1 : 0);
        if (d < 0) d += weight.NDim;
        if (d < 0 || d >= weight.NDim)
            throw new ArgumentException($"SpectralNorm: dim {dim} is out of range for {name} of shape {weight.Shape}");

        Tensor AsMatrix(Tensor w)
        {
            if (d != 0) w = w.Permute([d, .. Enumerable.Range(0, w.NDim).Where(i => i != d)]);
            return w.Reshape(w.Shape[0], -1);
        }
        Tensor u, v;
        using (Autograd.NoGrad())
        {
            var matrix = AsMatrix(weight);
            u = Functional.Normalize(Tensor.Randn([matrix.Shape[0]], weight.DType, generator: generator), dim: 0, eps: eps);
            v = Functional.Normalize(Tensor.Randn([matrix.Shape[1]], weight.DType, generator: generator), dim: 0, eps: eps);
        }
        module.RegisterParameter(name, null);
        module.RegisterParameter(name + "_orig", weight);
        module.RegisterBuffer(name + "_u", u);
        module.RegisterBuffer(name + "_v", v);

        Tensor Compute(bool powerIterate)
        {
            var matrix = AsMatrix(weight);
            Tensor uNow = u, vNow = v;
            if (powerIterate && nPowerIterations > 0)
            {
                using (Autograd.NoGrad())
                {
                    for (int i = 0; i < nPowerIterations; i++)
                    {
                        v.Copy_(Functional.Normalize(matrix.T.Mv(u), dim: 0, eps: eps));
                        u.Copy_(Functional.Normalize(matrix.Mv(v), dim: 0, eps: eps));
                    }
                }
                // Copies: backward must see these u and v, not the buffers the next call overwrites.
                (uNow, vNow) = (u.Clone(), v.Clone());
            }
            var sigma = uNow.Dot(matrix.Mv(vNow));
            return weight / sigma;
        }
        // As PyTorch, the module's weight is the raw one until the first call computes it.
        var hook = module.RegisterForwardPreHook((m, _) => { m.SetComputed(weight, Compute(m.Training)); return null; });
        applied[name] = new Reparametrization("SpectralNorm", weight, hook, [name + "_orig", name + "_u", name + "_v"], () => Compute(false));
        return module;
    }

    /// <summary>Undoes <see cref="Apply"/>: <c>weight</c> is again a plain parameter holding weight_orig / σ for the current u and v.</summary>
    public static T Remove<T>(T module, string name = "weight") where T : Module => Reparametrizations.Remove(module, name, "SpectralNorm");
}

/// <summary>A weight's reparametrization on a module: the hook computing it, the names it registered, and its value now.</summary>
internal sealed record Reparametrization(string Kind, Parameter Original, HookHandle Hook, string[] Registered, Func<Tensor> Current);

internal static class Reparametrizations
{
    static readonly ConditionalWeakTable<Module, Dictionary<string, Reparametrization>> s_applied = new();

    public static Dictionary<string, Reparametrization> Of(Module module) => s_applied.GetOrCreateValue(module);

    public static T Remove<T>(T module, string name, string kind) where T : Module
    {
        ArgumentNullException.ThrowIfNull(module);
        var applied = Of(module);
        if (!applied.TryGetValue(name, out var r) || r.Kind != kind)
            throw new ArgumentException($"{kind}: {name} of {module.GetType().Name} is not reparametrized by {kind}");
        r.Hook.Remove();
        // The original parameter object comes back (optimizers holding it keep working) with the
        // reparametrized value, as PyTorch's remove_* leaves the weight it computed last.
        using (Autograd.NoGrad())
        {
            var current = r.Current();
            // After Module.To the hidden original still has the old dtype: it takes the new one.
            if (current.DType != r.Original.DType) r.Original.ReplaceData(current.Clone());
            else r.Original.Copy_(current);
        }
        module.SetComputed(r.Original, null);
        foreach (var registered in r.Registered) module.Unregister(registered);
        module.Unregister(name);
        module.RegisterParameter(name, r.Original);
        applied.Remove(name);
        return module;
    }
}
