# Sourced by start.sh: the TLS material of the SASL_SSL listener, made once into $TLS_DIR
# (kafka/.cache/tls) with openssl and keytool. Dev-only secrets: fixed store password, no
# passphrase on the PEM keys (tests read them).
#
#   ca.pem, ca.key                the CA clients trust (`ssl.ca` / `ssl.truststore`)
#   broker.keystore.p12           the broker's key and certificate (SAN IP:127.0.0.1, DNS:localhost)
#   truststore.p12                the CA, for Java clients and the broker (client certificates)
#   client.pem, client.key        a client certificate signed by the CA (mTLS-capable clients)
#   untrusted-ca.pem              another CA, trusted by nobody: a client using it must fail
#   client.properties             Kafka's Java clients and tools as `duality` (SCRAM-SHA-512)
TLS_STORE_PASSWORD=duality-tls

# $1 = name, $2 = subject CN: a self-signed CA.
tls_ca() {
  openssl req -x509 -newkey rsa:2048 -nodes -sha256 -days 3650 -keyout "$1.key" -out "$1.pem" \
    -subj "/CN=$2" -addext 'basicConstraints=critical,CA:TRUE' \
    -addext 'keyUsage=critical,keyCertSign,cRLSign' 2>/dev/null
}

# $1 = name, $2 = subject CN, $3 = extensions: a key and a certificate signed by ca.pem.
tls_leaf() {
  openssl req -new -newkey rsa:2048 -nodes -keyout "$1.key" -out "$1.csr" -subj "/CN=$2" 2>/dev/null
  printf '%s\n' "$3" >"$1.ext"
  openssl x509 -req -sha256 -days 3650 -in "$1.csr" -CA ca.pem -CAkey ca.key -CAcreateserial \
    -extfile "$1.ext" -out "$1.pem" 2>/dev/null
  rm -f "$1.csr" "$1.ext"
}

# Makes $TLS_DIR when it is missing (all or nothing: built aside, then renamed).
ensure_tls() {
  [ -f "$TLS_DIR/truststore.p12" ] && return 0
  command -v openssl >/dev/null || die "openssl is missing (Debian: apt-get install openssl)"
  command -v keytool >/dev/null || die "keytool is missing: it comes with the JDK"
  local t0 tmp
  t0="$(now_ms)"
  tmp="$TLS_DIR.tmp"
  rm -rf "$tmp"
  mkdir -p "$tmp"
  (
    set -e
    cd "$tmp"
    tls_ca ca 'Duality dev CA'
    tls_ca untrusted-ca 'Duality untrusted CA'
    rm -f untrusted-ca.key
    tls_leaf broker localhost "subjectAltName=IP:127.0.0.1,DNS:localhost
extendedKeyUsage=serverAuth,clientAuth
keyUsage=critical,digitalSignature,keyEncipherment"
    tls_leaf client duality "extendedKeyUsage=clientAuth
keyUsage=critical,digitalSignature,keyEncipherment"
    openssl pkcs12 -export -name broker -in broker.pem -inkey broker.key -certfile ca.pem \
      -passout "pass:$TLS_STORE_PASSWORD" -out broker.keystore.p12
    keytool -importcert -noprompt -alias ca -file ca.pem -storetype PKCS12 \
      -keystore truststore.p12 -storepass "$TLS_STORE_PASSWORD" >/dev/null 2>&1
    rm -f broker.key ca.srl
    cat >client.properties <<PROPS
# Kafka's own clients and tools on the SASL_SSL listener as duality, e.g.
#   --bootstrap-server 127.0.0.1:9094 --command-config (or --producer.config) $TLS_DIR/client.properties
security.protocol=SASL_SSL
sasl.mechanism=SCRAM-SHA-512
sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="duality" password="duality-secret";
ssl.truststore.type=PEM
ssl.truststore.location=$TLS_DIR/ca.pem
PROPS
  ) || { rm -rf "$tmp"; die "making the TLS files in $tmp failed"; }
  rm -rf "$TLS_DIR"
  mv "$tmp" "$TLS_DIR"
  say "made the TLS files in $TLS_DIR in $(elapsed "$t0")"
}
