import { defineConfig } from 'vitest/config';

// Two projects: `unit` runs anywhere with no services; `e2e` needs the real
// broker (and, for some files, the native observability stack) started by
// scripts/test.sh through the same npm scripts users run.
export default defineConfig({
  // Workspace members import the library by its package name; in this
  // repository that resolves to the TypeScript sources.
  resolve: { conditions: ['keyscope-source'] },
  ssr: { resolve: { conditions: ['keyscope-source'] } },
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts', 'src/**/*.test.ts', 'dashboards/**/*.test.ts', 'example-orchestrator/**/*.test.ts'],
          exclude: ['**/node_modules/**', 'example-orchestrator/**/*.e2e.test.ts'],
          testTimeout: 60_000,
        },
      },
      {
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
