// The page's one mutable state object, shared by the modules (an ES module binding cannot be
// reassigned by its importers, so everything that changes is a property of `state`).

export const TOKEN_KEY = 'turnout.adminToken';
export const HISTORY_KEY = 'turnout.history';

// ---------------------------------------------------------------- state

export const state = {
  token: sessionStorage.getItem(TOKEN_KEY) || '', // the admin token, kept for this tab only
  services: null, // last /api/v1/services (CONTRACT §10)
  service: '', // the service the page acts on ('': the unprefixed routes, a single-service server)
  serviceName: '', // its name (also with a single service): the `service` label of /metrics
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
