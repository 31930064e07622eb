#!/usr/bin/env bash
# credible.sh — issue 19's budgets that can show a difference: the whole Fashion-MNIST training set
# (60,000 images) and several seeds, on the parts of E1, E2 and E4 that fit a 2-core machine.
#   E0  ResNet-20 at 90%, the learning rate per method: DPF and Incremental at E0_LRS [0.05]
#       (E1 gives 0.1)                                              (SEEDS_E0 [1 2])
#   E1  ResNet-20 at 90%: dense, DPF, Incremental                 (RESNET20_ARGS, SEEDS_E1)
#   E4  ResNet-20 at 99% with DPF's collapse guard: DPF, Incremental, SNIP   (SEEDS_E4)
#   E2  LeNet-5 (no batch norm) at 95 and 99%: DPF and Incremental, each with fine-tuning
#       (the last training epoch gives "DPF", the end of fine-tuning "DPF+FT")  (LENET5_ARGS, SEEDS_E2)
#   E3  (after E1) E1's 90% DPF mask of the first seed trained from the same and from a new
#       initialisation (paper Fig. 5)
# Usage: experiments/credible.sh OUT [PART...]   (PART: e0 e1 e4 e2 e3; default e1 e4 e0 e2)
# Environment: lib.sh's (JOBS, THREADS, ...), plus
#   RESNET20_ARGS [--epochs 10 --lr 0.1]          LENET5_ARGS [--epochs 20 --lr 0.05 --finetune 5]
#   SEEDS_E1 [1 2]   SEEDS_E4 [1]   SEEDS_E2 [1 2 3]   E4_METHODS [dpf incremental snip]
# Then: experiments/report_all.sh OUT RESULTS (one report over the parts: RESULTS/credible).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
_late=()
queue_late() { local name=$1; shift; _late+=("$name $*"); }
out=${1:?usage: credible.sh OUT [PART...]}/credible
shift
parts=${*:-e1 e4 e0 e2}
RESNET20_ARGS=${RESNET20_ARGS:---epochs 10 --lr 0.1}
LENET5_ARGS=${LENET5_ARGS:---epochs 20 --lr 0.05 --finetune 5}
SEEDS_E1=${SEEDS_E1:-1 2}
SEEDS_E4=${SEEDS_E4:-1}
SEEDS_E2=${SEEDS_E2:-1 2 3}
E4_METHODS=${E4_METHODS:-dpf incremental snip}

E0_LRS=${E0_LRS:-0.05}
SEEDS_E0=${SEEDS_E0:-1 2}

# Runs in the order of what they decide: E1's first seed and DPF vs Incremental before the
# second dense seed and SNIP (queued last, so a shortened session loses those first).
for part in $parts; do
  case $part in
    e1)
      for seed in $SEEDS_E1; do
        for m in incremental dpf; do
          queue "e1/resnet20-$m-90-seed$seed" --model resnet20 --method "$m" --sparsity 0.9 \
            --seed "$seed" $RESNET20_ARGS
        done
      done
      for seed in $SEEDS_E1; do
        late=$([[ $seed == "${SEEDS_E1%% *}" ]] && echo queue || echo queue_late)
        $late "e1/resnet20-dense-seed$seed" --model resnet20 --method dense --seed "$seed" \
          $RESNET20_ARGS
      done ;;
    e4)
      for seed in $SEEDS_E4; do
        for m in $E4_METHODS; do
          add=$([[ $m == snip ]] && echo queue_late || echo queue)
          $add "e4/resnet20-$m-99-seed$seed" --model resnet20 --method "$m" --sparsity 0.99 \
            --seed "$seed" $RESNET20_ARGS
        done
      done ;;
    e2)
      for seed in $SEEDS_E2; do
        for s in 0.95 0.99; do
          for m in dpf incremental; do
            queue "e2/lenet5-$m-$(pct "$s")-seed$seed" --model lenet5 --method "$m" --sparsity "$s" \
              --seed "$seed" $LENET5_ARGS
          done
        done
      done ;;
    e0) # the learning rate per method (the paper tuned it): DPF and Incremental at 90% with each
        # rate of E0_LRS (E1 has 0.1); Incremental's seeds after the first are queued last
      for lr in $E0_LRS; do
        for seed in $SEEDS_E0; do
          queue "e0/resnet20-dpf-90-lr$lr-seed$seed" --model resnet20 --method dpf --sparsity 0.9 \
            --seed "$seed" $RESNET20_ARGS --lr "$lr"
          add=$([[ $seed == "${SEEDS_E0%% *}" ]] && echo queue || echo queue_late)
          $add "e0/resnet20-incremental-90-lr$lr-seed$seed" --model resnet20 --method incremental \
            --sparsity 0.9 --seed "$seed" $RESNET20_ARGS --lr "$lr"
        done
      done ;;
    e3) # needs E1's DPF run of the first seed: its final mask, trained from the same
        # initialisation and from a new one, for the same budget
      seed=${SEEDS_E1%% *}
      from=$out/e1/resnet20-dpf-90-seed$seed
      [[ -f $from/summary.json ]] || { echo "credible.sh: e3 needs $from (run e1 first)" >&2; exit 2; }
      queue "e3/resnet20-fixed-90-seed$seed" --model resnet20 --method fixed --mask-from "$from" \
        --seed "$seed" $RESNET20_ARGS
      queue "e3/resnet20-fixed-new-90-seed$seed" --model resnet20 --method fixed \
        --mask-from "$from" --seed "$seed" --init-seed 1001 $RESNET20_ARGS ;;
    *) echo "credible.sh: unknown part '$part' (e0, e1, e2, e3, e4)" >&2; exit 2 ;;
  esac
done
_runs+=("${_late[@]}")
mkdir -p "$out/e0" "$out/e1" "$out/e2" "$out/e3" "$out/e4"
run_queue "$out"
