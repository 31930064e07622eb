#!/usr/bin/env bash
# hardening.sh — the whole test suite built with clang, AddressSanitizer + UndefinedBehaviorSanitizer
# (LeakSanitizer on, as ASan's default on Linux), plus each libFuzzer target (tests/fuzz) run for
# FUZZ_SECONDS (default 30) from its committed seed corpus. Installs clang and its runtime.
# usage: scripts/hardening.sh [FUZZ_SECONDS]
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --hardening
seconds=${1:-${FUZZ_SECONDS:-30}}
CC=clang cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DDPF_FUZZ=ON -DDPF_WERROR=ON >/dev/null
cmake --build build-asan -j"$(nproc)"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1
ctest --test-dir build-asan --output-on-failure -j"$(nproc)"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for target in build-asan/tests/fuzz_*; do
  name=$(basename "$target")
  mkdir -p "$work/$name"
  echo "fuzz: $name for ${seconds}s"
  # new inputs go to the scratch corpus; the committed one is only read
  (cd "$work" && "$OLDPWD/$target" -max_total_time="$seconds" -print_final_stats=1 \
     "$work/$name" "$OLDPWD/tests/fuzz/corpus/$name" 2>&1 | grep -E "stat::number_of_executed_units|ERROR|SUMMARY" || true)
  ls "$work"/crash-* "$work"/leak-* "$work"/timeout-* >/dev/null 2>&1 && { echo "fuzz: $name found a failure"; exit 1; }
done
echo "hardening: sanitizer suite and fuzzers passed"
