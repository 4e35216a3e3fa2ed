// Keeps one `process.nextTick` queue entry (a "TickObject") alive for the life of the process.
//
// Why: Node builds each queue entry as an object literal with computed symbol keys
// (`{ [async_id_symbol]: …, [trigger_async_id_symbol]: …, [async_context_frame]: …, callback, args }`,
// lib/internal/process/task_queues.js). V8 remembers the hidden classes ("maps") those stores
// see, weakly, in the feedback of `nextTick` and in its optimised code; the maps themselves
// are only weakly reachable once no entry is alive. A full (mark-compact) GC that runs while
// the queue happens to be empty clears them; the next entry gets fresh maps, the feedback goes
// megamorphic and `nextTick` runs every one of those stores through the runtime from then on.
// Seen at startup, where loading the app costs a mark-compact; after traffic, V8 retains
// recently used maps for a few GCs, and a 45 s idle spell did not trigger it (a longer one
// might). Streams and the HTTP server call nextTick several times per request: measured under
// load, `turnout serve` spent ~5 µs a request more than the same app started another way, all
// of it under Runtime_DefineKeyedOwnPropertyInLiteral and map-transition lookups called from
// nextTick. One live entry keeps the maps, and so the fast path, for good. How it was found:
// README, "Data-plane design and benchmarks".
import { createHook } from 'node:async_hooks';

let pinned: object | undefined;

/**
 * Captures and keeps one TickObject. Call it first thing, before loading the rest of the app
 * (its startup GCs are what clear the maps). Idempotent.
 */
export function pinTickObjectShape(): void {
  if (pinned !== undefined) return;
  // The init hook is the only public way to see a TickObject; it is enabled for one call.
  const hook = createHook({
    init(_asyncId, type, _triggerAsyncId, resource) {
      if (type === 'TickObject' && pinned === undefined) pinned = resource;
    },
  }).enable();
  try {
    process.nextTick(noop);
  } finally {
    hook.disable();
  }
}

/** The TickObject held, if any (for the test). */
export function pinnedTickObject(): object | undefined {
  return pinned;
}

function noop(): void {}
