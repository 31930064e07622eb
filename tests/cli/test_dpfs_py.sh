#!/usr/bin/env bash
# test_dpfs_py.sh — tools/pytorch/dpfs.py (the .dpfs file back into a PyTorch state_dict): for a
# pruned LeNet-5, every encoding of `dpf export --format sparse` converts back to the run's dense
# model.safetensors byte for byte (same tensors, order, values, metadata), and a damaged file is a
# one-line error. Skipped (exit 77) when the Python has no numpy (Debian: python3-numpy).
# usage: test_dpfs_py.sh PATH/TO/dpf
dpf=$1
source "$(dirname "$0")/lib.sh"
py=${DPF_PYTHON:-/usr/bin/python3}
if ! "$py" -c "import numpy" 2>/dev/null; then
  echo "SKIP: $py has no numpy (apt install python3-numpy)"
  exit 77
fi
tool="$(dirname "$0")/../../tools/pytorch/dpfs.py"
run="$tmp/run"
"$dpf" train --model lenet5 --epochs 1 --limit-train 512 --period 1 --ramp-end 0.5 --sparsity 0.95 \
  --threads 2 --out "$run" --progress none >/dev/null 2>"$tmp/err" && ok || bad "train failed: $(tail -2 "$tmp/err")"
grep -q '"sparsity_prunable": 0.9' "$run/summary.json" && ok || bad "the run is not 95% sparse"
for enc in auto csr bitmap; do
  "$dpf" export "$run" --format sparse --encoding $enc -o "$tmp/$enc.dpfs" >/dev/null && ok || bad "export $enc failed"
  "$py" "$tool" "$tmp/$enc.dpfs" "$tmp/$enc.safetensors" && ok || bad "dpfs.py failed on $enc"
  cmp -s "$tmp/$enc.safetensors" "$run/model.safetensors" && ok || bad "$enc: dpfs.py does not give the dense file back"
done
"$py" - "$tool" "$tmp/auto.dpfs" <<'PY' && ok || bad "read_dpfs: wrong state_dict"
import importlib.util, sys
spec = importlib.util.spec_from_file_location("dpfs", sys.argv[1]); m = importlib.util.module_from_spec(spec)
spec.loader.exec_module(m)
state, meta = m.read_dpfs(sys.argv[2])
assert list(state)[:2] == ["conv1.weight", "conv1.bias"], list(state)[:2]
assert state["fc1.weight"].shape == (500, 800) and str(state["fc1.weight"].dtype) == "float32"
assert meta["class_names"].split(",")[9] == "Ankle boot"
PY
head -c 2000 "$tmp/auto.dpfs" >"$tmp/cut.dpfs"
"$py" "$tool" "$tmp/cut.dpfs" "$tmp/x" 2>"$tmp/err"; rc=$?
[[ $rc -eq 1 && $(wc -l <"$tmp/err") -eq 1 ]] && grep -q "^dpfs: .*tensor" "$tmp/err" && ok || bad "damaged file: rc $rc, $(cat "$tmp/err")"
finish
