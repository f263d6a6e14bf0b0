#!/usr/bin/env bash
# `npm run kafka:stop`: stops the broker that kafka/start.sh started (pid file) and waits for it
# to exit (SIGTERM: a clean shutdown; SIGKILL after 60 s). Exits 0 when nothing runs.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"

if ! stop_broker "${KAFKA_STOP_TIMEOUT:-60}"; then
  if port_open "$KAFKA_PORT"; then
    say "not started by kafka/start.sh, left alone: the broker on 127.0.0.1:$KAFKA_PORT"
  else
    say "not running"
  fi
fi
