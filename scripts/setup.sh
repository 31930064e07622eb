#!/usr/bin/env bash
# setup.sh — installs the Debian packages dpf needs to build, test and run (idempotent: quick
# when everything is already there). Node.js is not among them (Debian's npm brings ~450
# packages): where node and npm are installed, tests/cli/test_onnx_ort.sh fetches ONNX Runtime
# from npm, and skips otherwise. `--hardening` adds clang and its sanitizer / libFuzzer
# runtime (scripts/hardening.sh). `--dev` adds what regenerating the PyTorch fixtures and the
# side-by-side benchmarks need (python3-torch, with OpenBLAS: without it Debian's torch falls back
# to the reference BLAS and its linear layers run ~10x slower).
set -euo pipefail

packages=(build-essential cmake pkg-config zlib1g-dev libjansson-dev libdnnl-dev libcmocka-dev
          libpng-dev libjpeg62-turbo-dev gnuplot-nox dataset-fashion-mnist
          python3-numpy   # tools/pytorch/dpfs.py's test (tests/cli/test_dpfs_py.sh)
          libprotobuf-c-dev protobuf-c-compiler libonnx-dev  # dpf export --format onnx
          nodejs curl ca-certificates  # tests/cli/test_onnx_ort.sh: ONNX Runtime from the npm registry
          python3-onnx)   # ONNX's checker (tests/cli/test_onnx.sh)
if [[ "${1:-}" == "--dev" ]]; then
  packages+=(python3-torch python3-numpy libopenblas0-openmp)
fi
if [[ "${1:-}" == "--hardening" ]]; then   # scripts/hardening.sh: sanitizers and libFuzzer
  packages+=(clang libclang-rt-14-dev)
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [[ ${#missing[@]} -eq 0 ]]; then
  exit 0
fi
echo "setup: installing ${missing[*]}" >&2
sudo_cmd=()
[[ $(id -u) -ne 0 ]] && sudo_cmd=(sudo)
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -qq
"${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
