using System.Buffers.Binary;
using System.Text;

namespace MetaGrad.IO;

/// <summary>
/// A storage that a pickled tensor points at: PyTorch's persistent id ('storage', type, key, location, numel).
/// For a legacy typed storage (FloatStorage...) numel counts elements; for an UntypedStorage it counts bytes.
/// </summary>
internal sealed record TorchStorageRef(string TypeName, string Key, string Location, long Numel);

/// <summary>
/// What <c>torch._utils._rebuild_tensor_v2</c> (or <c>_v3</c>) would build, kept as plain numbers until every entry
/// is checked. <paramref name="ElementType"/> is the dtype that <c>_rebuild_tensor_v3</c> names (<c>torch.uint16</c>)
/// for a tensor over an UntypedStorage, and null for one over a legacy typed storage, whose class is its dtype.
/// </summary>
internal sealed record TorchTensorSpec(TorchStorageRef Storage, long Offset, long[] Size, long[] Stride, bool RequiresGrad, string? ElementType = null);

/// <summary>A pickled dict (plain or <c>collections.OrderedDict</c>), its entries in pickle order.</summary>
internal sealed class PickledDict
{
    public List<KeyValuePair<object?, object?>> Entries { get; } = [];
}

/// <summary>
/// A restricted unpickler for the <c>data.pkl</c> of a <c>torch.save</c> zip: a stack machine over the
/// opcodes that Python's pickler (protocols 2 to 4) writes for a state dict, and nothing else.
/// </summary>
/// <remarks>
/// Python's own unpickler imports whatever module and calls whatever callable a pickle names, so a
/// hostile <c>.pt</c> file runs code when loaded. This machine has no import and no call: a GLOBAL
/// becomes one of the few marker values below or is refused at once, and REDUCE applies only those
/// markers, building inert records (<see cref="TorchTensorSpec"/>, <see cref="PickledDict"/>). The
/// allow-list is the code's structure, not a filter in front of a general mechanism. (An existing
/// general unpickler such as Razorvine.Pickle would have meant registering constructors with a
/// machine able to build arbitrary objects, and then trusting that registry.)
/// </remarks>
internal sealed class TorchPickleReader
{
    // The globals that a state dict's pickle names, and what each becomes.
    enum Callable { OrderedDict, RebuildTensorV2, RebuildTensorV3, RebuildParameter }

    sealed record StorageType(string Name);

    // A torch.dtype global (torch.uint16): the seventh argument of _rebuild_tensor_v3.
    sealed record TorchDTypeName(string Name);

    /// <summary>
    /// The dtypes PyTorch 2.x pickles through _rebuild_tensor_v3 over an UntypedStorage instead of a legacy
    /// storage class (torch.storage._new_dtypes()). They are read as names; PyTorchFiles holds or refuses each.
    /// </summary>
    static readonly string[] V3DTypes = ["uint16", "uint32", "uint64", "float8_e5m2", "float8_e4m3fn", "float8_e5m2fnuz",
        "float8_e4m3fnuz", "float8_e8m0fnu", "bits8", "bits16", "bits1x8", "bits2x4", "bits4x2", "complex32"];

    sealed class None
    {
        public static readonly None Instance = new();
    }

    /// <summary>Every global the reader accepts, for error messages.</summary>
    static readonly string AllowedGlobals = "collections.OrderedDict, torch._utils._rebuild_tensor_v2, torch._utils._rebuild_tensor_v3, " +
        "torch._utils._rebuild_parameter, torch.storage.UntypedStorage, the dtypes " + string.Join(", ", V3DTypes.Select(n => "torch." + n)) +
        " and the storage classes " + string.Join(", ", PyTorchFiles.StorageTypeNames.Select(n => "torch." + n));

    readonly byte[] _data;
    readonly string _name;
    int _pos;
    readonly List<object?> _stack = [];
    readonly List<int> _marks = [];
    readonly Dictionary<long, object?> _memo = [];

    TorchPickleReader(byte[] data, string name) => (_data, _name) = (data, name);

    /// <summary>Runs the pickle to its STOP and returns the value it leaves.</summary>
    /// <param name="data">The pickle's bytes.</param>
    /// <param name="name">Names the file in error messages (<c>model.pt: data.pkl</c>).</param>
    /// <exception cref="InvalidDataException">An opcode or a global outside the allow-list, or a malformed pickle.</exception>
    public static object? Run(byte[] data, string name) => new TorchPickleReader(data, name).Run();

