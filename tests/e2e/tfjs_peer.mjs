// Training benchmark peer: TensorFlow.js trains exactly the network of src/policy/network.rs
// on the same behavioral-cloning data with the loop of src/policy/bc.rs, in headless
// Chromium, once per TF.js backend (cpu, wasm, webgpu), and reports samples per second.
// Usage: node tests/e2e/tfjs_peer.mjs BASE_URL DATA_JSON [STEPS] [OUT_JSON]
//   BASE_URL  a static server of the project that serves /node_modules/ (serve-dist.mjs)
//   DATA_JSON {"rows", "obs_dim": 33, "one_hot_start": 17, "action_dim": 4, "observations": [rows*33], "actions": [rows*4],
//             "task_descriptors": [tasks][10]} (`amf bench train --dump-data`; optional
//             "norm_mean"/"norm_std" override the statistics computed from it)
//   STEPS     timed training steps per backend (default 1000), after 20 warm-up steps
// Environment: TFJS_BACKENDS (default "cpu,wasm,webgpu"), TFJS_WEBGPU_STEPS (timed steps
// for webgpu only, for software WebGPU), TFJS_PEER_TIMEOUT_S (per backend, default 1800),
// TFJS_LOG_STD: "per_task" (default; network.rs now: a [tasks, 4] table of log std looked
// up by the task one-hot, log_std(obs) = obs[:, one_hot_start..] @ table) or "shared" (the
// earlier network: one log std of shape [4] broadcast over the rows).
// The first layer reads the normalised state (columns 0..one_hot_start) and the task's descriptor
// (the one-hot times "task_descriptors"), as network.rs does; the descriptor's weights
// start at zero.
//
// What matches ours: the normalisation (population mean and std of the data, std >= 1e-3,
// the task one-hot columns one_hot_start.. left as they are, applied in the forward pass), Linear
// layers initialised U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for weight and bias (burn's
// default), LayerNorm (biased variance, epsilon 1e-5, trainable gamma and beta), log_std
// (per task or shared, see TFJS_LOG_STD) initialised to 0 (network.rs's default), loss = mse + nll with the error detached in the nll, Adam (lr 1e-3,
// betas 0.9/0.999, epsilon 1e-5 as burn's AdamConfig), 256 rows drawn uniformly with
// replacement each step, gathered on the device from a host index list, and the total
// loss and the mse read back to the CPU every step (bc.rs reads both for the progress).
import { chromium } from 'playwright-core';
import fs from 'node:fs';
import path from 'node:path';
import { launchOptions } from './common.mjs';

const [base = 'http://127.0.0.1:8090/', dataPath, stepsArg, out] = process.argv.slice(2);
if (!dataPath) {
  console.error('usage: node tests/e2e/tfjs_peer.mjs BASE_URL DATA_JSON [STEPS] [OUT_JSON]');
  process.exit(2);
}
const steps = Number(stepsArg ?? 1000);
const webgpuSteps = process.env.TFJS_WEBGPU_STEPS ? Number(process.env.TFJS_WEBGPU_STEPS) : steps;
const backends = (process.env.TFJS_BACKENDS ?? 'cpu,wasm,webgpu').split(',').map((s) => s.trim()).filter(Boolean);
const logStdMode = process.env.TFJS_LOG_STD ?? 'per_task';
if (!['per_task', 'shared'].includes(logStdMode)) throw new Error(`TFJS_LOG_STD must be per_task or shared, not ${logStdMode}`);
const timeoutMs = Number(process.env.TFJS_PEER_TIMEOUT_S ?? 1800) * 1000;
const root = path.resolve(new URL('../..', import.meta.url).pathname);
const tfjsVersion = JSON.parse(fs.readFileSync(path.join(root, 'node_modules/@tensorflow/tfjs/package.json'))).version;
const dataText = fs.readFileSync(dataPath, 'utf8');
const rows = JSON.parse(dataText).rows;

const origin = new URL(base);
const pageUrl = new URL('__tfjs_peer__.html', origin).href;
const dataUrl = new URL('__tfjs_peer_data__.json', origin).href;
const dist = (pkg) => new URL(`node_modules/@tensorflow/${pkg}/dist/`, origin).href;

