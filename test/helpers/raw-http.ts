// Sends raw bytes to a listener and returns whatever came back before the connection closed
// (or `waitMs` passed): for requests no HTTP client would send.
import net from 'node:net';

export function rawExchange(port: number, text: string, waitMs = 1_500): Promise<string> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    let out = '';
    socket.setEncoding('latin1');
    socket.on('data', (d) => (out += d));
    socket.on('close', () => resolve(out));
    socket.on('error', () => resolve(out));
    socket.write(text);
    setTimeout(() => socket.destroy(), waitMs).unref();
  });
}
