"""Checks that PyTorch reads what MetaGrad writes: metagrad_written.pt, saved by PyTorchFiles.Save
(PyTorchFilesTests.Save_WritesTheFilePyTorchWasCheckedToRead holds MetaGrad's output equal to it).

    /usr/bin/python3 tests/MetaGrad.Tests/Fixtures/pytorch/check_pt_roundtrip.py

Loads it with torch.load(weights_only=True), compares every tensor with value(k, i) (make_pt_fixtures.py),
checks the shared storage and the strides, and loads the model entries into the matching torch model
with load_state_dict(strict=True). Prints OK or fails with an assertion.
"""
import os
import torch
from make_pt_fixtures import filled, value, HERE


def same(t, expected):
    assert t.dtype == expected.dtype, (t.dtype, expected.dtype)
    assert t.shape == expected.shape, (t.shape, expected.shape)
    assert torch.equal(t, expected), (t, expected)


def main():
    sd = torch.load(os.path.join(HERE, "metagrad_written.pt"), weights_only=True)
    assert list(sd.keys()) == ["0.weight", "0.bias", "1.weight", "1.bias", "1.running_mean", "1.running_var",
                               "1.num_batches_tracked", "f64", "i32", "bool", "base", "view", "transposed",
                               "flipped", "scalar", "empty", "trainable"], list(sd.keys())
    same(sd["0.weight"], filled(0, (2, 3), torch.float32))
    same(sd["0.bias"], filled(1, (2,), torch.float32))
    same(sd["1.weight"], filled(2, (2,), torch.float32))
    same(sd["1.bias"], filled(3, (2,), torch.float32))
    same(sd["1.running_mean"], filled(4, (2,), torch.float32))
    same(sd["1.running_var"], torch.tensor([0.5, 2.0]))
    same(sd["1.num_batches_tracked"], torch.tensor(5))
    same(sd["f64"], filled(6, (3,), torch.float64))
    same(sd["i32"], filled(7, (2, 2), torch.int32))
    same(sd["bool"], filled(8, (5,), torch.bool))
    base = filled(5, (3, 4), torch.float32)
    same(sd["base"], base)
    same(sd["view"], base[1:, ::2])
    assert sd["view"].stride() == (4, 2) and sd["view"].storage_offset() == 4
    assert sd["view"].storage().data_ptr() == sd["base"].storage().data_ptr(), "view and base should share a storage"
    same(sd["transposed"], filled(9, (2, 3), torch.float64).t())
    assert sd["transposed"].stride() == (1, 3)
    same(sd["flipped"], filled(10, (4,), torch.int64).flip(0))
    same(sd["scalar"], torch.tensor(value(11, 0) / 8, dtype=torch.float32))
    same(sd["empty"], torch.zeros(0, 3, dtype=torch.int64))
    same(sd["trainable"], filled(12, (2,), torch.float32))
    assert sd["trainable"].requires_grad and not sd["0.weight"].requires_grad

    model = torch.nn.Sequential(torch.nn.Linear(3, 2), torch.nn.BatchNorm1d(2))
    model.load_state_dict({k: v for k, v in sd.items() if k[0] in "01"}, strict=True)
    assert int(model[1].num_batches_tracked) == 5
    print("OK: torch", torch.__version__, "read metagrad_written.pt with weights_only=True;", len(sd), "tensors equal")


if __name__ == "__main__":
    main()
