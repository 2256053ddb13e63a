namespace MetaGrad.Tests.Optim;

/// <summary>
/// The update rules written out element by element in plain double arithmetic, transcribed from
/// the pseudo-code in the torch.optim documentation, not from MetaGrad's code: the oracle the
/// tensor optimizers are held to. Where the documentation and torch's implementation disagree,
/// the implementation wins (it is what libtorch computes), and the spot says so.
/// </summary>
internal abstract class ReferenceOptimizer
{
    protected int T;   // the step count t, from 1

    /// <summary>One step of θ in place, given ∇f(θ).</summary>
    public void Step(double[] theta, double[] gradient)
    {
        T++;
        for (int i = 0; i < theta.Length; i++) theta[i] = Update(i, theta[i], gradient[i]);
    }

    protected abstract double Update(int i, double theta, double g);

    protected static double[] Zeros(int n) => new double[n];
}

/// <summary>SGD. The docs apply maximize as θ + γg at the end; torch negates g first, before weight decay.</summary>
internal sealed class ReferenceSGD(int n, double lr, double momentum, double dampening, double weightDecay, bool nesterov, bool maximize) : ReferenceOptimizer
{
    readonly double[] _b = Zeros(n);

    protected override double Update(int i, double theta, double g)
    {
        if (maximize) g = -g;
        if (weightDecay != 0) g += weightDecay * theta;
        if (momentum != 0)
        {
            _b[i] = T > 1 ? momentum * _b[i] + (1 - dampening) * g : g;
            g = nesterov ? g + momentum * _b[i] : _b[i];
        }
        return theta - lr * g;
    }
}

/// <summary>
/// Adam and AdamW. With AMSGrad torch keeps the running maximum of the raw second moment v and
/// bias-corrects it afterwards (as the current docs say; older docs took the maximum of v̂).
/// </summary>
internal sealed class ReferenceAdam(int n, double lr, double beta1, double beta2, double eps, double weightDecay, bool amsgrad, bool maximize, bool decoupled) : ReferenceOptimizer
{
    readonly double[] _m = Zeros(n), _v = Zeros(n), _vMax = Zeros(n);

    protected override double Update(int i, double theta, double g)
    {
        if (maximize) g = -g;
        if (decoupled) theta -= lr * weightDecay * theta;
        else if (weightDecay != 0) g += weightDecay * theta;
        _m[i] = beta1 * _m[i] + (1 - beta1) * g;
        _v[i] = beta2 * _v[i] + (1 - beta2) * g * g;
        double mHat = _m[i] / (1 - Math.Pow(beta1, T));
        double v = _v[i];
        if (amsgrad) v = _vMax[i] = Math.Max(_vMax[i], _v[i]);
        double vHat = v / (1 - Math.Pow(beta2, T));
        return theta - lr * mHat / (Math.Sqrt(vHat) + eps);
    }
}

/// <summary>Adagrad.</summary>
internal sealed class ReferenceAdagrad(int n, double lr, double lrDecay, double weightDecay, double initialAccumulator, double eps, bool maximize) : ReferenceOptimizer
{
    readonly double[] _sum = Enumerable.Repeat(initialAccumulator, n).ToArray();

    protected override double Update(int i, double theta, double g)
    {
        if (maximize) g = -g;
        double clr = lr / (1 + (T - 1) * lrDecay);
        if (weightDecay != 0) g += weightDecay * theta;
        _sum[i] += g * g;
        return theta - clr * g / (Math.Sqrt(_sum[i]) + eps);
    }
}

/// <summary>RMSprop.</summary>
internal sealed class ReferenceRMSprop(int n, double lr, double alpha, double eps, double weightDecay, double momentum, bool centered, bool maximize) : ReferenceOptimizer
{
    readonly double[] _v = Zeros(n), _gAve = Zeros(n), _b = Zeros(n);

    protected override double Update(int i, double theta, double g)
    {
        if (maximize) g = -g;
        if (weightDecay != 0) g += weightDecay * theta;
        _v[i] = alpha * _v[i] + (1 - alpha) * g * g;
        double vTilde = _v[i];
        if (centered)
        {
            _gAve[i] = _gAve[i] * alpha + (1 - alpha) * g;
            vTilde -= _gAve[i] * _gAve[i];
        }
        if (momentum > 0)
        {
            _b[i] = momentum * _b[i] + g / (Math.Sqrt(vTilde) + eps);
            return theta - lr * _b[i];
        }
        return theta - lr * g / (Math.Sqrt(vTilde) + eps);
    }
}

/// <summary>Adadelta.</summary>
internal sealed class ReferenceAdadelta(int n, double lr, double rho, double eps, double weightDecay, bool maximize) : ReferenceOptimizer
{
    readonly double[] _v = Zeros(n), _u = Zeros(n);

    protected override double Update(int i, double theta, double g)
    {
        if (maximize) g = -g;
        if (weightDecay != 0) g += weightDecay * theta;
        _v[i] = rho * _v[i] + (1 - rho) * g * g;
        double dx = Math.Sqrt(_u[i] + eps) / Math.Sqrt(_v[i] + eps) * g;
        _u[i] = rho * _u[i] + (1 - rho) * dx * dx;
        return theta - lr * dx;
    }
}
