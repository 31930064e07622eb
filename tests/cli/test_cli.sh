#!/usr/bin/env bash
# test_cli.sh — dpf end to end on a tiny run: train writes the run files, eval and export read
# them, theory writes its results, and bad options / bad files give one-line errors, non-zero
# exits and touch nothing.
# usage: test_cli.sh PATH/TO/dpf
dpf=$1
source "$(dirname "$0")/lib.sh"

data=/usr/share/datasets/fashion-mnist
run="$tmp/run"
# --- a tiny run
if "$dpf" train --model mlp --epochs 2 --limit-train 512 --batch 64 --out "$run" --progress lines \
     >"$tmp/train.out" 2>"$tmp/train.err"; then ok; else bad "train failed: $(tail -3 "$tmp/train.err")"; fi
for f in config.json metrics.jsonl summary.json model.safetensors; do
  [[ -s "$run/$f" ]] && ok || bad "run lacks $f"
done
[[ $(wc -l <"$run/metrics.jsonl") -eq 2 ]] && ok || bad "metrics.jsonl should have 2 lines"
for k in epoch lr train_loss train_acc test_acc images_per_s wall_s; do
  grep -q "\"$k\"" "$run/metrics.jsonl" && ok || bad "metrics.jsonl lacks $k"
done
for k in model method data epochs test_acc_dense test_acc_sparse target_sparsity sparsity_prunable \
         sparsity_total params_total params_nonzero macs_dense macs_sparse train_images_per_s wall_s; do
  grep -q "\"$k\"" "$run/summary.json" && ok || bad "summary.json lacks $k"
done
grep -q '"normalize"' "$run/config.json" && grep -q '0.286' "$run/config.json" && ok || bad "config.json lacks the normalisation"
grep -q '"conv_algo": "auto"' "$run/config.json" && ok || bad "config.json lacks the convolution algorithm"
grep -q '"prunable"' "$run/config.json" && grep -q 'fc1.weight' "$run/config.json" && ok || bad "config.json lacks the prunable tensors"
grep -q "test accuracy" "$tmp/train.out" && ok || bad "train prints no result"
grep -qE "epoch 2/2 .*img/s" "$tmp/train.err" && ok || bad "no progress lines on stderr"

# --- eval and export
acc_train=$(grep -o '"test_acc_sparse": [0-9.]*' "$run/summary.json" | grep -o '[0-9.]*$')
"$dpf" eval "$run" >"$tmp/eval.out" 2>&1 && ok || bad "eval failed: $(cat "$tmp/eval.out")"
acc_eval=$(grep -o 'test accuracy [0-9.]*' "$tmp/eval.out" | grep -o '[0-9.]*$')
grep -q "10000 images" "$tmp/eval.out" && ok || bad "eval does not say how many images: $(cat "$tmp/eval.out")"
awk -v a="$acc_train" -v b="$acc_eval" 'BEGIN { exit !(a * 100 - b < 0.01 && b - a * 100 < 0.01) }' \
  && ok || bad "eval accuracy $acc_eval% differs from the run's $acc_train"
"$dpf" export "$run" --format safetensors -o "$tmp/m.safetensors" >/dev/null 2>&1 && ok || bad "export failed"
"$dpf" eval "$tmp/m.safetensors" >"$tmp/eval2.out" 2>&1 && ok || bad "eval of the exported file failed"
cmp -s <(grep -o 'test accuracy [0-9.]*' "$tmp/eval.out") <(grep -o 'test accuracy [0-9.]*' "$tmp/eval2.out") \
  && ok || bad "exported model evaluates differently"
# the compact sparse file (its size: test_sparse_io) evaluates exactly as the dense one, is the
# dense file again when exported back, and is refused when damaged
"$dpf" export "$run" --format sparse -o "$tmp/m.dpfs" >/dev/null 2>&1 && ok || bad "sparse export failed"
"$dpf" eval "$tmp/m.dpfs" >"$tmp/eval3.out" 2>&1 && ok || bad "eval of the sparse file failed: $(cat "$tmp/eval3.out")"
cmp -s <(grep -o 'test accuracy.*loss [0-9.]*' "$tmp/eval.out") <(grep -o 'test accuracy.*loss [0-9.]*' "$tmp/eval3.out") \
  && ok || bad "sparse file evaluates differently: $(cat "$tmp/eval3.out")"
