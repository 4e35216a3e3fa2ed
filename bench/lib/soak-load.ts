// The traffic of the soak (`npm run bench:soak`): paced client requests of several kinds, client
// aborts, and floods of idle sockets. Each part counts what it saw; the soak prints the counts.
import net from 'node:net';
import { Agent, request } from 'undici';
import { sleep } from './stats.ts';

export interface LoadCounts {
  requests: number;
  byStatus: Record<string, number>;
  /** Transport errors seen by clients that did not mean to abort. */
  errors: number;
  aborted: number;
  floodSockets: number;
}

export interface LoadOptions {
  readonly url: string;
  /** Concurrent client loops. */
  readonly concurrency: number;
  /** Requests per second over all loops (paced; the proxy is not saturated). */
  readonly rate: number;
}

const UPLOAD = Buffer.alloc(16 * 1024, 'u');

/** Paced mixed requests until stop() is called. */
export class MixedLoad {
  readonly counts: LoadCounts = { requests: 0, byStatus: {}, errors: 0, aborted: 0, floodSockets: 0 };
  private running = true;
  private readonly agent: Agent;
  private readonly loops: Promise<void>[] = [];
  private readonly options: LoadOptions;

  constructor(options: LoadOptions) {
    this.options = options;
    this.agent = new Agent({ connections: options.concurrency, keepAliveTimeout: 10_000 });
    for (let i = 0; i < options.concurrency; i++) this.loops.push(this.loop(i));
  }

  private count(status: number | string): void {
    this.counts.requests++;
    const key = String(status);
    this.counts.byStatus[key] = (this.counts.byStatus[key] ?? 0) + 1;
  }

  private async loop(id: number): Promise<void> {
    const periodMs = (this.options.concurrency * 1000) / this.options.rate;
    // Each loop is one returning visitor (sticky cookie); a few use the override.
    const cookie = `turnout_id=soak-${id}`;
    let n = 0;
    while (this.running) {
      const started = performance.now();
      const draw = (n++ * 7919 + id * 104729) % 1000;
      try {
        if (draw < 20) await this.abortedRequest(cookie, draw);
        else if (draw < 60) await this.upload(cookie);
        else if (draw < 70) await this.download(cookie, 256 * 1024);
        else await this.get(cookie, draw < 120 ? 'green' : undefined);
      } catch {
        this.counts.errors++;
      }
      const left = periodMs - (performance.now() - started);
      if (left > 0) await sleep(left);
    }
  }

  private async get(cookie: string, override: string | undefined): Promise<void> {
    const headers: Record<string, string> = { cookie };
    if (override) headers['x-turnout-colour'] = override;
    const res = await request(`${this.options.url}/hello`, { dispatcher: this.agent, headers });
    await res.body.dump();
    this.count(res.statusCode);
  }

  private async upload(cookie: string): Promise<void> {
    const res = await request(`${this.options.url}/upload`, { dispatcher: this.agent, method: 'POST', headers: { cookie, 'content-type': 'application/octet-stream' }, body: UPLOAD });
    await res.body.dump();
    this.count(res.statusCode);
  }

  private async download(cookie: string, bytes: number): Promise<void> {
    const res = await request(`${this.options.url}/download?bytes=${bytes}`, { dispatcher: this.agent, headers: { cookie } });
    for await (const _ of res.body) {
      // read it all
    }
    this.count(res.statusCode);
  }

  /** A client that gives up: before the answer (slow upstream) or in the middle of a body. */
  private async abortedRequest(cookie: string, draw: number): Promise<void> {
    const signal = AbortSignal.timeout(20 + (draw % 10) * 15);
    const path = draw % 2 === 0 ? '/slow?ms=2000' : `/download?bytes=${8 * 1024 * 1024}`;
    try {
      const res = await request(`${this.options.url}${path}`, { dispatcher: this.agent, headers: { cookie }, signal });
      for await (const _ of res.body) {
        // until the signal fires
      }
      this.count(res.statusCode);
    } catch {
      this.counts.aborted++;
    }
  }

  /**
   * Opens `sockets` connections and holds them for `holdMs`: half send nothing, half send the
   * start of a request and stop (slowloris); then drops them all.
   */
  async flood(sockets: number, holdMs: number): Promise<void> {
    const { hostname, port } = new URL(this.options.url);
    const open: net.Socket[] = [];
    for (let i = 0; i < sockets; i++) {
      const socket = net.connect(Number(port), hostname);
      socket.on('error', () => {});
      if (i % 2 === 1) socket.write('GET /hello HTTP/1.1\r\nHost: soak\r\nx-partial: ');
      open.push(socket);
    }
    this.counts.floodSockets += sockets;
    await sleep(holdMs);
    for (const socket of open) socket.destroy();
  }

  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.loops);
    await this.agent.close();
  }
}
