#!/usr/bin/env bash
# test_checkpoint_fixture.sh — a checkpoint written by an earlier dpf (the committed fixture,
# interrupted in epoch 2 of 3) resumes to the end with the run's own options, and still refuses
# an option that changes the training.
# usage: test_checkpoint_fixture.sh PATH/TO/dpf
dpf=$1
source "$(dirname "$0")/lib.sh"

fx="$(cd "$(dirname "$0")/fixtures/checkpoint" && pwd)"
cp -r "$fx/run" "$tmp/run"
resume=("$dpf" train --resume "$tmp/run" --data-dir "$fx/data")
expect_error 2 "--resume .*--lr differs" -- "${resume[@]}" --lr 0.5
if "${resume[@]}" --checkpoint-every 0 >"$tmp/out" 2>"$tmp/err"; then
  ok
else
  bad "resume of the fixture failed: $(cat "$tmp/err")"
fi
[[ $(wc -l <"$tmp/run/metrics.jsonl") -eq 3 ]] && ok || bad "metrics.jsonl should have 3 epochs"
cmp -s "$fx/run/config.json" "$tmp/run/config.json" && ok || bad "config.json changed on resume"
python3 - "$tmp/run/summary.json" <<'PY' && ok || bad "summary.json: $(cat "$tmp/run/summary.json")"
import json, sys
s = json.load(open(sys.argv[1]))
assert s["method"] == "incremental" and s["epochs"] == 3 and s["target_sparsity"] == 0.8, s
assert abs(s["sparsity_prunable"] - 0.8) < 1e-3, s
assert s["test_acc_sparse"] > 0.3, s  # the saved weights went on learning (random: 0.1)
PY
finish