"$dpf" export "$tmp/m.dpfs" --format safetensors -o "$tmp/back.safetensors" >/dev/null 2>&1 \
  && cmp -s "$tmp/m.safetensors" "$tmp/back.safetensors" && ok || bad "sparse -> dense is not the dense file"
head -c 3000 "$tmp/m.dpfs" >"$tmp/cut.dpfs"
expect_error 1 "^dpf: .*cut.dpfs: .*tensor \"" -- "$dpf" eval "$tmp/cut.dpfs"
expect_error 2 "unknown format .tflite. \(known: safetensors, sparse, onnx\)" -- "$dpf" export "$run" --format tflite -o "$tmp/x"
expect_error 2 "--encoding: unknown encoding 'coo'" -- "$dpf" export "$run" --format sparse --encoding coo -o "$tmp/x"

# --- nothing overwritten
sum_before=$(cat "$run"/* | md5sum)
expect_error 1 "already holds a run" -- "$dpf" train --model mlp --epochs 1 --limit-train 64 --out "$run"
expect_error 1 "^dpf: --out: /proc/dpf-run: cannot create directory" -- "$dpf" train --model mlp --epochs 1 --limit-train 64 --out /proc/dpf-run
expect_error 1 "model lenet5 does not fit the data: layer conv2" -- "$dpf" bench --model lenet5 --data-shape 1,8,8 --steps 1
expect_error 1 "file exists" -- "$dpf" export "$run" -o "$tmp/m.safetensors"
[[ $(cat "$run"/* | md5sum) == "$sum_before" ]] && ok || bad "a refused command changed the run"

# --- bad options: one line naming the option, exit 2
expect_error 2 "--sparsity"        -- "$dpf" train --sparsity 1
expect_error 2 "^dpf: --conv-algo: 'fft' is not auto or direct$" -- "$dpf" train --conv-algo fft
expect_error 2 "^dpf: --conv-algo: 'x' is not auto or direct$" -- "$dpf" bench --conv-algo x
expect_error 2 "^dpf: --conv-algo: 'x' is not auto or direct$" -- "$dpf" eval --conv-algo x "$run"
expect_error 2 "--sparsity"        -- "$dpf" train --sparsity -0.1
expect_error 2 "--lr"              -- "$dpf" train --lr 0
expect_error 2 "--lr.*not a number" -- "$dpf" train --lr abc
expect_error 2 "--batch"           -- "$dpf" train --batch 0
expect_error 2 "--epochs"          -- "$dpf" train --epochs 0
expect_error 2 "--model: unknown model 'resnet7'" -- "$dpf" train --model resnet7
expect_error 2 "--method: unknown method" -- "$dpf" train --method magic
expect_error 2 "--data: unknown data set" -- "$dpf" train --data imagenet
expect_error 2 "--milestones"      -- "$dpf" train --milestones 0.8,0.5
expect_error 2 "unknown or incomplete option '--frobnicate'" -- "$dpf" train --frobnicate
expect_error 2 "unknown command"   -- "$dpf" frobnicate

# --- bad data files
mkdir -p "$tmp/bad"
cp "$data"/*.gz "$tmp/bad/"
head -c 1000 "$data/t10k-labels-idx1-ubyte.gz" >"$tmp/bad/t10k-labels-idx1-ubyte.gz"
expect_error 1 "t10k-labels-idx1-ubyte.gz" -- "$dpf" train --model mlp --epochs 1 --limit-train 64 --data-dir "$tmp/bad"
expect_error 1 "missing .*train-images" -- "$dpf" train --data-dir "$tmp/nonexistent"
printf 'not a model' >"$tmp/junk.safetensors"
expect_error 1 "junk.safetensors" -- "$dpf" eval "$tmp/junk.safetensors"

# --- bench: the JSON fields scripts read, the per-layer table, inference timing
out=$("$dpf" bench --model lenet5 --data-shape 1,28,28 --batch 8 --steps 2 --warmup 1 --json)
for k in train_images_per_s step_ms gflops; do
  grep -q "\"$k\": [0-9]" <<<"$out" && ok || bad "bench --json lacks $k: $out"
done
out=$("$dpf" bench --model resnet20 --data-shape 3,12,12 --batch 4 --steps 2 --warmup 1)
grep -q "^conv layer1.0.conv1 16->16 3x3/1" <<<"$out" && ok || bad "bench lacks the per-layer table: $out"
grep -q "^bn+relu layer1.0.bn1" <<<"$out" && ok || bad "bench table lacks the fused bn+relu: $out"
out=$("$dpf" bench --model lenet5 --data-shape 1,28,28 --inference --steps 2 --warmup 1 --json)
for k in latency_ms inference_images_per_s; do
  grep -q "\"$k\": [0-9]" <<<"$out" && ok || bad "bench --inference --json lacks $k: $out"
done
expect_error 2 "--data-shape" -- "$dpf" bench --data-shape 3,32

# --- help lists every option with its default
"$dpf" train --help >"$tmp/help" && ok || bad "train --help failed"
for o in --data --data-dir --model --method --sparsity --epochs --batch --lr --momentum --nesterov \
         --wd --milestones --gamma --warmup --seed --threads --limit-train --out; do
  grep -q -- "$o" "$tmp/help" && ok || bad "train --help lacks $o"
done

# --- theory: Theorem 4.1 on logistic regression (300 steps on 500 images), files, refusals
th="$tmp/theory"
if "$dpf" theory --iterations 300 --limit-train 500 -o "$th" >"$tmp/th.out" 2>"$tmp/th.err"; then
  ok; else bad "theory failed: $(tail -3 "$tmp/th.err")"; fi
for f in summary.json theory.dat; do [[ -s "$th/$f" ]] && ok || bad "theory lacks $f"; done
if command -v gnuplot >/dev/null; then [[ -s "$th/theory.png" ]] && ok || bad "theory lacks theory.png"; fi
for k in fstar grad_norm iterations lambda mu sgd_final_gap dpf_final_gap dpf_expected_gap \
         dpf_mean_delta oneshot_final_gap; do
  grep -q "\"$k\"" "$th/summary.json" && ok || bad "theory summary.json lacks $k"
done
for s in 0.5 0.8 0.9 0.95; do
  grep -qE "^$s +[0-9.e+-]+ +[0-9.e+-]+ +[0-9.e+-]+ +[0-9.]+$" "$tmp/th.out" && ok || bad "theory table lacks sparsity $s: $(cat "$tmp/th.out")"
done
rows=$(grep -vc '^#' "$th/theory.dat")
[[ $rows -ge 30 && $(awk '!/^#/ { print NF; exit }' "$th/theory.dat") -eq 31 ]] && ok || bad "theory.dat: $rows rows or not 3 + 4 x 7 columns"
grep -q "f\* = .*L-BFGS" "$tmp/th.err" && ok || bad "theory prints no f* progress line"
expect_error 1 "already holds results \(summary.json\)" -- "$dpf" theory --iterations 10 --limit-train 100 -o "$th"
"$dpf" theory --iterations 10 --limit-train 100 -o "$th" --force --progress none >/dev/null 2>&1 \
  && grep -q '"iterations": 10,' "$th/summary.json" && ok || bad "theory --force did not overwrite"
expect_error 2 "^dpf: --sparsities: 1 is not in" -- "$dpf" theory --sparsities 0.5,1
expect_error 2 "^dpf: --lambda: 'abc' is not a number" -- "$dpf" theory --lambda abc
expect_error 2 "^dpf: --lambda: must be > 0" -- "$dpf" theory --lambda 0
expect_error 2 "^dpf: --lr-shift" -- "$dpf" theory --lr-shift 0.5
expect_error 2 "^dpf: --iterations" -- "$dpf" theory --iterations 0
expect_error 2 "^dpf: --progress" -- "$dpf" theory --progress bar
expect_error 2 "^dpf: --data: unknown data set" -- "$dpf" theory --data imagenet
expect_error 2 "unknown or incomplete option '--frobnicate'" -- "$dpf" theory --frobnicate
"$dpf" theory --help >"$tmp/help" && ok || bad "theory --help failed"
for o in --data --data-dir --limit-train --lambda --sparsities --iterations --batch --lr-shift \
         --l2-at --seed --log-points --fstar-tol --threads --out --force --progress; do
  grep -q -- "$o" "$tmp/help" && ok || bad "theory --help lacks $o"
done

finish
