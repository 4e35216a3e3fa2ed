// Turnout dashboard: polls the admin API once a second and drives it with the operator's token.
// Plain browser JS, no framework, no build step. Runs under a strict CSP: no inline script or
// style, data never parsed as HTML (the DOM is built with textContent), styles only through classes and
// CSSOM properties (el.style.width), which style-src 'self' allows.
'use strict';

(() => {
  const TOKEN_KEY = 'turnout.adminToken';
  const HISTORY_KEY = 'turnout.history';
  const POLL_MS = 1000;
  const HISTORY_S = 300; // charts show the last 5 minutes
  const RATE_SPAN_S = 5; // request and error rates: over the last 5 seconds
  const EVENTS_LIMIT = 25;
  const COLOURS = ['blue', 'green'];
  const PALETTE = {
    blue: { line: '#4c8dff', targets: ['#8fb6ff', '#2f64c8', '#b9d0ff', '#5a7fc0'] },
    green: { line: '#2ecc71', targets: ['#86e3ad', '#1e9653', '#b5f0cc', '#4aa873'] },
  };
  const DEFAULT_ROLLOUT = {
    steps: [
      { weight: 5, holdSeconds: 30 },
      { weight: 25, holdSeconds: 60 },
      { weight: 100, holdSeconds: 60 },
    ],
    analysis: { intervalSeconds: 10, minRequests: 50, maxErrorRate: 0.02, maxP99Ms: 800, maxP99Ratio: 1.5 },
    onSuccess: 'promote',
  };

  const $ = (id) => {
    const el = document.getElementById(id);
    if (!el) throw new Error(`missing #${id}`);
    return el;
  };

  /** Builds an element; children are nodes or strings (as text, never parsed as HTML). */
  function h(tag, attrs, ...children) {
    const el = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === undefined || v === null || v === false) continue;
      if (k === 'class') el.className = v;
      else if (k === 'text') el.textContent = v;
      else el.setAttribute(k, v === true ? '' : String(v));
    }
    for (const c of children) if (c !== null && c !== undefined) el.append(c);
    return el;
  }

  // ---------------------------------------------------------------- formatting

  const fmtPct = (x, digits = 1) => (x === null || x === undefined || !Number.isFinite(x) ? '—' : `${x.toFixed(digits)}%`);
  const fmtWeight = (w) => (Number.isFinite(w) ? `${Number(w.toFixed(4))}%` : '—');
  const fmtMs = (x) => (x === null || x === undefined || !Number.isFinite(x) ? '—' : x >= 100 ? `${Math.round(x)} ms` : `${x.toFixed(1)} ms`);
  const fmtRate = (x) => (x === null || x === undefined || !Number.isFinite(x) ? '—' : x >= 100 ? x.toFixed(0) : x.toFixed(1));
  const fmtTime = (iso) => {
    const d = new Date(iso);
    return Number.isNaN(d.getTime()) ? String(iso ?? '') : d.toLocaleTimeString([], { hour12: false });
  };
  const targetLabel = (url) => {
    try {
      return new URL(url).host;
    } catch {
      return String(url);
    }
  };

  // ---------------------------------------------------------------- API

  class ApiError extends Error {
    constructor(status, body) {
      const message = body && typeof body.message === 'string' ? body.message : `HTTP ${status}`;
      const error = body && typeof body.error === 'string' ? body.error : '';
      super(message);
      this.status = status;
      this.error = error;
    }
    describe() {
      return `${this.status}${this.error ? ` ${this.error}` : ''}: ${this.message}`;
    }
  }

  let token = sessionStorage.getItem(TOKEN_KEY) || '';

  /** One admin API call; mutations carry If-Match with the version the operator last saw. */
  async function api(method, path, body, opts = {}) {
    const useToken = opts.token ?? token;
    const headers = { accept: 'application/json', authorization: `Bearer ${useToken}` };
    if (body !== undefined) headers['content-type'] = 'application/json';
    const seen = opts.ifMatch ?? state.current?.version;
    if (method !== 'GET' && Number.isInteger(seen)) headers['if-match'] = `"${seen}"`;
    if (method !== 'GET') headers['x-turnout-actor'] = 'dashboard';
    let res;
    try {
      res = await fetch(path, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        cache: 'no-store',
        credentials: 'omit',
        referrerPolicy: 'no-referrer',
      });
    } catch (err) {
      throw new ApiError(0, { error: 'Network Error', message: `cannot reach the admin API (${err.message})` });
    }
    const text = await res.text();
    let json = null;
    if (text) {
      try {
        json = JSON.parse(text);
      } catch {
        json = { message: text.slice(0, 200) };
      }
    }
    if (!res.ok) throw new ApiError(res.status, json);
    return json;
  }

  // ---------------------------------------------------------------- state

  const state = {
    current: null, // last /api/v1/state
    upstreams: null, // last /api/v1/upstreams (null if unavailable)
    rollout: null, // last /api/v1/rollouts/current
    shadow: null, // last /api/v1/shadow
    shadowRates: [], // mismatch rate of the pairs compared between two polls (null: none), newest last
    events: [],
    eventsVersion: -1,
    history: [], // ring of samples over HISTORY_S
    weightDirty: false,
    seriesMode: 'colours',
    polling: false,
    timer: null,
    busy: false,
    ticking: false,
    again: false,
    changedAt: 0,
  };

  // ---------------------------------------------------------------- banner & dialogs

  function showBanner(text, kind = 'error') {
    $('banner-text').textContent = text;
    $('banner').dataset.kind = kind;
    $('banner').hidden = false;
  }
  function hideBanner() {
    $('banner').hidden = true;
  }

  /** A modal confirmation; resolves true only when the operator confirms. */
  function confirmAction(title, text, okLabel = 'Confirm', danger = false) {
    const dialog = $('confirm-dialog');
    $('confirm-title').textContent = title;
    $('confirm-text').textContent = text;
    const ok = $('confirm-ok');
    ok.textContent = okLabel;
    ok.className = `btn ${danger ? 'btn-danger' : 'btn-primary'}`;
    return new Promise((resolve) => {
      const form = $('confirm-form');
      const cancel = $('confirm-cancel');
      const done = (value) => {
        form.removeEventListener('submit', onSubmit);
        cancel.removeEventListener('click', onCancel);
        dialog.removeEventListener('cancel', onCancel);
        if (dialog.open) dialog.close();
        resolve(value);
      };
      const onSubmit = (e) => {
        e.preventDefault();
        done(true);
      };
      const onCancel = (e) => {
        e.preventDefault();
        done(false);
      };
      form.addEventListener('submit', onSubmit);
      cancel.addEventListener('click', onCancel);
      dialog.addEventListener('cancel', onCancel);
      dialog.showModal();
      ok.focus();
    });
  }

  function askToken(message) {
    const dialog = $('token-dialog');
    const err = $('token-error');
    err.hidden = !message;
    err.textContent = message || '';
    $('token-input').value = '';
    $('token-forget').hidden = !token;
    $('token-cancel').hidden = !token;
    if (!dialog.open) dialog.showModal();
    $('token-input').focus();
  }

  async function onTokenSubmit(e) {
    e.preventDefault();
    const candidate = $('token-input').value.trim();
    const err = $('token-error');
    if (!candidate) {
      err.textContent = 'Enter the admin token.';
      err.hidden = false;
      return;
    }
    $('token-submit').disabled = true;
    try {
      // Check the token before keeping it: a refused token is never stored.
      const s = await api('GET', '/api/v1/state', undefined, { token: candidate });
      token = candidate;
      sessionStorage.setItem(TOKEN_KEY, token);
      $('token-dialog').close();
      hideBanner();
      applyState(s);
      startPolling();
    } catch (error) {
      err.textContent =
        error.status === 401
          ? `Token refused by the server (${error.describe()})`
          : `Could not connect (${error instanceof ApiError ? error.describe() : error.message})`;
      err.hidden = false;
    } finally {
      $('token-submit').disabled = false;
    }
  }

  function forgetToken(message) {
    token = '';
    sessionStorage.removeItem(TOKEN_KEY);
    sessionStorage.removeItem(HISTORY_KEY);
    state.history = [];
    renderCharts();
    stopPolling();
    setConn('idle', 'not connected');
    askToken(message);
  }

  // ---------------------------------------------------------------- polling

  function setConn(kind, text) {
    $('conn').dataset.state = kind;
    $('conn-text').textContent = text;
  }

  // One polling loop at a time: a refresh asked for while one is in flight runs right after it.
  function startPolling() {
    if (state.polling) return;
    state.polling = true;
    tick();
  }
  function stopPolling() {
    state.polling = false;
    clearTimeout(state.timer);
  }
  function refreshNow() {
    if (!state.polling) return;
    clearTimeout(state.timer);
    tick();
  }

  /** One refresh: state and windows every second; events when the version moved; rollout when there is one. */
  async function tick() {
    if (!state.polling) return;
    if (state.ticking) {
      state.again = true;
      return;
    }
    state.ticking = true;
    state.again = false;
    const started = Date.now();
    const usedToken = token;
    try {
      const [s, ups, counts] = await Promise.all([
        api('GET', '/api/v1/state'),
        api('GET', '/api/v1/upstreams').catch((e) => (e.status === 401 ? Promise.reject(e) : null)),
        fetchCounters(),
      ]);
      applyState(s, started);
      state.upstreams = ups;
      recordSample(ups, counts);
      const jobs = [];
      if (s.version !== state.eventsVersion) jobs.push(refreshEvents(s.version));
      jobs.push(refreshShadow());
      if (s.rollout) jobs.push(refreshRollout());
      else state.rollout = null;
      await Promise.all(jobs);
      renderAll();
      setConn('live', `live · v${state.current.version}`);
      $('updated-at').textContent = `updated ${new Date().toLocaleTimeString([], { hour12: false })}`;
    } catch (error) {
      if (error instanceof ApiError && error.status === 401) {
        // Only if it is still the token in use (not one replaced while this request was out).
        if (usedToken === token) forgetToken(`Token refused by the server (${error.describe()})`);
      } else {
        setConn('down', error instanceof ApiError ? `offline · ${error.describe()}` : `offline · ${error.message}`);
        recordSample(null, null);
        renderCharts();
      }
    } finally {
      state.ticking = false;
    }
    if (state.polling) state.timer = setTimeout(tick, state.again ? 0 : Math.max(0, POLL_MS - (Date.now() - started)));
  }

  async function refreshEvents(version) {
    try {
      const body = await api('GET', `/api/v1/events?limit=${EVENTS_LIMIT}`);
      state.events = Array.isArray(body) ? body : Array.isArray(body?.events) ? body.events : [];
      state.eventsVersion = version;
    } catch (error) {
      if (error.status === 401) throw error;
    }
  }

  // CONTRACT §9: GET /api/v1/shadow; the mismatch rate of each poll's new pairs is kept for the chart.
  async function refreshShadow() {
    try {
      const v = await api('GET', '/api/v1/shadow');
      const prev = state.shadow;
      if (prev) {
        const dc = v.compared - prev.compared;
        const dm = v.mismatches - prev.mismatches;
        state.shadowRates.push(dc > 0 ? dm / dc : null);
        if (state.shadowRates.length > 120) state.shadowRates.shift();
      }
      state.shadow = v;
    } catch (error) {
      if (error.status === 401) throw error;
      state.shadow = null;
    }
  }

  function renderShadow() {
    const v = state.shadow;
    const pill = $('shadow-status');
    if (!v) {
      pill.textContent = 'unavailable';
      pill.dataset.status = 'none';
      return;
    }
    pill.textContent = v.percent > 0 ? `${v.percent}% mirrored` : 'off';
    pill.dataset.status = v.percent > 0 ? 'running' : 'none';
    $('shadow-summary').textContent =
      `compared ${v.compared} · mismatches ${v.mismatches} (${(v.mismatchRate * 100).toFixed(2)}%) · status ${v.byKind.status}, headers ${v.byKind.headers}, body ${v.byKind.body}` +
      ` · errors ${v.results ? v.results.error : 0} · dropped ${v.dropped ?? 0}`;
    const rates = state.shadowRates;
    const n = rates.length;
    $('shadow-line').setAttribute('points', rates.map((r, i) => `${n > 1 ? (i * 300) / (n - 1) : 0},${40 - (r === null ? 0 : r) * 38}`).join(' '));
    $('shadow-noise').textContent = v.noise.length ? `learnt noise: ${v.noise.map((x) => x.key).join(', ')}` : 'no noise learnt';
    const list = $('shadow-samples');
    list.replaceChildren(...v.samples.slice(0, 10).map((s) => h('li', {}, `${s.method} ${s.path} — ${s.kinds.join('+')} at ${s.first}` + (s.differences[0] ? `: ${s.differences[0].live} ≠ ${s.differences[0].shadow}` : ''))));
  }

  async function refreshRollout() {
    try {
      state.rollout = await api('GET', '/api/v1/rollouts/current');
    } catch (error) {
      if (error.status === 401) throw error;
      if (error.status === 404) state.rollout = null;
    }
  }

  /** `polledAt`: when the poll that fetched `s` started; a change made since then wins over it. */
  function applyState(s, polledAt) {
    if (polledAt !== undefined && polledAt < state.changedAt && state.current && s.version < state.current.version) return;
    state.current = s;
    renderState();
  }

  // ---------------------------------------------------------------- history for charts

  /**
   * Cumulative request and error counts from the public /metrics (Prometheus text), summed by
   * colour and by "colour url": { key: [requests, errors] }. Diffing two scrapes gives true
   * recent rates; the API's sliding-window totals would lag a change by a whole window.
   */
  function parseCounters(text) {
    const counts = {};
    const add = (key, i, v) => {
      (counts[key] ??= [0, 0])[i] += v;
    };
    for (const line of text.split('\n')) {
      const m = /^turnout_(requests_total|upstream_errors_total)\{([^}]*)\}\s+(\S+)/.exec(line);
      if (!m) continue;
      const labels = {};
      for (const l of m[2].matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]] = l[2].replace(/\\(.)/g, (_, ch) => (ch === 'n' ? '\n' : ch));
      const v = Number(m[3]);
      if (!Number.isFinite(v) || !COLOURS.includes(labels.colour)) continue;
      const i = m[1] === 'requests_total' ? 0 : 1;
      add(labels.colour, i, v);
      if (labels.target && labels.target !== 'none') add(`${labels.colour} ${labels.target}`, i, v);
    }
    return counts;
  }

  /** The counters, or null when /metrics is not there (an admin server built without it). */
  async function fetchCounters() {
    try {
      const res = await fetch('/metrics', { cache: 'no-store', credentials: 'omit', headers: { accept: 'text/plain' } });
      if (!res.ok) return null;
      const counts = parseCounters(await res.text());
      return Object.keys(counts).length ? counts : null;
    } catch {
      return null;
    }
  }

  /** Request rate and error rate over the last RATE_SPAN_S from counter differences; null until two scrapes exist. */
  function counterRates(key, t, counts) {
    const now = counts[key];
    if (!now) return { rate: null, errRate: null };
    for (const s of state.history) {
      if (s.t < t - RATE_SPAN_S - 0.5) continue;
      const then = s.counts?.[key];
      if (!then) continue;
      const dt = t - s.t;
      const dr = now[0] - then[0];
      const de = now[1] - then[1];
      if (dt < 0.5 || dr < 0 || de < 0) break; // too close, or the process restarted
      return { rate: dr / dt, errRate: dr > 0 ? (de / dr) * 100 : null };
    }
    return { rate: null, errRate: null };
  }

  /** One colour's or target's point: rates from counters when available, else window totals / window length. */
  function metricsOf(s, windowSeconds, key, t, counts) {
    if (!s) return null;
    const fromWindow = {
      rate: Number.isFinite(s.requests) ? s.requests / windowSeconds : null,
      errRate: Number.isFinite(s.errorRate) ? s.errorRate * 100 : null,
    };
    const rates = counts ? counterRates(key, t, counts) : fromWindow;
    return { ...rates, p50: s.latencyMs?.p50 ?? null, p99: s.latencyMs?.p99 ?? null };
  }

  function recordSample(ups, counts) {
    const t = Date.now() / 1000;
    const sample = { t, colours: {}, targets: {}, counts: counts ?? null };
    if (ups && ups.colours) {
      const win = Number(ups.windowSeconds) > 0 ? Number(ups.windowSeconds) : 60;
      for (const c of COLOURS) {
        const cs = ups.colours[c];
        sample.colours[c] = metricsOf(cs, win, c, t, counts);
        for (const tg of cs?.targets ?? []) sample.targets[`${c} ${tg.url}`] = metricsOf(tg, win, `${c} ${tg.url}`, t, counts);
      }
    }
    state.ratesFrom = counts ? 'counters' : 'window';
    state.history.push(sample);
    while (state.history.length && state.history[0].t < t - HISTORY_S) state.history.shift();
    // Kept for this tab (like the token), so a reload does not blank the charts.
    if (state.history.length % 5 === 0) {
      try {
        sessionStorage.setItem(HISTORY_KEY, JSON.stringify(state.history));
      } catch {
        // full or unavailable: the charts simply start over after a reload
      }
    }
  }

  function restoreHistory() {
    try {
      const saved = JSON.parse(sessionStorage.getItem(HISTORY_KEY) ?? '[]');
      const since = Date.now() / 1000 - HISTORY_S;
      if (Array.isArray(saved)) state.history = saved.filter((s) => s && Number.isFinite(s.t) && s.t >= since && s.colours && s.targets);
    } catch {
      state.history = [];
    }
  }

  // ---------------------------------------------------------------- rendering: state

  function setColour(el, colour, text) {
    el.dataset.colour = colour || '';
    el.textContent = text ?? colour ?? '—';
  }

  function setSplit(barId, blue, green) {
    const bar = $(barId);
    const total = blue + green;
    const [b, g] = bar.querySelectorAll('.seg');
    const bp = total > 0 ? (blue / total) * 100 : 0;
    const gp = total > 0 ? (green / total) * 100 : 0;
    b.style.width = `${bp}%`;
    g.style.width = `${gp}%`;
    bar.classList.toggle('empty', total <= 0);
    // Animate changes, not the first paint: flush the first widths (offsetWidth) before enabling the transition.
    if (!bar.classList.contains('animated')) {
      void bar.offsetWidth;
      bar.classList.add('animated');
    }
    bar.setAttribute('aria-label', total > 0 ? `blue ${bp.toFixed(1)}%, green ${gp.toFixed(1)}%` : 'no data');
    return { bp, gp, total };
  }

  function renderState() {
    const s = state.current;
    if (!s) return;
    const canary = s.canary?.colour;
    const weight = s.canary?.weight ?? 0;
    setColour($('active-colour'), s.active, s.active);
    setColour($('canary-colour'), canary);
    $('canary-weight').textContent = fmtWeight(weight);
    $('state-version').textContent = String(s.version);
    setColour($('weight-colour'), canary);
    setColour($('rollout-dialog-colour'), canary);

    const split = s.split ?? { [s.active]: 100 - weight, [canary]: weight };
    setSplit('requested-split', Number(split.blue) || 0, Number(split.green) || 0);
    $('requested-split-text').textContent = `blue ${fmtWeight(Number(split.blue))} · green ${fmtWeight(Number(split.green))}`;

    if (!state.weightDirty) {
      $('weight-input').value = String(weight);
      $('weight-slider').value = String(weight);
    }
    renderWeightPending();

    $('flip').textContent = `Flip to ${canary ?? '—'}`;
    $('rollback').textContent = weight > 0 ? 'Rollback weight to 0' : 'Rollback last flip';
    const running = s.rollout && (s.rollout.status === 'running' || s.rollout.status === 'paused');
    $('control-hint').textContent = running
      ? `A rollout is ${s.rollout.status}: manual changes may be refused until it ends.`
      : `Flip makes ${canary ?? 'the idle colour'} active with weight 0.`;
  }

  function renderWeightPending() {
    const s = state.current;
    const pending = $('weight-pending');
    if (state.weightDirty && s) {
      pending.textContent = `now ${fmtWeight(s.canary?.weight)} → ${fmtWeight(Number($('weight-input').value))}`;
    } else pending.textContent = '';
    $('weight-reset').hidden = !state.weightDirty;
  }

  function renderObserved() {
    const ups = state.upstreams;
    if (!ups || !ups.colours) {
      setSplit('observed-split', 0, 0);
      $('observed-split-text').textContent = 'no data';
      $('observed-window').textContent = '';
      $('colour-summary').replaceChildren();
      return;
    }
    const blue = ups.colours.blue?.requests ?? 0;
    const green = ups.colours.green?.requests ?? 0;
    const { bp, gp, total } = setSplit('observed-split', blue, green);
    $('observed-window').textContent = `(last ${ups.windowSeconds ?? '?'} s)`;
    $('charts-note').textContent =
      state.ratesFrom === 'counters'
        ? `Request and error rates over the last ${RATE_SPAN_S} s (from /metrics); latency percentiles over the sliding ${ups.windowSeconds ?? '?'} s window.`
        : `Each point is the sliding ${ups.windowSeconds ?? '?'} s window as seen at that second.`;
    $('observed-split-text').textContent =
      total > 0 ? `blue ${fmtPct(bp)} · green ${fmtPct(gp)} · ${total} req` : 'no requests in the window';

    const win = Number(ups.windowSeconds) > 0 ? Number(ups.windowSeconds) : 60;
    const latest = state.history.at(-1);
    const cards = COLOURS.map((c) => {
      const cs = ups.colours[c];
      if (!cs) return null;
      const m = latest?.colours[c] ?? metricsOf(cs, win, c, 0, null);
      const healthyTargets = (cs.targets ?? []).filter((t) => t.healthy).length;
      return h(
        'div',
        { class: 'colour-card', 'data-colour': c },
        h('div', { class: 'colour-card-head' }, h('span', { class: 'dot', 'data-colour': c }), h('strong', { text: c }),
          h('span', { class: `health ${cs.healthy ? 'ok' : 'bad'}`, text: cs.healthy ? `healthy ${healthyTargets}/${(cs.targets ?? []).length}` : 'unhealthy' })),
        h('div', { class: 'kv' },
          kv('req/s', fmtRate(m.rate)),
          kv('errors', fmtPct(m.errRate, 2), m.errRate > 0 ? 'bad' : ''),
          kv('p50', fmtMs(m.p50)),
          kv('p99', fmtMs(m.p99)),
        ),
      );
    });
    $('colour-summary').replaceChildren(...cards.filter(Boolean));
  }

  function kv(k, v, cls = '') {
    return h('div', { class: 'kv-item' }, h('span', { class: 'kv-k', text: k }), h('span', { class: `kv-v ${cls}`, text: v }));
  }

  function renderTargets() {
    const body = $('targets-body');
    const ups = state.upstreams;
    if (!ups || !ups.colours) {
      body.replaceChildren(h('tr', {}, h('td', { colspan: 6, class: 'muted', text: 'target metrics unavailable' })));
      return;
    }
    const win = Number(ups.windowSeconds) > 0 ? Number(ups.windowSeconds) : 60;
    const latest = state.history.at(-1);
    const rows = [];
    for (const c of COLOURS) {
      for (const tg of ups.colours[c]?.targets ?? []) {
        const m = latest?.targets[`${c} ${tg.url}`] ?? metricsOf(tg, win, '', 0, null);
        rows.push(
          h('tr', {},
            h('td', { class: 'target-cell' }, h('span', { class: 'dot', 'data-colour': c }), h('span', { class: 'mono', text: targetLabel(tg.url), title: tg.url })),
            h('td', {}, h('span', { class: `health ${tg.healthy ? 'ok' : 'bad'}`, text: tg.healthy ? 'healthy' : 'unhealthy' })),
            h('td', { class: 'num', text: fmtRate(m.rate) }),
            h('td', { class: `num ${m.errRate > 0 ? 'bad' : ''}`, text: fmtPct(m.errRate, 2) }),
            h('td', { class: 'num', text: `${fmtMs(m.p50).replace(' ms', '')} · ${fmtMs(m.p99)}` }),
            h('td', { class: 'num', text: String(tg.inFlight ?? '—') }),
          ),
        );
      }
    }
    body.replaceChildren(...(rows.length ? rows : [h('tr', {}, h('td', { colspan: 6, class: 'muted', text: 'no targets' }))]));
  }

  /**
   * An event's from → to in operator terms (the weight belongs to the idle colour, not the active):
   * "blue: green 0% → 12.5%" when the active colour stays, "blue + green 30% → green" across a flip.
   */
  function changeText(from, to) {
    const colour = (c, text) => h('span', { class: 'colour-text', 'data-colour': c, text });
    const canaryOf = (cw) => (cw?.active === 'blue' ? 'green' : 'blue');
    const side = (cw) =>
      cw?.weight > 0 ? [colour(cw.active, cw.active), ' + ', colour(canaryOf(cw), `${canaryOf(cw)} ${fmtWeight(cw.weight)}`)] : [colour(cw?.active, cw?.active ?? '—')];
    if (from?.active && from.active === to?.active) {
      return [colour(from.active, from.active), ': ', colour(canaryOf(from), `${canaryOf(from)} ${fmtWeight(from.weight)} → ${fmtWeight(to.weight)}`)];
    }
    return [...side(from), ' → ', ...side(to)];
  }

  function renderEvents() {
    const body = $('events-body');
    if (!state.events.length) {
      body.replaceChildren(h('tr', {}, h('td', { colspan: 4, class: 'muted', text: 'no events yet' })));
      return;
    }
    body.replaceChildren(
      ...state.events.map((ev) =>
        h('tr', {},
          h('td', { class: 'mono nowrap', text: fmtTime(ev.at), title: `${ev.at} · v${ev.version}` }),
          h('td', {}, h('div', { class: 'action-cell' },
            h('span', { class: `action action-${String(ev.action).split('.').pop()}`, text: ev.action }),
            h('span', { class: 'muted small actor', text: ev.actor ? `by ${ev.actor}` : '' }))),
          h('td', { class: 'nowrap' }, ...changeText(ev.from, ev.to)),
          h('td', { class: 'reason', text: ev.reason ?? '' }),
        ),
      ),
    );
  }

  // ---------------------------------------------------------------- rendering: rollout

  function verdictOf(a) {
    return String(a?.result ?? a?.verdict ?? a?.status ?? '?');
  }

  /** "120 req · 0.83% err · p99 45 ms" for one side of a verdict. */
  function sampleText(x) {
    if (!x || !Number.isFinite(x.requests)) return '';
    const err = x.requests > 0 ? (x.errors / x.requests) * 100 : 0;
    return `${x.requests} req · ${err.toFixed(2)}% err · p99 ${fmtMs(x.p99Ms ?? null)}`;
  }

  function renderRollout() {
    // The full view when we have it; else the summary from /state (steps is then a count).
    const r = state.rollout ?? state.current?.rollout ?? null;
    const status = r?.status ?? 'none';
    const pill = $('rollout-status');
    pill.dataset.status = status;
    pill.textContent = status;

    const steps = Array.isArray(r?.steps) ? r.steps : [];
    const current = Number.isInteger(r?.step) ? r.step : -1;
    const meta = [];
    if (r) {
      meta.push(h('span', {}, 'canary ', h('span', { class: 'colour-text', 'data-colour': r.canary, text: r.canary ?? '?' })));
      const count = steps.length || (Number.isInteger(r.steps) ? r.steps : 0);
      if (count) meta.push(h('span', { text: `step ${Math.min(current + 1, count)}/${count}` }));
      if (Number.isFinite(r.weight)) meta.push(h('span', { text: `weight ${fmtWeight(r.weight)}` }));
      if (r.holdUntil && status === 'running') {
        const left = Math.max(0, Math.round((Date.parse(r.holdUntil) - Date.now()) / 1000));
        meta.push(h('span', { text: `hold ${left} s left` }));
      }
      if (r.pausedAt && status === 'paused') meta.push(h('span', { text: `paused ${fmtTime(r.pausedAt)}` }));
      if (r.endedAt) meta.push(h('span', { text: `ended ${fmtTime(r.endedAt)}` }));
    }
    $('rollout-meta').replaceChildren(...meta);
    $('rollout-meta').hidden = !meta.length;

    $('rollout-steps').replaceChildren(
      ...steps.map((st, i) => {
        const phase =
          status === 'promoted' || i < current ? 'done' : i === current ? (status === 'aborted' ? 'failed' : 'current') : 'todo';
        return h('li', { class: `step step-${phase}`, title: `step ${i + 1}: ${fmtWeight(Number(st.weight))} for at least ${st.holdSeconds} s` },
          h('span', { class: 'step-weight', text: fmtWeight(Number(st.weight)) }),
          h('span', { class: 'step-hold muted', text: Number.isFinite(st.holdSeconds) ? `hold ${st.holdSeconds}s` : '' }));
      }),
    );
    if (!steps.length && !r) $('rollout-steps').replaceChildren(h('li', { class: 'muted small steps-empty', text: 'No rollout has run yet.' }));

    const reason = $('rollout-reason');
    reason.hidden = !r?.reason;
    reason.textContent = r?.reason ? `${status === 'aborted' ? 'Aborted: ' : status === 'promoted' ? 'Promoted: ' : status === 'paused' ? 'Paused: ' : ''}${r.reason}` : '';
    reason.classList.toggle('bad', status === 'aborted');

    const analysis = Array.isArray(r?.analysis) ? r.analysis.slice(-4).reverse() : [];
    $('rollout-analysis').replaceChildren(
      ...(analysis.length ? [h('div', { class: 'label', text: 'Analysis, newest first' })] : []),
      ...analysis.map((a) => {
        const v = verdictOf(a);
        const cls = v === 'pass' ? 'ok' : v === 'fail' ? 'bad' : 'warn';
        // Only what held or failed the step; a pass says so. The full reasoning is in the tooltip.
        const all = Array.isArray(a?.reasons) ? a.reasons : a?.reason ? [a.reason] : [];
        const notPassed = Array.isArray(a?.checks) ? a.checks.filter((c) => c.result !== 'pass').map((c) => c.reason) : all;
        const why = v === 'pass' ? 'all checks passed' : (notPassed.length ? notPassed : all).join('; ');
        return h('div', { class: 'verdict-row', title: all.join('\n') },
          h('span', { class: `verdict ${cls}`, text: v }),
          h('span', { class: 'verdict-when muted mono small' },
            h('span', { text: a?.at ? fmtTime(a.at) : '' }),
            h('span', { text: Number.isInteger(a?.step) ? `step ${a.step + 1}` : '' })),
          h('span', { class: 'small verdict-detail' },
            h('span', { class: 'reason', text: why }),
            a?.canary ? h('span', { class: 'muted', text: `canary ${sampleText(a.canary)}` }) : null,
            a?.stable ? h('span', { class: 'muted', text: `stable  ${sampleText(a.stable)}` }) : null));
      }),
    );

    const active = status === 'running' || status === 'paused';
    $('rollout-start').disabled = active;
    $('rollout-pause').disabled = status !== 'running';
    $('rollout-resume').disabled = status !== 'paused';
    $('rollout-promote').disabled = !active;
    $('rollout-abort').disabled = !active;
  }

  // ---------------------------------------------------------------- rendering: verification (CONTRACT §11)

  /** The period after a flip: status, a countdown to its end, its verdicts, and the idle colour (free or not). */
  function renderVerification() {
    const s = state.current;
    const v = s?.verification ?? null;
    const idle = s?.idle ?? null;
    const status = v?.status ?? 'none';
    const pill = $('verify-status');
    pill.dataset.status = status;
    pill.textContent = status;
    setColour($('verify-colour'), v?.colour, v ? `${v.colour} (from ${v.from})` : '—');
    const left = Number.isFinite(v?.remainingSeconds) ? v.remainingSeconds : null;
    $('verify-countdown').textContent =
      status !== 'running' ? (v?.endedAt ? `ended ${fmtTime(v.endedAt)}` : '—') : left > 0 ? `${left} s` : 'waiting for a passing verdict';
    setColour($('idle-colour'), idle?.colour);
    const free = $('idle-free');
    free.dataset.free = String(Boolean(idle?.free));
    free.textContent = idle?.free ? 'free: may be redeployed' : 'not free';
    $('idle-since').textContent = idle?.since ? `idle since ${fmtTime(idle.since)}` : '';
    const reason = $('verify-reason');
    reason.hidden = !v?.reason;
    reason.textContent = v?.reason ? `${status === 'reverted' ? 'Reverted: ' : status === 'verified' ? 'Verified: ' : ''}${v.reason}` : '';
    reason.classList.toggle('bad', status === 'reverted');
    const verdicts = Array.isArray(v?.verdicts) ? v.verdicts.slice(-4).reverse() : [];
    $('verify-verdicts').replaceChildren(
      ...(verdicts.length ? [h('div', { class: 'label', text: 'Verdicts, newest first' })] : []),
      ...(!v ? [h('p', { class: 'muted small', text: 'No flip has been verified yet. A flip with a period (or routing.verify) is judged here.' })] : []),
      ...verdicts.map((a) => {
        const cls = a.result === 'pass' ? 'ok' : a.result === 'fail' ? 'bad' : 'warn';
        const all = Array.isArray(a.reasons) ? a.reasons : [];
        return h('div', { class: 'verdict-row', title: all.join('\n') },
          h('span', { class: `verdict ${cls}`, text: a.result }),
          h('span', { class: 'verdict-when muted mono small' }, h('span', { text: a.at ? fmtTime(a.at) : '' })),
          h('span', { class: 'small verdict-detail' },
            h('span', { class: 'reason', text: a.result === 'pass' ? 'all checks passed' : all.join('; ') }),
            a.sample ? h('span', { class: 'muted', text: `${v.colour} ${sampleText(a.sample)} over ${a.sample.spanSeconds} s` }) : null));
      }),
    );
    $('verify-revert').disabled = status !== 'running';
  }

  // ---------------------------------------------------------------- charts (uPlot)

  const charts = { key: '', list: [] };

  /** The series definitions for one chart kind, given the colours and targets seen. */
  function seriesFor(kind, targetKeys) {
    const out = [];
    const mk = (label, stroke, pick, opts = {}) => out.push({ label, stroke, pick, width: opts.width ?? 2, dash: opts.dash, target: !!opts.target });
    for (const c of COLOURS) {
      const col = PALETTE[c].line;
      if (kind === 'latency') {
        mk(`${c} p50`, col, (s) => s.colours[c]?.p50, { dash: [6, 4] });
        mk(`${c} p99`, col, (s) => s.colours[c]?.p99);
      } else mk(c, col, (s) => s.colours[c]?.[kind === 'rate' ? 'rate' : 'errRate']);
    }
    targetKeys.forEach((key) => {
      const [c, url] = [key.slice(0, key.indexOf(' ')), key.slice(key.indexOf(' ') + 1)];
      const idx = targetKeys.filter((k) => k.startsWith(`${c} `)).indexOf(key);
      const col = PALETTE[c]?.targets[idx % 4] ?? '#999';
      const name = `${c} ${targetLabel(url)}`;
      if (kind === 'latency') {
        mk(`${name} p50`, col, (s) => s.targets[key]?.p50, { dash: [6, 4], width: 1.5, target: true });
        mk(`${name} p99`, col, (s) => s.targets[key]?.p99, { width: 1.5, target: true });
      } else mk(name, col, (s) => s.targets[key]?.[kind === 'rate' ? 'rate' : 'errRate'], { width: 1.5, target: true });
    });
    return out;
  }

  function chartSize(el) {
    const w = Math.max(240, Math.floor(el.clientWidth));
    return { width: w, height: w < 420 ? 170 : 190 };
  }

  function buildCharts(targetKeys) {
    if (typeof uPlot !== 'function') return;
    charts.list.forEach((c) => c.plot.destroy());
    charts.list = [];
    const axisStyle = { stroke: '#8b96a5', grid: { stroke: 'rgba(139,150,165,0.12)', width: 1 }, ticks: { stroke: 'rgba(139,150,165,0.25)', width: 1 } };
    const defs = [
      { el: 'chart-rate', kind: 'rate', fmt: (v) => fmtRate(v) },
      { el: 'chart-errors', kind: 'errors', fmt: (v) => (v == null ? '—' : `${v.toFixed(2)}%`) },
      { el: 'chart-latency', kind: 'latency', fmt: (v) => fmtMs(v) },
    ];
    for (const d of defs) {
      const el = $(d.el);
      el.replaceChildren();
      const series = seriesFor(d.kind, targetKeys);
      const opts = {
        ...chartSize(el),
        cursor: { drag: { x: false, y: false }, points: { size: 6 } },
        legend: { live: true },
        scales: {
          x: { time: true },
          y: { range: (u, min, max) => [0, Math.max(d.kind === 'errors' ? 1 : d.kind === 'rate' ? 1 : 5, (max ?? 0) * 1.15)] },
        },
        axes: [
          {
            ...axisStyle,
            space: 76,
            // Seconds only when the ticks are less than a minute apart.
            values: (u, ticks, _axis, _space, incr) =>
              ticks.map((t) => new Date(t * 1000).toLocaleTimeString([], { hour12: false, hour: '2-digit', minute: '2-digit', ...(incr < 60 ? { second: '2-digit' } : {}) })),
          },
          { ...axisStyle, size: 48, values: (u, ticks) => ticks.map((t) => (d.kind === 'latency' ? `${t}` : d.kind === 'errors' ? `${t}%` : `${t}`)) },
        ],
        series: [
          { label: 'time', value: (u, v) => (v == null ? '—' : new Date(v * 1000).toLocaleTimeString([], { hour12: false })) },
          ...series.map((s) => ({
            label: s.label,
            stroke: s.stroke,
            width: s.width,
            dash: s.dash,
            spanGaps: false,
            points: { show: false },
            show: s.target === (state.seriesMode === 'targets'),
            value: (u, v) => d.fmt(v),
          })),
        ],
      };
      const plot = new uPlot(opts, emptyData(series.length), el);
      charts.list.push({ plot, series, el, kind: d.kind });
    }
  }

  const emptyData = (n) => [[], ...Array.from({ length: n }, () => [])];

  function renderCharts() {
    const targetKeys = [...new Set(state.history.flatMap((s) => Object.keys(s.targets)))].sort();
    const key = targetKeys.join('|');
    if (!charts.list.length || charts.key !== key) {
      charts.key = key;
      buildCharts(targetKeys);
    }
    const now = Date.now() / 1000;
    const xs = state.history.map((s) => s.t);
    // The axis grows with the data up to 5 minutes (never under one), so a fresh page is not a flat line in a corner.
    const xMin = Math.min(now - 60, Math.max(now - HISTORY_S, xs[0] ?? now));
    for (const c of charts.list) {
      const data = [xs, ...c.series.map((s) => state.history.map((sample) => { const v = s.pick(sample); return v == null ? null : v; }))];
      c.plot.batch(() => {
        c.plot.setData(data, false);
        c.plot.setScale('x', { min: xMin, max: now });
      });
    }
  }

  function setSeriesMode(mode) {
    state.seriesMode = mode;
    $('series-colours').setAttribute('aria-pressed', String(mode === 'colours'));
    $('series-targets').setAttribute('aria-pressed', String(mode === 'targets'));
    for (const c of charts.list) {
      c.series.forEach((s, i) => c.plot.setSeries(i + 1, { show: s.target === (mode === 'targets') }));
    }
  }

  const resizer = new ResizeObserver(() => {
    for (const c of charts.list) {
      const size = chartSize(c.el);
      if (size.width !== c.plot.width || size.height !== c.plot.height) c.plot.setSize(size);
    }
  });

  function renderAll() {
    renderState();
    renderObserved();
    renderTargets();
    renderEvents();
    renderRollout();
    renderVerification();
    renderShadow();
    renderCharts();
  }

  // ---------------------------------------------------------------- actions

  /** Confirms, calls the API, shows the server's refusal verbatim, then refreshes. */
  async function act({ title, text, okLabel, danger, call }) {
    if (state.busy) return;
    // The version the operator saw when deciding: if the state moves while the confirmation is
    // open, the server answers 412 rather than applying a decision made on stale information.
    const seenVersion = state.current?.version;
    if (!(await confirmAction(title, text, okLabel, danger))) return;
    state.busy = true;
    document.body.classList.add('busy');
    try {
      const result = await call(seenVersion);
      hideBanner();
      if (result && Number.isInteger(result.version) && result.active) {
        state.changedAt = Date.now();
        applyState(result);
      }
      return true;
    } catch (error) {
      if (error instanceof ApiError && error.status === 401) {
        forgetToken(`Token refused by the server (${error.describe()})`);
        return false;
      }
      const hint = error.status === 412 ? ' — someone else changed the state first; the page now shows the latest state, review and retry.' : '';
      showBanner(`${title} refused: ${error instanceof ApiError ? error.describe() : error.message}${hint}`);
      return false;
    } finally {
      state.busy = false;
      document.body.classList.remove('busy');
      refreshNow();
    }
  }

  function readWeight() {
    const raw = $('weight-input').value.trim();
    const w = Number(raw);
    if (raw === '' || !Number.isFinite(w) || w < 0 || w > 100) return null;
    return w;
  }

  async function onApplyWeight(e) {
    e.preventDefault();
    const w = readWeight();
    if (w === null) {
      showBanner('Weight must be a number from 0 to 100.');
      return;
    }
    const s = state.current;
    const ok = await act({
      title: 'Set canary weight',
      text: `Send ${fmtWeight(w)} of traffic to ${s?.canary?.colour ?? 'the canary'} (now ${fmtWeight(s?.canary?.weight)})?`,
      okLabel: `Set ${fmtWeight(w)}`,
      call: (v) => api('PUT', '/api/v1/canary', { weight: w }, { ifMatch: v }),
    });
    if (ok) {
      state.weightDirty = false;
      renderState();
    }
  }

  function verifyNote() {
    const raw = $('flip-verify').value.trim();
    if (raw === '') return ' The config\'s routing.verify period applies, if any.';
    return Number(raw) === 0 ? ' No verification period.' : ` Verified for ${Number(raw)} s: a failing verdict flips straight back.`;
  }

  /** The flip's body: no body (routing.verify applies), `verify: false` for 0, else `{ verify: { seconds } }`. */
  function flipBody() {
    const raw = $('flip-verify').value.trim();
    if (raw === '') return undefined;
    const seconds = Number(raw);
    return seconds === 0 ? { verify: false } : { verify: { seconds } };
  }

  function wire() {
    $('token-form').addEventListener('submit', onTokenSubmit);
    // The token dialog cannot be dismissed while there is no token: every panel needs it.
    $('token-dialog').addEventListener('cancel', (e) => {
      if (!token) e.preventDefault();
    });
    $('change-token').addEventListener('click', () => askToken(''));
    $('token-cancel').addEventListener('click', () => $('token-dialog').close());
    $('token-forget').addEventListener('click', () => forgetToken(''));
    $('banner-close').addEventListener('click', hideBanner);

    const slider = $('weight-slider');
    const input = $('weight-input');
    slider.addEventListener('input', () => {
      input.value = slider.value;
      state.weightDirty = true;
      renderWeightPending();
    });
    input.addEventListener('input', () => {
      const w = readWeight();
      if (w !== null) slider.value = String(w);
      state.weightDirty = true;
      renderWeightPending();
    });
    $('weight-reset').addEventListener('click', () => {
      state.weightDirty = false;
      renderState();
    });
    $('weight-form').addEventListener('submit', onApplyWeight);

    $('flip').addEventListener('click', () => {
      const s = state.current;
      act({
        title: 'Flip',
        text: `${s?.canary?.colour ?? 'The idle colour'} becomes active and takes all traffic; ${s?.active ?? 'the active colour'} becomes idle; weight 0.${verifyNote()}`,
        okLabel: `Flip to ${s?.canary?.colour ?? 'idle'}`,
        call: (v) => api('POST', '/api/v1/flip', flipBody(), { ifMatch: v }),
      });
    });
    $('verify-revert').addEventListener('click', () => {
      const v = state.current?.verification;
      act({
        title: 'Revert now',
        text: `End the verification and flip back to ${v?.from ?? 'the old colour'} now (a flip.revert)?`,
        okLabel: `Revert to ${v?.from ?? 'old colour'}`,
        danger: true,
        call: (ver) => api('POST', '/api/v1/verification/revert', undefined, { ifMatch: ver }),
      });
    });
    $('rollback').addEventListener('click', () => {
      const s = state.current;
      const w = s?.canary?.weight ?? 0;
      act({
        title: 'Rollback',
        text: w > 0 ? `Send all traffic back to ${s.active} (canary weight ${fmtWeight(w)} → 0%)?` : 'Undo the last flip (the previously active colour becomes active again, weight 0)?',
        okLabel: 'Rollback',
        danger: true,
        call: (v) => api('POST', '/api/v1/rollback', undefined, { ifMatch: v }),
      });
    });

    const rolloutAction = (name, label, text, danger = false) =>
      $(`rollout-${name}`).addEventListener('click', () =>
        act({ title: `${label} rollout`, text, okLabel: label, danger, call: (v) => api('POST', `/api/v1/rollouts/current/${name}`, undefined, { ifMatch: v }) }),
      );
    rolloutAction('pause', 'Pause', 'Hold the rollout at its current step (analysis keeps running)?');
    rolloutAction('resume', 'Resume', 'Resume the rollout from its current step?');
    rolloutAction('promote', 'Promote', 'Skip the remaining steps and promote the canary now (a flip)?');
    rolloutAction('abort', 'Abort', 'Abort the rollout and send all traffic back to the stable colour (weight 0)?', true);

    $('rollout-start').addEventListener('click', () => {
      $('rollout-error').hidden = true;
      if (!$('rollout-body').value.trim()) $('rollout-body').value = JSON.stringify(DEFAULT_ROLLOUT, null, 2);
      $('rollout-dialog').showModal();
    });
    $('rollout-cancel').addEventListener('click', () => $('rollout-dialog').close());
    $('rollout-form').addEventListener('submit', async (e) => {
      e.preventDefault();
      let body;
      try {
        body = JSON.parse($('rollout-body').value);
      } catch (error) {
        $('rollout-error').textContent = `Not valid JSON: ${error.message}`;
        $('rollout-error').hidden = false;
        return;
      }
      $('rollout-dialog').close();
      await act({
        title: 'Start rollout',
        text: `Start a ${Array.isArray(body.steps) ? body.steps.length : '?'}-step rollout of ${state.current?.canary?.colour ?? 'the canary'}?`,
        okLabel: 'Start',
        call: (v) => api('POST', '/api/v1/rollouts', body, { ifMatch: v }),
      });
    });

    $('series-colours').addEventListener('click', () => setSeriesMode('colours'));
    $('series-targets').addEventListener('click', () => setSeriesMode('targets'));
    for (const id of ['chart-rate', 'chart-errors', 'chart-latency']) resizer.observe($(id));
  }

  function main() {
    restoreHistory();
    wire();
    renderRollout();
    renderVerification();
    renderCharts();
    if (token) startPolling();
    else askToken('');
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', main);
  else main();
})();
