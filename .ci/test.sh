#!/usr/bin/env bash
# `npm test`: everything the tests need, then the tests. Idempotent and fast when things are there,
# so it passes by itself on a fresh clone (CI runs exactly this).
set -euo pipefail
cd "$(dirname "$0")/.."

# npm packages: install when missing or older than the lock file (`npm ci` also builds, via prepare).
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi
bash .ci/build.sh

# Services and tools the tests use: Chromium, helm, hadolint and kubernetes-validate (in .tools/),
# a Kafka broker on 127.0.0.1:9092 and a Schema Registry on 127.0.0.1:8081 (kafka/README.md).
bash .ci/chromium.sh
bash .ci/tools.sh
bash kafka/start.sh
bash kafka/registry.sh start

# Every compiled test file; node's runner prints the totals CI reads.
mapfile -t files < <(find dist/test -name '*.test.js' | sort)
if [ "${#files[@]}" -eq 0 ]; then
  echo "no test files found under dist/test" >&2
  exit 1
fi
exec node --test "$@" "${files[@]}"
