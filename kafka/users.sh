# Sourced by start.sh: the SASL_SSL listener's SCRAM users and the ACLs of `restricted`, put into
# the running broker's metadata log with Kafka's own ConfigCommand and AclCommand (through the
# PLAINTEXT listener, whose ANONYMOUS principal is a super user). Done once per data folder (a
# marker file there), so a storage formatted before the listener existed gets them too, and a
# reset (which wipes the data) gets them again. A fresh storage gets the SCRAM users when formatted.
#
# Users (PLAIN: the JAAS line in server.properties.template; SCRAM-SHA-256/512: here):
#   admin / admin-secret            super user
#   duality / duality-secret        super user
#   restricted / restricted-secret  topics, groups and transactional ids prefixed `allowed-` only
SCRAM_USERS=(admin:admin-secret duality:duality-secret restricted:restricted-secret)
SCRAM_MECHANISMS=(SCRAM-SHA-256 SCRAM-SHA-512)
# Bump when the users or ACLs here change: existing data gets them again.
SCRAM_MARKER_VALUE=1
ACL_MARKER_VALUE=2
scram_marker() { echo "$DATA_DIR/.duality-scram"; }
acl_marker() { echo "$DATA_DIR/.duality-acls"; }

# The StorageTool arguments that put the SCRAM users in a storage being formatted (no tool run
# later for a fresh storage).
scram_format_args() {
  local u m
  for u in "${SCRAM_USERS[@]}"; do
    for m in "${SCRAM_MECHANISMS[@]}"; do printf '%s\n' --add-scram "$m=[name=${u%%:*},password=${u#*:}]"; done
  done
}

# Runs a Kafka tool ($1 = main class, then its arguments) against the PLAINTEXT listener, with
# the classpath of kafka/tools.sh (in TOOLS_CP, fetched once by ensure_users_and_acls).
TOOLS_CP=""
kafka_tool() {
  local main="$1"
  shift
  java -Xshare:auto -XX:TieredStopAtLevel=1 -Xms32m -Xmx256m -cp "$TOOLS_CP" "$main" \
    --bootstrap-server "127.0.0.1:$KAFKA_PORT" "$@"
}

restricted_acl() { # the resource and operations, as AclCommand takes them
  kafka_tool org.apache.kafka.tools.AclCommand --add --allow-principal User:restricted "$@"
}

# The tools are separate JVMs (about 2 s each): started side by side, and all must succeed.
# ConfigCommand takes one user and one mechanism per run (two mechanisms of one user in one
# request: "A user credential cannot be altered twice in the same request").
ensure_users_and_acls() {
  local log="$LOG_DIR/security.log" t0 pids=() failed=0 p u m scram=0 acls=0
  [ "$(cat "$(scram_marker)" 2>/dev/null || true)" = "$SCRAM_MARKER_VALUE" ] || scram=1
  [ "$(cat "$(acl_marker)" 2>/dev/null || true)" = "$ACL_MARKER_VALUE" ] || acls=1
  [ "$scram$acls" = 00 ] && return 0
  t0="$(now_ms)"
  TOOLS_CP="$(bash "$KAFKA_DIR/tools.sh")" || return 1
  : >"$log"
  if [ "$scram" = 1 ]; then
    for u in "${SCRAM_USERS[@]}"; do
      for m in "${SCRAM_MECHANISMS[@]}"; do
        kafka_tool org.apache.kafka.tools.ConfigCommand --alter --entity-type users \
          --entity-name "${u%%:*}" --add-config "$m=[password=${u#*:}]" >>"$log" 2>&1 &
        pids+=($!)
      done
    done
  fi
  if [ "$acls" = 1 ]; then
    # What Duality needs for a topology named allowed-...: Delete for `duality reset`
    # (docs/kafka.md, "What the user must be allowed").
    restricted_acl --resource-pattern-type prefixed --topic allowed- --operation Read \
      --operation Write --operation Describe --operation Create --operation Delete >>"$log" 2>&1 & pids+=($!)
    restricted_acl --resource-pattern-type prefixed --group allowed- \
      --operation Read --operation Describe --operation Delete >>"$log" 2>&1 & pids+=($!)
    restricted_acl --resource-pattern-type prefixed --transactional-id allowed- \
      --operation Write --operation Describe >>"$log" 2>&1 & pids+=($!)
    restricted_acl --cluster --operation IdempotentWrite >>"$log" 2>&1 & pids+=($!)
  fi
  for p in "${pids[@]}"; do wait "$p" || failed=1; done
  if [ "$failed" = 1 ]; then
    cat "$log" >&2
    return 1
  fi
  [ "$scram" = 1 ] && echo "$SCRAM_MARKER_VALUE" >"$(scram_marker)"
  [ "$acls" = 1 ] && echo "$ACL_MARKER_VALUE" >"$(acl_marker)"
  say "added the SCRAM users ($scram) and the ACLs of 'restricted' ($acls) in $(elapsed "$t0") (log: $log)"
}
