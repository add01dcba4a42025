// End-to-end test of crowdsourced collection, against a real `amf serve` (SQLite) that
// serves the built page. Proves: two visitors (two browser contexts) contribute at
// once; the service is stopped while they go on demonstrating (their demonstrations
// queue up), started again, and one visitor reloads mid-sync: every demonstration
// arrives exactly once (the operator's export holds each, once), and each row of both
// datasets ends "verified". The crowd's dashboard, left open, gains a point on its
// curve when the shared policy publishes a version. Each visitor is prompted with the crowd's assignment (the
// two first ones differ: the second is conditioned on the first, in flight), and the
// crowd's dashboard counts what arrived. Then a visitor names themself (escaped), lists and withdraws
// one of their demonstrations, and the operator downloads the crowd's dataset from the page,
// reviews its quality and withdraws the worst.
// Usage: node tests/e2e/crowd.mjs PATH_TO_AMF DIST   (screenshots: tests/e2e/artifacts/crowd-*)
import { chromium } from 'playwright-core';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { launchOptions, assert, serve } from './common.mjs';

const [amf, dist] = [process.argv[2], process.argv[3] ?? 'dist'];
const artifacts = new URL('./artifacts/', import.meta.url).pathname;
fs.mkdirSync(artifacts, { recursive: true });
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'amf-crowd-'));
const token = `crowd-e2e-operator-${process.pid}-token`;
const port = 30000 + Math.floor(Math.random() * 20000);
const base = `http://127.0.0.1:${port}/`;

let service = null;
async function startService() {
  // A small shared-policy job, so that a version is trained within the test.
  service = await serve(amf, ['--db', `sqlite://${work}/crowd.db`, '--addr', `127.0.0.1:${port}`, '--dist', dist,
    '--retrain-every', '4', '--train-steps', '100', '--eval-episodes', '2'], { ...process.env, AMF_OPERATOR_TOKEN: token });
}
async function stopService() {
  const exited = new Promise((resolve) => service.on('exit', resolve));
  service.kill('SIGTERM');
  await exited;
}

const rows = (page) => page.$$eval('#dataset tr[data-index]', (trs) => trs.map((tr) => tr.dataset.sync));
const count = async (page) => Number(await page.getAttribute('#dataset', 'data-count'));
async function waitCount(page, n, timeout = 180000) {
  await page.waitForFunction((n) => Number(document.querySelector('#dataset')?.dataset.count ?? 0) >= n, n, { timeout });
}
async function autopilot(page, on) {
  // The switch lives in the prompt and in the demonstration card.
  await page.waitForSelector('#autopilot');
  if ((await page.isChecked('#autopilot')) !== on) await page.click('#autopilot');
}

