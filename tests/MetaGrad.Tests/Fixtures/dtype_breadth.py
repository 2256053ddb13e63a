# Expected values for DTypeBreadthTests, from PyTorch 1.13 (run with /usr/bin/python3).
# Prints each case as `name: values`; half and bfloat16 results as raw bits so that rounding is exact.
# With an argument it also writes a safetensors file of the narrow dtypes by hand
# (8-byte little-endian header length, JSON header, raw little-endian data).
import json, struct, sys
import torch

DT = {"f32": torch.float32, "f64": torch.float64, "i64": torch.int64, "i32": torch.int32, "bool": torch.bool,
      "f16": torch.float16, "bf16": torch.bfloat16, "u8": torch.uint8, "i8": torch.int8, "i16": torch.int16}

def bits(t):
    return [f"0x{v & 0xFFFF:04X}" for v in t.reshape(-1).view(torch.int16).tolist()]

def show(name, t):
    print(f"{name}: {bits(t) if t.dtype in (torch.float16, torch.bfloat16) else t.tolist()}")

src = torch.tensor([1.0, 0.1, 65504.0, 65519.99, 65520.0, 1e5, -0.0, 2.9802322387695312e-08, 5.960464477539063e-08,
                    8.940696716308594e-08, 1e-6, 2049.0, 2051.0, float("nan"), float("-inf")])
show("f32->f16", src.half())
show("f64->f16", torch.tensor([0.1, 1.0000000000000002, 2049.0000000001], dtype=torch.float64).half())
show("f32->bf16", torch.tensor([1.0, 0.1, 1.00390625, 1.01171875, 3.38e38, 3.4e38, -2.5, float("nan"), 1e-40]).bfloat16())
show("i64->f16", torch.tensor([2049, 65519, 65520, -3]).half())
show("f16->f32", torch.tensor([0x3C00, 0x0001, 0x7BFF, 0x8400 - 0x10000, 0x7E00], dtype=torch.int16).view(torch.float16).float())
show("f32->u8", torch.tensor([0.0, 1.7, 254.9, 255.0, -0.5, -1.0, 300.0, -129.0]).to(torch.uint8))
show("f32->i8", torch.tensor([-128.9, 127.5, -1.5, 0.99]).to(torch.int8))
show("i64->u8", torch.tensor([256, 257, -1, 511]).to(torch.uint8))
show("i64->i16", torch.tensor([40000, -32769, 32767]).to(torch.int16))
show("u8->i8", torch.tensor([200, 127, 128], dtype=torch.uint8).to(torch.int8))
show("f16->u8", torch.tensor([3.75, 200.5], dtype=torch.float16).to(torch.uint8))
show("f16->bf16", torch.tensor([0.1, 3.0], dtype=torch.float16).bfloat16())

names = list(DT)
print("promote:", " ".join(f"{a}+{b}={[k for k, v in DT.items() if v == torch.promote_types(DT[a], DT[b])][0]}" for a in names for b in names))

a = torch.tensor([1.0, 0.1, 1000.0, 3.0, -2.5], dtype=torch.float16)
b = torch.tensor([0.2, 0.7, 0.3, 7.0, 1e-3], dtype=torch.float16)
show("f16 a+b", a + b); show("f16 a*b", a * b); show("f16 a/b", a / b); # PyTorch 1.13 has no CPU exp or sqrt for half: computed in float and rounded, as MetaGrad does.
show("f16 exp(a/1000)", (a / 1000).float().exp().half())
show("f16 sqrt|a|", a.abs().float().sqrt().half()); show("f16 a*2.5", a * 2.5)
c = torch.tensor([1.0, 0.1, 300.0, 3.0], dtype=torch.bfloat16)
d = torch.tensor([0.2, 0.7, 0.3, 7.0], dtype=torch.bfloat16)
show("bf16 c+d", c + d); show("bf16 c*d", c * d); show("bf16 tanh(c)", c.tanh()); show("bf16 tanh(c) via float", c.float().tanh().bfloat16())
u = torch.tensor([200, 100, 3, 0], dtype=torch.uint8); v = torch.tensor([100, 200, 255, 1], dtype=torch.uint8)
show("u8 u+v", u + v); show("u8 u*v", u * v); show("u8 u-v", u - v); show("u8 -u", -u); show("u8 u*3", u * 3)
show("u8 sum", u.sum()); show("u8 max", u.max()); show("u8 u<v", u < v)
p = torch.tensor([100, -100, -128, 5], dtype=torch.int8); q = torch.tensor([100, -100, -1, 3], dtype=torch.int8)
show("i8 p+q", p + q); show("i8 p*q", p * q); show("i8 abs(p)", p.abs())
show("u8+i8", u + p); show("u8+f16", u + a[:4]); show("i16 r*r", torch.tensor([300, -300], dtype=torch.int16) ** 2)
tenth = torch.full((1000,), 0.1, dtype=torch.float16)
show("f16 sum", tenth.sum()); show("f16 mean", tenth.mean()); show("bf16 sum", torch.full((1000,), 0.1, dtype=torch.bfloat16).sum())
show("f16 max", a.max()); show("bf16 cumsum", torch.full((5,), 0.1, dtype=torch.bfloat16).cumsum(0))
m1 = torch.tensor([[0.1, 0.2, 0.3], [1.5, -2.0, 0.7]], dtype=torch.bfloat16)
m2 = torch.tensor([[0.3, 1.0], [0.25, -0.5], [2.0, 0.125]], dtype=torch.bfloat16)
show("bf16 mm", m1 @ m2)
show("bf16 mm via float", (m1.float() @ m2.float()).bfloat16())
show("f16 mm via float", (m1.float().half().float() @ m2.float().half().float()).half())
print("print f16:", repr(torch.tensor([1.5, 2.25, 0.1], dtype=torch.float16)))
print("print bf16:", repr(torch.tensor([[1.0, -2.0]], dtype=torch.bfloat16)))
print("print u8:", repr(torch.tensor([1, 255], dtype=torch.uint8)))
print("print i8:", repr(torch.tensor([-1, 7], dtype=torch.int8)))
print("print i16 scalar:", repr(torch.tensor(300, dtype=torch.int16)))
x = torch.tensor([0.1, -1.5, 3.0], dtype=torch.float16, requires_grad=True)
w = torch.tensor([0.3, 0.7, -0.2], dtype=torch.float16)
(x * x * w).sum().backward()
show("f16 grad x*x*w", x.grad)
print("print f16 grad:", repr(x * w))

if len(sys.argv) > 1:
    tensors = {
        "half": torch.tensor([[1.0, -0.1], [65504.0, float("inf")]], dtype=torch.float16),
        "bf16": torch.tensor([1.0, 0.1, -3.0e38], dtype=torch.bfloat16),
        "u8": torch.tensor([0, 7, 255], dtype=torch.uint8),
        "i8": torch.tensor([-128, 0, 127], dtype=torch.int8),
        "i16": torch.tensor([[-32768], [12345]], dtype=torch.int16),
    }
    codes = {torch.float16: "F16", torch.bfloat16: "BF16", torch.uint8: "U8", torch.int8: "I8", torch.int16: "I16"}
    header, blobs, offset = {}, [], 0
    for name, t in tensors.items():
        raw = t.contiguous().view(torch.uint8).numpy().tobytes()
        header[name] = {"dtype": codes[t.dtype], "shape": list(t.shape), "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw); offset += len(raw)
    text = json.dumps(header, separators=(",", ":")).encode()
    with open(sys.argv[1], "wb") as f:
        f.write(struct.pack("<Q", len(text))); f.write(text); f.write(b"".join(blobs))
