#!/usr/bin/env bash
# test_harden_train.sh — dpf train as an adversary uses it (issue 14): --out never deletes a file
# without --force, a finished run is not resumed, wall_s covers every process of a run, a test set
# that does not fit is found before training, every stop signal checkpoints and stops, the
# progress bar fits the terminal and ends its line, --mask-from is stored resolved, and every
# option is range-checked.
# usage: test_harden_train.sh PATH/TO/dpf
dpf=$(cd "$(dirname "$1")" && pwd)/$(basename "$1") # absolute: some commands run elsewhere
source "$(dirname "$0")/lib.sh"

small_data "$tmp/small" # 256 training, 500 test images: runs of a second
# stop_at PATTERN FILE SIGNAL PID: when PATTERN shows in FILE (60 s at most), sends SIGNAL to PID
# and returns its exit status
stop_at() {
  for _ in $(seq 3000); do grep -q "$1" "$2" 2>/dev/null && break; sleep 0.02; done
  kill -"$3" "$4"
  wait "$4"
}
small=(--model mlp --data-dir "$tmp/small" --batch 64 --threads 2)

# --- 2. a file dpf would overwrite or delete makes --out refuse without --force
for f in dense.safetensors model.safetensors.tmp checkpoint.safetensors.tmp; do
  mkdir -p "$tmp/o-$f"
  echo "the user's own" >"$tmp/o-$f/$f"
  expect_error 1 "already holds a run \($f," -- "$dpf" train "${small[@]}" --epochs 1 --progress none --out "$tmp/o-$f"
  [[ $(cat "$tmp/o-$f/$f") == "the user's own" ]] && ok || bad "--out deleted or changed $f without --force"
done
"$dpf" train "${small[@]}" --epochs 1 --progress none --out "$tmp/o-dense.safetensors" --force \
  >/dev/null 2>&1 && ok || bad "--force did not replace the files"

# --- 6. a finished run resumes to its result without rewriting its files; wall_s covers every
# process of an interrupted run
r6=$tmp/r6
"$dpf" train "${small[@]}" --epochs 1 --progress none --out "$r6" >/dev/null 2>&1 && ok || bad "train r6 failed"
sum=$(md5sum <"$r6/summary.json")
"$dpf" train --resume "$r6" --progress none >/dev/null 2>&1 && ok || bad "--resume of a finished run failed"
[[ $(md5sum <"$r6/summary.json") == "$sum" ]] && ok || bad "--resume of a finished run rewrote summary.json"
r6b=$tmp/r6b
start=$(date +%s.%N)
"$dpf" train "${small[@]}" --epochs 8 --progress lines --out "$r6b" >/dev/null 2>"$tmp/r6b.err" &
stop_at "^epoch 7/8 " "$tmp/r6b.err" INT $!
rc=$?
first=$(echo "$(date +%s.%N) - $start" | bc)
[[ $rc -eq 130 ]] && ok || bad "SIGINT mid-run: exit $rc, expected 130: $(tail -2 "$tmp/r6b.err")"
"$dpf" train --resume "$r6b" --progress none >/dev/null 2>"$tmp/r6c.err" && ok || bad "resume failed: $(cat "$tmp/r6c.err")"
wall=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['wall_s'])" "$r6b/summary.json")
awk -v w="$wall" -v f="$first" 'BEGIN { exit !(w >= 0.7 * f) }' \
  && ok || bad "wall_s $wall of an interrupted and resumed run is less than its first process ($first s)"

# --- 7. a test set whose images differ from the training set's is found before training
mkdir -p "$tmp/odd"
cp "$tmp/small"/train-* "$tmp/small/t10k-labels-idx1-ubyte" "$tmp/odd/"
python3 - "$tmp/odd/t10k-images-idx3-ubyte" <<'PY'
import struct, sys
open(sys.argv[1], "wb").write(struct.pack(">IIII", 0x803, 500, 20, 20) + bytes(500 * 400))
PY
expect_error 1 "the fashion-mnist test images are 1x20x20 in 10 classes, the training images 1x28x28" \
  -- "$dpf" train "${small[@]}" --data-dir "$tmp/odd" --epochs 1 --progress none --out "$tmp/r7"
[[ -e $tmp/r7/checkpoint.safetensors ]] && bad "a checkpoint was left for a run that cannot finish" || ok

# --- 8. SIGHUP checkpoints and stops; a stop after the last step (during the final evaluations)
# stops too, with the interrupted status, and the run resumes to the end
"$dpf" train "${small[@]}" --epochs 30 --progress lines --out "$tmp/r8" >/dev/null 2>"$tmp/r8.err" &
stop_at "^epoch 2/30 " "$tmp/r8.err" HUP $!
rc=$?
[[ $rc -eq 130 ]] && ok || bad "SIGHUP: exit $rc, expected 130"
grep -q "^dpf: interrupted in epoch .* the checkpoint is saved" "$tmp/r8.err" && ok || bad "SIGHUP: $(tail -1 "$tmp/r8.err")"
# the final evaluations of a lenet5 on 10000 test images take seconds after the last epoch line
"$dpf" train --model lenet5 --epochs 1 --limit-train 64 --batch 64 --threads 1 --progress lines \
  --out "$tmp/r8b" >/dev/null 2>"$tmp/r8b.err" &
