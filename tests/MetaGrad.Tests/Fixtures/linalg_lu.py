# Reference values for LinalgLuTests (run: /usr/bin/python3 linalg_lu.py; PyTorch 1.13). Every input
# is written out; float64; the loss weights W make each entry of LU count differently.
import torch
torch.set_printoptions(precision=12)
def show(name, t):
    print(name, [round(float(v), 12) for v in t.detach().reshape(-1).tolist()])

mats = {
    "square": [[2., -1., 0.5], [4., 3., -2.], [-1., 0.25, 5.]],
    "wide": [[1., 2., -1., 0.5], [3., -1., 2., 1.], [0.5, 4., 1., -2.]],
    "tall": [[1., 2., -1.], [3., -1., 2.], [0.5, 4., 1.], [-2., 1., 3.]],
}
for name, rows in mats.items():
    A = torch.tensor(rows, dtype=torch.float64, requires_grad=True)
    LU, piv = torch.linalg.lu_factor(A)
    show(f"{name} LU", LU)
    print(f"{name} pivots", piv.tolist())
    W = torch.arange(LU.numel(), dtype=torch.float64).reshape(LU.shape).sub(4).div(3)
    (LU * W).sum().backward()
    show(f"{name} grad", A.grad)
    P, L, U = torch.linalg.lu(A.detach())
    show(f"{name} P", P)

A = torch.tensor(mats["square"], dtype=torch.float64)
B = torch.tensor([[1., 2.], [0., -1.], [3., 0.5]], dtype=torch.float64)
LU, piv = torch.linalg.lu_factor(A)
show("solve", torch.linalg.lu_solve(LU, piv, B))
show("solve adjoint", torch.linalg.lu_solve(LU, piv, B, adjoint=True))
show("solve right", torch.linalg.lu_solve(LU, piv, B.T, left=False))
show("solve right adjoint", torch.linalg.lu_solve(LU, piv, B.T, left=False, adjoint=True))
try:
    torch.linalg.lu_factor(torch.tensor([[1., 2.], [2., 4.]], dtype=torch.float64))
except RuntimeError as e:
    print("singular:", str(e).splitlines()[0])
LU, piv, info = torch.linalg.lu_factor_ex(torch.tensor([[1., 2.], [2., 4.]], dtype=torch.float64))
show("singular LU", LU); print("singular info", info.tolist(), "pivots", piv.tolist())
