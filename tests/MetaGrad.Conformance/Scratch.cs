using torch = TorchSharp.torch;
namespace MetaGrad.Conformance;
public class Scratch
{
    [Fact]
    public void Probe()
    {
        var sb = new System.Text.StringBuilder();
        void P(string what, Func<torch.Tensor> f)
        {
            try { var t = f(); sb.AppendLine($"{what}: shape [{string.Join(",", t.shape)}] {t.dtype} {(t.numel() > 0 ? string.Join(",", t.to_type(torch.ScalarType.Float64).contiguous().data<double>().ToArray()) : "")}"); }
            catch (Exception e) { sb.AppendLine($"{what}: THROWS {e.Message.Split('\n')[0]}"); }
        }
        var s = torch.tensor(5.0);
        P("index_select(0d, [])", () => s.index_select(0, torch.tensor(new long[0])));
        P("index_select(0d, [0])", () => s.index_select(0, torch.tensor(new long[] { 0 })));
        P("index_select(0d, [0,0])", () => s.index_select(0, torch.tensor(new long[] { 0, 0 })));
        P("index_select(0d, 0d)", () => s.index_select(0, torch.tensor(0L)));
        var v = torch.tensor(new double[] { 1, 2, 3 });
        P("index_select(1d, 0d)", () => v.index_select(0, torch.tensor(1L)));
        P("gather(0d, 0d)", () => s.gather(0, torch.tensor(0L)));
        P("scatter_add(0d)", () => s.scatter_add(0, torch.tensor(0L), torch.tensor(2.0)));
        P("index_add(0d)", () => s.index_add(0, torch.tensor(new long[] { 0 }), torch.tensor(2.0), 1));
        P("index_fill(0d)", () => s.index_fill(0, torch.tensor(new long[] { 0 }), 7.0));
        var m = torch.arange(24).reshape(2, 3, 4);
        P("m[t0d, :, [0,1]]", () => m.index(torch.TensorIndex.Tensor(torch.tensor(1L)), torch.TensorIndex.Slice(), torch.TensorIndex.Tensor(torch.tensor(new long[] { 0, 1 }))));
        P("m[1, :, [0,1]]", () => m.index(torch.TensorIndex.Single(1), torch.TensorIndex.Slice(), torch.TensorIndex.Tensor(torch.tensor(new long[] { 0, 1 }))));
        P("m[[0,1], 1, [0,1]]", () => m.index(torch.TensorIndex.Tensor(torch.tensor(new long[] { 0, 1 })), torch.TensorIndex.Single(1), torch.TensorIndex.Tensor(torch.tensor(new long[] { 0, 1 }))));
        P("m[t0d bool]", () => m.index(torch.TensorIndex.Tensor(torch.tensor(true))));
        P("m[t0d -1]", () => m.index(torch.TensorIndex.Tensor(torch.tensor(-1L))));
        P("m[t0d 5]", () => m.index(torch.TensorIndex.Tensor(torch.tensor(5L))));
        P("sum(dim=[])", () => v.sum(new long[0], false));
        P("amax(dim=[])", () => v.amax(new long[0], false));
        P("mean(dim=[])", () => v.mean(new long[0], false));
        P("gather(int32 index)", () => v.gather(0, torch.tensor(new int[] { 0 })));
        P("index_select(int32 index)", () => v.index_select(0, torch.tensor(new int[] { 0 })));
        P("masked_fill(mask bigger)", () => v.masked_fill(torch.ones(2, 3, torch.ScalarType.Bool), 1.0));
        File.WriteAllText("/tmp/scratch.txt", sb.ToString());
    }
}
