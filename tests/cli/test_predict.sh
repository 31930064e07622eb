#!/usr/bin/env bash
# test_predict.sh — dpf predict end to end: Fashion-MNIST test images saved as PNG (grey and
# RGB), JPEG and a 2x-upscaled PNG give the classes `dpf predict` gives on the IDX file itself;
# top-1 over the whole IDX test file equals dpf eval's accuracy (batches of any size); a
# wrong-size image is resized with a note or refused with --no-resize; corrupt and truncated
# PNG / JPEG files, unknown files and bad options give one-line errors and non-zero exits.
# On untrained 3-channel models (make_model): grey images are copied to the three channels, and
# classes are named by the model's data set ("class N" for an unknown one).
# usage: test_predict.sh PATH/TO/dpf PATH/TO/make_image PATH/TO/make_model
dpf=$1
make_image=$2
make_model=$3
source "$(dirname "$0")/lib.sh"

data=/usr/share/datasets/fashion-mnist
images="$data/t10k-images-idx3-ubyte.gz"
run="$tmp/run"
"$dpf" train --model mlp --epochs 1 --limit-train 1024 --batch 64 --out "$run" --progress none \
  >/dev/null 2>"$tmp/train.err" && ok || bad "train failed: $(tail -3 "$tmp/train.err")"

# pixels of test image I (28x28 grey) on stdout
zcat "$images" >"$tmp/images.raw"
pixels() { dd if="$tmp/images.raw" iflag=skip_bytes,count_bytes skip=$((16 + 784 * $1)) count=784 status=none; }
# grey pixels on stdin as RGB with R = G = B
rgb() { python3 -c 'import sys; sys.stdout.buffer.write(bytes(b for p in sys.stdin.buffer.read() for b in (p, p, p)))'; }
# the part of a text result line after "FILE:" or "FILE[I]:"
result() { sed -E 's/^.*(\]|png|jpg): //'; }

# --- PNG of an IDX image: the same classes and probabilities as the IDX file gives
for i in 0 1 2; do
  pixels $i | "$make_image" png 1 28 28 "$tmp/img$i.png" || bad "make_image failed"
  want=$("$dpf" predict "$run" "$images" --index $i | result)
  got=$("$dpf" predict "$run" "$tmp/img$i.png" | result)
  [[ -n "$want" && "$got" == "$want" ]] && ok || bad "image $i: PNG gives '$got', IDX '$want'"
done
# several files in one batch, in order, with names
out=$("$dpf" predict "$run" "$tmp/img0.png" "$tmp/img1.png" "$tmp/img2.png" --top 2)
[[ $(wc -l <<<"$out") -eq 3 ]] && ok || bad "3 images should give 3 lines: $out"
grep -qE "^$tmp/img1.png: [^,]+ [01]\.[0-9]{3}, [^,]+ [01]\.[0-9]{3}$" <<<"$(sed -n 2p <<<"$out")" \
  && ok || bad "line 2 is not 'img1.png: NAME P, NAME P': $out"
grep -qE "(T-shirt/top|Trouser|Pullover|Dress|Coat|Sandal|Shirt|Sneaker|Bag|Ankle boot) " <<<"$out" \
  && ok || bad "no Fashion-MNIST class names: $out"
top1() { "$dpf" predict "$run" "$@" --top 1 | result | sed -E 's/ [0-9.]+$//'; }
# RGB with R = G = B is the same grey image; JPEG at quality 100 keeps the class
pixels 1 | rgb | "$make_image" png 3 28 28 "$tmp/rgb1.png"
[[ $(top1 "$tmp/rgb1.png") == $(top1 "$tmp/img1.png") ]] && ok || bad "RGB PNG classified differently"
pixels 0 | "$make_image" jpg 1 28 28 "$tmp/img0.jpg"
pixels 1 | rgb | "$make_image" jpg 3 28 28 "$tmp/rgb1.jpg"
[[ $(top1 "$tmp/img0.jpg") == $(top1 "$tmp/img0.png") ]] && ok || bad "grey JPEG classified differently"
[[ $(top1 "$tmp/rgb1.jpg") == $(top1 "$tmp/img1.png") ]] && ok || bad "RGB JPEG classified differently"

