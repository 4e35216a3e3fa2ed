// The operator's actions: every change is confirmed, sent with If-Match (the version the operator
// saw), and a refusal is shown verbatim. wire() attaches every control's listener.
import { $, confirmAction, fmtWeight, hideBanner, showBanner } from './dom.js';
import { api, ApiError } from './api.js';
import { resizer, setSeriesMode } from './charts.js';
import { refreshNow } from './poll.js';
import { chooseService } from './services.js';
import { applyState, renderState, renderWeightPending } from './render.js';
import { state } from './state.js';
import { askToken, forgetToken, onTokenSubmit } from './token.js';

const DEFAULT_ROLLOUT = {
  steps: [
    { weight: 5, holdSeconds: 30 },
    { weight: 25, holdSeconds: 60 },
    { weight: 100, holdSeconds: 60 },
  ],
  analysis: { intervalSeconds: 10, minRequests: 50, maxErrorRate: 0.02, maxP99Ms: 800, maxP99Ratio: 1.5 },
  onSuccess: 'promote',
};

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

export function wire() {
  $('token-form').addEventListener('submit', onTokenSubmit);
  // The token dialog cannot be dismissed while there is no token: every panel needs it.
  $('token-dialog').addEventListener('cancel', (e) => {
    if (!state.token) e.preventDefault();
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

  $('service-select').addEventListener('change', (e) => {
    chooseService(e.target.value);
    renderState();
    refreshNow();
  });

  $('series-colours').addEventListener('click', () => setSeriesMode('colours'));
  $('series-targets').addEventListener('click', () => setSeriesMode('targets'));
  for (const id of ['chart-rate', 'chart-errors', 'chart-latency']) resizer.observe($(id));
}
