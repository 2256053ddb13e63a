using MetaGrad.NN;
using MetaGrad.NN.Utils;

namespace MetaGrad.Tests.NN;

/// <summary>Activation checkpointing: the same values and gradients as the plain run, bit for bit, with the segment's activations not kept.</summary>
public class CheckpointingTests
{
    static Sequential Mlp() => new(new Linear(6, 16, generator: new Generator(1)), new ReLU(), new Dropout(0.3),
        new Linear(16, 16, generator: new Generator(2)), new Tanh(), new Dropout(0.3), new Linear(16, 3, generator: new Generator(3)));

    static (Tensor Output, Tensor[] Grads) Step(Func<Sequential, Tensor, Tensor> run)
    {
        var model = Mlp();
        var x = Tensor.Randn([5, 6], generator: new Generator(4)).RequiresGrad_();
        Generator.Default.ManualSeed(7);
        var y = run(model, x);
        y.Square().Sum().Backward();
        return (y, [x.Grad!, .. model.Parameters().Select(p => p.Grad!)]);
    }

    [Fact]
    public void Gradients_AreThePlainRunsBitForBit_DropoutIncluded()
    {
        var (plain, plainGrads) = Step((m, x) => m.Forward(x));
        var (checkpointed, grads) = Step((m, x) => Checkpointing.Checkpoint(m.Forward, x));
        var (sequential, sequentialGrads) = Step((m, x) => Checkpointing.CheckpointSequential(m, 3, x));
        Assert.True(checkpointed.AllClose(plain, 0, 0));
        Assert.True(sequential.AllClose(plain, 0, 0));
        Assert.Equal(plainGrads.Length, grads.Length);
        for (int i = 0; i < grads.Length; i++)
        {
            Assert.True(grads[i].AllClose(plainGrads[i], 0, 0), $"gradient {i}");
            Assert.True(sequentialGrads[i].AllClose(plainGrads[i], 0, 0), $"gradient {i} (sequential)");
        }
    }

    [Fact]
    public void TheSegmentIsOneNodeSavingItsInputs_AndBackwardLeavesTheGeneratorWhereTheForwardDid()
    {
        var model = Mlp();
        var x = Tensor.Randn(5, 6).RequiresGrad_();
        var y = Checkpointing.Checkpoint(model.Forward, x);
        var graph = Autograd.ToDot(y);
        Assert.Contains("CheckpointBackward\\nsaved [5, 6]", graph);
        Assert.DoesNotContain("ReluBackward", graph);
        Assert.DoesNotContain("LinearBackward", graph);
        var afterForward = Generator.Default.GetState();
        y.Sum().Backward();
        Assert.Equal(afterForward, Generator.Default.GetState());
        Assert.NotNull(model.Parameters().First().Grad);

        var a = Tensor.Randn(3).RequiresGrad_();
        var b = Tensor.Randn(3);
        var z = Checkpointing.Checkpoint(t => t[0] * t[1].Exp(), [a, b]);
        z.Sum().Backward();
        Assert.True(a.Grad!.AllClose(b.Exp(), 0, 0));
        Assert.Contains("segments", Assert.Throws<ArgumentException>(() => Checkpointing.CheckpointSequential(model, 9, x)).Message);
    }

    [Fact]
    public void SavedTensorBytes_CountWhatBackwardKeeps_AndCheckpointingKeepsLess()
    {
        // Eight Linear(4, 4) + ReLU pairs on a batch of 2 float32 rows (32 bytes a tensor). Plain:
        // the input (saved by the first Linear) and each ReLU's output (saved by the ReLU and read
        // by the next Linear: one storage), 9 tensors; the weights are parameters, not counted.
        // Four segments: the three checkpointed ones keep only their inputs (3), the last runs
        // plainly: its input and its two ReLU outputs (3).
        var layers = new List<Module<Tensor, Tensor>>();
        for (int i = 0; i < 8; i++) { layers.Add(new Linear(4, 4, generator: new Generator((ulong)i))); layers.Add(new ReLU()); }
        var model = new Sequential([.. layers]);
        var x = Tensor.Randn([2, 4], generator: new Generator(9));

        Assert.Equal(9 * 32, Autograd.SavedTensorBytes(model.Call(x)));
        Assert.Equal(6 * 32, Autograd.SavedTensorBytes(Checkpointing.CheckpointSequential(model, 4, x)));
        Assert.Equal(0, Autograd.SavedTensorBytes(x));
    }

    [Fact]
    public void CheckpointSequential_OnDataThatNeedsNoGradient_StillGivesEveryParameterItsGradient()
    {
        var x = Tensor.Randn([5, 6], generator: new Generator(4));     // data: no gradient wanted
        Tensor[] Grads(Func<Sequential, Tensor> run)
        {
            var model = Mlp();
            model.Eval();                                               // no dropout: plain and checkpointed draw nothing
            run(model).Square().Sum().Backward();
            return [.. model.Parameters().Select(p => p.Grad!)];
        }
        var plain = Grads(m => m.Call(x));
        var checkpointed = Grads(m => Checkpointing.CheckpointSequential(m, 3, x));
        Assert.Equal(plain.Length, checkpointed.Length);
        for (int i = 0; i < plain.Length; i++)
            Assert.True(checkpointed[i].AllClose(plain[i], 0, 0), $"parameter {i}");
    }
}
