#!/usr/bin/env bash
# table1.sh — paper Tables 1/4 and 2 at small scale: dense, DPF, SNIP, SM, DSR, Incremental and
# One-shot+FT at each sparsity, over seeds. DPF, Incremental and One-shot run with --finetune FT:
# the last epoch of their training phase gives "DPF" / "Incremental", the end of fine-tuning gives
# Table 2's "DPF+FT" / "Incremental+FT" (fine-tuning does not change the training phase).
# Usage: experiments/table1.sh OUT [MODEL...]   (MODEL: lenet5 resnet20 ...; default both)
# Environment: lib.sh's, plus SPARSITIES [0.9 0.95 0.99], and per model
#   LENET5_ARGS   [--epochs 10 --lr 0.05 --limit-train 30000]
#   RESNET20_ARGS [--epochs 10 --lr 0.1 --limit-train 5000 --eval-every 5]
#   FT            fine-tuning epochs [3]
# Then: dpf report OUT/table1 -o RESULTS
set -euo pipefail
source "$(dirname "$0")/lib.sh"
out=${1:?usage: table1.sh OUT [MODEL...]}/table1
shift
models=${*:-lenet5 resnet20}
SPARSITIES=${SPARSITIES:-0.9 0.95 0.99}
FT=${FT:-3}
LENET5_ARGS=${LENET5_ARGS:---epochs 10 --lr 0.05 --limit-train 30000}
RESNET20_ARGS=${RESNET20_ARGS:---epochs 10 --lr 0.1 --limit-train 5000 --eval-every 5}

for model in $models; do
  var=$(echo "${model}_ARGS" | tr 'a-z-' 'A-Z_')
  recipe=${!var:---epochs 10}
  for seed in $SEEDS; do
    queue "$model-dense-seed$seed" --model "$model" --method dense --seed "$seed" $recipe
    for s in $SPARSITIES; do
      for m in dpf incremental oneshot snip sm dsr; do
        ft=()
        [[ $m == dpf || $m == incremental || $m == oneshot ]] && ft=(--finetune "$FT")
        queue "$model-$m-$(pct "$s")-seed$seed" --model "$model" --method "$m" --sparsity "$s" \
          --seed "$seed" "${ft[@]}" $recipe
      done
    done
  done
done
run_queue "$out"
