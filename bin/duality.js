#!/usr/bin/env node
// The sources are compiled by `npm run build` (run by `npm ci` through `prepare`).
import { main } from '../dist/bin/cli.js';

main(process.argv.slice(2)).then((code) => { process.exitCode = code; });
