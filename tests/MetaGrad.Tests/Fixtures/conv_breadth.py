# Reference for ConvolutionFamilyBreadthTests (run: /usr/bin/python3 conv_breadth.py; PyTorch 1.13):
# transposed convolutions whose output padding is at least the stride (allowed below the dilation),
# adaptive max pooling with indices (ties included), and fractional max pooling with given samples.
# Dilated transposes have aborted libtorch (TorchSharp) in the conformance suite, and TorchSharp has
# no fractional pooling, hence a file. Inputs, outputs, indices and gradients in pytorch/conv_breadth.pt.
import torch
import torch.nn.functional as F
torch.manual_seed(0)
out = {}

def record(name, fn, inputs, dtype=torch.float64):
    xs = [t.to(dtype).requires_grad_() for t in inputs]
    result = fn(*xs)
    y, idx = (result if isinstance(result, tuple) else (result, None))
    g = torch.randn(y.shape, dtype=torch.float64).to(dtype)
    (y * g).sum().backward()
    for i, x in enumerate(xs):
        out[f"{name}.in{i}"] = x.detach().clone()
        out[f"{name}.grad{i}"] = x.grad.clone()
    out[f"{name}.out"] = y.detach().clone()
    out[f"{name}.upstream"] = g
    if idx is not None:
        out[f"{name}.indices"] = idx.clone()

r = torch.randn
record("convt2d_a", lambda x, w, b: F.conv_transpose2d(x, w, b, stride=(1, 2), padding=(1, 0), output_padding=(2, 1), groups=2, dilation=(3, 2)),
       [r(2, 4, 3, 5), r(4, 3, 3, 2), r(6)])
record("convt2d_b", lambda x, w: F.conv_transpose2d(x, w, None, stride=(1, 2), padding=(0, 1), output_padding=(1, 2), dilation=(2, 3)),
       [r(1, 2, 4, 3), r(2, 3, 2, 3)])
record("convt1d", lambda x, w, b: F.conv_transpose1d(x, w, b, stride=1, padding=0, output_padding=1, dilation=2),
       [r(2, 2, 4), r(2, 3, 3), r(3)])
record("convt3d", lambda x, w: F.conv_transpose3d(x, w, None, stride=(1, 1, 2), padding=(0, 1, 0), output_padding=(1, 0, 1), dilation=(2, 2, 1)),
       [r(1, 2, 3, 3, 2), r(2, 2, 2, 2, 2)])

ties = lambda *shape: torch.randint(0, 4, shape).double()   # many equal values in each window
record("amax1d", lambda x: F.adaptive_max_pool1d(x, 4, return_indices=True), [ties(2, 3, 9)])
record("amax2d", lambda x: F.adaptive_max_pool2d(x, (3, 4), return_indices=True), [ties(2, 3, 7, 5)])
record("amax3d", lambda x: F.adaptive_max_pool3d(x, (2, 3, 4), return_indices=True), [ties(1, 2, 5, 4, 6)])

s2 = torch.rand(2, 3, 2, dtype=torch.float64)
out["frac2d.samples"] = s2
record("frac2d", lambda x: F.fractional_max_pool2d(x, (3, 2), output_size=(4, 6), return_indices=True, _random_samples=s2), [r(2, 3, 9, 11)])
s2f = torch.rand(1, 2, 2, dtype=torch.float32)
out["frac2d_f32.samples"] = s2f
record("frac2d_f32", lambda x: F.fractional_max_pool2d(x, 2, output_ratio=(0.5, 0.7), return_indices=True, _random_samples=s2f), [r(1, 2, 13, 29)], torch.float32)
s3 = torch.rand(1, 2, 3, dtype=torch.float64)
out["frac3d.samples"] = s3
record("frac3d", lambda x: F.fractional_max_pool3d(x, (2, 3, 2), output_size=(3, 4, 5), return_indices=True, _random_samples=s3), [r(1, 2, 7, 8, 9)])
torch.save(out, "pytorch/conv_breadth.pt")
print({k: list(v.shape) for k, v in out.items() if k.endswith(".out")})
