#!/usr/bin/env bash
# test_harden_report.sh — dpf report treats run files as data (issue 14): no shell command from a
# run's files reaches gnuplot, every field is checked before use, a run reached twice counts once,
# no model group is dropped, a run that missed its target sparsity is filed at the reached one.
# usage: test_harden_report.sh PATH/TO/dpf
dpf=$1
source "$(dirname "$0")/lib.sh"

small_data "$tmp/small" # 256 training, 500 test images: runs of a second

runs=$tmp/runs
mkdir -p "$runs"
"$dpf" train --model mlp --data-dir "$tmp/small" --batch 64 --threads 2 --progress none \
  --method snip --sparsity 0.5 --epochs 1 --out "$runs/s1" >/dev/null 2>"$tmp/train.err" \
  && ok || bad "train: $(tail -2 "$tmp/train.err")"

# edit RUN FILE PYTHON-STATEMENT: j is the file's JSON object
edit() {
  python3 - "$1/$2" "$3" <<'PY'
import json, os, sys
path, stmt = sys.argv[1:]
INJ = os.environ.get("INJ", "")
j = json.load(open(path))
exec(stmt)
json.dump(j, open(path, "w"))
PY
}

# --- 1. a string with a quote and a newline in config.json runs nothing and is refused
pwned=$tmp/pwned
probe() { # name, file, statement, pattern
  rm -rf "$tmp/evil" "$tmp/rep" "$pwned"
  cp -r "$runs/s1" "$tmp/evil"
  edit "$tmp/evil" "$2" "$3"
  expect_error 1 "$4" -- "$dpf" report "$tmp/evil" -o "$tmp/rep"
  [[ -e $pwned ]] && bad "$1: the report ran a command from the run files" || ok
}
export INJ="'"$'\n'"system 'touch $pwned'"$'\n'"#"
probe model config.json "j['model'] = 'mlp' + INJ" 'config.json: field "model" is not a known name'
probe method config.json "j['method'] = 'snip' + INJ" 'config.json: field "method" is not a known name'
probe data config.json "j['data'] = 'fashion-mnist' + INJ" 'field "data" is not a known name'
probe optimizer config.json "j['optimizer'] = 'sgd' + INJ" 'field "optimizer" is not a known name'
probe compressor config.json "j['compressor'] = 'q4' + INJ" 'field "compressor"'
probe scope config.json "j['scope'] = 'x' + INJ" 'field "scope"'
probe precision config.json "j['precision'] = 'f' + INJ" 'field "precision"'
probe layer summary.json "j['pruning']['layer_sparsity']['fc1' + INJ] = 0.5" 'layer_sparsity" has a key'
# types and ranges
probe sparsity config.json "j['sparsity'] = 1.5" 'field "sparsity" is not a number in \[0, 1\]'
probe sparsity-type config.json "j['sparsity'] = '0.5'" 'field "sparsity" is not a number'
probe seed config.json "j['seed'] = -3" 'field "seed" is not an integer'
probe seed-real config.json "j['seed'] = 1.5" 'field "seed" is not an integer'
probe finetune config.json "j['finetune'] = 1e30" 'field "finetune"'
probe milestones config.json "j['milestones'] = ['a']" 'field "milestones"'
probe structured config.json "j['structured'] = 'yes'" 'field "structured" is not true or false'
probe acc summary.json "j['test_acc_sparse'] = 'high'" 'summary.json: field "test_acc_sparse"'
probe acc-missing summary.json "del j['test_acc_sparse']" 'field "test_acc_sparse" is missing'
probe reached summary.json "j['sparsity_prunable'] = 7" 'field "sparsity_prunable"'
probe layer-value summary.json "j['pruning']['layer_sparsity']['fc1.weight'] = 'x'" 'layer_sparsity'
rm -rf "$tmp/evil" && cp -r "$runs/s1" "$tmp/evil"
python3 -c "import sys; open(sys.argv[1], 'a').write('{\"epoch\": 1e300, \"train_loss\": 1}\n')" \
  "$tmp/evil/metrics.jsonl"
expect_error 1 'metrics.jsonl: line 2: field "epoch"' -- "$dpf" report "$tmp/evil" -o "$tmp/rep2"

