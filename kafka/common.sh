# Shared by start.sh, stop.sh and reset.sh (sourced, not run). Paths come from this file's
# location, so the scripts work from any cwd.
#
# Environment (all optional):
#   KAFKA_PORT             client listener on 127.0.0.1 (default 9092)
#   KAFKA_CONTROLLER_PORT  KRaft controller listener on 127.0.0.1 (default 9093)
#   KAFKA_SASL_PORT        SASL_SSL client listener on 127.0.0.1 (default 9094)
#   KAFKA_ADVERTISED_PORT  the port the broker tells clients to connect to for its PLAINTEXT
#                          listener (default KAFKA_PORT); another one puts a proxy in between
#   KAFKA_HEAP_OPTS        JVM heap (default "-Xms256m -Xmx512m")
#   KAFKA_START_TIMEOUT    seconds to wait for the broker to answer (default 90)
#   KAFKA_CACHE_DIR        jars, data, logs and the pid file (default kafka/.cache)

KAFKA_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_DIR="$(cd "$KAFKA_DIR/.." && pwd)"
KAFKA_PORT="${KAFKA_PORT:-9092}"
KAFKA_CONTROLLER_PORT="${KAFKA_CONTROLLER_PORT:-9093}"
KAFKA_SASL_PORT="${KAFKA_SASL_PORT:-9094}"
KAFKA_ADVERTISED_PORT="${KAFKA_ADVERTISED_PORT:-$KAFKA_PORT}"
KAFKA_HEAP_OPTS="${KAFKA_HEAP_OPTS:--Xms256m -Xmx512m}"
KAFKA_START_TIMEOUT="${KAFKA_START_TIMEOUT:-90}"
CACHE_DIR="${KAFKA_CACHE_DIR:-$KAFKA_DIR/.cache}"
LIB_DIR="$CACHE_DIR/lib"
DATA_DIR="$CACHE_DIR/data"
LOG_DIR="$CACHE_DIR/logs"
TLS_DIR="$CACHE_DIR/tls"
PID_FILE="$CACHE_DIR/kafka.pid"
CONFIG_FILE="$CACHE_DIR/server.properties"

say() { echo "kafka: $*" >&2; }
die() { echo "kafka: ERROR: $*" >&2; exit 1; }

# Milliseconds since the epoch (GNU date).
now_ms() { date +%s%3N; }
elapsed() { local ms=$(( $(now_ms) - $1 )); printf '%d.%01ds' $((ms / 1000)) $(((ms % 1000) / 100)); }

# Something accepts TCP connections on 127.0.0.1:$1 (bash's /dev/tcp, no nc needed).
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# Process $1 exists and is not a zombie.
alive() {
  kill -0 "$1" 2>/dev/null || return 1
  local state
  state="$(sed -n 's/^State:[[:space:]]*\([A-Z]\).*/\1/p' "/proc/$1/status" 2>/dev/null || true)"
  [ "$state" != Z ]
}

# The pid in pid file $1, when that process is alive and its command line matches $2; empty otherwise.
pid_from_file() {
  [ -f "$1" ] || return 0
  local pid
  pid="$(cat "$1" 2>/dev/null || true)"
  case "$pid" in '' | *[!0-9]*) return 0 ;; esac
  if alive "$pid" && tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q "$2"; then
    echo "$pid"
  fi
}

# The pid of our broker, or empty.
running_pid() { pid_from_file "$PID_FILE" 'kafka\.Kafka'; }

# The end of the broker's output and log; of server.log only what this start wrote (from byte
# SERVER_LOG_OFFSET on), so an old run's lines are not taken for this one's.
SERVER_LOG_OFFSET=0
show_log_tail() {
  local n="${1:-40}"
  if [ -s "$LOG_DIR/kafka.out" ]; then
    echo "---- last lines of $LOG_DIR/kafka.out ----" >&2
    tail -n "$n" "$LOG_DIR/kafka.out" >&2
  fi
  if [ -f "$LOG_DIR/server.log" ] && [ "$(stat -c %s "$LOG_DIR/server.log")" -gt "$SERVER_LOG_OFFSET" ]; then
    echo "---- last lines of $LOG_DIR/server.log ----" >&2
    tail -c "+$((SERVER_LOG_OFFSET + 1))" "$LOG_DIR/server.log" | tail -n "$n" >&2
  else
    echo "---- nothing new in $LOG_DIR/server.log ----" >&2
  fi
}

# One start/reset at a time (two test runs starting the broker together): an flock on the cache
# folder, inherited by the scripts this one runs.
take_lock() {
  [ "${KAFKA_SCRIPT_LOCKED:-}" = 1 ] && return 0
  command -v flock >/dev/null || return 0
  mkdir -p "$CACHE_DIR"
  exec 9>"$CACHE_DIR/.lock"
  if ! flock -n 9; then
    say "another kafka script runs on $CACHE_DIR: waiting for it..."
    flock -w 300 9 || die "still locked after 300 s: $CACHE_DIR/.lock"
  fi
  export KAFKA_SCRIPT_LOCKED=1
}

# SIGTERM to process $1, and waits for it to exit; SIGKILL after $2 seconds. Uses the caller's say.
terminate() {
  local pid="$1" limit="$2" i=0
  kill -TERM "$pid" 2>/dev/null || true
  while alive "$pid"; do
    if [ "$i" -ge $((limit * 10)) ]; then
      say "still running after ${limit}s: sending SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
      sleep 0.5
      break
    fi
    sleep 0.1
    i=$((i + 1))
  done
}

# Stops our broker (pid file) and waits for it to exit; SIGKILL after $1 seconds (default 60).
stop_broker() {
  local pid limit="${1:-60}" t0
  pid="$(running_pid)"
  if [ -z "$pid" ]; then
    rm -f "$PID_FILE"
    return 1
  fi
  t0="$(now_ms)"
  say "stopping the broker (pid $pid)..."
  terminate "$pid" "$limit"
  rm -f "$PID_FILE"
  say "stopped in $(elapsed "$t0")"
  return 0
}
