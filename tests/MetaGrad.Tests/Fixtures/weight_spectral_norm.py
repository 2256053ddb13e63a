# Reference values for WeightNormTests (run: /usr/bin/python3 weight_spectral_norm.py; PyTorch 1.13,
# torch.nn.utils.weight_norm / spectral_norm, the hook-based forms). Every input is written out so
# the C# test can rebuild it exactly; float64 throughout.
import torch
from torch import nn
torch.set_printoptions(precision=12)

def show(name, t):
    print(name, [round(v, 12) for v in t.detach().reshape(-1).tolist()])

W = torch.tensor([[1., -2., 3.], [0.5, 1., -1.]], dtype=torch.float64)
b = torch.tensor([0.25, -0.5], dtype=torch.float64)
x = torch.tensor([[1., 2., 3.], [-1., 0.5, 2.]], dtype=torch.float64)
r = torch.tensor([[1., -1.], [2., 0.5]], dtype=torch.float64)   # the loss is sum(y * r)

def linear():
    m = nn.Linear(3, 2).double()
    with torch.no_grad():
        m.weight.copy_(W); m.bias.copy_(b)
    return m

for dim in [0, 1, None]:
    m = nn.utils.weight_norm(linear(), dim=dim)
    print(f"weight_norm dim={dim}: params", [n for n, _ in m.named_parameters()], "state", list(m.state_dict().keys()))
    show(f"  weight_g shape {list(m.weight_g.shape)}", m.weight_g)
    with torch.no_grad():
        m.weight_g.mul_(torch.tensor(1.5, dtype=torch.float64))      # moves the norms off the weight's own
    y = m(x)
    show("  y", y)
    (y * r).sum().backward()
    show("  grad g", m.weight_g.grad)
    show("  grad v", m.weight_v.grad)
    nn.utils.remove_weight_norm(m)
    show("  removed: weight", m.weight)
    print("  removed: params", [n for n, _ in m.named_parameters()])

u0 = torch.tensor([0.6, 0.8], dtype=torch.float64)
v0 = torch.tensor([1., 2., 2.], dtype=torch.float64) / 3
for n_iter in [1, 3]:
    m = nn.utils.spectral_norm(linear(), n_power_iterations=n_iter)
    print(f"spectral_norm n={n_iter}: params", [n for n, _ in m.named_parameters()], "state", list(m.state_dict().keys()))
    with torch.no_grad():
        m.weight_u.copy_(u0); m.weight_v.copy_(v0)
    y = m(x)
    show("  y", y)
    show("  u", m.weight_u)
    show("  v", m.weight_v)
    (y * r).sum().backward()
    show("  grad weight_orig", m.weight_orig.grad)
    m.eval()
    show("  eval y", m(x))
    show("  eval u (unchanged)", m.weight_u)

# A convolution: weight_norm over dim 0 of [out, in, kh, kw], spectral norm's default dim 0.
conv = nn.Conv2d(2, 3, 2).double()
with torch.no_grad():
    conv.weight.copy_(torch.arange(24, dtype=torch.float64).reshape(3, 2, 2, 2).sub(11.5).div(7))
    conv.bias.zero_()
conv = nn.utils.weight_norm(conv)
show("conv weight_g", conv.weight_g)
img = torch.arange(18, dtype=torch.float64).reshape(1, 2, 3, 3).div(10)
show("conv y", conv(img))
