using CsCheck;
using MetaGrad.Conformance.Harness;
using F = MetaGrad.NN.Functional;
using TF = TorchSharp.torch.nn.functional;
using torch = TorchSharp.torch;

namespace MetaGrad.Conformance;

/// <summary>
/// Convolutions, their transposes, pooling, unfold/fold and the non-constant paddings against
/// libtorch (values and gradients of every input, float64 and float32): generated shapes with
/// stride larger than the kernel, padding, dilation, groups, odd sizes, batch 1, views as inputs.
/// </summary>
public class ConvolutionConformance
{
    /// <summary>Kernel, stride, padding, dilation per dim (height, width) and the input size they fit.</summary>
    public sealed record Geometry(int Kh, int Kw, int Sh, int Sw, int Ph, int Pw, int Dh, int Dw, int H, int W)
    {
        public override string ToString() => $"k=({Kh},{Kw}) s=({Sh},{Sw}) p=({Ph},{Pw}) d=({Dh},{Dw}) in=({H},{W})";
    }

    // An input at least as large as the dilated kernel once padded (up to 4 more), stride up to 3
    // (larger than a kernel of 1 or 2), padding at most half the kernel when asked (pooling's rule).
    static Gen<Geometry> Geometries(bool halfKernelPadding = false, int maxDilation = 2) =>
        from kh in Gen.Int[1, 3]
        from kw in Gen.Int[1, 3]
        from sh in Gen.Int[1, 3]
        from sw in Gen.Int[1, 3]
        from ph in Gen.Int[0, halfKernelPadding ? kh / 2 : 2]
        from pw in Gen.Int[0, halfKernelPadding ? kw / 2 : 2]
        from dh in Gen.Int[1, maxDilation]
        from dw in Gen.Int[1, maxDilation]
        from eh in Gen.Int[0, 4]
        from ew in Gen.Int[0, 4]
        select new Geometry(kh, kw, sh, sw, ph, pw, dh, dw,
            Math.Max(1, dh * (kh - 1) + 1 - 2 * ph + eh), Math.Max(1, dw * (kw - 1) + 1 - 2 * pw + ew));

    // Max pooling without windows made of padding alone (possible once dilation spreads a kernel
    // past its padding): libtorch's forward gives such a window an index past the plane's edge, and
    // its backward then writes there, corrupting the heap ("free(): invalid next size", the test
    // process aborted). MetaGrad gives the same index and discards that gradient with the padding.
    static readonly Gen<Geometry> PoolGeometries = Geometries(halfKernelPadding: true)
        .Select(g => g with
        {
            Ph = g.Dh > 1 ? 0 : g.Ph, Pw = g.Dw > 1 ? 0 : g.Pw,
            H = g.Dh > 1 ? g.H + 2 * g.Ph : g.H, W = g.Dw > 1 ? g.W + 2 * g.Pw : g.W,
        });

    static long[] L(int a, int b) => [a, b];

    public sealed record ConvArgs(Geometry G, int Groups, bool Bias)
    {
        public override string ToString() => $"{G} groups={Groups} bias={Bias}";
    }

    static readonly Gen<(TensorSpec[], ConvArgs)> ConvCases =
        from g in Geometries()
        from n in Gen.Int[1, 3]
        from groups in Gen.Int[1, 3]
        from cPer in Gen.Int[1, 3]
        from oPer in Gen.Int[1, 2]
        from bias in Gen.Bool
        from x in Gens.Floats([n, groups * cPer, g.H, g.W], expand: false)
        from w in Gens.Floats([groups * oPer, cPer, g.Kh, g.Kw], expand: false)
        from b in Gens.Floats([groups * oPer], expand: false)
        select (bias ? new[] { x, w, b } : [x, w], new ConvArgs(g, groups, bias));

    // Dilation 1: with dilation 2, libtorch's conv_transpose2d aborted the process on one of 300
    // generated cases (heap corruption, as with pooling); dilated transposes are checked by finite
    // differences in ConvolutionTests instead.
    static readonly Gen<(TensorSpec[], ConvArgs)> ConvTransposeCases =
        from g0 in Geometries(maxDilation: 1)
        // Padding at most half the dilated kernel, so the output is never empty (libtorch does not
        // always refuse an empty transposed output cleanly).
        let g = g0 with { H = Math.Max(1, g0.H / 2), W = Math.Max(1, g0.W / 2), Ph = Math.Min(g0.Ph, g0.Dh * (g0.Kh - 1) / 2), Pw = Math.Min(g0.Pw, g0.Dw * (g0.Kw - 1) / 2) }
        from n in Gen.Int[1, 2]
        from groups in Gen.Int[1, 2]
        from cPer in Gen.Int[1, 3]
        from oPer in Gen.Int[1, 2]
        from bias in Gen.Bool
        from x in Gens.Floats([n, groups * cPer, g.H, g.W], expand: false)
        from w in Gens.Floats([groups * cPer, oPer, g.Kh, g.Kw], expand: false)
        from b in Gens.Floats([groups * oPer], expand: false)
        select (bias ? new[] { x, w, b } : [x, w], new ConvArgs(g, groups, bias));