const browser = await chromium.launch(launchOptions());
const problems = [];
const firstAsked = [];
try {
  await startService();
  const visitors = [];
  for (const name of ['A', 'B']) {
    const context = await browser.newContext({ viewport: { width: 1300, height: 850 } });
    const page = await context.newPage();
    page.on('pageerror', (e) => problems.push(`page error (${name}): ${e.message}`));
    await page.goto(`${base}?speed=1`);
    await page.waitForSelector('#crowd-mode[data-mode="service"]', { timeout: 60000 });
    // Nothing is sent before the visitor agrees to the crowd's licence.
    await page.click('#consent-agree');
    // The prompt is the crowd's assignment, leased by the service.
    await page.waitForSelector('#prompt[data-source="crowd"][data-task]:not([data-task=""])', { timeout: 120000 });
    firstAsked.push(await page.getAttribute('#prompt', 'data-task'));
    // No rounds in this test: the batch is the budget.
    await page.click('#settings summary');
    await page.fill('#setting-batch', '20');
    // The autopilot's runs are not a visitor's contributions unless they ask to send
    // them (marked as scripted): this test's visitors do.
    await page.check('#setting-share-autopilot');
    await page.click('#apply-settings');
    await page.click('#settings summary');
    visitors.push({ name, page, context });
  }
  const [a, b] = visitors.map((v) => v.page);
  // B keeps the crowd's dashboard open from the start: it reads the crowd again by
  // itself, and its curve starts at the pre-trained policy.
  await b.click('#crowd summary');
  await b.waitForSelector('#crowd-curve', { timeout: 30000 });
  const pointsBefore = Number(await b.getAttribute('#crowd-curve', 'data-points'));
  // B was asked while A's assignment was on its way: the crowd's AMF sent B elsewhere.
  assert(firstAsked[0] !== firstAsked[1], `both visitors were first asked for ${firstAsked[0]}`);
  console.log(`first assignments: A ${firstAsked[0]}, B ${firstAsked[1]}`);
  // Both contribute at once (the scripted expert demonstrates what AMF asks).
  await Promise.all([autopilot(a, true), autopilot(b, true)]);
  await Promise.all([waitCount(a, 2), waitCount(b, 2)]);
  console.log(`both contributing: A ${await count(a)}, B ${await count(b)} demonstrations`);

  // The service goes down while they go on: their demonstrations queue up.
  await stopService();
  console.log('service stopped');
  await Promise.all([waitCount(a, 3), waitCount(b, 4)]);
  await autopilot(a, false);
  await a.waitForFunction(() => !document.querySelector('#demonstrating, #saving'), null, { timeout: 60000 });
  const queuedDuringOutage = Number(await a.getAttribute('#crowd-mode', 'data-queued'));
  assert(queuedDuringOutage > 0, 'nothing was queued while the service was down');
  await a.screenshot({ path: `${artifacts}crowd-01-outage.png` });

  // It comes back; A reloads at once, mid-sync: its outbox survives in IndexedDB.
  await startService();
  console.log(`service restarted with ${queuedDuringOutage} of A's demonstrations queued; A reloads`);
  await a.reload();
  await a.waitForSelector('#crowd-mode[data-mode="service"]', { timeout: 60000 });
  await autopilot(b, false);
  const total = [];
  for (const { name, page } of visitors) {
    // Demonstrations finish after the autopilot is switched off: wait for the last.
    await page.waitForFunction(() => !document.querySelector('#demonstrating, #saving'), null, { timeout: 60000 });
    await page.waitForFunction(() => {
      const trs = [...document.querySelectorAll('#dataset tr[data-index]')];
      return trs.length > 0 && trs.every((tr) => tr.dataset.sync === 'verified');
    }, null, { timeout: 180000 });
    const states = await rows(page);
    console.log(`${name}: ${states.length} demonstrations, all verified`);
    total.push(states.length);
  }
  await b.screenshot({ path: `${artifacts}crowd-02-synced.png` });

  // Every demonstration arrived, exactly once.
  const response = await fetch(`${base}api/operator/export`, { headers: { authorization: `Bearer ${token}` } });
  assert(response.ok, `the export was refused: ${response.status}`);
  const file = await response.json();
  const keys = file.demonstrations.map((d) => `${d.task}/${d.seed}/${d.actions.length}`);
  const expected = total[0] + total[1];
  assert(keys.length === expected, `the service holds ${keys.length} demonstrations, the pages ${expected}`);
  assert(new Set(keys).size === keys.length, 'a demonstration was stored twice');
  console.log(`the service holds each of the ${expected} demonstrations exactly once (snapshot ${response.headers.get('x-snapshot-demonstrations')})`);

  // The crowd's dashboard counts every demonstration, and assignments fulfilled (read
  // again by the open dashboard, no click).
  await b.waitForFunction((n) => Number(document.querySelector('#crowd-summary')?.dataset.demonstrations) === n, expected, { timeout: 30000 });
  const summary = await b.textContent('#crowd-summary');
  // The shared policy was retrained on the crowd's demonstrations: its versions are the
  // crowd's learning curve.
  await b.waitForFunction((n) => Number(document.querySelector('#crowd-curve')?.dataset.points) > n, pointsBefore, { timeout: 180000 });
  const pointsAfter = Number(await b.getAttribute('#crowd-curve', 'data-points'));
  console.log(`the dashboard's curve grew from ${pointsBefore} to ${pointsAfter} points by itself`);
  const versions = Number(await b.getAttribute('#crowd-versions', 'data-count'));
  await b.locator('#crowd').screenshot({ path: `${artifacts}crowd-04-dashboard.png` });
  // The page loads the crowd's latest version, and plays it on the stage.
  await b.waitForSelector('#watch-crowd', { state: 'attached', timeout: 60000 });
  await b.$eval('#watch-crowd', (button) => button.click());
  await b.waitForFunction(() => document.querySelector('#episode-status')?.textContent.includes('driven by the policy'), null, { timeout: 30000 });
  console.log(`the page plays the crowd's shared policy, version ${await b.getAttribute('#watch-crowd', 'data-version')}`);
  assert(versions >= 1, 'no version of the shared policy was trained');
  assert(!/ 0 fulfilled/.test(summary), `no assignment was fulfilled: ${summary}`);
  console.log(`dashboard: ${summary.trim()} Versions of the shared policy: ${versions}.`);

  // B names themself (the name is shown as text, never as markup), lists what the
  // service holds of theirs and withdraws one; the dataset here keeps it, marked.
  await b.click('#contributor summary');
  await b.waitForSelector('#contributed-count');
  assert(Number(await b.getAttribute('#contributed-count', 'data-count')) === total[1], 'B does not see all of their demonstrations');
  await b.fill('#display-name-input', '<i>Bee</i>');
  await b.click('#rename-form button[type=submit]');
  await b.waitForFunction(() => document.querySelector('#display-name')?.textContent === '<i>Bee</i>', null, { timeout: 30000 });
  assert(await b.$('#display-name i') === null, 'the display name was rendered as markup');
  const withdrawn = await b.getAttribute('#contributor tr[data-withdrawn="false"]', 'data-id');
  await b.click(`#contributor tr[data-id="${withdrawn}"] button.withdraw`);
  await b.waitForSelector(`#contributor tr[data-id="${withdrawn}"][data-withdrawn="true"]`, { timeout: 30000 });
  await b.waitForSelector('#dataset tr[data-sync="withdrawn"]', { state: 'attached', timeout: 30000 });
  assert(await count(b) === total[1], 'withdrawing from the service removed a demonstration from the page');
  // The operator downloads the crowd's dataset from the page: the withdrawn one is out.
  await b.click('#contributor .operator summary');
  await b.fill('#operator-token', token);
  const [download] = await Promise.all([b.waitForEvent('download'), b.click('#operator-export')]);
  const name = download.suggestedFilename();
  assert(name.startsWith(`amf-studio-crowd-${expected - 1}-demonstrations-to-`),
    `the download is named ${name}`);
  const downloaded = JSON.parse(fs.readFileSync(await download.path(), 'utf8'));
  assert(downloaded.demonstrations.length === expected - 1, `the operator's download holds ${downloaded.demonstrations.length} demonstrations`);
  await b.screenshot({ path: `${artifacts}crowd-03-contributor.png`, fullPage: true });
  console.log(`B withdrew #${withdrawn}; the operator's download from the page (${name}) holds the other ${expected - 1}`);
  // The operator reviews the pool's quality (every live demonstration scored, each
  // task's histogram, the worst listed) and withdraws the worst from the review.
  await b.click('#operator-review');
  await b.waitForSelector('#quality-review', { timeout: 30000 });
  const reviewed = Number(await b.getAttribute('#quality-review', 'data-demonstrations'));
  assert(reviewed === expected - 1 && (await b.getAttribute('#quality-review', 'data-unmeasured')) === '0',
    `the review counts ${reviewed} demonstrations`);
  const histograms = await b.$$eval('#quality-review table.tasks tr[data-task]', (trs) => trs.length);
  assert(histograms >= 1, 'the review shows no task');
  assert((await b.inputValue('#operator-below-task')) === 'any', 'the withdrawal under a bar is of any task unless one is chosen');
  const worst = await b.getAttribute('#quality-review table.worst tr[data-id]', 'data-id');
  // What the latest version of the shared policy makes of what it trained on.
  const agreed = await b.$$eval('#quality-review table.agreement tr[data-id]', (trs) => trs.length);
  assert(agreed >= 1, 'the review shows nothing of what the shared policy agrees with');
  await b.locator('#quality-review').screenshot({ path: `${artifacts}crowd-05-quality-review.png` });
  await b.click(`#quality-review table.worst tr[data-id="${worst}"] button.withdraw`);
  await b.waitForFunction((n) => Number(document.querySelector('#quality-review')?.dataset.demonstrations) === n, expected - 2, { timeout: 30000 });
  assert(await b.$(`#quality-review table.worst tr[data-id="${worst}"]`) === null, 'the withdrawn demonstration is still listed');
  console.log(`the operator's review scored ${reviewed} demonstrations over ${histograms} task(s), listed ${agreed} by the shared policy's agreement; #${worst}, the worst, withdrawn from it`);
  assert(problems.length === 0, `the pages reported problems:\n${problems.join('\n')}`);
  console.log('crowd end-to-end test: ok');
} catch (error) {
  console.error(error.message ?? error);
  if (problems.length) console.error(problems.join('\n'));
  process.exitCode = 1;
} finally {
  await browser.close();
  if (service && service.exitCode === null) service.kill('SIGKILL');
  fs.rmSync(work, { recursive: true, force: true });
}
