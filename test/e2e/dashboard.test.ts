// The dashboard in a real browser (Debian's chromium, driven by playwright-core) against a real
// admin server: security headers, the token flow (a bad token is refused and never stored), the
// state on screen, weight and flip applied through the API, the page following a change made
// elsewhere, and a 412 shown when the state moved under an open confirmation.
// Screenshots land in test/artifacts/ (ignored by git) for a person to look at.
import { mkdirSync, existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { chromium, type Browser, type Page } from 'playwright-core';
import { buildAdminServer } from '../../src/admin/server.ts';
import { DASHBOARD_CSP } from '../../src/admin/dashboard.ts';
import { StateManager } from '../../src/state/manager.ts';
import { MemoryStore } from '../../src/state/memory-store.ts';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const TOKEN = 'dashboard-test-token-0123456789';
const ARTIFACTS = fileURLToPath(new URL('../artifacts/', import.meta.url));

if (!existsSync(CHROMIUM)) {
  t.plan(0, `skip: no chromium at ${CHROMIUM} (apt-get install chromium)`);
} else {
  await run();
}

async function run(): Promise<void> {
  const state = await StateManager.open({ store: new MemoryStore(), seed: { active: 'blue', weight: 0 } });
  const admin = await buildAdminServer({ token: TOKEN, state, isReady: () => true });
  const base = await admin.listen({ host: '127.0.0.1', port: 0 });
  t.teardown(() => admin.close());
  // Everything async is set up before the first subtest: tap ends the root once its queue idles.
  const browser: Browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  t.teardown(() => browser.close());

  t.test('the page and its assets: no token needed, strict headers, no CORS', async (t) => {
    for (const path of ['/', '/dashboard/dashboard.js', '/dashboard/dashboard.css', '/dashboard/uPlot.iife.min.js', '/dashboard/uPlot.min.css']) {
      const res = await fetch(base + path, { headers: { origin: 'http://evil.example' } });
      t.equal(res.status, 200, `${path} 200`);
      t.equal(res.headers.get('content-security-policy'), DASHBOARD_CSP, `${path} CSP`);
      t.equal(res.headers.get('x-frame-options'), 'DENY');
      t.equal(res.headers.get('x-content-type-options'), 'nosniff');
      t.equal(res.headers.get('referrer-policy'), 'no-referrer');
      t.equal(res.headers.get('access-control-allow-origin'), null, 'no CORS');
      await res.arrayBuffer();
    }
    const csp = DASHBOARD_CSP;
    t.match(csp, /script-src 'self'(;|$)/);
    t.match(csp, /style-src 'self'(;|$)/);
    t.notMatch(csp, /unsafe-inline|unsafe-eval/);

    const html = await (await fetch(base + '/')).text();
    t.notMatch(html, /<script(?![^>]*\ssrc=)[^>]*>/, 'no inline script');
    t.notMatch(html, /\sstyle=/, 'no inline style attribute');
    t.notMatch(html, /<style/, 'no style element');

    const etag = (await fetch(base + '/dashboard/dashboard.js')).headers.get('etag');
    t.ok(etag);
    const cached = await fetch(base + '/dashboard/dashboard.js', { headers: { 'if-none-match': etag ?? '' } });
    t.equal(cached.status, 304, 'revalidates by ETag');

    const missing = await fetch(base + '/dashboard/..%2fserver.ts');
    t.equal(missing.status, 404, 'only listed assets are served');
    t.equal(missing.headers.get('x-frame-options'), 'DENY');
    const preflight = await fetch(base + '/api/v1/state', { method: 'OPTIONS', headers: { origin: 'http://evil.example', 'access-control-request-method': 'PUT' } });
    t.equal(preflight.headers.get('access-control-allow-origin'), null, 'no CORS preflight answer');
    t.equal((await fetch(base + '/api/v1/state')).status, 401, 'the API still needs the token');
  });

  t.test('an operator drives a release from the page', async (t) => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    t.teardown(() => context.close());
    const page = await context.newPage();
    const problems = watchProblems(page);
    const apiUrls: string[] = [];
    page.on('request', (r) => {
      if (r.url().includes('/api/')) apiUrls.push(r.url());
    });

    await page.goto(base + '/');
    await page.locator('#token-dialog[open]').waitFor();

    // A bad token: the server's 401 is shown, nothing is kept.
    await page.fill('#token-input', 'not-the-token');
    await page.click('#token-submit');
    await page.locator('#token-error').waitFor({ state: 'visible' });
    t.match(await page.textContent('#token-error'), /401/, 'the refusal is shown with its status');
    t.equal(await page.evaluate(() => sessionStorage.getItem('turnout.adminToken')), null, 'a refused token is not stored');

    // The right token: the page shows the state.
    await page.fill('#token-input', TOKEN);
    await page.click('#token-submit');
    await page.locator('#token-dialog').waitFor({ state: 'hidden' });
    await expectText(page, '#active-colour', 'blue');
    await expectText(page, '#canary-colour', 'green');
    await expectText(page, '#canary-weight', '0%');
    t.equal(await page.evaluate(() => sessionStorage.getItem('turnout.adminToken')), TOKEN, 'kept in sessionStorage');

    // Move the weight with the exact input, confirm, and see it applied through the API.
    await page.fill('#weight-input', '12.5');
    t.equal(await page.inputValue('#weight-slider'), '12.5', 'the slider follows the exact input');
    await page.click('#weight-apply');
    await page.locator('#confirm-dialog[open]').waitFor();
    t.match(await page.textContent('#confirm-text'), /12\.5%/);
    await page.click('#confirm-ok');
    await expectText(page, '#canary-weight', '12.5%');
    t.equal(state.state.weight, 12.5, 'the server applied the weight');
    const [weightEvent] = await state.events(1);
    t.match(weightEvent, { action: 'weight', actor: 'dashboard', to: { active: 'blue', weight: 12.5 } });
    await expectText(page, '#requested-split-text', 'blue 87.5% · green 12.5%');

    // The slider, too.
    await page.locator('#weight-slider').fill('30');
    t.equal(await page.inputValue('#weight-input'), '30');
    await page.click('#weight-apply');
    await page.click('#confirm-ok');
    await expectText(page, '#canary-weight', '30%');
    t.equal(state.state.weight, 30);

    // Cancelling a confirmation changes nothing.
    const before = state.state.version;
    await page.click('#flip');
    await page.click('#confirm-cancel');
    await page.locator('#confirm-dialog').waitFor({ state: 'hidden' });
    t.equal(state.state.version, before, 'cancel sends nothing');

    // Flip, and the page follows.
    await page.click('#flip');
    await page.click('#confirm-ok');
    await expectText(page, '#active-colour', 'green');
    t.equal(state.state.active, 'green', 'the server flipped');
    t.equal(state.state.weight, 0);
    await expectText(page, '#flip', 'Flip to blue');

    // Someone else changes the state: the page follows within a poll.
    await state.setWeight(7, { actor: 'cli' });
    await expectText(page, '#canary-weight', '7%');
    await page.locator('#events-body tr', { hasText: 'cli' }).first().waitFor();

    // ...and while a confirmation is open: the server refuses with 412 and the page says so.
    await page.click('#rollback');
    await page.locator('#confirm-dialog[open]').waitFor();
    await state.setWeight(9, { actor: 'cli' });
    await page.click('#confirm-ok');
    await page.locator('#banner').waitFor({ state: 'visible' });
    t.match(await page.textContent('#banner-text'), /412/, 'the 412 is shown');
    t.equal(state.state.weight, 9, 'the refused rollback changed nothing');
    await expectText(page, '#canary-weight', '9%');

    await page.screenshot({ path: artifact('dashboard-1280x800.png'), fullPage: false });
    await page.screenshot({ path: artifact('dashboard-1280-full.png'), fullPage: true });

    t.notOk(apiUrls.some((u) => u.includes(TOKEN) || u.includes('token')), 'the token never appears in a URL');
    t.same(problems, [], 'no console errors or CSP violations');
  });

  t.test('a phone-sized viewport', async (t) => {
    const context = await browser.newContext({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true });
    t.teardown(() => context.close());
    const page = await context.newPage();
    const problems = watchProblems(page);
    await page.goto(base + '/');
    await page.fill('#token-input', TOKEN);
    await page.click('#token-submit');
    await expectText(page, '#state-version', String(state.state.version));
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    t.ok(overflow <= 0, `no horizontal scrolling (overflow ${overflow}px)`);
    await page.screenshot({ path: artifact('dashboard-phone.png'), fullPage: true });
    t.same(problems, [], 'no console errors or CSP violations');
  });
}

function artifact(name: string): string {
  mkdirSync(ARTIFACTS, { recursive: true });
  return ARTIFACTS + name;
}

/** Console errors (Chromium reports CSP violations there) and uncaught page errors. */
function watchProblems(page: Page): string[] {
  const problems: string[] = [];
  page.on('console', (m) => {
    // The deliberate bad-token and 412 requests log "Failed to load resource" for their status.
    if (m.type() === 'error' && !/Failed to load resource: the server responded with a status of (401|404|412)/.test(m.text())) problems.push(m.text());
  });
  page.on('pageerror', (e) => problems.push(String(e)));
  return problems;
}

/** Waits (bounded) until the element's text is exactly `text`. */
async function expectText(page: Page, selector: string, text: string): Promise<void> {
  await page.waitForFunction(
    ([sel, want]) => document.querySelector(sel!)?.textContent?.trim() === want,
    [selector, text] as const,
    { timeout: 5000 },
  ).catch(async (err: unknown) => {
    const got = await page.textContent(selector).catch(() => null);
    throw new Error(`${selector}: expected ${JSON.stringify(text)}, got ${JSON.stringify(got)}`, { cause: err });
  });
}
