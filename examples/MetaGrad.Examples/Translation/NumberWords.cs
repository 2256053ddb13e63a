using System.Text;

namespace MetaGrad.Examples;

/// <summary>Numbers 0–99,999 written out in English words and in Chinese numerals, the pairs the numbers example learns.</summary>
public static class NumberWords
{
    static readonly string[] Ones =
    [
        "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
        "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen",
    ];
    static readonly string[] Tens = ["", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"];

    /// <summary>British English with "and" before the last part: 3512 → "three thousand five hundred and twelve", 1005 → "one thousand and five".</summary>
    public static string English(int n)
    {
        if (n is < 0 or > 99_999) throw new ArgumentOutOfRangeException(nameof(n), $"NumberWords: {n} is outside 0..99999");
        if (n == 0) return "zero";
        int thousands = n / 1000, rest = n % 1000;
        var parts = new List<string>();
        if (thousands > 0) parts.Add(BelowThousand(thousands) + " thousand");
        if (rest > 0) parts.Add((thousands > 0 && rest < 100 ? "and " : "") + BelowThousand(rest));
        return string.Join(' ', parts);
    }

    static string BelowThousand(int n)
    {
        int hundreds = n / 100, rest = n % 100;
        if (hundreds == 0) return BelowHundred(rest);
        return Ones[hundreds] + " hundred" + (rest > 0 ? " and " + BelowHundred(rest) : "");
    }

    static string BelowHundred(int n) => n < 20 ? Ones[n] : Tens[n / 10] + (n % 10 > 0 ? " " + Ones[n % 10] : "");

    static readonly string Digits = "零一二三四五六七八九";
    static readonly string[] Units = ["", "十", "百", "千", "万"];

    /// <summary>
    /// Chinese numerals: 3512 → 三千五百一十二, 40 → 四十, 10000 → 一万, 1005 → 一千零五 (one 零 for a run
    /// of zeros before a non-zero digit, none at the end), and 10–19 alone as 十, 十一 … (一十 inside a larger number).
    /// </summary>
    public static string Chinese(int n)
    {
        if (n is < 0 or > 99_999) throw new ArgumentOutOfRangeException(nameof(n), $"NumberWords: {n} is outside 0..99999");
        if (n == 0) return "零";
        var digits = n.ToString();
        var text = new StringBuilder();
        bool pendingZero = false;
        for (int i = 0; i < digits.Length; i++)
        {
            int digit = digits[i] - '0', unit = digits.Length - 1 - i;
            if (digit == 0) { pendingZero = text.Length > 0; continue; }
            if (pendingZero) text.Append('零');
            pendingZero = false;
            if (!(digit == 1 && unit == 1 && text.Length == 0)) text.Append(Digits[digit]);   // 十二, not 一十二
            text.Append(Units[unit]);
        }
        return text.ToString();
    }
}
