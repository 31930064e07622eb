// ort_logits.js — the ONNX Runtime side of tests/cli/test_onnx_ort.sh: runs an exported model
// in onnxruntime-node on raw float32 images and compares its logits with dpf's, per image as
// max |ort - dpf| / max |dpf|. Prints the worst figure; exit 1 if it exceeds TOL.
// usage: node ort_logits.js ORT_DIR MODEL.onnx INPUT.bin LOGITS.bin N C H W TOL
//   ORT_DIR: the folder whose node_modules holds onnxruntime-node
'use strict';
const fs = require('fs');
const path = require('path');

function floats(file) {
  const b = fs.readFileSync(file);
  return new Float32Array(b.buffer, b.byteOffset, b.length / 4);
}

async function main() {
  const [dir, model, input, reference, ...rest] = process.argv.slice(2);
  const [n, c, h, w] = rest.slice(0, 4).map(Number);
  const tol = Number(rest[4]);
  const ort = require(path.join(path.resolve(dir), 'node_modules', 'onnxruntime-node'));
  const session = await ort.InferenceSession.create(model, {intraOpNumThreads: 2});
  const x = new ort.Tensor('float32', floats(input), [n, c, h, w]);
  const out = await session.run({input: x});
  const got = out.logits.data, want = floats(reference);
  if (got.length !== want.length || out.logits.dims[0] !== n) {
    console.log(`${model}: ONNX Runtime gave ${out.logits.dims} logits, dpf ${want.length} values`);
    process.exit(1);
  }
  const k = want.length / n;
  let worst = 0;
  for (let i = 0; i < n; i++) {
    let diff = 0, scale = 0;
    for (let j = i * k; j < (i + 1) * k; j++) {
      diff = Math.max(diff, Math.abs(got[j] - want[j]));
      scale = Math.max(scale, Math.abs(want[j]));
    }
    const rel = diff / Math.max(scale, 1e-30);
    worst = Number.isNaN(rel) || Number.isNaN(worst) ? NaN : Math.max(worst, rel);
  }
  const ok = worst <= tol;   // false for NaN
  const name = path.join(path.basename(path.dirname(model)), path.basename(model));
  console.log(`${name}: ${n} images, ${k} classes, ` +
              `max relative logit difference ${worst.toExponential(2)} (tolerance ${tol})`);
  process.exit(ok ? 0 : 1);
}

main().catch((e) => { console.log(`${process.argv[3]}: ${e.message.split('\n')[0]}`); process.exit(1); });
