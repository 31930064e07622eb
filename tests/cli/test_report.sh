#!/usr/bin/env bash
# test_report.sh — dpf report on tiny runs (seeds grouped, the fine-tuning columns, figures and
# their data, refusal to overwrite foreign files), and the training options it relies on:
# --method fixed --mask-from / --init-seed (lottery-ticket check) and --eval-every.
# usage: test_report.sh PATH/TO/dpf
dpf=$1
source "$(dirname "$0")/lib.sh"

small_data "$tmp/small" # 256 training, 500 test images: runs of a second

train() { # dir, args...
  local d=$1; shift
  "$dpf" train --model mlp --data-dir "$tmp/small" --batch 64 --threads 2 --progress none --out "$d" \
    "$@" >/dev/null 2>"$tmp/train.err" && ok || bad "train $*: $(tail -2 "$tmp/train.err")"
}

runs=$tmp/runs
mkdir -p "$runs"
train "$runs/dense-s1" --method dense --epochs 2
train "$runs/dpf-s1" --method dpf --sparsity 0.9 --epochs 2 --finetune 1 --seed 1 --period 1
train "$runs/dpf-s2" --method dpf --sparsity 0.9 --epochs 2 --finetune 1 --seed 2 --period 1
train "$runs/snip-s1" --method snip --sparsity 0.9 --epochs 2 --eval-every 2

# --- --eval-every: epoch 1 has no test accuracy, the last epoch of the phase has one
python3 - "$runs/snip-s1/metrics.jsonl" <<'PY' && ok || bad "--eval-every 2: wrong test_acc lines"
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
assert len(lines) == 2 and "test_acc" not in lines[0] and "test_acc" in lines[1], lines
PY
expect_error 2 "--eval-every" -- "$dpf" train --eval-every 0

# --- method fixed: the mask of another run, from the same or a new initialisation
train "$runs/fixed-s1" --method fixed --mask-from "$runs/dpf-s1" --epochs 1
train "$runs/fixed-new-s1" --method fixed --mask-from "$runs/dpf-s1" --epochs 1 --init-seed 99
# the mask of an 80% run: the report files it at 80%, whatever --sparsity says
train "$runs/dpf80-s1" --method dpf --sparsity 0.8 --epochs 2 --period 1
train "$runs/fixed80-s1" --method fixed --mask-from "$runs/dpf80-s1" --epochs 1
python3 - "$runs" <<'PY' && ok || bad "fixed: mask or init seed not taken over"
import json, sys
d = sys.argv[1]
src = json.load(open(f"{d}/dpf-s1/summary.json"))["pruning"]["layer_sparsity"]
got = json.load(open(f"{d}/fixed-s1/summary.json"))["pruning"]["layer_sparsity"]
assert src == got, (src, got)
assert json.load(open(f"{d}/fixed-s1/config.json"))["init_seed"] == 1
assert json.load(open(f"{d}/fixed-new-s1/config.json"))["init_seed"] == 99
PY
expect_error 2 "--method fixed needs --mask-from" -- "$dpf" train --method fixed
expect_error 2 "--mask-from works with --method fixed" -- "$dpf" train --mask-from "$runs/dpf-s1"
expect_error 1 "holds a mlp, this run trains a lenet5" -- \
  "$dpf" train --model lenet5 --method fixed --mask-from "$runs/dpf-s1" --data-dir "$tmp/small"
expect_error 1 "--mask-from: .*nope.*cannot open" -- \
  "$dpf" train --method fixed --mask-from "$tmp/nope.safetensors" --data-dir "$tmp/small"

# --- DPF's dense w on a BN model: evaluated and saved with BN statistics recalibrated for it
# (--period 1: the mask follows the ramp from the first step, so w~ and w differ)
"$dpf" train --model resnet20 --data-dir "$tmp/small" --batch 64 --epochs 1 --threads 2 \
  --period 1 --progress none --out "$tmp/bn" >/dev/null 2>&1 && ok || bad "resnet20 DPF run failed"
