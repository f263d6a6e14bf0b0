#!/usr/bin/env bash
# Kafka's own command-line tools at the broker's version (kafka/pom.xml), for tests that check
# Duality against Kafka's Java clients. Fetches them once from Maven Central (kafka/tools-pom.xml)
# into kafka/.cache/tools/ (again when either pom changes), then prints the Java classpath:
#
#   java -cp "$(bash kafka/tools.sh)" org.apache.kafka.tools.ConsoleProducer --help
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"

TOOLS_DIR="$CACHE_DIR/tools"
command -v java >/dev/null || die "java is missing: install a JDK 17+ (Debian: apt-get install openjdk-17-jre-headless)"
kafka_version="$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$KAFKA_DIR/pom.xml" | head -n1)"
[ -n "$kafka_version" ] || die "no <kafka.version> in $KAFKA_DIR/pom.xml"
sum="$(cat "$KAFKA_DIR/pom.xml" "$KAFKA_DIR/tools-pom.xml" | sha256sum | cut -d' ' -f1)"
if [ "$(cat "$TOOLS_DIR/.pom.sha256" 2>/dev/null || true)" != "$sum" ]; then
  command -v mvn >/dev/null || die "mvn is missing: install Maven 3.6+ (Debian: apt-get install maven)"
  mkdir -p "$LOG_DIR"
  # Two tests fetching at once: the second waits, then finds the jars there.
  exec 8>"$CACHE_DIR/tools.lock"
  flock 8
  if [ "$(cat "$TOOLS_DIR/.pom.sha256" 2>/dev/null || true)" != "$sum" ]; then
    say "fetching Kafka's tools $kafka_version from Maven Central into $TOOLS_DIR ..."
    rm -rf "$TOOLS_DIR" "$TOOLS_DIR.tmp"
    if ! mvn -q -B --no-transfer-progress -Dstyle.color=never -f "$KAFKA_DIR/tools-pom.xml" "-Dkafka.version=$kafka_version" \
      dependency:copy-dependencies -DoutputDirectory="$TOOLS_DIR.tmp" >"$LOG_DIR/mvn-tools.log" 2>&1; then
      tail -n 40 "$LOG_DIR/mvn-tools.log" >&2
      die "Maven could not fetch Kafka's tools (full output: $LOG_DIR/mvn-tools.log)"
    fi
    echo "$sum" >"$TOOLS_DIR.tmp/.pom.sha256"
    mv "$TOOLS_DIR.tmp" "$TOOLS_DIR"
  fi
fi
echo "$TOOLS_DIR/*"
