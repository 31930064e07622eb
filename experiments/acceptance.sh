#!/usr/bin/env bash
# acceptance.sh — the accuracy runs of the engine and methods issues on Fashion-MNIST, one seed,
# and a table of their results. Usage: experiments/acceptance.sh OUT_DIR [SET...]
# SETs: engine (dense lenet5 20 ep, dense resnet20 10 ep), dpf (DPF lenet5 90/99%, resnet20 90%),
#       seed2 (dense and DPF 90% resnet20 again with seed 2),
#       methods (every method at 90% on lenet5, METHOD_EPOCHS epochs, default 6).
# Each run's directory is kept; an existing run is skipped, so the script can be resumed.
set -euo pipefail
out=${1:?usage: acceptance.sh OUT_DIR [engine|dpf|methods]...}
shift
sets=${*:-engine dpf methods}
dpf=${DPF:-./build/dpf}
threads=${THREADS:-2}
mkdir -p "$out"

run() { # name, args...
  local name=$1; shift
  if [[ -f "$out/$name/summary.json" ]]; then return; fi
  echo "== $name: dpf train $*" >&2
  "$dpf" train --threads "$threads" --progress lines --out "$out/$name" --force "$@" \
    >"$out/$name.log" 2>&1 || { echo "FAILED: $name (see $out/$name.log)" >&2; return 1; }
}

for set in $sets; do
  case $set in
    engine)
      run lenet5-dense --model lenet5 --method dense --epochs 20 --lr 0.05
      run resnet20-dense --model resnet20 --method dense --epochs 10 --lr 0.1 ;;
    dpf)
      run lenet5-dpf90 --model lenet5 --method dpf --sparsity 0.9 --epochs 20 --lr 0.05
      run lenet5-dpf99 --model lenet5 --method dpf --sparsity 0.99 --epochs 20 --lr 0.05
      run resnet20-dpf90 --model resnet20 --method dpf --sparsity 0.9 --epochs 10 --lr 0.1 ;;
    seed2)
      run resnet20-dense-s2 --model resnet20 --method dense --epochs 10 --lr 0.1 --seed 2
      run resnet20-dpf90-s2 --model resnet20 --method dpf --sparsity 0.9 --epochs 10 --lr 0.1 --seed 2 ;;
    methods)
      e=${METHOD_EPOCHS:-6}
      for m in dense dpf incremental oneshot snip lt dsr sm sfp set rigl; do
        extra=()
        [[ $m == oneshot ]] && extra=(--finetune $((e / 2)))
        [[ $m == sfp ]] && extra=(--structured)
        sp=(--sparsity 0.9)
        [[ $m == dense ]] && sp=()
        run "methods-lenet5-$m" --model lenet5 --method "$m" "${sp[@]}" --epochs "$e" --lr 0.05 "${extra[@]}"
      done ;;
    *) echo "unknown set $set" >&2; exit 2 ;;
  esac
done

# the table: one row per run
printf '| run | method | epochs | test acc (sparse) | test acc (dense w) | sparsity (prunable) | nonzero params | MACs sparse / dense | train img/s | wall |\n'
printf '|---|---|---|---|---|---|---|---|---|---|\n'
for s in "$out"/*/summary.json; do
  /usr/bin/python3 - "$s" <<'PY'
import json, os, sys
s = json.load(open(sys.argv[1]))
name = os.path.basename(os.path.dirname(sys.argv[1]))
print(f"| {name} | {s['method']} | {s['epochs']} | {100*s['test_acc_sparse']:.2f}% | {100*s['test_acc_dense']:.2f}% "
      f"| {100*s['sparsity_prunable']:.2f}% | {s['params_nonzero']} / {s['params_total']} "
      f"| {s['macs_sparse']/1e6:.2f}M / {s['macs_dense']/1e6:.2f}M | {s['train_images_per_s']:.0f} | {s['wall_s']/60:.1f} min |")
PY
done
