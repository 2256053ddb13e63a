namespace MetaGrad.Examples;

/// <summary>
/// Characters to ids and back for a character-level sequence model. The four special tokens come
/// first, so their ids are the same in every vocabulary: padding 0 (so a zero-filled batch is all
/// padding), unknown 1 (a character never seen in training), start 2 and end 3 (which frame a target).
/// </summary>
public sealed class CharVocabulary
{
    public const int Pad = 0, Unknown = 1, Start = 2, End = 3;
    const int Specials = 4;

    readonly Dictionary<char, int> _ids;

    /// <summary>The characters, in id order from id 4.</summary>
    public string Characters { get; }

    /// <summary>Ids for the distinct characters of <paramref name="texts"/>, in ordinal order.</summary>
    public CharVocabulary(IEnumerable<string> texts)
    {
        Characters = new string([.. texts.SelectMany(t => t).Distinct().Order()]);
        _ids = Characters.Select((c, i) => (c, i)).ToDictionary(p => p.c, p => p.i + Specials);
    }

    /// <summary>Every id, the special tokens included.</summary>
    public int Count => Specials + Characters.Length;

    public long Id(char c) => _ids.TryGetValue(c, out int id) ? id : Unknown;

    /// <summary>The text's ids, optionally framed by start and end.</summary>
    public long[] Encode(string text, bool frame = false)
    {
        var ids = text.Select(Id);
        return frame ? [Start, .. ids, End] : [.. ids];
    }

    /// <summary>A token as text: its character, or a name in angle brackets for a special token.</summary>
    public string Token(long id) => id switch
    {
        Pad => "<pad>", Unknown => "<unk>", Start => "<s>", End => "</s>",
        _ => Characters[(int)id - Specials].ToString(),
    };

    /// <summary>The characters of <paramref name="ids"/> up to the first end token; special tokens are dropped.</summary>
    public string Decode(IEnumerable<long> ids) =>
        new([.. ids.TakeWhile(id => id != End).Where(id => id >= Specials).Select(id => Characters[(int)id - Specials])]);

    /// <summary>
    /// A batch of texts as ids [N, longest], padded on the right, with each text's length.
    /// </summary>
    public (Tensor Ids, int[] Lengths) Batch(IReadOnlyList<string> texts, bool frame = false)
    {
        var encoded = texts.Select(t => Encode(t, frame)).ToArray();
        int longest = encoded.Max(e => e.Length);
        var ids = new long[encoded.Length * longest];            // zeros: Pad
        for (int i = 0; i < encoded.Length; i++) encoded[i].CopyTo(ids, i * longest);
        return (Tensor.From(ids, [encoded.Length, longest]), [.. encoded.Select(e => e.Length)]);
    }
}