    static Gen<(TensorSpec[], Geometry)> Images(Gen<Geometry> geometries, Gen<double>? values = null, bool distinct = false) =>
        from g in geometries
        from n in Gen.Int[1, 2]
        from c in Gen.Int[1, 3]
        from x in distinct ? Gens.DistinctFloats([n, c, g.H, g.W]) : Gens.Floats([n, c, g.H, g.W], values, expand: false)
        select (new[] { x }, g);

    // Geometries in depth as well: kernel, stride, padding (at most half the kernel when asked) and
    // dilation along D, and the depth they fit (up to 2 more).
    public sealed record Geometry3(Geometry G, int Kd, int Sd, int Pd, int Dd, int D)
    {
        public override string ToString() => $"{G} kd={Kd} sd={Sd} pd={Pd} dd={Dd} depth={D}";
    }

    static Gen<Geometry3> Geometries3(Gen<Geometry> planes, bool halfKernelPadding, int maxDilation) =>
        from g in planes
        from kd in Gen.Int[1, 3]
        from sd in Gen.Int[1, 2]
        from pd in Gen.Int[0, halfKernelPadding ? kd / 2 : 1]
        from dd in Gen.Int[1, maxDilation]
        from ed in Gen.Int[0, 2]
        select new Geometry3(g, kd, sd, pd, dd, Math.Max(1, dd * (kd - 1) + 1 - 2 * pd + ed));

    // Max pooling's rule (see PoolGeometries) along D too: no padding where the kernel is dilated.
    static readonly Gen<Geometry3> PoolGeometries3 = Geometries3(PoolGeometries, halfKernelPadding: true, maxDilation: 2)
        .Select(v => v.Dd > 1 ? v with { Pd = 0, D = v.D + 2 * v.Pd } : v);

    // libtorch's avg_pool3d (not its avg_pool2d) refuses an input smaller than the kernel before padding.
    static readonly Gen<Geometry3> AvgGeometries3 = Geometries3(Geometries(halfKernelPadding: true, maxDilation: 1), halfKernelPadding: true, maxDilation: 1)
        .Select(v => v with { D = Math.Max(v.D, v.Kd), G = v.G with { H = Math.Max(v.G.H, v.G.Kh), W = Math.Max(v.G.W, v.G.Kw) } });

    static Gen<(TensorSpec[], Geometry3)> Volumes(Gen<Geometry3> geometries, Gen<double>? values = null, bool distinct = false) =>
        from v in geometries
        from n in Gen.Int[1, 2]
        from c in Gen.Int[1, 2]
        from x in distinct ? Gens.DistinctFloats([n, c, v.D, v.G.H, v.G.W]) : Gens.Floats([n, c, v.D, v.G.H, v.G.W], values, expand: false)
        select (new[] { x }, v);

    // LP pooling has neither padding nor dilation: the padding the geometry fitted its size to goes into the input.
    static readonly Gen<Geometry> LpGeometries = Geometries(halfKernelPadding: true, maxDilation: 1)
        .Select(g => g with { H = g.H + 2 * g.Ph, W = g.W + 2 * g.Pw, Ph = 0, Pw = 0 });

    // libtorch computes in float64 (its results rounded for the float32 comparison): its own float32
    // convolutions on this CPU (NNPACK unsupported, a fallback taken) gave a wrong input gradient for
    // conv1d with stride 3 over a kernel of 2 (zeros at every other tap, float64 agreeing with us), and
    // a later float32 call aborted the process with "free(): invalid next size".
    static Op<P> Create<P>(string name, Gen<(TensorSpec[] Inputs, P Args)> cases, Func<Tensor[], P, Tensor> metaGrad, Func<torch.Tensor[], P, torch.Tensor> torch) =>
        Op.Create(name, cases, metaGrad, torch, oracle: DType.Float64);

    static Op<P> CreateMany<P>(string name, Gen<(TensorSpec[] Inputs, P Args)> cases, Func<Tensor[], P, Tensor[]> metaGrad, Func<torch.Tensor[], P, torch.Tensor[]> torch) =>
        Op.CreateMany(name, cases, metaGrad, torch, oracle: DType.Float64);

    static Tensor? Bias(Tensor[] x, ConvArgs a) => a.Bias ? x[2] : null;
    static torch.Tensor? Bias(torch.Tensor[] x, ConvArgs a) => a.Bias ? x[2] : null;

