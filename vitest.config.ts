import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts', 'bench/**/*.test.ts'],
    // Two cores: a couple of files at a time keeps real servers and clients from starving each other.
    maxWorkers: 2,
    testTimeout: 15_000,
    // The JSON report lets .ci/run print a plain "N passed, N failed" closing line.
    reporters: ['default', 'json'],
    outputFile: { json: 'test-results/vitest.json' },
    hookTimeout: 30_000,
  },
});
