# The order PyTorch runs module hooks in, and the gradients its full backward hooks see, for the
# cases of ModuleHooksTests (run: /usr/bin/python3 hook_order.py). The tests copy the output.
# PyTorch 1.13 (Debian's) has no full backward pre-hooks and no prepend (both came in 2.0): the
# script leaves those out there, and the tests follow 2.0's documentation for them.
import torch
from torch import nn

def linear(weight, bias, in_f, out_f):
    layer = nn.Linear(in_f, out_f)
    with torch.no_grad():
        layer.weight.copy_(torch.tensor(weight).reshape(out_f, in_f))
        layer.bias.copy_(torch.tensor(bias))
    return layer

log = []
fc = linear([1, -2, 3, 0.5, 1, -1], [0.5, -4], 3, 2)
relu = nn.ReLU()
model = nn.Sequential(fc, relu)
for name, m in [("model", model), ("fc", fc), ("relu", relu)]:
    m.register_forward_pre_hook(lambda m, i, n=name: log.append(f"{n} pre"))
    m.register_forward_hook(lambda m, i, o, n=name: log.append(f"{n} forward"))
    if hasattr(m, "register_full_backward_pre_hook"):
        m.register_full_backward_pre_hook(lambda m, go, n=name: log.append(f"{n} backward pre"))
    m.register_full_backward_hook(lambda m, gi, go, n=name: log.append(f"{n} backward"))
x = torch.tensor([[1., 2., 3.]], requires_grad=True)
y = model(x)
log.append("-- backward")
y.sum().backward()
print("order:", log)

fc = linear([1, -2, 3, 0.5, 1, -1], [0, 0], 3, 2)
seen = {}
fc.register_full_backward_hook(lambda m, gi, go: seen.update(gi=gi, go=go))
x = torch.tensor([[1., 2., 3.]], requires_grad=True)
(fc(x) * torch.tensor([1., 2.])).sum().backward()
print("grad_input:", seen["gi"], "grad_output:", seen["go"], "x.grad:", x.grad)

fc = linear([1, -2, 3, 0.5, 1, -1], [0, 0], 3, 2)
if hasattr(fc, "register_full_backward_pre_hook"):
    fc.register_full_backward_pre_hook(lambda m, go: (go[0] * 2,))
fc.register_full_backward_hook(lambda m, gi, go: (gi[0] + 100,))
x = torch.tensor([[1., 2., 3.]], requires_grad=True)
fc(x).sum().backward()
print("replaced (pre-hook doubling the output gradient only on 2.0+): x.grad", x.grad, "weight.grad", fc.weight.grad)

fc = linear([1, -2, 3, 0.5, 1, -1], [0, 0], 3, 2)
seen = {}
fc.register_full_backward_hook(lambda m, gi, go: seen.update(gi=gi, go=go))
fc(torch.ones(1, 3)).sum().backward()
print("input without grad: grad_input", seen["gi"], "grad_output", seen["go"])

loss = nn.MSELoss()
seen = {}
loss.register_full_backward_hook(lambda m, gi, go: seen.update(gi=gi))
a = torch.tensor([3., 1.], requires_grad=True)
b = torch.tensor([1., 2.], requires_grad=True)
loss(a, b).backward()
print("two inputs: grad_input", seen["gi"])

relu = nn.ReLU()
log = []
first = relu.register_forward_hook(lambda m, i, o: log.append("a"))
relu.register_forward_hook(lambda m, i, o: log.append("b"))
relu(torch.ones(2)); first.remove(); first.remove()
relu(torch.ones(2))
print("remove:", log)
