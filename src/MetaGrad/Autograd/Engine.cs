namespace MetaGrad;

/// <summary>
/// The backward engine: finds every node reachable from the roots, then visits each exactly once
/// in topological order (a node runs only after all nodes that feed it a gradient), summing
/// gradients that arrive along several paths.
/// </summary>
internal static class Engine
{
    /// <summary>Gradients captured for Autograd.Grad instead of being accumulated into leaves.</summary>
    internal sealed class Capture
    {
        public readonly Dictionary<Tensor, int> Leaves = new(ReferenceEqualityComparer.Instance);
        /// <summary>Non-leaf inputs by the output of the node that made them.</summary>
        public readonly Dictionary<Output, int> Nodes = new(Output.Comparer);
        public readonly HashSet<Function> NodesHolding = new(ReferenceEqualityComparer.Instance);
        public Tensor?[] Grads = [];

        public void Add(Tensor input, int slot)
        {
            if (input.GradFn is { } fn)
            {
                Nodes[new(fn, input.OutputNr)] = slot;
                NodesHolding.Add(fn);
            }
            else Leaves[input] = slot;
        }
    }

    /// <summary>One output of a node: where a gradient waits until the node runs.</summary>
    internal readonly record struct Output(Function Node, int Nr)
    {
        public static readonly IEqualityComparer<Output> Comparer = new ByReference();

        sealed class ByReference : IEqualityComparer<Output>
        {
            public bool Equals(Output a, Output b) => ReferenceEquals(a.Node, b.Node) && a.Nr == b.Nr;
            public int GetHashCode(Output o) => System.Runtime.CompilerServices.RuntimeHelpers.GetHashCode(o.Node) * 31 + o.Nr;
        }
    }

    public static void Run(Tensor[] roots, Tensor[] rootGrads, bool retainGraph, bool createGraph, Capture? capture)
    {
        // In anomaly mode the backward functions' results are checked as they return; the forward
        // check is off meanwhile, so that a NaN made inside a backward formula is reported by its node.
        int anomaly = Anomaly.t_mode;
        if (anomaly != Anomaly.Off) Anomaly.t_mode = Anomaly.Backward;
        try
        {
            RunGraph(roots, rootGrads, retainGraph, createGraph, capture);
        }
        finally
        {
            Anomaly.t_mode = anomaly;
        }
    }

    // The maps of one backward, kept per thread between runs: for a small graph allocating them
    // was a third of what a backward allocated (a nested backward, from a hook or a recorded
    // recurrent backward, takes fresh ones).
    sealed class Scratch
    {
        // Gradients waiting for a node: the first output's by node (every node has one), the other
        // outputs' of multi-output nodes apart, so single-output graphs pay nothing for them.
        public readonly Dictionary<Function, Tensor> Buffers = new(ReferenceEqualityComparer.Instance);
        public readonly Dictionary<Output, Tensor> LaterOutputs = new(Output.Comparer);
        public readonly List<Function> Roots = [];
        public readonly Dictionary<Function, int> Dependencies = new(ReferenceEqualityComparer.Instance);
        public readonly Stack<Function> Pending = new(), Ready = new();
        // Leaves with post-accumulate hooks: how many edges still lead to each (filled only when one has hooks).
        public readonly Dictionary<Tensor, int> HookedLeaves = new(ReferenceEqualityComparer.Instance);
        public readonly OwnedGradients Own = new();

        public void Clear()
        {
            Own.Clear();
            HookedLeaves.Clear();
            Buffers.Clear();
            LaterOutputs.Clear();
            Roots.Clear();
            Dependencies.Clear();
            Pending.Clear();
            Ready.Clear();
        }
    }

    [ThreadStatic] static Scratch? t_scratch;

    static void RunGraph(Tensor[] roots, Tensor[] rootGrads, bool retainGraph, bool createGraph, Capture? capture)
    {
        var scratch = t_scratch ?? new Scratch();
        t_scratch = null;
        try
        {
            RunGraph(roots, rootGrads, retainGraph, createGraph, capture, scratch);
        }
        finally
        {
            // Kept only while small: the maps of a large graph would hold their capacity for good.
            if (scratch.Dependencies.Count <= 4096)
            {
                scratch.Clear();
                t_scratch = scratch;
            }
        }
    }

