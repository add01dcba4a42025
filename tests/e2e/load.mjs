// The page's cold load, as a visitor on a slow link sees it: a fresh browser context
// (nothing cached), the network throttled through the DevTools protocol, the files sent
// gzipped (tests/e2e/serve-dist.mjs --gzip). Times the first drawn frame of the stage and AMF's
// first proposal (the pre-trained policy and its shipped first proposals read; without
// them, the training worker's module fetched and the selection made there), at each speed.
// With --crowd AMF, the page is served by the collection service (`AMF serve`, the page's
// files from --dist, default dist, gzipped where scripts/serve.sh left .gz copies) and the
// first proposal is the crowd's assignment: timed from the start and from the visitor's
// agreement to the licence, which the page waits for before it asks.
// Usage: node tests/e2e/load.mjs URL [OUT_JSON] [MBIT_PER_S ...]   (0: unthrottled)
//        node tests/e2e/load.mjs --crowd AMF [--dist DIST] [OUT_JSON] [MBIT_PER_S ...]
import { chromium } from 'playwright-core';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { launchOptions, serve } from './common.mjs';

const argv = process.argv.slice(2);
const option = (name) => {
  const at = argv.indexOf(name);
  return at < 0 ? undefined : argv.splice(at, 2)[1];
};
const amf = option('--crowd');
const dist = option('--dist') ?? 'dist';
let service;
let work;
if (amf) {
  const port = 20000 + Math.floor(Math.random() * 20000);
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'amf-load-'));
  service = await serve(amf, ['--db', `sqlite://${work}/crowd.db`, '--addr', `127.0.0.1:${port}`, '--dist', dist, '--retrain-every', '0']);
  argv.unshift(`http://127.0.0.1:${port}/`);
  // The service assesses its pre-trained policy as it starts: a visitor's first
  // assignment is timed against a service that is up, not one starting.
  const deadline = Date.now() + 120000;
  while (Date.now() < deadline) {
    const crowd = await fetch(`${argv[0]}api/crowd`).then((r) => r.json()).catch(() => ({}));
    if (crowd.prior_success) break;
    await new Promise((r) => setTimeout(r, 200));
  }
}
const [url = 'http://127.0.0.1:8090/', out, ...speeds] = argv;
const mbits = speeds.length ? speeds.map(Number) : [0, 10];

const browser = await chromium.launch(launchOptions());
const results = [];
for (const mbit of mbits) {
  const context = await browser.newContext();
  const page = await context.newPage();
  if (mbit > 0) {
    const cdp = await context.newCDPSession(page);
    await cdp.send('Network.enable');
    await cdp.send('Network.emulateNetworkConditions', {
      offline: false, latency: 40, downloadThroughput: (mbit * 1e6) / 8, uploadThroughput: (mbit * 1e6) / 8,
    });
  }
  let bytes = 0;
  page.on('response', async (response) => {
    const length = Number((await response.allHeaders())['content-length'] ?? 0);
    bytes += length;
  });
  const start = Date.now();
  await page.goto(url);
  await page.waitForFunction(() => Number(document.querySelector('#scene')?.dataset.frames ?? 0) > 0, null, { timeout: 300000, polling: 20 });
  const firstScreen = (Date.now() - start) / 1000;
  const screenBytes = bytes;
  let agreed;
  if (amf) {
    await page.waitForSelector('#consent-agree', { timeout: 300000 });
    agreed = Date.now();
    await page.click('#consent-agree');
  }
  await page.waitForSelector(`#prompt${amf ? '[data-source="crowd"]' : ''}[data-task]:not([data-task=""])`, { timeout: 300000 });
  const firstProposal = (Date.now() - start) / 1000;
  const result = { mbit_per_s: mbit, first_screen_seconds: firstScreen, first_screen_bytes: screenBytes, first_proposal_seconds: firstProposal, first_proposal_bytes: bytes };
  if (amf) result.after_agreement_seconds = (Date.now() - agreed) / 1000;
  results.push(result);
  const what = amf ? `the crowd's first assignment ${firstProposal.toFixed(2)} s, ${result.after_agreement_seconds.toFixed(2)} s after the agreement` : `AMF's first proposal ${firstProposal.toFixed(2)} s`;
  console.log(`${mbit > 0 ? `${mbit} Mbit/s, 40 ms` : 'unthrottled'}: first frame of the stage ${firstScreen.toFixed(2)} s (${(screenBytes / 1e6).toFixed(2)} MB), ${what} (${(bytes / 1e6).toFixed(2)} MB)`);
  await context.close();
}
await browser.close();
if (service) {
  service.kill('SIGTERM');
  fs.rmSync(work, { recursive: true, force: true });
}
if (out) fs.writeFileSync(out, JSON.stringify(results, null, 2));
