namespace MetaGrad.Backends;

internal partial interface IBackend
{
    /// <summary>1 with probability probs[i], else 0, in probs' (floating) dtype; draws in row-major order.</summary>
    RawTensor Bernoulli(RawTensor probs, Generator gen);
    /// <summary>A Poisson count with rate rates[i], in rates' (floating) dtype; draws in row-major order.</summary>
    RawTensor Poisson(RawTensor rates, Generator gen);
    /// <summary>A random permutation of 0 .. n − 1.</summary>
    RawTensor Randperm(int n, DType dtype, Generator gen);
}
