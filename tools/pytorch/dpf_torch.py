#!/usr/bin/env python3
"""dpf_torch.py — load a dpf-exported model into PyTorch and measure its test accuracy.

    python3 tools/pytorch/dpf_torch.py MODEL.safetensors [--data-dir DIR] [--batch-size 1000]

MODEL.safetensors holds tensors named exactly as the PyTorch state_dict (conv1.weight,
layer1.0.bn1.running_mean, fc.bias, ...) and __metadata__ with
  model          dpf model name (mlp, lenet5, resnet20, ..., wrn-28-K, vgg16)
  data           data set: fashion-mnist, mnist, cifar10 or cifar100
  input_shape    "C,H,W", e.g. "1,28,28"
  classes        number of classes, e.g. "10"
  normalize_mean, normalize_std   per-channel constants applied to pixel/255, comma-separated.
  widths         (a slimmed model, `dpf export --slim`) "name:width,..." of every layer
The model comes from tests/parity/models.py (imported by path), loaded with
load_state_dict(strict=True), evaluated in eval mode on the test split, and the script prints
    test_acc=0.9123
(plus a summary line on stderr). Exit status 0 on success, 1 with a message on any error.

Data files looked up in --data-dir (default /usr/share/datasets/<data>):
  mnist / fashion-mnist   t10k-images-idx3-ubyte[.gz], t10k-labels-idx1-ubyte[.gz]
  cifar10                 test_batch.bin (also under cifar-10-batches-bin/)
  cifar100                test.bin (also under cifar-100-binary/), fine labels
"""

import argparse
import gzip
import importlib.util
import os
import struct
import sys

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PARITY_DIR = os.path.join(ROOT, "tests", "parity")


def _import_by_path(name, path):
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ImportError("cannot import %s from %s" % (name, path))
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod
    spec.loader.exec_module(mod)
    return mod


def _open_maybe_gz(path):
    for p in (path, path + ".gz"):
        if os.path.exists(p):
            return gzip.open(p, "rb") if p.endswith(".gz") else open(p, "rb")
    raise FileNotFoundError("neither %s nor %s.gz exists" % (path, path))


def read_idx(path):
    """Reads an IDX file (raw or .gz) into a numpy uint8 array."""
    with _open_maybe_gz(path) as f:
        data = f.read()
    if len(data) < 4:
        raise ValueError("%s: truncated IDX header" % path)
    zero, dtype, ndim = struct.unpack(">HBB", data[:4])
    if zero != 0 or dtype != 0x08:
        raise ValueError("%s: not an unsigned-byte IDX file (magic %02x%02x%02x%02x)"
                         % ((path,) + tuple(data[:4])))
    dims = struct.unpack(">" + "I" * ndim, data[4:4 + 4 * ndim])
    count = int(np.prod(dims)) if dims else 1
    body = np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim)
    if body.size != count:
        raise ValueError("%s: %d data bytes, header dims %s need %d"
                         % (path, body.size, dims, count))
    return body.reshape(dims)


def _find(data_dir, names):
    for n in names:
        p = os.path.join(data_dir, n)
        if os.path.exists(p) or os.path.exists(p + ".gz"):
            return p
    raise FileNotFoundError("none of %s in %s" % (", ".join(names), data_dir))


def load_test_split(data, data_dir):
    """Returns (images uint8 (N, C, H, W), labels int64 (N))."""
    if data in ("mnist", "fashion-mnist"):
        x = read_idx(os.path.join(data_dir, "t10k-images-idx3-ubyte"))
        y = read_idx(os.path.join(data_dir, "t10k-labels-idx1-ubyte"))
        if x.ndim != 3 or y.ndim != 1 or x.shape[0] != y.shape[0]:
            raise ValueError("%s: images %s and labels %s do not match"
                             % (data_dir, x.shape, y.shape))
        return x[:, None, :, :], y.astype(np.int64)
    if data in ("cifar10", "cifar100"):
        if data == "cifar10":
            p = _find(data_dir, ["test_batch.bin", "cifar-10-batches-bin/test_batch.bin"])
            label_bytes, label_index = 1, 0
        else:
            p = _find(data_dir, ["test.bin", "cifar-100-binary/test.bin"])
            label_bytes, label_index = 2, 1          # coarse, fine
        with open(p, "rb") as f:
            raw = np.frombuffer(f.read(), dtype=np.uint8)
        rec = label_bytes + 3 * 32 * 32
        if raw.size % rec:
            raise ValueError("%s: size %d is not a multiple of the %d-byte record"
                             % (p, raw.size, rec))
        raw = raw.reshape(-1, rec)
        return raw[:, label_bytes:].reshape(-1, 3, 32, 32), raw[:, label_index].astype(np.int64)
    raise ValueError("unknown data set %r (known: fashion-mnist, mnist, cifar10, cifar100)" % data)


