// The page's cold load, as a visitor on a slow link sees it: a fresh browser context
// (nothing cached), the network throttled through the DevTools protocol, the files sent
// gzipped (tests/e2e/serve-dist.mjs --gzip). Times the first drawn frame of the stage and AMF's
// first proposal (the training worker's module fetched, the pre-trained policy
// evaluated, the selection made), at each speed.
// Usage: node tests/e2e/load.mjs URL [OUT_JSON] [MBIT_PER_S ...]   (0: unthrottled)
import { chromium } from 'playwright-core';
import fs from 'node:fs';
import { launchOptions } from './common.mjs';

const [url = 'http://127.0.0.1:8090/', out, ...speeds] = process.argv.slice(2);
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
  await page.waitForSelector('#prompt[data-task]:not([data-task=""])', { timeout: 300000 });
  const firstProposal = (Date.now() - start) / 1000;
  results.push({ mbit_per_s: mbit, first_screen_seconds: firstScreen, first_screen_bytes: screenBytes, first_proposal_seconds: firstProposal, first_proposal_bytes: bytes });
  console.log(`${mbit > 0 ? `${mbit} Mbit/s, 40 ms` : 'unthrottled'}: first frame of the stage ${firstScreen.toFixed(2)} s (${(screenBytes / 1e6).toFixed(2)} MB), AMF's first proposal ${firstProposal.toFixed(2)} s (${(bytes / 1e6).toFixed(2)} MB)`);
  await context.close();
}
await browser.close();
if (out) fs.writeFileSync(out, JSON.stringify(results, null, 2));
