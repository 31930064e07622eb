#!/usr/bin/env python3
"""make_fixtures.py — writes the PyTorch parity fixtures the C test tests/parity/test_parity.c
compares the dpf engine against.

    /usr/bin/python3 tests/parity/make_fixtures.py            # all fixtures
    /usr/bin/python3 tests/parity/make_fixtures.py --only lenet5_1x28x28 --out-dir /tmp/fx

One file per (model, input shape): tests/parity/fixtures/<model>_<C>x<H>x<W>.safetensors with
  input (B,C,H,W) F32, labels (B) I64,
  param.<name> / buffer.<name>      the initial parameters and BN buffers (counters I64),
  logits, loss, grad.<name>         one train-mode forward, mean softmax CE, backward,
  buffer_after.<name>               BN buffers after that forward,
  step_losses (5)                   5 steps of SGD(lr 0.05, momentum 0.9, Nesterov, wd 1e-4) on the
                                    same batch from the initial state: the loss before each update,
  final.<name>, buffer_final.<name> parameters / BN buffers after the 5 steps,
  eval_logits                       model.eval() logits after the 5 steps,
and __metadata__ (model, shape, classes, batch, seed, lr, momentum, nesterov, weight_decay, steps,
torch version). Everything is float32 on the CPU with one thread and a fixed seed per fixture, so
re-running reproduces the files (bit-identical on the same machine and torch build).
"""

import argparse
import copy
import os
import sys
import zlib

import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import models  # noqa: E402
import st_io  # noqa: E402

FIXTURES = [("lenet5", (1, 28, 28)), ("lenet5", (3, 32, 32)),
            ("resnet20", (1, 28, 28)), ("resnet20", (3, 32, 32))]
CLASSES = 10
BATCH = 8
LR, MOMENTUM, NESTEROV, WEIGHT_DECAY, STEPS = 0.05, 0.9, True, 1e-4, 5


def fixture_name(model, shape):
    return "%s_%s" % (model, "x".join(str(s) for s in shape))


def split_state(model):
    """(params, buffers) as ordered dicts name -> detached copy, in state_dict order."""
    pnames = {n for n, _ in model.named_parameters()}
    params, buffers = {}, {}
    for n, t in model.state_dict().items():
        (params if n in pnames else buffers)[n] = t.detach().clone()
    return params, buffers


def make_fixture(model_name, shape, out_dir):
    name = fixture_name(model_name, shape)
    seed = zlib.crc32(name.encode())
    torch.manual_seed(seed)
    c, h, w = shape
    model = models.build(model_name, c, h, w, CLASSES).float()
    model.train()
    x = torch.randn(BATCH, c, h, w, dtype=torch.float32)
    y = torch.randint(0, CLASSES, (BATCH,), dtype=torch.int64)
    init_state = copy.deepcopy(model.state_dict())
    params0, buffers0 = split_state(model)

    out = {"input": x, "labels": y}
    for n, t in params0.items():
        out["param." + n] = t
    for n, t in buffers0.items():
        out["buffer." + n] = t

    # One training-mode forward / loss / backward.
    model.zero_grad(set_to_none=True)
    logits = model(x)
    loss = F.cross_entropy(logits, y)
    loss.backward()
    out["logits"] = logits.detach()
    out["loss"] = loss.detach().reshape(())
    for n, p in model.named_parameters():
        out["grad." + n] = p.grad.detach().clone()
    for n, t in split_state(model)[1].items():
        out["buffer_after." + n] = t

    # From the initial state again: STEPS SGD steps on the same batch.
    model.load_state_dict(init_state, strict=True)
    model.train()
    opt = torch.optim.SGD(model.parameters(), lr=LR, momentum=MOMENTUM, nesterov=NESTEROV,
                          weight_decay=WEIGHT_DECAY)
    step_losses = []
    for _ in range(STEPS):
        opt.zero_grad(set_to_none=True)
        loss = F.cross_entropy(model(x), y)
        step_losses.append(loss.item())
        loss.backward()
        opt.step()
    out["step_losses"] = torch.tensor(step_losses, dtype=torch.float32)
    params1, buffers1 = split_state(model)
    for n, t in params1.items():
        out["final." + n] = t
    for n, t in buffers1.items():
        out["buffer_final." + n] = t
    model.eval()
    with torch.no_grad():
        out["eval_logits"] = model(x).detach()

    meta = {
        "model": model_name, "shape": ",".join(str(s) for s in shape), "classes": str(CLASSES),
        "batch": str(BATCH), "seed": str(seed), "lr": repr(LR), "momentum": repr(MOMENTUM),
        "nesterov": "true" if NESTEROV else "false", "weight_decay": repr(WEIGHT_DECAY),
        "steps": str(STEPS), "loss": "mean softmax cross-entropy", "dtype": "float32",
        "torch": torch.__version__,
    }
    path = os.path.join(out_dir, name + ".safetensors")
    st_io.save(path, out, meta)
    nparam = sum(t.numel() for t in params0.values())
    print("%s: %d params, loss %.6f -> %.6f, %d bytes" % (path, nparam, out["loss"].item(),
                                                          step_losses[-1], os.path.getsize(path)))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out-dir", default=os.path.join(HERE, "fixtures"))
    ap.add_argument("--only", action="append", default=None,
                    help="fixture name such as lenet5_1x28x28 (repeatable); default: all")
    args = ap.parse_args()
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    os.makedirs(args.out_dir, exist_ok=True)
    todo = [(m, s) for m, s in FIXTURES if args.only is None or fixture_name(m, s) in args.only]
    if args.only and len(todo) != len(args.only):
        known = ", ".join(fixture_name(m, s) for m, s in FIXTURES)
        sys.exit("make_fixtures: unknown fixture in %s (known: %s)" % (args.only, known))
    for m, s in todo:
        make_fixture(m, s, args.out_dir)


if __name__ == "__main__":
    main()
