"""Writes the torch.save files that PyTorchFilesTests read (PyTorch 1.13, Debian's python3-torch).

    /usr/bin/python3 tests/MetaGrad.Tests/Fixtures/pytorch/make_pt_fixtures.py

Every value comes from value(k, i) below, which the tests compute the same way (PyTorchFilesTests.Value):
small multiples of 1/8, exact in every dtype, so the tests compare exactly. The tests never run Python.
"""
import os
import torch

HERE = os.path.dirname(os.path.abspath(__file__))


def value(k, i):
    """Element i (row-major) of tensor k: an integer in [-11, 11]; divided by 8 for floating dtypes."""
    return (i * 7 + k * 3) % 23 - 11


def filled(k, shape, dtype):
    n = 1
    for s in shape:
        n *= s
    raw = torch.tensor([value(k, i) for i in range(n)], dtype=torch.float64).reshape(shape)
    if dtype == torch.bool:
        return (raw.remainder(3) == 0)
    if dtype.is_floating_point:
        return (raw / 8).to(dtype)
    return raw.to(dtype)


def save(obj, name, **kwargs):
    torch.save(obj, os.path.join(HERE, name), **kwargs)


def cnn():
    torch.manual_seed(0)
    model = torch.nn.Sequential(
        torch.nn.Conv2d(1, 2, 3), torch.nn.BatchNorm2d(2), torch.nn.ReLU(), torch.nn.Flatten(), torch.nn.Linear(8, 3))
    with torch.no_grad():
        for k, (name, t) in enumerate(model.state_dict().items()):
            if name.endswith("num_batches_tracked"):
                t.fill_(7)
            elif name.endswith("running_var"):
                t.copy_(filled(k, t.shape, t.dtype).abs() + 0.5)   # a variance is positive
            else:
                t.copy_(filled(k, t.shape, t.dtype))
    model.eval()
    save(model.state_dict(), "cnn.pt")
    x = filled(100, (2, 1, 4, 4), torch.float32)
    save({"input": x, "output": model(x).detach()}, "cnn_io.pt")


def tensors():
    base = filled(5, (3, 4), torch.float32)
    matrix = filled(6, (2, 3), torch.float64)
    save({
        "f32": filled(0, (2, 3), torch.float32),
        "f64": filled(1, (3,), torch.float64),
        "i64": filled(2, (4,), torch.int64),
        "i32": filled(3, (2, 2), torch.int32),
        "bool": filled(4, (5,), torch.bool),
        "base": base,
        "view": base[1:, ::2],                               # shares base's storage: offset 4, strides (4, 2)
        "transposed": matrix.t(),                            # non-contiguous: strides (1, 3)
        "scalar": filled(7, (), torch.float32),              # 0-d
        "empty": torch.zeros(0, 3),
        "expanded": filled(8, (3,), torch.float32).expand(2, 3),   # stride 0
        "strided": filled(9, (300,), torch.int64)[::100],    # a two-byte numel (BININT2) behind a strided view
    }, "tensors.pt")


def parameter():
    save({"weight": torch.nn.Parameter(filled(10, (2, 2), torch.float32))}, "parameter.pt")


def narrow():
    save({
        "f32": filled(11, (3,), torch.float32),
        "f16": filled(12, (2, 3), torch.float16),
        "bf16": filled(13, (4,), torch.bfloat16),
        "u8": (filled(14, (3,), torch.int64) + 11).to(torch.uint8),
        "i8": filled(15, (3,), torch.int8),
        "i16": filled(16, (3,), torch.int16),
    }, "narrow.pt")


class Evil:
    """Stands for any class of the saver's: loading it in Python would import and build it."""
    def __init__(self):
        self.payload = "anything"


class RunsACommand:
    """What a hostile file does: Python's unpickler would call os.system("echo owned") on load."""
    def __reduce__(self):
        return (os.system, ("echo owned",))


def forbidden():
    save({"w": filled(17, (2,), torch.float32), "evil": Evil()}, "custom_class.pt")
    save({"w": filled(18, (2,), torch.float32), "x": RunsACommand()}, "os_system.pt")


def checkpoint():
    """A training checkpoint: the model's state dict beside an epoch and Adam's state after one step."""
    model = torch.nn.Linear(2, 2)
    with torch.no_grad():
        model.weight.copy_(filled(20, (2, 2), torch.float32))
        model.bias.copy_(filled(21, (2,), torch.float32))
    optimizer = torch.optim.Adam(model.parameters(), lr=0.0)   # a step that leaves the weights as filled
    model(torch.ones(1, 2)).sum().backward()
    optimizer.step()
    save({"epoch": 3, "model": model.state_dict(), "optimizer": optimizer.state_dict()}, "checkpoint.pt")


def legacy():
    if os.path.exists(os.path.join(HERE, "legacy.pt")):
        return   # the legacy format records object ids, which change at every run: keep the committed file
    save({"w": filled(19, (2,), torch.float32)}, "legacy.pt", _use_new_zipfile_serialization=False)


if __name__ == "__main__":
    cnn()
    tensors()
    parameter()
    narrow()
    forbidden()
    checkpoint()
    legacy()
    print("torch", torch.__version__, "wrote", sorted(f for f in os.listdir(HERE) if f.endswith(".pt")))