    static void RunGraph(Tensor[] roots, Tensor[] rootGrads, bool retainGraph, bool createGraph, Capture? capture, Scratch scratch)
    {
        using var mode = Autograd.SetGradEnabled(createGraph);
        // A recorded backward, Autograd.Grad and a tracer hand gradients to their caller: nothing is owned then.
        var own = scratch.Own;
        own.Begin(!createGraph && capture is null && Tracing.Active is null);
        var buffers = scratch.Buffers;
        var rootNodes = scratch.Roots;
        for (int i = 0; i < roots.Length; i++)
        {
            if (roots[i].GradFn is { } fn)
            {
                Accumulate(scratch, fn, roots[i].OutputNr, rootGrads[i]);
                rootNodes.Add(fn);
            }
            else
            {
                Deliver(roots[i], rootGrads[i], createGraph, capture, own);
                if (capture is null) AfterAccumulate(roots[i]);
            }
        }

        var hooked = capture is null ? scratch.HookedLeaves : null;
        var dependencies = CountDependencies(rootNodes, scratch.Dependencies, scratch.Pending, hooked);
        // Autograd.Grad runs only the nodes through which a gradient reaches one of its inputs, as
        // PyTorch does: the rest of the graph is neither computed nor freed.
        var needed = capture is null ? null : Needed(dependencies.Keys, capture);
        bool Runs(Function node) => needed is null || needed.Contains(node) || capture!.NodesHolding.Contains(node);
        bool anomaly = Anomaly.t_mode != Anomaly.Off;
        var ready = scratch.Ready;
        foreach (var root in rootNodes)
            if (dependencies[root] == 0 && !ready.Contains(root)) ready.Push(root);   // Function compares by reference
        while (ready.Count > 0)
        {
            var node = ready.Pop();
            Tensor?[]? grads = null;
            Tensor? received = null;
            Tensor?[]? receivedAll = null;
            bool runs = needed is null || needed.Contains(node);
            node.WillFreeSaved(runs && !retainGraph && !createGraph);   // as ReleaseSaved below
            if (node.OutputCount == 1)
            {
                if (buffers.Remove(node, out var grad))
                {
                    grad = Received(node, 0, grad, capture, own);
                    if (runs)
                    {
                        var profiler = Profiler.Active;
                        profiler?.Begin(node.Name, "backward", null);
                        grads = node.BackwardAll(grad);
                        profiler?.End(node.Name);
                    }
                    received = grad;
                }
            }
            else
            {
                var outputs = new Tensor?[node.OutputCount];
                bool any = false;
                for (int k = 0; k < outputs.Length; k++)
                {
                    bool has = k == 0 ? buffers.Remove(node, out var g) : scratch.LaterOutputs.Remove(new(node, k), out g);
                    if (has) (outputs[k], any) = (Received(node, k, g!, capture, own), true);
                }
                if (any && runs)
                {
                    var profiler = Profiler.Active;
                    profiler?.Begin(node.Name, "backward", null);
                    grads = ((MultiOutputFunction)node).BackwardAll(outputs);
                    profiler?.End(node.Name);
                }
                receivedAll = outputs;
            }
            if (node.SparseGrads is { } sparse)
            {
                node.SparseGrads = null;
                grads ??= new Tensor?[node.Edges.Length];
                for (int i = 0; i < sparse.Length; i++)
                    if (sparse[i] is { } rows) grads[i] = Sparse(node.Edges[i], rows, createGraph, capture);
            }
            // After the rows above are made dense or copied into a leaf: they may view what the node received.
            own.Consumed(node, received, receivedAll, grads);
            if (grads is not null)
            {
                if (anomaly) Anomaly.OnBackward(node, grads);
                if (grads.Length != node.Edges.Length)
                    throw new InvalidOperationException($"{node.Name} returned {grads.Length} gradients but has {node.Edges.Length} inputs");
            }
            if (!runs) continue;   // a captured input with nothing to compute below it
            // A recorded backward's graph may hold saved tensors; otherwise those only this node held are done.
            if (!retainGraph) node.ReleaseSaved(buffersToo: !createGraph, grads, own);

            for (int i = 0; i < node.Edges.Length; i++)
            {
                var edge = node.Edges[i];
                var g = grads?[i];
                if (g is not null)
                {
                    if (edge.IsNone) own.Free(g);
                    else
                    {
                        var conformed = Conform(node, i, edge, g);
                        if (!ReferenceEquals(conformed.Storage, g.Storage)) own.Free(g);
                        g = conformed;
                    }
                }
                if (edge.Node is { } next)
                {
                    if (g is not null) Accumulate(scratch, next, edge.OutputNr, g);
                    if (--dependencies[next] == 0 && Runs(next)) ready.Push(next);
                }
                else if (edge.Leaf is { } leaf)
                {
                    if (g is not null) Deliver(leaf, g, createGraph, capture, own);
                    // The leaf's last edge in this pass: its gradient is complete.
                    if (hooked is { Count: > 0 } && hooked.TryGetValue(leaf, out int left))
                    {
                        if (left > 1) hooked[leaf] = left - 1;
                        else
                        {
                            hooked.Remove(leaf);
                            AfterAccumulate(leaf);
                        }
                    }
                }
            }
        }
    }

