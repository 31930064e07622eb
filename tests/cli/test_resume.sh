#!/usr/bin/env bash
# test_resume.sh — runs you can trust. (1) Fault test: a small DPF run is SIGKILLed at random
# moments at least 20 times and resumed with --resume each time; its final model must be
# byte-identical, and its metrics identical but for timings, to an uninterrupted run's. (2) The
# same after one SIGTERM (a clean stop that saves a checkpoint), and for methods that carry their
# own state (Lottery Ticket's initial weights, DSR's threshold). (3) Bad checkpoints and bad
# resumes: one-line errors, non-zero exits, and the run's files untouched.
# usage: test_resume.sh PATH/TO/dpf
set -uo pipefail
dpf=$1
tmp=$(mktemp -d)
[[ -n ${KEEP:-} ]] && echo "keeping $tmp" || trap 'rm -rf "$tmp"' EXIT
fails=0
pass=0
ok() { pass=$((pass + 1)); }
bad() { echo "FAIL: $*"; fails=$((fails + 1)); }

base=(--model mlp --limit-train 1024 --batch 64 --threads 2 --progress none --checkpoint-every 3)

# same_run A B: model files equal byte for byte, metrics equal without their timings
same_run() {
  cmp -s "$1/model.safetensors" "$2/model.safetensors" && ok || bad "$3: model.safetensors differ"
  local strip='s/"(wall_s|images_per_s)":[0-9.eE+-]*//g'
  if diff <(sed -E "$strip" "$1/metrics.jsonl") <(sed -E "$strip" "$2/metrics.jsonl") >/dev/null; then
    ok
  else
    bad "$3: metrics.jsonl differ"
  fi
}

# --- (1) the fault test
"$dpf" train "${base[@]}" --epochs 3 --out "$tmp/ref" >/dev/null 2>&1 && ok || bad "reference run failed"
kills=0 runs=0 fresh=1
# until 20 kills have landed and the run has then finished: a run that finishes too early starts
# over (--force), so every kill interrupts a run that a later --resume completes
while [[ ( $kills -lt 20 || ! -f "$tmp/run/summary.json" ) && $runs -lt 300 ]]; do
  runs=$((runs + 1))
  if [[ $fresh -eq 1 || ! -f "$tmp/run/checkpoint.safetensors" ]]; then
    cmd=("$dpf" train "${base[@]}" --epochs 3 --out "$tmp/run" --force)
  else
    cmd=("$dpf" train --resume "$tmp/run" --progress none)
  fi
  fresh=0
  "${cmd[@]}" >/dev/null 2>"$tmp/err" &
  pid=$!
  if [[ $kills -lt 20 ]]; then
    # a fresh run is killed only once its first checkpoint exists (slow sanitizer builds would
    # otherwise spend every kill in start-up); resumed runs at any moment
    for _ in $(seq 200); do [[ -f "$tmp/run/checkpoint.safetensors" ]] && break; sleep 0.05; done
    sleep "0.$((RANDOM % 7))$((RANDOM % 10))"
    if kill -9 "$pid" 2>/dev/null; then kills=$((kills + 1)); fi
  fi
  wait "$pid" 2>/dev/null
  [[ $kills -lt 20 && -f "$tmp/run/summary.json" ]] && fresh=1
done
[[ $kills -ge 20 ]] && ok || bad "only $kills kills landed"
[[ -f "$tmp/run/summary.json" ]] && ok || bad "the killed run never finished: $(cat "$tmp/err")"
same_run "$tmp/ref" "$tmp/run" "after $kills SIGKILLs"
ls "$tmp/run" | grep -q '\.tmp$' && bad "a temporary file was left behind" || ok

small=$tmp/small # 256 training, 500 test images (lib.sh has its own $tmp)
(source "$(dirname "$0")/lib.sh" && small_data "$small")

# --- (2) SIGTERM: a checkpoint, exit 130, then resume; methods with state of their own; and
# the sparse kernels in training (LeNet-5's convolutions: DPF's forward and backward-data on w~,
# Incremental's weight gradient at its mask only)
for m in dpf lt dsr dpf-sparse incremental-sparse; do
  extra=(--method "${m%-sparse}" --sparsity 0.9 --epochs 3)
  [[ $m == lt ]] && extra+=(--lt-rounds 1 --epochs 2)
  # (on a small copy of the data set: under the sanitizers the kernels' plain C paths are slow,
  # and every evaluation reads the whole test set)
  [[ $m == *-sparse ]] && extra+=(--model lenet5 --kernels sparse --data-dir "$small")
  "$dpf" train "${base[@]}" "${extra[@]}" --out "$tmp/ref-$m" >/dev/null 2>&1 || bad "$m reference failed"
  "$dpf" train "${base[@]}" "${extra[@]}" --out "$tmp/term-$m" >/dev/null 2>"$tmp/err" &
  pid=$!
  # stop it after its first checkpoint; LT after its first round, inside the final training
  # (the rewind made the mask hard in a phase the resumed process never runs)
  lines=0
  [[ $m == lt ]] && lines=2
  for _ in $(seq 400); do
    [[ -f "$tmp/term-$m/checkpoint.safetensors" ]] &&
      [[ $(cat "$tmp/term-$m/metrics.jsonl" 2>/dev/null | wc -l) -ge $lines ]] && break
    sleep 0.05
  done
  [[ $m == lt ]] && sleep 0.2 || sleep 0.7
  kill -TERM "$pid" 2>/dev/null
  wait "$pid"
  rc=$?
  if [[ $rc -eq 130 ]]; then
    grep -q "interrupted .*--resume" "$tmp/err" && ok || bad "$m: SIGTERM message: $(cat "$tmp/err")"
  elif [[ $rc -ne 0 ]]; then
    bad "$m: SIGTERM exit $rc: $(cat "$tmp/err")"
  fi
  "$dpf" train --resume "$tmp/term-$m" >/dev/null 2>"$tmp/err" && ok || bad "$m resume: $(cat "$tmp/err")"
  same_run "$tmp/ref-$m" "$tmp/term-$m" "$m after SIGTERM"