    object? Run()
    {
        while (true)
        {
            if (_pos >= _data.Length) throw Invalid("the pickle ends before its STOP opcode: the file is truncated");
            int at = _pos;
            byte op = _data[_pos++];
            switch (op)
            {
                case 0x80: // PROTO
                    int protocol = ReadByte();
                    if (protocol > 5) throw Invalid($"pickle protocol {protocol} is newer than any Python writes");
                    break;
                case 0x95: Skip(8); break;                       // FRAME: a length hint only
                case (byte)'.':                                  // STOP
                    if (_stack.Count != 1 || _marks.Count > 0) throw Invalid($"STOP at byte {at} leaves {_stack.Count} values on the stack, not one");
                    return _stack[0];

                case (byte)'c': Push(Global(ReadLine(), ReadLine(), at)); break;   // GLOBAL
                case (byte)'R': Reduce(at); break;
                case (byte)'Q': Push(PersistentLoad(Pop(at), at)); break;          // BINPERSID
                case (byte)'b': Build(at); break;

                case (byte)'q': _memo[ReadByte()] = Top(at); break;              // BINPUT
                case (byte)'r': _memo[ReadUInt32()] = Top(at); break;            // LONG_BINPUT
                case 0x94: _memo[_memo.Count] = Top(at); break;                  // MEMOIZE
                case (byte)'h': Push(Recall(ReadByte(), at)); break;             // BINGET
                case (byte)'j': Push(Recall(ReadUInt32(), at)); break;           // LONG_BINGET

                case (byte)'(': _marks.Add(_stack.Count); break;                 // MARK
                case (byte)'0': Pop(at); break;                                  // POP
                case (byte)'1': PopMark(at); break;                              // POP_MARK
                case (byte)'2': Push(Top(at)); break;                            // DUP

                case (byte)'N': Push(None.Instance); break;
                case 0x88: Push(true); break;                                    // NEWTRUE
                case 0x89: Push(false); break;                                   // NEWFALSE
                case (byte)'K': Push((long)ReadByte()); break;                   // BININT1
                case (byte)'M': Push((long)BinaryPrimitives.ReadUInt16LittleEndian(Take(2))); break;   // BININT2
                case (byte)'J': Push((long)BinaryPrimitives.ReadInt32LittleEndian(Take(4))); break;    // BININT
                case 0x8a: Push(ReadLong(ReadByte(), at)); break;                // LONG1
                case (byte)'G': Push(BinaryPrimitives.ReadDoubleBigEndian(Take(8))); break;            // BINFLOAT
                case (byte)'X': Push(ReadString(ReadUInt32(), at)); break;       // BINUNICODE
                case 0x8c: Push(ReadString(ReadByte(), at)); break;              // SHORT_BINUNICODE

                case (byte)')': Push(Array.Empty<object?>()); break;             // EMPTY_TUPLE
                case 0x85: Push(PopN(1, at)); break;                             // TUPLE1
                case 0x86: Push(PopN(2, at)); break;                             // TUPLE2
                case 0x87: Push(PopN(3, at)); break;                             // TUPLE3
                case (byte)'t': Push(PopMark(at).ToArray()); break;              // TUPLE
                case (byte)']': Push(new List<object?>()); break;                // EMPTY_LIST
                case (byte)'a': Append(at, [Pop(at)]); break;                    // APPEND
                case (byte)'e': Append(at, PopMark(at)); break;                  // APPENDS
                case (byte)'}': Push(new PickledDict()); break;                  // EMPTY_DICT
                case (byte)'s': SetItems(at, PopN(2, at)); break;                // SETITEM
                case (byte)'u': SetItems(at, PopMark(at).ToArray()); break;      // SETITEMS

                default:
                    throw Invalid($"opcode 0x{op:x2} ('{(op >= 0x20 && op < 0x7f ? (char)op : '?')}') at byte {at} is not one that a PyTorch state dict uses; refused");
            }
        }
    }

    object Global(string module, string name, int at) => (module, name) switch
    {
        ("collections", "OrderedDict") => Callable.OrderedDict,
        ("torch._utils", "_rebuild_tensor_v2") => Callable.RebuildTensorV2,
        ("torch._utils", "_rebuild_tensor_v3") => Callable.RebuildTensorV3,
        ("torch._utils", "_rebuild_parameter") => Callable.RebuildParameter,
        ("torch", _) when PyTorchFiles.StorageTypeNames.Contains(name) => new StorageType(name),   // its dtype is checked later, by key
        ("torch.storage", "UntypedStorage") => new StorageType(UntypedStorage),
        ("torch", _) when V3DTypes.Contains(name) => new TorchDTypeName("torch." + name),
        _ => throw Invalid($"refused the global {module}.{name} at byte {at}: only {AllowedGlobals} may appear in a state dict. " +
                           "Python's torch.load without weights_only=True would import it and may run it; MetaGrad never does"),
    };

