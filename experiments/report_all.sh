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