    static readonly OpTable Ops =
    [
        Create("Conv2d", ConvCases,
            (x, a) => F.Conv2d(x[0], x[1], Bias(x, a), (a.G.Sh, a.G.Sw), (a.G.Ph, a.G.Pw), (a.G.Dh, a.G.Dw), a.Groups),
            (x, a) => TF.conv2d(x[0], x[1], Bias(x, a), L(a.G.Sh, a.G.Sw), L(a.G.Ph, a.G.Pw), L(a.G.Dh, a.G.Dw), a.Groups)),
        Create("Conv2d(padding same)", ConvCases,
            (x, a) => F.Conv2d(x[0], x[1], Bias(x, a), 1, "same", (a.G.Dh, a.G.Dw), a.Groups),
            (x, a) =>
            {
                int th = a.G.Dh * (a.G.Kh - 1), tw = a.G.Dw * (a.G.Kw - 1);
                var padded = TF.pad(x[0], [tw / 2, tw - tw / 2, th / 2, th - th / 2]);
                return TF.conv2d(padded, x[1], Bias(x, a), L(1, 1), L(0, 0), L(a.G.Dh, a.G.Dw), a.Groups);
            }),
        Create("Conv1d", ConvCases,
            (x, a) => F.Conv1d(x[0][.., .., 0], x[1][.., .., 0], Bias(x, a), a.G.Sw, a.G.Pw, a.G.Dw, a.Groups),
            (x, a) => TF.conv1d(x[0][.., .., 0], x[1][.., .., 0], Bias(x, a), a.G.Sw, a.G.Pw, a.G.Dw, a.Groups)),
        Create("ConvTranspose2d", ConvTransposeCases,
            (x, a) => F.ConvTranspose2d(x[0], x[1], Bias(x, a), (a.G.Sh, a.G.Sw), (a.G.Ph, a.G.Pw), (a.G.Sh - 1, 0), a.Groups, (a.G.Dh, a.G.Dw)),
            (x, a) => TF.conv_transpose2d(x[0], x[1], Bias(x, a), L(a.G.Sh, a.G.Sw), L(a.G.Ph, a.G.Pw), L(a.G.Sh - 1, 0), L(a.G.Dh, a.G.Dw), a.Groups)),
        Create("ConvTranspose1d", ConvTransposeCases,
            (x, a) => F.ConvTranspose1d(x[0][.., .., 0], x[1][.., .., 0], Bias(x, a), a.G.Sw, a.G.Pw, 0, a.Groups, a.G.Dw),
            (x, a) => TF.conv_transpose1d(x[0][.., .., 0], x[1][.., .., 0], Bias(x, a), a.G.Sw, a.G.Pw, 0, a.G.Dw, a.Groups)),
        Create("Conv3d",
            from g in Geometries()
            from kd in Gen.Int[1, 3]
            from sd in Gen.Int[1, 2]
            from pd in Gen.Int[0, 1]
            from dd in Gen.Int[1, 2]
            from ed in Gen.Int[0, 2]
            let depth = Math.Max(1, dd * (kd - 1) + 1 - 2 * pd + ed)
            from groups in Gen.Int[1, 2]
            from bias in Gen.Bool
            from x in Gens.Floats([1, groups * 2, depth, g.H, g.W], expand: false)
            from w in Gens.Floats([groups * 2, 2, kd, g.Kh, g.Kw], expand: false)
            from b in Gens.Floats([groups * 2], expand: false)
            select (bias ? new[] { x, w, b } : [x, w], (G: g, Kd: kd, Sd: sd, Pd: pd, Dd: dd, Groups: groups, Bias: bias)),
            (x, a) => F.Conv3d(x[0], x[1], a.Bias ? x[2] : null, (a.Sd, a.G.Sh, a.G.Sw), (a.Pd, a.G.Ph, a.G.Pw), (a.Dd, a.G.Dh, a.G.Dw), a.Groups),
            (x, a) => TF.conv3d(x[0], x[1], a.Bias ? x[2] : null, [a.Sd, a.G.Sh, a.G.Sw], [a.Pd, a.G.Ph, a.G.Pw], [a.Dd, a.G.Dh, a.G.Dw], a.Groups)),
        Create("Unfold", Images(Geometries()),
            (x, g) => F.Unfold(x[0], (g.Kh, g.Kw), (g.Dh, g.Dw), (g.Ph, g.Pw), (g.Sh, g.Sw)),
            (x, g) => TF.unfold(x[0], (g.Kh, g.Kw), (g.Dh, g.Dw), (g.Ph, g.Pw), (g.Sh, g.Sw))),
        Create("Fold",
            from g in Geometries()
            let positions = ((g.H + 2 * g.Ph - g.Dh * (g.Kh - 1) - 1) / g.Sh + 1) * ((g.W + 2 * g.Pw - g.Dw * (g.Kw - 1) - 1) / g.Sw + 1)
            from c in Gen.Int[1, 2]
            from x in Gens.Floats([1, c * g.Kh * g.Kw, positions], expand: false)
            select (new[] { x }, g),
            (x, g) => F.Fold(x[0], (g.H, g.W), (g.Kh, g.Kw), (g.Dh, g.Dw), (g.Ph, g.Pw), (g.Sh, g.Sw)),
            (x, g) => TF.fold(x[0], (g.H, g.W), (g.Kh, g.Kw), (g.Dh, g.Dw), (g.Ph, g.Pw), (g.Sh, g.Sw))),
        Create("MaxPool2d", Images(PoolGeometries, Values.Mixed),
            (x, g) => F.MaxPool2d(x[0], (g.Kh, g.Kw), (g.Sh, g.Sw), (g.Ph, g.Pw), (g.Dh, g.Dw)),
            (x, g) => TF.max_pool2d(x[0], L(g.Kh, g.Kw), L(g.Sh, g.Sw), L(g.Ph, g.Pw), L(g.Dh, g.Dw))),
        Create("MaxPool2d(ceil mode)", Images(PoolGeometries, Values.Mixed),
            (x, g) => F.MaxPool2d(x[0], (g.Kh, g.Kw), (g.Sh, g.Sw), (g.Ph, g.Pw), (g.Dh, g.Dw), ceilMode: true),
            (x, g) => TF.max_pool2d(x[0], L(g.Kh, g.Kw), L(g.Sh, g.Sw), L(g.Ph, g.Pw), L(g.Dh, g.Dw), ceil_mode: true)),
        CreateMany("MaxPool2d(return indices)", Images(PoolGeometries, Values.Mixed),
            (x, g) => { var (v, i) = F.MaxPool2dWithIndices(x[0], (g.Kh, g.Kw), (g.Sh, g.Sw), (g.Ph, g.Pw), (g.Dh, g.Dw)); return [v, i]; },
            (x, g) => { var (v, i) = TF.max_pool2d_with_indices(x[0], L(g.Kh, g.Kw), L(g.Sh, g.Sw), L(g.Ph, g.Pw), L(g.Dh, g.Dw)); return [v, i]; }),
        CreateMany("MaxPool1d(return indices)", Images(PoolGeometries, Values.Mixed),
            (x, g) => { var (v, i) = F.MaxPool1dWithIndices(x[0][.., .., 0], g.Kw, g.Sw, g.Pw, g.Dw); return [v, i]; },
            (x, g) => { var (v, i) = TF.max_pool1d_with_indices(x[0][.., .., 0], g.Kw, g.Sw, g.Pw, g.Dw); return [v, i]; }),
        Create("MaxPool1d", Images(PoolGeometries, Values.Mixed),
            (x, g) => F.MaxPool1d(x[0][.., .., 0], g.Kw, g.Sw, g.Pw, g.Dw),
            (x, g) => TF.max_pool1d(x[0][.., .., 0], g.Kw, g.Sw, g.Pw, g.Dw)),
        Create("AvgPool2d", Images(Geometries(halfKernelPadding: true, maxDilation: 1)).Select(c => (c.Item1, (c.Item2, Include: c.Item1[0].Values.Length % 2 == 0, Ceil: c.Item1[0].Values.Length % 3 == 0))),
            (x, a) => F.AvgPool2d(x[0], (a.Item1.Kh, a.Item1.Kw), (a.Item1.Sh, a.Item1.Sw), (a.Item1.Ph, a.Item1.Pw), a.Ceil, a.Include),
            (x, a) => TF.avg_pool2d(x[0], L(a.Item1.Kh, a.Item1.Kw), L(a.Item1.Sh, a.Item1.Sw), L(a.Item1.Ph, a.Item1.Pw), a.Ceil, a.Include)),
        Create("AvgPool2d(divisor override)", Images(Geometries(halfKernelPadding: true, maxDilation: 1)),
            (x, g) => F.AvgPool2d(x[0], (g.Kh, g.Kw), (g.Sh, g.Sw), (g.Ph, g.Pw), divisorOverride: 3),
            (x, g) => TF.avg_pool2d(x[0], L(g.Kh, g.Kw), L(g.Sh, g.Sw), L(g.Ph, g.Pw), divisor_override: 3)),
        Create("AvgPool1d", Images(Geometries(halfKernelPadding: true, maxDilation: 1)),
            (x, g) => F.AvgPool1d(x[0][.., .., 0], g.Kw, g.Sw, g.Pw),
            (x, g) => TF.avg_pool1d(x[0][.., .., 0], g.Kw, g.Sw, g.Pw)),
        Create("AdaptiveAvgPool2d", Images(Geometries()),
            (x, g) => F.AdaptiveAvgPool2d(x[0], (g.Kh, g.Kw + 1)),
            (x, g) => TF.adaptive_avg_pool2d(x[0], L(g.Kh, g.Kw + 1))),
        Create("AdaptiveAvgPool1d", Images(Geometries()),
            (x, g) => F.AdaptiveAvgPool1d(x[0][.., .., 0], g.Kw + 1),
            (x, g) => TF.adaptive_avg_pool1d(x[0][.., .., 0], g.Kw + 1)),
        Create("AdaptiveMaxPool2d", Images(Geometries(), distinct: true),
            (x, g) => F.AdaptiveMaxPool2d(x[0], (g.Kh, g.Kw)),
            (x, g) => TF.adaptive_max_pool2d(x[0], L(g.Kh, g.Kw))),
        // Tied values as well: PyTorch's kernel keeps a window's first maximum.
        CreateMany("AdaptiveMaxPool2d(return indices)", Images(Geometries(), Values.Mixed),
            (x, g) => { var (v, i) = F.AdaptiveMaxPool2dWithIndices(x[0], (g.Kh + g.Sh, g.Kw + g.Sw)); return [v, i]; },
            (x, g) => { var (v, i) = TF.adaptive_max_pool2d_with_indices(x[0], L(g.Kh + g.Sh, g.Kw + g.Sw)); return [v, i]; }),
        CreateMany("AdaptiveMaxPool1d(return indices)", Images(Geometries(), Values.Mixed),
            (x, g) => { var (v, i) = F.AdaptiveMaxPool1dWithIndices(x[0][.., .., 0], g.Kw + g.Sw); return [v, i]; },
            (x, g) => { var (v, i) = TF.adaptive_max_pool1d_with_indices(x[0][.., .., 0], g.Kw + g.Sw); return [v, i]; }),
        Create("MaxPool3d", Volumes(PoolGeometries3, Values.Mixed),
            (x, v) => F.MaxPool3d(x[0], (v.Kd, v.G.Kh, v.G.Kw), (v.Sd, v.G.Sh, v.G.Sw), (v.Pd, v.G.Ph, v.G.Pw), (v.Dd, v.G.Dh, v.G.Dw)),
            (x, v) => TF.max_pool3d(x[0], [v.Kd, v.G.Kh, v.G.Kw], [v.Sd, v.G.Sh, v.G.Sw], [v.Pd, v.G.Ph, v.G.Pw], [v.Dd, v.G.Dh, v.G.Dw])),
        Create("MaxPool3d(ceil mode)", Volumes(PoolGeometries3, Values.Mixed),
            (x, v) => F.MaxPool3d(x[0], (v.Kd, v.G.Kh, v.G.Kw), (v.Sd, v.G.Sh, v.G.Sw), (v.Pd, v.G.Ph, v.G.Pw), (v.Dd, v.G.Dh, v.G.Dw), ceilMode: true),
            (x, v) => TF.max_pool3d(x[0], [v.Kd, v.G.Kh, v.G.Kw], [v.Sd, v.G.Sh, v.G.Sw], [v.Pd, v.G.Ph, v.G.Pw], [v.Dd, v.G.Dh, v.G.Dw], ceil_mode: true)),
        CreateMany("MaxPool3d(return indices)", Volumes(PoolGeometries3, Values.Mixed),
            (x, v) => { var (values, indices) = F.MaxPool3dWithIndices(x[0], (v.Kd, v.G.Kh, v.G.Kw), (v.Sd, v.G.Sh, v.G.Sw), (v.Pd, v.G.Ph, v.G.Pw), (v.Dd, v.G.Dh, v.G.Dw)); return [values, indices]; },
            (x, v) => { var (values, indices) = TF.max_pool3d_with_indices(x[0], [v.Kd, v.G.Kh, v.G.Kw], [v.Sd, v.G.Sh, v.G.Sw], [v.Pd, v.G.Ph, v.G.Pw], [v.Dd, v.G.Dh, v.G.Dw]); return [values, indices]; }),
        Create("AdaptiveAvgPool3d", Volumes(Geometries3(Geometries(), halfKernelPadding: false, maxDilation: 1)),
            (x, v) => F.AdaptiveAvgPool3d(x[0], (v.Kd, v.G.Kh, v.G.Kw + 1)),
            (x, v) => TF.adaptive_avg_pool3d(x[0], [v.Kd, v.G.Kh, v.G.Kw + 1])),
        // AdaptiveMaxPool3d is not here: TorchSharp 0.107's adaptive_max_pool3d calls libtorch's 1-D
        // kernel and its module fails with a null reference; ConvolutionFamilyBreadthTests checks it
        // against each window's max taken directly.
        Create("AvgPool3d", Volumes(AvgGeometries3)
                .Select(c => (c.Item1, (c.Item2, Include: c.Item1[0].Values.Length % 2 == 0, Ceil: c.Item1[0].Values.Length % 3 == 0))),
            (x, a) => F.AvgPool3d(x[0], (a.Item1.Kd, a.Item1.G.Kh, a.Item1.G.Kw), (a.Item1.Sd, a.Item1.G.Sh, a.Item1.G.Sw), (a.Item1.Pd, a.Item1.G.Ph, a.Item1.G.Pw), a.Ceil, a.Include),
            (x, a) => TF.avg_pool3d(x[0], [a.Item1.Kd, a.Item1.G.Kh, a.Item1.G.Kw], [a.Item1.Sd, a.Item1.G.Sh, a.Item1.G.Sw], [a.Item1.Pd, a.Item1.G.Ph, a.Item1.G.Pw], a.Ceil, a.Include)),
        Create("AvgPool3d(divisor override)", Volumes(AvgGeometries3),
            (x, v) => F.AvgPool3d(x[0], (v.Kd, v.G.Kh, v.G.Kw), (v.Sd, v.G.Sh, v.G.Sw), (v.Pd, v.G.Ph, v.G.Pw), divisorOverride: 5),
            (x, v) => TF.avg_pool3d(x[0], [v.Kd, v.G.Kh, v.G.Kw], [v.Sd, v.G.Sh, v.G.Sw], [v.Pd, v.G.Ph, v.G.Pw], divisor_override: 5)),
        Create("LpPool2d(p = 2)", Images(LpGeometries).Select(c => (c.Item1, (c.Item2, Ceil: c.Item1[0].Values.Length % 2 == 0))),
            (x, a) => F.LpPool2d(x[0], 2, (a.Item1.Kh, a.Item1.Kw), (a.Item1.Sh, a.Item1.Sw), a.Ceil),
            (x, a) => TF.lp_pool2d(x[0], 2, L(a.Item1.Kh, a.Item1.Kw), L(a.Item1.Sh, a.Item1.Sw), a.Ceil)),
        Create("LpPool2d(p = 1.5, stride = kernel)", Images(LpGeometries, Values.Positive),
            (x, g) => F.LpPool2d(x[0], 1.5, (g.Kh, g.Kw)),
            (x, g) => TF.lp_pool2d(x[0], 1.5, L(g.Kh, g.Kw))),
        Create("LpPool1d", Images(LpGeometries, Values.Positive),
            (x, g) => F.LpPool1d(x[0][.., .., 0], 3, g.Kw, g.Sw),
            (x, g) => TF.lp_pool1d(x[0][.., .., 0], 3, g.Kw, g.Sw)),
        Create("LocalResponseNorm",
            from size in Gen.Int[1, 4]
            from g in Geometries()
            from c in Gen.Int[1, 5]
            from rank in Gen.Int[3, 5]
            // libtorch views a 5-D input's square as [N, 1, C, D, H·W]: contiguous ones only there.
            from x in Gens.Floats(rank == 3 ? [2, c, g.W] : rank == 4 ? [2, c, g.H, g.W] : [1, c, 2, g.H, g.W], views: rank < 5, expand: false)
            select (new[] { x }, size),
            (x, size) => F.LocalResponseNorm(x[0], size, alpha: 0.3, beta: 0.6, k: 1.5),
            (x, size) => TF.local_response_norm(x[0], size, alpha: 0.3, beta: 0.6, k: 1.5)),
        Create("ConvTranspose3d",
            from v in Geometries3(Geometries(maxDilation: 1), halfKernelPadding: false, maxDilation: 1)
            // As for ConvTranspose2d: padding at most half the kernel, so no output is empty.
            let g = v.G with { H = Math.Max(1, v.G.H / 2), W = Math.Max(1, v.G.W / 2), Ph = Math.Min(v.G.Ph, (v.G.Kh - 1) / 2), Pw = Math.Min(v.G.Pw, (v.G.Kw - 1) / 2) }
            let u = v with { G = g, Pd = Math.Min(v.Pd, (v.Kd - 1) / 2), D = Math.Max(1, v.D / 2) }
            from groups in Gen.Int[1, 2]
            from bias in Gen.Bool
            from x in Gens.Floats([1, groups * 2, u.D, g.H, g.W], expand: false)
            from w in Gens.Floats([groups * 2, 1, u.Kd, g.Kh, g.Kw], expand: false)
            from b in Gens.Floats([groups], expand: false)
            select (bias ? new[] { x, w, b } : [x, w], (V: u, Groups: groups, Bias: bias)),
            (x, a) => F.ConvTranspose3d(x[0], x[1], a.Bias ? x[2] : null, (a.V.Sd, a.V.G.Sh, a.V.G.Sw), (a.V.Pd, a.V.G.Ph, a.V.G.Pw), (a.V.Sd - 1, a.V.G.Sh - 1, 0), a.Groups),
            (x, a) => TF.conv_transpose3d(x[0], x[1], a.Bias ? x[2] : null, [a.V.Sd, a.V.G.Sh, a.V.G.Sw], [a.V.Pd, a.V.G.Ph, a.V.G.Pw], [a.V.Sd - 1, a.V.G.Sh - 1, 0], [1, 1, 1], a.Groups)),
        Create("GroupNorm",
            from groups in Gen.Int[1, 3]
            from per in Gen.Int[1, 2]
            from g in Geometries()
            from x in Gens.Floats([2, groups * per, g.H, g.W], expand: false)
            from w in Gens.Floats([groups * per], expand: false)
            from b in Gens.Floats([groups * per], expand: false)
            select (new[] { x, w, b }, groups),
            (x, groups) => F.GroupNorm(x[0], groups, x[1], x[2]),
            (x, groups) => TF.group_norm(x[0], groups, x[1], x[2])),
        Create("InstanceNorm", Images(Geometries().Where(g => g.H * g.W > 1)),
            (x, _) => F.InstanceNorm(x[0]),
            (x, _) => TF.instance_norm(x[0])),
        // Running statistics made alike on both sides inside the call, returned after it: training
        // updates them (momentum 0.3), eval normalises by them.
        .. new[] { true, false }.Select(train => CreateMany($"InstanceNorm(running statistics, use input statistics {train})",
            from g in Geometries().Where(g => g.H * g.W > 1)
            from n in Gen.Int[1, 3]
            from c in Gen.Int[1, 3]
            from x in Gens.Floats([n, c, g.H, g.W], expand: false)
            from w in Gens.Floats([c], expand: false)
            from b in Gens.Floats([c], expand: false)
            select (new[] { x, w, b }, c),
            (x, c) =>
            {
                var (mean, variance) = (Tensor.Arange(c, x[0].DType) * 0.25, Tensor.Arange(c, x[0].DType) * 0.5 + 0.75);
                var y = F.InstanceNorm(x[0], x[1], x[2], 1e-5, mean, variance, useInputStats: train, momentum: 0.3);
                return [y, mean, variance];
            },
            (x, c) =>
            {
                var (mean, variance) = (torch.arange(c, x[0].dtype) * 0.25, torch.arange(c, x[0].dtype) * 0.5 + 0.75);
                var y = TF.instance_norm(x[0], mean, variance, x[1], x[2], use_input_stats: train, momentum: 0.3, eps: 1e-5);
                return [y, mean, variance];
            })),
        Create("PixelShuffle",
            from r in Gen.Int[1, 3]
            from g in Geometries()
            from x in Gens.Floats([2, 2 * r * r, g.H, g.W], expand: false)
            select (new[] { x }, r),
            (x, r) => F.PixelShuffle(x[0], r),
            (x, r) => TF.pixel_shuffle(x[0], r)),
        Create("PixelUnshuffle",
            from r in Gen.Int[1, 3]
            from g in Geometries()
            from x in Gens.Floats([2, 2, g.H * r, g.W * r], expand: false)
            select (new[] { x }, r),
            (x, r) => F.PixelUnshuffle(x[0], r),
            (x, r) => TF.pixel_unshuffle(x[0], r)),
        // Whole scale factors only: for a fractional one TorchSharp's interpolate mapped positions by
        // in/out sizes, where PyTorch (recompute_scale_factor None) and MetaGrad map by 1/scale_factor.
        .. new[] { ("nearest", torch.InterpolationMode.Nearest, (bool?)null), ("bilinear", torch.InterpolationMode.Bilinear, false), ("bilinear", torch.InterpolationMode.Bilinear, true) }.SelectMany(m => new[]
        {
            Create($"Interpolate({m.Item1}, align corners {m.Item3}, size)", Images(Geometries()),
                (x, g) => F.Interpolate(x[0], size: [g.Kh + g.Sh, g.Kw + 2 * g.Sw], mode: m.Item1, alignCorners: m.Item3),
                (x, g) => TF.interpolate(x[0], size: [g.Kh + g.Sh, g.Kw + 2 * g.Sw], mode: m.Item2, align_corners: m.Item3)),
            Create($"Interpolate({m.Item1}, align corners {m.Item3}, scale factor)", Images(Geometries()),
                (x, g) => F.Interpolate(x[0], scaleFactor: [g.Sh, g.Sw + 1.0], mode: m.Item1, alignCorners: m.Item3),
                (x, g) => TF.interpolate(x[0], scale_factor: [g.Sh, g.Sw + 1.0], mode: m.Item2, align_corners: m.Item3)),
        }),
        .. new[] { ("reflect", TorchSharp.PaddingModes.Reflect), ("replicate", TorchSharp.PaddingModes.Replicate), ("circular", TorchSharp.PaddingModes.Circular) }.Select(m =>
            Create($"Pad({m.Item1})",
                from g in Geometries()
                from x in Gens.Floats([1, 2, g.H + 2, g.W + 2], expand: false)
                select (new[] { x }, g),
                (x, g) => F.Pad(x[0], [g.Pw, g.Ph, g.Ph, g.Pw], mode: m.Item1),
                (x, g) => TF.pad(x[0], [g.Pw, g.Ph, g.Ph, g.Pw], m.Item2))),
    ];

