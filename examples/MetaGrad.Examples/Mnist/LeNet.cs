using MetaGrad.NN;

namespace MetaGrad.Examples;

/// <summary>
/// LeNet-5 for 28×28 digits, as in LeCun et al. (1998) with ReLU and max pooling: a 5×5
/// convolution to 6 maps (padding 2 keeps 28×28, the size the original took as 32×32), pooling
/// to 14×14, a 5×5 convolution to 16 maps of 10×10, pooling to 5×5, then 120 → 84 → 10.
/// Parameter names match the PyTorch model written the same way (conv1.weight, fc3.bias, ...).
/// </summary>
public sealed class LeNet : Module<Tensor, Tensor>
{
    readonly Conv2d Conv1, Conv2;
    readonly Linear Fc1, Fc2, Fc3;

    public LeNet(Generator generator)
    {
        Conv1 = new Conv2d(1, 6, 5, padding: 2, generator: generator);
        Conv2 = new Conv2d(6, 16, 5, generator: generator);
        Fc1 = new Linear(16 * 5 * 5, 120, generator: generator);
        Fc2 = new Linear(120, 84, generator: generator);
        Fc3 = new Linear(84, 10, generator: generator);
    }

    /// <summary>The first layer's weights [6, 1, 5, 5]: what it learned to look for.</summary>
    public Tensor FirstFilters => Conv1.Weight;

    /// <summary>Images [N, 1, 28, 28] (or [N, 784]) to logits [N, 10].</summary>
    public override Tensor Forward(Tensor images)
    {
        var x = images.Reshape(-1, 1, 28, 28);
        x = Functional.MaxPool2d(Conv1.Call(x).Relu(), 2);
        x = Functional.MaxPool2d(Conv2.Call(x).Relu(), 2);
        x = Fc1.Call(x.Flatten(1)).Relu();
        x = Fc2.Call(x).Relu();
        return Fc3.Call(x);
    }
}
