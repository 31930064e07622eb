#!/usr/bin/env bash
# lottery.sh — paper Fig. 5 at small scale: is DPF's final mask a lottery ticket? For each
# sparsity: a DPF run, then its final mask retrained from scratch (--method fixed) once from the
# same initialisation (same --seed) and once from a new one (--init-seed), same recipe.
# Usage: experiments/lottery.sh OUT
# Environment: lib.sh's (SEEDS defaults to 1 here), SPARSITIES [0.9 0.95 0.99],
#   ARGS [--model lenet5 --epochs 10 --lr 0.05 --limit-train 30000]
# Then: dpf report OUT/lottery -o RESULTS
set -euo pipefail
SEEDS=${SEEDS:-1}
source "$(dirname "$0")/lib.sh"
out=${1:?usage: lottery.sh OUT}/lottery
SPARSITIES=${SPARSITIES:-0.9 0.95 0.99}
ARGS=${ARGS:---model lenet5 --epochs 10 --lr 0.05 --limit-train 30000}
for seed in $SEEDS; do
  for s in $SPARSITIES; do
    queue "dpf-$(pct "$s")-seed$seed" --method dpf --sparsity "$s" --seed "$seed" $ARGS
  done
done
run_queue "$out"
for seed in $SEEDS; do
  for s in $SPARSITIES; do
    dpf_run="$out/dpf-$(pct "$s")-seed$seed"
    queue "ticket-same-init-$(pct "$s")-seed$seed" --method fixed --mask-from "$dpf_run" \
      --seed "$seed" $ARGS
    queue "ticket-new-init-$(pct "$s")-seed$seed" --method fixed --mask-from "$dpf_run" \
      --seed "$seed" --init-seed $((seed + 1000)) $ARGS
  done
done
run_queue "$out"
