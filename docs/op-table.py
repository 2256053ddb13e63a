#!/usr/bin/env python3
"""Prints the table of docs/ARCHITECTURE.md that maps each public Tensor member to its Function and
kernel: `python3 docs/op-table.py > /tmp/table.md` from the repository root, then paste it in.
It reads the source with regular expressions and follows calls into Tensor's private helpers;
overloads share one row, and members built only from other public members (Mean is Sum and a
division) are left out: see those."""
import glob
import os
import re

SRC = 'src/MetaGrad'
CLASS = re.compile(r'\n(?:internal |public )?(?:sealed |abstract )?class (\w+)')


def bodies(text, starts):
    """(name, body) for each match of `starts`, the body running to the next member."""
    for m in starts.finditer(text):
        rest = text[m.end():]
        end = re.search(r'\n    (?:public|internal|static|private|protected|///|\[)', rest)
        yield m.group(1), rest[: end.start() if end else 600]


# Where each kernel is implemented.
kernel_file = {}
for f in glob.glob(SRC + '/Backends/Cpu/CpuBackend*.cs'):
    for name in re.findall(r'\n    public (?:\([^)\n]*\)|[^(\n=])*? (\w+)(?:<\w+>)?\(', open(f).read()):
        kernel_file.setdefault(name, os.path.basename(f))

# Each Function class, its file and the kernels its Forward calls.
functions = {}
for f in glob.glob(SRC + '/Functions/*.cs'):
    text = open(f).read()
    found = list(CLASS.finditer(text))
    for i, m in enumerate(found):
        body = text[m.end(): found[i + 1].start() if i + 1 < len(found) else len(text)]
        if 'Function' not in text[m.start(): m.end() + 200]:
            continue
        forward = re.search(r'Forward\(Context.*?(?=protected override|\Z)', body, re.S)
        calls = sorted(set(re.findall(r'Backend\.(\w+)\(', forward.group(0) if forward else body)))
        functions[m.group(1)] = (os.path.basename(f), calls)


def kernels(names):
    return ', '.join(f'`{k}` ({kernel_file.get(k, "?")})' for k in names)


member = re.compile(r'\n    public (?:static )?(?:\([^)\n]*\)|[^(\n=])*? (operator \S+|\w+)\(')
helper = re.compile(r'\n    (?:private |internal )?(?:static )?(?!public|return|var)(?:\([^)\n]*\)|[\w<>\[\]?])[\w<>\[\]?, ]*? (\w+)(?:<\w+>)?\([^)\n]*\)\s*(?:=>|\n\s*\{)')

# The Tensor partial class: public members, and the private helpers they delegate to.
public, helpers = {}, {}
for f in sorted(glob.glob(SRC + '/Tensor*.cs')):
    text = open(f).read()
    for name, body in bodies(text, member):
        public.setdefault(name, (os.path.basename(f), []))[1].append(body)
    for name, body in bodies(text, helper):
        if name not in public:
            helpers.setdefault(name, []).append(body)


def reach(bodies_, depth=2):
    """Functions and kernels named in these bodies and in the private helpers they call."""
    fns, kerns = [], []
    for body in bodies_:
        fns += [x for x in re.findall(r'new (?:Functions\.)?(\w+)\(', body) if x in functions]
        kerns += re.findall(r'Backend\.(\w+)\(', body)
        if depth > 0:
            for c in set(re.findall(r'(?<![\w.])(\w+)\(', body)):
                if c in helpers:
                    f2, k2 = reach(helpers[c], depth - 1)
                    fns, kerns = fns + f2, kerns + k2
    return fns, kerns


print('| member | in | Function (file) | kernel (file) |')
print('| --- | --- | --- | --- |')
for name, (file, bodies_) in public.items():
    fns, kerns = reach(bodies_)
    fns = list(dict.fromkeys(fns))
    kerns = sorted(set(kerns + [k for x in fns for k in functions[x][1]]))
    if not fns and not kerns:
        continue   # built from other members (Mean is Sum and a division): see those
    fn_cell = '; '.join(f'`{x}` ({functions[x][0]})' for x in fns) or '(none: not differentiable)'
    print(f'| `{name.replace("|", "&#124;")}` | {file} | {fn_cell} | {kernels(kerns) or "(tensor operations)"} |')
