#!/bin/bash
# t-tls.sh: HTTPS with TLS_CERT/TLS_KEY: TLS 1.2 and 1.3 only, AEAD suites
# only, X25519 and P-256 only, HTTP/1.1 ALPN; reload of the certificate on
# SIGHUP, keeping the old one when the new files are bad.  ECDSA P-256
# certificates first, then the same essentials with RSA-2048 ones.
. "$(dirname "$0")/lib.sh"
trap pw_stop EXIT
d=$PW_TMP
mkcert() {
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	    -keyout "$d/$1.key" -out "$d/$1.crt" -days 2 -subj "/CN=$1" \
	    -addext "subjectAltName=IP:127.0.0.1" 2>/dev/null
}
mkcert one; mkcert two
cp "$d/one.crt" "$d/srv.crt"; cp "$d/one.key" "$d/srv.key"
pw_start TLS_CERT="$d/srv.crt" TLS_KEY="$d/srv.key" || { fail "portwingd starts with TLS"; exit 1; }
url=https://127.0.0.1:$PW_PORT
check "HTTPS /health" [ "$(curl -sk -o /dev/null -w '%{http_code}' "$url/health")" = 200 ]
check "HTTPS Docker call with the token" \
    [ "$(curl -sk --cacert "$d/one.crt" -H "Authorization: Bearer $PW_TOKEN" "$url/_ping")" = OK ]
check "plain HTTP on the TLS port gets no HTTP answer" \
    [ "$(curl -s -m 3 -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PW_PORT/health")" = 000 ]

sc() { echo | timeout 5 openssl s_client -connect 127.0.0.1:$PW_PORT "$@" 2>&1; }
handshake() { sc "$@" | grep -q '^New, TLS'; }
check "TLS 1.3 accepted" handshake -tls1_3
check "TLS 1.2 with ECDHE-ECDSA-AES128-GCM-SHA256 accepted" handshake -tls1_2 -cipher ECDHE-ECDSA-AES128-GCM-SHA256
check "TLS 1.2 with ChaCha20-Poly1305 accepted" handshake -tls1_2 -cipher ECDHE-ECDSA-CHACHA20-POLY1305
check "TLS 1.1 refused" bash -c "! echo | timeout 5 openssl s_client -connect 127.0.0.1:$PW_PORT -tls1_1 -cipher 'DEFAULT:@SECLEVEL=0' 2>&1 | grep -q '^New, TLS'"
check "TLS 1.2 CBC suite refused" bash -c "! echo | timeout 5 openssl s_client -connect 127.0.0.1:$PW_PORT -tls1_2 -cipher ECDHE-ECDSA-AES128-SHA256 2>&1 | grep -q '^New, TLS'"
check "X25519 accepted" handshake -groups X25519
check "P-256 accepted" handshake -groups P-256
check "P-384 only refused" bash -c "! echo | timeout 5 openssl s_client -connect 127.0.0.1:$PW_PORT -groups P-384 2>&1 | grep -q '^New, TLS'"
check "ALPN h2 is not negotiated" bash -c "echo | timeout 5 openssl s_client -connect 127.0.0.1:$PW_PORT -alpn h2 2>&1 | grep -q 'No ALPN negotiated'"
check "ALPN http/1.1 is negotiated" bash -c "echo | timeout 5 openssl s_client -connect 127.0.0.1:$PW_PORT -alpn http/1.1 2>&1 | grep -q 'ALPN protocol: http/1.1'"

mkdir -p "$PW_TMP/dockercfg"
printf '{"HttpHeaders":{"Authorization":"Bearer %s"}}\n' "$PW_TOKEN" >"$PW_TMP/dockercfg/config.json"
out=$(DOCKER_CONFIG=$PW_TMP/dockercfg docker -H "tcp://127.0.0.1:$PW_PORT" --tlsverify \
    --tlscacert "$d/one.crt" version --format '{{.Server.APIVersion}}' 2>&1)
