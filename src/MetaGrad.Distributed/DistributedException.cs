namespace MetaGrad.Distributed;

/// <summary>A collective failed, timed out, or the ranks disagree about what they are training.</summary>
public sealed class DistributedException(string message) : Exception(message);
