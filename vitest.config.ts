import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    reporters: ['default', './test/summary-reporter.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // Two cores here: keep the DHT testnets of parallel files from starving each other.
    maxWorkers: 2,
    // Tests (and the sidecar processes they spawn) may only reach loopback addresses.
    env: { PKARR_LOOPBACK_ONLY: '1' },
  },
});
