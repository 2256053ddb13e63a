namespace MetaGrad.Backends;

/// <summary>Running (inclusive) reductions along one dim.</summary>
internal enum ScanOp
{
    /// <summary>Running sum (torch.cumsum).</summary>
    Sum,
    /// <summary>Running product (torch.cumprod).</summary>
    Prod,
    /// <summary>Running log Σ exp (torch.logcumsumexp), floating only.</summary>
    LogSumExp,
}

// Scans and the counting kernels behind the order statistics (mode, unique, bincount, histc).
internal partial interface IBackend
{
    /// <summary>
    /// The running reduction of x along dim, same shape. Floating inputs keep their dtype (float32
    /// accumulates in double, as PyTorch's CPU kernel does); integer and Bool inputs give Int64.
    /// </summary>
    RawTensor Scan(ScanOp op, RawTensor x, int dim);

    /// <summary>
    /// Per line along dim, the index of the most frequent value (the smallest such value on ties of
    /// count, its last occurrence), kept with size 1; Int64. The dim must not be empty.
    /// </summary>
    RawTensor ModeIndices(RawTensor x, int dim);

    /// <summary>
    /// The distinct values of x in ascending order (1-D, x's dtype), for each element of x the
    /// position of its value among them (Int64, x's shape) and how often each occurs (Int64).
    /// </summary>
    (RawTensor Values, RawTensor Inverse, RawTensor Counts) Unique(RawTensor x);

    /// <summary>
    /// The distinct rows of a matrix [n, m] in lexicographic order, each given by the index of its
    /// first occurrence (Int64), with each row's position among them and how often each occurs.
    /// </summary>
    (RawTensor First, RawTensor Inverse, RawTensor Counts) UniqueRows(RawTensor rows);

    /// <summary>
    /// Counts (or sums of weights) of the non-negative integers in 1-D x, length
    /// <paramref name="length"/> (at least max(x) + 1): Int64 without weights, else the weights'
    /// floating dtype.
    /// </summary>
    RawTensor Bincount(RawTensor x, RawTensor? weights, int length);

    /// <summary>
    /// A histogram of floating x with <paramref name="bins"/> equal bins over [min, max] (min &lt; max),
    /// x's dtype: elements outside the range (and NaN) are left out, max itself falls in the last bin.
    /// </summary>
    RawTensor Histc(RawTensor x, int bins, double min, double max);
}
