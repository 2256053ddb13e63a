using MetaGrad.Examples;

namespace MetaGrad.Tests;

public class ExampleTests
{
    [Fact]
    public void LinearRegression_RecoversSlopeAndIntercept()
    {
        var (w, b, loss) = LinearRegression.Fit(200);
        Assert.InRange(w, 2.9f, 3.1f);
        Assert.InRange(b, 1.95f, 2.05f);
        Assert.InRange(loss, 0.005f, 0.02f);   // the noise variance is 0.01: the fit cannot go far below it
    }
}