    // The nodes with an edge to a captured input, and every node above them. A node that feeds a
    // needed or captured node is itself needed, so skipping the rest never starves a needed node.
    static HashSet<Function> Needed(IEnumerable<Function> reachable, Capture capture)
    {
        var parents = new Dictionary<Function, List<Function>>(ReferenceEqualityComparer.Instance);
        var needed = new HashSet<Function>(ReferenceEqualityComparer.Instance);
        var pending = new Stack<Function>();
        foreach (var node in reachable)
            foreach (var edge in node.Edges)
            {
                bool target = edge.Leaf is { } leaf ? capture.Leaves.ContainsKey(leaf) : edge.Node is { } next && capture.Nodes.ContainsKey(new(next, edge.OutputNr));
                if (target && needed.Add(node)) pending.Push(node);
                if (edge.Node is { } child)
                {
                    if (!parents.TryGetValue(child, out var list)) parents[child] = list = [];
                    list.Add(node);
                }
            }
        while (pending.Count > 0)
            if (parents.TryGetValue(pending.Pop(), out var list))
                foreach (var parent in list)
                    if (needed.Add(parent)) pending.Push(parent);
        return needed;
    }

    // Also counts, in hooked, the edges into each leaf that has post-accumulate hooks.
    static Dictionary<Function, int> CountDependencies(List<Function> roots, Dictionary<Function, int> deps, Stack<Function> stack,
        Dictionary<Tensor, int>? hooked)
    {
        foreach (var r in roots)
            if (deps.TryAdd(r, 0)) stack.Push(r);
        while (stack.Count > 0)
        {
            var node = stack.Pop();
            foreach (var edge in node.Edges)
            {
                if (edge.Node is not { } next)
                {
                    if (hooked is not null && edge.Leaf is { PostAccumulateHooks: not null } leaf)
                        hooked[leaf] = hooked.GetValueOrDefault(leaf) + 1;
                    continue;
                }
                if (deps.TryGetValue(next, out int count)) deps[next] = count + 1;
                else
                {
                    deps[next] = 1;
                    stack.Push(next);
                }
            }
        }
        return deps;
    }

    static void Accumulate(Scratch scratch, Function node, int output, Tensor grad)
    {
        if (output == 0)
            scratch.Buffers[node] = scratch.Buffers.TryGetValue(node, out var existing) ? scratch.Own.Sum(existing, grad) : grad;
        else
            scratch.LaterOutputs[new(node, output)] = scratch.LaterOutputs.TryGetValue(new(node, output), out var existing) ? scratch.Own.Sum(existing, grad) : grad;
    }

