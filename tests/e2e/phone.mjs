// End-to-end test of the page on an emulated phone (touch, Pointer Events), in headless
// Chromium. Proves: at 360, 390 and 430 px wide in portrait and 844 x 390 in landscape
// the scene is laid out large and first, nothing is wider than the screen, the scene's
// controls do not overlap, and the buttons are at least 44 px; one finger slides the
// gripper, the slider raises it, two fingers turn and zoom the camera, the grip button
// closes the gripper; and a whole demonstration of the hardest task (pick_place_high,
// lifting a cube high) is made by touch alone on a 390 x 844 screen; what it did for the
// crowd is shown, and the visitor joins the leaderboard by choice.
// The page is served by a real `amf serve` (SQLite): a first visit is asked for consent
// before anything is sent, and the demonstration made by touch is uploaded and verified.
// Usage: node tests/e2e/phone.mjs PATH_TO_AMF DIST   (screenshots: tests/e2e/artifacts/phone-*)
import { chromium } from 'playwright-core';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { launchOptions, assert, serve, sleep } from './common.mjs';

const [amf, dist] = [process.argv[2], process.argv[3] ?? 'dist'];
const artifacts = new URL('./artifacts/', import.meta.url).pathname;
fs.mkdirSync(artifacts, { recursive: true });
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'amf-phone-'));
const port = 30000 + Math.floor(Math.random() * 20000);
const base = `http://127.0.0.1:${port}/`;
const service = await serve(amf, ['--db', `sqlite://${work}/crowd.db`, '--addr', `127.0.0.1:${port}`, '--dist', dist, '--retrain-every', '0']);
const browser = await chromium.launch(launchOptions());
const problems = [];

async function phone(width, height) {
  // A phone's emulation: touch, a mobile viewport, three device pixels to a CSS pixel.
  const context = await browser.newContext({ viewport: { width, height }, isMobile: true, hasTouch: true, deviceScaleFactor: Number(process.env.PHONE_SCALE ?? 3) });
  const page = await context.newPage();
  // The service has no shared policy yet: its 404 is the answer the page expects.
  page.on('console', (m) => {
    if (m.type() === 'error' && !m.location()?.url?.endsWith('/api/policy')) problems.push(`console error (${width}x${height}): ${m.text()} (${m.location()?.url})`);
  });
  page.on('pageerror', (e) => problems.push(`page error (${width}x${height}): ${e.message}`));
  return { page, context, cdp: await context.newCDPSession(page) };
}

/** The layout's faults at this size: overflow, overlaps over the scene, small targets. */
async function layoutFaults(page) {
  return page.evaluate(() => {
    window.scrollTo(0, 0);
    const faults = [];
    const doc = document.documentElement;
    // A mobile browser widens its layout viewport to content that overflows (and zooms
    // out): measure against the screen.
    if (doc.scrollWidth > screen.width + 1) faults.push(`the page is ${doc.scrollWidth} px wide in ${screen.width}`);
    for (const el of document.querySelectorAll('body *')) {
      const r = el.getBoundingClientRect();
      if (r.width > 0 && r.right > screen.width + 1 && !el.closest('#scene')) { faults.push(`${el.id || el.className || el.tagName} ends at ${r.right.toFixed(0)} px`); break; }
    }
    const rect = (sel) => document.querySelector(sel)?.getBoundingClientRect();
    const scene = rect('#scene');
    if (!scene || scene.width < Math.min(300, window.innerWidth * 0.5) || scene.height < 200) faults.push(`the scene is ${scene?.width} x ${scene?.height}`);
    const over = ['.instruction', '#success-indicator', '.height-slider', '#grip-button'].map((sel) => [sel, rect(sel)]);
    for (let i = 0; i < over.length; i++) {
      for (let j = i + 1; j < over.length; j++) {
        const [a, ra] = over[i], [b, rb] = over[j];
        if (ra && rb && ra.left < rb.right && rb.left < ra.right && ra.top < rb.bottom && rb.top < ra.bottom) faults.push(`${a} overlaps ${b}`);
      }
      const [sel, r] = over[i];
      if (r && (r.left < scene.left - 1 || r.right > scene.right + 1 || r.top < scene.top - 1 || r.bottom > scene.bottom + 1)) faults.push(`${sel} leaves the scene`);
      // The scene's controls are on the first screen, without scrolling.
      if (r && (r.top < 0 || r.bottom > window.innerHeight + 1)) faults.push(`${sel} is off the screen (${r.top.toFixed(0)}-${r.bottom.toFixed(0)} of ${window.innerHeight})`);
    }
    for (const el of document.querySelectorAll('button, select, summary, input')) {
      const r = el.getBoundingClientRect();
      if (r.width === 0 || el.closest('details:not([open]) > :not(summary)')) continue;
      if (r.height < 43.5 && !el.classList.contains('link')) faults.push(`${el.id || el.className || el.tagName} is ${r.height.toFixed(0)} px tall`);
    }
    for (const el of document.querySelectorAll('p, li, td, th, label, summary, button')) {
      const size = parseFloat(getComputedStyle(el).fontSize);
      if (el.getBoundingClientRect().width > 0 && size < 12) faults.push(`text of ${size} px in ${el.id || el.className || el.tagName}`);
    }
    return faults;
  });
}

