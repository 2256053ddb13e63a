using MetaGrad.NN;
using System.Numerics;
using System.Numerics.Tensors;

namespace MetaGrad.Backends.Cpu;

// A recurrent layer's direction as one kernel. Composed of tensor operations, a step is a dozen
// small nodes, each with its own allocation and pass over the gates, and per-step overhead is what
// makes recurrent models slow. Here a step is one matrix product for the recurrent half and one
// pass over the gates; the backward runs the steps in reverse with one product each for the state's
// gradient, and the weight's gradient is a single product over all steps at the end.
internal sealed partial class CpuBackend
{
    public RecurrentTrace RecurrentForward(RecurrentKind kind, RawTensor gi, RawTensor h0, RawTensor? c0, RawTensor weightHh, RawTensor? biasHh, RawTensor? biasIh,
        int[] batchSizes, bool reverse, bool trace) => gi.DType == DType.Float32
        ? RecurrentForwardTyped<float>(kind, gi, h0, c0, weightHh, biasHh, biasIh, batchSizes, reverse, trace)
        : RecurrentForwardTyped<double>(kind, gi, h0, c0, weightHh, biasHh, biasIh, batchSizes, reverse, trace);

    public RecurrentGradients RecurrentBackward(RecurrentKind kind, RecurrentTrace trace, RecurrentStateGradients gradStates, RawTensor weightHh,
        int[] batchSizes, bool reverse, bool withBiasIh, bool overwriteGates) => gradStates.DType == DType.Float32
        ? RecurrentBackwardTyped<float>(kind, trace, gradStates, weightHh, batchSizes, reverse, withBiasIh, overwriteGates)
        : RecurrentBackwardTyped<double>(kind, trace, gradStates, weightHh, batchSizes, reverse, withBiasIh, overwriteGates);

    /// <summary>A tensor's elements as one dense run: its own, or a contiguous copy's (see <see cref="DenseRun{T}"/>: hold it in a using declaration).</summary>
    static DenseRun<T> Dense<T>(RawTensor t) where T : unmanaged
    {
        if (!t.Layout.IsContiguous) t = Contiguous(t);
        return new DenseRun<T>(Data<T>(t), t.Layout.Offset, t.Storage);
    }

    /// <summary><see cref="Dense{T}(RawTensor)"/> of an optional tensor: an empty run (Array null) for none.</summary>
    static DenseRun<T> Dense<T>(RawTensor? t) where T : unmanaged => t is { } some ? Dense<T>(some) : default;

    /// <summary>
    /// Elements from Array[Offset] on, and the storage they belong to. A kernel reads the array long
    /// after the last use of the tensor it came from; when that tensor is a temporary (a contiguous
    /// copy of a strided input), nothing else keeps its storage reachable, a collection in the
    /// middle of the kernel finalizes the storage's pool lease, and the next Rent of that length
    /// (the kernel's own output, often) gets the array while it is still being read. So kernels
    /// hold a run in a using declaration, whose Dispose keeps the storage alive to the end.
    /// </summary>
    readonly struct DenseRun<T>(T[]? array, int offset, Storage? owner) : IDisposable where T : unmanaged
    {
        public T[]? Array => array;
        public int Offset => offset;
        public void Deconstruct(out T[] values, out int at) => (values, at) = (array!, offset);
        public void Dispose() => GC.KeepAlive(owner);
    }

    /// <summary>Where each step's rows start, and the steps in the order the forward visits them.</summary>
    static (int[] Offsets, int[] Order) Schedule(int[] batchSizes, bool reverse)
    {
        int steps = batchSizes.Length;
        var offsets = new int[steps];
        for (int t = 1; t < steps; t++) offsets[t] = offsets[t - 1] + batchSizes[t - 1];
        var order = new int[steps];
        for (int s = 0; s < steps; s++) order[s] = reverse ? steps - 1 - s : s;
        return (offsets, order);
    }

    static RecurrentTrace RecurrentForwardTyped<T>(RecurrentKind kind, RawTensor giT, RawTensor h0T, RawTensor? c0T, RawTensor weightT, RawTensor? biasT, RawTensor? biasIhT,
        int[] batchSizes, bool reverse, bool trace) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int width = weightT.Layout.Shape[0], hidden = weightT.Layout.Shape[1], n = h0T.Layout.Shape[0];
        int rows = batchSizes.Sum(), widest = batchSizes.Length == 0 ? 0 : batchSizes.Max();
        bool lstm = kind == RecurrentKind.Lstm, gru = kind == RecurrentKind.Gru;
        var (offsets, order) = Schedule(batchSizes, reverse);

