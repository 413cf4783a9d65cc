#!/bin/bash
# t-policy-mtls.sh: the filter mode over TCP with mutual TLS 1.3
# (LISTEN_MTLS).  Clients need no token: a certificate from MTLS_CLIENT_CA
# is required, and its verified leaf selects the policy profile
# (clients.client_certificate_profiles, reference §2.4, §7.3; case 65:
# only the verified leaf counts).  Also clients.allowed_cidrs on this
# listener, the refusals at start (case 67: never plaintext) and the
# docker CLI over TLS.
. "$(dirname "$0")/lib.sh"
here=$(cd "$(dirname "$0")" && pwd)
trap 'pw_stop; pw_docker_direct rm -f pwm-a >/dev/null 2>&1' EXIT
C=$PW_TMP/certs
mkdir -p "$C"
bash "$here/mkcerts.sh" "$C" || { fail "test certificates made with openssl"; exit 1; }
pin=$(cat "$C/reader.pin")

policy() {	# policy FILE [extra clients: lines]
	cat >"$1" <<EOF2
insecure_allow_read_exfiltration: true
insecure_allow_body_blind_writes: true
rules:
  - match: { method: GET, path: "/_ping" }
    action: allow
  - match: { method: HEAD, path: "/_ping" }
    action: allow
  - match: { method: GET, path: "/version" }
    action: allow
clients:
${2:-}
  client_certificate_profiles:
    - profile: operator
      common_names: [ops-admin]
      spiffe_ids: ["spiffe://example.org/ops"]
    - profile: reader
      public_key_sha256_pins: ["sha256:$pin"]
  profiles:
    - name: operator
      rules:
        - match: { method: "*", path: "/_ping" }
          action: allow
        - match: { method: GET, path: "/version" }
          action: allow
        - match: { method: GET, path: "/containers/**" }
          action: allow
        - match: { method: GET, path: "/images/**" }
          action: allow
        - match: { method: POST, path: "/containers/create" }
          action: allow
        - match: { method: POST, path: "/containers/*/start" }
          action: allow
        - match: { method: POST, path: "/containers/*/stop" }
          action: allow
        - match: { method: POST, path: "/containers/*/wait" }
          action: allow
        - match: { method: DELETE, path: "/containers/*" }
          action: allow
    - name: reader
      rules:
        - match: { method: "*", path: "/_ping" }
          action: allow
        - match: { method: GET, path: "/version" }
          action: allow
        - match: { method: GET, path: "/containers/json" }
          action: allow
EOF2
}
policy "$PW_TMP/mtls.yaml"
MP=$(pw_free_port)
TLSENV=(TLS_CERT="$C/server.crt" TLS_KEY="$C/server.key" MTLS_CLIENT_CA="$C/ca.crt")
pw_start "${TLSENV[@]}" LISTEN_MTLS="127.0.0.1:$MP" POLICY_FILE="$PW_TMP/mtls.yaml" ||
    { fail "portwingd starts with LISTEN_MTLS"; exit 1; }

# M CERT [curl args]: a request on the mTLS listener with CERT's key, no token.
M() {
	local who=$1; shift
	curl -s -m 10 --cacert "$C/ca.crt" ${who:+--cert "$C/$who.crt" --key "$C/$who.key"} \
	    -o "$PW_TMP/body" -w '%{http_code}' "$@"
}
U="https://127.0.0.1:$MP"
check "operator certificate, no token: GET /containers/json 200" [ "$(M ops "$U/containers/json")" = 200 ]
check "operator certificate: GET /images/json 200" [ "$(M ops "$U/images/json")" = 200 ]
code=$(M ops -X POST "$U/containers/pwm-none/stop")
check "operator certificate: POST stop reaches Docker (404 from Docker: $code)" \
    bash -c "[ $code = 404 ] && grep -qi 'no such container' '$PW_TMP/body'"
check "reader certificate (SPKI pin): GET /containers/json 200" [ "$(M reader "$U/containers/json")" = 200 ]
code=$(M reader "$U/images/json")
check "reader certificate: GET /images/json 403 with sockguard's body ($code)" \
    bash -c "[ $code = 403 ] && grep -q 'request denied by sockguard policy' '$PW_TMP/body'"
