#!/usr/bin/env bash
# A build from scratch: tsc never deletes what it compiled before, so the compiled copy of a
# deleted source (a test, most of all) would stay in dist/ and keep running.
set -euo pipefail
cd "$(dirname "$0")/.."
rm -rf dist
npm run --silent build