        // The running state lives where the final state is returned: rows..rows+N of States (then c).
        var states = NewUninitialized<T>([rows + (lstm ? 2 : 1) * n, hidden]);
        var S = Data<T>(states);
        int hAt = rows * hidden, cAt = (rows + n) * hidden;
        using (var h0 = Dense<T>(h0T)) h0.Array.AsSpan(h0.Offset, n * hidden).CopyTo(S.AsSpan(hAt));
        if (lstm)
            using (var c0 = Dense<T>(c0T!.Value)) c0.Array.AsSpan(c0.Offset, n * hidden).CopyTo(S.AsSpan(cAt));
        using var gi = Dense<T>(giT);
        using var weight = Dense<T>(weightT);
        using var bias = Dense<T>(biasT);
        var (G, gAt) = gi;
        var (W, wAt) = weight;
        var (B, bAt) = (bias.Array, bias.Offset);
        // b_ih joins each row of gi here (gi + b_ih, then added to the recurrent half, the order of
        // PyTorch's (x·W_ihᵀ + b_ih) + (h·W_hhᵀ + b_hh)): its gradient is then a sum this layer's
        // backward already makes, where a bias in the input product cost a pass over gi's gradient.
        using var biasIh = Dense<T>(biasIhT);
        var (BI, biAt) = (biasIh.Array, biasIh.Offset);

        // GRU keeps W_hn·h + b_hn beside its three gates: the reset gate's gradient needs it.
        int gateWidth = gru ? 4 * hidden : width;
        RawTensor? gates = trace && (lstm || gru) ? NewUninitialized<T>([rows, gateWidth]) : default(RawTensor?);
        RawTensor? previous = trace ? NewUninitialized<T>([rows, hidden]) : default(RawTensor?);
        RawTensor? cells = trace && lstm ? NewUninitialized<T>([rows, 2 * hidden]) : default(RawTensor?);
        var P = previous is null ? null : Data<T>(previous.Value);
        var C = cells is null ? null : Data<T>(cells.Value);
        // W_hhᵀ is the B of every step's product: packed once when there is more than one step.
        var packed = order.Length > 1 ? Gemm.Pack(hidden, width, StridedMatrix.Of(W, wAt, 1, hidden)) : null;
        int parts = BatchParts(n, widest, width, hidden, order.Length);

