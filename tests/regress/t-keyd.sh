#!/bin/bash
# t-keyd.sh: with TLS, the TLS private key lives in keyd, never in a
# worker.  For an RSA-2048 and an ECDSA P-256 certificate: handshakes with
# curl, openssl s_client (TLS 1.2 and 1.3) and the docker CLI; the
# workers' memory holds no private key material while keyd's does; keyd
# refuses what TLS never asks for and bounds a worker's signing rate;
# handshakes fail while keyd is down and work again once it is back; a
# SIGHUP that swaps the key type never pairs a certificate with the other
# key.  Without TLS there is no keyd.
. "$(dirname "$0")/lib.sh"
trap pw_stop EXIT
here=$(dirname "$0")
PW_DAEMON=$PW_BUILD/portwingd-hooks
D=$PW_TMP	# not "d": check() has a local of that name

mkcert() {
	local kind=$1 alg
	case $kind in
	rsa) alg="-newkey rsa:2048" ;;
	ec) alg="-newkey ec -pkeyopt ec_paramgen_curve:P-256" ;;
	esac
	openssl req -x509 $alg -nodes -keyout "$D/$kind.key" -out "$D/$kind.crt" \
	    -days 2 -subj "/CN=$kind" -addext "subjectAltName=IP:127.0.0.1" 2>/dev/null
}
# Hex needles for a key's private values: big-endian (DER, PEM) and
# little-endian (OpenSSL's BIGNUM limbs), then one line of the PEM body.
needles() {
	python3 - "$1" <<'PY'
import sys
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
pem = open(sys.argv[1], "rb").read()
k = serialization.load_pem_private_key(pem, None)
v = k.private_numbers().d if isinstance(k, rsa.RSAPrivateKey) else k.private_numbers().private_value
be = v.to_bytes((v.bit_length() + 7) // 8, "big")
lines = [l for l in pem.splitlines() if not l.startswith(b"-----")]
line = lines[1] if isinstance(k, ec.EllipticCurvePrivateKey) else lines[len(lines) * 2 // 3]
print(be.hex(), be[::-1].hex(), line.hex())
PY
}
mkcert rsa; mkcert ec
cat "$D/rsa.crt" "$D/ec.crt" >"$D/both.crt"

sc() { echo | timeout 5 openssl s_client -connect 127.0.0.1:$PW_PORT -CAfile "$D/both.crt" -verify_return_error "$@" 2>&1; }
# s_client prints "New, TLS..." even when an alert follows: success is
# that line, a verified chain and no alert.
handshake() {
	local out
	out=$(sc "$@")
	echo "$out" | grep -q '^New, TLS' && echo "$out" | grep -q '^Verification: OK' &&
	    ! echo "$out" | grep -q 'alert'
}
fp() { sc | openssl x509 -noout -fingerprint -sha256 2>/dev/null; }
mkdir -p "$PW_TMP/dockercfg"

for kind in rsa ec; do
	other=$([ $kind = rsa ] && echo ec || echo rsa)
	cp "$D/$kind.crt" "$D/srv.crt"; cp "$D/$kind.key" "$D/srv.key"
	# PW_TEST_KEYD_KEY_MS: on SIGHUP the new key reaches keyd 300 ms late,
	# so a worker given the new certificate before keyd has its key would
	# fail every handshake in that window (the reload check below).
	pw_start TLS_CERT="$D/srv.crt" TLS_KEY="$D/srv.key" PW_TEST_KEYD_RESPAWN_MS=1500 \
	    PW_TEST_KEYD_KEY_MS=300 ||
	    { fail "$kind: portwingd starts with TLS"; continue; }
	url=https://127.0.0.1:$PW_PORT
	keyd=$(pw_children keyd)
	check "$kind: one keyd process, titled 'portwingd: keyd' ($keyd)" \
	    bash -c "[ -n '$keyd' ] && [ \$(echo $keyd | wc -w) = 1 ] && tr '\0' ' ' </proc/$keyd/cmdline | grep -q '^portwingd: keyd *\$'"
	check "$kind: curl over HTTPS, certificate verified" \
	    [ "$(curl -s --cacert "$D/$kind.crt" -H "Authorization: Bearer $PW_TOKEN" "$url/_ping")" = OK ]
	check "$kind: openssl s_client TLS 1.3, signature verified" handshake -tls1_3
	check "$kind: openssl s_client TLS 1.2, signature verified" handshake -tls1_2
	if [ $kind = rsa ]; then
		check "rsa: TLS 1.2 with RSA PKCS#1 v1.5 (rsa_pkcs1_sha256)" handshake -tls1_2 -sigalgs RSA+SHA256
		check "rsa: TLS 1.2 with RSA-PSS (rsa_pss_rsae_sha384)" handshake -tls1_2 -sigalgs rsa_pss_rsae_sha384
		check "rsa: SHA-1 signatures are not offered" bash -c "! (echo | timeout 5 openssl s_client -connect 127.0.0.1:$PW_PORT -tls1_2 -sigalgs RSA+SHA1 2>&1 | grep -q '^New, TLS')"
	else
		check "ec: TLS 1.2 with ecdsa_secp384r1_sha384 digest" handshake -tls1_2 -sigalgs ECDSA+SHA384
	fi
	printf '{"HttpHeaders":{"Authorization":"Bearer %s"}}\n' "$PW_TOKEN" >"$PW_TMP/dockercfg/config.json"
	out=$(DOCKER_CONFIG=$PW_TMP/dockercfg docker -H "tcp://127.0.0.1:$PW_PORT" --tlsverify \
	    --tlscacert "$D/$kind.crt" version --format '{{.Server.APIVersion}}' 2>&1)
	check "$kind: docker CLI over TLS ($out)" \
	    sh -c '[ -n "$1" ] && [ "$1" = "$2" ]' _ "$out" "$(pw_docker_direct version --format '{{.Server.APIVersion}}')"

	# Memory: after those handshakes, no worker holds the key; keyd does,
	# and so does the master (which proves the scan finds it).
	# (A sanitizer build maps terabytes of shadow memory: no scan there.)
	set -- $(needles "$D/$kind.key")
	if pw_sanitized; then
		skip "$kind: memory scans: sanitizer build"
	else
	for w in $(pw_children worker); do
		counts=$(python3 "$here/memscan.py" "$w" "$@")
		check "$kind: worker $w memory holds no private key (BE, LE, PEM) [$counts]" [ "$counts" = "0 0 0" ]
	done
	counts=$(python3 "$here/memscan.py" "$keyd" "$@")
	check "$kind: keyd holds the private key [$counts]" bash -c "set -- $counts; [ \$((\$1 + \$2)) -ge 1 ]"
	counts=$(python3 "$here/memscan.py" "$PW_PID" "$@")
	check "$kind: the scan finds the key in the master [$counts]" bash -c "set -- $counts; [ \$((\$1 + \$2 + \$3)) -ge 1 ]"
	fi

	# A compromised worker asking for what TLS never needs.
	probe() { curl -sk "$url/__test/keyd?$1"; }
	check "$kind: keyd refuses a SHA-1 digest ($(probe sha1))" bash -c "curl -sk '$url/__test/keyd?sha1' | grep -q 'signed 0 of 1'"
	check "$kind: keyd refuses a digest of the wrong size" bash -c "curl -sk '$url/__test/keyd?short' | grep -q 'signed 0 of 1'"
	check "$kind: keyd refuses a key generation it does not have" bash -c "curl -sk '$url/__test/keyd?oldgen' | grep -q 'signed 0 of 1'"
	check "$kind: keyd logs the refusals" grep -q 'keyd: warn: worker [01]: refused .*: not a TLS handshake digest' "$PW_LOG"
	if [ $kind = ec ]; then
		out=$(curl -sk -m 60 "$url/__test/keyd?flood")
		n=$(echo "$out" | sed -n 's/.*signed \([0-9]*\) of 8000.*/\1/p')
		check "ec: a flood of 8000 signature requests is rate-bounded ($out)" bash -c "[ -n '$n' ] && [ '$n' -ge 1000 ] && [ '$n' -lt 8000 ]"
		check "ec: keyd logs the rate limit" grep -q 'keyd: warn: worker [01]: refused .*: rate limit exceeded' "$PW_LOG"
		sleep 1.2
		check "ec: handshakes work again after the flood" handshake -tls1_3
	fi

	# keyd down: handshakes fail closed; back once keyd is respawned.
	kill -9 "$keyd"
	sleep 0.3
	check "$kind: with keyd down a handshake fails" bash -c "! curl -s -m 5 --cacert '$D/$kind.crt' -o /dev/null '$url/health'"
	check "$kind: ... and s_client sees an alert" bash -c "echo | timeout 5 openssl s_client -connect 127.0.0.1:$PW_PORT -tls1_3 2>&1 | grep -q 'alert internal error'"
	check "$kind: the worker logs why" grep -q 'TLS handshake failed: keyd is gone\|TLS handshake failed: sending to keyd' "$PW_LOG"
	for i in $(seq 1 40); do
		[ -n "$(pw_children keyd)" ] && handshake -tls1_3 && break
		sleep 0.1
	done
	check "$kind: keyd respawned ($(pw_children keyd)) and handshakes work again" handshake -tls1_3
	check "$kind: curl works again" [ "$(curl -s --cacert "$D/$kind.crt" -H "Authorization: Bearer $PW_TOKEN" "$url/_ping")" = OK ]

	# SIGHUP to the other key type while clients keep handshaking: every
	# handshake must verify (a certificate served with the other key's
	# signature would fail, and so would a certificate whose key keyd does
	# not have yet), and new connections get the new certificate.
	fp1=$(fp)
	cp "$D/$other.crt" "$D/srv.crt"; cp "$D/$other.key" "$D/srv.key"
	out=$(python3 - "$PW_PORT" "$D/both.crt" "$PW_PID" <<'PY'
import os, signal, socket, ssl, sys, time
port, ca, pid = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
ctx = ssl.create_default_context(cafile=ca)
ctx.check_hostname = False
good = bad = 0
t0 = time.time(); hup = False
while time.time() - t0 < 3:
    if not hup and time.time() - t0 > 1:
        os.kill(pid, signal.SIGHUP); hup = True
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
            with ctx.wrap_socket(s) as t:
                good += 1
    except (ssl.SSLError, OSError):
        bad += 1
print(good, bad)
PY
)
	set -- $out
	check "$kind -> $other: handshakes across the reload all verify ($1 good, $2 failed)" bash -c "[ '${1:-0}' -ge 20 ] && [ '${2:-1}' = 0 ]"
	fp2=$(fp)
	check "$kind -> $other: new connections get the new certificate" bash -c "[ -n '$fp2' ] && [ '$fp2' != '$fp1' ]"
	set -- $(needles "$D/$other.key")
	pw_sanitized && skip "$kind -> $other: memory scans: sanitizer build"
	pw_sanitized ||
	for w in $(pw_children worker); do
		counts=$(python3 "$here/memscan.py" "$w" "$@")
		check "$kind -> $other: worker $w memory holds no new private key [$counts]" [ "$counts" = "0 0 0" ]
	done
	pw_stop
done

pw_start || { fail "portwingd starts without TLS"; exit 1; }
check "without TLS there is no keyd" [ -z "$(pw_children keyd)" ]
pw_done
