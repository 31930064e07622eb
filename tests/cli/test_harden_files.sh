#!/usr/bin/env bash
# test_harden_files.sh — model files and data files as an adversary writes them (issue 14): a
# tensor of the right size but the wrong shape, metadata that would make dpf allocate gigabytes,
# output that cannot be written, gzip errors at their real position; and the options of eval,
# export, bench and theory range-checked, each failure one line.
# usage: test_harden_files.sh PATH/TO/dpf
dpf=$1
source "$(dirname "$0")/lib.sh"

data=/usr/share/datasets/fashion-mnist
run=$tmp/run
"$dpf" train --model mlp --epochs 1 --limit-train 256 --batch 64 --threads 2 --progress none \
  --method snip --sparsity 0.5 --out "$run" >/dev/null 2>"$tmp/train.err" \
  && ok || bad "train: $(tail -2 "$tmp/train.err")"

# sthdr IN OUT STATEMENT: rewrites the safetensors header (h: dict, with "__metadata__")
sthdr() {
  python3 - "$1" "$2" "$3" <<'PY'
import json, struct, sys
src, dst, stmt = sys.argv[1:]
raw = open(src, "rb").read()
n = struct.unpack("<Q", raw[:8])[0]
h = json.loads(raw[8:8 + n])
exec(stmt)
text = json.dumps(h).encode()
text += b" " * (-len(text) % 8)
open(dst, "wb").write(struct.pack("<Q", len(text)) + text + raw[8 + n:])
PY
}

# --- 5. the right element count in the wrong shape is refused by eval, export and --mask-from
m=$run/model.safetensors
sthdr "$m" "$tmp/t.safetensors" "h['fc1.weight']['shape'] = h['fc1.weight']['shape'][::-1]"
expect_error 1 "t.safetensors: tensor fc1.weight has shape \[784, 300\], the model expects \[300, 784\]" \
  -- "$dpf" eval "$tmp/t.safetensors"
expect_error 1 "tensor fc1.weight has shape \[784, 300\]" -- "$dpf" export "$tmp/t.safetensors" -o "$tmp/x.safetensors"
[[ -e $tmp/x.safetensors ]] && bad "export wrote a file from a bad model" || ok
expect_error 1 "tensor fc1.weight has shape \[784, 300\]" -- "$dpf" train --model mlp --method fixed \
  --mask-from "$tmp/t.safetensors" --epochs 1 --limit-train 64 --progress none
sthdr "$m" "$tmp/t2.safetensors" "h['fc1.weight']['shape'] = [300, 28, 28]"
expect_error 1 "tensor fc1.weight has shape \[300, 28, 28\]" -- "$dpf" eval "$tmp/t2.safetensors"

# --- 10. metadata is checked against limits and the data before any net is built (under a 1 GB
# address-space limit: a crafted input_shape must not allocate gigabytes first)
# a 1 GB address-space limit proves nothing large is allocated before the metadata is checked;
# AddressSanitizer reserves terabytes of shadow memory, so its builds run unlimited (an
# allocation that large would still abort there, as ASan refuses it)
if grep -qa "AddressSanitizer" "$dpf"; then
  limited() { "$@"; }
else
  limited() { (ulimit -v 1000000; "$@"); }
fi
for shape in "1,2000,2000" "1,28" "1,28,28,1" "1,28,28x" "0,28,28" "4,28,28" " 1,28,28" "1,,28" "1,28,28," ",1,28,28" "1,+28,28"; do
  sthdr "$m" "$tmp/s.safetensors" "h['__metadata__']['input_shape'] = '$shape'"
  expect_error 1 "s.safetensors: .*input_shape" -- limited "$dpf" eval "$tmp/s.safetensors"
done
sthdr "$m" "$tmp/s.safetensors" "h['__metadata__']['input_shape'] = '1,500,500'"
expect_error 1 "the model takes 1x500x500 inputs and 10 classes; the fashion-mnist test set has 1x28x28" \
  -- limited "$dpf" eval "$tmp/s.safetensors"
for kv in "'classes', '1000000000'" "'classes', '10x'" "'classes', '-1'" "'model', 'mlp2'" \
          "'data', 'imagenet'" "'sparsity', 'lots'" "'sparsity', '2'" "'normalize_std', '0'" \
          "'normalize_mean', 'nan'"; do
  sthdr "$m" "$tmp/s.safetensors" "k, v = $kv; h['__metadata__'][k] = v"
  expect_error 1 "s.safetensors: __metadata__" -- limited "$dpf" eval "$tmp/s.safetensors"
done

# --- 13. output that cannot be written is an error; gzip errors say where they are
if [[ -w /dev/full ]]; then
  "$dpf" eval "$run" --threads 2 --batch 500 >/dev/full 2>"$tmp/err"
  [[ $? -eq 1 ]] && grep -q "^dpf: standard output: write error" "$tmp/err" && ok \
    || bad "dpf eval > /dev/full: $(cat "$tmp/err")"
  "$dpf" --help >/dev/full 2>/dev/null && bad "dpf --help > /dev/full exited 0" || ok
