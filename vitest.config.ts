import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const source = (path: string): string => fileURLToPath(new URL(path, import.meta.url));

/** Unit tests import each package's TypeScript source; end-to-end tests run the built `tsbuild` binary. */
export default defineConfig({
  resolve: {
    alias: [
      { find: /^@tsbuild\/oci$/, replacement: source('./packages/oci/src/index.ts') },
      { find: /^@tsbuild\/layers$/, replacement: source('./packages/layers/src/index.ts') },
      { find: /^@tsbuild\/registry-client$/, replacement: source('./packages/registry-client/src/index.ts') },
      { find: /^@tsbuild\/image$/, replacement: source('./packages/image/src/index.ts') },
      { find: /^@tsbuild\/builder$/, replacement: source('./packages/builder/src/index.ts') },
    ],
  },
  test: {
    include: ['packages/*/src/**/*.test.ts', 'cli/src/**/*.test.ts', 'test/**/*.test.ts'],
    pool: 'forks',
    testTimeout: 120_000,
    hookTimeout: 300_000,
    reporters: ['default'],
  },
});
