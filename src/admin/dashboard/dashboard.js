// Turnout dashboard: polls the admin API once a second and drives it with the operator's token.
// Plain browser JS as native ES modules, no framework, no build step (script-src 'self' allows
// module scripts from the same origin). Runs under a strict CSP: no inline script or style, data
// never parsed as HTML (the DOM is built with textContent), styles only through classes and CSSOM
// properties (el.style.width), which style-src 'self' allows.
//
// Modules (each a file beside this one, served as /dashboard/<name>.js):
//   dom.js      helpers: $, h(), formatting, banner, confirmation dialog
//   state.js    the shared mutable state (and the token)
//   api.js      the admin API client and the /metrics counters
//   charts.js   the sample history and the uPlot charts
//   render.js   one render function per panel
//   poll.js     the once-a-second polling loop
//   token.js    the token dialog
//   actions.js  the operator's actions and every listener (wire)
//   services.js the service picker (CONTRACT §10) and the service's prefix on API paths
import { wire } from './actions.js';
import { renderCharts, restoreHistory } from './charts.js';
import { startPolling } from './poll.js';
import { renderRollout, renderVerification } from './render.js';
import { showBanner } from './dom.js';
import { ApiError } from './api.js';
import { loadServices } from './services.js';
import { state } from './state.js';
import { askToken, forgetToken } from './token.js';

async function main() {
  restoreHistory();
  wire();
  renderRollout();
  renderVerification();
  renderCharts();
  if (!state.token) return askToken('');
  try {
    await loadServices();
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) return forgetToken(`Token refused by the server (${error.describe()})`);
    showBanner(`Could not list the services (${error instanceof ApiError ? error.describe() : error.message})`);
  }
  startPolling();
}

if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', main);
else main();
