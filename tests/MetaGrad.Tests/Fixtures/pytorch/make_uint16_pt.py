"""Writes uint16.pt as torch.save of PyTorch 2.3 and later writes a state dict holding torch.uint16 tensors.

    /usr/bin/python3 tests/MetaGrad.Tests/Fixtures/pytorch/make_uint16_pt.py

The installed PyTorch (1.13) predates torch.uint16, so its torch.save runs here (its zip writer, its pickler
and its persistent_id, whose UntypedStorage branch is the same in 2.x) on stand-ins for what 2.x reduces a
uint16 tensor to. From PyTorch 2.x's source: torch.storage._new_dtypes() lists torch.uint16 among the dtypes
"serialized as UntypedStorage", and Tensor._reduce_ex_internal (torch/_tensor.py) then returns
    (torch._utils._rebuild_tensor_v3,
     (tensor.untyped_storage(), storage_offset, tuple(size), stride, requires_grad, OrderedDict(), tensor.dtype))
so the persistent id is ('storage', torch.storage.UntypedStorage, key, location, nbytes), counting bytes, and
torch.uint16 is pickled as the global torch.uint16 (a dtype reduces to its name). There is no UInt16Storage.
"""
import os
import struct
import sys
from collections import OrderedDict

import torch

HERE = os.path.dirname(os.path.abspath(__file__))


class _UInt16DType:
    """torch.uint16 as pickle sees it: an object that reduces to the name of a global of module torch."""
    __module__ = "torch"

    def __reduce__(self):
        return "uint16"


def _rebuild_tensor_v3(storage, storage_offset, size, stride, requires_grad, backward_hooks, dtype, metadata=None):
    raise RuntimeError("only pickled here, never called")


_rebuild_tensor_v3.__module__ = "torch._utils"
torch._utils._rebuild_tensor_v3 = _rebuild_tensor_v3
torch.uint16 = _UInt16DType()


class UInt16Tensor:
    """A uint16 tensor over an untyped (byte) storage, reduced as PyTorch 2.x reduces one."""

    def __init__(self, storage, offset, size, stride, requires_grad=False):
        self.storage, self.offset, self.size, self.stride, self.requires_grad = storage, offset, size, stride, requires_grad

    def __reduce_ex__(self, protocol):
        return (torch._utils._rebuild_tensor_v3,
                (self.storage, self.offset, tuple(self.size), tuple(self.stride), self.requires_grad, OrderedDict(), torch.uint16))


def untyped(values):
    raw = struct.pack(f"<{len(values)}H", *values)
    return torch.UntypedStorage(list(raw))


def main():
    matrix = untyped([0, 1, 32767, 32768, 65534, 65535])
    state = {
        "weight": torch.tensor([[0.5, -1.25]]),                   # a tensor of an older dtype beside them (v2)
        "u16": UInt16Tensor(matrix, 0, (2, 3), (3, 1)),
        "u16.T": UInt16Tensor(matrix, 0, (3, 2), (1, 3)),         # a view of the same storage
        "u16.tail": UInt16Tensor(untyped([7, 40000, 65535]), 1, (2,), (1,)),
    }
    torch.save(state, os.path.join(HERE, "uint16.pt"))
    print("wrote uint16.pt")


if __name__ == "__main__":
    main()
