// Injected into the CommonJS CLI bundle (scripts/bundle-cli.mjs) for `import.meta.url`, which CommonJS lacks: the
// compiled packages use it to `createRequire` their optional dependencies.
export const importMetaUrl = require('node:url').pathToFileURL(__filename).href;
