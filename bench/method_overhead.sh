#!/usr/bin/env bash
# method_overhead.sh — the per-step cost of a pruning method against dense training, measured as a
# ratio: `dpf bench` runs dense and the method alternately ROUNDS times (interleaved, so machine
# noise hits both alike) and the medians of their mean step times are compared.
# usage: bench/method_overhead.sh [MODEL] [C,H,W] [METHOD] [SPARSITY] [ROUNDS] [STEPS]
set -euo pipefail
dpf=${DPF:-./build/dpf}
model=${1:-resnet20}; shape=${2:-3,32,32}; method=${3:-dpf}; sparsity=${4:-0.9}
rounds=${5:-5}; steps=${6:-16}
dense=(); pruned=()
for ((i = 0; i < rounds; i++)); do
  dense+=("$("$dpf" bench --model "$model" --data-shape "$shape" --steps "$steps" --warmup 2 --json |
             grep -o '"step_ms": [0-9.]*' | grep -o '[0-9.]*$')")
  pruned+=("$("$dpf" bench --model "$model" --data-shape "$shape" --steps "$steps" --warmup 2 --json \
              --method "$method" --sparsity "$sparsity" | grep -o '"step_ms": [0-9.]*' | grep -o '[0-9.]*$')")
done
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
md=$(median "${dense[@]}"); mp=$(median "${pruned[@]}")
echo "$model $shape batch 128, $rounds interleaved rounds of $steps steps (mask updates every 16 included)"
echo "dense:   median step ${md} ms   (runs: ${dense[*]})"
echo "$method $sparsity: median step ${mp} ms   (runs: ${pruned[*]})"
awk -v a="$md" -v b="$mp" 'BEGIN { printf "overhead: %+.2f%%\n", 100 * (b / a - 1) }'
