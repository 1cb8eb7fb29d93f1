#!/usr/bin/env node
// Entry point of the `inkan` command; the TypeScript build lives in dist/.
require('../dist/src/cli/main.js').main(process.argv);
