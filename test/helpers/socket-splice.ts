import type { Socket } from 'node:net';

/** Sockets a test proxy has open, so `close()` can cut them all (server.close waits for them otherwise). */
export class OpenSockets {
  readonly #open = new Set<Socket>();

  track(socket: Socket): void {
    this.#open.add(socket);
    socket.once('close', () => this.#open.delete(socket));
  }

  destroyAll(): void {
    for (const socket of this.#open) socket.destroy();
  }
}

/**
 * Pipes two sockets into each other; when either side errors or closes, both are destroyed, as a
 * real proxy drops the other leg (a half-open leg would hide a dropped connection from the test).
 */
export function splice(client: Socket, upstream: Socket): void {
  cutTogether(client, upstream);
  upstream.pipe(client).pipe(upstream);
}

/** When either leg errors or closes, both are destroyed (for a proxy that moves the bytes itself). */
export function cutTogether(client: Socket, upstream: Socket): void {
  const cut = () => {
    client.destroy();
    upstream.destroy();
  };
  for (const socket of [client, upstream]) {
    socket.once('error', cut);
    socket.once('close', cut);
  }
}
