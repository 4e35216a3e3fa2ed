// The polling loop: state, upstreams and counters every second; events when the version moved;
// the rollout when there is one.
import { $ } from './dom.js';
import { api, ApiError, fetchCounters } from './api.js';
import { recordSample, renderCharts } from './charts.js';
import { applyState, renderAll } from './render.js';
import { state } from './state.js';
import { forgetToken } from './token.js';

const POLL_MS = 1000;
const EVENTS_LIMIT = 25;

// ---------------------------------------------------------------- polling

export function setConn(kind, text) {
  $('conn').dataset.state = kind;
  $('conn-text').textContent = text;
}

// One polling loop at a time: a refresh asked for while one is in flight runs right after it.
export function startPolling() {
  if (state.polling) return;
  state.polling = true;
  tick();
}
export function stopPolling() {
  state.polling = false;
  clearTimeout(state.timer);
}
export function refreshNow() {
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
  const usedToken = state.token;
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
      if (usedToken === state.token) forgetToken(`Token refused by the server (${error.describe()})`);
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
    state.events = await api('GET', `/api/v1/events?limit=${EVENTS_LIMIT}`); // newest first (an array)
    state.eventsVersion = version;
  } catch (error) {
    if (error.status === 401) throw error;
  }
}

async function refreshRollout() {
  try {
    state.rollout = await api('GET', '/api/v1/rollouts/current');
  } catch (error) {
    if (error.status === 401) throw error;
    if (error.status === 404) state.rollout = null;
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
