// The dashboard's shadow card (CONTRACT §9, issue 17) in a real browser (test/helpers/browser.ts)
// against a real Turnout with real upstreams: after mismatching traffic the card shows the
// mismatch rate, its chart over time, the learnt noise and the newest samples, as
// GET /api/v1/shadow has them. The page runs under its strict CSP: a violation would be a
// console error, and any console error fails the test.
import t from 'tap';
import { chromium } from 'playwright-core';
import { startApp, TEST_TOKEN } from '../helpers/app.ts';
import { startUpstream } from '../helpers/upstream.ts';
import { skipOrFail } from '../helpers/tools.ts';
import { findBrowser, NO_BROWSER, type FoundBrowser } from '../helpers/browser.ts';

const found = await findBrowser();
if (found === undefined) skipOrFail(t, NO_BROWSER);
else await run(found);

function json(res: import('node:http').ServerResponse, value: unknown): void {
  const body = JSON.stringify(value);
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

async function run(found: FoundBrowser): Promise<void> {
  t.comment(`browser: ${found.source}`);
  const blue = await startUpstream(t, 'blue');
  const green = await startUpstream(t, 'green');
  blue.handle((req, res) => json(res, { path: req.url, price: 10 }));
  // Green answers differently on /cart only: half of the traffic below mismatches there.
  green.handle((req, res) => json(res, { path: req.url, price: req.url === '/cart' ? 12 : 10 }));
  const turnout = await startApp(t, { upstreams: { blue: { targets: [blue.url] }, green: { targets: [green.url] } }, routing: { sticky: { by: 'none' } } }, { background: false });
  const browser = await chromium.launch({ executablePath: found.executablePath, args: found.args });
  t.teardown(() => browser.close());

  t.test('the shadow card shows the mismatch rate and the samples after mismatching traffic', async (t) => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, locale: 'en-US' });
    t.teardown(() => context.close());
    const page = await context.newPage();
    const problems: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error') problems.push(m.text());
    });
    page.on('pageerror', (e) => problems.push(String(e)));
    await page.goto(turnout.admin + '/');
    await page.fill('#token-input', TEST_TOKEN);
    await page.click('#token-submit');
    await page.locator('#token-dialog').waitFor({ state: 'hidden' });
    await page.waitForFunction(() => document.getElementById('shadow-status')?.textContent === 'off');
    t.match(await page.textContent('#shadow-summary'), /compared 0 · mismatches 0 \(0\.00%\)/, 'nothing compared yet');

    t.equal((await turnout.api('/api/v1/shadow', { method: 'PUT', body: JSON.stringify({ percent: 100 }) })).status, 200);
    await page.waitForFunction(() => document.getElementById('shadow-status')?.textContent === '100% mirrored');
    // Mismatching traffic: 4 × /cart (green differs) and 4 × /home (the same).
    for (let i = 0; i < 4; i++) {
      for (const path of ['/cart', '/home']) {
        const res = await fetch(turnout.proxy + path);
        t.equal(res.headers.get('x-turnout-colour'), 'blue', `${path}: the client gets blue`);
        t.equal(((await res.json()) as { price: number }).price, 10, `${path}: blue's price`);
      }
    }
    await page.waitForFunction(() => /compared 8 · mismatches 4 \(50\.00%\) · status 0, headers 0, body 4/.test(document.getElementById('shadow-summary')?.textContent ?? ''), undefined, { timeout: 15_000 });
    const samples = await page.locator('#shadow-samples li').allTextContents();
    t.equal(samples.length, 4, 'one sample per mismatching pair');
    t.ok(samples.every((s) => s === 'GET /cart — body at $.price: 10 ≠ 12'), `the samples name the path and the difference: ${JSON.stringify(samples)}`);
    t.equal(await page.textContent('#shadow-noise'), 'no noise learnt');
    // The chart: the rate of the pairs compared between two polls, one point per poll.
    await page.waitForFunction(() => (document.getElementById('shadow-line')?.getAttribute('points') ?? '').split(' ').filter(Boolean).length >= 2);
    const points = (await page.getAttribute('#shadow-line', 'points'))!.split(' ').map((p) => Number(p.split(',')[1]));
    t.ok(points.some((y) => y < 40), `a non-zero rate is drawn (y: ${points.join(' ')})`);
    t.same(problems, [], 'no console errors (CSP included)');
  });
}
