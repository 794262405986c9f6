import { defineConfig } from 'vitest/config';

// Two projects: `unit` runs anywhere with no services; `e2e` needs the real
// broker (and, for some files, the native observability stack) started by
// scripts/test.sh through the same npm scripts users run.
// Workspace apps and tests import the library by its package name; the
// `keyscope-source` export condition maps that to src/, so they run against
// the sources without a build (the published package resolves to dist/).
const sourceConditions = ['keyscope-source'];

export default defineConfig({
  resolve: { conditions: sourceConditions },
  ssr: { resolve: { conditions: sourceConditions, externalConditions: sourceConditions } },
  test: {
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts', 'src/**/*.test.ts', 'dashboards/**/*.test.ts', 'example-orchestrator/**/*.test.ts'],
          exclude: ['**/node_modules/**', 'example-orchestrator/**/*.e2e.test.ts'],
          testTimeout: 60_000,
        },
      },
      {
        extends: true,
        test: {
          name: 'e2e',
          include: ['test/e2e/**/*.test.ts', 'example-orchestrator/**/*.e2e.test.ts'],
          testTimeout: 180_000,
          hookTimeout: 180_000,
          fileParallelism: false,
        },
      },
    ],
  },
});
