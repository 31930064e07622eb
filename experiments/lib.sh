#!/usr/bin/env bash
# lib.sh — shared by the experiment scripts: a list of training runs executed JOBS at a time.
# Each run has its own directory; a finished run (summary.json) is skipped and an interrupted one
# (checkpoint.safetensors) is resumed, so a script can be stopped and started again at will.
#
# Environment (all optional):
#   DPF      the dpf binary                               [./build/dpf]
#   DATA     fashion-mnist | cifar10 | ...                [fashion-mnist]
#   DATA_DIR where the data set's files are               [dpf's default for DATA]
#   JOBS     runs at the same time                        [2]
#   THREADS  compute threads of each run                  [cores / JOBS, at least 1]
#   SEEDS    seeds of the runs that repeat over seeds     [1 2]
set -euo pipefail

DPF=${DPF:-./build/dpf}
DATA=${DATA:-fashion-mnist}
DATA_DIR=${DATA_DIR:-}
JOBS=${JOBS:-2}
THREADS=${THREADS:-$(( $(nproc) / JOBS > 0 ? $(nproc) / JOBS : 1 ))}
SEEDS=${SEEDS:-1 2}
export DPF DATA DATA_DIR THREADS

_runs=()

# queue NAME ARGS... — adds the run NAME (a directory under $OUT) with `dpf train` options ARGS.
queue() {
  local name=$1; shift
  _runs+=("$name $*")
}

# One run: skip if done, resume if interrupted, else start; the log goes next to the directory.
run_one() {
  local out=$1 name=$2; shift 2
  local dir="$out/$name" data=(--data "$DATA")
  [[ -n $DATA_DIR ]] && data+=(--data-dir "$DATA_DIR")
  if [[ -f $dir/summary.json ]]; then return 0; fi
  local mode=(--out "$dir" --force)
  [[ -f $dir/checkpoint.safetensors ]] && mode=(--resume "$dir")
  echo "[$(date +%H:%M:%S)] start $name" >&2
  if "$DPF" train "${data[@]}" --threads "$THREADS" --progress lines "${mode[@]}" "$@" \
      >"$dir.log" 2>&1; then
    echo "[$(date +%H:%M:%S)] done  $name" >&2
  else
    echo "[$(date +%H:%M:%S)] FAILED $name (see $dir.log)" >&2
    return 1
  fi
}
export -f run_one

# run_queue OUT — runs every queued run, JOBS at a time, and records the wall time in OUT/wall.txt;
# fails (after all runs) if a run failed.
run_queue() {
  local out=$1 t0=$SECONDS rc=0
  mkdir -p "$out"
  printf '%s\n' "${_runs[@]}" |
    xargs -P "$JOBS" -L 1 bash -c 'run_one "$0" "$@"' "$out" || rc=1
  echo "$(( SECONDS - t0 )) s for ${#_runs[@]} runs, JOBS=$JOBS THREADS=$THREADS, $(date -u +%FT%TZ)$(
    (( rc )) && echo ', some runs FAILED (see the logs)')" >>"$out/wall.txt"
  _runs=()
  return $rc
}

# sparsity in run names: 0.9 -> 90, 0.995 -> 99.5
pct() { awk -v s="$1" 'BEGIN { printf "%g", 100 * s }'; }
