// Memory: a large upload and a large download (100 MB in the full run) streamed through the
// proxy; the proxy's RSS is sampled while they run. A proxy that buffers bodies shows it here.
import { Readable } from 'node:stream';
import { request } from 'undici';
import { Sampler } from '../lib/proc-stats.ts';
import { visitorHeaders } from '../lib/visitors.ts';
import type { Live } from './throughput.ts';

export interface TransferResult {
  readonly bytes: number;
  readonly uploadOk: boolean;
  readonly downloadOk: boolean;
  readonly uploadMBps: number;
  readonly downloadMBps: number;
  /** Highest RSS sampled during the transfers, bytes (null for `direct`). */
  readonly peakRssBytes: number | null;
  /** VmHWM after the transfers: the process's lifetime peak, bytes. */
  readonly lifetimePeakRssBytes: number | null;
  readonly error?: string;
}

function generated(bytes: number): Readable {
  const chunk = Buffer.alloc(64 * 1024, 'u');
  let left = bytes;
  return new Readable({
    read() {
      if (left <= 0) {
        this.push(null);
        return;
      }
      const n = Math.min(left, chunk.length);
      left -= n;
      this.push(n === chunk.length ? chunk : chunk.subarray(0, n));
    },
  });
}

export async function transfer(live: Live, bytes: number): Promise<TransferResult> {
  const sampler = live.contender.isProxy ? new Sampler(live.running.pid, 50) : null;
  const headers = visitorHeaders(0);
  let uploadOk = false;
  let downloadOk = false;
  let uploadMBps = 0;
  let downloadMBps = 0;
  let error: string | undefined;
  try {
    let t0 = performance.now();
    const up = await request(`${live.running.url}/upload`, {
      method: 'POST',
      headers: { ...headers, 'content-type': 'application/octet-stream', 'content-length': String(bytes) },
      body: generated(bytes),
      headersTimeout: 60_000,
      bodyTimeout: 60_000,
    });
    const seen = (await up.body.json()) as { bytes?: number };
    uploadOk = up.statusCode === 200 && seen.bytes === bytes;
    uploadMBps = bytes / 1e6 / ((performance.now() - t0) / 1000);

    t0 = performance.now();
    const down = await request(`${live.running.url}/download?bytes=${bytes}`, { headers, headersTimeout: 60_000, bodyTimeout: 60_000 });
    let received = 0;
    for await (const chunk of down.body) received += (chunk as Buffer).length;
    downloadOk = down.statusCode === 200 && received === bytes;
    downloadMBps = bytes / 1e6 / ((performance.now() - t0) / 1000);
  } catch (err) {
    error = (err as Error).message;
  }
  const usage = sampler?.stop();
  return {
    bytes,
    uploadOk,
    downloadOk,
    uploadMBps,
    downloadMBps,
    peakRssBytes: usage ? usage.sampledPeakRss : null,
    lifetimePeakRssBytes: usage ? usage.lifetimePeakRss : null,
    ...(error ? { error } : {}),
  };
}
