/**
 * Preloaded (`--import`) into every server under test, ours and the baselines alike: SIGUSR2 runs
 * a full GC, so RSS read from outside reflects what connections retain rather than garbage that
 * happens not to be collected yet. Needs `--expose-gc`; does nothing to the request path.
 */
const collect = (globalThis as { gc?: () => void }).gc;
if (collect) process.on('SIGUSR2', () => collect());
