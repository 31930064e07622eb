#!/usr/bin/env python3
"""dpfs.py — read a dpf compact sparse model file (.dpfs, docs/sparse_format.md) back into a
PyTorch state_dict, so a sparse export locks nobody in. Needs numpy; torch only for torch tensors.

    import dpfs
    state, meta = dpfs.load_state_dict("model.dpfs")      # torch tensors (numpy arrays without torch)
    model.load_state_dict(state, strict=True)            # e.g. the models of tests/parity/models.py

    python3 tools/pytorch/dpfs.py model.dpfs OUT.safetensors   # the dense model file again

Every compressed weight is expanded to its dense shape with +0.0 at the pruned positions (the
values are the file's float32 bits, unchanged); every BN layer gets its num_batches_tracked back
from the metadata. The file is checked as the C reader checks it; a malformed one raises
ValueError naming the tensor.
"""

import json
import struct
import sys

import numpy as np

_DTYPES = {"F32": np.dtype("<f4"), "U8": np.dtype("u1"), "U16": np.dtype("<u2"),
           "U32": np.dtype("<u4")}


def _read_container(path):
    with open(path, "rb") as f:
        raw = f.read()
    if len(raw) < 8:
        raise ValueError("%s: shorter than the 8-byte header length" % path)
    (n,) = struct.unpack("<Q", raw[:8])
    if n > len(raw) - 8:
        raise ValueError("%s: header length %d exceeds the file" % (path, n))
    header = json.loads(raw[8:8 + n].decode("utf-8"))
    meta = header.pop("__metadata__", {})
    data = memoryview(raw)[8 + n:]
    arrays = {}
    for name, e in header.items():
        dt = _DTYPES.get(e.get("dtype"))
        if dt is None:
            raise ValueError("%s: tensor %r: dtype %r is not one of %s"
                             % (path, name, e.get("dtype"), ", ".join(_DTYPES)))
        begin, end = e["data_offsets"]
        count = int(np.prod(e["shape"], dtype=np.int64)) if e["shape"] else 1
        if not 0 <= begin <= end <= len(data) or end - begin != count * dt.itemsize:
            raise ValueError("%s: tensor %r: data_offsets %r do not fit" % (path, name, [begin, end]))
        arrays[name] = np.frombuffer(data[begin:end], dtype=dt).reshape(e["shape"])
    return arrays, meta


def _part(path, arrays, name, suffix, dtypes):
    key = name + "." + suffix
    a = arrays.pop(key, None)
    if a is None:
        raise ValueError("%s: tensor %r: the file has no %r" % (path, name, key))
    if a.ndim != 1 or a.dtype not in [_DTYPES[d] for d in dtypes]:
        raise ValueError("%s: tensor %r: %s must be 1-D %s" % (path, name, suffix, "/".join(dtypes)))
    return a


def _decode(path, arrays, name, decl):
    encoding, _, shape_s = decl.partition(":")
    shape = tuple(int(d) for d in shape_s.split(","))
    if not 1 <= len(shape) <= 4 or min(shape) < 1:
        raise ValueError("%s: tensor %r: bad shape %r" % (path, name, shape_s))
    rows, row_len = shape[0], int(np.prod(shape[1:], dtype=np.int64))
    values = _part(path, arrays, name, "values", ["F32"])
    dense = np.zeros(rows * row_len, dtype=np.float32)
    if encoding == "bitmap":
        bitmap = _part(path, arrays, name, "bitmap", ["U8"])
        if bitmap.size != (rows * row_len + 7) // 8:
            raise ValueError("%s: tensor %r: bitmap has %d bytes" % (path, name, bitmap.size))
        bits = np.unpackbits(bitmap, bitorder="little")
        if bits[rows * row_len:].any() or int(bits.sum()) != values.size:
            raise ValueError("%s: tensor %r: bitmap bits disagree with %d values"
                             % (path, name, values.size))
        dense[bits[:rows * row_len].astype(bool)] = values
    elif encoding == "csr":
        ptr = _part(path, arrays, name, "row_ptr", ["U8", "U16", "U32"]).astype(np.int64)
        col = _part(path, arrays, name, "col_idx", ["U8", "U16", "U32"]).astype(np.int64)
        if (ptr.size != rows + 1 or ptr[0] != 0 or ptr[-1] != values.size
                or col.size != values.size or (np.diff(ptr) < 0).any()):
            raise ValueError("%s: tensor %r: row_ptr/col_idx disagree with the shape and %d values"
                             % (path, name, values.size))
        row = np.repeat(np.arange(rows), np.diff(ptr))
        if col.size and (col.max() >= row_len
                         or ((np.diff(col) <= 0) & (np.diff(row) == 0)).any()):
            raise ValueError("%s: tensor %r: column out of range or not increasing in a row"
                             % (path, name))
        dense[row * row_len + col] = values
    else:
        raise ValueError("%s: tensor %r: unknown encoding %r" % (path, name, encoding))
    return dense.reshape(shape)


def read_dpfs(path):
    """Returns ({state_dict name: numpy array}, metadata) of a .dpfs file, in PyTorch's state_dict
    order (a compressed weight stands where its values are; each BN layer's num_batches_tracked,
    an int64 scalar, after its running_var)."""
    arrays, meta = _read_container(path)
    if meta.get("format") != "dpf-sparse" or meta.get("format_version") != "1":
        raise ValueError("%s: not a dpf-sparse version 1 file (format %r, version %r)"
                         % (path, meta.get("format"), meta.get("format_version")))
    tracked = np.array(int(meta.get("num_batches_tracked", "0")), dtype=np.int64)
    sparse = {k[len("sparse."):]: v for k, v in meta.items() if k.startswith("sparse.")}
    order = [k[:-len(".values")] if k.endswith(".values") and k[:-len(".values")] in sparse else k
             for k in arrays]
    decoded = {name: _decode(path, arrays, name, decl) for name, decl in sparse.items()}
    state = {}
    for name in order:
        if name in decoded:
            state[name] = decoded[name]
        elif name in arrays:
            state[name] = arrays[name].copy()
        else:
            continue  # a part of a compressed tensor
        if name.endswith(".running_var"):
            state[name[:-len("running_var")] + "num_batches_tracked"] = tracked.copy()
    return state, meta


def load_state_dict(path):
    """read_dpfs with torch tensors when torch is installed (numpy arrays otherwise)."""
    state, meta = read_dpfs(path)
    try:
        import torch
    except ImportError:
        return state, meta
    return {k: torch.from_numpy(v) for k, v in state.items()}, meta


def main(argv):
    if len(argv) != 3:
        print("usage: dpfs.py MODEL.dpfs OUT.safetensors", file=sys.stderr)
        return 2
    try:
        state, meta = read_dpfs(argv[1])
    except (OSError, ValueError, KeyError) as e:
        print("dpfs: %s" % e, file=sys.stderr)
        return 1
    keep = {k: v for k, v in meta.items() if not k.startswith("sparse.")
            and k not in ("format_version", "num_batches_tracked", "class_names")}
    keep["format"] = "dpf"
    header, off, blobs = {"__metadata__": keep}, 0, []
    for name, v in state.items():
        dt = "I64" if v.dtype == np.int64 else "F32"
        b = np.ascontiguousarray(v).tobytes()
        header[name] = {"dtype": dt, "shape": list(v.shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-(8 + len(h)) % 8)
    with open(argv[2], "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
