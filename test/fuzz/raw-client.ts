/**
 * A socket.io client with no client library in the way: a real WebSocket speaking Engine.IO 4
 * frames that the test writes itself, so the fuzz can send what socket.io-client never would
 * (malformed packets, forged attachments, reserved event names, bogus namespaces and ack ids).
 */
import { connect } from 'node:net';
import { WebSocket } from 'ws';

export const RAW_TIMEOUT_MS = 5000;

export class RawConnection {
  /** Every text frame received, in order (Engine.IO framing included: "42[...]" is an event). */
  readonly frames: string[] = [];
  #closed = false;
  #waiters: Array<() => boolean> = [];
  #nextId = 1_000;

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data, isBinary) => {
      if (isBinary) return;
      const frame = data.toString();
      // Engine.IO heartbeat: answer pings so a slow run is never mistaken for a dead client.
      if (frame === '2') ws.send('3');
      this.frames.push(frame);
      this.#settle();
    });
    ws.on('close', () => {
      this.#closed = true;
      this.#settle();
    });
    ws.on('error', () => {});
  }

  /** Opens the WebSocket and waits for the Engine.IO handshake; the socket.io CONNECT is the caller's. */
  static async open(httpUrl: string, headers: Record<string, string> = {}): Promise<RawConnection> {
    const attempt = await RawConnection.attempt(httpUrl, headers);
    if (!(attempt instanceof RawConnection)) {
      throw new Error(`the Engine.IO handshake failed: HTTP ${attempt.status} ${attempt.body}`);
    }
    return attempt;
  }

  /** An Engine.IO handshake over WebSocket: the open connection, or the HTTP refusal (status 0: no response). */
  static attempt(
    httpUrl: string,
    headers: Record<string, string> = {},
  ): Promise<RawConnection | { status: number; body: string }> {
    const ws = new WebSocket(`${httpUrl.replace(/^http/, 'ws')}/socket.io/?EIO=4&transport=websocket`, { headers });
    const connection = new RawConnection(ws);
    return new Promise((resolve, reject) => {
      ws.once('unexpected-response', (_request, response) => {
        let body = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => {
          body += chunk;
        });
        const refused = () => {
          ws.terminate();
          resolve({ status: response.statusCode ?? 0, body });
        };
        response.once('end', refused);
        response.once('error', refused);
      });
      connection
        .waitFor((frame) => frame.startsWith('0'))
        .then((opened) => {
          if (opened !== 'closed') resolve(connection);
          // Without an HTTP answer (a refusal resolves above first), the handshake just failed.
          else setImmediate(() => resolve({ status: 0, body: '' }));
        }, reject);
    });
  }

  /**
   * Sends a WebSocket handshake request and hangs up as soon as it is written, without waiting for
   * the answer: a client that leaves while the server is still deciding whether to admit it.
   */
  static abandonHandshake(httpUrl: string): Promise<void> {
    const { hostname, port } = new URL(httpUrl);
    return new Promise((resolve) => {
      const socket = connect(Number(port), hostname);
      socket.on('error', () => {});
      socket.once('close', () => resolve());
      socket.write(
        [
          'GET /socket.io/?EIO=4&transport=websocket HTTP/1.1',
          `Host: ${hostname}:${port}`,
          'Connection: Upgrade',
          'Upgrade: websocket',
          'Sec-WebSocket-Version: 13',
          'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==',
          '',
          '',
        ].join('\r\n'),
        () => socket.destroy(),
      );
    });
  }

  /**
   * Stops reading from the socket, as a client that never reads would: what the server sends
   * piles up in the kernel's buffers, then in the server's.
   */
  pauseReading(): void {
    this.ws.pause();
  }

  resumeReading(): void {
    this.ws.resume();
  }

  get closed(): boolean {
    return this.#closed;
  }

  send(frame: string | Buffer): void {
    if (!this.#closed) this.ws.send(frame);
  }

  /** A fresh ack id, far from any a test hard-codes. */
  nextAckId(): number {
    return this.#nextId++;
  }

  /** Sends `42<id>[event, ...args]` and resolves with the ack's arguments, or 'closed'; rejects on a hang. */
  async command(event: string, ...args: unknown[]): Promise<unknown[] | 'closed'> {
    const id = this.nextAckId();
    this.send(`42${id}${JSON.stringify([event, ...args])}`);
    return this.ackFor(id);
  }

  /** The arguments of ack `id`, or 'closed'. */
  async ackFor(id: number): Promise<unknown[] | 'closed'> {
    const prefix = `43${id}[`;
    const frame = await this.waitFor((f) => f.startsWith(prefix));
    return frame === 'closed' ? 'closed' : (JSON.parse(frame.slice(prefix.length - 1)) as unknown[]);
  }

  /** The first frame (already received or coming) that matches, or 'closed'; rejects after the timeout. */
  waitFor(matches: (frame: string) => boolean, timeoutMs = RAW_TIMEOUT_MS): Promise<string | 'closed'> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        settled = () => true;
        reject(new Error(`hang: no matching frame within ${timeoutMs} ms; last: ${this.frames.slice(-3).join(' | ')}`));
      }, timeoutMs);
      let settled = (): boolean => {
        const found = this.frames.find(matches);
        if (found === undefined && !this.#closed) return false;
        clearTimeout(timer);
        resolve(found ?? 'closed');
        return true;
      };
      if (!settled()) this.#waiters.push(() => settled());
    });
  }

  /** Payloads of every `event` received (`42["event", payload]`). */
  events(event: string): unknown[] {
    const prefix = `42${JSON.stringify([event]).slice(0, -1)},`;
    return this.frames.filter((f) => f.startsWith(prefix)).map((f) => (JSON.parse(f.slice(2)) as unknown[])[1]);
  }

  close(): void {
    this.ws.close();
  }

  #settle(): void {
    this.#waiters = this.#waiters.filter((settled) => !settled());
  }
}