/** One finger (or two) through Chromium's touch input: Pointer Events as a phone sends them. */
const touch = (cdp, type, points) => cdp.send('Input.dispatchTouchEvent', { type, touchPoints: points.map(([x, y], id) => ({ x, y, id })) });

try {
  for (const [width, height] of [[360, 740], [390, 844], [430, 932], [844, 390]]) {
    const { page, context } = await phone(width, height);
    await page.goto(`${base}?task=reach&seed=3`);
    await page.waitForFunction(() => Number(document.querySelector('#scene')?.dataset.frames ?? 0) > 5, null, { timeout: 60000 });
    await page.waitForSelector('#prompt[data-task]:not([data-task=""])', { timeout: 120000 });
    // A first visit is asked before anything is sent: the consent card, with the licence.
    await page.waitForSelector('#consent[data-licence="CC-BY-4.0"]', { timeout: 30000 });
    assert(await page.getAttribute('#crowd-mode', 'data-consent') === 'false', 'contributing before consent');
    const faults = await layoutFaults(page);
    await page.screenshot({ path: `${artifacts}phone-${width}x${height}.png` });
    // Agreed, with the crowd's assignment, its reasons and the task chooser open.
    await page.locator('#consent-agree').tap();
    await page.waitForSelector('#prompt[data-source="crowd"]', { timeout: 120000 });
    await page.locator('details.choose summary').tap();
    faults.push(...await layoutFaults(page));
    await page.screenshot({ path: `${artifacts}phone-${width}x${height}-full.png`, fullPage: true });
    console.log(`${width} x ${height}: ${faults.length ? faults.join('; ') : 'nothing cut off, overlapping or too small'}`);
    assert(faults.length === 0, `layout faults at ${width} x ${height}: ${faults.join('; ')}`);
    await context.close();
  }

  // The gestures, on a 390 x 844 phone.
  const { page, cdp } = await phone(390, 844);
  const canvas = page.locator('#scene');
  const numbers = async (name) => (await canvas.getAttribute(name)).split(' ').map(Number);
  await page.goto(`${base}?task=pick_place_high&seed=4&guide`);
  await page.waitForFunction(() => Number(document.querySelector('#scene')?.dataset.frames ?? 0) > 5, null, { timeout: 60000 });
  const box = await canvas.boundingBox();
  const at = (x, y) => [box.x + x, box.y + y];
  const before = await numbers('data-tcp');
  // One finger off the gripper slides it as far as the finger moves; the page does not scroll.
  await touch(cdp, 'touchStart', [at(150, 250)]);
  for (let i = 1; i <= 10; i++) { await touch(cdp, 'touchMove', [at(150 + 6 * i, 250 - 3 * i)]); await sleep(20); }
  await touch(cdp, 'touchEnd', []);
  await sleep(800);
  const slid = await numbers('data-tcp');
  const moved = Math.hypot(slid[0] - before[0], slid[1] - before[1]);
  console.log(`one finger slid the gripper ${moved.toFixed(3)} m; the page scrolled ${await page.evaluate(() => window.scrollY)} px`);
  assert(moved > 0.03, `one finger moved the gripper ${moved.toFixed(3)} m`);
  assert(await page.evaluate(() => window.scrollY) === 0, 'a finger on the scene scrolled the page');
  // The slider raises it.
  const slider = await page.locator('.height-slider').boundingBox();
  const sx = slider.x + slider.width / 2, sy = slider.y + slider.height / 2;
  await touch(cdp, 'touchStart', [[sx, sy]]);
  for (let i = 1; i <= 10; i++) { await touch(cdp, 'touchMove', [[sx, sy - 4 * i]]); await sleep(20); }
  await touch(cdp, 'touchEnd', []);
  await sleep(800);
  const raised = await numbers('data-tcp');
  console.log(`the slider raised the gripper ${(raised[2] - slid[2]).toFixed(3)} m`);
  assert(raised[2] - slid[2] > 0.03, 'the slider did not raise the gripper');
  // Two fingers spread apart and move: the camera zooms and turns (the gripper stays put,
  // and appears elsewhere on the screen).
  const shownAt = await numbers('data-tcp-px');
  await touch(cdp, 'touchStart', [at(150, 300), at(250, 300)]);
  for (let i = 1; i <= 10; i++) { await touch(cdp, 'touchMove', [at(150 - 4 * i + 3 * i, 300), at(250 + 4 * i + 3 * i, 300)]); await sleep(20); }
  await touch(cdp, 'touchEnd', []);
  await sleep(500);
  const turned = await numbers('data-tcp');
  const shownNow = await numbers('data-tcp-px');
  console.log(`two fingers moved the gripper's image ${Math.hypot(shownNow[0] - shownAt[0], shownNow[1] - shownAt[1]).toFixed(0)} px and the gripper ${Math.hypot(turned[0] - raised[0], turned[1] - raised[1]).toFixed(3)} m`);
  assert(Math.hypot(shownNow[0] - shownAt[0], shownNow[1] - shownAt[1]) > 10, 'two fingers did not move the camera');
  assert(Math.hypot(turned[0] - raised[0], turned[1] - raised[1]) < 0.01, 'two fingers moved the gripper');
  await page.screenshot({ path: `${artifacts}phone-gestures.png` });

  // The visitor agrees: they are registered, and the crowd assigns them a task. The
  // scene then runs at a tenth of real time: each touch event goes through the
  // debugging protocol and waits for software compositing of a three-times-denser
  // screen, and a loaded machine draws few frames; the follower acts once a frame.
  await page.goto(`${base}?task=pick_place_high&seed=4&speed=0.1&guide`);
  await page.waitForFunction(() => Number(document.querySelector('#scene')?.dataset.frames ?? 0) > 5, null, { timeout: 60000 });
  await page.locator('#consent-agree').tap();
  await page.waitForSelector('#crowd-mode[data-consent="true"]', { timeout: 30000 });
  await page.waitForSelector('#prompt[data-source="crowd"]', { timeout: 120000 });

  /** Follows a target by touch until `going` is false or time runs out: one finger
   * slides the gripper towards the target on the screen (lifted and put down again near
   * the middle when it nears an edge, as a thumb does), the slider sets the height, the
   * grip button closes and opens the gripper. `target` names the canvas's attributes
   * that give the target (x y z [grip]) and its pixel. Returns the touch updates. */
  async function followByTouch(target, going, limitMs) {
    // Boxes are read where the page is scrolled to: at the top, as a thumb sees the scene.
    await page.evaluate(() => window.scrollTo(0, 0));
    const grip = await page.locator('#grip-button').boundingBox();
    const slider = await page.locator('.height-slider').boundingBox();
    const [sx, sy] = [slider.x + slider.width / 2, slider.y + slider.height / 2];
    const read = () => page.evaluate(([name, going]) => {
      const d = document.querySelector('#scene').dataset;
      const goal = d[name].split(' ');
      return { going: d[going] === 'true' || (going === 'unsuccessful' && d.success !== 'true'), goal, px: d[`${name}Px`].split(' ').map(Number),
        at: d.desiredPx.split(' ').map(Number), z: Number(d.desiredZ), gripping: d.gripping === 'true', frames: Number(d.frames) };
    }, [target, going]);
    // The canvas's attributes are published once a frame: the next reading waits for a
    // frame drawn after the last touch was handled, so that a quick loop never acts
    // twice on one stale reading (a second tap of the grip button would open it again).
    const settle = () => page.evaluate(() => {
      const scene = document.querySelector('#scene');
      const handled = Number(scene.dataset.frames);
      return new Promise((done) => {
        const wait = () => (Number(scene.dataset.frames) > handled ? done() : requestAnimationFrame(wait));
        requestAnimationFrame(wait);
      });
    });
    const home = [box.width * 0.45, box.height * 0.55];
    let finger = null;
    let s = await read();
    let updates = 0;
    const started = Date.now();
    while (s.going && Date.now() - started < limitMs) {
      if (s.goal[3] !== undefined && (s.goal[3] === 'true') !== s.gripping) {
        if (finger) { await touch(cdp, 'touchEnd', []); finger = null; }
        await page.touchscreen.tap(grip.x + grip.width / 2, grip.y + grip.height / 2);
      }
      const dz = Number(s.goal[2]) - s.z;
      if (Math.abs(dz) > 0.006) {
        if (finger) { await touch(cdp, 'touchEnd', []); finger = null; }
        const px = Math.max(-40, Math.min(40, dz / 0.002));
        await touch(cdp, 'touchStart', [[sx, sy]]);
        await touch(cdp, 'touchMove', [[sx, sy - px]]);
        await touch(cdp, 'touchEnd', []);
      } else {
        const [dx, dy] = [s.px[0] - s.at[0], s.px[1] - s.at[1]];
        if (!finger) { finger = [...home]; await touch(cdp, 'touchStart', [at(...finger)]); }
        const step = Math.min(1, 25 / Math.max(1e-6, Math.hypot(dx, dy)));
        finger = [finger[0] + dx * step, finger[1] + dy * step];
        await touch(cdp, 'touchMove', [at(...finger)]);
        if (finger[0] < 30 || finger[0] > box.width - 80 || finger[1] < 60 || finger[1] > box.height - 30) {
          await touch(cdp, 'touchEnd', []);
          finger = null;
        }
      }
      await settle();
      s = await read();
      updates++;
    }
    if (finger) await touch(cdp, 'touchEnd', []);
    return updates;
  }

  // A first visit practises: the expert's ghost leads the way to the ball, and
  // following it succeeds; nothing is recorded.
  await page.locator('#practise').tap();
  await page.waitForFunction(() => document.querySelector('#scene').dataset.ghost !== '', null, { timeout: 30000 });
  await page.evaluate(() => window.scrollTo(0, 0));
  const practised = Date.now();
  await followByTouch('ghost', 'unsuccessful', 150000);
  const where = async () => `after ${await canvas.getAttribute('data-steps')} steps, the gripper at ${await canvas.getAttribute('data-tcp')}, the ghost at ${await canvas.getAttribute('data-ghost')} (${await canvas.getAttribute('data-ghost-px')} px), the finger's aim at ${await canvas.getAttribute('data-desired-px')} px`;
  assert((await canvas.getAttribute('data-success')) === 'true', `following the ghost did not reach the ball: ${await where()}`);
  await page.screenshot({ path: `${artifacts}phone-practice.png` });
  assert(Number(await page.getAttribute('#dataset', 'data-count') ?? 0) === 0, 'the practice was recorded');
  console.log(`practice: following the ghost reached the ball after ${await canvas.getAttribute('data-steps')} steps (${((Date.now() - practised) / 1000).toFixed(1)} s); nothing recorded`);
  await page.locator('#end-practice').tap();

  // A whole demonstration of pick_place_high by touch, following the expert's path.
  await page.locator('details.choose summary').click();
  await page.selectOption('#choose-task', 'pick_place_high');
  await page.click('#choose');
  await page.waitForFunction(() => document.querySelector('#scene').dataset.recording === 'true', null, { timeout: 30000 });
  await page.evaluate(() => window.scrollTo(0, 0));
  const started = Date.now();
  const updates = await followByTouch('guide', 'recording', 330000);
  const succeeded = (await canvas.getAttribute('data-success')) === 'true';
  await page.screenshot({ path: `${artifacts}phone-demonstrated.png` });
  const steps = Number(await canvas.getAttribute('data-steps'));
  console.log(`pick_place_high demonstrated by touch: ${succeeded ? 'success' : 'failed'} after ${steps} control steps (${(steps / 20).toFixed(1)} s of the person's 30), ${((Date.now() - started) / 1000).toFixed(1)} s of wall time at a tenth of the speed, ${updates} touch updates`);
  assert(succeeded, `the demonstration by touch did not succeed: ${await where()}; the guide at ${await canvas.getAttribute('data-guide')}, gripping ${await canvas.getAttribute('data-gripping')}`);
  // Saved here, then uploaded: the service replays it and stores it.
  await page.waitForSelector('#dataset tr[data-index][data-sync="verified"]', { state: 'attached', timeout: 60000 });
  const held = await (await fetch(`${base}api/health`)).json();
  assert(held.demonstrations === 1, `the service holds ${held.demonstrations} demonstrations`);
  console.log('the demonstration made by touch was uploaded and verified by the service');
  // What it did for the crowd, and the visitor's own count.
  await page.waitForSelector('#feedback[data-mine="1"] #feedback-crowd[data-task-count="1"]', { state: 'attached', timeout: 30000 });
  // How it went, as the service measured it on its replay: a score and a kind word.
  const score = Number(await page.getAttribute('#feedback-quality', 'data-score'));
  assert(score > 0 && score <= 1, `the feedback's quality score is ${score}`);
  assert(/ s; the robot's script takes \d+ s\.$/.test(await page.textContent('#feedback-quality')), 'the feedback says how long it took');
  console.log(`feedback: ${(await page.textContent('#feedback')).replace(/\s+/g, ' ').trim()}`);
  await page.locator('#feedback').screenshot({ path: `${artifacts}phone-feedback.png` });
  // The leaderboard lists nobody until the visitor chooses it, by the name they chose.
  await page.locator('#crowd > summary').tap();
  await page.waitForSelector('#leaderboard[data-count="0"]', { state: 'attached', timeout: 30000 });
  await page.locator('#contributor > summary').tap();
  await page.waitForSelector('#contributed-count[data-count="1"]', { timeout: 30000 });
  await page.fill('#display-name-input', 'Thumbs');
  await page.locator('#rename-form button[type=submit]').tap();
  await page.waitForSelector('#join-leaderboard:not([disabled])', { timeout: 30000 });
  await page.locator('#join-leaderboard').tap();
  await page.waitForSelector('#leaderboard tr[data-name="Thumbs"][data-count="1"]', { state: 'attached', timeout: 30000 });
  console.log('the visitor joined the leaderboard by name, with their one demonstration');
  assert(problems.length === 0, `the pages reported problems:\n${problems.join('\n')}`);
  console.log('phone end-to-end test: ok');
} catch (error) {
  console.error(error.message ?? error);
  if (problems.length) console.error(problems.join('\n'));
  process.exitCode = 1;
} finally {
  await browser.close();
  service.kill('SIGKILL');
  fs.rmSync(work, { recursive: true, force: true });
}
