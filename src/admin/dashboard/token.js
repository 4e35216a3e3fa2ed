// The token dialog: a token is checked against the API before it is kept (sessionStorage, this tab only).
import { $, hideBanner } from './dom.js';
import { api, ApiError } from './api.js';
import { renderCharts } from './charts.js';
import { setConn, startPolling, stopPolling } from './poll.js';
import { applyState } from './render.js';
import { loadServices } from './services.js';
import { HISTORY_KEY, state, TOKEN_KEY } from './state.js';

export function askToken(message) {
  const dialog = $('token-dialog');
  const err = $('token-error');
  err.hidden = !message;
  err.textContent = message || '';
  $('token-input').value = '';
  $('token-forget').hidden = !state.token;
  $('token-cancel').hidden = !state.token;
  if (!dialog.open) dialog.showModal();
  $('token-input').focus();
}

export async function onTokenSubmit(e) {
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
    // Check the token before keeping it: a refused token is never stored. The service list
    // comes first: with several services the state is read under the chosen one's name.
    await loadServices(candidate);
    const s = await api('GET', '/api/v1/state', undefined, { token: candidate });
    state.token = candidate;
    sessionStorage.setItem(TOKEN_KEY, state.token);
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

export function forgetToken(message) {
  state.token = '';
  sessionStorage.removeItem(TOKEN_KEY);
  sessionStorage.removeItem(HISTORY_KEY);
  state.history = [];
  renderCharts();
  stopPolling();
  setConn('idle', 'not connected');
  askToken(message);
}
