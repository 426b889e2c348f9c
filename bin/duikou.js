#!/usr/bin/env node
// The command-line entry point; the code lives in the compiled dist/ (built by `npm install`).
import '../dist/cli/main.js';
