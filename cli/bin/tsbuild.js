#!/usr/bin/env node
// The tsbuild command. The code is compiled to ../dist by `npm install` (the root prepare script).
import '../dist/main.js';