code=$(M halfops "$U/containers/json")
check "CN matches but the SPIFFE ID is missing (fields are ANDed): root rules, 403 ($code)" [ "$code" = 403 ]
check "... /_ping is in the root rules: 200" [ "$(M halfops "$U/_ping")" = 200 ]
check "a certificate matching no profile gets the root rules: /version 200" [ "$(M plain "$U/version")" = 200 ]
check "... and /containers/json 403" [ "$(M plain "$U/containers/json")" = 403 ]
check "a token is ignored there: a wrong one changes nothing (200)" \
    [ "$(M ops -H 'Authorization: Bearer wrong' "$U/containers/json")" = 200 ]
check "a certificate from another CA fails the handshake" [ "$(M stranger "$U/_ping")" = 000 ]
check "no certificate fails the handshake" [ "$(M "" "$U/_ping")" = 000 ]
check "a certificate without clientAuth use fails the handshake" [ "$(M srvonly "$U/_ping")" = 000 ]
check "TLS 1.2 is refused on LISTEN_MTLS" [ "$(M ops --tls-max 1.2 "$U/_ping")" = 000 ]
# Case 65: selectors see the verified leaf only.  Extra certificates the
# client sends (here the operator's, after an unmatched leaf) are never
# looked at.
cat "$C/plain.crt" "$C/ops.crt" >"$C/trick.crt"
cp "$C/plain.key" "$C/trick.key"
code=$(M trick "$U/containers/json")
check "case 65: an operator certificate sent after another leaf selects nothing (403: $code)" [ "$code" = 403 ]
cat "$C/stranger.crt" "$C/ca.crt" >"$C/trick2.crt"
cp "$C/stranger.key" "$C/trick2.key"
check "case 65: a foreign leaf with our CA certificate appended fails the handshake" \
    [ "$(M trick2 "$U/_ping")" = 000 ]
# The filter listeners serve Docker's API only: portwing's own routes
# are Docker paths there, judged (and refused) by the policy.
for p in /_portwing/info /_portwing/audit /api/containers /metrics; do
	code=$(M ops "$U$p")
	check "filter client: $p is not a portwing route here (policy 403: $code)" \
	    bash -c "[ $code = 403 ] && grep -q 'request denied by sockguard policy' '$PW_TMP/body'"
done
code=$(M ops -X DELETE "$U/api/containers/pwm-none")
check "filter client: DELETE /api/containers/ID is refused by the policy ($code)" [ "$code" = 403 ]
code=$(curl -s -m 10 -k -o /dev/null -w '%{http_code}' "https://127.0.0.1:$PW_PORT/containers/json")
check "the token listener still wants the token (401: $code)" [ "$code" = 401 ]
rp=cert:$(openssl x509 -in "$C/reader.crt" -outform DER | sha256sum | cut -c1-32)
check "the principal is the leaf's digest, bound by authd, with its profile ($rp)" \
    grep -q "denied GET /images/json for $rp, profile reader" "$PW_LOG"

# The docker CLI over TLS (DOCKER_TLS_VERIFY) with the operator certificate.
mkd() { mkdir -p "$PW_TMP/$1"; cp "$C/ca.crt" "$PW_TMP/$1/ca.pem"; cp "$C/$1.crt" "$PW_TMP/$1/cert.pem"; cp "$C/$1.key" "$PW_TMP/$1/key.pem"; }
mkd ops; mkd reader
D() { local who=$1; shift; DOCKER_HOST="tcp://127.0.0.1:$MP" DOCKER_TLS_VERIFY=1 \
    DOCKER_CERT_PATH="$PW_TMP/$who" DOCKER_CONFIG="$PW_TMP/$who" timeout 60 docker "$@"; }
check "docker CLI over mTLS (operator): version" \
    bash -c "[ \"\$(DOCKER_HOST=tcp://127.0.0.1:$MP DOCKER_TLS_VERIFY=1 DOCKER_CERT_PATH=$PW_TMP/ops DOCKER_CONFIG=$PW_TMP/ops timeout 60 docker version --format '{{.Server.APIVersion}}')\" = \"\$(docker -H unix://$DOCKER_SOCK version --format '{{.Server.APIVersion}}')\" ]"
check "docker CLI over mTLS (operator): run -d" bash -c "$(declare -f D); PW_TMP=$PW_TMP MP=$MP D ops run -d --name pwm-a $PW_IMAGE sleep 300 >/dev/null"
check "docker CLI over mTLS (operator): ps sees it" \
    bash -c "$(declare -f D); PW_TMP=$PW_TMP MP=$MP D ops ps --format '{{.Names}}' | grep -qx pwm-a"
out=$(D reader rm -f pwm-a 2>&1)
check "docker CLI over mTLS (reader): rm refused ($out)" \
    bash -c "echo \"\$1\" | grep -q 'request denied by sockguard policy'" _ "$out"
