// Simulation benchmark in headless Chromium, with the official JavaScript build of rapier
// (@dimforge/rapier3d-compat) stepping the same scenes in the same browser run, and the
// native runner's figures taken in the same run for the ratios.
// The page's frame rates are taken on the page as shipped (SHIPPED_URL): the
// benchmark build's page module runs the training and selection benchmarks, so it is
// built at the workers' optimisation level, not the shipped page's.
// Usage: node tests/e2e/bench.mjs BASE_URL NATIVE_AMF_BINARY [OUT_JSON] [SHIPPED_URL]
import { chromium } from 'playwright-core';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import { launchOptions } from './common.mjs';

const [base = 'http://127.0.0.1:8090/', amf = 'target/release/amf', out, shipped = base] = process.argv.slice(2);

const native = JSON.parse(execFileSync(amf, ['bench', 'sim', '--episodes', '3', '--json']));
const nativeTraining = JSON.parse(execFileSync(amf, ['bench', 'train']));
const nativeTrainingBefore = JSON.parse(execFileSync(amf, ['bench', 'train', '--steps', '1000']));
const nativeSelection = JSON.parse(execFileSync(amf, ['bench', 'select']));
const nativeNdarray = JSON.parse(execFileSync(amf, ['bench', 'train', '--backend', 'ndarray']));

const browser = await chromium.launch(launchOptions());
const page = await browser.newPage();
await page.goto(`${base}?bench`);
await page.waitForSelector('#bench-results', { timeout: 600000 });
const ours = JSON.parse(await page.textContent('#bench-results'));

// The page's animation frame rate: idle with the scene shown, then while the live
// comparison trains and evaluates in its two workers (both cores busy besides the page).
// Counted with requestAnimationFrame in the page, in windows of 2 s.
const frameRates = async (windows) => page.evaluate(async (windows) => {
  const rates = [];
  for (let w = 0; w < windows; w++) {
    let frames = 0;
    const start = performance.now();
    await new Promise((done) => {
      const tick = (now) => { frames += 1; if (now - start < 2000) requestAnimationFrame(tick); else done(); };
      requestAnimationFrame(tick);
    });
    rates.push(frames / ((performance.now() - start) / 1000));
  }
  return rates;
}, windows);
await page.goto(shipped);
await page.waitForSelector('#prompt[data-task]:not([data-task=""])', { timeout: 120000 });
const idleFps = await frameRates(2);
await page.click('#comparison summary');
await page.click('#start-comparison');
await page.waitForSelector('.compared', { timeout: 60000 });
const trainingFps = await frameRates(5);
const fps = {
  idle: idleFps,
  while_training: trainingFps,
  idle_mean: idleFps.reduce((a, b) => a + b, 0) / idleFps.length,
  while_training_mean: trainingFps.reduce((a, b) => a + b, 0) / trainingFps.length,
  while_training_min: Math.min(...trainingFps),
};

