# lib.sh — shared by the CLI tests (sourced, not a test): a temporary directory removed on exit,
# pass/fail counters and expect_error. The test calls `finish` at its end.
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

finish() {
  echo "$pass passed, $fails failed"
  [[ $fails -eq 0 ]]
}
