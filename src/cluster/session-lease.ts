/**
 * How often an instance renews the leases of the sessions connected to it: a third of the resume
 * grace, so a lease is renewed more than once within any grace.
 */
export function heartbeatIntervalMs(resumeGraceMs: number): number {
  return Math.floor(resumeGraceMs / 3);
}

/**
 * A live session's lease (its `s:` record with Redis): the resume grace plus one heartbeat
 * interval. An instance's last renewal can come up to one interval before it crashes, so its
 * clients still get the whole grace, counted from the crash, to resume on another instance: what a
 * network drop's detach gives them. With the grace alone they had as little as two thirds of it,
 * and a reconnection slowed by load (seen: 4 s of a 5 s grace) found its session gone with the
 * events acknowledged to its partner.
 */
export function sessionLeaseMs(resumeGraceMs: number): number {
  return resumeGraceMs + heartbeatIntervalMs(resumeGraceMs);
}