check "docker CLI over TLS ($out)" \
    sh -c '[ -n "$1" ] && [ "$1" = "$2" ]' _ "$out" "$(pw_docker_direct version --format '{{.Server.APIVersion}}')"

# exec -i over TLS: the client's close_notify (end of stdin) arrives while
# output is still queued for it; all of that output must still be sent.
pw_docker_direct rm -f pwtls-cat >/dev/null 2>&1
pw_docker_direct run -d --name pwtls-cat "$PW_IMAGE" sleep 600 >/dev/null
head -c 20000000 /dev/urandom >"$d/in.bin"
want=$(sha256sum <"$d/in.bin")
good=0
for i in 1 2 3 4; do
	got=$(DOCKER_CONFIG=$PW_TMP/dockercfg timeout 60 docker -H "tcp://127.0.0.1:$PW_PORT" \
	    --tlsverify --tlscacert "$d/one.crt" exec -i pwtls-cat cat <"$d/in.bin" | sha256sum)
	[ "$got" = "$want" ] && good=$((good + 1))
done
check "exec -i cat of 20 MB over TLS comes back whole ($good of 4 runs)" [ $good = 4 ]
pw_docker_direct rm -f pwtls-cat >/dev/null 2>&1

TLSCLI="env DOCKER_CONFIG=$PW_TMP/dockercfg docker -H tcp://127.0.0.1:$PW_PORT --tlsverify --tlscacert $d/one.crt"
tcid=$(pw_docker_direct run -d "$PW_IMAGE" sleep 60)
check "docker exec over TLS" [ "$($TLSCLI exec $tcid echo tls-exec)" = tls-exec ]
check "docker exec -i over TLS (stdin relayed, half-closed)" [ "$(echo piped | $TLSCLI exec -i $tcid cat)" = piped ]
check "docker exec over TLS: output after the client's half-close" [ "$($TLSCLI exec $tcid sh -c 'sleep 0.5; echo late')" = late ]
pw_docker_direct rm -f "$tcid" >/dev/null

fp() { sc | openssl x509 -noout -fingerprint -sha256 2>/dev/null; }
reload_survives() {
	python3 - "$PW_PORT" "$PW_TOKEN" "$PW_PID" <<'PY'
import http.client, os, signal, ssl, sys, time
ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
c = http.client.HTTPSConnection("127.0.0.1", int(sys.argv[1]), context=ctx, timeout=10)
h = {"Authorization": "Bearer " + sys.argv[2]}
c.request("GET", "/_ping", headers=h); r = c.getresponse(); r.read(); s1 = r.status
sock = c.sock
os.kill(int(sys.argv[3]), signal.SIGHUP); time.sleep(0.5)
c.request("GET", "/_ping", headers=h); r = c.getresponse(); r.read()
print(s1, r.status, "same" if c.sock is sock else "new")
PY
}
fp1=$(fp)
# Bad replacement: refused, the old certificate stays in service.
echo garbage >"$d/srv.crt"
kill -HUP "$PW_PID"; sleep 0.5
check "a bad certificate on SIGHUP is refused" grep -q 'reload failed, keeping the running configuration: TLS_CERT' "$PW_LOG"
check "the old certificate is still served" [ "$(fp)" = "$fp1" ]
# Good replacement, with a keep-alive connection open across it.
cp "$d/two.crt" "$d/srv.crt"; cp "$d/two.key" "$d/srv.key"
out=$(reload_survives)
check "established TLS connection survives the reload ($out)" [ "$out" = "200 200 same" ]
fp2=$(fp)
check "new connections get the new certificate" bash -c "[ -n '$fp2' ] && [ '$fp2' != '$fp1' ]"
pw_stop

