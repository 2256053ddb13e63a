namespace MetaGrad;

public static partial class Autograd
{
    /// <summary>
    /// Bytes that the backward graph ending at <paramref name="output"/> keeps alive for backward:
    /// the storages of every tensor its nodes saved, each storage counted once, leaves that require
    /// grad (parameters, which live anyway) left out. What activation checkpointing saves is the
    /// difference of this figure with and without it.
    /// </summary>
    public static long SavedTensorBytes(Tensor output)
    {
        ArgumentNullException.ThrowIfNull(output);
        if (output.GradFn is null) return 0;
        var storages = new HashSet<Storage>(ReferenceEqualityComparer.Instance);
        var nodes = new HashSet<Function>(ReferenceEqualityComparer.Instance) { output.GradFn };
        var stack = new Stack<Function>([output.GradFn]);
        long bytes = 0;
        while (stack.Count > 0)
        {
            var fn = stack.Pop();
            foreach (var saved in fn.SavedForDrawing)
                if (!saved.IsLeafRequiringGrad && storages.Add(saved.Storage))
                    bytes += (long)saved.Storage.Length * saved.DType.ElementSize();
            foreach (var edge in fn.Edges)
                if (edge.Node is { } next && nodes.Add(next)) stack.Push(next);
        }
        return bytes;
    }
}
