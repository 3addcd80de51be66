/**
 * Preloaded (`--import`) into every server under test, ours and the baselines alike. Touches
 * nothing on the request path:
 * - SIGUSR2 runs a full GC (needs `--expose-gc`), so RSS read from outside is what connections
 *   retain rather than garbage not collected yet;
 * - SIGTERM exits cleanly when the server itself does not handle it (the baselines), so that
 *   `--cpu-prof` gets to write its profile.
 */
const collect = (globalThis as { gc?: () => void }).gc;
if (collect) process.on('SIGUSR2', () => collect());

process.on('SIGTERM', () => {
  if (process.listenerCount('SIGTERM') === 1) process.exit(0);
});
