using MetaGrad.NN;
using MetaGrad.Optim;

namespace MetaGrad.Tests.Optim;

/// <summary>Embeddings with sparse: true leave row gradients; SGD, Adagrad and SparseAdam step on those rows only.</summary>
public class SparseGradientTests
{
    static readonly Tensor Ids = Tensor.From(new long[] { 1, 4, 1, 0, 4, 2 }, [2, 3]);

    // The same 6×3 table twice, one sparse and one dense, with padding row 2.
    static (Embedding Sparse, Embedding Dense) Pair()
    {
        var table = Tensor.Randn([6, 3], DType.Float64, generator: new Generator(5));
        return (Embedding.FromPretrained(table, freeze: false, paddingIdx: 2, sparse: true), Embedding.FromPretrained(table, freeze: false, paddingIdx: 2));
    }

    static Tensor Loss(Embedding e, Tensor ids) => (e.Forward(ids) * Tensor.Arange(1, 1 + ids.Numel * 3, dtype: DType.Float64).Reshape([.. ids.Shape.ToArray(), 3])).Sum();

    [Fact]
    public void SparseEmbedding_GradHoldsTheLookedUpRows_WhoseSumIsTheDenseGradient()
    {
        var (sparse, dense) = Pair();
        Loss(sparse, Ids).Backward();
        Loss(dense, Ids).Backward();

        Assert.Null(sparse.Weight.Grad);
        var rows = sparse.Weight.SparseGrad!;
        Assert.Equal([1L, 4, 1, 0, 4], rows.Indices.ToArray<long>());   // lookup order, padding dropped
        Check.Values([1.0, 2, 3], rows.Values[0]);                      // the weights of the first lookup
        Assert.True(rows.ToDense().AllClose(dense.Weight.Grad!, 0, 0));

        var coalesced = rows.Coalesce();
        Assert.Equal([0L, 1, 4], coalesced.Indices.ToArray<long>());
        Check.Values([1.0 + 7, 2 + 8, 3 + 9], coalesced.Values[1]);      // row 1 was looked up twice
        Assert.Equal("Embedding(6, 3, padding_idx=2, sparse=True)", sparse.ToString());
    }

    [Fact]
    public void SparseEmbeddingBag_GradIsTheUsedRows_WhoseSumIsTheDenseGradient()
    {
        var g = new Generator(8);
        var (sparse, dense) = (new EmbeddingBag(6, 3, mode: "sum", dtype: DType.Float64, generator: g, sparse: true), new EmbeddingBag(6, 3, mode: "sum", dtype: DType.Float64));
        dense.LoadStateDict(sparse.StateDict());
        var ids = Tensor.From(new long[] { 1, 4, 1, 0, 5 }, [5]);
        var offsets = Tensor.From(new long[] { 0, 2 }, [2]);
        foreach (var bag in new[] { sparse, dense }) (bag.Forward(ids, offsets) * Tensor.From(new[] { 1.0, 2, 3, 4, 5, 6 }, [2, 3])).Sum().Backward();
        Assert.Null(sparse.Weight.Grad);
        Assert.Equal([1L, 4, 1, 0, 5], sparse.Weight.SparseGrad!.Indices.ToArray<long>());
        Assert.True(sparse.Weight.SparseGrad.ToDense().AllClose(dense.Weight.Grad!, 0, 0));
    }

    [Fact]
    public void SparseEmbedding_AccumulatesAcrossBackwards_AndZeroGradClearsIt()
    {
        var (sparse, dense) = Pair();
        Loss(sparse, Ids).Backward();
        Loss(sparse, Ids[0]).Backward();
        Loss(dense, Ids).Backward();
        Loss(dense, Ids[0]).Backward();
        Assert.Equal(8, sparse.Weight.SparseGrad!.Indices.Numel);
        Assert.True(sparse.Weight.SparseGrad.ToDense().AllClose(dense.Weight.Grad!, 1e-15, 1e-15));

        new SGD(sparse.Parameters(), lr: 0.1).ZeroGrad();
        Assert.Null(sparse.Weight.SparseGrad);
    }

    [Fact]
    public void SparseEmbedding_UnderAutogradGrad_GivesTheDenseGradient()
    {
        var (sparse, dense) = Pair();
        var grad = Autograd.Grad(Loss(sparse, Ids), sparse.Weight);
        Loss(dense, Ids).Backward();
        Assert.True(grad.AllClose(dense.Weight.Grad!, 0, 0));
        Assert.Null(sparse.Weight.SparseGrad);
    }

