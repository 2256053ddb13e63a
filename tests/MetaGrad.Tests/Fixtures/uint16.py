# Expected values for UInt16Tests, from numpy's uint16 (run with /usr/bin/python3: its PyTorch 1.13
# predates torch.uint16). numpy's uint16 arithmetic wraps modulo 65536 as torch.uint16's does; its
# reductions widen to uint64 where PyTorch's give int64, with the same values here. Casts from float
# are printed only for values whose C conversion is defined or wraps the same way on x86 (|v| < 2**31).
import warnings
import numpy as np

warnings.simplefilter("ignore")   # numpy warns on the out-of-range float casts, which C leaves unspecified

def show(name, v):
    print(f"{name}: {np.asarray(v).tolist()}")

show("f32->u16", np.array([0, 1.7, 65535.0, 65535.9, 3.99, 70000.5, -1.0, -0.5], dtype=np.float32).astype(np.uint16))
show("i64->u16", np.array([65536, 65537, -1, 70000, -65536], dtype=np.int64).astype(np.uint16))
w = np.array([65535, 32768, 32767, 300, 200], dtype=np.uint16)
show("u16->i16", w.astype(np.int16)); show("u16->u8", w.astype(np.uint8)); show("u16->i8", w.astype(np.int8))
show("u16->i64", w.astype(np.int64)); show("u16->f32", w.astype(np.float32))
show("u16->f16 bits", np.array([65535, 2049, 65504, 1], dtype=np.uint16).astype(np.float16).view(np.uint16))
show("u16->bool", np.array([0, 65535, 1], dtype=np.uint16).astype(bool))

a = np.array([65535, 40000, 3, 0], dtype=np.uint16)
b = np.array([1, 30000, 65535, 1], dtype=np.uint16)
show("a+b", a + b); show("a-b", a - b); show("a*b", a * b); show("-a", -a)
show("a*3", a * np.uint16(3)); show("a**2", a ** np.uint16(2))
show("a//b", a // b); show("a%b", a % b); show("a<b", a < b)
show("a/b f32", (a.astype(np.float32) / b.astype(np.float32)))
show("sum", a.sum()); show("prod of [300,300,2]", np.array([300, 300, 2], dtype=np.uint16).prod())
show("cumsum", a.cumsum()); show("max", a.max()); show("min", a.min()); show("argmax", a.argmax())
show("sort", np.sort(a))
