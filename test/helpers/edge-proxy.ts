import { createServer, type IncomingHttpHeaders, type IncomingMessage, request } from 'node:http';
import { connect, type Socket } from 'node:net';
import { OpenSockets, splice } from './socket-splice.js';

/** How an edge proxy rewrites a request's headers, given the address the client connected from. */
export type HeaderRewrite = (headers: IncomingHttpHeaders, peer: string) => IncomingHttpHeaders;

/** The app's own public address, as Fly.io's proxy appends it to X-Forwarded-For. */
export const FLY_APP_ADDRESS = '203.0.113.250';

/**
 * Fly.io's proxy: Fly-Client-IP is the address it accepted the connection from (whatever the
 * client sent is overwritten), and X-Forwarded-For gets the client, then the app's own address.
 */
export const flyHeaders: HeaderRewrite = (headers, peer) => ({
  ...headers,
  'fly-client-ip': peer,
  'x-forwarded-for': [headers['x-forwarded-for'], peer, FLY_APP_ADDRESS].filter(Boolean).join(', '),
});

/** A plain reverse proxy (nginx's $proxy_add_x_forwarded_for): appends the peer, sets nothing else. */
export const appendForwardedFor: HeaderRewrite = (headers, peer) => ({
  ...headers,
  'x-forwarded-for': [headers['x-forwarded-for'], peer].filter(Boolean).join(', '),
});

export interface EdgeProxy {
  url: string;
  close(): Promise<void>;
}

/**
 * A reverse proxy on 127.0.0.1 in front of one server: HTTP requests (socket.io polling) and
 * WebSocket upgrades, with headers rewritten the way a platform's edge does. Clients that bind
 * different loopback addresses (127.0.0.2, 127.0.0.3, …) are different users to it.
 */
export async function startEdgeProxy(targetPort: number, rewrite: HeaderRewrite): Promise<EdgeProxy> {
  const open = new OpenSockets();
  const forwarded = (req: IncomingMessage) => rewrite(req.headers, req.socket.remoteAddress ?? '');

  const server = createServer((req, res) => {
    const upstream = request(
      { host: '127.0.0.1', port: targetPort, method: req.method, path: req.url, headers: forwarded(req), agent: false },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    upstream.once('error', () => res.destroy());
    req.pipe(upstream);
  });
  server.on('connection', (socket) => open.track(socket));

  server.on('upgrade', (req: IncomingMessage, client: Socket, head: Buffer) => {
    const upstream = connect(targetPort, '127.0.0.1');
    open.track(upstream);
    const lines = [`${req.method} ${req.url} HTTP/1.1`];
    for (const [name, value] of Object.entries(forwarded(req))) {
      for (const one of Array.isArray(value) ? value : [value]) if (one !== undefined) lines.push(`${name}: ${one}`);
    }
    upstream.write(`${lines.join('\r\n')}\r\n\r\n`);
    if (head.length > 0) upstream.write(head);
    splice(client, upstream);
  });

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    async close() {
      open.destroyAll();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
