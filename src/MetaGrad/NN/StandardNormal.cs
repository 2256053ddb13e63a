namespace MetaGrad.NN;

/// <summary>
/// The standard normal distribution's CDF Φ and its inverse in double precision, for sampling a
/// truncated normal by inversion (the method torch.nn.init.trunc_normal_ uses).
/// </summary>
internal static class StandardNormal
{
    /// <summary>Φ(x) = erfc(-x/√2)/2.</summary>
    public static double Cdf(double x) => 0.5 * Erfc(-x / Math.Sqrt(2));

    /// <summary>
    /// erfc by the Chebyshev fit of Numerical Recipes (relative error below 1.2e-7 everywhere),
    /// computed from the tail so that small probabilities keep their precision.
    /// </summary>
    static double Erfc(double x)
    {
        double z = Math.Abs(x);
        double t = 1 / (1 + 0.5 * z);
        double r = t * Math.Exp(-z * z - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806
            + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))));
        return x >= 0 ? r : 2 - r;
    }

    /// <summary>
    /// Φ⁻¹(p) for p in (0, 1) by Acklam's rational approximations (relative error about 1e-9),
    /// one for the central region and one for each tail; ±∞ at 0 and 1.
    /// </summary>
    public static double InverseCdf(double p)
    {
        if (p <= 0) return double.NegativeInfinity;
        if (p >= 1) return double.PositiveInfinity;
        const double low = 0.02425;
        if (p < low) return Tail(p);
        if (p > 1 - low) return -Tail(1 - p);
        double q = p - 0.5, r = q * q;
        return (((((-3.969683028665376e+01 * r + 2.209460984245205e+02) * r - 2.759285104469687e+02) * r + 1.383577518672690e+02) * r - 3.066479806614716e+01) * r + 2.506628277459239e+00) * q
            / (((((-5.447609879822406e+01 * r + 1.615858368580409e+02) * r - 1.556989798598866e+02) * r + 6.680131188771972e+01) * r - 1.328068155288572e+01) * r + 1);
    }

    // The lower tail; the upper one is its mirror image.
    static double Tail(double p)
    {
        double q = Math.Sqrt(-2 * Math.Log(p));
        return (((((-7.784894002430293e-03 * q - 3.223964580411365e-01) * q - 2.400758277161838e+00) * q - 2.549732539343734e+00) * q + 4.374664141464968e+00) * q + 2.938163982698783e+00)
            / ((((7.784695709041462e-03 * q + 3.224671290700398e-01) * q + 2.445134137142996e+00) * q + 3.754408661907416e+00) * q + 1);
    }
}
