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
      // a docker test runs several ups, downs and rollbacks of real containers: on a loaded 2-core
      // machine one takes up to a minute (its own bounds are asserted inside it)
      { extends: true, test: { name: 'docker', include: ['test/docker/**/*.test.ts'], testTimeout: 150_000 } },
    ],
  },
});