done

# --- a second run into a directory in use is refused, even with --force, and changes nothing
"$dpf" train "${base[@]}" --epochs 3 --out "$tmp/busy" >/dev/null 2>&1 &
pid=$!
for _ in $(seq 100); do [[ -f "$tmp/busy/checkpoint.safetensors" ]] && break; sleep 0.05; done
before=$(sha256sum "$tmp/busy/config.json")
"$dpf" train "${base[@]}" --epochs 1 --out "$tmp/busy" --force >/dev/null 2>"$tmp/err"
rc=$?
if kill -0 "$pid" 2>/dev/null; then   # only meaningful while the first run still runs
  [[ $rc -eq 1 ]] && grep -q "in use by another dpf run" "$tmp/err" && ok || bad "busy --out: $rc $(cat "$tmp/err")"
  [[ $(sha256sum "$tmp/busy/config.json") == "$before" ]] && ok || bad "busy --out: config.json changed"
fi
wait "$pid"

# --- (3) bad checkpoints and bad resumes: one line, non-zero, files untouched
expect_error() {   # CODE PATTERN -- command...
  local code=$1 pattern=$2; shift 3
  local before; before=$(cd "$tmp/ref" && sha256sum ./* | sha256sum)
  "$@" >"$tmp/out" 2>"$tmp/err"
  local rc=$? lines; lines=$(wc -l <"$tmp/err")
  local after; after=$(cd "$tmp/ref" && sha256sum ./* | sha256sum)
  [[ $rc -eq $code ]] || { bad "$* exited $rc, expected $code: $(cat "$tmp/err")"; return; }
  [[ $lines -eq 1 ]] || { bad "$* printed $lines lines: $(cat "$tmp/err")"; return; }
  grep -qE -- "$pattern" "$tmp/err" || { bad "$*: '$(cat "$tmp/err")' lacks /$pattern/"; return; }
  [[ $before == "$after" ]] || { bad "$* changed the run's files"; return; }
  ok
}
ck="$tmp/ref/checkpoint.safetensors"
cp "$ck" "$tmp/good.ckpt"
size=$(stat -c %s "$ck")
# a flipped byte in the data area (inverted, so it really changes)
byte=$(od -An -tu1 -j $((size - 100)) -N1 "$ck" | tr -d ' ')
printf "\\$(printf '%03o' $((255 - byte)))" | dd of="$ck" bs=1 seek=$((size - 100)) conv=notrunc status=none
expect_error 1 "checkpoint.safetensors: checksum mismatch" -- "$dpf" train --resume "$tmp/ref"
cp "$tmp/good.ckpt" "$ck"
# a cut tail
head -c $((size - 1000)) "$tmp/good.ckpt" >"$ck"
expect_error 1 "checkpoint.safetensors" -- "$dpf" train --resume "$tmp/ref"
cp "$tmp/good.ckpt" "$ck"
# an option that changes the training
expect_error 2 "--resume .*--lr differs" -- "$dpf" train --resume "$tmp/ref" --lr 0.5
expect_error 2 "--resume .*--model differs" -- "$dpf" train --resume "$tmp/ref" --model lenet5
expect_error 1 "--resume $tmp/nothing: no checkpoint" -- "$dpf" train --resume "$tmp/nothing"
# a diverging run stops at the step with NaN and keeps its last good checkpoint, which loads
"$dpf" train "${base[@]}" --epochs 1 --lr 9 --momentum 0.95 --wd 0 --out "$tmp/nan" >/dev/null 2>"$tmp/err"
[[ $? -eq 1 ]] && grep -qE "step [0-9]+\): the loss is .?nan.*last checkpoint is kept" "$tmp/err" && ok ||
  bad "divergence: $(cat "$tmp/err")"
"$dpf" train --resume "$tmp/nan" >/dev/null 2>"$tmp/err"
grep -q "the loss is" "$tmp/err" && ok || bad "the kept checkpoint does not load: $(cat "$tmp/err")"
# an unfinished run has no model yet: eval and export say so
rm -f "$tmp/nan/model.safetensors"
expect_error 1 "has no model yet: the run did not finish .*--resume" -- "$dpf" eval "$tmp/nan"
expect_error 1 "has no model yet" -- "$dpf" export "$tmp/nan" -o "$tmp/x.safetensors"
# the finished run resumes to the same result (nothing left to train) and may change --threads
cp -r "$tmp/ref" "$tmp/again"
"$dpf" train --resume "$tmp/again" --threads 1 >/dev/null 2>"$tmp/err" && ok || bad "resume of a finished run: $(cat "$tmp/err")"
cmp -s "$tmp/ref/model.safetensors" "$tmp/again/model.safetensors" && ok || bad "finished run changed on resume"

echo "$pass passed, $fails failed ($kills kills, $runs runs)"
[[ $fails -eq 0 ]]