want=$(python3 -c "import json; print('%.2f' % (100 * json.load(open('$tmp/bn/summary.json'))['test_acc_dense']))")
got=$("$dpf" eval "$tmp/bn/dense.safetensors" --data-dir "$tmp/small" | sed -n 's/^test accuracy \([0-9.]*\)%.*/\1/p')
[[ -n $got && $got == "$want" ]] && ok || bad "dense.safetensors evaluates to $got%, summary says $want%"
# tensors(path): a safetensors file's tensors as raw bytes, by name
cat >"$tmp/st_raw.py" <<'PY'
import json, struct
def tensors(path):
    raw = open(path, "rb").read()
    n = struct.unpack("<Q", raw[:8])[0]
    head = json.loads(raw[8:8 + n])
    return {k: raw[8 + n + v["data_offsets"][0]:8 + n + v["data_offsets"][1]]
            for k, v in head.items() if k != "__metadata__"}
PY
python3 - "$tmp/bn" <<'PY' && ok || bad "dense.safetensors has the sparse model's BN statistics"
import sys
sys.path.insert(0, sys.argv[1] + "/..")
from st_raw import tensors
sparse, dense = (tensors(f"{sys.argv[1]}/{f}.safetensors") for f in ("model", "dense"))
stats = [k for k in sparse if k.endswith(("running_mean", "running_var"))]
assert stats and all(sparse[k] != dense[k] for k in stats), "statistics not recalibrated"
PY

# --- --recalibrate-bn: the final sparse model's BN statistics are recomputed for its weights
"$dpf" train --model resnet20 --data-dir "$tmp/small" --batch 64 --epochs 1 --threads 2 \
  --period 1 --progress none --recalibrate-bn 0 --out "$tmp/bn0" >/dev/null 2>&1 && ok || bad "--recalibrate-bn 0 failed"
"$dpf" train --model resnet20 --data-dir "$tmp/small" --batch 64 --epochs 1 --threads 2 \
  --period 1 --progress none --recalibrate-bn 2 --out "$tmp/bn2" >/dev/null 2>&1 && ok || bad "--recalibrate-bn 2 failed"
python3 - "$tmp" <<'PY' && ok || bad "--recalibrate-bn changed the weights or not the statistics"
import sys
sys.path.insert(0, sys.argv[1])
from st_raw import tensors
m0, m2, m100 = (tensors(f"{sys.argv[1]}/{d}/model.safetensors") for d in ("bn0", "bn2", "bn"))
stats = [k for k in m0 if k.endswith(("running_mean", "running_var"))]
assert stats and all(m0[k] == m2[k] == m100[k] for k in m0 if k not in stats), "weights differ"
assert all(m0[k] != m2[k] and m2[k] != m100[k] for k in stats), "statistics not recomputed"
PY
# dpf eval --recalibrate-bn on the run that kept training's statistics gives what training gives
want=$(python3 -c "import json; print('%.2f' % (100 * json.load(open('$tmp/bn2/summary.json'))['test_acc_sparse']))")
got=$("$dpf" eval "$tmp/bn0" --data-dir "$tmp/small" --batch 64 --recalibrate-bn 2 |
      sed -n 's/^test accuracy \([0-9.]*\)% .*recalibrated.*/\1/p')
[[ -n $got && $got == "$want" ]] && ok || bad "eval --recalibrate-bn 2 gives $got%, training $want%"
got=$("$dpf" eval "$tmp/bn2" --data-dir "$tmp/small" --batch 64 | sed -n 's/^test accuracy \([0-9.]*\)%.*/\1/p')
[[ $got == "$want" ]] && ok || bad "the saved model evaluates to $got%, its summary says $want%"
# the statistics are PyTorch's BN with momentum=None over the first 2 batches (where torch is)
if /usr/bin/python3 -c "import torch" 2>/dev/null; then
  /usr/bin/python3 - "$tmp/bn2/model.safetensors" "$tmp/small" "$(dirname "$0")/../../tools/pytorch" <<'PY' \
    && ok || bad "--recalibrate-bn 2: statistics differ from PyTorch's"
import sys, numpy as np, torch
sys.path.insert(0, sys.argv[3])
import dpf_torch as dt
model, meta = dt.load_model(sys.argv[1])
saved = {k: v.clone() for k, v in model.state_dict().items() if k.endswith(("running_mean", "running_var"))}
x = dt.read_idx(f"{sys.argv[2]}/train-images-idx3-ubyte")[:128, None].astype(np.float32) / 255
x = (x - dt._floats(meta, "normalize_mean", 1).reshape(1, 1, 1, 1)) / dt._floats(meta, "normalize_std", 1).reshape(1, 1, 1, 1)
for m in model.modules():
    if isinstance(m, torch.nn.BatchNorm2d):
        m.reset_running_stats(); m.momentum = None
