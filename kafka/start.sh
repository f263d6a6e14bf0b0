#!/usr/bin/env bash
# `npm run kafka:start`: a single-node Apache Kafka (KRaft broker+controller) on 127.0.0.1:9092
# for development, tests and CI. See kafka/README.md.
#
#   kafka/start.sh           start (or say that a broker already answers, and exit 0)
#   kafka/start.sh --reset   wipe the broker's data first (stops our broker if it runs)
#
# The jars come from Maven Central through kafka/pom.xml into kafka/.cache/lib/ (once); the
# storage is formatted once; later starts take a few seconds.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"
. "$KAFKA_DIR/tls.sh"
. "$KAFKA_DIR/users.sh"

reset=0
for arg in "$@"; do
  case "$arg" in
    --reset) reset=1 ;;
    -h | --help) sed -n '2,9p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown argument '$arg' (try --help)" ;;
  esac
done

t_start="$(now_ms)"
take_lock
command -v java >/dev/null || die "java is missing: install a JDK 17+ (Debian: apt-get install openjdk-17-jre-headless)"

can_check_with_kafkajs() { command -v node >/dev/null && [ -f "$REPO_DIR/node_modules/kafkajs/package.json" ]; }

# A real metadata request (kafkajs) when node_modules has it; else our broker's own log line
# (and, for a broker that is not ours, the open port alone).
wait_ready() { # $1 = seconds, $2 = ours|foreign
  if can_check_with_kafkajs; then
    node "$KAFKA_DIR/ready.js" "127.0.0.1:$KAFKA_PORT" "$1" >&2
  elif [ "${2:-ours}" = foreign ]; then
    say "(node_modules/kafkajs missing: trusting the open port)"
  else
    say "(node_modules/kafkajs missing: checking the broker's log instead of a metadata request)"
    local i=0
    while [ "$i" -lt $(($1 * 5)) ]; do
      grep -q 'Kafka Server started' "$LOG_DIR/server.log" 2>/dev/null && return 0
      sleep 0.2
      i=$((i + 1))
    done
    return 1
  fi
}

# The config this script would start the broker with.
render_config() {
  sed -e "s|@PORT@|$KAFKA_PORT|g" -e "s|@ADVERTISED_PORT@|$KAFKA_ADVERTISED_PORT|g" -e "s|@CONTROLLER_PORT@|$KAFKA_CONTROLLER_PORT|g" \
    -e "s|@SASL_PORT@|$KAFKA_SASL_PORT|g" -e "s|@DATA_DIR@|$DATA_DIR|g" -e "s|@TLS_DIR@|$TLS_DIR|g" \
    "$KAFKA_DIR/server.properties.template"
}

pid="$(running_pid)"

# Our broker, started with another config (an older template: no SASL_SSL listener, say): restart
# it once with the new one. Its data stays.
if [ -n "$pid" ] && [ "$reset" = 0 ] && [ "$(render_config)" != "$(cat "$CONFIG_FILE" 2>/dev/null || true)" ]; then
  say "our broker (pid $pid) runs with an older config than server.properties.template: restarting it"
  stop_broker "${KAFKA_STOP_TIMEOUT:-60}" || true
  pid=""
fi

if [ "$reset" = 1 ]; then
  if [ -z "$pid" ] && port_open "$KAFKA_PORT"; then
    die "--reset: a broker that this script did not start answers on 127.0.0.1:$KAFKA_PORT; stop it first"
  fi
  bash "$KAFKA_DIR/reset.sh"
  pid=""
fi

# Already there? Then say so and exit quickly.
if port_open "$KAFKA_PORT"; then
  if [ -n "$pid" ]; then
    who="our broker (pid $pid, data in $DATA_DIR)"
    limit="$KAFKA_START_TIMEOUT" # it may still be starting
    whose=ours
  else
    who="a broker not started by this script"
    limit=10
    whose=foreign
  fi
  if wait_ready "$limit" "$whose"; then
    if [ "$whose" = ours ]; then
      ensure_users_and_acls || die "adding the SCRAM users and ACLs failed"
    fi
    say "already running: $who answers on 127.0.0.1:$KAFKA_PORT ($(elapsed "$t_start"))"
    exit 0
  fi
  [ -n "$pid" ] && show_log_tail 40
  die "something listens on 127.0.0.1:$KAFKA_PORT but does not answer as Kafka: $who"
