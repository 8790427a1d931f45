import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/global-setup.ts'],
    testTimeout: 20_000,
    hookTimeout: 30_000,
    // Each file gets its own cloned database (test/support/db.ts), so files can run in parallel.
    fileParallelism: true,
    maxWorkers: 2,
  },
});
