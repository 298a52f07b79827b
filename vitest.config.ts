import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Two cores here: keep file-level parallelism modest so fuzz and corpus tests do not starve each other.
    maxWorkers: 2,
  },
});
