# Reference for LstmProjectionTests (run: /usr/bin/python3 lstm_proj.py; PyTorch 1.13): an LSTM with
# proj_size (which TorchSharp's binding lacks), its parameters, inputs, outputs and gradients saved
# as one state dict in pytorch/lstm_proj.pt, read by MetaGrad's PyTorchFiles. float64.
import torch
torch.manual_seed(0)
lstm = torch.nn.LSTM(5, 7, num_layers=2, bidirectional=True, proj_size=3).double()
x = torch.randn(6, 4, 5, dtype=torch.float64, requires_grad=True)
h0 = torch.randn(4, 4, 3, dtype=torch.float64, requires_grad=True)
c0 = torch.randn(4, 4, 7, dtype=torch.float64, requires_grad=True)
y, (hn, cn) = lstm(x, (h0, c0))
w, v, u = torch.randn_like(y), torch.randn_like(hn), torch.randn_like(cn)
((y * w).sum() + (hn * v).sum() + (cn * u).sum()).backward()
out = {f"param.{k}": p.detach().clone() for k, p in lstm.named_parameters()}
out.update({"input": x.detach().clone(), "h0": h0.detach().clone(), "c0": c0.detach().clone(),
            "w": w, "v": v, "u": u, "output": y.detach().clone(), "hn": hn.detach().clone(), "cn": cn.detach().clone(),
            "grad.input": x.grad.clone(), "grad.h0": h0.grad.clone(), "grad.c0": c0.grad.clone()})
out.update({f"grad.{k}": p.grad.clone() for k, p in lstm.named_parameters()})
torch.save(out, "pytorch/lstm_proj.pt")
print("params:", [(k, list(p.shape)) for k, p in lstm.named_parameters()])
