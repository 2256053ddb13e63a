namespace MetaGrad;

/// <summary>
/// Watches the operations run on this thread, for an exporter that turns a module's forward into
/// another framework's graph (MetaGrad.Onnx). Every Function reports its call with its inputs and
/// outputs, and the few tensor operations that compute without a Function (comparisons, integer
/// casts, arg-max and arg-min, max pooling's winners) report themselves, so that nothing computed
/// from the input goes unseen. Calls made
/// inside another call's forward are reported too; the tracer keeps the outermost.
/// </summary>
internal interface IOperationTracer
{
    /// <summary>A Function is about to run its forward on <paramref name="inputs"/>.</summary>
    void Begin(Function function, Tensor[] inputs);

    /// <summary>The Function's forward returned <paramref name="outputs"/>.</summary>
    void End(Function function, Tensor[] inputs, Tensor[] outputs);

    /// <summary>An operation without a Function (a comparison, an integer cast) gave <paramref name="output"/>; <paramref name="attribute"/> is what it needs besides its inputs (the comparison, the dtype, the dim).</summary>
    void Primitive(string op, object? attribute, Tensor[] inputs, Tensor output);
}

/// <summary>The tracer open on this thread, if any (one thread-static read per operation when none is).</summary>
internal static class Tracing
{
    [ThreadStatic] static IOperationTracer? t_current;

    /// <summary>The open tracer, or null.</summary>
    public static IOperationTracer? Active => t_current;

    /// <summary>Opens <paramref name="tracer"/> on this thread until the result is disposed (the previous one comes back then).</summary>
    public static IDisposable Open(IOperationTracer tracer)
    {
        var previous = t_current;
        t_current = tracer;
        return new Closer(previous);
    }

    sealed class Closer(IOperationTracer? previous) : IDisposable
    {
        public void Dispose() => t_current = previous;
    }
}
