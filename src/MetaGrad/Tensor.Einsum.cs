namespace MetaGrad;

// torch.einsum as views, sums and batched matrix products: each operand's repeated subscripts
// become a diagonal view, subscripts no one else needs are summed away at once, and operands are
// contracted left to right, each pair as one bmm of [batch, left, contracted] by
// [batch, contracted, right]. Never the full outer product of all operands, and every step is a
// differentiable operation, so the gradient (and its gradient) is theirs.
public partial class Tensor
{
    /// <summary>
    /// torch.einsum: the sum of products of <paramref name="operands"/>' elements named by the
    /// <paramref name="equation"/>, e.g. <c>"ij,jk->ik"</c> (a matrix product), <c>"ii->i"</c> (a
    /// diagonal), <c>"bij,bkj->bik"</c>, <c>"...ij->...ji"</c>. Without <c>-&gt;</c> the output
    /// takes the subscripts used once, in alphabetical order, after any ellipsis dims.
    /// </summary>
    public static Tensor Einsum(string equation, params Tensor[] operands)
    {
        var (inputs, output) = EinsumTerms(equation.Replace(" ", ""), operands);
        var sizes = new Dictionary<char, int>();
        var terms = new List<(Tensor X, List<char> Letters)>();
        for (int i = 0; i < operands.Length; i++)
        {
            var (x, letters) = Diagonals(operands[i], inputs[i]);
            for (int d = 0; d < letters.Count; d++)
            {
                int size = x.Layout.Shape[d];
                if (sizes.TryGetValue(letters[d], out int seen) && seen != size && seen != 1 && size != 1)
                    throw new ArgumentException($"Einsum: subscript '{Printable(letters[d])}' has size {seen} in one operand and {size} in operand {i} of \"{equation}\"");
                sizes[letters[d]] = Math.Max(seen, size);
            }
            terms.Add((x, letters));
        }
        // Dims of size 1 broadcast against the same subscript's full size elsewhere.
        for (int i = 0; i < terms.Count; i++)
        {
            var (x, letters) = terms[i];
            var full = letters.Select(c => sizes[c]).ToArray();
            if (!full.AsSpan().SequenceEqual(x.Layout.Shape)) terms[i] = (x.Expand(full), letters);
        }

        var (result, names) = SumUnneeded(terms[0].X, terms[0].Letters, [.. output, .. terms.Skip(1).SelectMany(t => t.Letters)]);
        for (int i = 1; i < terms.Count; i++)
        {
            var later = new HashSet<char>([.. output, .. terms.Skip(i + 1).SelectMany(t => t.Letters)]);
            var (right, rightNames) = SumUnneeded(terms[i].X, terms[i].Letters, [.. later, .. names]);
            (result, names) = SumUnneeded(result, names, [.. later, .. rightNames]);
            (result, names) = Contract(result, names, right, rightNames, later, sizes);
        }
        (result, names) = SumUnneeded(result, names, output);
        return names.Count == 0 ? result : result.Permute([.. output.Select(c => names.IndexOf(c))]);
    }