# --- top-1 over the whole IDX file equals dpf eval's accuracy (10000 = 156 batches of 64 + 16)
"$dpf" predict "$run" "$images" --top 1 --json >"$tmp/all.jsonl" && ok || bad "predict on the IDX file failed"
[[ $(wc -l <"$tmp/all.jsonl") -eq 10000 ]] && ok || bad "10000 images should give 10000 lines"
acc=$(paste <(grep -o '"class":[0-9]*' "$tmp/all.jsonl" | grep -o '[0-9]*$') \
            <(zcat "$data/t10k-labels-idx1-ubyte.gz" | tail -c +9 | od -An -v -tu1 -w1 | tr -d ' ') \
      | awk '$1 == $2 { n++ } END { printf "%.2f", 100 * n / NR }')
want=$("$dpf" eval "$run" | grep -o 'test accuracy [0-9.]*' | grep -o '[0-9.]*$')
[[ "$acc" == "$want" ]] && ok || bad "predict's top-1 accuracy $acc% differs from dpf eval's $want%"

# --- JSON: one object per image with the documented fields
line=$("$dpf" predict "$run" "$images" --index 5 --json --top 12)
python3 -c 'import json,sys; o=json.loads(sys.argv[1]); t=o["top"];
assert o["index"] == 5 and o["file"].endswith("t10k-images-idx3-ubyte.gz"), o
assert len(t) == 10 and abs(sum(e["probability"] for e in t) - 1) < 1e-4, t
assert all(t[i]["probability"] >= t[i+1]["probability"] for i in range(9)), t
assert {e["class"] for e in t} == set(range(10)) and all(e["name"] for e in t), t' "$line" \
  && ok || bad "bad --json line: $line"

