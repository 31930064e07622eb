# lib.sh — shared by the CLI tests (sourced, not a test): a temporary directory removed on exit,
# pass/fail counters, expect_error and small_data. The test calls `finish` at its end.
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

finish() {
  echo "$pass passed, $fails failed"
  [[ $fails -eq 0 ]]
}
