using MetaGrad.Examples;

namespace MetaGrad.Tests.Examples;

/// <summary>The numbers example's pairs, on the cases the issue names and the tricky zeros.</summary>
public class NumbersTests
{
    [Theory]
    [InlineData(3512, "three thousand five hundred and twelve", "三千五百一十二")]
    [InlineData(40, "forty", "四十")]
    [InlineData(10000, "ten thousand", "一万")]
    [InlineData(12, "twelve", "十二")]
    [InlineData(112, "one hundred and twelve", "一百一十二")]
    [InlineData(1005, "one thousand and five", "一千零五")]
    [InlineData(1050, "one thousand and fifty", "一千零五十")]
    [InlineData(10010, "ten thousand and ten", "一万零一十")]
    [InlineData(20304, "twenty thousand three hundred and four", "二万零三百零四")]
    [InlineData(99999, "ninety nine thousand nine hundred and ninety nine", "九万九千九百九十九")]
    [InlineData(0, "zero", "零")]
    [InlineData(100, "one hundred", "一百")]
    [InlineData(15000, "fifteen thousand", "一万五千")]
    public void Pairs_AreWrittenAsPeopleWriteThem(int n, string english, string chinese)
    {
        Assert.Equal(english, NumberWords.English(n));
        Assert.Equal(chinese, NumberWords.Chinese(n));
    }

    [Fact]
    public void Translator_LearnsFromAFewThousandPairs()
    {
        var result = NumbersExample.Train(new NumbersSettings { Epochs = 2, PairsPerEpoch = 3_200, HeldOutSize = 200, Width = 32, Heads = 2, Lr = 3e-3 });
        Assert.True(result.EpochLosses[1] < result.EpochLosses[0], $"loss {string.Join(", ", result.EpochLosses)}");
        Assert.True(result.Bleu > 0.5, $"held-out BLEU {result.Bleu}, exact match {result.ExactMatch}");
    }
}
