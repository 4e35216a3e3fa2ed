// A data-plane proxy in its own process, so a test can measure its memory alone:
//   node test/helpers/proxy-child.ts <upstream-url>   → prints {"port": N} and serves until killed.
import { startProxy } from './proxy.ts';

const upstream = process.argv[2]!;
const proxy = await startProxy({ teardown() {} }, { blue: [upstream], green: [upstream] });
process.stdout.write(JSON.stringify({ port: proxy.port }) + '\n');
