#!/bin/bash
# t-p6-memwipe.sh (issue 9, finding 6): after a few hundred authenticated
# requests (plain and TLS, the token in each header kind) no worker, authd
# or proxy holds a copy of the token in its memory.  The only places it may
# live are those DESIGN.md names: the master's configuration, and in authd
# its SHA-256 digest (never the token itself; with TOKEN_HASH, the digest
# cached after the first derivation).  The portwing CLI is scanned
# too, while a stream it requested with PORTWING_TOKEN is open.
. "$(dirname "$0")/lib.sh"
trap pw_stop EXIT
here=$(dirname "$0")
N=${PW_MEMWIPE_REQUESTS:-300}
PW_TOKEN=p6-wipe-$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')
tok_hex=$(printf '%s' "$PW_TOKEN" | od -An -tx1 | tr -d ' \n')
dig_hex=$(printf '%s' "$PW_TOKEN" | sha256sum | cut -d' ' -f1)
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout "$PW_TMP/srv.key" -out "$PW_TMP/srv.crt" -days 2 -subj "/CN=pw" \
    -addext "subjectAltName=IP:127.0.0.1" 2>/dev/null

scan_all() {	# $1: plain|TLS
	local kind=$1 p counts total=0
	for p in $(pw_children worker) $(pw_children proxy); do
		counts=$(python3 "$here/memscan.py" -v "$p" "$tok_hex" 2>"$PW_TMP/where")
		echo "# $kind: $(tr '\0' ' ' </proc/$p/cmdline) pid $p: $counts token copies"
		[ "$counts" = 0 ] || sed 's/^/#   /' "$PW_TMP/where"
		total=$((total + counts))
	done
	check "$kind: no token copy in any worker or the proxy ($total)" [ "$total" = 0 ]
	p=$(pw_children authd)
	counts=$(python3 "$here/memscan.py" "$p" "$tok_hex" "$dig_hex")
	echo "# $kind: authd pid $p: token, digest: $counts"
	check "$kind: authd holds the digest only [$counts]" \
	    bash -c "set -- $counts; [ \$1 = 0 ] && [ \$2 -ge 1 ]"
	[ $kind = TOKEN_HASH ] && return	# the master has only the hash
	counts=$(python3 "$here/memscan.py" "$PW_PID" "$tok_hex")
	check "$kind: the scan does find the token in the master [$counts]" \
	    [ "$counts" -ge 1 ]
}

phc=$(printf '%s\n' "$PW_TOKEN" | "$PW_BUILD/portwing" hash-token 2>/dev/null)
for kind in plain TLS TOKEN_HASH; do
	if [ $kind = TOKEN_HASH ]; then
		# authd derives once, then keeps SHA-256 of the token.
		pw_start TOKEN= TOKEN_HASH="$phc" ||
		    { fail "portwingd starts with TOKEN_HASH"; exit 1; }
		tap_run python3 "$here/memload.py" "$PW_PORT" "$PW_TOKEN" 60
	elif [ $kind = TLS ]; then
		pw_start TLS_CERT="$PW_TMP/srv.crt" TLS_KEY="$PW_TMP/srv.key" ||
		    { fail "portwingd starts with TLS"; exit 1; }
		tap_run python3 "$here/memload.py" "$PW_PORT" "$PW_TOKEN" "$N" tls
	else
		pw_start || { fail "portwingd starts"; exit 1; }
		tap_run python3 "$here/memload.py" "$PW_PORT" "$PW_TOKEN" "$N"
		# And the docker CLI, token in config.json's HttpHeaders.
		for i in $(seq 1 10); do pw_docker ps >/dev/null 2>&1; done
		if pw_docker version >/dev/null 2>&1; then
			ok "docker CLI through portwing"
		else
			fail "docker CLI through portwing"
		fi
		# portwing's own CLI with PORTWING_TOKEN, scanned while a
		# stream it requested is still open.
		PORTWING_TOKEN=$PW_TOKEN "$PW_BUILD/portwing" request GET \
		    "$(pw_url /events)" >/dev/null 2>&1 &
		cli=$!
		sleep 1.5
		if kill -0 $cli 2>/dev/null; then
			counts=$(python3 "$here/memscan.py" "$cli" "$tok_hex")
			echo "# portwing request pid $cli: $counts token copies"
			check "portwing request (stream open): no token copy [$counts]" [ "$counts" = 0 ]
			total=0
			for w in $(pw_children worker); do
				total=$((total + $(python3 "$here/memscan.py" "$w" "$tok_hex")))
			done
			check "workers, with that stream open: no token copy ($total)" [ "$total" = 0 ]
		else
			fail "portwing request GET /events is still streaming"
		fi
		kill $cli 2>/dev/null; wait $cli 2>/dev/null
	fi
	# A reload sends authd the credentials again.
	[ $kind = plain ] && kill -HUP "$PW_PID"
	sleep 1
	scan_all $kind
	pw_stop
done
pw_done
