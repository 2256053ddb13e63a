namespace MetaGrad.Tests;

/// <summary>
/// Outer, Dot, Mv, Addmm, Baddbmm, the diagonals, Trace, Kron and Einsum: values worked by hand,
/// finite-difference gradients in float64, and the shapes PyTorch refuses.
/// </summary>
public class ProductTests
{
    static Tensor T(double[] values, params int[] shape) => Tensor.From(values, shape);

    [Fact]
    public void Vectors_OuterDotMv_ByHand()
    {
        var v = T([1, 2], 2);
        var w = T([3, 4, 5], 3);
        Assert.Equal([3.0, 4, 5, 6, 8, 10], v.Outer(w).ToArray<double>());
        Assert.Equal(26.0, w.Dot(T([1, 2, 3], 3)).Item());
        var m = T([1, 2, 3, 4, 5, 6], 2, 3);
        Assert.Equal([26.0, 62], m.Mv(w).ToArray<double>());
        Assert.Contains("same length", Assert.Throws<ArgumentException>(() => v.Dot(w)).Message);
        Assert.Contains("same dtype", Assert.Throws<ArgumentException>(() => v.Dot(Tensor.Ones(2))).Message);
        Assert.Contains("Mv", Assert.Throws<ArgumentException>(() => m.Mv(v)).Message);
        Assert.Contains("1-D", Assert.Throws<ArgumentException>(() => m.Outer(v)).Message);
    }

    [Fact]
    public void Addmm_AndBaddbmm_ScaleTheirParts()
    {
        var input = T([1, 1], 2);                          // broadcast over rows
        var a = T([1, 2, 3, 4], 2, 2);
        var b = T([1, 0, 0, 1], 2, 2);
        Assert.Equal([2.5, 4.5, 6.5, 8.5], Tensor.Addmm(input, a, b, beta: 0.5, alpha: 2).ToArray<double>());
        var nan = T([double.NaN, 0], 2);
        Assert.Equal([2.0, 4, 6, 8], Tensor.Addmm(nan, a, b, beta: 0, alpha: 2).ToArray<double>());
        var batch = Tensor.Stack([a, b]);
        // a·a = [7, 10, 15, 22] and b·b = I, each plus the ones.
        Assert.Equal([8.0, 11, 16, 23, 2, 1, 1, 2], Tensor.Baddbmm(Tensor.Ones([2, 2, 2], DType.Float64), batch, batch).ToArray<double>());
        Assert.Contains("broadcast", Assert.Throws<ArgumentException>(() => Tensor.Addmm(T([1, 2, 3], 3), a, b)).Message);
    }

    [Fact]
    public void Diagonals_ViewsAndEmbeddings_ByHand()
    {
        var m = Tensor.Arange(0, 12, 1, DType.Float64).Reshape(3, 4);
        Assert.Equal([0.0, 5, 10], m.Diagonal().ToArray<double>());
        Assert.Equal([1.0, 6, 11], m.Diagonal(1).ToArray<double>());
        Assert.Equal([4.0, 9], m.Diagonal(-1).ToArray<double>());
        Assert.Empty(m.Diagonal(5).ToArray<double>());
        Assert.Equal([0.0, 5, 10], m.Diagonal(0, 1, 0).ToArray<double>());
        // A view: writing through it changes the matrix.
        m.Diagonal().Fill_(-1);
        Assert.Equal(-1.0, m[1, 1].Item());

        var cube = Tensor.Arange(0, 24, 1, DType.Float64).Reshape(2, 3, 4);
        Assert.Equal([3, 2], cube.Diagonal(0, 0, 2).Shape);             // dims 0 and 2 out, diagonal last
        Assert.Equal([0.0, 13, 4, 17, 8, 21], cube.Diagonal(0, 0, 2).ToArray<double>());

        var d = T([1, 2], 2).DiagEmbed(1);
        Assert.Equal([3, 3], d.Shape);
        Assert.Equal([0.0, 1, 0, 0, 0, 2, 0, 0, 0], d.ToArray<double>());
        var below = T([1, 2], 1, 2).DiagEmbed(-1, 0, 2);                 // [3, 1, 3]: out[i + 1, 0, i] = x[0, i]
        Assert.Equal([3, 1, 3], below.Shape);
        Assert.Equal([0.0, 0, 0, 1, 0, 0, 0, 2, 0], below.ToArray<double>());
        Assert.Equal([1.0, 0, 0, 2], T([1, 2], 2).Diag().ToArray<double>());
        Assert.Equal([1.0, 6, 11], Tensor.Arange(0, 12, 1, DType.Float64).Reshape(3, 4).Diag(1).ToArray<double>());
        Assert.Equal(15.0, Tensor.Arange(0, 12, 1, DType.Float64).Reshape(3, 4).Trace().Item());
        Assert.Contains("same dim", Assert.Throws<ArgumentException>(() => m.Diagonal(0, 1, -1)).Message);
        Assert.Contains("2-D", Assert.Throws<ArgumentException>(() => cube.Trace()).Message);
    }

