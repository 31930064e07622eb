// ort_bench.js — times an ONNX model (e.g. from `dpf export --format onnx`) in ONNX Runtime
// (onnxruntime-node, CPU): batch-1 latency and batch-256 throughput, each the median of --runs
// timed runs after --warmup untimed ones, with --threads intra-op threads (1 inter-op thread,
// sequential execution) and graph optimisations 'all' by default. The input is random normal
// data of the model's input shape (a symbolic batch dimension takes the batch). Prints figures;
// it is a program, not a test. Needs onnxruntime-node: `npm install --ignore-scripts
// onnxruntime-node` in DIR (tests/cli/test_onnx_ort.sh leaves one in build/onnxruntime-node).
// usage: node bench/ort_bench.js MODEL.onnx [--ort-dir DIR] [--runs N] [--warmup N]
//          [--threads T] [--batch B] [--opt disabled|basic|extended|all]
'use strict';
const path = require('path');

function usage(msg) {
  if (msg) console.error(`ort_bench: ${msg}`);
  console.error('usage: node bench/ort_bench.js MODEL.onnx [--ort-dir DIR] [--runs N] ' +
                '[--warmup N] [--threads T] [--batch B] [--opt disabled|basic|extended|all]');
  process.exit(2);
}

function parseArgs(argv) {
  const o = {ortDir: path.join(__dirname, '..', 'build', 'onnxruntime-node'), runs: 20, warmup: 5,
             threads: 2, batch: 256, opt: 'all', model: null};
  const numbers = {'--runs': 'runs', '--warmup': 'warmup', '--threads': 'threads', '--batch': 'batch'};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '-h' || a === '--help') usage();
    if (a === '--ort-dir' || a === '--opt' || a in numbers) {
      if (i + 1 >= argv.length) usage(`${a} needs a value`);
      const v = argv[++i];
      if (a === '--ort-dir') o.ortDir = v;
      else if (a === '--opt') o.opt = v;
      else if (!/^\d+$/.test(v) || (Number(v) < 1 && a !== '--warmup')) usage(`${a}: '${v}' is not a count`);
      else o[numbers[a]] = Number(v);
    } else if (a.startsWith('-') || o.model) {
      usage(`unexpected argument '${a}'`);
    } else {
      o.model = a;
    }
  }
  if (!o.model) usage('no model given');
  if (!['disabled', 'basic', 'extended', 'all'].includes(o.opt)) usage(`--opt: unknown level '${o.opt}'`);
  return o;
}

function loadOrt(dir) {
  try {
    return require(path.join(path.resolve(dir), 'node_modules', 'onnxruntime-node'));
  } catch (e) {
    console.error(`ort_bench: no onnxruntime-node in ${dir}/node_modules (npm install --prefix ` +
                  `${dir} --ignore-scripts onnxruntime-node, or --ort-dir DIR)`);
    process.exit(1);
  }
}

// Standard normal floats (Box-Muller on a fixed-seed LCG: the same input every run).
function randomInput(n) {
  const x = new Float32Array(n);
  let s = 12345;
  const u = () => ((s = (s * 1103515245 + 12345) % 2147483648) + 1) / 2147483649;
  for (let i = 0; i < n; i++) x[i] = Math.sqrt(-2 * Math.log(u())) * Math.cos(2 * Math.PI * u());
  return x;
}

function median(v) {
  const s = [...v].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

// Median seconds of one session.run on a batch of `batch` images.
async function timeBatch(ort, session, meta, batch, o) {
  const shape = meta.shape.map((d) => (typeof d === 'number' ? d : batch));
  if (shape[0] !== batch) throw new Error(`the model's batch is fixed at ${shape[0]}`);
  const feeds = {[meta.name]: new ort.Tensor('float32', randomInput(shape.reduce((a, b) => a * b, 1)), shape)};
  for (let i = 0; i < o.warmup; i++) await session.run(feeds);
  const t = [];
  for (let i = 0; i < o.runs; i++) {
    const t0 = process.hrtime.bigint();
    await session.run(feeds);
    t.push(Number(process.hrtime.bigint() - t0) / 1e9);
  }
  return median(t);
}

async function main() {
  const o = parseArgs(process.argv.slice(2));
  const ort = loadOrt(o.ortDir);
  const session = await ort.InferenceSession.create(o.model, {
    intraOpNumThreads: o.threads, interOpNumThreads: 1, executionMode: 'sequential',
    graphOptimizationLevel: o.opt, executionProviders: ['cpu']});
  const meta = session.inputMetadata ? session.inputMetadata[0] : null;
  if (!meta || !meta.isTensor || meta.shape.length === 0)
    throw new Error('the model does not declare its input shape (needs onnxruntime-node >= 1.21)');
  console.log(`model ${path.basename(o.model)}: input ${meta.name} [${meta.shape}], ` +
              `onnxruntime-node ${ort.env.versions ? ort.env.versions.common : ''}, ` +
              `${o.threads} intra-op threads, graph optimisations ${o.opt}, median of ${o.runs} runs`);
  const one = await timeBatch(ort, session, meta, 1, o);
  console.log(`batch 1:   latency ${(one * 1e3).toFixed(3)} ms (${(1 / one).toFixed(1)} images/s)`);
  const big = await timeBatch(ort, session, meta, o.batch, o);
  console.log(`batch ${o.batch}: ${(big * 1e3).toFixed(2)} ms per batch, ${(o.batch / big).toFixed(1)} images/s`);
}

main().catch((e) => { console.error(`ort_bench: ${e.message.split('\n')[0]}`); process.exit(1); });