fi
mkdir -p "$tmp/gz"
python3 - "$data" "$tmp/gz" <<'PY'
import gzip, shutil, sys
src, dst = sys.argv[1:]
for n in ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-labels-idx1-ubyte"):
    shutil.copy(f"{src}/{n}.gz", dst)
z = bytearray(open(f"{src}/t10k-images-idx3-ubyte.gz", "rb").read())
for i in range(len(z) // 2, len(z) // 2 + 64):
    z[i] ^= 0xFF
open(f"{dst}/t10k-images-idx3-ubyte.gz", "wb").write(z)
PY
expect_error 1 "t10k-images-idx3-ubyte.gz: corrupt gzip stream: .*after byte [0-9]{5,}" \
  -- "$dpf" eval "$run" --data-dir "$tmp/gz"
grep -q "t10k-images-idx3-ubyte.gz.*t10k-images-idx3-ubyte.gz" "$tmp/err" && bad "the gzip error names the file twice" || ok

# --- 12. options of eval, export, bench, theory: ranges, stray arguments, no "no error"
expect_error 2 "^dpf: --threads: 5000 is out of range \[0, 1024\]$" -- "$dpf" eval "$run" --threads 5000
expect_error 2 "^dpf: --threads: -1 is out of range" -- "$dpf" eval "$run" --threads -1
expect_error 2 "^dpf: --threads: ' 2' is not an integer" -- "$dpf" eval "$run" --threads " 2"
expect_error 2 "^dpf: --batch: 0 is out of range" -- "$dpf" eval "$run" --batch 0
expect_error 2 "^dpf: --data-dir: the path is empty" -- "$dpf" eval "$run" --data-dir ""
expect_error 2 "^dpf: -o: the path is empty" -- "$dpf" export "$run" -o ""
expect_error 2 "^dpf: --threads: 5000 is out of range" -- "$dpf" theory --threads 5000
expect_error 2 "^dpf: --out: the path is empty" -- "$dpf" theory --out ""
expect_error 2 "^dpf: --seed: '18446744073709551615' is not an integer in \[0, 2\^63 - 1\]" \
  -- "$dpf" theory --seed 18446744073709551615
expect_error 2 "^dpf: --sparsities: '0.5,,0.9' has an empty item" -- "$dpf" theory --sparsities 0.5,,0.9
expect_error 2 "^dpf bench: unexpected argument 'resnet20'" -- timeout 60 "$dpf" bench resnet20 --model mlp --data-shape 1,4,4 --steps 1 --warmup 0
expect_error 2 "^dpf bench: --method does not apply to --inference" -- timeout 60 "$dpf" bench --inference --method dpf --model mlp --data-shape 1,4,4 --steps 1
expect_error 2 "^dpf bench: --batch does not apply to --inference" -- timeout 60 "$dpf" bench --batch 8 --inference --model mlp --data-shape 1,4,4 --steps 1
expect_error 2 "^dpf: --data-shape: '3,32,32x' is not C,H,W" -- timeout 60 "$dpf" bench --model mlp --data-shape 3,32,32x --steps 1 --warmup 0
expect_error 2 "^dpf: --data-shape: '3,32,32,' is not C,H,W" -- timeout 60 "$dpf" bench --model mlp --data-shape 3,32,32, --steps 1 --warmup 0
expect_error 2 "^dpf: --steps: 2147483647 is out of range" -- timeout 60 "$dpf" bench --model mlp --data-shape 1,4,4 --steps 2147483647
expect_error 2 "^dpf: --classes: 1 is out of range" -- timeout 60 "$dpf" bench --model mlp --data-shape 1,4,4 --classes 1 --steps 1 --warmup 0
expect_error 2 "^dpf bench: --model does not apply to --model-file" -- "$dpf" bench --inference --model-file "$run" --model mlp
cp "$m" "$tmp/q\"uote.safetensors"
"$dpf" bench --inference --model-file "$tmp/q\"uote.safetensors" --json --steps 1 --threads 2 >"$tmp/b.json" 2>"$tmp/b.err" \
  && python3 -c "import json, sys; assert json.load(open(sys.argv[1]))['model_file'].endswith('q\"uote.safetensors')" "$tmp/b.json" \
  && ok || bad "bench --model-file --json with a quote in the path: $(cat "$tmp/b.json" "$tmp/b.err")"
expect_error 1 "^dpf: .*/new\?line.safetensors: cannot open" -- "$dpf" eval "$tmp/new"$'\n'"line.safetensors"
for cmd in "eval $tmp/missing" "export $tmp/missing -o $tmp/y.safetensors" "bench --model mlp --data-shape 1,4,4 --threads 99999"; do
  $dpf $cmd >/dev/null 2>"$tmp/err"
  grep -q "no error" "$tmp/err" && bad "dpf $cmd printed 'no error'" || ok
  [[ $(wc -l <"$tmp/err") -eq 1 ]] && ok || bad "dpf $cmd: $(wc -l <"$tmp/err") lines: $(cat "$tmp/err")"
done

finish
