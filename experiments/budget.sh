#!/usr/bin/env bash
# budget.sh — does DPF's advantage over Incremental need the paper's long schedules? DPF and
# Incremental at each sparsity for each training budget in epochs (LR milestones and the sparsity
# ramp scale with the budget).
# Usage: experiments/budget.sh OUT
# Environment: lib.sh's (SEEDS defaults to 1 here), SPARSITIES [0.9 0.99], BUDGETS [10 30 60],
#   ARGS [--model lenet5 --lr 0.05 --limit-train 10000]
# Then: dpf report OUT/budget -o RESULTS
set -euo pipefail
SEEDS=${SEEDS:-1}
source "$(dirname "$0")/lib.sh"
out=${1:?usage: budget.sh OUT}/budget
SPARSITIES=${SPARSITIES:-0.9 0.99}
BUDGETS=${BUDGETS:-10 30 60}
ARGS=${ARGS:---model lenet5 --lr 0.05 --limit-train 10000}
# longest first, so that the parallel runs finish close together
for e in $(printf '%s\n' $BUDGETS | sort -rn); do
  for seed in $SEEDS; do
    for s in $SPARSITIES; do
      for m in dpf incremental; do
        queue "$m-$(pct "$s")-e$e-seed$seed" --method "$m" --sparsity "$s" --epochs "$e" \
          --seed "$seed" $ARGS
      done
    done
  done
done
run_queue "$out"
