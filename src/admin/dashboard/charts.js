// The charts: the sample history (kept for the tab in sessionStorage) and the uPlot charts drawn
// from it. uPlot is the classic script loaded before the modules (globalThis.uPlot).
import { $, COLOURS, PALETTE, fmtMs, fmtRate, targetLabel } from './dom.js';
import { HISTORY_KEY, state } from './state.js';

const HISTORY_S = 300; // charts show the last 5 minutes
export const RATE_SPAN_S = 5; // request and error rates: over the last 5 seconds

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
export function metricsOf(s, windowSeconds, key, t, counts) {
  if (!s) return null;
  const fromWindow = {
    rate: Number.isFinite(s.requests) ? s.requests / windowSeconds : null,
    errRate: Number.isFinite(s.errorRate) ? s.errorRate * 100 : null,
  };
  const rates = counts ? counterRates(key, t, counts) : fromWindow;
  return { ...rates, p50: s.latencyMs.p50, p99: s.latencyMs.p99 };
}

export function recordSample(ups, counts) {
  const t = Date.now() / 1000;
  const sample = { t, colours: {}, targets: {}, counts: counts ?? null };
  if (ups && ups.colours) {
    const win = ups.windowSeconds;
    for (const c of COLOURS) {
      const cs = ups.colours[c];
      sample.colours[c] = metricsOf(cs, win, c, t, counts);
      for (const tg of cs.targets) sample.targets[`${c} ${tg.url}`] = metricsOf(tg, win, `${c} ${tg.url}`, t, counts);
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

export function restoreHistory() {
  try {
    const saved = JSON.parse(sessionStorage.getItem(HISTORY_KEY) ?? '[]');
    const since = Date.now() / 1000 - HISTORY_S;
    if (Array.isArray(saved)) state.history = saved.filter((s) => s && Number.isFinite(s.t) && s.t >= since && s.colours && s.targets);
  } catch {
    state.history = [];
  }
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
  if (typeof globalThis.uPlot !== 'function') return;
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
    const plot = new globalThis.uPlot(opts, emptyData(series.length), el);
    charts.list.push({ plot, series, el, kind: d.kind });
  }
}

const emptyData = (n) => [[], ...Array.from({ length: n }, () => [])];

export function renderCharts() {
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

export function setSeriesMode(mode) {
  state.seriesMode = mode;
  $('series-colours').setAttribute('aria-pressed', String(mode === 'colours'));
  $('series-targets').setAttribute('aria-pressed', String(mode === 'targets'));
  for (const c of charts.list) {
    c.series.forEach((s, i) => c.plot.setSeries(i + 1, { show: s.target === (mode === 'targets') }));
  }
}

export const resizer = new ResizeObserver(() => {
  for (const c of charts.list) {
    const size = chartSize(c.el);
    if (size.width !== c.plot.width || size.height !== c.plot.height) c.plot.setSize(size);
  }
});