        // Rows [lo, hi) of the batch through every step (see BatchParts).
        void Run(int part)
        {
            var (lo, hi) = PartRows(n, parts, part);
            var A = gates is null ? new T[gateWidth] : Data<T>(gates.Value);
            // Each step's product writes the rows it reads: no zeroing, and no new large array a step.
            var R = ScratchOf<T>(Math.Max(0, Math.Min(hi, widest) - lo) * width, clear: false);
            var scratch = new T[hidden];
            var inputs = BI is null || lstm ? null : new T[width];
            foreach (int t in order)
            {
                int first = offsets[t], count = Math.Min(hi, batchSizes[t]) - lo;
                if (count <= 0) continue;
                int stateAt = hAt + lo * hidden;
                if (P is not null) S.AsSpan(stateAt, count * hidden).CopyTo(P.AsSpan((first + lo) * hidden));
                // R = h·W_hhᵀ: W read through transposed strides, no copy.
                if (packed is null) Gemm.Multiply(count, width, hidden, StridedMatrix.Of(S, stateAt, hidden, 1), StridedMatrix.Of(W, wAt, 1, hidden), R, 0, parallel: parts == 1);
                else Gemm.Multiply(count, StridedMatrix.Of(S, stateAt, hidden, 1), packed, R, 0, parallel: parts == 1);
                for (int k = 0; k < count; k++)
                {
                    int r = lo + k;
                    var recurrent = R.AsSpan(k * width, width);
                    if (B is not null && !lstm) TensorPrimitives.Add(recurrent, B.AsSpan(bAt, width), recurrent);
                    ReadOnlySpan<T> input = G.AsSpan(gAt + (first + r) * width, width);
                    if (inputs is not null)
                    {
                        TensorPrimitives.Add(input, BI.AsSpan(biAt, width), inputs);
                        input = inputs;
                    }
                    var h = S.AsSpan(hAt + r * hidden, hidden);
                    var output = S.AsSpan((first + r) * hidden, hidden);
                    var a = A.AsSpan(gates is null ? 0 : (first + r) * gateWidth, gateWidth);
                    switch (kind)
                    {
                        case RecurrentKind.RnnTanh:
                            TensorPrimitives.Add(recurrent, input, recurrent);
                            FloatMath.Tanh<T>(recurrent, output);
                            break;
                        case RecurrentKind.RnnRelu:
                            TensorPrimitives.Add(recurrent, input, recurrent);
                            TensorPrimitives.Max(recurrent, T.Zero, output);
                            break;
                        case RecurrentKind.Lstm:
                            // c' = σ(f)⊙c + σ(i)⊙tanh(g),  h' = σ(o)⊙tanh(c'), c kept in place, the trace beside it
                            LstmRow<T>(recurrent, B is null ? default : B.AsSpan(bAt, width),
                                input, BI is null ? default : BI.AsSpan(biAt, width),
                                a, S.AsSpan(cAt + r * hidden, hidden),
                                C is null ? default : C.AsSpan((first + r) * 2 * hidden, hidden),
                                C is null ? scratch : C.AsSpan((first + r) * 2 * hidden + hidden, hidden), output);
                            break;
                        default:
                        {
                            // r, z = σ(both halves); n = tanh(x_n + r⊙(W_hn·h + b_hn)); h' = n + z⊙(h - n)
                            var rz = a[..(2 * hidden)];
                            TensorPrimitives.Add(input[..(2 * hidden)], recurrent[..(2 * hidden)], rz);
                            FloatMath.Sigmoid<T>(rz, rz);
                            var hn = a.Slice(3 * hidden, hidden);
                            recurrent.Slice(2 * hidden, hidden).CopyTo(hn);
                            var next = a.Slice(2 * hidden, hidden);
                            TensorPrimitives.MultiplyAdd(rz[..hidden], hn, input.Slice(2 * hidden, hidden), next);
                            FloatMath.Tanh<T>(next, next);
                            TensorPrimitives.Subtract(h, next, scratch);
                            TensorPrimitives.MultiplyAdd(rz.Slice(hidden, hidden), scratch, next, output);
                            break;
                        }
                    }
                    output.CopyTo(h);
                }
            }
            ReleaseScratch(R);
        }
        Threading.For(parts, Run);
        packed?.Release();
        return new RecurrentTrace(states, gates, previous, cells);
    }

    static RecurrentGradients RecurrentBackwardTyped<T>(RecurrentKind kind, RecurrentTrace trace, RecurrentStateGradients gradStates, RawTensor weightT,
        int[] batchSizes, bool reverse, bool withBiasIh, bool overwriteGates) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int width = weightT.Layout.Shape[0], hidden = weightT.Layout.Shape[1];
        int rows = batchSizes.Sum(), widest = batchSizes.Length == 0 ? 0 : batchSizes.Max();
        bool lstm = kind == RecurrentKind.Lstm, gru = kind == RecurrentKind.Gru;
        int n = trace.States.Layout.Shape[0] - rows;
        if (lstm) n /= 2;
        var (offsets, order) = Schedule(batchSizes, reverse);
        using var gradOutput = Dense<T>(gradStates.Output);
        using var gradH = Dense<T>(gradStates.H);
        using var gradC = Dense<T>(gradStates.C);
        using var weight = Dense<T>(weightT);
        // A row's output gradient, zeros where no gradient reached the outputs.
        var zeros = gradOutput.Array is null ? new T[hidden] : null;
        ReadOnlySpan<T> OutputGradient(int row) => zeros ?? gradOutput.Array.AsSpan(gradOutput.Offset + row * hidden, hidden);
        var S = Data<T>(trace.States);
        var (W, wAt) = weight;
        var A = trace.Gates is null ? null : Data<T>(trace.Gates.Value);
        var P = Data<T>(trace.Previous!.Value);
        var C = trace.Cells is null ? null : Data<T>(trace.Cells.Value);
        int gateWidth = gru ? 4 * hidden : width;

        // dGh is the gradient of the gates' recurrent half; the input half's is the same except
        // for GRU's n, where the reset gate scales the recurrent half only. An LSTM row's gate
        // gradients depend on that row's gates alone, read before they are written: written over a
        // trace no one reads again, they land in lines the row has just brought into cache, where
        // each line of a new buffer costs a trip to memory first (and the buffer as much memory).
        var dRecurrent = lstm && overwriteGates ? trace.Gates!.Value : NewUninitialized<T>([rows, width]);
        var dInput = gru ? NewUninitialized<T>([rows, width]) : dRecurrent;
        var dGh = Data<T>(dRecurrent);
        var dGi = Data<T>(dInput);
        // The running gradients of h and c start as those of the final states.
        var dh0 = NewUninitialized<T>([n, hidden]);
        var dH = Data<T>(dh0);
        if (gradH.Array is null) dH.AsSpan(0, n * hidden).Clear();
        else gradH.Array.AsSpan(gradH.Offset, n * hidden).CopyTo(dH);
        RawTensor? dc0 = null;
        T[]? dC = null;
        if (lstm)
        {
            dc0 = NewUninitialized<T>([n, hidden]);
            dC = Data<T>(dc0.Value);
            if (gradC.Array is null) dC.AsSpan(0, n * hidden).Clear();
            else gradC.Array.AsSpan(gradC.Offset, n * hidden).CopyTo(dC);
        }
        var packed = order.Length > 1 ? Gemm.Pack(width, hidden, StridedMatrix.Of(W, wAt, hidden, 1)) : null;
        int parts = BatchParts(n, widest, width, hidden, order.Length);
        // db_hh = Σ_rows dGh, summed by each part over its rows while they are in cache (a pass over
        // all of dGh afterwards ran on one thread), then over the parts.
        var biasParts = new T[parts][];
        // db_ih sums gi's gradient: the same rows as db_hh except for GRU's n gate.
        var inputBiasParts = withBiasIh && gru ? new T[parts][] : null;

        // Rows [lo, hi) of the batch back through every step (see BatchParts).
        void Run(int part)
        {
            var (lo, hi) = PartRows(n, parts, part);
            var through = new T[Math.Max(0, Math.Min(hi, widest) - lo) * hidden];
            var dBias = biasParts[part] = new T[width];
            var dInputBias = inputBiasParts is null ? null : inputBiasParts[part] = new T[width];
            for (int s = order.Length - 1; s >= 0; s--)
            {
                int t = order[s], first = offsets[t], count = Math.Min(hi, batchSizes[t]) - lo;
                if (count <= 0) continue;
                for (int r = lo; r < lo + count; r++)
                {
                    int row = first + r;
                    var dh = dH.AsSpan(r * hidden, hidden);
                    var d = dGh.AsSpan(row * width, width);
                    if (lstm)
                    {
                        LstmBackwardRow<T>(dh, OutputGradient(row), dC!.AsSpan(r * hidden, hidden), A!.AsSpan(row * gateWidth, gateWidth),
                            C!.AsSpan(row * 2 * hidden, 2 * hidden), d, dBias);
                        continue;
                    }
                    TensorPrimitives.Add(dh, OutputGradient(row), dh);
                    switch (kind)
                    {
                        case RecurrentKind.RnnTanh:
                            TanhBackward<T>(dh, S.AsSpan(row * hidden, hidden), d);
                            break;
                        case RecurrentKind.RnnRelu:
                            ReluBackwardRow<T>(dh, S.AsSpan(row * hidden, hidden), d);
                            break;
                        default:
                            GruBackward<T>(dh, A!.AsSpan(row * gateWidth, gateWidth), P.AsSpan(row * hidden, hidden), d, dGi.AsSpan(row * width, width));
                            break;
                    }
                    TensorPrimitives.Add(dBias, d, dBias);
                    if (dInputBias is not null) TensorPrimitives.Add(dInputBias, dGi.AsSpan(row * width, width), dInputBias);
                }
                // dh_prev = dGates·W_hh (plus GRU's direct path z⊙dh', already in dh).
                int gatesAt = (first + lo) * width;
                if (packed is null) Gemm.Multiply(count, hidden, width, StridedMatrix.Of(dGh, gatesAt, width, 1), StridedMatrix.Of(W, wAt, hidden, 1), through, 0, parallel: parts == 1);
                else Gemm.Multiply(count, StridedMatrix.Of(dGh, gatesAt, width, 1), packed, through, 0, parallel: parts == 1);
                var dhRows = dH.AsSpan(lo * hidden, count * hidden);
                if (gru) TensorPrimitives.Add(dhRows, through.AsSpan(0, count * hidden), dhRows);
                else through.AsSpan(0, count * hidden).CopyTo(dhRows);
            }
        }
        Threading.For(parts, Run);
        packed?.Release();

        // dW_hh = Σ_rows dGhᵀ·h_prev, one product.
        var dWeight = NewUninitialized<T>([width, hidden]);
        Gemm.Multiply(width, hidden, rows, StridedMatrix.Of(dGh, 0, 1, width), StridedMatrix.Of(P, trace.Previous!.Value.Layout.Offset, hidden, 1), Data<T>(dWeight), 0);
        var dBias = New<T>([width]);
        var dB = Data<T>(dBias).AsSpan(0, width);
        foreach (var part in biasParts) TensorPrimitives.Add(dB, part, dB);
        RawTensor? dBiasIh = null;
        if (withBiasIh)
        {
            dBiasIh = New<T>([width]);
            var dBI = Data<T>(dBiasIh.Value).AsSpan(0, width);
            if (inputBiasParts is null) dB.CopyTo(dBI);
            else foreach (var part in inputBiasParts) TensorPrimitives.Add(dBI, part, dBI);
        }
        return new RecurrentGradients(dInput, dh0, dc0, dWeight, dBias, dBiasIh);
    }

    // The sequences of a batch never interact, forwards or backwards: with several threads each
    // runs the whole time loop for its share of the batch, with no synchronisation per step (a
    // step's product is too small to split well: two parallel regions a step cost more than they
    // gained). Each share keeps at least 8 sequences, and the work must be worth a thread.
    internal static int BatchParts(int n, int widest, int width, int hidden, int steps)
    {
        int threads = Threading.NumThreads;
        if (threads == 1 || (long)widest * width * hidden * steps < Gemm.ParallelWork) return 1;
        return Math.Clamp(n / 8, 1, threads);
    }

    static (int Lo, int Hi) PartRows(int n, int parts, int part) => (part * n / parts, (part + 1) * n / parts);

    // h = tanh(pre): d pre = dh·(1 - h²)
    static void TanhBackward<T>(ReadOnlySpan<T> dh, ReadOnlySpan<T> h, Span<T> d) where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int j = 0; j < dh.Length; j++) d[j] = dh[j] * (T.One - h[j] * h[j]);
    }

    // h = relu(pre): the gradient passes where the output is positive (PyTorch's threshold_backward).
    static void ReluBackwardRow<T>(ReadOnlySpan<T> dh, ReadOnlySpan<T> h, Span<T> d) where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int j = 0; j < dh.Length; j++) d[j] = h[j] > T.Zero ? dh[j] : T.Zero;
    }

    // With a = (r, z, n, W_hn·h + b_hn) and h' = n + z⊙(h - n): n's pre-activation gradient goes to
    // the input half as is and to the recurrent half through r; dh keeps the direct path z⊙dh'.
    static void GruBackward<T>(Span<T> dh, ReadOnlySpan<T> a, ReadOnlySpan<T> hPrev, Span<T> dRecurrent, Span<T> dInput)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int hidden = dh.Length;
        for (int j = 0; j < hidden; j++)
        {
            T r = a[j], z = a[hidden + j], next = a[2 * hidden + j], hn = a[3 * hidden + j], g = dh[j];
            T dn = g * (T.One - z) * (T.One - next * next);
            T dz = g * (hPrev[j] - next) * z * (T.One - z);
            T dr = dn * hn * r * (T.One - r);
            dInput[j] = dRecurrent[j] = dr;
            dInput[hidden + j] = dRecurrent[hidden + j] = dz;
            dInput[2 * hidden + j] = dn;
            dRecurrent[2 * hidden + j] = dn * r;
            dh[j] = g * z;
        }
    }
}