model.train()
with torch.no_grad():
    for b in range(2):
        model(torch.from_numpy(x[64 * b:64 * (b + 1)]))
got = model.state_dict()
worst = max(float(((got[k] - v).abs() / (v.abs() + 1e-3)).max()) for k, v in saved.items())
assert worst < 1e-4, worst
PY
else
  echo "note: /usr/bin/python3 has no torch: --recalibrate-bn's statistics are not checked against PyTorch"
fi

# --- layer collapse: a layer without weights is named in a warning and counted in summary.json
"$dpf" train --model mlp --data-dir "$tmp/small" --epochs 2 --period 1 --sparsity 0.9999 \
  --progress none --out "$tmp/collapse" >/dev/null 2>"$tmp/err"
grep -q "warning: 1 prunable layer lost every weight (fc1.weight).*layer collapse" "$tmp/err" && ok ||
  bad "no layer-collapse warning: $(cat "$tmp/err")"
grep -q '"layers_emptied": 1' "$tmp/collapse/summary.json" && ok || bad "summary lacks layers_emptied 1"
grep -q '"layers_emptied": 0' "$runs/dpf-s1/summary.json" && ok || bad "a healthy run reports emptied layers"

# --- a schedule that fits no mask update in the run is warned about and recorded in summary.json
"$dpf" train --model mlp --data-dir "$tmp/small" --epochs 1 --method set --sparsity 0.9 \
  --progress none --out "$tmp/noupdate" >/dev/null 2>"$tmp/err"
grep -q "warning: the schedule of --method set made no mask update" "$tmp/err" && ok ||
  bad "no warning on a run without mask updates: $(cat "$tmp/err")"
grep -q '"mask_updates": 0' "$tmp/noupdate/summary.json" && ok || bad "summary lacks mask_updates 0"
grep -q '"warnings": \[' "$tmp/noupdate/summary.json" && ok || bad "summary lacks the warning"
"$dpf" train --model mlp --data-dir "$tmp/small" --epochs 4 --method set --sparsity 0.9 \
  --update-every 1 --progress none --out "$tmp/updates" >/dev/null 2>"$tmp/err"
grep -q "made no mask update" "$tmp/err" && bad "a run with mask updates is warned about" || ok
grep -q '"mask_updates": 5' "$tmp/updates/summary.json" && ok || bad "summary lacks mask_updates 5"
grep -q '"warnings"' "$tmp/updates/summary.json" && bad "a run with mask updates has warnings" || ok

# --- an unfinished run is left out with a note
mkdir -p "$runs/unfinished" && cp "$runs/dense-s1/config.json" "$runs/unfinished/"

# --- the report
rep=$tmp/report
if "$dpf" report "$runs" -o "$rep" >"$tmp/rep.out" 2>"$tmp/rep.err"; then ok
else bad "report failed: $(cat "$tmp/rep.err")"; fi
grep -q "unfinished has not finished" "$tmp/rep.err" && ok || bad "no note on the unfinished run"
for f in report.md results.json accuracy_vs_sparsity.dat curves_mlp.dat; do
  [[ -s $rep/$f ]] && ok || bad "report lacks $f"
done
if command -v gnuplot >/dev/null; then
  for f in accuracy_vs_sparsity accuracy_vs_params accuracy_vs_macs mask_convergence_mlp \
           layer_sparsity_mlp dynamics_mlp curves_mlp; do
    [[ $(head -c 4 "$rep/$f.png" 2>/dev/null | tail -c 3) == PNG ]] && ok || bad "$f.png missing"
  done
fi
# the table: one row at 90%, DPF before and after fine-tuning, two seeds as mean ± std
row=$(grep "^| 90% |" "$rep/report.md")
[[ -n $row ]] && ok || bad "no 90% row in report.md"
head=$(grep "^| sparsity |" "$rep/report.md")
for col in Dense SNIP "DPF " "DPF+FT" "Fixed mask (same init)" "Fixed mask (new init)"; do
  grep -qF "$col" <<<"$head" && ok || bad "table header lacks '$col': $head"
