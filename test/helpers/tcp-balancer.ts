import { connect, createServer, type Server } from 'node:net';
import { OpenSockets, splice } from './socket-splice.js';

export interface TcpBalancer {
  port: number;
  url: string;
  /** Replaces the instances new connections are spread over (round robin). */
  setTargets(ports: number[]): void;
  /** Cuts every connection it carries now (with no targets, an outage of what is behind it). */
  cutAll(): void;
  close(): Promise<void>;
}

/**
 * A plain TCP load balancer on 127.0.0.1, like a platform proxy in front of several instances:
 * no stickiness, no knowledge of socket.io. When an instance dies its connections drop, and the
 * clients' reconnections land on whichever instance is still in the list.
 */
export async function startTcpBalancer(initialTargets: number[]): Promise<TcpBalancer> {
  let targets = [...initialTargets];
  let next = 0;
  const open = new OpenSockets();

  const server: Server = createServer((client) => {
    open.track(client);
    const port = targets[next++ % Math.max(targets.length, 1)];
    if (port === undefined) {
      client.destroy();
      return;
    }
    const upstream = connect(port, '127.0.0.1');
    open.track(upstream);
    splice(client, upstream);
  });

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    setTargets(ports) {
      targets = [...ports];
    },
    cutAll() {
      open.destroyAll();
    },
    async close() {
      open.destroyAll();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
