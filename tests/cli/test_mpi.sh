#!/usr/bin/env bash
# test_mpi.sh — data-parallel training on Open MPI (docs/distributed.md), on a small copy of
# Fashion-MNIST, oversubscribed on this machine's cores. (1) One process under mpirun gives the
# bytes of a run without MPI. (2) Runs on 2 and 3 processes are reproducible bit for bit, and
# equal DPF_DIST_EMULATE (the N slices computed one after the other in one process, summed in
# the same order) for every method with state of its own and for batch norm (ResNet-20).
# (3) A --batch that does not split is refused. (4) SIGTERM to one rank: every rank stops after
# the same step with a checkpoint; --resume with 2 processes ends with the uninterrupted run's
# model. (5) A rank SIGKILLed mid-run ends the job; --resume with 2 processes gives the
# uninterrupted model, with 1 process the same model as a run without mpirun resuming the same
# checkpoint. A build without MPI must refuse mpirun -np 2 with one clear line (then the rest is
# skipped).
# usage: test_mpi.sh PATH/TO/dpf
dpf=$1
source "$(dirname "$0")/lib.sh"
command -v mpirun >/dev/null || { echo "SKIP: mpirun not installed (openmpi-bin)"; exit 77; }
# root in a container (CI): Open MPI refuses root unless told; more ranks than cores
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_MCA_rmaps_base_oversubscribe=1 OMPI_MCA_btl_vader_single_copy_mechanism=none
# a sanitizer build (scripts/hardening.sh): Open MPI's runtime keeps allocations until exit, some
# in components already unloaded (unknown to a suppression file), so LeakSanitizer is off in
# processes that start MPI; AddressSanitizer's other checks stay on. dpf's own allocations are
# leak-checked by every run without mpirun here and in the other tests.
mpi() {
  local n=$1; shift
  ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0 \
    timeout 120 mpirun --oversubscribe -np "$n" "$@"
}

small_data "$tmp/data"
base=(--data-dir "$tmp/data" --model mlp --batch 48 --epochs 2 --threads 1 --progress none
      --seed 3 --sparsity 0.7 --ramp-end 0.5 --period 2)

# a build without MPI: says so, once, and stops
mpi 2 "$dpf" train "${base[@]}" --epochs 1 >"$tmp/out" 2>"$tmp/err"
if grep -q "built without MPI" "$tmp/err"; then
  [[ $(grep -c "built without MPI" "$tmp/err") -ge 1 ]] && ok || bad "no message"
  echo "dpf built without MPI: refused as it should; the MPI tests are skipped"
  finish
  exit
fi

same() { # same A B what: model files equal byte for byte
  cmp -s "$1/model.safetensors" "$2/model.safetensors" && ok || bad "$3: model.safetensors differ"
  [[ ! -f $1/dense.safetensors ]] || cmp -s "$1/dense.safetensors" "$2/dense.safetensors" && ok ||
    bad "$3: dense.safetensors differ"
}

# --- (1) one process under mpirun = no MPI
"$dpf" train "${base[@]}" --out "$tmp/plain" >/dev/null 2>&1 || bad "plain run failed"
mpi 1 "$dpf" train "${base[@]}" --out "$tmp/np1" >/dev/null 2>&1 || bad "mpirun -np 1 failed"
same "$tmp/plain" "$tmp/np1" "mpirun -np 1 vs no MPI"

# --- (2) N = 2, 3: repeats, emulation, every method with state of its own
for n in 2 3; do
  for rep in a b; do
    mpi $n "$dpf" train "${base[@]}" --out "$tmp/n$n$rep" >"$tmp/out" 2>"$tmp/err" ||
      bad "N=$n run $rep failed: $(tail -3 "$tmp/err")"
  done
  same "$tmp/n${n}a" "$tmp/n${n}b" "N=$n, two runs"
  DPF_DIST_EMULATE=$n "$dpf" train "${base[@]}" --out "$tmp/e$n" >/dev/null 2>&1 ||
    bad "emulated N=$n failed"
  same "$tmp/n${n}a" "$tmp/e$n" "N=$n vs its emulation"
done
cmp -s "$tmp/plain/model.safetensors" "$tmp/n2a/model.safetensors" &&
  bad "N=2 gave the one-process model: were the slices trained at all?" || ok
[[ $(grep -c "^model mlp" "$tmp/out") -eq 1 ]] && ok || bad "the result was printed by more than rank 0"