# a FIFO or a device in place of a run file is refused, not waited on
rm -rf "$tmp/evil" && cp -r "$runs/s1" "$tmp/evil" && rm "$tmp/evil/config.json" && mkfifo "$tmp/evil/config.json"
expect_error 1 "config.json: not a regular file" -- timeout 20 "$dpf" report "$tmp/evil" -o "$tmp/rep3"
rm -rf "$tmp/evil" && cp -r "$runs/s1" "$tmp/evil" && rm "$tmp/evil/metrics.jsonl" && mkfifo "$tmp/evil/metrics.jsonl"
expect_error 1 "metrics.jsonl: not a readable regular file" -- timeout 20 "$dpf" report "$tmp/evil" -o "$tmp/rep3"

# only unfinished runs: an error, not an empty report; an empty -o
mkdir -p "$tmp/unfinished/u1" && cp "$runs/s1/config.json" "$tmp/unfinished/u1/"
"$dpf" report "$tmp/unfinished/u1" -o "$tmp/rep4" >/dev/null 2>"$tmp/err"
[[ $? -eq 1 ]] && tail -1 "$tmp/err" | grep -q "^dpf: report: no finished run" && ok || bad "report of no finished run: $(cat "$tmp/err")"
[[ -e $tmp/rep4/report.md ]] && bad "an empty report was written" || ok
expect_error 2 "^dpf: -o: the path is empty" -- "$dpf" report "$runs" -o ""

# --- 3. a run reached twice counts once; more than 16 model groups are all reported
rm -rf "$tmp/rep"
"$dpf" report "$runs" "$runs/s1" -o "$tmp/rep" >/dev/null 2>&1 && ok || bad "report of runs and runs/s1 failed"
grep -q "^1 runs in 1 results" "$tmp/rep/report.md" && ok || bad "a run reached twice counted twice: $(sed -n 3p "$tmp/rep/report.md")"
mkdir -p "$tmp/many"
k=0
for m in mlp lenet5 resnet20 resnet32 resnet56 resnet110 vgg16 wrn-28-1 wrn-28-2 wrn-28-3 wrn-28-4 \
         wrn-28-5 wrn-28-6 wrn-28-7 wrn-28-8 wrn-28-9 wrn-28-10 wrn-28-11; do
  k=$((k + 1))
  cp -r "$runs/s1" "$tmp/many/r$k"
  edit "$tmp/many/r$k" config.json "j['model'] = '$m'"
done
rm -rf "$tmp/rep"
"$dpf" report "$tmp/many" -o "$tmp/rep" >/dev/null 2>"$tmp/rep.err" && ok || bad "report of 18 models failed: $(cat "$tmp/rep.err")"
[[ $(grep -c '^### ' "$tmp/rep/report.md") -eq 18 ]] && ok || bad "report dropped model tables: $(grep -c '^### ' "$tmp/rep/report.md") of 18"
grep -q '^### wrn-28-11$' "$tmp/rep/report.md" && ok || bad "the 18th model has no table"

# --- 4. DPF too short for its sparsity ramp: a warning, summary.json says so, the report files
# the run at the sparsity it reached, not in the 90% row
"$dpf" train --model mlp --data-dir "$tmp/small" --batch 64 --threads 2 --progress none \
  --method dpf --sparsity 0.9 --epochs 1 --out "$tmp/short/d1" >/dev/null 2>"$tmp/short.err" \
  && ok || bad "short dpf run failed: $(cat "$tmp/short.err")"
grep -q "^dpf: warning: the run reached 0.00% sparsity, not its target 90.00%" "$tmp/short.err" \
  && ok || bad "no warning for a missed target: $(cat "$tmp/short.err")"
grep -q '"target_reached": false' "$tmp/short/d1/summary.json" && ok || bad "summary.json lacks target_reached false"
grep -q '"target_reached": true' "$runs/s1/summary.json" && ok || bad "summary.json of a run on target lacks target_reached true"
rm -rf "$tmp/rep"
"$dpf" report "$tmp/short" -o "$tmp/rep" >/dev/null 2>&1 && ok || bad "report of the short run failed"
grep -q "^| 0% | \*\*[0-9.]*\*\* |" "$tmp/rep/report.md" && ok || bad "the short run is not in the 0% row: $(grep '^| [0-9]' "$tmp/rep/report.md")"
grep -q "^| 90% |" "$tmp/rep/report.md" && bad "the short run is filed in the 90% row" || ok
grep -q "DPF (target 90% missed)" "$tmp/rep/report.md" && ok || bad "the report does not say the target was missed"

finish