check "docker CLI over mTLS (operator): rm -f" bash -c "$(declare -f D); PW_TMP=$PW_TMP MP=$MP D ops rm -f pwm-a >/dev/null"
pw_stop

# A compromised worker that serves portwing's own routes to a filter
# client anyway (the test build's hook): the proxy refuses them, since
# the approval names a certificate principal.
PW_DAEMON=$PW_BUILD/portwingd-hooks pw_start "${TLSENV[@]}" LISTEN_MTLS="127.0.0.1:$MP" \
    POLICY_FILE="$PW_TMP/mtls.yaml" || { fail "portwingd-hooks starts with LISTEN_MTLS"; exit 1; }
code=$(M ops -H 'X-Portwing-Test-Own-Routes: 1' "$U/_portwing/info")
check "hooked worker: /_portwing/info for a certificate client is refused by the proxy ($code)" \
    bash -c "[ $code = 403 ] && grep -q 'request not approved by authd' '$PW_TMP/body'"
code=$(M ops -H 'X-Portwing-Test-Own-Routes: 1' "$U/api/containers")
check "hooked worker: /api/containers likewise ($code)" [ "$code" = 403 ]
check "the proxy logged the refusal" grep -q 'a portwing route for filter client cert:' "$PW_LOG"
# A worker that passes authd another chain than its client's (its own
# server certificate, from the same CA): authd verifies for TLS client
# use itself and refuses.
code=$(M ops -H 'X-Portwing-Test-Chain: server' "$U/containers/json")
check "hooked worker: a substituted chain is refused by authd (401: $code)" [ "$code" = 401 ]
check "... and authd says why" grep -q 'authentication failed from 127.0.0.1 as certificate.*purpose' "$PW_LOG"
check "the same client without the hook is still admitted" [ "$(M ops "$U/containers/json")" = 200 ]
pw_stop

# SIGHUP reads MTLS_CLIENT_CA again: workers and authd switch together;
# a file that is not a CA refuses the reload and the old one stays.
cp "$C/ca.crt" "$PW_TMP/ca-live.pem"
pw_start TLS_CERT="$C/server.crt" TLS_KEY="$C/server.key" MTLS_CLIENT_CA="$PW_TMP/ca-live.pem" \
    LISTEN_MTLS="127.0.0.1:$MP" POLICY_FILE="$PW_TMP/mtls.yaml" ||
    { fail "portwingd starts for the CA reload"; exit 1; }
check "before the reload: the operator certificate is admitted" [ "$(M ops "$U/containers/json")" = 200 ]
cp "$C/other.crt" "$PW_TMP/ca-live.pem"
kill -HUP "$PW_PID"
for i in $(seq 1 50); do grep -q 'configuration reloaded' "$PW_LOG" && break; sleep 0.1; done
sleep 0.3
check "after the reload: a certificate of the old CA fails the handshake" [ "$(M ops "$U/_ping")" = 000 ]
check "after the reload: one of the new CA is verified by authd and selects its profile" \
    [ "$(M stranger "$U/containers/json")" = 200 ]
cp "$C/plain.crt" "$PW_TMP/ca-live.pem"
kill -HUP "$PW_PID"
for i in $(seq 1 50); do grep -q 'not a CA certificate' "$PW_LOG" && break; sleep 0.1; done
check "a CA file that is not one: the reload is refused, the log says why" \
    grep -q 'reload failed, keeping the running configuration: MTLS_CLIENT_CA: certificate 1 is not a CA' "$PW_LOG"
check "... and the CA in force stays" [ "$(M stranger "$U/containers/json")" = 200 ]
pw_stop

# clients.allowed_cidrs guards this listener too (§7.1, case 64).
policy "$PW_TMP/cidr-out.yaml" "  allowed_cidrs: [10.99.0.0/16]"
pw_start "${TLSENV[@]}" LISTEN_MTLS="127.0.0.1:$MP" POLICY_FILE="$PW_TMP/cidr-out.yaml" ||
    { fail "portwingd starts with allowed_cidrs"; exit 1; }
code=$(M ops "$U/containers/json")
check "allowed_cidrs without 127.0.0.1: the operator certificate gets 403 ($code)" \
    bash -c "[ $code = 403 ] && grep -q 'client IP not allowed' '$PW_TMP/body'"
