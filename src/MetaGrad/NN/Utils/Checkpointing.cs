namespace MetaGrad.NN.Utils;

/// <summary>
/// Activation checkpointing (torch.utils.checkpoint): a segment of the network runs forward
/// without recording anything, so none of its intermediate activations are kept; backward runs it
/// again, this time recorded, from the saved inputs, and backpropagates through that. Memory for
/// one extra forward. The default generator's state is put back to what it was at the forward
/// before the segment reruns (and restored after), so dropout draws the same masks and the
/// gradients are those of the plain run, bit for bit.
/// </summary>
/// <remarks>
/// As PyTorch's reentrant checkpoint: the segment's parameters receive their gradients into
/// <c>Grad</c> during the outer <c>Backward()</c>; <c>Autograd.Grad</c> through a checkpoint
/// returns the inputs' gradients but still accumulates the parameters' into <c>Grad</c>.
/// Generators other than <see cref="Generator.Default"/> are not rewound.
/// </remarks>
public static class Checkpointing
{
    /// <summary>Runs <paramref name="segment"/> on <paramref name="inputs"/> without keeping its activations; backward recomputes them.</summary>
    public static Tensor Checkpoint(Func<Tensor[], Tensor> segment, Tensor[] inputs) => new CheckpointFunction(segment, inputs.Length).Apply(inputs);

    /// <summary>Runs a one-input <paramref name="segment"/> (a module's Forward, a block of layers) under a checkpoint.</summary>
    public static Tensor Checkpoint(Func<Tensor, Tensor> segment, Tensor input) => Checkpoint((Tensor[] x) => segment(x[0]), [input]);

    /// <summary>
    /// torch.utils.checkpoint.checkpoint_sequential: the layers of <paramref name="layers"/> cut into
    /// <paramref name="segments"/> runs of consecutive layers, each but the last checkpointed (the
    /// last one's activations are needed right away by backward anyway).
    /// </summary>
    public static Tensor CheckpointSequential(Sequential layers, int segments, Tensor input)
    {
        int count = layers.Count;
        if (segments < 1 || segments > Math.Max(count, 1))
            throw new ArgumentException($"CheckpointSequential: segments must be in [1, {Math.Max(count, 1)}] for {count} layers, got {segments}");
        var x = input;
        for (int s = 0; s < segments; s++)
        {
            int first = s * count / segments, last = (s + 1) * count / segments;
            Tensor Run(Tensor t)
            {
                for (int i = first; i < last; i++) t = layers[i].Call(t);
                return t;
            }
            if (s == segments - 1)
            {
                x = Run(x);
                break;
            }
            // The segment's parameters join the node's inputs, so it is recorded even when x needs
            // no gradient (a network's first segment, fed data): PyTorch's reentrant form would
            // leave those parameters without gradients; its non-reentrant form gives them theirs.
            var parameters = Enumerable.Range(first, last - first).SelectMany(i => layers[i].Parameters()).Where(p => p.RequiresGrad).ToArray<Tensor>();
            x = new CheckpointFunction(t => Run(t[0]), dataInputs: 1).Apply([x, .. parameters]);
        }
        return x;
    }

    // The first dataInputs inputs go to the segment; any after them are parameters it reads by
    // itself, there only to record the node, their gradients accumulated by the inner backward.
    sealed class CheckpointFunction(Func<Tensor[], Tensor> segment, int dataInputs) : NaryFunction
    {
        ulong[] _generatorState = [];

        public override string Name => "CheckpointBackward";

        // The segment is user code, run again in backward with the incoming gradient: it may keep what it sees.
        internal override bool KeepsNothing => false;

        protected override Tensor Forward(Context ctx, Tensor[] inputs)
        {
            _generatorState = Generator.Default.GetState();
            ctx.Save(inputs[..dataInputs]);
            return segment(inputs[..dataInputs]);
        }

        protected override Tensor?[] Backward(Context ctx, Tensor grad)
        {
            var saved = ctx.Saved;
            var inputs = new Tensor[dataInputs];
            for (int i = 0; i < inputs.Length; i++)
            {
                inputs[i] = saved[i].Detach();
                if (ctx.NeedsInputGrad[i]) inputs[i].RequiresGrad_();
            }
            var now = Generator.Default.GetState();
            Generator.Default.SetState(_generatorState);
            try
            {
                Tensor output;
                using (Autograd.EnableGrad()) output = segment(inputs);
                if (output.RequiresGrad) output.Backward(grad);
            }
            finally
            {
                Generator.Default.SetState(now);
            }
            var grads = new Tensor?[ctx.NeedsInputGrad.Count];
            for (int i = 0; i < dataInputs; i++)
                if (ctx.NeedsInputGrad[i]) grads[i] = inputs[i].Grad ?? Tensor.ZerosLike(inputs[i]);
            return grads;
        }
    }
}