// Runs in the page: one backend, from a fresh page. `tf` is the UMD global.
async function runBackend({ backend, logStdMode, steps, warmup, batchSize, inferenceCalls, dataUrl, wasmDist }) {
  const tf = window.tf;
  const result = { backend };
  if (backend === 'wasm') tf.wasm.setWasmPaths(wasmDist);
  if (backend === 'webgpu') {
    if (!navigator.gpu) throw new Error('navigator.gpu is missing (WebGPU is not enabled in this browser)');
    const adapter = await navigator.gpu.requestAdapter();
    if (!adapter) throw new Error('navigator.gpu.requestAdapter() returned null (no WebGPU adapter)');
    const info = adapter.info ?? {};
    result.adapter = [info.vendor, info.architecture, info.device, info.description].filter(Boolean).join(' ');
  }
  if (!(await tf.setBackend(backend))) throw new Error(`tf.setBackend('${backend}') failed`);
  await tf.ready();
  tf.enableProdMode();
  if (backend === 'wasm') {
    result.wasm_simd = await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT');
    result.wasm_threads = await tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT');
  }

  const data = await (await fetch(dataUrl)).json();
  const n = data.rows, obsDim = data.obs_dim, actDim = data.action_dim;
  if (data.observations.length !== n * obsDim || data.actions.length !== n * actDim) {
    throw new Error('DATA_JSON: observations or actions have the wrong length');
  }
  // NormStats::from_observations: population statistics in f64, std clamped >= 1e-3; the
  // task one-hot (columns one_hot_start.. of the observation) is left at mean 0, std 1.
  const stateDim = data.one_hot_start;
  if (!Number.isInteger(stateDim) || stateDim <= 0 || stateDim >= obsDim) throw new Error('DATA_JSON: one_hot_start must say where the task one-hot begins (amf bench train --dump-data)');
  const oneHot = [stateDim, obsDim];
  const descriptors = data.task_descriptors;
  if (!descriptors || descriptors.length !== obsDim - stateDim) throw new Error('DATA_JSON: task_descriptors must have one row per task (amf bench train --dump-data)');
  const descriptorDim = descriptors[0].length;
  let normMean = data.norm_mean, normStd = data.norm_std;
  if (!normMean || !normStd) {
    normMean = new Array(obsDim).fill(0);
    normStd = new Array(obsDim).fill(1);
    for (let i = 0; i < obsDim; i++) {
      if (i >= oneHot[0] && i < oneHot[1]) continue;
      let sum = 0, square = 0;
      for (let r = 0; r < n; r++) { const x = data.observations[r * obsDim + i]; sum += x; square += x * x; }
      const m = sum / Math.max(n, 1);
      normMean[i] = m;
      normStd[i] = Math.max(Math.fround(Math.sqrt(Math.max(square / Math.max(n, 1) - m * m, 0))), 1e-3);
    }
  }

  // Seeded generator (mulberry32) so every backend starts from the same weights and
  // draws the same minibatches.
  let seed = 0x9e3779b9;
  const random = () => {
    seed = (seed + 0x6d2b79f5) >>> 0;
    let t = seed;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const uniform = (shape, bound) => {
    const size = shape.reduce((a, b) => a * b, 1);
    const v = new Float32Array(size);
    for (let i = 0; i < size; i++) v[i] = (2 * random() - 1) * bound;
    return tf.tensor(v, shape);
  };
  const hidden = 256;
  const linear = (name, fanIn, fanOut) => ({
    weight: tf.variable(uniform([fanIn, fanOut], 1 / Math.sqrt(fanIn)), true, `${name}.weight`),
    bias: tf.variable(uniform([fanOut], 1 / Math.sqrt(fanIn)), true, `${name}.bias`),
  });
  const layerNorm = (name, size) => ({
    gamma: tf.variable(tf.ones([size]), true, `${name}.gamma`),
    beta: tf.variable(tf.zeros([size]), true, `${name}.beta`),
  });
  const net = {
    obsMean: tf.tensor1d(normMean),
    obsInvStd: tf.tensor1d(normStd.map((s) => 1 / s)),
    hidden1: (() => {
      const layer = linear('hidden1', stateDim + descriptorDim, hidden);
      // The descriptor's rows start at zero (network.rs's first_layer).
      layer.weight.assign(tf.concat([tf.slice(layer.weight, [0, 0], [stateDim, hidden]), tf.zeros([descriptorDim, hidden])], 0));
      return layer;
    })(),
    descriptors: tf.tensor2d(descriptors),
    norm1: layerNorm('norm1', hidden),
    hidden2: linear('hidden2', hidden, hidden),
    norm2: layerNorm('norm2', hidden),
    meanHead: linear('mean_head', hidden, actDim),
    logStd: logStdMode === 'per_task'
      ? tf.variable(tf.fill([oneHot[1] - oneHot[0], actDim], 0), true, 'task_log_std')
      : tf.variable(tf.fill([actDim], 0), true, 'log_std'),
  };
  const variables = [
    net.hidden1.weight, net.hidden1.bias, net.norm1.gamma, net.norm1.beta,
    net.hidden2.weight, net.hidden2.bias, net.norm2.gamma, net.norm2.beta,
    net.meanHead.weight, net.meanHead.bias, net.logStd,
  ];
  const dense = (l, x) => tf.add(tf.matMul(x, l.weight), l.bias);
  const norm = (l, x) => {
    const { mean, variance } = tf.moments(x, -1, true);
    return tf.add(tf.mul(tf.div(tf.sub(x, mean), tf.sqrt(tf.add(variance, 1e-5))), l.gamma), l.beta);
  };
  const forward = (obs) => {
    const normalised = tf.mul(tf.sub(obs, net.obsMean), net.obsInvStd);
    const task = tf.matMul(tf.slice(obs, [0, oneHot[0]], [-1, oneHot[1] - oneHot[0]]), net.descriptors);
    const x = tf.concat([tf.slice(normalised, [0, 0], [-1, stateDim]), task], 1);
    const h1 = tf.relu(norm(net.norm1, dense(net.hidden1, x)));
    const h2 = tf.relu(norm(net.norm2, dense(net.hidden2, h1)));
    return dense(net.meanHead, h2);
  };
  // Identity forward, zero gradient: burn's `detach`.
  const stopGradient = tf.customGrad((x) => ({ value: tf.clone(x), gradFunc: (dy) => tf.zerosLike(dy) }));
  const losses = (obs, actions) => {
    const error = tf.sub(actions, forward(obs));
    const mse = tf.mean(tf.square(error));
    const logStd = logStdMode === 'per_task'
      ? tf.matMul(tf.slice(obs, [0, oneHot[0]], [-1, oneHot[1] - oneHot[0]]), net.logStd)
      : tf.expandDims(net.logStd, 0);
    const nll = tf.mean(tf.add(tf.mul(tf.mul(tf.square(stopGradient(error)), tf.exp(tf.mul(logStd, -2))), 0.5), logStd));
    return { total: tf.add(mse, nll), mse };
  };

  const observations = tf.tensor2d(data.observations, [n, obsDim]);
  const actions = tf.tensor2d(data.actions, [n, actDim]);
  const optimizer = tf.train.adam(1e-3, 0.9, 0.999, 1e-5);

  // One step of bc.rs `fit`: host indices -> device gather, loss, read the loss, backward
  // and Adam step, read the mse.
  const step = async () => {
    const picks = new Int32Array(batchSize);
    for (let i = 0; i < batchSize; i++) picks[i] = Math.floor(random() * n);
    const index = tf.tensor1d(picks, 'int32');
    const obs = tf.gather(observations, index);
    const act = tf.gather(actions, index);
    let mse;
    const { value, grads } = tf.variableGrads(() => {
      const l = losses(obs, act);
      mse = tf.keep(l.mse);
      return l.total;
    }, variables);
    const total = (await value.data())[0];
    if (!Number.isFinite(total)) throw new Error(`training diverged: the loss is ${total}`);
    optimizer.applyGradients(grads);
    const mseValue = (await mse.data())[0];
    tf.dispose([index, obs, act, value, mse, grads]);
    return { total, mse: mseValue };
  };

  const lossTrace = [];
  for (let i = 0; i < warmup; i++) lossTrace.push((await step()).total);
  const start = performance.now();
  let last;
  for (let i = 0; i < steps; i++) last = await step();
  const seconds = (performance.now() - start) / 1000;

  // Inference: one row forward, read back, as the page's policy does per control step.
  const row = tf.tensor2d(data.observations.slice(0, obsDim), [1, obsDim]);
  const infer = async () => { const y = tf.tidy(() => forward(row)); await y.data(); y.dispose(); };
  for (let i = 0; i < 10; i++) await infer();
  const inferStart = performance.now();
  for (let i = 0; i < inferenceCalls; i++) await infer();
  const inferenceMs = (performance.now() - inferStart) / inferenceCalls;

  Object.assign(result, {
    steps,
    seconds,
    samples_per_second: steps * batchSize / seconds,
    inference_ms: inferenceMs,
    first_loss: lossTrace[0],
    final_loss: last.total,
    final_mse: last.mse,
    loss_fell: last.total < lossTrace[0],
    num_tensors_after: tf.memory().numTensors,
  });
  tf.dispose([row, observations, actions, net.obsMean, net.obsInvStd]);
  optimizer.dispose();
  tf.disposeVariables();
  return result;
}

const options = launchOptions();
options.args = [...options.args, '--enable-unsafe-webgpu'];
const browser = await chromium.launch(options);
const browserVersion = browser.version();
const results = [];
for (const backend of backends) {
  const backendSteps = backend === 'webgpu' ? webgpuSteps : steps;
  const page = await browser.newPage();
  page.on('console', (m) => { if (m.type() === 'error' || m.type() === 'warning') console.error(`[${backend}] ${m.type()}: ${m.text()}`); });
  page.on('pageerror', (e) => console.error(`[${backend}] page error: ${e.message}`));
  // A blank page and the data, served at BASE_URL's origin so /node_modules/ is same-origin.
  await page.route(pageUrl, (route) => route.fulfill({ contentType: 'text/html', body: '<!doctype html><title>tfjs peer</title>' }));
  await page.route(dataUrl, (route) => route.fulfill({ contentType: 'application/json', body: dataText }));
  let timer;
  const started = Date.now();
  try {
    await page.goto(pageUrl);
    await page.addScriptTag({ url: `${dist('tfjs')}tf.min.js` });
    if (backend === 'wasm') await page.addScriptTag({ url: `${dist('tfjs-backend-wasm')}tf-backend-wasm.min.js` });
    if (backend === 'webgpu') await page.addScriptTag({ url: `${dist('tfjs-backend-webgpu')}tf-backend-webgpu.min.js` });
    const run = page.evaluate(runBackend, {
      backend, logStdMode, steps: backendSteps, warmup: 20, batchSize: 256, inferenceCalls: 200,
      dataUrl, wasmDist: dist('tfjs-backend-wasm'),
    });
    const timeout = new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs / 1000} s`)), timeoutMs);
    });
    const result = await Promise.race([run, timeout]);
    result.wall_seconds = (Date.now() - started) / 1000;
    results.push(result);
  } catch (e) {
    results.push({ backend, error: String(e.message ?? e).split('\n')[0] });
  } finally {
    clearTimeout(timer);
    await page.close({ runBeforeUnload: false }).catch(() => {});
  }
  console.error(`[${backend}] ${JSON.stringify(results.at(-1))}`);
}
await browser.close();

const report = {
  tfjs_version: tfjsVersion,
  browser: `Chromium ${browserVersion}`,
  rows,
  batch_size: 256,
  steps,
  log_std: logStdMode === 'per_task' ? `per_task [${JSON.parse(dataText).obs_dim - JSON.parse(dataText).one_hot_start}, 4]` : 'shared [4]',
  backends: results,
};
if (webgpuSteps !== steps && backends.includes('webgpu')) {
  report.note = `webgpu timed ${webgpuSteps} steps (TFJS_WEBGPU_STEPS), the others ${steps}`;
}
const text = JSON.stringify(report, null, 2);
console.log(text);
if (out) fs.writeFileSync(out, text + '\n');
