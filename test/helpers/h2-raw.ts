// A raw HTTP/2 client over TLS that writes frames by hand (RFC 9113 §4, HPACK literals from RFC
// 7541 §6.2.2): for floods a well-behaved client library refuses to send (rapid reset,
// CONTINUATION without end, header lists beyond the peer's limit). Reads the server's frames
// and records GOAWAY, RST_STREAM and HEADERS per stream.
import tls from 'node:tls';

export const FRAME = { DATA: 0, HEADERS: 1, RST_STREAM: 3, SETTINGS: 4, PING: 6, GOAWAY: 7, WINDOW_UPDATE: 8, CONTINUATION: 9 } as const;
export const FLAG = { END_STREAM: 0x1, ACK: 0x1, END_HEADERS: 0x4 } as const;
const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n');

export interface RawFrame {
  type: number;
  flags: number;
  stream: number;
  payload: Buffer;
}

/** HPACK integer with an N-bit prefix (RFC 7541 §5.1). */
function hpackInt(value: number, prefixBits: number, firstByte: number): number[] {
  const max = (1 << prefixBits) - 1;
  if (value < max) return [firstByte | value];
  const out = [firstByte | max];
  value -= max;
  while (value >= 128) {
    out.push((value % 128) + 128);
    value = Math.floor(value / 128);
  }
  out.push(value);
  return out;
}

function hpackString(s: string): Buffer {
  const bytes = Buffer.from(s, 'latin1');
  return Buffer.concat([Buffer.from(hpackInt(bytes.length, 7, 0)), bytes]);
}

/** A literal field without indexing, new name (RFC 7541 §6.2.2). */
export function hpackField(name: string, value: string): Buffer {
  return Buffer.concat([Buffer.from([0x00]), hpackString(name), hpackString(value)]);
}

/** GET `path` on `authority` (https), plus extra fields, as one header block. */
export function requestBlock(path: string, authority: string, extra: [string, string][] = []): Buffer {
  return Buffer.concat([
    Buffer.from([0x82, 0x87]), // :method GET, :scheme https (static table 2, 7)
    Buffer.from(hpackInt(4, 4, 0x00)), hpackString(path), // :path, literal value (name index 4)
    Buffer.from(hpackInt(1, 4, 0x00)), hpackString(authority), // :authority (name index 1)
    ...extra.map(([n, v]) => hpackField(n, v)),
  ]);
}

export function frame(type: number, flags: number, stream: number, payload: Buffer = Buffer.alloc(0)): Buffer {
  const head = Buffer.alloc(9);
  head.writeUIntBE(payload.length, 0, 3);
  head[3] = type;
  head[4] = flags;
  head.writeUInt32BE(stream & 0x7fffffff, 5);
  return Buffer.concat([head, payload]);
}

export function rstStream(stream: number, code = 0x8 /* CANCEL */): Buffer {
  const p = Buffer.alloc(4);
  p.writeUInt32BE(code);
  return frame(FRAME.RST_STREAM, 0, stream, p);
}

export class RawH2 {
  readonly socket: tls.TLSSocket;
  readonly frames: RawFrame[] = [];
  goaway: { lastStream: number; code: number } | undefined;
  closed = false;
  private buffer = Buffer.alloc(0);

  private constructor(socket: tls.TLSSocket) {
    this.socket = socket;
    socket.on('data', (chunk: Buffer) => this.read(chunk));
    socket.on('close', () => (this.closed = true));
    socket.on('error', () => (this.closed = true));
  }

  static connect(url: string): Promise<RawH2> {
    const { hostname, port } = new URL(url);
    return new Promise((resolve, reject) => {
      const socket = tls.connect({ host: hostname, port: Number(port), ALPNProtocols: ['h2'], rejectUnauthorized: false }, () => {
        if (socket.alpnProtocol !== 'h2') return reject(new Error(`ALPN ${socket.alpnProtocol}`));
        socket.write(Buffer.concat([PREFACE, frame(FRAME.SETTINGS, 0, 0)]));
        resolve(new RawH2(socket));
      });
      socket.once('error', reject);
    });
  }

  /** Writes, ignoring a connection the server already closed. */
  send(bytes: Buffer): boolean {
    if (this.closed || this.socket.destroyed) return false;
    return this.socket.write(bytes);
  }

  /** Streams the server answered with HEADERS, and those it reset. */
  answered(): Set<number> {
    return new Set(this.frames.filter((f) => f.type === FRAME.HEADERS).map((f) => f.stream));
  }

  resets(): RawFrame[] {
    return this.frames.filter((f) => f.type === FRAME.RST_STREAM);
  }

  close(): void {
    this.socket.destroy();
  }

  private read(chunk: Buffer): void {
    this.buffer = Buffer.concat([this.buffer, chunk]);
    while (this.buffer.length >= 9) {
      const length = this.buffer.readUIntBE(0, 3);
      if (this.buffer.length < 9 + length) break;
      const f: RawFrame = { type: this.buffer[3]!, flags: this.buffer[4]!, stream: this.buffer.readUInt32BE(5) & 0x7fffffff, payload: this.buffer.subarray(9, 9 + length) };
      this.buffer = this.buffer.subarray(9 + length);
      if (f.type === FRAME.SETTINGS && !(f.flags & FLAG.ACK)) this.send(frame(FRAME.SETTINGS, FLAG.ACK, 0));
      if (f.type === FRAME.GOAWAY) this.goaway = { lastStream: f.payload.readUInt32BE(0) & 0x7fffffff, code: f.payload.readUInt32BE(4) };
      if (f.type !== FRAME.DATA) this.frames.push(f); // DATA payloads are not kept: a flood test only counts
    }
  }
}