// The peer: build each scene from its description and replay the palm path and finger
// targets, timing only the steps, as our replay does.
const runPeer = (module) => page.evaluate(async ([module, scripts]) => {
  const RAPIER = (await import(`/node_modules/${module}/dist/rapier.mjs`)).default;
  await RAPIER.init();
  const v = (a) => ({ x: a[0], y: a[1], z: a[2] });
  const q = (a) => ({ x: a[0], y: a[1], z: a[2], w: a[3] });
  const groups = (c) => ((c.memberships & 0xffff) << 16) | (c.filter & 0xffff);
  // Builds the script's world; returns it with a function that replays the episode.
  const build = (script) => {
    const s = script.scene;
    const world = new RAPIER.World(v(s.gravity));
    world.timestep = s.dt;
    world.lengthUnit = s.length_unit;
    world.numSolverIterations = s.solver_iterations;
    const bodies = s.bodies.map((b) => {
      const desc = b.kind === 'fixed' ? RAPIER.RigidBodyDesc.fixed()
        : b.kind === 'dynamic' ? RAPIER.RigidBodyDesc.dynamic()
        : RAPIER.RigidBodyDesc.kinematicPositionBased();
      desc.setTranslation(...b.translation).setRotation(q(b.rotation))
        .setLinearDamping(b.linear_damping).setAngularDamping(b.angular_damping)
        .setGravityScale(b.gravity_scale).setCanSleep(false);
      const body = world.createRigidBody(desc);
      for (const c of b.colliders) {
        const cd = c.shape === 'cuboid' ? RAPIER.ColliderDesc.cuboid(...c.half_extents)
          : c.shape === 'cylinder' ? RAPIER.ColliderDesc.cylinder(c.half_height, c.radius)
          : RAPIER.ColliderDesc.ball(c.radius);
        cd.setTranslation(...c.translation).setRotation(q(c.rotation))
          .setDensity(c.density).setFriction(c.friction).setCollisionGroups(groups(c));
        world.createCollider(cd, body);
      }
      return body;
    });
    const joints = s.joints.map((j) => {
      const data = j.kind === 'prismatic'
        ? RAPIER.JointData.prismatic(v(j.anchor1), v(j.anchor2), v(j.axis))
        : RAPIER.JointData.revolute(v(j.anchor1), v(j.anchor2), v(j.axis));
      const joint = world.createImpulseJoint(data, bodies[j.body1], bodies[j.body2], true);
      if (j.limits) joint.setLimits(j.limits[0], j.limits[1]);
      if (j.motor) joint.configureMotorPosition(j.motor.target, j.motor.stiffness, j.motor.damping);
      joint.setContactsEnabled(j.contacts_enabled);
      return joint;
    });
    const palm = bodies[script.palm_body];
    const fingers = script.finger_joints.map((i) => ({ joint: joints[i], motor: s.joints[i].motor }));
    const replay = () => {
      for (let k = 0; k < script.finger_targets.length; k++) {
        for (const f of fingers) f.joint.configureMotorPosition(script.finger_targets[k], f.motor.stiffness, f.motor.damping);
        for (let i = 0; i < script.substeps; i++) {
          palm.setNextKinematicTranslation(v(script.palm_path[k * script.substeps + i]));
          world.step();
        }
      }
    };
    return { world, bodies, replay };
  };
  // Warm-up, then time each script's replays (world building excluded) for >= 0.2 s.
  for (const script of scripts) { const w = build(script); w.replay(); w.world.free(); }
  const results = [];
  for (const script of scripts) {
    let seconds = 0, count = 0, last;
    while (seconds < 0.2) {
      const w = build(script);
      const start = performance.now();
      w.replay();
      seconds += (performance.now() - start) / 1000;
      count += 1;
      const t = w.bodies[w.bodies.length - 1].translation();
      last = [t.x, t.y, t.z];
      w.world.free();
    }
    results.push({ task: script.task, seconds: seconds / count, physics_steps: script.palm_path.length, last_body: last });
  }
  return { version: RAPIER.version(), results };
}, [module, ours.scripts]);
// The plain build (SIMD-free scalar code, not cross-platform deterministic) and the
// deterministic build, which is the like-for-like peer: ours runs with
// enhanced-determinism.
const peer = await runPeer('@dimforge/rapier3d-compat');
const deterministicPeer = await runPeer('@dimforge/rapier3d-deterministic-compat');
await browser.close();

