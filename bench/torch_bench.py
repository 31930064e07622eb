"""torch_bench.py — the PyTorch side of bench/vs_pytorch: times training steps (SGD, Nesterov
momentum 0.9, weight decay 5e-4, softmax cross-entropy) of the same model dpf builds
(tests/parity/models.py), on random data, and prints one JSON object like `dpf bench --json`.

    /usr/bin/python3 bench/torch_bench.py --model resnet20 --data-shape 3,32,32 --batch 128 \
        --threads 2 [--channels-last] [--inference]
"""

import argparse
import json
import os
import statistics
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "parity"))
import models  # noqa: E402


def parse():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", default="resnet20")
    ap.add_argument("--data-shape", default="3,32,32")
    ap.add_argument("--classes", type=int, default=10)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--steps", type=int, default=30)
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--channels-last", action="store_true")
    ap.add_argument("--inference", action="store_true",
                    help="batch-1 latency and batch-256 throughput of eval-mode forward passes")
    return ap.parse_args()


def timed(fn, steps, warmup):
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(steps):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main():
    a = parse()
    torch.set_num_threads(a.threads)
    c, h, w = (int(v) for v in a.data_shape.split(","))
    net = models.build(a.model, c, h, w, a.classes)
    fmt = torch.channels_last if a.channels_last else torch.contiguous_format
    if a.channels_last:
        net = net.to(memory_format=fmt)
    out = {"framework": "pytorch " + torch.__version__, "model": a.model,
           "data_shape": [c, h, w], "threads": a.threads, "channels_last": a.channels_last}
    if a.inference:
        net.eval()
        with torch.no_grad():
            x1 = torch.randn(1, c, h, w).contiguous(memory_format=fmt)
            lat = timed(lambda: net(x1), max(a.steps, 50), a.warmup)
            xb = torch.randn(256, c, h, w).contiguous(memory_format=fmt)
            tb = timed(lambda: net(xb), max(3, a.steps // 5), 2)
        out.update(latency_ms=lat * 1e3, inference_images_per_s=256 / tb)
    else:
        opt = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9, nesterov=True,
                              weight_decay=5e-4)
        x = torch.randn(a.batch, c, h, w).contiguous(memory_format=fmt)
        y = torch.randint(0, a.classes, (a.batch,))

        def step():
            opt.zero_grad(set_to_none=True)
            F.cross_entropy(net(x), y).backward()
            opt.step()

        t = timed(step, a.steps, a.warmup)
        out.update(batch=a.batch, step_ms=t * 1e3, train_images_per_s=a.batch / t)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
