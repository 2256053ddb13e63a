using System.Globalization;

namespace MetaGrad.Examples;

/// <summary>A date as a person might write it, its ISO 8601 form, and which format wrote it.</summary>
public sealed record DatePair(string Source, string Target, DateOnly Date, string Format);

/// <summary>One human way of writing a date, by name (a .NET-style pattern, for reading).</summary>
public sealed record DateFormat(string Name, Func<DateOnly, string> Write, bool HasWords);

/// <summary>
/// The data of the date translator, made by code: dates from 1950 to 2049 written in sixteen human
/// formats (day and month names, abbreviations, ordinals, two-digit years, three casings of the
/// words), each paired with its ISO 8601 form. The range makes two-digit years unambiguous (50–99
/// are 19xx, 00–49 are 20xx), and each separator means one order (slashes month first as in the
/// US, dots and dashes day first as in Europe), so every source has exactly one right answer.
/// Every tenth day of the range is held out: the held-out dates never appear in training in any format.
/// </summary>
public static class DateFormats
{
    public static readonly DateOnly First = new(1950, 1, 1), Last = new(2049, 12, 31);

    static readonly CultureInfo En = CultureInfo.InvariantCulture;

    /// <summary>1st, 2nd, 3rd, 4th … 11th, 12th, 13th … 21st, 22nd, 23rd … 31st.</summary>
    public static string Ordinal(int day) => day + (day % 100 is 11 or 12 or 13 ? "th" : (day % 10) switch { 1 => "st", 2 => "nd", 3 => "rd", _ => "th" });

    static string F(DateOnly d, string pattern) => d.ToString(pattern, En);

    /// <summary>The formats, in a fixed order (the generator draws among them uniformly).</summary>
    public static readonly IReadOnlyList<DateFormat> All =
    [
        new("d MMMM yyyy", d => F(d, "d MMMM yyyy"), true),                                 // 3 May 1998
        new("dddd, MMMM d, yyyy", d => F(d, "dddd, MMMM d, yyyy"), true),                   // Sunday, May 3, 1998
        new("MM/dd/yy", d => F(d, "MM/dd/yy"), false),                                     // 05/03/98
        new("MMMM dth yyyy", d => $"{F(d, "MMMM")} {Ordinal(d.Day)} {d.Year}", true),     // May 3rd 1998
        new("d.M.yyyy", d => F(d, "d.M.yyyy"), false),                                     // 3.5.1998
        new("MMM dd, yyyy", d => F(d, "MMM dd, yyyy"), true),                               // May 03, 1998
        new("ddd d MMM yy", d => F(d, "ddd d MMM yy"), true),                               // Sun 3 May 98
        new("d-MMM-yyyy", d => F(d, "d-MMM-yyyy"), true),                                   // 3-May-1998
        new("yyyy/MM/dd", d => F(d, "yyyy/MM/dd"), false),                                 // 1998/05/03
        new("the dth of MMMM, yyyy", d => $"the {Ordinal(d.Day)} of {F(d, "MMMM")}, {d.Year}", true),  // the 3rd of May, 1998
        new("yyyyMMdd", d => F(d, "yyyyMMdd"), false),                                     // 19980503
        new("ddd, dd MMM yyyy", d => F(d, "ddd, dd MMM yyyy"), true),                       // Sun, 03 May 1998 (RFC 1123)
        new("dd-MM-yyyy", d => F(d, "dd-MM-yyyy"), false),                                 // 03-05-1998
        new("M/d/yyyy", d => F(d, "M/d/yyyy"), false),                                     // 5/3/1998
        new("dd.MM.yy", d => F(d, "dd.MM.yy"), false),                                     // 03.05.98
        new("MMMM d, yyyy", d => F(d, "MMMM d, yyyy"), true),                               // May 3, 1998
    ];

    /// <summary>Whether <paramref name="date"/> belongs to the held-out tenth of the range.</summary>
    public static bool IsHeldOut(DateOnly date) => (date.DayNumber - First.DayNumber) % 10 == 7;

    /// <summary>
    /// <paramref name="count"/> pairs drawn with <paramref name="seed"/> (the same seed gives the same
    /// pairs): a uniform date of the training part (or, with <paramref name="heldOut"/>, of the held-out
    /// tenth), a uniform format, and for formats with words a uniform casing: as written, lower or upper.
    /// </summary>
    public static DatePair[] Generate(int count, int seed, bool heldOut = false)
    {
        var random = new Random(seed);
        int days = Last.DayNumber - First.DayNumber + 1;
        var pairs = new DatePair[count];
        for (int i = 0; i < count; i++)
        {
            DateOnly date;
            do date = First.AddDays(random.Next(days));
            while (IsHeldOut(date) != heldOut);
            var format = All[random.Next(All.Count)];
            string source = format.Write(date);
            if (format.HasWords)
                source = random.Next(3) switch { 0 => source, 1 => source.ToLowerInvariant(), _ => source.ToUpperInvariant() };
            pairs[i] = new DatePair(source, Iso(date), date, format.Name);
        }
        return pairs;
    }

    /// <summary>yyyy-MM-dd.</summary>
    public static string Iso(DateOnly date) => date.ToString("yyyy-MM-dd", En);
}
