"""st_io.py — minimal safetensors reader/writer in pure Python (struct + json + numpy).

Format: 8-byte little-endian header length N, N bytes of JSON (padded with spaces to a multiple
of 8), then the raw little-endian tensor data. The JSON maps each tensor name to
{"dtype", "shape", "data_offsets": [begin, end]} (offsets relative to the data area) and may hold
"__metadata__" (string -> string).

Supported dtypes: F32, F64, I64, I32, U8 (plus F16, I16, I8 and BOOL on read). Values may be numpy
arrays or torch tensors (converted with .detach().cpu().numpy()); Python scalars become 0-d arrays.

    save(path, {"w": np.zeros((2, 3), np.float32)}, metadata={"model": "mlp"})
    tensors, metadata = load(path)            # dict name -> numpy array, dict str -> str
"""

import json
import os
import struct

import numpy as np

_DTYPES = {
    "F32": np.dtype("<f4"),
    "F64": np.dtype("<f8"),
    "F16": np.dtype("<f2"),
    "I64": np.dtype("<i8"),
    "I32": np.dtype("<i4"),
    "I16": np.dtype("<i2"),
    "I8": np.dtype("i1"),
    "U8": np.dtype("u1"),
    "BOOL": np.dtype("?"),
}
_WRITABLE = {"F32", "F64", "I64", "I32", "U8"}


def _dtype_name(dt):
    dt = np.dtype(dt)
    for name, d in _DTYPES.items():
        if name in _WRITABLE and d.kind == dt.kind and d.itemsize == dt.itemsize:
            return name
    raise ValueError("safetensors: unsupported dtype %s (use float32/float64/int64/int32/uint8)"
                     % dt)


def _to_numpy(v):
    if hasattr(v, "detach"):  # torch tensor, without importing torch here
        v = v.detach().cpu().numpy()
    return np.asarray(v)


def dumps(tensors, metadata=None):
    """Serialises {name: array} (+ metadata) to bytes; tensors are stored in insertion order."""
    header = {}
    if metadata:
        for k, v in metadata.items():
            if not isinstance(k, str) or not isinstance(v, str):
                raise ValueError("safetensors: __metadata__ must map str to str (%r: %r)" % (k, v))
        header["__metadata__"] = dict(metadata)
    chunks = []
    offset = 0
    for name, value in tensors.items():
        if name == "__metadata__":
            raise ValueError("safetensors: '__metadata__' is not a tensor name")
        arr = _to_numpy(value)
        dname = _dtype_name(arr.dtype)
        data = np.ascontiguousarray(arr, dtype=_DTYPES[dname]).tobytes()
        header[name] = {"dtype": dname, "shape": [int(s) for s in arr.shape],
                        "data_offsets": [offset, offset + len(data)]}
        chunks.append(data)
        offset += len(data)
    hjson = json.dumps(header, separators=(",", ":")).encode("utf-8")
    hjson += b" " * ((-len(hjson)) % 8)
    return struct.pack("<Q", len(hjson)) + hjson + b"".join(chunks)


def save(path, tensors, metadata=None):
    """Writes a safetensors file atomically (PATH.tmp then rename)."""
    blob = dumps(tensors, metadata)
    tmp = str(path) + ".tmp"
    with open(tmp, "wb") as f:
        f.write(blob)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def loads(blob):
    """Parses safetensors bytes -> (dict name -> numpy array, metadata dict)."""
    if len(blob) < 8:
        raise ValueError("safetensors: file shorter than its 8-byte header length")
    (n,) = struct.unpack("<Q", blob[:8])
    if n > len(blob) - 8:
        raise ValueError("safetensors: header length %d exceeds the file size %d" % (n, len(blob)))
    header = json.loads(blob[8:8 + n].decode("utf-8"))
    if not isinstance(header, dict):
        raise ValueError("safetensors: header is not a JSON object")
    data = memoryview(blob)[8 + n:]
    metadata = header.pop("__metadata__", None) or {}
    out = {}
    spans = []
    for name, info in header.items():
        dname = info.get("dtype")
        if dname not in _DTYPES:
            raise ValueError("safetensors: tensor %r has unknown dtype %r" % (name, dname))
        dt = _DTYPES[dname]
        shape = tuple(int(s) for s in info["shape"])
        if any(s < 0 for s in shape):
            raise ValueError("safetensors: tensor %r has a negative dimension" % name)
        begin, end = (int(x) for x in info["data_offsets"])
        count = int(np.prod(shape, dtype=np.int64)) if shape else 1
        if not (0 <= begin <= end <= len(data)):
            raise ValueError("safetensors: tensor %r data_offsets [%d, %d] outside the data area "
                             "(%d bytes)" % (name, begin, end, len(data)))
        if end - begin != count * dt.itemsize:
            raise ValueError("safetensors: tensor %r has %d bytes, shape x dtype needs %d"
                             % (name, end - begin, count * dt.itemsize))
        spans.append((begin, end, name))
        out[name] = np.frombuffer(data[begin:end], dtype=dt).reshape(shape).copy()
    spans.sort()
    for (b0, e0, n0), (b1, _e1, n1) in zip(spans, spans[1:]):
        if b1 < e0:
            raise ValueError("safetensors: tensors %r and %r overlap" % (n0, n1))
    return out, dict(metadata)


def load(path):
    """Reads a safetensors file -> (dict name -> numpy array, metadata dict)."""
    with open(path, "rb") as f:
        return loads(f.read())


def load_torch(path):
    """As load(), but the values are torch tensors."""
    import torch
    tensors, meta = load(path)
    return {k: torch.from_numpy(v) for k, v in tensors.items()}, meta
