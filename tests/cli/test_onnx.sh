#!/usr/bin/env bash
# test_onnx.sh — `dpf export --format onnx`: every model (mlp, lenet5, resnet20, vgg16, wrn-28-2,
# and resnet20 on 3x32x32 inputs), dense and with half its prunable weights zeroed, and the
# masked and dense models of a trained DPF run, give files that ONNX's checker passes
# (full_check: with shape inference), whose initializers are the model file's tensors bit for
# bit under their state_dict names, with one Conv / BatchNormalization / Gemm per convolution /
# batch norm / linear layer, input "input" (batch, C, H, W), output "logits" (batch, classes),
# and the normalisation, input shape, class names and dpf version in metadata_props. Errors
# are one line. Skipped (exit 77) in a build without ONNX export, or where the Python lacks onnx
# (Debian: python3-onnx). The logits are compared with ONNX Runtime's in test_onnx_ort.sh.
# usage: test_onnx.sh PATH/TO/dpf PATH/TO/make_image PATH/TO/make_model
dpf=$1
make_model=$3
source "$(dirname "$0")/lib.sh"
py=${DPF_PYTHON:-/usr/bin/python3}

"$make_model" lenet5 fashion-mnist 1 28 28 10 "$tmp/probe.safetensors" || { bad "make_model failed"; finish; exit; }
"$dpf" export "$tmp/probe.safetensors" --format onnx -o "$tmp/probe.onnx" >/dev/null 2>"$tmp/err"
if grep -q "built without ONNX export" "$tmp/err"; then
  expect_error 1 "^dpf export: --format onnx: this dpf was built without ONNX export \(install .*libonnx-dev" -- \
    "$dpf" export "$tmp/probe.safetensors" --format onnx -o "$tmp/probe.onnx"
  [[ $fails -eq 0 ]] || { finish; exit 1; }
  echo "SKIP: this build has no ONNX export (protobuf-c / libonnx-dev absent at configure time)"
  exit 77
fi
if ! "$py" -c "import onnx, numpy" 2>/dev/null; then
  echo "SKIP: $py has no onnx or numpy (apt install python3-onnx python3-numpy)"
  exit 77
fi

# --- models of every kind, dense and masked, and a trained run's two models
files=()
model_zoo "$make_model"
for z in "${zoo[@]}"; do files+=("${z%% *}"); done
small_data "$tmp/data"
run="$tmp/run"
"$dpf" train --data-dir "$tmp/data" --model lenet5 --epochs 1 --batch 64 --period 1 --ramp-end 0.5 \
  --sparsity 0.9 --threads 2 --out "$run" --progress none >/dev/null 2>"$tmp/err" && ok || bad "train failed: $(tail -2 "$tmp/err")"
cp "$run/model.safetensors" "$tmp/run-masked.safetensors"
cp "$run/dense.safetensors" "$tmp/run-dense.safetensors"
files+=("$tmp/run-masked" "$tmp/run-dense")
for f in "${files[@]}"; do
  "$dpf" export "$f.safetensors" --format onnx -o "$f.onnx" >"$tmp/out" 2>"$tmp/err" && ok || bad "export $f: $(cat "$tmp/err")"
done
"$dpf" export "$run" --format onnx -o "$tmp/run.onnx" >/dev/null && cmp -s "$tmp/run.onnx" "$tmp/run-masked.onnx" \
  && ok || bad "export of the run directory is not its model.safetensors"

"$py" - "${files[@]}" <<'PY' && ok || bad "the ONNX files are not the models"
import json, struct, sys
import numpy as np, onnx
from onnx import numpy_helper

def safetensors(path):
    raw = open(path, "rb").read()
    n = struct.unpack("<Q", raw[:8])[0]
    head = json.loads(raw[8:8 + n])
    meta = head.pop("__metadata__", {})
    body = raw[8 + n:]
    out = {}
    for name, t in head.items():
        if t["dtype"] != "F32":
            continue
        a, b = t["data_offsets"]
        out[name] = np.frombuffer(body[a:b], dtype="<f4").reshape(t["shape"])
    return out, meta

failed = 0
def check(cond, what):
    global failed
    if not cond:
        print("FAIL:", what)
        failed += 1

for f in sys.argv[1:]:
    m = onnx.load(f + ".onnx")
    onnx.checker.check_model(m, full_check=True)
    tensors, meta = safetensors(f + ".safetensors")
    inits = {t.name: numpy_helper.to_array(t) for t in m.graph.initializer}
    check(sorted(inits) == sorted(tensors), f"{f}: initializers {sorted(set(inits) ^ set(tensors))}")
    for name, a in tensors.items():
        check(name in inits and inits[name].tobytes() == a.tobytes(), f"{f}: {name} differs")
    ops = [n.op_type for n in m.graph.node]
    convs = sum(a.ndim == 4 for a in tensors.values())
    linears = sum(a.ndim == 2 for a in tensors.values())
    bns = sum(k.endswith("running_mean") for k in tensors)
    check(ops.count("Conv") == convs and ops.count("Gemm") == linears and
          ops.count("BatchNormalization") == bns, f"{f}: ops {ops}")
    check(m.opset_import[0].version >= 13, f"{f}: opset {m.opset_import[0].version}")
    dims = lambda v: [d.dim_param or d.dim_value for d in v.type.tensor_type.shape.dim]
    c, h, w = map(int, meta["input_shape"].split(","))
    check([v.name for v in m.graph.input] == ["input"] and dims(m.graph.input[0]) == ["batch", c, h, w],
          f"{f}: input {m.graph.input}")
    check([v.name for v in m.graph.output] == ["logits"] and dims(m.graph.output[0]) == ["batch", 10],
          f"{f}: output {m.graph.output}")
    props = {p.key: p.value for p in m.metadata_props}
    for key in ("model", "data", "input_shape", "classes", "normalize_mean", "normalize_std"):
        check(props.get(key) == meta[key], f"{f}: metadata {key}: {props.get(key)} != {meta[key]}")
    check(props.get("dpf_version", "") != "" and props.get("class_names", "").split(",")[9] == "Ankle boot",
          f"{f}: metadata {props}")
    inferred = onnx.shape_inference.infer_shapes(m, strict_mode=True)
    check(dims(inferred.graph.output[0]) == ["batch", 10], f"{f}: inferred output shape")
# the masked models are sparse in the file: their pruned weights are zeros
m = onnx.load(sys.argv[-2] + ".onnx")
w = numpy_helper.to_array(next(t for t in m.graph.initializer if t.name == "fc1.weight"))
check(0.8 < (w == 0).mean() < 1, f"run's masked fc1.weight has {(w == 0).mean():.3f} zeros")
sys.exit(1 if failed else 0)
PY

# --- errors: one line, non-zero exit
expect_error 1 "file exists" -- "$dpf" export "$tmp/run-dense.safetensors" --format onnx -o "$tmp/run-dense.onnx"
head -c 3000 "$tmp/run-dense.safetensors" >"$tmp/cut.safetensors"
expect_error 1 "cut.safetensors" -- "$dpf" export "$tmp/cut.safetensors" --format onnx -o "$tmp/cut.onnx"
expect_error 1 "no/such/dir" -- "$dpf" export "$run" --format onnx -o "$tmp/no/such/dir/x.onnx"
[[ ! -e "$tmp/cut.onnx" ]] && ok || bad "a failed export left a file"
finish
