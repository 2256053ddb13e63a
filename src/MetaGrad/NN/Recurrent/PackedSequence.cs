namespace MetaGrad.NN;

/// <summary>
/// A batch of variable-length sequences stored without padding (torch.nn.utils.rnn.PackedSequence):
/// Data holds the rows of step 0 for every sequence, then step 1 for those still running, and so
/// on, longest sequences first; BatchSizes (Int64) says how many rows each step has. SortedIndices
/// maps the sorted position to the caller's batch index and UnsortedIndices is its inverse (both
/// null when the batch was already sorted).
/// </summary>
public sealed record PackedSequence(Tensor Data, Tensor BatchSizes, Tensor? SortedIndices = null, Tensor? UnsortedIndices = null);
