// The service picker (CONTRACT §10): one Turnout fronts many services, each with its own state,
// rollout, shadow, telemetry and events. The page acts on one at a time: the chosen service is in
// the URL (`?service=shop`), so a link or a reload keeps it, and every card reads that service's
// routes (api.js prefixes them). With a single service the picker stays hidden and the page uses
// the unprefixed routes, as before services existed.
import { $, h, showBanner } from './dom.js';
import { api } from './api.js';
import { renderCharts } from './charts.js';
import { HISTORY_KEY, state } from './state.js';

/** The first path segment after /api/v1/ of every per-service route. */
const SERVICE_ROUTES = new Set(['state', 'canary', 'flip', 'rollback', 'events', 'upstreams', 'rollouts', 'shadow', 'verification', 'override-links']);

/** `/api/v1/state` → `/api/v1/services/shop/state` when a service is chosen; other paths unchanged. */
export function servicePath(path) {
  if (!state.service) return path;
  const m = /^\/api\/v1\/([^/?]+)(.*)$/.exec(path);
  if (!m || !SERVICE_ROUTES.has(m[1])) return path;
  return `/api/v1/services/${encodeURIComponent(state.service)}/${m[1]}${m[2]}`;
}

/** The `?service=` of the page's URL ('' when absent). */
export function serviceFromUrl() {
  return new URLSearchParams(location.search).get('service') ?? '';
}

function keepInUrl(name) {
  const url = new URL(location.href);
  if (name) url.searchParams.set('service', name);
  else url.searchParams.delete('service');
  history.replaceState(null, '', url);
}

/**
 * Loads GET /api/v1/services and settles which service the page acts on: the URL's when it is
 * one of them, else the first (several services) or the only one. `token`: for the token check.
 */
export async function loadServices(token) {
  const { services } = await api('GET', '/api/v1/services', undefined, token ? { token } : {});
  state.services = services;
  const wanted = serviceFromUrl();
  const known = services.some((s) => s.name === wanted);
  if (wanted && !known) showBanner(`No service "${wanted}" on this server (services: ${services.map((s) => s.name).join(', ')}); showing ${services[0].name}.`);
  if (known) state.service = wanted;
  else state.service = services.length > 1 ? services[0].name : '';
  state.serviceName = state.service || services[0].name;
  keepInUrl(known || services.length > 1 ? state.service : '');
  renderPicker();
}

export function renderPicker() {
  const list = state.services ?? [];
  const picker = $('service-picker');
  picker.hidden = list.length <= 1;
  const select = $('service-select');
  const names = list.map((s) => s.name).join('\n');
  if (select.dataset.names !== names) {
    select.replaceChildren(...list.map((s) => h('option', { value: s.name, text: s.name, title: describeMatch(s.match) })));
    select.dataset.names = names;
  }
  select.value = state.serviceName;
  document.title = list.length > 1 ? `Turnout · ${state.serviceName}` : 'Turnout';
}

function describeMatch(match) {
  const hosts = match.hosts.length ? match.hosts.join(', ') : 'any host';
  return `${hosts}, path ${match.pathPrefix}`;
}

/** Switches the page to another service: forgets what it showed of the previous one. */
export function chooseService(name) {
  if (name === state.serviceName) return;
  state.service = name;
  state.serviceName = name;
  keepInUrl(name);
  state.current = null;
  state.upstreams = null;
  state.rollout = null;
  state.shadow = null;
  state.shadowRates = [];
  state.events = [];
  state.eventsVersion = -1;
  state.weightDirty = false;
  state.history = [];
  sessionStorage.removeItem(HISTORY_KEY);
  renderPicker();
  renderCharts();
}