stop_at "^epoch 1/1 " "$tmp/r8b.err" TERM $!
rc=$?
[[ $rc -eq 130 ]] && ok || bad "SIGTERM after the last step: exit $rc, expected 130: $(tail -1 "$tmp/r8b.err")"
grep -q "^dpf: interrupted after the last step; the checkpoint is saved" "$tmp/r8b.err" && ok \
  || bad "SIGTERM after the last step: $(tail -1 "$tmp/r8b.err")"
[[ -e $tmp/r8b/summary.json ]] && bad "a run stopped after its last step wrote summary.json" || ok
"$dpf" train --resume "$tmp/r8b" --progress none >/dev/null 2>&1 && [[ -s $tmp/r8b/summary.json ]] \
  && ok || bad "the run stopped after its last step did not resume to the end"

# --- 9. the bar fits the terminal's width ($COLUMNS here) and ends its line before an error
COLUMNS=40 "$dpf" train "${small[@]}" --epochs 1 --progress bar >/dev/null 2>"$tmp/bar.err"
python3 - "$tmp/bar.err" 40 <<'PY' && ok || bad "the bar does not fit 40 columns: $(head -c 300 "$tmp/bar.err" | cat -v)"
import re, sys
text = open(sys.argv[1], encoding="utf-8", errors="replace").read()
width = int(sys.argv[2])
segs = [re.sub(r"\x1b\[K", "", s) for line in text.split("\n") for s in line.split("\r")]
bars = [s for s in segs if s.startswith("epoch ") and "  lr " not in s]
assert bars, "no bar drawn"
assert all(len(s) < width for s in bars), max(bars, key=len)
PY
"$dpf" train "${small[@]}" --epochs 2 --lr 900 --progress bar >/dev/null 2>"$tmp/bar2.err"
tail -1 "$tmp/bar2.err" | grep -q "^dpf: " && ok || bad "the error is printed on the bar's line: $(tail -c 200 "$tmp/bar2.err" | cat -v)"

# --- 11. --mask-from is stored resolved: the run resumes from another working directory
mkdir -p "$tmp/wd"
(cd "$tmp" && "$dpf" train "${small[@]}" --epochs 1 --progress none --out src11 >/dev/null 2>&1) && ok || bad "train src11"
(cd "$tmp" && exec "$dpf" train "${small[@]}" --method fixed --mask-from src11 --epochs 30 --progress lines \
  --out "$tmp/r11" >/dev/null 2>"$tmp/r11.err") &
stop_at "^epoch 1/30 " "$tmp/r11.err" INT $!
grep -q "\"mask_from\": \"$tmp/src11/model.safetensors\"" "$tmp/r11/config.json" 2>/dev/null \
  && ok || bad "config.json does not hold the resolved --mask-from: $(grep mask_from "$tmp/r11/config.json")"
(cd "$tmp/wd" && "$dpf" train --resume "$tmp/r11" --progress none >/dev/null 2>"$tmp/r11b.err") \
  && ok || bad "resume of a --method fixed run from another directory: $(cat "$tmp/r11b.err")"

# --- 12. option values: ranges, spaces, empty items and paths, --out with --resume
expect_error 2 "^dpf: --seed: '18446744073709551615' is not an integer in \[0, 2\^63 - 1\]$" -- "$dpf" train --seed 18446744073709551615
expect_error 2 "^dpf: --seed: '9223372036854775808' is not" -- "$dpf" train --seed 9223372036854775808
expect_error 2 "^dpf: --seed: ' 5' is not" -- "$dpf" train --seed " 5"
expect_error 2 "^dpf: --seed: '5 ' is not" -- "$dpf" train --seed "5 "
expect_error 2 "^dpf: --init-seed: '-1' is not" -- "$dpf" train --init-seed -1
expect_error 2 "^dpf: --ramp-end: -0.5 is out of range" -- "$dpf" train --ramp-end -0.5
expect_error 2 "^dpf: --ramp-end: -1 is out of range" -- "$dpf" train --ramp-end -1
expect_error 2 "^dpf: --prune-rate: -1 is out of range" -- "$dpf" train --method set --prune-rate -1
expect_error 2 "^dpf: --update-every: -1 is out of range" -- "$dpf" train --method set --update-every -1
expect_error 2 "^dpf: --milestones: '0.5,,0.75' has an empty item$" -- "$dpf" train --milestones 0.5,,0.75
expect_error 2 "^dpf: --milestones: '0.5,' has an empty item$" -- "$dpf" train --milestones 0.5,
expect_error 2 "^dpf: --lr: ' 0.1' is not a number$" -- "$dpf" train --lr " 0.1"
expect_error 2 "^dpf: --out: the path is empty$" -- "$dpf" train --out ""
expect_error 2 "^dpf: --resume: the path is empty$" -- "$dpf" train --resume ""
expect_error 2 "^dpf: --data-dir: the path is empty$" -- "$dpf" train --data-dir ""
expect_error 2 "^dpf: --out and --resume: give one" -- "$dpf" train --out "$tmp/x" --resume "$r6b"
expect_error 2 "^dpf: --out and --resume: give one" -- "$dpf" train --resume "$r6b" --out "$tmp/x"
expect_error 2 "^dpf: --compressor: unknown compressor 'q 8'" -- "$dpf" train --compressor "q 8"
expect_error 2 "^dpf: --compressor: unknown compressor 'q08'" -- "$dpf" train --compressor q08

finish
