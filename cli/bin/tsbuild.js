#!/usr/bin/env node
// The tsbuild command. `npm install` / `npm run build` compile the code to ../dist and bundle it into
// ../dist/bundle (scripts/bundle-cli.mjs): a few modules to load instead of ~130.
import '../dist/bundle/main.js';
