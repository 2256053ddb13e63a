# Which fill values PyTorch 1.13 refuses (c10's checked_convert): /usr/bin/python3 fill_overflow.py
# Output pasted into FillOverflowTests.
import torch
def t(label, f):
    try: print(label, repr(f()))
    except Exception as e: print(label, "ERR", str(e)[:80])
t("full 300 uint8", lambda: torch.full((2,), 300, dtype=torch.uint8))        # ERR ... uint8_t without overflow
t("full -1 uint8", lambda: torch.full((2,), -1, dtype=torch.uint8))          # tensor([255, 255])
t("full 2.7 int64", lambda: torch.full((2,), 2.7, dtype=torch.int64))        # tensor([2, 2])
t("full 1e30 int64", lambda: torch.full((2,), 1e30, dtype=torch.int64))      # ERR
t("full nan int32", lambda: torch.full((2,), float('nan'), dtype=torch.int32))  # ERR
t("full inf int32", lambda: torch.full((2,), float('inf'), dtype=torch.int32))  # ERR
t("full 1e39 float32", lambda: torch.full((2,), 1e39, dtype=torch.float32))  # ERR
t("full inf float32", lambda: torch.full((2,), float('inf'), dtype=torch.float32))  # tensor([inf, inf])
t("full 70000 float16", lambda: torch.full((2,), 70000.0, dtype=torch.float16))  # ERR
t("full 1e39 bfloat16", lambda: torch.full((2,), 1e39, dtype=torch.bfloat16))  # ERR
t("full 5 bool", lambda: torch.full((2,), 5, dtype=torch.bool))              # tensor([True, True])
t("fill_ 300 uint8", lambda: torch.zeros(2, dtype=torch.uint8).fill_(300))   # ERR
t("masked_fill 40000 int16", lambda: torch.zeros(2, dtype=torch.int16).masked_fill(torch.tensor([True, False]), 40000))  # ERR
t("index_fill 200 int8", lambda: torch.zeros(2, dtype=torch.int8).index_fill(0, torch.tensor([0]), 200))  # ERR
t("fill_ -128 int8", lambda: torch.zeros(2, dtype=torch.int8).fill_(-128))   # tensor([-128, -128])
t("fill_ 127.9 int8", lambda: torch.zeros(2, dtype=torch.int8).fill_(127.9))  # ERR
t("fill_ 9.3e18 int64", lambda: torch.zeros(2, dtype=torch.int64).fill_(9.3e18))  # ERR