    [Fact]
    public void SparseEmbedding_WithAHookOrARecordedBackward_GetsTheDenseGradientFromTheEngine()
    {
        // The node returns rows; the engine alone decides: dense for a hooked leaf or under createGraph.
        var (sparse, dense) = Pair();
        Loss(dense, Ids).Backward();
        Tensor? seen = null;
        sparse.Weight.RegisterHook(g => { seen = g; return null; });
        Loss(sparse, Ids).Backward();
        Assert.True(seen!.AllClose(dense.Weight.Grad!, 0, 0));
        Assert.True(sparse.Weight.Grad!.AllClose(dense.Weight.Grad!, 0, 0));
        Assert.Null(sparse.Weight.SparseGrad);

        var (recorded, _) = Pair();
        Loss(recorded, Ids).Backward(createGraph: true);
        Assert.True(recorded.Weight.Grad!.AllClose(dense.Weight.Grad!, 0, 0));
        Assert.Null(recorded.Weight.SparseGrad);
    }

    // Steps on different id sets, so some rows are untouched in some steps.
    static readonly Tensor[] Batches = [Ids, Tensor.From(new long[] { 5, 5, 3 }, [1, 3]), Tensor.From(new long[] { 0, 1 }, [2])];

    static void Train(Embedding e, Optimizer optimizer)
    {
        foreach (var ids in Batches)
        {
            optimizer.ZeroGrad();
            Loss(e, ids).Backward();
            optimizer.Step();
        }
    }

    [Fact]
    public void SGD_And_Adagrad_OnSparseGradients_MatchTheirDenseSteps()
    {
        foreach (var make in new Func<IEnumerable<Tensor>, Optimizer>[] { p => new SGD(p, lr: 0.05), p => new Adagrad(p, lr: 0.3, lrDecay: 0.1) })
        {
            var (sparse, dense) = Pair();
            Train(sparse, make(sparse.Parameters()));
            Train(dense, make(dense.Parameters()));
            Assert.True(sparse.Weight.AllClose(dense.Weight, 1e-13, 1e-13), make(sparse.Parameters()).GetType().Name);
        }
    }

    [Fact]
    public void SparseAdam_UpdatesOnlyTheRowsOfEachStep_WithPyTorchsFormula()
    {
        var weight = new Parameter(Tensor.Zeros([3, 2], DType.Float64));
        var optimizer = new SparseAdam([weight], lr: 0.1);
        // Step 1: row 1 twice (summed to (0.5, -1)); step 2: row 0 only.
        weight.SparseGrad = new RowSparseGradient(Tensor.From(new long[] { 1, 1 }, [2]), Tensor.From(new[] { 0.2, -0.4, 0.3, -0.6 }, [2, 2]), [3, 2]);
        optimizer.Step();
        static double Moved(double g, int t, double m0 = 0, double v0 = 0)
        {
            double m = m0 + 0.1 * (g - m0), v = v0 + 0.001 * (g * g - v0);
            return -0.1 * Math.Sqrt(1 - Math.Pow(0.999, t)) / (1 - Math.Pow(0.9, t)) * m / (Math.Sqrt(v) + 1e-8);
        }
        Check.Values([0.0, 0, Moved(0.5, 1), Moved(-1, 1), 0, 0], weight.Reshape(-1), 1e-15);

        weight.SparseGrad = new RowSparseGradient(Tensor.From(new long[] { 0 }, [1]), Tensor.From(new[] { 2.0, 0.0 }, [1, 2]), [3, 2]);
        optimizer.Step();
        // Row 1 keeps its weights and moments: only row 0 moved, with step 2's bias corrections.
        Check.Values([Moved(2, 2), 0, Moved(0.5, 1), Moved(-1, 1), 0, 0], weight.Reshape(-1), 1e-15);
        Check.Values([0.2, 0, 0.05, -0.1, 0, 0], optimizer.StateOf(weight)["exp_avg"].Reshape(-1), 1e-15);
    }

    [Fact]
    public void OptimizersThatNeedEveryRow_RefuseSparseGradients_AndSparseAdamRefusesDense()
    {
        var (sparse, _) = Pair();
        Loss(sparse, Ids).Backward();
        var adam = Assert.Throws<NotSupportedException>(() => new Adam(sparse.Parameters()).Step());
        Assert.Contains("Adam does not support sparse gradients", adam.Message);
        Assert.Contains("SparseAdam", adam.Message);
        var sgd = Assert.Throws<NotSupportedException>(() => new SGD(sparse.Parameters(), lr: 0.1, momentum: 0.9).Step());
        Assert.Contains("momentum", sgd.Message);

        var dense = new Parameter(Tensor.Zeros(2));
        dense.Grad = Tensor.Ones(2);
        var error = Assert.Throws<NotSupportedException>(() => new SparseAdam([dense]).Step());
        Assert.Contains("SparseAdam does not support dense gradients", error.Message);
    }
}