done
python3 - "$rep/results.json" "$runs" <<'PY' && ok || bad "results.json: wrong grouping or values"
import json, statistics, sys
res = json.load(open(sys.argv[1]))
dpf = [r for r in res if r["label"] == "DPF+FT"]
assert len(dpf) == 1 and dpf[0]["seeds"] == 2, dpf
accs = [json.load(open(f"{sys.argv[2]}/dpf-s{s}/summary.json"))["test_acc_sparse"] for s in (1, 2)]
assert abs(dpf[0]["test_acc_mean"] - statistics.mean(accs)) < 1e-6
assert abs(dpf[0]["test_acc_std"] - statistics.stdev(accs)) < 1e-6
pre = [r for r in res if r["label"] == "DPF"][0]
assert pre["before_finetune"] and pre["seeds"] == 2
fixed80 = [r for r in res if r["label"] == "Fixed mask (same init)" and r["target_sparsity"] == 0.8]
assert len(fixed80) == 1 and fixed80[0]["seeds"] == 1, fixed80
assert len(res) == 8, [r["label"] for r in res]  # Dense SNIP DPF DPF+FT Fixed x2, DPF/Fixed 80%
PY
# the verdicts: DPF+FT (2 seeds) against SNIP (1 seed) and Dense (1 seed), recomputed here
python3 - "$rep/report.md" "$runs" <<'PY' && ok || bad "report.md: wrong DPF verdicts"
import json, math, statistics, sys
md = open(sys.argv[1]).read().split("## DPF against the others", 1)[1]
acc = lambda d: json.load(open(f"{sys.argv[2]}/{d}/summary.json"))["test_acc_sparse"]
dpf = [acc("dpf-s1"), acc("dpf-s2")]
for other, label in ((acc("snip-s1"), "SNIP"), (acc("dense-s1"), "Dense")):
    diff = statistics.mean(dpf) - other
    noise = 2 * statistics.stdev(dpf)  # pooled: the one-seed side adds no degree of freedom
    want = "within noise" if abs(diff) <= noise else ("DPF better" if diff > 0 else "DPF worse")
    row = f"| 90% | DPF+FT | {label} | {100 * diff:+.2f} | {100 * noise:.2f} | {want} |"
    assert row in md, (row, md)
# one seed on both sides (DPF and the fixed mask at 80%): no verdict
assert "| 80% | DPF | Fixed mask (same init) | " in md, md
assert [l for l in md.splitlines() if l.startswith("| 80% | DPF | Fixed mask (same init) | ")][0] \
    .endswith(" | – | one seed each: no verdict |"), md
PY
grep -q "± " <<<"$row" && ok || bad "90% row has no mean ± std: $row"
grep -qF '| 90% |' "$tmp/rep.out" && ok || bad "tables not on stdout"
# a second report into the same directory replaces the first
"$dpf" report "$runs" -o "$rep" >/dev/null 2>&1 && ok || bad "report into an earlier report failed"

# --- bad input: one line, non-zero, nothing touched
expect_error 2 "give at least one run directory" -- "$dpf" report
expect_error 2 "unknown or incomplete option" -- "$dpf" report --bogus "$runs"
expect_error 1 "nope: not a directory" -- "$dpf" report "$tmp/nope"
mkdir -p "$tmp/empty"
expect_error 1 "no finished dpf run" -- "$dpf" report "$tmp/empty"
mkdir -p "$tmp/precious" && echo keep >"$tmp/precious/notes.txt"
expect_error 1 "holds files but no report.md" -- "$dpf" report "$runs" -o "$tmp/precious"
[[ $(cat "$tmp/precious/notes.txt") == keep && $(ls "$tmp/precious" | wc -l) -eq 1 ]] && ok ||
  bad "report touched a foreign directory"
echo x >"$tmp/afile"
expect_error 1 "not a directory" -- "$dpf" report "$runs" -o "$tmp/afile"
echo '{"model": ' >"$runs/dense-s1/summary.json"
expect_error 1 "dense-s1/summary.json: line" -- "$dpf" report "$runs" -o "$tmp/r2"
"$dpf" report --help | grep -q -- "--out" && ok || bad "report --help lacks --out"

finish
