// A TCP port whose connects never complete: a listener (python3, backlog 0) that never accepts,
// with its one backlog slot taken, so the kernel drops further SYNs and a connect hangs until the
// client's own timeout (the usual way to exercise a connect timeout on loopback). Node cannot
// listen without accepting, hence python3; a missing python3 skips the test unless CI=true.
import { spawn, spawnSync } from 'node:child_process';
import net from 'node:net';

export function hasPython(): boolean {
  return spawnSync('python3', ['-c', 'pass']).status === 0;
}

export async function blackholePort(t: { teardown(fn: () => unknown): void }): Promise<number> {
  const py = spawn('python3', ['-c', 'import socket,sys\ns=socket.socket()\ns.bind(("127.0.0.1",0))\ns.listen(0)\nprint(s.getsockname()[1],flush=True)\nsys.stdin.read()'], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const port = await new Promise<number>((resolve, reject) => {
    py.once('error', reject);
    py.stdout.once('data', (d) => resolve(Number(String(d).trim())));
  });
  // Take the backlog slot.
  const filler = net.connect(port, '127.0.0.1');
  filler.on('error', () => {});
  await new Promise<void>((resolve) => filler.once('connect', () => resolve()));
  t.teardown(() => {
    filler.destroy();
    py.kill();
  });
  return port;
}

/** skip (locally) or fail (CI=true) when python3 is missing. */
export function pythonSkip(): { skip: string } | Record<string, never> {
  if (hasPython()) return {};
  if (process.env.CI === 'true') throw new Error('python3 is required with CI=true (apt-get install python3)');
  return { skip: 'skipped: python3 not installed (apt-get install python3)' };
}
