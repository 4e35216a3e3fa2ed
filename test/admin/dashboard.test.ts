// The dashboard's HTTP side (no browser): the page and its assets are public, carry strict
// security headers, have no inline script or style, revalidate by ETag, and nothing outside the
// listed assets is served. The API behind it still needs the token. (The browser side is
// test/e2e/dashboard.test.ts.)
import t from 'tap';
import { DASHBOARD_CSP, DASHBOARD_HEADERS, DASHBOARD_MODULES, loadDashboardAssets } from '../../src/admin/dashboard.ts';
import { startAdmin } from '../helpers/admin.ts';

const ASSETS = [
  ['/', 'text/html; charset=utf-8'],
  ['/dashboard/dashboard.js', 'text/javascript; charset=utf-8'],
  ['/dashboard/actions.js', 'text/javascript; charset=utf-8'],
  ['/dashboard/dashboard.css', 'text/css; charset=utf-8'],
  ['/dashboard/uPlot.iife.min.js', 'text/javascript; charset=utf-8'],
  ['/dashboard/uPlot.min.css', 'text/css; charset=utf-8'],
  ['/dashboard/favicon.svg', 'image/svg+xml'],
] as const;

t.test('every asset is public, typed, and carries the security headers; no CORS', async (t) => {
  const admin = await startAdmin(t);
  for (const [path, type] of ASSETS) {
    const res = await admin.call('GET', path, { auth: false, headers: { origin: 'http://evil.example' } });
    t.equal(res.status, 200, `${path}: 200 without a token`);
    t.equal(res.headers.get('content-type'), type, `${path}: content-type`);
    for (const [name, value] of Object.entries(DASHBOARD_HEADERS)) t.equal(res.headers.get(name), value, `${path}: ${name}`);
    t.equal(res.headers.get('access-control-allow-origin'), null, `${path}: no CORS`);
    t.ok(res.text.length > 0);
  }
  const preflight = await admin.call('OPTIONS', '/api/v1/state', {
    auth: false,
    headers: { origin: 'http://evil.example', 'access-control-request-method': 'PUT' },
  });
  t.equal(preflight.headers.get('access-control-allow-origin'), null, 'no CORS preflight answer');
  t.equal((await admin.call('GET', '/api/v1/state', { auth: false })).status, 401, 'the API still needs the token');
});

t.test('the policy is strict and the page needs nothing it forbids', async (t) => {
  t.match(DASHBOARD_CSP, /(^|; )default-src 'none'(;|$)/);
  t.match(DASHBOARD_CSP, /(^|; )script-src 'self'(;|$)/);
  t.match(DASHBOARD_CSP, /(^|; )style-src 'self'(;|$)/);
  t.match(DASHBOARD_CSP, /(^|; )connect-src 'self'(;|$)/);
  t.match(DASHBOARD_CSP, /(^|; )frame-ancestors 'none'(;|$)/);
  t.notMatch(DASHBOARD_CSP, /unsafe-|\*|https?:/, 'no unsafe-*, no wildcard, no other origin');

  const assets = await loadDashboardAssets();
  const html = assets.get('index.html')!.body.toString();
  t.notMatch(html, /<script(?![^>]*\ssrc=)[^>]*>/, 'no inline script');
  t.notMatch(html, /\son[a-z]+=/i, 'no inline event handler');
  t.notMatch(html, /\sstyle=/, 'no style attribute');
  t.notMatch(html, /<style/, 'no style element');
  for (const src of html.matchAll(/(?:src|href)="([^"]+)"/g)) {
    t.ok(src[1]!.startsWith('/dashboard/'), `${src[1]} is one of ours`);
    t.ok(assets.has(src[1]!.slice('/dashboard/'.length)), `${src[1]} is served`);
  }
  for (const name of DASHBOARD_MODULES) {
    const js = assets.get(name)!.body.toString();
    t.notMatch(js, /innerHTML|outerHTML|insertAdjacentHTML|document\.write|eval\(|new Function/, `${name}: no HTML parsing of data, no eval`);
    t.notMatch(js, /setAttribute\(\s*['"]style/, `${name}: no style attributes from script`);
    t.notMatch(js, /localStorage/, `${name}: the token is kept in sessionStorage only`);
    // Every relative import names a served module (a typo would 404 and blank the page).
    for (const m of js.matchAll(/from '\.\/([\w-]+\.js)'/g)) t.ok(DASHBOARD_MODULES.includes(m[1]!), `${name} imports ${m[1]}, which is served`);
  }
  t.match(html, /<script src="\/dashboard\/dashboard\.js" type="module"><\/script>/, 'the entry is a module script');
});

t.test('ETag revalidation, HEAD, and nothing but the listed assets', async (t) => {
  const admin = await startAdmin(t);
  const first = await admin.call('GET', '/dashboard/dashboard.js', { auth: false });
  const etag = first.headers.get('etag');
  t.match(etag, /^"[\w-]+"$/);
  const again = await admin.call('GET', '/dashboard/dashboard.js', { auth: false, headers: { 'if-none-match': etag! } });
  t.equal(again.status, 304);
  t.equal(again.text, '');
  t.equal(again.headers.get('content-security-policy'), DASHBOARD_CSP);
  const stale = await admin.call('GET', '/dashboard/dashboard.js', { auth: false, headers: { 'if-none-match': '"other"' } });
  t.equal(stale.status, 200);

  const head = await fetch(admin.url + '/', { method: 'HEAD' });
  t.equal(head.status, 200);
  t.equal(head.headers.get('x-frame-options'), 'DENY');

  for (const path of ['/dashboard/index.html', '/dashboard/nope.js', '/dashboard/..%2fserver.ts', '/dashboard/%2e%2e%2fdashboard.ts', '/dashboard/']) {
    const res = await admin.call('GET', path, { auth: false });
    t.equal(res.status, 404, `${path}: 404`);
    t.equal(res.headers.get('x-content-type-options'), 'nosniff', `${path}: headers on the 404 too`);
    t.notMatch(res.text, /import |export /, `${path}: no source leaked`);
  }
  for (const method of ['POST', 'PUT', 'DELETE'] as const) {
    const res = await admin.call(method, '/', { auth: false });
    t.equal(res.status, 404, `${method} /: not a route`);
  }
});
