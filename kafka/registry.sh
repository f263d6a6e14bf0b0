#!/usr/bin/env bash
# `npm run registry:start` / `registry:stop`: a Schema Registry with a Confluent-compatible API
# (Apicurio Registry, in-memory storage) on 127.0.0.1:${REGISTRY_PORT:-8081}, for tests and CI.
#
#   kafka/registry.sh start    start it (or say that one already answers) and wait until it serves
#   kafka/registry.sh stop     stop the registry this script started
#   kafka/registry.sh status   say whether it runs (exit 0) or not (exit 3)
#
# The application is built once from Maven Central by kafka/registry/pom.xml into
# kafka/.cache/registry/app (again when that module changes); later starts take seconds. Its
# schemas live in memory: a restart forgets them. Confluent API: http://127.0.0.1:PORT/apis/ccompat/v7
#
# Environment: REGISTRY_PORT (8081), REGISTRY_START_TIMEOUT (seconds, 120), REGISTRY_HEAP_OPTS.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"

say() { echo "registry: $*" >&2; }
die() { echo "registry: ERROR: $*" >&2; exit 1; }

REGISTRY_PORT="${REGISTRY_PORT:-8081}"
REGISTRY_START_TIMEOUT="${REGISTRY_START_TIMEOUT:-120}"
REGISTRY_HEAP_OPTS="${REGISTRY_HEAP_OPTS:--Xms64m -Xmx384m}"
MODULE_DIR="$KAFKA_DIR/registry"
REG_DIR="$CACHE_DIR/registry"
APP_DIR="$REG_DIR/app"
REG_LOG="$REG_DIR/registry-$REGISTRY_PORT.out"
REG_PID_FILE="$REG_DIR/registry-$REGISTRY_PORT.pid"
URL="http://127.0.0.1:$REGISTRY_PORT"
PROBE_PATH=/apis/ccompat/v7/subjects

# The HTTP status of GET $1 on 127.0.0.1:$REGISTRY_PORT, or 000 (bash's /dev/tcp: no curl needed).
http_status() {
  local line
  line="$( (exec 3<>"/dev/tcp/127.0.0.1/$REGISTRY_PORT" || exit 0
    printf 'GET %s HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n' "$1" >&3
    timeout 5 head -n1 <&3) 2>/dev/null || true)"
  line="${line#HTTP/* }"
  echo "${line:0:3}" | grep -E '^[0-9]{3}$' || echo 000
}
answers() { [ "$(http_status "$PROBE_PATH")" = 200 ]; }

# The pid of our registry, or empty.
registry_pid() { pid_from_file "$REG_PID_FILE" duality-test-registry; }

# A checksum of what the application is built from: a change rebuilds it.
module_sum() {
  (cd "$MODULE_DIR" && find pom.xml src -type f | sort | xargs sha256sum) | sha256sum | cut -d' ' -f1
}

build_app() {
  local sum t0
  sum="$(module_sum)"
  [ "$(cat "$APP_DIR/.module.sha256" 2>/dev/null || true)" = "$sum" ] && return 0
  command -v mvn >/dev/null || die "mvn is missing: install Maven 3.6+ (Debian: apt-get install maven)"
  say "building Apicurio Registry from Maven Central into $APP_DIR (once; a few minutes the first time) ..."
  t0="$(now_ms)"
  mkdir -p "$REG_DIR"
  rm -rf "$APP_DIR" "$APP_DIR.tmp"
  if ! mvn -B --no-transfer-progress -Dstyle.color=never -f "$MODULE_DIR/pom.xml" clean package \
    >"$REG_DIR/mvn.log" 2>&1; then
    tail -n 40 "$REG_DIR/mvn.log" >&2
    die "Maven could not build the registry (full output: $REG_DIR/mvn.log)"
  fi
  mkdir -p "$APP_DIR.tmp"
  cp "$MODULE_DIR"/target/duality-test-registry-*-runner.jar "$APP_DIR.tmp/duality-test-registry-runner.jar"
  cp -r "$MODULE_DIR/target/lib" "$APP_DIR.tmp/lib"
  rm -rf "$MODULE_DIR/target"
  echo "$sum" >"$APP_DIR.tmp/.module.sha256"
  mv "$APP_DIR.tmp" "$APP_DIR"
  say "built in $(elapsed "$t0")"
}