for m in snip lt dsr sm set rigl; do
  args=("${base[@]}" --method "$m" --epochs 1)
  case $m in  # each method's own updates happen within the run
    lt) args+=(--lt-rounds 1) ;;
    dsr | set | rigl) args+=(--update-every 2) ;;
    sm) args+=(--update-every 0 --epochs 2) ;;
  esac
  mpi 2 "$dpf" train "${args[@]}" --out "$tmp/m-$m" >/dev/null 2>"$tmp/err" ||
    bad "--method $m on 2 processes failed: $(tail -3 "$tmp/err")"
  DPF_DIST_EMULATE=2 "$dpf" train "${args[@]}" --out "$tmp/me-$m" >/dev/null 2>&1 ||
    bad "--method $m emulated failed"
  same "$tmp/m-$m" "$tmp/me-$m" "--method $m, N=2 vs emulation"
done

# batch norm per rank (ResNet-20): 2 processes = the emulation; not the one-process model
bn=(--data-dir "$tmp/data" --model resnet20 --batch 32 --epochs 1 --limit-train 128 --threads 1
    --progress none --seed 3 --sparsity 0.5 --ramp-end 0.5 --period 1)
mpi 2 "$dpf" train "${bn[@]}" --out "$tmp/bn2" >/dev/null 2>"$tmp/err" ||
  bad "ResNet-20 on 2 processes failed: $(tail -3 "$tmp/err")"
DPF_DIST_EMULATE=2 "$dpf" train "${bn[@]}" --out "$tmp/bne" >/dev/null 2>&1 || bad "emulated ResNet-20"
same "$tmp/bn2" "$tmp/bne" "ResNet-20 (batch norm per rank), N=2 vs emulation"

# --- (3) a batch that does not split
mpi 3 "$dpf" train "${base[@]}" --batch 64 >/dev/null 2>"$tmp/err" && bad "--batch 64 on 3 accepted"
[[ $(grep -c "does not split across 3 processes" "$tmp/err") -eq 1 ]] && ok ||
  bad "--batch 64 on 3: expected one message: $(cat "$tmp/err")"

# --- (4) SIGTERM to one rank: an agreed stop, then --resume with 2 processes
slow=("${base[@]}" --model lenet5 --epochs 3 --checkpoint-every 2)
mpi 2 "$dpf" train "${slow[@]}" --out "$tmp/ref2" >/dev/null 2>&1 || bad "lenet5 N=2 failed"
# run_and_signal SIG DIR: an N=2 run signalled (one rank) once its first step's checkpoint exists
run_and_signal() {
  local sig=$1 dir=$2 tries
  for tries in 1 2 3 4 5; do
    rm -rf "$dir"
    mpi 2 "$dpf" train "${slow[@]}" --out "$dir" >/dev/null 2>"$tmp/err_sig" &
    local mp=$!
    for _ in $(seq 400); do
      grep -aqs 'step\\":[1-9]' "$dir/checkpoint.safetensors" && break  # past step 0
      sleep 0.02
    done
    local rank; rank=$(pgrep -f "^$dpf train .*--out $dir" | tail -1)
    [[ -n $rank ]] && kill "-$sig" "$rank" 2>/dev/null
    wait "$mp"
    local rc=$?
    [[ ! -f $dir/summary.json ]] && { echo "$rc"; return; }  # interrupted mid-run
  done
  echo "finished"
}
rc=$(run_and_signal TERM "$tmp/term")
[[ $rc != finished && $rc -ne 0 ]] && ok || bad "SIGTERM to one rank: the run did not stop ($rc)"
grep -q "interrupted in epoch" "$tmp/err_sig" && ok || bad "no interruption message: $(cat "$tmp/err_sig")"
mpi 2 "$dpf" train --resume "$tmp/term" --progress none >/dev/null 2>"$tmp/err" ||
  bad "resume after SIGTERM failed: $(tail -3 "$tmp/err")"
same "$tmp/ref2" "$tmp/term" "SIGTERM + resume with 2 processes"

# --- (5) a rank SIGKILLed: the job ends, the checkpoint stays; resume with 2 and with 1
rc=$(run_and_signal KILL "$tmp/kill")
[[ $rc != finished && $rc -ne 0 ]] && ok || bad "SIGKILL of one rank: the job did not end ($rc)"
cp -r "$tmp/kill" "$tmp/kill1" && cp -r "$tmp/kill" "$tmp/kill1p"
mpi 2 "$dpf" train --resume "$tmp/kill" --progress none >/dev/null 2>"$tmp/err" ||
  bad "resume with 2 after SIGKILL failed: $(tail -3 "$tmp/err")"
same "$tmp/ref2" "$tmp/kill" "SIGKILL + resume with 2 processes"
mpi 1 "$dpf" train --resume "$tmp/kill1" --progress none >/dev/null 2>"$tmp/err" ||
  bad "resume with 1 after SIGKILL failed: $(tail -3 "$tmp/err")"
"$dpf" train --resume "$tmp/kill1p" --progress none >/dev/null 2>&1 || bad "plain resume failed"
same "$tmp/kill1" "$tmp/kill1p" "an N=2 checkpoint resumed with mpirun -np 1 vs without MPI"
finish