    // An output's summed gradient on arrival: through its hooks, and captured when Autograd.Grad asked for it.
    static Tensor Received(Function node, int output, Tensor grad, Capture? capture, OwnedGradients own)
    {
        if (node.OutputHooks is { } hooks)
            foreach (var (nr, hook) in hooks)
                if (nr == output)
                {
                    own.Share(grad);   // a hook may keep what it is given (RetainGrad does)
                    grad = hook(grad) ?? grad;
                    own.Share(grad);
                }
        if (capture is not null && capture.Nodes.TryGetValue(new(node, output), out int slot))
            capture.Grads[slot] = Sum(capture.Grads[slot], grad);
        return grad;
    }

    static Tensor Sum(Tensor? a, Tensor b) => a is null ? b : a + b;

    // A backward may return its gradient in the broadcast shape of the output, or in a wider dtype:
    // sum it back over broadcast dims and cast it, as PyTorch's engine does (validate_outputs).
    static Tensor Conform(Function node, int index, Edge edge, Tensor grad)
    {
        if (!grad.Layout.Shape.SequenceEqual(edge.Shape))
        {
            if (!Tensor.IsExpandable(edge.Shape, grad.Layout.Shape))
                throw new InvalidOperationException($"{node.Name} returned a gradient of shape {ShapeMath.Format(grad.Layout.Shape)} for input {index}, which has shape {ShapeMath.Format(edge.Shape)}");
            grad = grad.SumTo(edge.Shape);
        }
        return grad.DType == edge.DType ? grad : grad.To(edge.DType);
    }

    // A gradient returned as rows: into a plain leaf's SparseGrad when Backward is filling leaves
    // (null: delivered), else dense, for hooks, Autograd.Grad, a recorded backward or a non-leaf.
    static Tensor? Sparse(Edge edge, RowSparseGradient rows, bool createGraph, Capture? capture)
    {
        if (edge.Leaf is { LeafHooks: null } leaf && capture is null && !createGraph)
        {
            var received = new RowSparseGradient(rows.Indices, rows.Values.Detach().Clone(), rows.Shape);   // the caller may reuse its gradient
            leaf.SparseGrad = leaf.SparseGrad is { } earlier ? earlier.Add(received) : received;
            return null;
        }
        return edge.IsNone ? null : Tensor.Zeros(rows.Shape, rows.Values.DType).IndexAdd(0, rows.Indices, rows.Values);
    }

    static void AfterAccumulate(Tensor leaf)
    {
        if (leaf.PostAccumulateHooks is { } hooks)
            foreach (var hook in hooks.ToArray()) hook(leaf);   // a hook may remove itself
    }

    // A leaf's gradient: through its hooks, then captured (Autograd.Grad) or added to .Grad.
    static void Deliver(Tensor leaf, Tensor grad, bool createGraph, Capture? capture, OwnedGradients own)
    {
        if (leaf.LeafHooks is { } hooks)
            foreach (var hook in hooks)
            {
                own.Share(grad);
                grad = hook(grad) ?? grad;
                own.Share(grad);
            }
        if (capture is not null)
        {
            if (capture.Leaves.TryGetValue(leaf, out int slot)) capture.Grads[slot] = Sum(capture.Grads[slot], grad);
            return;
        }
        if (createGraph)
        {
            leaf.Grad = leaf.Grad is null ? grad : leaf.Grad + grad;
            return;
        }
        using var noGrad = Autograd.NoGrad();
        if (leaf.GradUnseen is null)
        {
            // The engine's own buffer becomes .grad as it is, as PyTorch's AccumulateGrad steals a
            // gradient nothing else holds; anything else may be a view of what the caller still owns.
            // Either way .grad is then a whole buffer of its own (see Tensor.DropGrad).
            leaf.SetOwnedGrad(own.Keep(grad) ? grad.Detach() : grad.Backend.Clone(grad));
            return;
        }
        var existing = leaf.GradUnseen;
        // Into .grad itself, as PyTorch accumulates when not recording (a reference to .grad taken
        // earlier sees the sum); a .grad that is not a plain dense tensor of its own gets a new one.
        if (OwnedGradients.CanAddInto(existing, grad)) existing.Add_(grad);
        else leaf.Grad = existing.Detach() + grad.Detach();
        own.Free(grad);
    }
}