start() {
  local t0 pid deadline
  t0="$(now_ms)"
  command -v java >/dev/null || die "java is missing: install a JDK 17+ (Debian: apt-get install openjdk-17-jre-headless)"
  mkdir -p "$REG_DIR"
  # One start at a time (two test runs starting it together).
  exec 8>"$REG_DIR/.lock"
  flock -w 600 8 || die "another registry start still runs after 600 s ($REG_DIR/.lock)"

  pid="$(registry_pid)"
  if port_open "$REGISTRY_PORT"; then
    if [ -z "$pid" ]; then
      answers || die "something listens on 127.0.0.1:$REGISTRY_PORT but does not answer $PROBE_PATH as a schema registry (set REGISTRY_PORT)"
      say "already running: a registry not started by this script answers on $URL"
      echo "$URL"
      return 0
    fi
  fi
  if [ -z "$pid" ]; then
    build_app
    rm -f "$REG_PID_FILE"
    : >"$REG_LOG"
    # Detached from this shell (its own session), so Ctrl-C here does not stop it.
    cd "$REG_DIR"
    setsid bash -c 'echo $$ >"$1"; shift; exec "$@"' _ "$REG_PID_FILE" \
      java $REGISTRY_HEAP_OPTS -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Djava.awt.headless=true \
      -Dquarkus.http.host=127.0.0.1 "-Dquarkus.http.port=$REGISTRY_PORT" \
      -Dquarkus.datasource.jdbc.url=jdbc:h2:mem:registry_db \
      -Dquarkus.datasource.jdbc.min-size=1 -Dquarkus.datasource.jdbc.initial-size=1 \
      -Dquarkus.log.level=WARN -Dquarkus.log.category.io.apicurio.level=WARN \
      -jar "$APP_DIR/duality-test-registry-runner.jar" </dev/null >>"$REG_LOG" 2>&1 8>&- 9>&- &
    for _ in $(seq 1 50); do [ -s "$REG_PID_FILE" ] && break; sleep 0.05; done
    pid="$(cat "$REG_PID_FILE" 2>/dev/null || true)"
    [ -n "$pid" ] || die "the registry did not start (no pid)"
    say "started Apicurio Registry (pid $pid), waiting for $URL$PROBE_PATH ..."
  else
    say "our registry (pid $pid) runs, checking it answers ..."
  fi

  deadline=$(($(date +%s) + REGISTRY_START_TIMEOUT))
  until answers; do
    if ! alive "$pid"; then
      tail -n 40 "$REG_LOG" >&2
      die "the registry exited during startup (log: $REG_LOG)"
    fi
    if [ "$(date +%s)" -ge "$deadline" ]; then
      tail -n 40 "$REG_LOG" >&2
      stop >/dev/null 2>&1 || true
      die "the registry did not answer on $URL within ${REGISTRY_START_TIMEOUT}s (log: $REG_LOG)"
    fi
    sleep 0.2
  done
  say "ready on $URL in $(elapsed "$t0") (pid $pid; Confluent API: $URL/apis/ccompat/v7; log: $REG_LOG; stop: npm run registry:stop)"
  echo "$URL"
}

stop() {
  local pid t0
  pid="$(registry_pid)"
  if [ -z "$pid" ]; then
    rm -f "$REG_PID_FILE"
    if port_open "$REGISTRY_PORT"; then
      say "not started by kafka/registry.sh, left alone: what listens on 127.0.0.1:$REGISTRY_PORT"
    else
      say "not running"
    fi
    return 0
  fi
  t0="$(now_ms)"
  terminate "$pid" 30
  rm -f "$REG_PID_FILE"
  say "stopped (pid $pid) in $(elapsed "$t0")"
}

status() {
  local pid
  pid="$(registry_pid)"
  if [ -n "$pid" ] && answers; then
    say "running: our registry (pid $pid) answers on $URL"
  elif [ -n "$pid" ]; then
    say "starting or stuck: our registry (pid $pid) does not answer on $URL yet (log: $REG_LOG)"
    return 3
  elif answers; then
    say "running: a registry not started by this script answers on $URL"
  else
    say "not running (nothing answers on $URL)"
    return 3
  fi
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  -h | --help | help) sed -n '2,14p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' ;;
  *) die "usage: kafka/registry.sh start|stop|status (try --help)" ;;
esac
