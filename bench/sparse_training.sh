#!/usr/bin/env bash
# sparse_training.sh — the training speed of the sparse kernels (issue: DPF's pruned passes run
# sparse): for each model / input / method / sparsity, `dpf bench --json` times steps with the
# mask at its target from the first step, the sparse-kernel path (--kernels auto) and the
# dense-kernel path beside it, steps interleaved; ROUNDS such runs, medians. Prints one table
# row per configuration: step ms of both paths, the speed-up, the layers running a sparse kernel.
# usage: bench/sparse_training.sh [ROUNDS] [STEPS]   (env DPF: the binary, THREADS: 2)
set -euo pipefail
cd "$(dirname "$0")/.."
dpf=${DPF:-./build/dpf} rounds=${1:-3} steps=${2:-12} threads=${THREADS:-2}
configs=(
  "resnet20 3,32,32 dpf 0.9"   "resnet20 3,32,32 dpf 0.99"   "resnet20 3,32,32 incremental 0.9"
  "resnet20 1,28,28 dpf 0.9"   "resnet20 1,28,28 dpf 0.99"   "resnet20 1,28,28 incremental 0.9"
  "wrn-28-2 3,32,32 dpf 0.95"  "vgg16 3,32,32 dpf 0.95"
)
field() { grep -o "\"$1\": [0-9.e+-]*" | head -n 1 | awk '{ print $2 }'; }
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
printf '%-10s %-8s %-12s %8s %12s %12s %8s %7s\n' model input method sparsity "sparse ms" "dense ms" speedup layers
for cfg in "${configs[@]}"; do
  read -r model shape method sparsity <<<"$cfg"
  s=() d=() r=() l=0
  for ((i = 0; i < rounds; i++)); do
    out=$("$dpf" bench --model "$model" --data-shape "$shape" --method "$method" --sparsity "$sparsity" \
          --threads "$threads" --steps "$steps" --json)
    s+=("$(field step_ms_median <<<"$out")") d+=("$(field dense_kernels_step_ms_median <<<"$out")")
    r+=("$(field speedup_median <<<"$out")") l=$(field sparse_layers <<<"$out")
  done
  printf '%-10s %-8s %-12s %8s %12.2f %12.2f %7.2fx %7s\n' "$model" "$shape" "$method" "$sparsity" \
    "$(median "${s[@]}")" "$(median "${d[@]}")" "$(median "${r[@]}")" "$l"
done