    [Fact]
    public void Kron_BlocksOfProducts()
    {
        var a = T([1, 2, 3, 4], 2, 2);
        var b = T([0, 1, 1, 0], 2, 2);
        Assert.Equal([0.0, 1, 0, 2, 1, 0, 2, 0, 0, 3, 0, 4, 3, 0, 4, 0], a.Kron(b).ToArray<double>());
        Assert.Equal([2, 6], T([1, 2], 2).Kron(Tensor.Ones([2, 3], DType.Float64)).Shape);
    }

    [Fact]
    public void Einsum_AgreesWithTheOperationsItNames()
    {
        var g = new Generator(2);
        var a = Tensor.Randn([3, 4], DType.Float64, generator: g);
        var b = Tensor.Randn([4, 5], DType.Float64, generator: g);
        var batch = Tensor.Randn([2, 3, 4], DType.Float64, generator: g);
        var square = Tensor.Randn([4, 4], DType.Float64, generator: g);
        var v = Tensor.Randn([4], DType.Float64, generator: g);
        Assert.True(Tensor.Einsum("ij,jk->ik", a, b).AllClose(a.Matmul(b), 1e-12, 1e-12));
        Assert.True(Tensor.Einsum("ij,jk", a, b).AllClose(a.Matmul(b), 1e-12, 1e-12));              // implicit output
        Assert.True(Tensor.Einsum("ij->ji", a).AllClose(a.T, 0, 0));
        Assert.True(Tensor.Einsum("ii->i", square).AllClose(square.Diagonal(), 0, 0));
        Assert.True(Tensor.Einsum("ii", square).AllClose(square.Trace(), 1e-12, 1e-12));
        Assert.True(Tensor.Einsum("bij,jk->bik", batch, b).AllClose(batch.Matmul(b), 1e-12, 1e-12));
        Assert.True(Tensor.Einsum("bij,bij->b", batch, batch).AllClose((batch * batch).Sum([1, 2]), 1e-12, 1e-12));
        Assert.True(Tensor.Einsum("i,j->ij", v, v).AllClose(v.Outer(v), 0, 0));
        Assert.True(Tensor.Einsum("...ij,jk->...ik", batch, b).AllClose(batch.Matmul(b), 1e-12, 1e-12));
        Assert.True(Tensor.Einsum("ij,jk,kl->il", a, b, b.T).AllClose(a.Matmul(b).Matmul(b.T), 1e-12, 1e-12));
        Assert.True(Tensor.Einsum("ij,kj->", a, a).AllClose(a.Sum(0).Dot(a.Sum(0)), 1e-12, 1e-12));
        Assert.Contains("size", Assert.Throws<ArgumentException>(() => Tensor.Einsum("ij,jk->ik", a, a)).Message);
        Assert.Contains("operands", Assert.Throws<ArgumentException>(() => Tensor.Einsum("ij,jk->ik", a)).Message);
        Assert.Contains("dims", Assert.Throws<ArgumentException>(() => Tensor.Einsum("ijk->i", a)).Message);
        Assert.Contains("appears in no operand", Assert.Throws<ArgumentException>(() => Tensor.Einsum("ij->iz", a)).Message);
    }

    [Fact]
    public void Gradients_MatchFiniteDifferences()
    {
        var a = Check.Input([3, 4], 1);
        var b = Check.Input([4, 2], 2);
        var v = Check.Input([4], 3);
        var w = Check.Input([3], 4);
        Check.Gradients(x => x[0].Outer(x[1]), v, w);
        Check.Gradients(x => x[0].Dot(x[1]), v, Check.Input([4], 5));
        Check.Gradients(x => x[0].Mv(x[1]), a, v);
        Check.Gradients(x => Tensor.Addmm(x[0], x[1], x[2], beta: 0.5, alpha: -2), Check.Input([2], 6), a, b);
        Check.Gradients(x => Tensor.Baddbmm(x[0], x[1], x[2], beta: 2), Check.Input([2, 3, 2], 7), Check.Input([2, 3, 4], 8), Check.Input([2, 4, 2], 9));
        Check.Gradients(x => x[0].Diagonal(1), a);
        Check.Gradients(x => x[0].Diagonal(-1, 1, 0) * 2, a);
        Check.Gradients(x => x[0].DiagEmbed(1), Check.Input([2, 3], 10));
        Check.Gradients(x => x[0].Diag(), v);
        Check.Gradients(x => x[0].Trace(), a);
        Check.Gradients(x => x[0].Trace(), a.Detach().T.RequiresGrad_());   // tall: libtorch's own gradient is wrong here
        Check.Gradients(x => x[0].Kron(x[1]), a, b);
        Check.Gradients(x => Tensor.Einsum("ij,jk->ik", x[0], x[1]), a, b);
        Check.Gradients(x => Tensor.Einsum("ii->i", x[0]), Check.Input([3, 3], 11));
        Check.Gradients(x => Tensor.Einsum("bij,bkj->bik", x[0], x[1]), Check.Input([2, 3, 4], 12), Check.Input([2, 2, 4], 13));
    }
}
