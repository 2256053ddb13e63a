using MetaGrad.NN;

namespace MetaGrad.Examples;

/// <summary>
/// The classifier: 784 pixels → 256 → 128 → 10 logits, ReLU between the layers and dropout after
/// each hidden layer. Every random number (the initial weights, the dropout masks) comes from one
/// generator, so a run is reproducible from its seed and resumable from the generator's state.
/// </summary>
public sealed class MnistMlp : Module<Tensor, Tensor>
{
    readonly Linear Fc1, Fc2, Fc3;
    readonly double _dropout;
    readonly Generator _generator;

    public MnistMlp(Generator generator, int hidden1 = 256, int hidden2 = 128, double dropout = 0.2)
    {
        _generator = generator;
        _dropout = dropout;
        Fc1 = new Linear(28 * 28, hidden1, generator: generator);
        Fc2 = new Linear(hidden1, hidden2, generator: generator);
        Fc3 = new Linear(hidden2, 10, generator: generator);
    }

    /// <summary>Images [N, 1, 28, 28] (or [N, 784]) to logits [N, 10].</summary>
    public override Tensor Forward(Tensor images)
    {
        var x = images.Flatten(1);
        x = Functional.Dropout(Fc1.Forward(x).Relu(), _dropout, Training, _generator);
        x = Functional.Dropout(Fc2.Forward(x).Relu(), _dropout, Training, _generator);
        return Fc3.Forward(x);
    }
}
