namespace MetaGrad;

public static partial class Autograd
{
    /// <summary>
    /// Derivatives of functions rather than of tensors already computed (torch.autograd.functional):
    /// each call runs the function on its own copy of the input, with gradients enabled, and
    /// differentiates that. Jacobians and Hessians are built row by row in reverse mode (one
    /// backward per output element); a Jacobian-vector product uses the double-backward trick (the
    /// vector-Jacobian product is linear in its vector, so differentiating it by that vector gives
    /// J·v). Results are detached unless <c>createGraph</c> is set, in which case they differentiate
    /// again (and through the input, when it requires grad).
    /// </summary>
    public static class Functional
    {
        /// <summary>torch.autograd.functional.jacobian: ∂f(x)[i..]/∂x[j..], of shape f(x).shape + x.shape.</summary>
        public static Tensor Jacobian(Func<Tensor, Tensor> function, Tensor input, bool createGraph = false)
        {
            var x = Prepared(input, createGraph);
            var y = Run(function, x);
            var flat = y.Reshape(-1);
            var rows = new Tensor[flat.Numel];
            for (int i = 0; i < rows.Length; i++)
                rows[i] = GradOrZeros(flat[i], x, null, createGraph);
            Tensor jacobian = rows.Length == 0 ? Tensor.Zeros([.. y.Shape, .. x.Shape], x.DType) : Tensor.Stack(rows).Reshape([.. y.Shape, .. x.Shape]);
            return createGraph ? jacobian : jacobian.Detach();
        }

        /// <summary>torch.autograd.functional.hessian: the second derivatives of a function with one output element, of shape x.shape + x.shape.</summary>
        public static Tensor Hessian(Func<Tensor, Tensor> function, Tensor input, bool createGraph = false) =>
            Jacobian(x => GradOrZeros(Scalar("Hessian", Run(function, x)), x, null, createGraph: true), input, createGraph);

        /// <summary>
        /// torch.autograd.functional.vjp: f(x) and vᵀ·J, the gradient of Σ v·f(x) with respect to x
        /// (<paramref name="v"/> may be omitted when f(x) has one element).
        /// </summary>
        public static (Tensor Output, Tensor Vjp) Vjp(Func<Tensor, Tensor> function, Tensor input, Tensor? v = null, bool createGraph = false)
        {
            var x = Prepared(input, createGraph);
            var y = Run(function, x);
            var vjp = GradOrZeros(v is null ? Scalar("Vjp", y) : y, x, v is null ? null : Matching("Vjp", v, y), createGraph);
            return Finished(y, vjp, createGraph);
        }

        /// <summary>
        /// torch.autograd.functional.jvp: f(x) and J·v, the directional derivative of f along
        /// <paramref name="v"/> (which may be omitted when x has one element).
        /// </summary>
        public static (Tensor Output, Tensor Jvp) Jvp(Func<Tensor, Tensor> function, Tensor input, Tensor? v = null, bool createGraph = false)
        {
            var x = Prepared(input, createGraph);
            var y = Run(function, x);
            var direction = v is null ? Tensor.OnesLike(Scalar("Jvp", x)) : Matching("Jvp", v, x);
            if (!y.RequiresGrad) return Finished(y, Tensor.ZerosLike(y), createGraph);
            // u ↦ Jᵀu is linear in u: its derivative along v, with respect to u, is J·v.
            var u = Tensor.ZerosLike(y).RequiresGrad_();
            var transposed = Autograd.Grad([y], [x], [u], createGraph: true, allowUnused: true)[0];
            if (transposed is null || !transposed.RequiresGrad) return Finished(y, Tensor.ZerosLike(y), createGraph);
            var jvp = Autograd.Grad([transposed], [u], [direction], createGraph: createGraph, allowUnused: true)[0] ?? Tensor.ZerosLike(y);
            return Finished(y, jvp, createGraph);
        }

        /// <summary>
        /// torch.autograd.functional.vhp: f(x) (one element) and vᵀ·H. For a function twice
        /// continuously differentiable H is symmetric, so this is also H·v (<see cref="Hvp"/>).
        /// </summary>
        public static (Tensor Output, Tensor Vhp) Vhp(Func<Tensor, Tensor> function, Tensor input, Tensor v, bool createGraph = false)
        {
            var x = Prepared(input, createGraph);
            var y = Scalar("Vhp", Run(function, x));
            var gradient = GradOrZeros(y, x, null, createGraph: true);
            var vhp = gradient.RequiresGrad ? GradOrZeros(gradient, x, Matching("Vhp", v, x), createGraph) : Tensor.ZerosLike(x);
            return Finished(y, vhp, createGraph);
        }

        /// <summary>
        /// torch.autograd.functional.hvp: f(x) (one element) and H·v, computed as vᵀ·H (equal where
        /// H is symmetric, which PyTorch's documentation assumes too; it is the cheaper of the two).
        /// </summary>
        public static (Tensor Output, Tensor Hvp) Hvp(Func<Tensor, Tensor> function, Tensor input, Tensor v, bool createGraph = false) =>
            Vhp(function, input, v, createGraph);

        // The function's own input: a fresh leaf, or with createGraph a view of an input that
        // requires grad, so the derivatives stay connected to it.
        static Tensor Prepared(Tensor input, bool createGraph) =>
            createGraph && input.RequiresGrad ? input.View(input.Shape.ToArray()) : input.Detach().RequiresGrad_();

        static Tensor Run(Func<Tensor, Tensor> function, Tensor x)
        {
            using var _ = EnableGrad();
            return function(x);
        }

        // ∂(Σ v·y)/∂x, or zeros where y does not depend on x (PyTorch's strict=False).
        static Tensor GradOrZeros(Tensor y, Tensor x, Tensor? v, bool createGraph)
        {
            if (!y.RequiresGrad) return Tensor.ZerosLike(x);
            using var _ = EnableGrad();
            return Autograd.Grad([y], [x], v is null ? null : [v], retainGraph: true, createGraph: createGraph, allowUnused: true)[0] ?? Tensor.ZerosLike(x);
        }

        static Tensor Scalar(string op, Tensor t) => t.Numel == 1 ? t :
            throw new ArgumentException($"{op}: the function must return a tensor with a single element here (or pass v), got shape {t.Shape}");

        static Tensor Matching(string op, Tensor v, Tensor like) => v.Shape == like.Shape ? v :
            throw new ArgumentException($"{op}: v has shape {v.Shape}, but it must have the shape {like.Shape} of the tensor it multiplies");

        static (Tensor, Tensor) Finished(Tensor output, Tensor derivative, bool createGraph) =>
            createGraph ? (output, derivative) : (output.Detach(), derivative.Detach());
    }
}