    static readonly OpTable Errors =
    [
        Op.Throws("Conv2d kernel larger than the padded input", "Conv2d",
            from x in Gens.Floats([1, 2, 3, 3])
            from w in Gens.Floats([2, 2, 5, 5])
            select (new[] { x, w }, 0),
            (x, _) => F.Conv2d(x[0], x[1]), (x, _) => TF.conv2d(x[0], x[1])),
        Op.Throws("Conv2d channels not divisible by groups", "Conv2d",
            from x in Gens.Floats([1, 3, 4, 4])
            from w in Gens.Floats([2, 1, 3, 3])
            select (new[] { x, w }, 0),
            (x, _) => F.Conv2d(x[0], x[1], groups: 2), (x, _) => TF.conv2d(x[0], x[1], groups: 2)),
        Op.Throws("Conv2d wrong rank", "Conv2d",
            from x in Gens.Floats([2, 1, 3, 4, 4])
            from w in Gens.Floats([2, 3, 3, 3])
            select (new[] { x, w }, 0),
            (x, _) => F.Conv2d(x[0], x[1]), (x, _) => TF.conv2d(x[0], x[1])),
        Op.Throws("Conv2d negative padding", "Conv2d",
            from x in Gens.Floats([1, 3, 4, 4])
            from w in Gens.Floats([2, 3, 3, 3])
            select (new[] { x, w }, 0),
            (x, _) => F.Conv2d(x[0], x[1], padding: -1), (x, _) => TF.conv2d(x[0], x[1], padding: [-1, -1])),
        Op.Throws("MaxPool2d padding over half the kernel", "MaxPool2d",
            from x in Gens.Floats([1, 2, 6, 6])
            select (new[] { x }, 0),
            (x, _) => F.MaxPool2d(x[0], 2, padding: 2), (x, _) => TF.max_pool2d(x[0], L(2, 2), padding: L(2, 2))),
        Op.Throws("AvgPool2d output too small", "AvgPool2d",
            from x in Gens.Floats([1, 2, 2, 2])
            select (new[] { x }, 0),
            (x, _) => F.AvgPool2d(x[0], 3), (x, _) => TF.avg_pool2d(x[0], L(3, 3))),
        Op.Throws("MaxPool3d padding over half the kernel", "MaxPool3d",
            from x in Gens.Floats([1, 1, 4, 4, 4])
            select (new[] { x }, 0),
            (x, _) => F.MaxPool3d(x[0], 2, padding: (2, 0, 0)), (x, _) => TF.max_pool3d(x[0], [2, 2, 2], padding: [2, 0, 0])),
        Op.Throws("AvgPool3d input smaller than the kernel", "AvgPool3d",
            from x in Gens.Floats([1, 1, 2, 4, 4])
            select (new[] { x }, 0),
            (x, _) => F.AvgPool3d(x[0], 3), (x, _) => TF.avg_pool3d(x[0], [3, 3, 3])),
        Op.Throws("ConvTranspose3d channels differ from the weight's", "ConvTranspose3d",
            from x in Gens.Floats([1, 3, 2, 2, 2])
            from w in Gens.Floats([2, 2, 2, 2, 2])
            select (new[] { x, w }, 0),
            (x, _) => F.ConvTranspose3d(x[0], x[1]), (x, _) => TF.conv_transpose3d(x[0], x[1])),
    ];

    public static TheoryData<string> Names => Ops.Names;
    public static TheoryData<string> ErrorNames => Errors.Names;

    [Theory, MemberData(nameof(Names))]
    public void MatchesLibTorch(string op) => Ops[op].Check();

    [Theory, MemberData(nameof(ErrorNames))]
    public void RefusesWhatLibTorchRefuses(string op) => Errors[op].Check();
}