# --- sizes: a 2x nearest upscale resized back bilinearly is the original image exactly
pixels 2 | python3 -c 'import sys
p = sys.stdin.buffer.read()
sys.stdout.buffer.write(bytes(p[(y // 2) * 28 + x // 2] for y in range(56) for x in range(56)))' \
  | "$make_image" png 1 56 56 "$tmp/big2.png"
"$dpf" predict "$run" "$tmp/big2.png" >"$tmp/out" 2>"$tmp/err" && ok || bad "resize failed: $(cat "$tmp/err")"
[[ $(result <"$tmp/out") == $(result <<<"$("$dpf" predict "$run" "$tmp/img2.png")") ]] \
  && ok || bad "56x56 image resized gives '$(cat "$tmp/out")'"
[[ $(wc -l <"$tmp/err") -eq 1 ]] && grep -q "big2.png: 56x56 image resized to the model's 28x28 (bilinear)" "$tmp/err" \
  && ok || bad "no one-line resize note: $(cat "$tmp/err")"
head -c 1200 /dev/zero | "$make_image" png 1 40 30 "$tmp/wide.png"
expect_error 1 "^dpf predict: .*wide.png: image is 40x30 but the model takes 28x28 \(--no-resize given\)$" -- \
  "$dpf" predict "$run" "$tmp/wide.png" --no-resize
[[ ! -s "$tmp/out" ]] && ok || bad "--no-resize printed a result: $(cat "$tmp/out")"

# --- a 3-channel 32x32 CIFAR-10 model: grey copied to RGB, resized, CIFAR-10 names
"$make_model" lenet5 cifar10 3 32 32 10 "$tmp/c10.safetensors" || bad "make_model failed"
"$dpf" predict "$tmp/c10.safetensors" "$tmp/img0.png" "$tmp/img1.png" --top 10 >"$tmp/grey.out" 2>"$tmp/err" \
  && ok || bad "grey images on a colour model: $(cat "$tmp/err")"
pixels 0 | rgb | "$make_image" png 3 28 28 "$tmp/rgb0.png"
"$dpf" predict "$tmp/c10.safetensors" "$tmp/rgb0.png" "$tmp/rgb1.png" --top 10 >"$tmp/rgb.out" 2>/dev/null
[[ $(result <"$tmp/grey.out") == $(result <"$tmp/rgb.out") && -s "$tmp/rgb.out" ]] \
  && ok || bad "grey replicated differs from RGB: $(cat "$tmp/grey.out" "$tmp/rgb.out")"
[[ $(grep -c "28x28 image resized to the model's 32x32" "$tmp/err") -eq 2 ]] && ok || bad "no resize notes: $(cat "$tmp/err")"
for name in airplane automobile bird cat deer dog frog horse ship truck; do
  [[ $(grep -c " $name 0\.[0-9]*" "$tmp/grey.out") -eq 2 ]] || bad "CIFAR-10 class $name not named: $(cat "$tmp/grey.out")"
done
ok
"$make_model" lenet5 my-data 3 32 32 12 "$tmp/mine.safetensors" || bad "make_model failed"
out=$("$dpf" predict "$tmp/mine.safetensors" "$tmp/rgb0.png" --top 12 2>/dev/null)
[[ $(grep -oE "class [0-9]+ " <<<"$out" | sort -u | wc -l) -eq 12 ]] && ok || bad "unknown data set: not 'class N': $out"

# --- corrupt and truncated images: one line naming the file, exit 1
head -c 100 "$tmp/img0.png" >"$tmp/cut.png"
expect_error 1 "^dpf predict: .*cut.png: corrupt or truncated PNG: " -- "$dpf" predict "$run" "$tmp/cut.png"
python3 -c 'import sys; b = bytearray(open(sys.argv[1], "rb").read()); b[60:70] = b"\xff" * 10
open(sys.argv[2], "wb").write(b)' "$tmp/img0.png" "$tmp/flipped.png"
expect_error 1 "^dpf predict: .*flipped.png: corrupt or truncated PNG: " -- "$dpf" predict "$run" "$tmp/flipped.png"
size=$(stat -c %s "$tmp/img0.jpg")
head -c $((size / 2)) "$tmp/img0.jpg" >"$tmp/cut.jpg"
expect_error 1 "^dpf predict: .*cut.jpg: corrupt or truncated JPEG: " -- "$dpf" predict "$run" "$tmp/cut.jpg"
head -c 40 "$tmp/img0.jpg" >"$tmp/header.jpg"
expect_error 1 "^dpf predict: .*header.jpg: corrupt or truncated JPEG: " -- "$dpf" predict "$run" "$tmp/header.jpg"
printf 'hello' >"$tmp/note.txt"
expect_error 1 "note.txt: not a PNG, JPEG or IDX image file" -- "$dpf" predict "$run" "$tmp/note.txt"
expect_error 1 "nope.png: cannot open" -- "$dpf" predict "$run" "$tmp/nope.png"
# the good files around a bad one are still classified
"$dpf" predict "$run" "$tmp/img0.png" "$tmp/cut.jpg" "$tmp/img1.png" >"$tmp/out" 2>"$tmp/err"
[[ $? -eq 1 && $(wc -l <"$tmp/out") -eq 2 && $(wc -l <"$tmp/err") -eq 1 ]] && ok \
  || bad "a bad file among good ones: $(cat "$tmp/out" "$tmp/err")"

# a file name that cannot be written as JSON (not UTF-8): said, exit 1
cp "$tmp/img0.png" "$tmp/"$'\xff'".png"
expect_error 1 "the file name is not UTF-8" -- "$dpf" predict "$run" "$tmp/"$'\xff'".png" --json

# --- options
expect_error 1 "index 10000 is out of range \(the file has 10000 images\)" -- "$dpf" predict "$run" "$images" --index 10000
expect_error 1 "img0.png: --index 1 is out of range \(the file has 1 image\)" -- "$dpf" predict "$run" "$tmp/img0.png" --index 1
expect_error 2 "^dpf: --top: must be at least 1$" -- "$dpf" predict "$run" "$tmp/img0.png" --top 0
expect_error 2 "^dpf: --index: 'x' is not an integer$" -- "$dpf" predict "$run" "$tmp/img0.png" --index x
expect_error 2 "unknown or incomplete option '--frobnicate'" -- "$dpf" predict "$run" "$tmp/img0.png" --frobnicate
expect_error 2 "expected a RUN_DIR or MODEL.safetensors and at least one image" -- "$dpf" predict "$run"
printf 'not a model' >"$tmp/junk.safetensors"
expect_error 1 "junk.safetensors" -- "$dpf" predict "$tmp/junk.safetensors" "$tmp/img0.png"
help=$("$dpf" predict --help)
for o in --top --index --threads --no-resize --json --help; do
  grep -q -- "$o" <<<"$help" && ok || bad "predict --help does not explain $o"
done
"$dpf" predict "$run" "$tmp/img0.png" --threads 1 >/dev/null && ok || bad "--threads 1 failed"

finish
