namespace MetaGrad.Backends;

internal partial interface IBackend
{
    /// <summary>
    /// A contiguous copy of self in which each entry of values lands on the element at the matching
    /// logical row-major position of self (positions and values of one shape) and is combined there
    /// by reduce, with self's own value when includeSelf, else only with the other values that land
    /// there; elements nothing lands on keep self's value (torch.scatter_reduce).
    /// </summary>
    RawTensor PutReduce(RawTensor self, RawTensor positions, RawTensor values, ScatterReduction reduce, bool includeSelf);
}
