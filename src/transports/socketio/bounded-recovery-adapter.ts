import { SessionAwareAdapter } from 'socket.io-adapter';

/** How often the buffer is trimmed: an event is kept for the grace period plus at most this. */
const TRIM_EVERY_MS = 1000;

/** The fields of socket.io's SessionAwareAdapter this class trims (declared private there). */
interface RecoveryBuffer {
  packets: { emittedAt: number }[];
  maxDisconnectionDuration: number;
}

/**
 * socket.io's in-memory connection state recovery, with the buffer of emitted events bounded by
 * the grace period. The stock adapter sweeps that buffer on a fixed 60 s timer, so every relayed
 * SDP stays in memory for RESUME_GRACE_MS plus up to 60 s: at 18,000 signals/s about 600 MB, all
 * of it marked by every major GC. Trimming the expired head every second keeps only what a
 * recovering client can still ask for (amortised O(1) per event: each is dropped once).
 */
export class BoundedRecoveryAdapter extends SessionAwareAdapter {
  readonly #timer: NodeJS.Timeout;

  constructor(nsp: ConstructorParameters<typeof SessionAwareAdapter>[0]) {
    super(nsp);
    this.#timer = setInterval(() => this.#trim(), TRIM_EVERY_MS);
    this.#timer.unref();
  }

  override close(): void {
    clearInterval(this.#timer);
    super.close();
  }

  #trim(): void {
    const { packets, maxDisconnectionDuration } = this as unknown as RecoveryBuffer;
    const threshold = Date.now() - maxDisconnectionDuration;
    let expired = 0;
    while (expired < packets.length && (packets[expired]?.emittedAt ?? threshold) < threshold) expired++;
    if (expired > 0) packets.splice(0, expired);
  }
}
