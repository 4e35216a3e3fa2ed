// CONTRACT §10: one listener, many services. The listener calls this dispatcher, which finds the
// request's service (routing/service-match.ts, built at config load) and hands the request to
// that service's own data plane (its snapshot, pools, retry budgets, recorder, shadow). A single
// service matching everything is returned as it is: a §2 config pays nothing for services.
import type { DataPlane, RequestHandler, UpgradeHandler } from './data-plane.ts';
import { NO_MATCH, type ServiceMatcher } from '../routing/service-match.ts';

/** `planes[i]` serves the rule `i` of the matcher. */
export function createDispatcher(matcher: ServiceMatcher, planes: readonly DataPlane[]): DataPlane {
  const first = planes[0];
  if (first === undefined) throw new Error('a dispatcher needs at least one service');
  if (matcher.matchesEverything && planes.length === 1) return first;

  const handleRequest: RequestHandler = (req, res) => {
    const i = matcher.match(req.headers.host, req.url ?? '');
    if (i === NO_MATCH) return first.handleUnmatched(req, res);
    planes[i]!.handleRequest(req, res);
  };
  const handleUpgrade: UpgradeHandler = (req, socket, head) => {
    const i = matcher.match(req.headers.host, req.url ?? '');
    if (i === NO_MATCH) return first.handleUnmatchedUpgrade(req, socket, head);
    planes[i]!.handleUpgrade(req, socket, head);
  };
  return {
    handleRequest,
    handleUpgrade,
    // proxy.upgradeProtocols is one setting for every service.
    shouldUpgrade: first.shouldUpgrade,
    handleUnmatched: first.handleUnmatched,
    handleUnmatchedUpgrade: first.handleUnmatchedUpgrade,
  };
}
