// Tests are tagged by what they need, by folder: unit (nothing), host (git + processes),
// docker (a Docker engine with Compose v2). `npm test` runs every project; CI runs `npm test`.
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    pool: 'forks',
    maxWorkers: 3,
    testTimeout: 60_000,
    hookTimeout: 120_000,
    globalSetup: ['test/helpers/globalSetup.ts'],
    projects: [
      { extends: true, test: { name: 'unit', include: ['test/unit/**/*.test.ts'] } },
      { extends: true, test: { name: 'host', include: ['test/host/**/*.test.ts'] } },
      { extends: true, test: { name: 'docker', include: ['test/docker/**/*.test.ts'] } },
    ],
  },
});
