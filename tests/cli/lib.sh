# lib.sh — shared by the CLI tests (sourced, not a test): a temporary directory removed on exit,
# pass/fail counters, expect_error, small_data and model_zoo. The test calls `finish` at its end.
set -uo pipefail
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0
pass=0
ok() { pass=$((pass + 1)); }
bad() { echo "FAIL: $*"; fails=$((fails + 1)); }

# expect_error CODE PATTERN -- command...: exit code, a single stderr line matching PATTERN
expect_error() {
  local code=$1 pattern=$2; shift 3
  "$@" >"$tmp/out" 2>"$tmp/err"
  local rc=$?
  local lines; lines=$(wc -l <"$tmp/err")
  if [[ $rc -ne $code ]]; then bad "$* exited $rc, expected $code: $(cat "$tmp/err")"; return; fi
  if [[ $lines -ne 1 ]]; then bad "$* printed $lines stderr lines: $(cat "$tmp/err")"; return; fi
  if ! grep -qE -- "$pattern" "$tmp/err"; then bad "$*: '$(cat "$tmp/err")' lacks /$pattern/"; return; fi
  ok
}

# small_data DIR: a small copy of Fashion-MNIST in DIR (256 training, 500 test images, raw IDX),
# so that runs take a second, also under sanitizers.
small_data() {
  python3 - /usr/share/datasets/fashion-mnist "$1" <<'PY'
import gzip, os, struct, sys
src, dst = sys.argv[1:]
os.makedirs(dst)
for name, n in (("train-images-idx3-ubyte", 256), ("train-labels-idx1-ubyte", 256),
                ("t10k-images-idx3-ubyte", 500), ("t10k-labels-idx1-ubyte", 500)):
    raw = gzip.open(f"{src}/{name}.gz").read()
    dims = raw[3]
    shape = list(struct.unpack(f">{dims}I", raw[4:4 + 4 * dims]))
    item = 1
    for d in shape[1:]:
        item *= d
    head = raw[:4] + struct.pack(f">{dims}I", n, *shape[1:])
    open(f"{dst}/{name}", "wb").write(head + raw[4 + 4 * dims:4 + 4 * dims + n * item])
PY
}

# model_zoo MAKE_MODEL: every model (and resnet20 on 3x32x32 inputs), with all its weights and
# with half its prunable weights zeroed (make_model's trained-looking files), in $tmp; the array
# zoo gets one "FILE_WITHOUT_.safetensors C H W" per file.
model_zoo() {
  zoo=()
  local spec model c h w s f
  for spec in "mlp 1 28 28" "lenet5 1 28 28" "resnet20 1 28 28" "vgg16 1 28 28" \
              "wrn-28-2 1 28 28" "resnet20 3 32 32"; do
    read -r model c h w <<<"$spec"
    for s in 0 0.5; do
      f="$tmp/$model-$c-$s"
      "$1" "$model" fashion-mnist "$c" "$h" "$w" 10 "$f.safetensors" "$s" && ok || bad "make_model $spec $s failed"
      zoo+=("$f $c $h $w")
    done
  done
}

finish() {
  echo "$pass passed, $fails failed"
  [[ $fails -eq 0 ]]
}