    void Reduce(int at)
    {
        var args = Pop(at) as object?[] ?? throw Invalid($"REDUCE at byte {at} expects a tuple of arguments");
        var callable = Pop(at);
        Push(callable switch
        {
            Callable.OrderedDict when args.Length == 0 => new PickledDict(),
            Callable.RebuildTensorV2 => RebuildTensor(args, at),
            Callable.RebuildTensorV3 => RebuildTensorV3(args, at),
            Callable.RebuildParameter when args is [TorchTensorSpec data, bool requiresGrad, _] => data with { RequiresGrad = requiresGrad },
            Callable c => throw Invalid($"REDUCE at byte {at}: {Name(c)} was called with {args.Length} arguments of a shape a state dict never has"),
            _ => throw Invalid($"REDUCE at byte {at} applies {Describe(callable)}, which is not callable here"),
        });
    }

    // _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata]).
    TorchTensorSpec RebuildTensor(object?[] args, int at)
    {
        if (args is not [TorchStorageRef storage, long offset, object?[] size, object?[] stride, bool requiresGrad, PickledDict, ..] || args.Length > 7)
            throw Invalid($"_rebuild_tensor_v2 at byte {at} expects (storage, offset, size, stride, requires_grad, hooks), found ({string.Join(", ", args.Select(Describe))})");
        if (storage.TypeName == UntypedStorage)
            throw Invalid($"_rebuild_tensor_v2 at byte {at} rebuilds a tensor over a torch.storage.UntypedStorage, which names no dtype (PyTorch pairs one with _rebuild_tensor_v3)");
        return new TorchTensorSpec(storage, offset, Longs(size, "size", at), Longs(stride, "stride", at), requiresGrad);
    }

    // _rebuild_tensor_v3(storage, storage_offset, size, stride, requires_grad, backward_hooks, dtype[, metadata]):
    // what PyTorch 2.x writes for the dtypes of torch.storage._new_dtypes(), over an UntypedStorage counted in bytes.
    TorchTensorSpec RebuildTensorV3(object?[] args, int at)
    {
        if (args is not [TorchStorageRef storage, long offset, object?[] size, object?[] stride, bool requiresGrad, PickledDict, TorchDTypeName dtype, ..] || args.Length > 8)
            throw Invalid($"_rebuild_tensor_v3 at byte {at} expects (storage, offset, size, stride, requires_grad, hooks, dtype), found ({string.Join(", ", args.Select(Describe))})");
        if (storage.TypeName != UntypedStorage)
            throw Invalid($"_rebuild_tensor_v3 at byte {at} rebuilds a {dtype.Name} tensor over a torch.{storage.TypeName}; PyTorch writes it over a torch.storage.UntypedStorage");
        return new TorchTensorSpec(storage, offset, Longs(size, "size", at), Longs(stride, "stride", at), requiresGrad, dtype.Name);
    }

    /// <summary>The type name a TorchStorageRef has when its persistent id names torch.storage.UntypedStorage.</summary>
    internal const string UntypedStorage = "UntypedStorage";

    long[] Longs(object?[] tuple, string what, int at) =>
        tuple.Select(x => x is long v ? v : throw Invalid($"_rebuild_tensor_v2 at byte {at}: the {what} holds {Describe(x)}, not an integer")).ToArray();

    // ('storage', torch.FloatStorage, key, location, numel): the only persistent id torch.save writes.
    TorchStorageRef PersistentLoad(object? pid, int at)
    {
        if (pid is not object?[] { Length: 5 } t || t[0] is not "storage" || t[1] is not StorageType type
            || t[2] is not string key || t[3] is not string location || t[4] is not long numel || numel < 0)
            throw Invalid($"BINPERSID at byte {at}: expected ('storage', type, key, location, numel), found {Describe(pid)}");
        return new TorchStorageRef(type.Name, key, location, numel);
    }

    // An OrderedDict's attributes (a state dict's _metadata, which version each module wrote): kept by nothing.
    void Build(int at)
    {
        var state = Pop(at);
        if (Top(at) is not PickledDict || state is not PickledDict)
            throw Invalid($"BUILD at byte {at} sets the state of {Describe(Top(at))}: only an OrderedDict's attributes are allowed");
    }

    void Append(int at, IEnumerable<object?> items)
    {
        if (Top(at) is not List<object?> list) throw Invalid($"APPEND at byte {at} needs a list below, found {Describe(Top(at))}");
        list.AddRange(items);
    }

    void SetItems(int at, object?[] pairs)
    {
        if (pairs.Length % 2 != 0) throw Invalid($"SETITEMS at byte {at} has an odd number of values ({pairs.Length})");
        if (Top(at) is not PickledDict dict) throw Invalid($"SETITEM at byte {at} needs a dict below, found {Describe(Top(at))}");
        for (int i = 0; i < pairs.Length; i += 2) dict.Entries.Add(new(pairs[i], pairs[i + 1]));
    }

