#!/usr/bin/env python3
"""scaling_model.py — the scaling model of docs/distributed.md: efficiency of data-parallel
training at a fixed per-rank batch, from measured inputs (the compute time of a step, from
docs/results/speed.md; the local ordered sum, from bench/allreduce.c) and link parameters.

  T_comm(N) = 2 (N-1) a  +  2 (N-1)/N * 4P / BW  +  T_sum  +  4 (N-1) a
              (all-to-all + all-gather: N-1 rounds each, the ring's traffic; the ordered sum of
              one chunk; two small all-gathers: loss/hits and the stop flag)
  E(N)      = T_c / (T_c + T_comm(N))                 (no overlap: what dpf does)
  E_ov(N)   = T_c / (T_c + max(0, T_comm(N) - 2/3 T_c))  (reduction hidden behind the backward,
              which is about 2/3 of a step: what overlap would give)
usage: python3 bench/scaling_model.py"""

ALPHA = 50e-6                 # s per message round over TCP (Ethernet, Open MPI's tcp btl)
LINKS = {"1 Gbit/s": 117e6, "10 Gbit/s": 1.17e9}   # bytes/s a TCP stream gets (~94% of raw)
# model: (values P, per-rank batch, images/s of one dpf process, ordered-sum s per value)
# images/s: docs/results/speed.md (2-core AVX-512 VM, batch 128); ResNet-50 from its MACs
# (4.09 G per 224x224 image) at the ~75 GMAC/s dpf reaches on ResNet-20 / WRN-28-2 there.
SUM_S_PER_VALUE = 4e-9        # bench/allreduce.c "combine" / P: ResNet-50, N = 2 (0.7-0.9 ns for ResNet-20, in cache)
MODELS = {
    "ResNet-20 (CIFAR)": (272474, 128, 594.0),
    "WRN-28-2 (CIFAR)": (1467610, 128, 125.0),
    "ResNet-50 (ImageNet)": (25557032, 32, 75e9 / (3 * 4.09e9)),
}


def t_comm(p, n, bw):
    if n == 1:
        return 0.0
    return (2 * (n - 1) * ALPHA + 2 * (n - 1) / n * 4 * p / bw + (p / n) * n * SUM_S_PER_VALUE
            + 4 * (n - 1) * ALPHA)


def main():
    print("| model | per-rank batch | T_c | link | N=2 | N=4 | N=8 | N=16 | N=16 with overlap |")
    print("|---|---|---|---|---|---|---|---|---|")
    for name, (p, b, ips) in MODELS.items():
        tc = b / ips
        for link, bw in LINKS.items():
            cells = []
            for n in (2, 4, 8, 16):
                cells.append(f"{100 * tc / (tc + t_comm(p, n, bw)):.1f}%")
            tcm = t_comm(p, 16, bw)
            ov = tc / (tc + max(0.0, tcm - 2 / 3 * tc))
            print(f"| {name} | {b} | {1e3 * tc:.0f} ms | {link} | " + " | ".join(cells)
                  + f" | {100 * ov:.1f}% |")
    # the compute speed below which the target (>= 90% on 10 Gbit/s, N = 16) holds
    for name, (p, b, ips) in MODELS.items():
        tcm = t_comm(p, 16, LINKS["10 Gbit/s"])
        print(f"{name}: E >= 90% at N=16 on 10 Gbit/s while T_c >= {1e3 * 9 * tcm:.1f} ms, i.e. "
              f"up to {b / (9 * tcm):.0f} images/s per rank ({b / (9 * tcm) / ips:.1f}x this VM)")


if __name__ == "__main__":
    main()