fi

mkdir -p "$CACHE_DIR" "$LOG_DIR"

if [ -z "$pid" ]; then
  rm -f "$PID_FILE"
  if port_open "$KAFKA_CONTROLLER_PORT"; then
    die "the controller port 127.0.0.1:$KAFKA_CONTROLLER_PORT is taken by another process (set KAFKA_CONTROLLER_PORT)"
  fi
  if port_open "$KAFKA_SASL_PORT"; then
    die "the SASL_SSL port 127.0.0.1:$KAFKA_SASL_PORT is taken by another process (set KAFKA_SASL_PORT)"
  fi

  # 1. The jars (once, and again when kafka/pom.xml changes).
  kafka_version="$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$KAFKA_DIR/pom.xml" | head -n1)"
  [ -n "$kafka_version" ] || die "no <kafka.version> in $KAFKA_DIR/pom.xml"
  pom_sum="$(sha256sum "$KAFKA_DIR/pom.xml" | cut -d' ' -f1)"
  if [ "$(cat "$LIB_DIR/.pom.sha256" 2>/dev/null || true)" != "$pom_sum" ]; then
    command -v mvn >/dev/null || die "mvn is missing: install Maven 3.6+ (Debian: apt-get install maven)"
    say "fetching Apache Kafka $kafka_version from Maven Central into $LIB_DIR ..."
    t_fetch="$(now_ms)"
    rm -rf "$LIB_DIR" "$LIB_DIR.tmp"
    if ! mvn -q -B --no-transfer-progress -Dstyle.color=never -f "$KAFKA_DIR/pom.xml" \
      dependency:copy-dependencies -DoutputDirectory="$LIB_DIR.tmp" >"$LOG_DIR/mvn.log" 2>&1; then
      tail -n 40 "$LOG_DIR/mvn.log" >&2
      die "Maven could not fetch the Kafka jars (full output: $LOG_DIR/mvn.log)"
    fi
    echo "$pom_sum" >"$LIB_DIR.tmp/.pom.sha256"
    mv "$LIB_DIR.tmp" "$LIB_DIR"
    say "fetched $(find "$LIB_DIR" -name '*.jar' | wc -l) jars in $(elapsed "$t_fetch")"
  fi

  # 2. The config, from the template, and the SASL_SSL listener's certificates (once).
  ensure_tls
  render_config >"$CONFIG_FILE"

  java_opts=(
    $KAFKA_HEAP_OPTS
    -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:InitiatingHeapOccupancyPercent=35
    -XX:+ExplicitGCInvokesConcurrent -Djava.awt.headless=true
    "-Dkafka.logs.dir=$LOG_DIR" "-Dlog4j2.configurationFile=$KAFKA_DIR/log4j2.properties"
    "-XX:ErrorFile=$LOG_DIR/hs_err_pid%p.log"
    -cp "$LIB_DIR/*"
  )

  # 3. The storage (KRaft): formatted once; wiped when the Kafka version changed.
  if [ -f "$DATA_DIR/meta.properties" ] && [ "$(cat "$CACHE_DIR/data.version" 2>/dev/null || true)" != "$kafka_version" ]; then
    say "the data was written by Kafka $(cat "$CACHE_DIR/data.version" 2>/dev/null || echo '?'), now $kafka_version: wiping it"
    rm -rf "$DATA_DIR"
  fi
  if [ ! -f "$DATA_DIR/meta.properties" ]; then
    rm -rf "$DATA_DIR"
    # A random Kafka Uuid: 16 bytes, URL-safe base64 without padding; not starting with '-'
    # (as Kafka's Uuid.randomUuid), which the formatter would take for an option (1 start in 64).
    cluster_id=-
    while [ "${cluster_id#-}" != "$cluster_id" ]; do
      cluster_id="$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=')"
    done
    t_format="$(now_ms)"
    mapfile -t scram_args < <(scram_format_args)
    if ! java "${java_opts[@]}" kafka.tools.StorageTool format --config "$CONFIG_FILE" \
      --cluster-id "$cluster_id" "${scram_args[@]}" >"$LOG_DIR/format.log" 2>&1; then
      cat "$LOG_DIR/format.log" >&2
      die "formatting the storage failed"
    fi
    echo "$kafka_version" >"$CACHE_DIR/data.version"
    echo "$SCRAM_MARKER_VALUE" >"$(scram_marker)"
    say "formatted $DATA_DIR (cluster $cluster_id) in $(elapsed "$t_format")"
  fi

  # 4. Class data sharing (AppCDS): the first run records the classes it loads into an archive,
  #    written when the broker exits cleanly (kafka:stop); later starts map it (a few seconds
  #    faster on 2 cores). An archive that does not load (cut short, another JVM) is dropped.
  cds_opts=()
  if [ "${KAFKA_CDS:-1}" = 1 ]; then
    jsa="$LIB_DIR/kafka.jsa"
    if [ -f "$jsa.new" ]; then mv -f "$jsa.new" "$jsa"; fi
    if [ -f "$jsa" ] && ! (cd "$CACHE_DIR" && java "${java_opts[@]}" '-Xlog:cds*=off' -Xshare:on \
      "-XX:SharedArchiveFile=$jsa" -version >/dev/null 2>&1); then
      # Drop it only if the JVM starts without it (else the options are the problem).
      if (cd "$CACHE_DIR" && java "${java_opts[@]}" -version >/dev/null 2>&1); then
        say "dropping the class archive $jsa (it does not load; a new one is recorded)"
        rm -f "$jsa"
      fi
    fi
    if [ -f "$jsa" ]; then
      cds_opts=('-Xlog:cds*=off' "-XX:SharedArchiveFile=$jsa")
    else
      cds_opts=('-Xlog:cds*=off' "-XX:ArchiveClassesAtExit=$jsa.new")
    fi
  fi

  # 5. The broker, detached from this shell (its own session, so Ctrl-C here does not stop it).
  : >"$LOG_DIR/kafka.out"
  SERVER_LOG_OFFSET="$(stat -c %s "$LOG_DIR/server.log" 2>/dev/null || echo 0)"
  cd "$CACHE_DIR"
  setsid bash -c 'echo $$ >"$1"; shift; exec "$@"' _ "$PID_FILE" \
    java "${java_opts[@]}" "${cds_opts[@]}" kafka.Kafka "$CONFIG_FILE" </dev/null >>"$LOG_DIR/kafka.out" 2>&1 9>&- &
  for _ in 1 2 3 4 5 6 7 8 9 10; do [ -s "$PID_FILE" ] && break; sleep 0.05; done
  pid="$(cat "$PID_FILE" 2>/dev/null || true)"
  [ -n "$pid" ] || die "the broker did not start (no pid)"
  say "started Kafka $kafka_version (pid $pid), waiting for it on 127.0.0.1:$KAFKA_PORT ..."