pw_stop
policy "$PW_TMP/cidr-in.yaml" "  allowed_cidrs: [10.99.0.0/16, 127.0.0.0/8]"
pw_start "${TLSENV[@]}" LISTEN_MTLS="127.0.0.1:$MP" POLICY_FILE="$PW_TMP/cidr-in.yaml" ||
    { fail "portwingd starts with allowed_cidrs"; exit 1; }
check "allowed_cidrs with 127.0.0.0/8: 200" [ "$(M ops "$U/containers/json")" = 200 ]
pw_stop

# Refusals at start.  Case 67: the filter listener over TCP is never
# plaintext (portwing has no plaintext TCP filter and no acknowledgement
# that would allow one).
n() { env -i PATH="$PATH" TOKEN=x "$@" "$PW_BUILD/portwingd" -n 2>&1; }
out=$(n LISTEN_MTLS="127.0.0.1:$MP" MTLS_CLIENT_CA="$C/ca.crt" POLICY=readonly)
check "case 67: LISTEN_MTLS without TLS_CERT/TLS_KEY is refused ($out)" \
    bash -c "echo \"\$1\" | grep -q 'never plaintext'" _ "$out"
out=$(n LISTEN_MTLS="127.0.0.1:$MP" TLS_CERT="$C/server.crt" TLS_KEY="$C/server.key" POLICY=readonly)
check "LISTEN_MTLS without MTLS_CLIENT_CA is refused ($out)" \
    bash -c "echo \"\$1\" | grep -q 'needs MTLS_CLIENT_CA'" _ "$out"
out=$(n "${TLSENV[@]}" LISTEN_MTLS="127.0.0.1:$MP")
check "LISTEN_MTLS without a policy is refused ($out)" bash -c "echo \"\$1\" | grep -q 'needs a policy'" _ "$out"
out=$(n "${TLSENV[@]}" LISTEN_MTLS=":$MP" POLICY=readonly)
check "LISTEN_MTLS without an address is refused ($out)" bash -c "echo \"\$1\" | grep -q 'expected an IP'" _ "$out"
out=$(n TLS_CERT="$C/server.crt" TLS_KEY="$C/server.key" MTLS_CLIENT_CA="$C/ca.crt" POLICY=readonly)
check "MTLS_CLIENT_CA without LISTEN_MTLS is refused ($out)" bash -c "echo \"\$1\" | grep -q 'without LISTEN_MTLS'" _ "$out"
out=$(env -i PATH="$PATH" TOKEN=x TLS_CERT="$C/server.crt" TLS_KEY="$C/server.key" \
    MTLS_CLIENT_CA="$C/plain.crt" LISTEN_MTLS="127.0.0.1:$MP" POLICY=readonly \
    timeout 10 "$PW_BUILD/portwingd" 2>&1)
check "an MTLS_CLIENT_CA that is not a CA certificate is refused ($out)" \
    bash -c "echo \"\$1\" | grep -q 'not a CA certificate'" _ "$out"
out=$(n POLICY_FILE="$PW_TMP/mtls.yaml")
check "certificate profiles without LISTEN_MTLS: a warning that they select nothing" \
    bash -c "echo \"\$1\" | grep -q 'LISTEN_MTLS is not set, so no client presents a certificate'" _ "$out"
# Malformed selectors are load errors naming the key.
bad() {	# bad NAME 'selector lines' 'expected text'
	cat >"$PW_TMP/bad.yaml" <<EOF2
rules:
  - match: { method: GET, path: "/_ping" }
    action: allow
clients:
  client_certificate_profiles:
    - profile: p
$2
  profiles:
    - name: p
      rules:
        - match: { method: GET, path: "/_ping" }
          action: allow
EOF2
	out=$("$PW_BUILD/portwing" policy check "$PW_TMP/bad.yaml" 2>&1)
	check "load error: $1 ($out)" bash -c "echo \"\$1\" | grep -qF \"\$2\"" _ "$out" "$3"
}
bad "a short pin" '      public_key_sha256_pins: ["sha256:abcd"]' 'client_certificate_profiles[0].public_key_sha256_pins[0]'
bad "a pin that is not hex" "      public_key_sha256_pins: [\"$(printf 'z%.0s' $(seq 64))\"]" 'public_key_sha256_pins[0]'
bad "a SPIFFE ID without the scheme" '      spiffe_ids: ["example.org/ops"]' 'spiffe_ids[0]'
bad "an IP address that is not one" '      ip_addresses: ["10.0.0.300"]' 'ip_addresses[0]'
bad "an entry without a selector" '      common_names: []' 'at least one selector'
bad "an unknown selector key" '      serial_numbers: ["1"]' 'unknown key'
pw_done
