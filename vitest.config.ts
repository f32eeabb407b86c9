import { defineConfig } from 'vitest/config';

/**
 * Suites that build a NAT lab (test/natlab/: network namespaces, many processes each). They run
 * after everything else, one file at a time, so their many processes never share the two cores
 * with another heavy suite.
 */
const LAB_SUITES = [
  'test/*-lab.test.ts',
  'test/natlab.test.ts',
  'test/natlab/**/*.test.ts',
  'test/nat-port-mapper.test.ts',
];

const JOIN_MATRIX = 'test/nat-join-lab.test.ts';

const shared = {
  testTimeout: 30_000,
  hookTimeout: 60_000,
  pool: 'forks' as const,
  // Tests (and the sidecar processes they spawn) may only reach loopback addresses.
  env: { PKARR_LOOPBACK_ONLY: '1' },
};

export default defineConfig({
  test: {
    reporters: ['default', './test/summary-reporter.ts'],
    projects: [
      {
        test: {
          ...shared,
          name: 'main',
          include: ['test/**/*.test.ts'],
          exclude: ['**/node_modules/**', ...LAB_SUITES],
          // Two cores here: keep the DHT testnets of parallel files from starving each other.
          maxWorkers: 2,
          sequence: { groupOrder: 0 },
        },
      },
      // The join matrix runs first of the lab suites, on a machine the other lab suites have not
      // loaded yet: the join times it prints go to docs/nat.md §5.
      {
        test: {
          ...shared,
          name: 'natlab-join',
          include: [JOIN_MATRIX],
          maxWorkers: 1,
          sequence: { groupOrder: 1 },
        },
      },
      {
        test: {
          ...shared,
          name: 'natlab',
          include: LAB_SUITES,
          exclude: ['**/node_modules/**', JOIN_MATRIX],
          maxWorkers: 1,
          sequence: { groupOrder: 2 },
        },
      },
    ],
  },
});