else
  say "our broker (pid $pid) is starting, waiting for it on 127.0.0.1:$KAFKA_PORT ..."
fi

fail() {
  show_log_tail 60
  stop_broker 10 >/dev/null 2>&1 || true
  rm -f "$LIB_DIR/kafka.jsa.new" # a failed run's class list is not worth keeping
  die "$1 (logs: $LOG_DIR)"
}

# 6. Wait: the port, then a real request.
deadline=$(($(date +%s) + KAFKA_START_TIMEOUT))
until port_open "$KAFKA_PORT"; do
  alive "$pid" || fail "the broker exited during startup"
  [ "$(date +%s)" -lt "$deadline" ] || fail "the broker did not open 127.0.0.1:$KAFKA_PORT within ${KAFKA_START_TIMEOUT}s"
  sleep 0.1
done
remaining=$((deadline - $(date +%s)))
[ "$remaining" -ge 5 ] || remaining=5
wait_ready "$remaining" || fail "the broker listens but did not answer a metadata request"
alive "$pid" || fail "the broker exited during startup"
until port_open "$KAFKA_SASL_PORT"; do
  alive "$pid" || fail "the broker exited during startup"
  [ "$(date +%s)" -lt "$deadline" ] || fail "the broker did not open 127.0.0.1:$KAFKA_SASL_PORT within ${KAFKA_START_TIMEOUT}s"
  sleep 0.1
done
ensure_users_and_acls || fail "adding the SCRAM users and ACLs failed"
say "ready on 127.0.0.1:$KAFKA_PORT (SASL_SSL: $KAFKA_SASL_PORT) in $(elapsed "$t_start") (pid $pid; log: $LOG_DIR/server.log; stop: npm run kafka:stop)"
