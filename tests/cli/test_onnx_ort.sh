#!/usr/bin/env bash
# test_onnx_ort.sh — an exported ONNX model runs in ONNX Runtime (onnxruntime-node, its CPU
# library) with the logits of dpf's inference engine to 1e-4 relative (per image, the largest
# difference over the largest logit), for every model (mlp, lenet5, resnet20, vgg16, wrn-28-2,
# resnet20 on 3x32x32), dense and with half its prunable weights zeroed, and for the masked and
# dense models of trained DPF runs of LeNet-5 and ResNet-20; a model's logits compared with
# another's are told apart (the comparison can fail).
# ONNX Runtime comes from npm: `npm install --ignore-scripts onnxruntime-node@$ORT_VERSION` into
# $DPF_ORT_DIR (default: onnxruntime-node/ in the build tree), once; later runs reuse it; without
# npm (Debian's npm pulls in ~460 packages; setup.sh installs only nodejs) the two packages are
# fetched from the npm registry with curl. Skipped
# (exit 77) with a message where node is absent, or the package is neither there nor installable
# (no npm, no network), or the build has no ONNX export.
# usage: test_onnx_ort.sh PATH/TO/dpf PATH/TO/make_image PATH/TO/make_model PATH/TO/model_logits
dpf=$1
make_model=$3
model_logits=$4
source "$(dirname "$0")/lib.sh"
ORT_VERSION=1.20.1   # supports Debian 12's node 18 (later releases target newer node); 1.30 also passes
ort_dir=${DPF_ORT_DIR:-$(cd "$(dirname "$dpf")" && pwd)/onnxruntime-node}
compare="$(dirname "$0")/ort_logits.js"

if ! command -v node >/dev/null; then
  echo "SKIP: node is not installed (ONNX Runtime's logits need onnxruntime-node; apt install nodejs)"
  exit 77
fi
# fetch_tarballs: without npm, the two packages ONNX Runtime's JavaScript API needs at run time
# (onnxruntime-node with its CPU library, onnxruntime-common) straight from the npm registry.
fetch_tarballs() {
  command -v curl >/dev/null || return 1
  local pkg
  for pkg in onnxruntime-node onnxruntime-common; do
    mkdir -p "$ort_dir/node_modules/$pkg.part" || return 1
    timeout 600 curl -fsSL --retry 2 "https://registry.npmjs.org/$pkg/-/$pkg-$ORT_VERSION.tgz" |
      tar -xz -C "$ort_dir/node_modules/$pkg.part" --strip-components=1 || return 1
  done
  for pkg in onnxruntime-common onnxruntime-node; do   # the node package last: it marks success
    rm -rf "$ort_dir/node_modules/$pkg" && mv "$ort_dir/node_modules/$pkg.part" "$ort_dir/node_modules/$pkg"
  done
}
if [[ ! -d "$ort_dir/node_modules/onnxruntime-node" ]]; then
  mkdir -p "$ort_dir"
  if command -v npm >/dev/null; then
    if ! timeout 600 npm install --prefix "$ort_dir" --ignore-scripts --no-audit --no-fund \
         --fetch-retries 1 "onnxruntime-node@$ORT_VERSION" >"$tmp/npm.log" 2>&1; then
      echo "SKIP: npm could not install onnxruntime-node@$ORT_VERSION into $ort_dir (no network?): $(grep -m1 -iE "error|ERR" "$tmp/npm.log")"
      rm -rf "$ort_dir/node_modules/onnxruntime-node"
      exit 77
    fi
  elif ! fetch_tarballs; then
    echo "SKIP: neither npm nor the npm registry (curl) could provide onnxruntime-node@$ORT_VERSION in $ort_dir (no network?)"
    rm -rf "$ort_dir/node_modules"/onnxruntime-*
    exit 77
  fi
fi
if ! node -e "require(process.argv[1])" "$ort_dir/node_modules/onnxruntime-node" >"$tmp/node.log" 2>&1; then
  echo "SKIP: node $(node --version) cannot load onnxruntime-node@$ORT_VERSION from $ort_dir: $(grep -m1 -iE "error" "$tmp/node.log")"
  exit 77
fi
"$make_model" lenet5 fashion-mnist 1 28 28 10 "$tmp/probe.safetensors" || { bad "make_model failed"; finish; exit; }
if ! "$dpf" export "$tmp/probe.safetensors" --format onnx -o "$tmp/probe.onnx" >/dev/null 2>"$tmp/err"; then
  grep -q "built without ONNX export" "$tmp/err" && { echo "SKIP: this build has no ONNX export"; exit 77; }
  bad "export failed: $(cat "$tmp/err")"
fi

# same_logits NAME C H W N: NAME.safetensors through dpf's engine and NAME.onnx through ONNX Runtime
same_logits() {
  local f=$1
  "$model_logits" "$f.safetensors" "$5" "$f.in" "$f.ref" || { bad "model_logits $f failed"; return; }
  "$dpf" export "$f.safetensors" --format onnx -o "$f.onnx" >/dev/null 2>"$tmp/err" || { bad "export $f: $(cat "$tmp/err")"; return; }
  node "$compare" "$ort_dir" "$f.onnx" "$f.in" "$f.ref" "$5" "$2" "$3" "$4" 1e-4 && ok || bad "$f: logits differ"
}

model_zoo "$make_model"
for z in "${zoo[@]}"; do
  read -r f c h w <<<"$z"
  same_logits "$f" "$c" "$h" "$w" 4
done

small_data "$tmp/data"
for model in lenet5 resnet20; do
  run="$tmp/run-$model"
  "$dpf" train --data-dir "$tmp/data" --model "$model" --epochs 1 --batch 32 --limit-train 64 --period 1 \
    --ramp-end 0.5 --sparsity 0.9 --threads 2 --out "$run" --progress none >/dev/null 2>"$tmp/err" \
    && ok || bad "train $model failed: $(tail -2 "$tmp/err")"
  same_logits "$run/model" 1 28 28 16
  same_logits "$run/dense" 1 28 28 16
done

# the comparison tells models apart: the masked model's file against the dense model's logits
node "$compare" "$ort_dir" "$tmp/run-lenet5/model.onnx" "$tmp/run-lenet5/dense.in" "$tmp/run-lenet5/dense.ref" \
  16 1 28 28 1e-4 >"$tmp/out" && bad "masked and dense logits compare equal: $(cat "$tmp/out")" || ok
finish
