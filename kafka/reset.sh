#!/usr/bin/env bash
# `npm run kafka:reset`: wipes the broker's data (topics, offsets, transactions) and logs,
# stopping our broker first if it runs. Start it again with `npm run kafka:start`.
#   kafka/reset.sh         data and logs (the jars stay)
#   kafka/reset.sh --all   the whole cache folder, jars too (the next start refetches them)
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"

all=0
case "${1:-}" in
  '') ;;
  --all) all=1 ;;
  *) die "unknown argument '$1' (kafka/reset.sh [--all])" ;;
esac

take_lock
stop_broker "${KAFKA_STOP_TIMEOUT:-60}" || true
if [ -z "$(running_pid)" ] && port_open "$KAFKA_PORT"; then
  say "note: a broker not started by kafka/start.sh answers on 127.0.0.1:$KAFKA_PORT; its data is not ours to wipe"
fi
if [ "$all" = 1 ]; then
  rm -rf "$CACHE_DIR"
  say "wiped $CACHE_DIR"
else
  rm -rf "$DATA_DIR" "$LOG_DIR" "$CACHE_DIR/data.version"
  say "wiped the broker's data and logs ($DATA_DIR, $LOG_DIR)"
fi
