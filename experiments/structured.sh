#!/usr/bin/env bash
# structured.sh — paper Table 5 at small scale: filter-wise DPF against Soft Filter Pruning (SFP)
# on resnet20, at each share of pruned filters, with the dense model for reference.
# Usage: experiments/structured.sh OUT
# Environment: lib.sh's (SEEDS defaults to 1 here), SPARSITIES [0.3 0.5 0.7],
#   ARGS [--model resnet20 --epochs 10 --lr 0.1 --limit-train 5000 --eval-every 5]
# Then: dpf report OUT/structured -o RESULTS
set -euo pipefail
SEEDS=${SEEDS:-1}
source "$(dirname "$0")/lib.sh"
out=${1:?usage: structured.sh OUT}/structured
SPARSITIES=${SPARSITIES:-0.3 0.5 0.7}
ARGS=${ARGS:---model resnet20 --epochs 10 --lr 0.1 --limit-train 5000 --eval-every 5}
for seed in $SEEDS; do
  queue "dense-seed$seed" --method dense --seed "$seed" $ARGS
  for s in $SPARSITIES; do
    for m in dpf sfp; do
      queue "$m-structured-$(pct "$s")-seed$seed" --method "$m" --structured --sparsity "$s" \
        --seed "$seed" $ARGS
    done
  done
done
run_queue "$out"