# RSA-2048 certificates: ECDHE-RSA suites, both protocol versions, the
# docker CLI, exec, and a reload to another RSA certificate.
mkrsa() {
	openssl req -x509 -newkey rsa:2048 -nodes -keyout "$d/$1.key" -out "$d/$1.crt" \
	    -days 2 -subj "/CN=$1" -addext "subjectAltName=IP:127.0.0.1" 2>/dev/null
}
mkrsa rsa1; mkrsa rsa2
cp "$d/rsa1.crt" "$d/srv.crt"; cp "$d/rsa1.key" "$d/srv.key"
pw_start TLS_CERT="$d/srv.crt" TLS_KEY="$d/srv.key" || { fail "portwingd starts with an RSA certificate"; exit 1; }
url=https://127.0.0.1:$PW_PORT
check "RSA: HTTPS Docker call with the token, certificate verified" \
    [ "$(curl -s --cacert "$d/rsa1.crt" -H "Authorization: Bearer $PW_TOKEN" "$url/_ping")" = OK ]
check "RSA: TLS 1.3 accepted" handshake -tls1_3
check "RSA: TLS 1.2 with ECDHE-RSA-AES128-GCM-SHA256 accepted" handshake -tls1_2 -cipher ECDHE-RSA-AES128-GCM-SHA256
check "RSA: TLS 1.2 with ECDHE-RSA-CHACHA20-POLY1305 accepted" handshake -tls1_2 -cipher ECDHE-RSA-CHACHA20-POLY1305
check "RSA: TLS 1.2 CBC suite refused" bash -c "! echo | timeout 5 openssl s_client -connect 127.0.0.1:$PW_PORT -tls1_2 -cipher ECDHE-RSA-AES128-SHA256 2>&1 | grep -q '^New, TLS'"
RSACLI="env DOCKER_CONFIG=$PW_TMP/dockercfg docker -H tcp://127.0.0.1:$PW_PORT --tlsverify --tlscacert $d/rsa1.crt"
out=$($RSACLI version --format '{{.Server.APIVersion}}' 2>&1)
check "RSA: docker CLI over TLS ($out)" \
    sh -c '[ -n "$1" ] && [ "$1" = "$2" ]' _ "$out" "$(pw_docker_direct version --format '{{.Server.APIVersion}}')"
tcid=$(pw_docker_direct run -d "$PW_IMAGE" sleep 60)
check "RSA: docker exec -i over TLS" [ "$(echo piped | $RSACLI exec -i $tcid cat)" = piped ]
pw_docker_direct rm -f "$tcid" >/dev/null
fp1=$(fp)
cp "$d/rsa2.crt" "$d/srv.crt"; cp "$d/rsa2.key" "$d/srv.key"
out=$(reload_survives)
check "RSA: established TLS connection survives the reload ($out)" [ "$out" = "200 200 same" ]
fp2=$(fp)
check "RSA: new connections get the new certificate" bash -c "[ -n '$fp2' ] && [ '$fp2' != '$fp1' ]"
check "RSA: and it verifies" [ "$(curl -s --cacert "$d/rsa2.crt" -H "Authorization: Bearer $PW_TOKEN" "$url/_ping")" = OK ]
pw_stop

# Startup refuses a key that does not match the certificate.
PW_PORT=$(pw_free_port)
out=$(env -i PATH="$PATH" TOKEN=x PORT=$PW_PORT DOCKER_SOCKET="$DOCKER_SOCK" \
    TLS_CERT="$d/one.crt" TLS_KEY="$d/two.key" "$PW_BUILD/portwingd" 2>&1); rc=$?
check "mismatched key refused at start (rc=$rc)" bash -c "[ $rc = 1 ] && echo '$out' | grep -q 'TLS_KEY does not match TLS_CERT'"
out=$(env -i PATH="$PATH" TOKEN=x PORT=$PW_PORT DOCKER_SOCKET="$DOCKER_SOCK" \
    TLS_CERT="$d/one.crt" "$PW_BUILD/portwingd" 2>&1); rc=$?
check "TLS_CERT without TLS_KEY refused (rc=$rc)" bash -c "[ $rc = 1 ] && echo '$out' | grep -q 'TLS_CERT and TLS_KEY must be set together'"
pw_done