    // ---- stack and memo ----

    void Push(object? value) => _stack.Add(value);

    object? Top(int at) => _stack.Count > (_marks.Count > 0 ? _marks[^1] : 0)
        ? _stack[^1]
        : throw Invalid($"the opcode at byte {at} needs a value but the stack is empty");

    object? Pop(int at)
    {
        var value = Top(at);
        _stack.RemoveAt(_stack.Count - 1);
        return value;
    }

    object?[] PopN(int n, int at)
    {
        int floor = _marks.Count > 0 ? _marks[^1] : 0;
        if (_stack.Count - floor < n) throw Invalid($"the opcode at byte {at} needs {n} values but the stack holds {_stack.Count - floor}");
        var values = _stack.GetRange(_stack.Count - n, n).ToArray();
        _stack.RemoveRange(_stack.Count - n, n);
        return values;
    }

    List<object?> PopMark(int at)
    {
        if (_marks.Count == 0) throw Invalid($"the opcode at byte {at} needs a MARK and there is none");
        int mark = _marks[^1];
        _marks.RemoveAt(_marks.Count - 1);
        var values = _stack.GetRange(mark, _stack.Count - mark);
        _stack.RemoveRange(mark, _stack.Count - mark);
        return values;
    }

    object? Recall(long index, int at) =>
        _memo.TryGetValue(index, out var value) ? value : throw Invalid($"BINGET at byte {at} recalls memo entry {index}, which was never stored");

    // ---- operands ----

    ReadOnlySpan<byte> Take(long count)
    {
        if (count > _data.Length - _pos) throw Invalid($"an operand at byte {_pos} runs {count} bytes past the pickle's end: the file is truncated or corrupt");
        var span = _data.AsSpan(_pos, (int)count);
        _pos += (int)count;
        return span;
    }

    void Skip(int count) => Take(count);

    byte ReadByte() => Take(1)[0];

    long ReadUInt32() => BinaryPrimitives.ReadUInt32LittleEndian(Take(4));

    string ReadLine()
    {
        int end = Array.IndexOf(_data, (byte)'\n', _pos);
        if (end < 0) throw Invalid($"a GLOBAL at byte {_pos} has no end of line");
        return ReadString(end - _pos, _pos, skip: 1);
    }

    string ReadString(long length, int at, int skip = 0)
    {
        var bytes = Take(length);
        Skip(skip);
        try
        {
            return new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(bytes);
        }
        catch (DecoderFallbackException)
        {
            throw Invalid($"the string at byte {at} is not valid UTF-8");
        }
    }

    // LONG1: a little-endian two's-complement integer of n bytes; a state dict's fit in 64 bits.
    long ReadLong(int n, int at)
    {
        if (n > 8) throw Invalid($"LONG1 at byte {at} holds a {n}-byte integer, larger than any size or offset");
        var bytes = Take(n);
        if (n == 0) return 0;
        long value = (sbyte)bytes[n - 1];   // the top byte carries the sign
        for (int i = n - 2; i >= 0; i--) value = (value << 8) | bytes[i];
        return value;
    }

    static string Describe(object? value) => value switch
    {
        null or None => "None",
        string s => $"the string \"{s}\"",
        long v => $"the integer {v}",
        bool b => b ? "True" : "False",
        double d => $"the float {d}",
        object?[] t => $"a tuple of {t.Length}",
        List<object?> => "a list",
        PickledDict => "a dict",
        TorchTensorSpec => "a tensor",
        TorchStorageRef => "a storage",
        StorageType { Name: UntypedStorage } => "torch.storage.UntypedStorage",
        StorageType s => $"torch.{s.Name}",
        TorchDTypeName d => d.Name,
        Callable c => Name(c),
        _ => value.GetType().Name,
    };

    static string Name(Callable c) => c switch
    {
        Callable.OrderedDict => "collections.OrderedDict",
        Callable.RebuildTensorV2 => "torch._utils._rebuild_tensor_v2",
        Callable.RebuildTensorV3 => "torch._utils._rebuild_tensor_v3",
        _ => "torch._utils._rebuild_parameter",
    };

    InvalidDataException Invalid(string problem) => new($"{_name}: {problem}");

    /// <summary>What kind of value this is, for messages about a file's entries ("an integer", "a dict").</summary>
    internal static string KindOf(object? value) => value switch
    {
        null or None => "None",
        string => "a string",
        long => "an integer",
        double => "a float",
        bool => "a bool",
        PickledDict => "a dict",
        TorchTensorSpec => "a tensor",
        List<object?> => "a list",
        object?[] => "a tuple",
        _ => Describe(value),
    };
}