    // The subscripts of each operand and of the output, with each ellipsis spelled out as
    // placeholder subscripts (right-aligned across operands, as their dims broadcast).
    static (List<char>[] Inputs, List<char> Output) EinsumTerms(string equation, Tensor[] operands)
    {
        int arrow = equation.IndexOf("->", StringComparison.Ordinal);
        var left = arrow < 0 ? equation : equation[..arrow];
        var terms = left.Split(',');
        if (terms.Length != operands.Length)
            throw new ArgumentException($"Einsum: the equation \"{equation}\" names {terms.Length} operands, but {operands.Length} were given");
        var ellipsisRanks = new int[terms.Length];
        for (int i = 0; i < terms.Length; i++)
        {
            int named = terms[i].Replace("...", "").Length;
            bool hasEllipsis = terms[i].Contains("...");
            if (!terms[i].Replace("...", "").All(char.IsAsciiLetter))
                throw new ArgumentException($"Einsum: subscripts must be letters (and one '...'), got \"{terms[i]}\" in \"{equation}\"");
            if (hasEllipsis ? named > operands[i].NDim : named != operands[i].NDim)
                throw new ArgumentException($"Einsum: \"{terms[i]}\" names {named} dims, but operand {i} has shape {operands[i].Shape}");
            ellipsisRanks[i] = hasEllipsis ? operands[i].NDim - named : 0;
        }
        // Placeholders beyond Latin-1: they cannot clash with the letters.
        int ellipsis = ellipsisRanks.DefaultIfEmpty(0).Max();
        var placeholders = Enumerable.Range(0, ellipsis).Select(d => (char)(0x100 + d)).ToList();
        List<char> Spell(string term, int rank)
        {
            int at = term.IndexOf("...", StringComparison.Ordinal);
            if (at < 0) return [.. term];
            return [.. term[..at], .. placeholders.Skip(ellipsis - rank), .. term[(at + 3)..]];
        }
        var inputs = terms.Select((t, i) => Spell(t, ellipsisRanks[i])).ToArray();
        List<char> output;
        if (arrow >= 0)
        {
            var right = equation[(arrow + 2)..];
            if (right.Contains("...") && ellipsis == 0 && !terms.Any(t => t.Contains("...")))
                throw new ArgumentException($"Einsum: the output of \"{equation}\" has an ellipsis that no operand has");
            output = Spell(right, ellipsis);
            var used = inputs.SelectMany(t => t).ToHashSet();
            foreach (char c in output)
                if (!used.Contains(c)) throw new ArgumentException($"Einsum: output subscript '{c}' of \"{equation}\" appears in no operand");
            if (output.Distinct().Count() != output.Count) throw new ArgumentException($"Einsum: the output of \"{equation}\" repeats a subscript");
        }
        else
        {
            var counts = inputs.SelectMany(t => t).Where(c => c < 0x100).GroupBy(c => c).Where(g => g.Count() == 1).Select(g => g.Key);
            output = [.. placeholders, .. counts.Order()];
        }
        return (inputs, output);
    }

    // An operand's repeated subscripts as diagonal views: "ii" becomes one dim "i".
    static (Tensor X, List<char> Letters) Diagonals(Tensor x, List<char> letters)
    {
        letters = [.. letters];
        while (letters.GroupBy(c => c).FirstOrDefault(g => g.Count() > 1) is { } repeated)
        {
            int first = letters.IndexOf(repeated.Key), second = letters.IndexOf(repeated.Key, first + 1);
            if (x.Layout.Shape[first] != x.Layout.Shape[second])
                throw new ArgumentException($"Einsum: subscript '{Printable(repeated.Key)}' is repeated over dims of sizes {x.Layout.Shape[first]} and {x.Layout.Shape[second]}");
            x = x.Diagonal(0, first, second);
            letters.RemoveAt(second);
            letters.RemoveAt(first);
            letters.Add(repeated.Key);
        }
        return (x, letters);
    }

    // Sums the dims whose subscripts are not in needed.
    static (Tensor X, List<char> Letters) SumUnneeded(Tensor x, List<char> letters, IEnumerable<char> needed)
    {
        var keep = needed.ToHashSet();
        var dims = Enumerable.Range(0, letters.Count).Where(d => !keep.Contains(letters[d])).ToArray();
        if (dims.Length == 0) return (x, letters);
        return (x.Sum(dims), letters.Where(c => keep.Contains(c)).ToList());
    }

    // a·b summed over their shared subscripts that nothing later needs, as one batched product:
    // [batch, left, contracted] · [batch, contracted, right] → [batch.., left.., right..].
    static (Tensor X, List<char> Letters) Contract(Tensor a, List<char> aNames, Tensor b, List<char> bNames, HashSet<char> later, Dictionary<char, int> sizes)
    {
        var batch = aNames.Where(c => bNames.Contains(c) && later.Contains(c)).ToList();
        var contracted = aNames.Where(c => bNames.Contains(c) && !later.Contains(c)).ToList();
        var left = aNames.Where(c => !bNames.Contains(c)).ToList();
        var right = bNames.Where(c => !aNames.Contains(c)).ToList();
        int Product(List<char> group) => group.Aggregate(1, (n, c) => n * sizes[c]);
        var x = a.Permute([.. batch.Concat(left).Concat(contracted).Select(c => aNames.IndexOf(c))])
            .Reshape(Product(batch), Product(left), Product(contracted));
        var y = b.Permute([.. batch.Concat(contracted).Concat(right).Select(c => bNames.IndexOf(c))])
            .Reshape(Product(batch), Product(contracted), Product(right));
        var names = batch.Concat(left).Concat(right).ToList();
        return (x.Bmm(y).Reshape([.. names.Select(c => sizes[c])]), names);
    }

    static string Printable(char c) => c < 0x100 ? c.ToString() : "...";
}
