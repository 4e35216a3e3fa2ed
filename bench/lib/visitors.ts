// The clients every contender serves: each load-generator connection is one returning visitor
// carrying its own sticky-id cookie. The same requests go to every contender, proxies that
// ignore the cookie included (they still parse and forward it), so no contender is measured on
// lighter traffic than another. The run tag changes the ids, and so the buckets, from run to run.
import { randomBytes } from 'node:crypto';

const RUN_TAG = randomBytes(4).toString('hex');

/** Request headers of load-generator connection `index`. */
export function visitorHeaders(index: number): Record<string, string> {
  return { cookie: `turnout_id=bench-${index}-${RUN_TAG}` };
}
