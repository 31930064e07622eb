#!/usr/bin/env bash
# report_all.sh — dpf report for every experiment found under OUT, into RESULTS/<experiment>.
# Usage: experiments/report_all.sh OUT RESULTS   (e.g. runs/exp docs/results)
set -euo pipefail
out=${1:?usage: report_all.sh OUT RESULTS}
results=${2:?usage: report_all.sh OUT RESULTS}
dpf=${DPF:-./build/dpf}
for exp in table1 period lottery budget structured; do
  [[ -d $out/$exp ]] || continue
  echo "== $exp" >&2
  "$dpf" report "$out/$exp" -o "$results/$exp" >/dev/null
  [[ -f $out/$exp/wall.txt ]] && cp "$out/$exp/wall.txt" "$results/$exp/wall.txt"
done
# credible.sh: one report over its parts (e1 e2 e3 e4: one table per model), wall times beside it
parts=()
for part in "$out"/credible/e[0-9]; do
  compgen -G "$part/*/summary.json" >/dev/null && parts+=("$part")
done
if (( ${#parts[@]} )); then
  echo "== credible" >&2
  "$dpf" report "${parts[@]}" -o "$results/credible" >/dev/null
  cp "$out/credible/wall.txt" "$results/credible/wall.txt" 2>/dev/null || true
fi
