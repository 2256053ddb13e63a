using System.Buffers.Binary;
using System.Text;

namespace MetaGrad.IO;

/// <summary>
/// Writes the <c>data.pkl</c> that Python's C pickler (protocol 2, <c>torch.save</c>'s default)
/// writes for <c>torch.save({name: tensor, ...})</c>, byte for byte: the same opcodes, and the same
/// memo, which stores every global, string, non-empty tuple and built object as it is first written
/// and recalls the ones Python would see again as the same object (the globals, the persistent id's
/// 'storage' and 'cpu', a shared storage's key).
/// </summary>
internal sealed class TorchPickleWriter
{
    const int BatchSize = 1000;   // the pickler's items per SETITEMS

    readonly MemoryStream _out = new();
    readonly Dictionary<string, int> _memo = [];   // what Python would find by identity, under a name of ours
    int _unnamed;                                  // memo slots never recalled

    /// <summary>The pickle of a plain dict of tensors, in the order given.</summary>
    public static byte[] Write(IReadOnlyList<(string Key, TorchTensorSpec Tensor)> entries)
    {
        var w = new TorchPickleWriter();
        w.Op(0x80); w.Op(2);                                   // PROTO 2
        w.Op((byte)'}'); w.Memoize("top-level dict");          // EMPTY_DICT
        if (entries.Count == 1)
        {
            w.Item(entries[0]);
            w.Op((byte)'s');                                   // SETITEM
        }
        else if (entries.Count > 1)
        {
            // The C pickler's loop for an exact dict: it writes a batch, and after a full one begins
            // another, so a multiple of 1000 entries ends with an empty MARK ... SETITEMS.
            int i = 0;
            do
            {
                w.Op((byte)'(');                               // MARK
                int batch = 0;
                for (; i < entries.Count && batch < BatchSize; i++, batch++) w.Item(entries[i]);
                w.Op((byte)'u');                               // SETITEMS
                if (batch < BatchSize) break;
            } while (true);
        }
        w.Op((byte)'.');                                       // STOP
        return w._out.ToArray();
    }

    void Item((string Key, TorchTensorSpec Tensor) entry)
    {
        String(entry.Key, memoName: null);
        Tensor(entry.Tensor);
    }

    // Tensor.__reduce_ex__: _rebuild_tensor_v2(storage, offset, size, stride, requires_grad, OrderedDict()), or for
    // the dtypes without a legacy storage class (uint16) _rebuild_tensor_v3(untyped storage, ..., OrderedDict(), dtype).
    void Tensor(TorchTensorSpec t)
    {
        bool v3 = t.ElementType is not null;
        Global("torch._utils", v3 ? "_rebuild_tensor_v3" : "_rebuild_tensor_v2");
        Op((byte)'(');
        // The storage, as the persistent id ('storage', torch.XStorage, key, 'cpu', numel), numel in bytes for an UntypedStorage.
        Op((byte)'(');
        String("storage", "'storage'");
        if (v3) Global("torch.storage", "UntypedStorage");
        else Global("torch", t.Storage.TypeName);
        String(t.Storage.Key, $"storage key {t.Storage.Key}");
        String(t.Storage.Location, $"location {t.Storage.Location}");
        Int(t.Storage.Numel);
        Op((byte)'t'); Memoize(null);                          // TUPLE
        Op((byte)'Q');                                         // BINPERSID
        Int(t.Offset);
        Tuple(t.Size);
        Tuple(t.Stride);
        Op(t.RequiresGrad ? (byte)0x88 : (byte)0x89);          // NEWTRUE / NEWFALSE
        Global("collections", "OrderedDict");                  // the backward hooks: an empty OrderedDict
        Op((byte)')'); Op((byte)'R'); Memoize(null);           // EMPTY_TUPLE REDUCE
        if (v3) Global("torch", t.ElementType!["torch.".Length..]);   // the dtype, a global (torch.uint16)
        Op((byte)'t'); Memoize(null);                          // TUPLE of the six (seven) arguments
        Op((byte)'R'); Memoize(null);                          // REDUCE: the tensor
    }

    void Tuple(long[] values)
    {
        if (values.Length == 0)
        {
            Op((byte)')');                                     // EMPTY_TUPLE, never memoized
            return;
        }
        if (values.Length > 3) Op((byte)'(');
        foreach (var v in values) Int(v);
        Op(values.Length switch { 1 => (byte)0x85, 2 => (byte)0x86, 3 => (byte)0x87, _ => (byte)'t' });
        Memoize(null);
    }

    void Global(string module, string name)
    {
        var key = $"global {module}.{name}";
        if (Recall(key)) return;
        Op((byte)'c');
        Bytes(Encoding.ASCII.GetBytes($"{module}\n{name}\n"));
        Memoize(key);
    }

    void String(string value, string? memoName)
    {
        if (memoName is not null && Recall(memoName)) return;
        var utf8 = Encoding.UTF8.GetBytes(value);
        Op((byte)'X');                                         // BINUNICODE
        Span<byte> length = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(length, (uint)utf8.Length);
        Bytes(length);
        Bytes(utf8);
        Memoize(memoName);
    }

    // The C pickler's save_long: the shortest of BININT1, BININT2, BININT, else LONG1.
    void Int(long v)
    {
        Span<byte> b = stackalloc byte[8];
        if (v >= 0 && v <= 0xff) { Op((byte)'K'); Op((byte)v); }
        else if (v >= 0 && v <= 0xffff) { Op((byte)'M'); BinaryPrimitives.WriteUInt16LittleEndian(b, (ushort)v); Bytes(b[..2]); }
        else if (v >= int.MinValue && v <= int.MaxValue) { Op((byte)'J'); BinaryPrimitives.WriteInt32LittleEndian(b, (int)v); Bytes(b[..4]); }
        else
        {
            // Two's complement, little-endian, in the fewest bytes that keep the sign.
            BinaryPrimitives.WriteInt64LittleEndian(b, v);
            int n = 8;
            while (n > 1 && ((b[n - 1] == 0 && b[n - 2] < 0x80) || (b[n - 1] == 0xff && b[n - 2] >= 0x80))) n--;
            Op(0x8a); Op((byte)n); Bytes(b[..n]);
        }
    }

    // BINPUT (LONG_BINPUT past 255) of the next memo slot; named slots can be recalled later.
    void Memoize(string? name)
    {
        int index = _memo.Count + _unnamed;
        if (name is not null) _memo[name] = index;
        else _unnamed++;
        Put(index, (byte)'q', (byte)'r');
    }

    bool Recall(string name)
    {
        if (!_memo.TryGetValue(name, out int index)) return false;
        Put(index, (byte)'h', (byte)'j');                      // BINGET / LONG_BINGET
        return true;
    }

    void Put(int index, byte shortOp, byte longOp)
    {
        if (index < 256) { Op(shortOp); Op((byte)index); return; }
        Span<byte> b = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(b, (uint)index);
        Op(longOp); Bytes(b);
    }

    void Op(byte b) => _out.WriteByte(b);

    void Bytes(ReadOnlySpan<byte> bytes) => _out.Write(bytes);
}
