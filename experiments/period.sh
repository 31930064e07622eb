#!/usr/bin/env bash
# period.sh — paper Fig. 9 at small scale: DPF's mask update period p in {1, 4, 16, 64, 256}
# (global ranking), and layer-wise against global ranking, at one sparsity on lenet5.
# Usage: experiments/period.sh OUT
# Environment: lib.sh's (SEEDS defaults to 1 here), SPARSITY [0.95], PERIODS [1 4 16 64 256],
#   ARGS [--model lenet5 --epochs 10 --lr 0.05 --limit-train 30000]
# Then: dpf report OUT/period -o RESULTS
set -euo pipefail
SEEDS=${SEEDS:-1}
source "$(dirname "$0")/lib.sh"
out=${1:?usage: period.sh OUT}/period
SPARSITY=${SPARSITY:-0.95}
PERIODS=${PERIODS:-1 4 16 64 256}
ARGS=${ARGS:---model lenet5 --epochs 10 --lr 0.05 --limit-train 30000}
s=$(pct "$SPARSITY")
for seed in $SEEDS; do
  for p in $PERIODS; do
    queue "dpf-$s-p$p-global-seed$seed" --method dpf --sparsity "$SPARSITY" --period "$p" \
      --seed "$seed" $ARGS
  done
  queue "dpf-$s-p16-layer-seed$seed" --method dpf --sparsity "$SPARSITY" --period 16 \
    --scope layer --seed "$seed" $ARGS
done
run_queue "$out"
