using MetaGrad.NN;

namespace MetaGrad.Tests.NN;

/// <summary>
/// Parameter discovery walks the class hierarchy, base class first, private fields included; the
/// trimmer and NativeAOT keep exactly those fields because of Module's annotation.
/// </summary>
public class ModuleDiscoveryTests
{
    class Encoder : Module<Tensor, Tensor>
    {
        readonly Linear _embed = new(3, 4);
        public override Tensor Forward(Tensor x) => _embed.Forward(x);
    }

    sealed class Classifier : Encoder
    {
        readonly Linear _head = new(4, 2, bias: false);
        Parameter Temperature { get; } = new(Tensor.Ones(1));
        public override Tensor Forward(Tensor x) => _head.Forward(base.Forward(x)) / Temperature;
    }

    [Fact]
    public void PrivateFieldsOfBaseClasses_AreFound_BaseFirst()
    {
        var names = new Classifier().NamedParameters().Select(p => p.Name).ToArray();
        Assert.Equal(["temperature", "embed.weight", "embed.bias", "head.weight"], names);
    }
}