def _floats(meta, key, n):
    if key not in meta:
        raise ValueError("metadata lacks %r" % key)
    vals = [float(v) for v in meta[key].split(",") if v.strip()]
    if len(vals) == 1 and n > 1:
        vals = vals * n
    if len(vals) < n:
        raise ValueError("metadata %r=%r has fewer than %d values" % (key, meta[key], n))
    return np.array(vals[:n], dtype=np.float32)


def load_model(path, models=None, st_io=None):
    """Builds the PyTorch model described by a dpf-exported safetensors file and loads its
    weights strictly. Returns (model, metadata)."""
    import torch
    if models is None:
        models = _import_by_path("dpf_parity_models", os.path.join(PARITY_DIR, "models.py"))
    if st_io is None:
        st_io = _import_by_path("dpf_parity_st_io", os.path.join(PARITY_DIR, "st_io.py"))
    tensors, meta = st_io.load(path)
    for key in ("model", "input_shape", "classes"):
        if key not in meta:
            raise ValueError("%s: metadata lacks %r" % (path, key))
    c, h, w = (int(v) for v in meta["input_shape"].split(","))
    model = models.build(meta["model"], c, h, w, int(meta["classes"]), meta.get("widths"))
    state = {k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in tensors.items()}
    model.load_state_dict(state, strict=True)
    return model, meta


def evaluate(model, meta, data_dir, batch_size=1000, limit=0):
    """Test accuracy of model on the test split of meta["data"], normalised as in meta."""
    import torch
    c, h, w = (int(v) for v in meta["input_shape"].split(","))
    x, y = load_test_split(meta["data"], data_dir)
    if x.shape[1:] != (c, h, w):
        raise ValueError("test images are %s, the model expects %s" % (x.shape[1:], (c, h, w)))
    if limit > 0:
        x, y = x[:limit], y[:limit]
    mean = _floats(meta, "normalize_mean", c).reshape(1, c, 1, 1)
    std = _floats(meta, "normalize_std", c).reshape(1, c, 1, 1)
    model.eval()
    correct = 0
    with torch.no_grad():
        for i in range(0, x.shape[0], batch_size):
            xb = (x[i:i + batch_size].astype(np.float32) / 255.0 - mean) / std
            pred = model(torch.from_numpy(xb)).argmax(dim=1).numpy()
            correct += int((pred == y[i:i + batch_size]).sum())
    return correct / x.shape[0], x.shape[0]


def main(argv=None):
    ap = argparse.ArgumentParser(description="Evaluate a dpf-exported model in PyTorch.")
    ap.add_argument("model", help="dpf-exported .safetensors file")
    ap.add_argument("--data-dir", help="data set directory (default /usr/share/datasets/<data>)")
    ap.add_argument("--batch-size", type=int, default=1000)
    ap.add_argument("--limit", type=int, default=0, help="evaluate only the first N test images")
    ap.add_argument("--threads", type=int, default=0, help="torch threads (default: torch's)")
    args = ap.parse_args(argv)
    try:
        import torch
        if args.threads > 0:
            torch.set_num_threads(args.threads)
        model, meta = load_model(args.model)
        if "data" not in meta:
            raise ValueError("%s: metadata lacks 'data'" % args.model)
        data_dir = args.data_dir or os.path.join("/usr/share/datasets", meta["data"])
        acc, n = evaluate(model, meta, data_dir, args.batch_size, args.limit)
    except (OSError, ValueError, RuntimeError, ImportError, KeyError) as e:
        print("dpf_torch: %s" % e, file=sys.stderr)
        return 1
    nparam = sum(p.numel() for p in model.parameters())
    nzero = sum(int((p == 0).sum()) for p in model.parameters())
    print("dpf_torch: %s on %s, %d test images, %d params (%.2f%% zero)"
          % (meta["model"], meta["data"], n, nparam, 100.0 * nzero / max(nparam, 1)),
          file=sys.stderr)
    print("test_acc=%.4f" % acc)
    return 0


if __name__ == "__main__":
    sys.exit(main())
