// Rendering the panels from `state`: the routing state, the observed split and targets, the
// audit events, the rollout and the post-flip verification.
import { $, COLOURS, fmtMs, fmtPct, fmtRate, fmtTime, fmtWeight, h, targetLabel } from './dom.js';
import { metricsOf, RATE_SPAN_S, renderCharts } from './charts.js';
import { state } from './state.js';

/** `polledAt`: when the poll that fetched `s` started; a change made since then wins over it. */
export function applyState(s, polledAt) {
  if (polledAt !== undefined && polledAt < state.changedAt && state.current && s.version < state.current.version) return;
  state.current = s;
  renderState();
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

export function renderState() {
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

  const split = s.split;
  setSplit('requested-split', split.blue, split.green);
  $('requested-split-text').textContent = `blue ${fmtWeight(split.blue)} · green ${fmtWeight(split.green)}`;

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

export function renderWeightPending() {
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
  $('observed-window').textContent = `(last ${ups.windowSeconds} s)`;
  $('charts-note').textContent =
    state.ratesFrom === 'counters'
      ? `Request and error rates over the last ${RATE_SPAN_S} s (from /metrics); latency percentiles over the sliding ${ups.windowSeconds} s window.`
      : `Each point is the sliding ${ups.windowSeconds} s window as seen at that second.`;
  $('observed-split-text').textContent =
    total > 0 ? `blue ${fmtPct(bp)} · green ${fmtPct(gp)} · ${total} req` : 'no requests in the window';

  const win = ups.windowSeconds;
  const latest = state.history.at(-1);
  const cards = COLOURS.map((c) => {
    const cs = ups.colours[c];
    if (!cs) return null;
    const m = latest?.colours[c] ?? metricsOf(cs, win, c, 0, null);
    const healthyTargets = cs.targets.filter((t) => t.healthy).length;
    return h(
      'div',
      { class: 'colour-card', 'data-colour': c },
      h('div', { class: 'colour-card-head' }, h('span', { class: 'dot', 'data-colour': c }), h('strong', { text: c }),
        h('span', { class: `health ${cs.healthy ? 'ok' : 'bad'}`, text: cs.healthy ? `healthy ${healthyTargets}/${cs.targets.length}` : 'unhealthy' })),
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
  const win = ups.windowSeconds;
  const latest = state.history.at(-1);
  const rows = [];
  for (const c of COLOURS) {
    for (const tg of ups.colours[c].targets) {
      const m = latest?.targets[`${c} ${tg.url}`] ?? metricsOf(tg, win, '', 0, null);
      rows.push(
        h('tr', {},
          h('td', { class: 'target-cell' }, h('span', { class: 'dot', 'data-colour': c }), h('span', { class: 'mono', text: targetLabel(tg.url), title: tg.url })),
          h('td', {}, h('span', { class: `health ${tg.healthy ? 'ok' : 'bad'}`, text: tg.healthy ? 'healthy' : 'unhealthy' })),
          h('td', { class: 'num', text: fmtRate(m.rate) }),
          h('td', { class: `num ${m.errRate > 0 ? 'bad' : ''}`, text: fmtPct(m.errRate, 2) }),
          h('td', { class: 'num', text: `${fmtMs(m.p50).replace(' ms', '')} · ${fmtMs(m.p99)}` }),
          h('td', { class: 'num', text: String(tg.inFlight) }),
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

/** "120 req · 0.83% err · p99 45 ms" for one side of a verdict. */
function sampleText(x) {
  if (!x || !Number.isFinite(x.requests)) return '';
  const err = x.requests > 0 ? (x.errors / x.requests) * 100 : 0;
  return `${x.requests} req · ${err.toFixed(2)}% err · p99 ${fmtMs(x.p99Ms ?? null)}`;
}

export function renderRollout() {
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

  // The full view has `analysis` (the /state summary does not).
  const analysis = Array.isArray(r?.analysis) ? r.analysis.slice(-4).reverse() : [];
  $('rollout-analysis').replaceChildren(
    ...(analysis.length ? [h('div', { class: 'label', text: 'Analysis, newest first' })] : []),
    ...analysis.map((a) => {
      const v = a.result;
      const cls = v === 'pass' ? 'ok' : v === 'fail' ? 'bad' : 'warn';
      // Only what held or failed the step; a pass says so. The full reasoning is in the tooltip.
      const all = a.reasons;
      const notPassed = a.checks.filter((c) => c.result !== 'pass').map((c) => c.reason);
      const why = v === 'pass' ? 'all checks passed' : (notPassed.length ? notPassed : all).join('; ');
      return h('div', { class: 'verdict-row', title: all.join('\n') },
        h('span', { class: `verdict ${cls}`, text: v }),
        h('span', { class: 'verdict-when muted mono small' },
          h('span', { text: fmtTime(a.at) }),
          h('span', { text: `step ${a.step + 1}` })),
        h('span', { class: 'small verdict-detail' },
          h('span', { class: 'reason', text: why }),
          h('span', { class: 'muted', text: `canary ${sampleText(a.canary)}` }),
          h('span', { class: 'muted', text: `stable  ${sampleText(a.stable)}` })));
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
export function renderVerification() {
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
  const verdicts = v ? v.verdicts.slice(-4).reverse() : [];
  $('verify-verdicts').replaceChildren(
    ...(verdicts.length ? [h('div', { class: 'label', text: 'Verdicts, newest first' })] : []),
    ...(!v ? [h('p', { class: 'muted small', text: 'No flip has been verified yet. A flip with a period (or routing.verify) is judged here.' })] : []),
    ...verdicts.map((a) => {
      const cls = a.result === 'pass' ? 'ok' : a.result === 'fail' ? 'bad' : 'warn';
      const all = a.reasons;
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

export function renderAll() {
  renderState();
  renderObserved();
  renderTargets();
  renderEvents();
  renderRollout();
  renderVerification();
  renderShadow();
  renderCharts();
}

// CONTRACT §9: the shadow comparison card (state.shadow from GET /api/v1/shadow).
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
    ` · errors ${v.results.error} · dropped ${v.dropped}`;
  const rates = state.shadowRates;
  const n = rates.length;
  $('shadow-line').setAttribute('points', rates.map((r, i) => `${n > 1 ? (i * 300) / (n - 1) : 0},${40 - (r === null ? 0 : r) * 38}`).join(' '));
  $('shadow-noise').textContent = v.noise.length ? `learnt noise: ${v.noise.map((x) => x.key).join(', ')}` : 'no noise learnt';
  const list = $('shadow-samples');
  list.replaceChildren(...v.samples.slice(0, 10).map((s) => h('li', {}, `${s.method} ${s.path} — ${s.kinds.join('+')} at ${s.first}` + (s.differences[0] ? `: ${s.differences[0].live} ≠ ${s.differences[0].shadow}` : ''))));
}
