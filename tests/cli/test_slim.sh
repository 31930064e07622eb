#!/usr/bin/env bash
# test_slim.sh — `dpf export --slim` end to end on small Fashion-MNIST runs: structured DPF on
# LeNet-5 and ResNet-20 and SFP on LeNet-5 (50% of the channels) slim into smaller dense models
# that `dpf eval` scores exactly as the masked run model, whose metadata holds every layer's width
# and which --format sparse also writes; a dense run's model has no channel to remove; and, where
# /usr/bin/python3 has torch, tools/pytorch/dpf_torch.py rebuilds the slim model (strict load)
# with the same accuracy.
# usage: test_slim.sh PATH/TO/dpf
dpf=$1
source "$(dirname "$0")/lib.sh"
small_data "$tmp/data"
acc() { "$dpf" eval "$1" --data-dir "$tmp/data" --threads 2 | sed -E 's/.*test accuracy ([0-9.]+)%.*/\1/'; }

slim_run() { # NAME MODEL METHOD...: trains, slims, compares
  local name=$1 model=$2; shift 2
  local run="$tmp/$name"
  "$dpf" train --model "$model" --data-dir "$tmp/data" --batch 64 --sparsity 0.5 \
    --structured --ramp-end 0.3 --threads 2 --out "$run" --progress none "$@" >/dev/null \
    2>"$tmp/err" || { bad "$name: train failed: $(tail -2 "$tmp/err")"; return; }
  "$dpf" export "$run" --slim -o "$tmp/$name.safetensors" >"$tmp/out" 2>"$tmp/err" \
    || { bad "$name: export --slim failed: $(cat "$tmp/err")"; return; }
  grep -qE "^slim: [0-9]+ of [0-9]+ channels removed; params [0-9]+ -> [0-9]+, MACs" "$tmp/out" \
    && ok || bad "$name: no slim report: $(cat "$tmp/out")"
  # LeNet-5's widths (20, 50, 500) are no multiples of 16: every pruned channel goes
  [[ $model != lenet5 ]] || grep -qE "^slim: [1-9][0-9]* of 570 channels removed" "$tmp/out" \
    && ok || bad "$name: nothing removed: $(cat "$tmp/out")"
  local a b
  a=$(acc "$run") b=$(acc "$tmp/$name.safetensors")
  [[ -n $a && $a == "$b" ]] && ok || bad "$name: masked accuracy $a, slim $b"
  grep -aq '"widths":"conv1:' "$tmp/$name.safetensors" && ok || bad "$name: no widths metadata"
  "$dpf" export "$run" --slim --format sparse -o "$tmp/$name.dpfs" >/dev/null && \
    [[ $(acc "$tmp/$name.dpfs") == "$a" ]] && ok || bad "$name: slim .dpfs differs"
  if /usr/bin/python3 -c "import torch" 2>/dev/null; then
    local t
    t=$(/usr/bin/python3 "$(dirname "$0")/../../tools/pytorch/dpf_torch.py" "$tmp/$name.safetensors" \
        --data-dir "$tmp/data" --threads 2 2>"$tmp/err" | sed 's/test_acc=//')
    [[ -n $t ]] && awk -v t="$t" -v a="$a" 'BEGIN { exit !(t * 100 - a < 0.01 && a - t * 100 < 0.01) }' \
      && ok || bad "$name: PyTorch's accuracy of the slim model $t, dpf's $a: $(cat "$tmp/err")"
  else
    echo "note: /usr/bin/python3 has no torch: the PyTorch rebuild is not checked"
  fi
}

slim_run lenet lenet5 --method dpf --epochs 1 --period 1
slim_run r20 resnet20 --method dpf --epochs 1 --period 1
slim_run lenet_sfp lenet5 --method sfp --epochs 2

"$dpf" train --model lenet5 --data-dir "$tmp/data" --epochs 1 --method dense --threads 2 \
  --out "$tmp/dense" --progress none >/dev/null 2>&1 || bad "dense train failed"
"$dpf" export "$tmp/dense" --slim -o "$tmp/dense.safetensors" >"$tmp/out" 2>&1 && \
  grep -q "no channel to remove" "$tmp/out" && ok || bad "dense slim: $(cat "$tmp/out")"
finish