const rows = ours.sim.tasks.map((t, i) => {
  const n = native.tasks[i];
  const p = peer.results[i];
  const d = deterministicPeer.results[i];
  const physicsSteps = ours.scripts[i].palm_path.length;
  return {
    task: t.name,
    native_control_steps_per_second: n.control_steps_per_second,
    wasm_control_steps_per_second: t.control_steps_per_second,
    native_over_wasm: n.control_steps_per_second / t.control_steps_per_second,
    wasm_replay_physics_steps_per_second: physicsSteps / ours.replay_seconds[i],
    rapier_js_physics_steps_per_second: p.physics_steps / p.seconds,
    wasm_over_rapier_js: (physicsSteps / ours.replay_seconds[i]) / (p.physics_steps / p.seconds),
    rapier_js_deterministic_physics_steps_per_second: d.physics_steps / d.seconds,
    wasm_over_rapier_js_deterministic: (physicsSteps / ours.replay_seconds[i]) / (d.physics_steps / d.seconds),
  };
});
const geo = (xs) => Math.exp(xs.reduce((a, x) => a + Math.log(x), 0) / xs.length);
const report = {
  rapier_js_version: peer.version,
  native_mean_control_steps_per_second: native.mean_control_steps_per_second,
  wasm_mean_control_steps_per_second: ours.sim.mean_control_steps_per_second,
  geomean_native_over_wasm: geo(rows.map((r) => r.native_over_wasm)),
  geomean_wasm_over_rapier_js: geo(rows.map((r) => r.wasm_over_rapier_js)),
  geomean_wasm_over_rapier_js_deterministic: geo(rows.map((r) => r.wasm_over_rapier_js_deterministic)),
  tasks: rows,
  training: {
    native: nativeTraining,
    wasm_cpu: ours.training,
    native_over_wasm_samples_per_second: ours.training ? nativeTraining.samples_per_second / ours.training.samples_per_second : null,
    native_before: nativeTrainingBefore,
    wasm_cpu_before: ours.training_before,
    wasm_after_over_before_seconds: ours.training ? ours.training.seconds / ours.training_before.seconds : null,
  },
  frames_per_second: fps,
  selection: { native: nativeSelection, wasm: ours.selection },
  webgpu_training: ours.webgpu,
  ndarray_training: { native: nativeNdarray, wasm: ours.ndarray_training },
};
console.log('task            native/s   wasm/s  native:wasm  wasm phys/s  rapier.js phys/s  wasm:js  det.js phys/s  wasm:det.js');
for (const r of rows) {
  console.log(`${r.task.padEnd(14)} ${r.native_control_steps_per_second.toFixed(0).padStart(8)} ${r.wasm_control_steps_per_second.toFixed(0).padStart(8)} ${r.native_over_wasm.toFixed(2).padStart(11)} ${r.wasm_replay_physics_steps_per_second.toFixed(0).padStart(12)} ${r.rapier_js_physics_steps_per_second.toFixed(0).padStart(17)} ${r.wasm_over_rapier_js.toFixed(2).padStart(8)} ${r.rapier_js_deterministic_physics_steps_per_second.toFixed(0).padStart(14)} ${r.wasm_over_rapier_js_deterministic.toFixed(2).padStart(12)}`);
}
console.log(`geometric means: native/wasm ${report.geomean_native_over_wasm.toFixed(2)}, wasm/rapier.js ${report.geomean_wasm_over_rapier_js.toFixed(2)}, wasm/deterministic rapier.js ${report.geomean_wasm_over_rapier_js_deterministic.toFixed(2)} (rapier.js ${peer.version})`);
if (ours.training) {
  const t = ours.training;
  console.log(`fine-tuning round (${t.demos} demos, ${t.rows} rows, ${t.steps} steps of ${t.batch_size}): native ${nativeTraining.seconds.toFixed(2)} s (${nativeTraining.samples_per_second.toFixed(0)} samples/s), wasm CPU ${t.seconds.toFixed(2)} s (${t.samples_per_second.toFixed(0)} samples/s), ratio ${report.training.native_over_wasm_samples_per_second.toFixed(2)}; inference ${nativeTraining.inference_ms.toFixed(3)} ms native, ${t.inference_ms.toFixed(3)} ms wasm`);
}
if (ours.training_before) {
  const b = ours.training_before;
  console.log(`the same round before (${b.steps} steps): native ${nativeTrainingBefore.seconds.toFixed(2)} s, wasm CPU ${b.seconds.toFixed(2)} s; after/before in the browser ${report.training.wasm_after_over_before_seconds.toFixed(2)}`);
}
console.log(`animation frames per second: idle ${fps.idle_mean.toFixed(1)}, while the comparison trains ${fps.while_training_mean.toFixed(1)} (slowest 2 s window ${fps.while_training_min.toFixed(1)})`);
if (ours.ndarray_training) {
  const n = ours.ndarray_training;
  console.log(`ndarray backend: native ${nativeNdarray.samples_per_second.toFixed(0)} samples/s (flex ${nativeTraining.samples_per_second.toFixed(0)}), wasm ${n.samples_per_second.toFixed(0)} samples/s (flex ${ours.training.samples_per_second.toFixed(0)}); inference ${n.inference_ms.toFixed(3)} ms wasm`);
}
if (ours.webgpu) {
  const g = ours.webgpu;
  console.log(g.samples_per_second ? `fine-tuning on WebGPU (${g.adapter}): ${g.samples_per_second.toFixed(0)} samples/s` : `no WebGPU fine-tuning: ${g.error}`);
}
if (ours.selection) {
  const s = ours.selection;
  console.log(`AMF selection of ${s.batch} (default sizes): first round native ${nativeSelection.first_round_seconds.toFixed(3)} s, wasm ${s.first_round_seconds.toFixed(3)} s; with ${s.demos} demonstrations (${s.data_points} data, ${s.query_points} query points) native ${nativeSelection.later_round_seconds.toFixed(3)} s, wasm ${s.later_round_seconds.toFixed(3)} s`);
}
if (out) fs.writeFileSync(out, JSON.stringify(report, null, 2) + '\n');
