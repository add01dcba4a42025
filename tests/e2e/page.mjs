// End-to-end test of the page in headless Chromium, with real mouse events.
// Proves: the page loads without console errors; the 3D scene is drawn (not blank); a
// mouse drag moves the gripper; the scripted expert plays a task to success.
// Usage: node tests/e2e/page.mjs BASE_URL   (screenshots go to tests/e2e/artifacts/)
import { chromium } from 'playwright-core';
import fs from 'node:fs';
import { launchOptions, assert, sleep } from './common.mjs';

const base = process.argv[2] ?? 'http://127.0.0.1:8090/';
const artifacts = new URL('./artifacts/', import.meta.url).pathname;
fs.mkdirSync(artifacts, { recursive: true });

const browser = await chromium.launch(launchOptions());
const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
const problems = [];
page.on('console', (m) => { if (m.type() === 'error') problems.push(`console error: ${m.text()}`); });
page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));

const canvas = page.locator('#scene');
const attr = async (name) => canvas.getAttribute(name);
const tcp = async () => (await attr('data-tcp')).split(' ').map(Number);

try {
  await page.goto(`${base}?task=reach&seed=3`);
  await page.waitForFunction(() => Number(document.querySelector('#scene')?.dataset.frames ?? 0) > 10, null, { timeout: 60000 });

  // 1. The scene is drawn: the canvas shows many distinct colours, not a blank clear colour.
  const shot = await canvas.screenshot({ path: `${artifacts}01-loaded.png` });
  const colours = await page.evaluate(async (b64) => {
    const img = new Image();
    img.src = `data:image/png;base64,${b64}`;
    await img.decode();
    const c = document.createElement('canvas');
    c.width = img.width; c.height = img.height;
    const ctx = c.getContext('2d');
    ctx.drawImage(img, 0, 0);
    const data = ctx.getImageData(0, 0, c.width, c.height).data;
    const seen = new Set();
    for (let i = 0; i < data.length; i += 4 * 7) seen.add((data[i] >> 3) << 10 | (data[i + 1] >> 3) << 5 | (data[i + 2] >> 3));
    return seen.size;
  }, shot.toString('base64'));
  console.log(`scene screenshot: ${colours} distinct colours`);
  assert(colours > 50, `the scene looks blank (${colours} distinct colours)`);

  // 2. Drag the gripper with the mouse: press on it, move 150 px right and 60 px up.
  const before = await tcp();
  const [gx, gy] = (await attr('data-tcp-px')).split(' ').map(Number);
  const box = await canvas.boundingBox();
  await page.mouse.move(box.x + gx, box.y + gy);
  await page.mouse.down();
  for (let i = 1; i <= 15; i++) {
    await page.mouse.move(box.x + gx + 10 * i, box.y + gy - 4 * i);
    await sleep(30);
  }
  await page.mouse.up();
  await page.mouse.wheel(0, -200); // raise it by two notches
  await sleep(1500);
  const after = await tcp();
  const moved = Math.hypot(after[0] - before[0], after[1] - before[1]);
  console.log(`gripper moved ${moved.toFixed(3)} m in the plane, ${(after[2] - before[2]).toFixed(3)} m up`);
  assert(moved > 0.05, `the drag moved the gripper only ${moved.toFixed(3)} m`);
  assert(after[2] - before[2] > 0.02, 'the wheel did not raise the gripper');
  await canvas.screenshot({ path: `${artifacts}02-dragged.png` });

  // 3. Pick a task and watch the expert succeed.
  await page.selectOption('#task-picker', 'drawer_open');
  await page.click('#watch-expert');
  await page.waitForFunction(() => document.querySelector('#scene').dataset.success === 'true', null, { timeout: 30000 });
  await page.waitForSelector('#success-indicator.shown', { timeout: 5000 });
  console.log(`expert succeeded on drawer_open after ${await attr('data-steps')} steps`);

  // Frame rate while simulating in real time (reported, never asserted: machines vary).
  const sample = async () => [Number(await attr('data-frames')), Number(await attr('data-steps')), Date.now()];
  const [f0, s0, t0] = await sample();
  await sleep(3000);
  const [f1, s1, t1] = await sample();
  const seconds = (t1 - t0) / 1000;
  console.log(`rendering ${((f1 - f0) / seconds).toFixed(1)} frames/s while simulating ${((s1 - s0) / seconds).toFixed(1)} control steps/s (real time is 20)`);
  await page.screenshot({ path: `${artifacts}03-expert-success.png` });

  // 4. The pre-trained policy: its success table fills in, and it can drive the arm.
  const started = Date.now();
  await page.waitForSelector('#policy-success', { timeout: 180000 });
  const rows = await page.$$eval('#policy-success tr[data-task]', (trs) => trs.map((tr) => [tr.dataset.task, Number(tr.dataset.success)]));
  console.log(`policy evaluated in the page in ${((Date.now() - started) / 1000).toFixed(1)} s: ${rows.map(([t, s]) => `${t} ${Math.round(100 * s)}%`).join(', ')}`);
  assert(rows.length === 16, `the success table has ${rows.length} rows`);
  assert(rows.find(([t]) => t === 'reach')[1] > 0.5, 'the pre-trained policy fails at reaching');
  await page.selectOption('#task-picker', 'reach');
  await page.click('#watch-policy');
  await page.waitForFunction(() => document.querySelector('#scene').dataset.success === 'true', null, { timeout: 30000 });
  console.log(`the pre-trained policy reached the goal in ${await attr('data-steps')} steps`);
  await page.screenshot({ path: `${artifacts}04-policy.png` });

  assert(problems.length === 0, `the page reported problems:\n${problems.join('\n')}`);

  // 5. A missing policy file is reported in the page, and the scene still works.
  const broken = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  await broken.route('**/policy.amfp', (route) => route.fulfill({ status: 404, body: 'gone' }));
  await broken.goto(`${base}?task=reach&seed=3`);
  const message = await broken.textContent('.error-inline', { timeout: 60000 });
  assert(/could not be loaded: .*HTTP 404/.test(message), `unclear message for a missing policy: ${message}`);
  await broken.waitForFunction(() => Number(document.querySelector('#scene')?.dataset.frames ?? 0) > 5, null, { timeout: 30000 });
  console.log(`missing policy file reported: "${message}"`);
  await broken.close();
  console.log('page end-to-end test: ok');
} catch (error) {
  await page.screenshot({ path: `${artifacts}failure.png` }).catch(() => {});
  console.error(error.message ?? error);
  if (problems.length) console.error(problems.join('\n'));
  process.exitCode = 1;
} finally {
  await browser.close();
}
