#!/bin/bash
# t-policy-cases.sh: the 72 acceptance cases of the policy reference
# (sockguard's bypasses and fixes) against a real dockerd through
# portwing, one policy per group of cases (policy72.py), with a tap on
# the Docker socket: a denied case must not put one request line there,
# an allowed one must, in the judged form, and Docker's answer must come
# back.  Load-time cases run `portwing policy check` and `portwingd -n`.
. "$(dirname "$0")/lib.sh"
here=$(cd "$(dirname "$0")" && pwd)
export PYTHONPATH=$here
TAP_PID=
cleanup() {
	pw_stop
	[ -z "$TAP_PID" ] || kill "$TAP_PID" 2>/dev/null
	pw_docker_direct volume rm -f myvol-pw >/dev/null 2>&1
}
trap cleanup EXIT

tap_sock=$PW_TMP/tap.sock
tap_log=$PW_TMP/tap.log
python3 "$here/dtap.py" "$tap_sock" "$DOCKER_SOCK" "$tap_log" &
TAP_PID=$!
for i in $(seq 1 50); do [ -S "$tap_sock" ] && break; sleep 0.1; done

for g in ${PW_POLICY_GROUPS:-$(python3 "$here/policy72.py" groups)}; do
	python3 "$here/policy72.py" yaml "$g" >"$PW_TMP/$g.yaml"
	# Case 64 also asks the filter socket (a caller without an address).
	extra=()
	export PW_FILTER_SOCK=
	case $g in cidr*)
		PW_FILTER_SOCK=$PW_TMP/filter-$g.sock
		extra=(LISTEN_SOCKET="$PW_FILTER_SOCK")
	esac
	if ! pw_start WORKERS=1 DOCKER_SOCKET="$tap_sock" \
	    POLICY_FILE="$PW_TMP/$g.yaml" "${extra[@]}"; then
		fail "portwingd starts with policy group $g"
		continue
	fi
	TAP_PREFIX="$g: " tap_run python3 "$here/policy72.py" run "$g" \
	    "$PW_PORT" "$PW_TOKEN" "$tap_log" "$PW_IMAGE" "$DOCKER_SOCK"
	if [ "$g" = p1 ]; then
		# 71: what the log says of a CR/LF path is one line, escaped.
		check "case 71: no forged record in the log" \
		    bash -c "! grep -q '^forged' '$PW_LOG'"
	fi
	if [ "$g" = pc ]; then
		# 72: a stalled body on an inspected endpoint is cut off.
		out=$(python3 - "$PW_PORT" "$PW_TOKEN" <<'PY'
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=45)
s.sendall(("POST /containers/create?pwcase=72 HTTP/1.1\r\nHost: x\r\n"
           "Authorization: Bearer %s\r\nContent-Length: 100\r\n\r\n"
           '{"Image":' % sys.argv[2]).encode())
t0 = time.time()
data = b""
try:
    while True:
        c = s.recv(4096)
        if not c:
            break
        data += c
except OSError:
    pass
print(int(time.time() - t0), data.split(b"\r\n")[0].decode(errors="replace"))
PY
)
		set -- $out
		check "case 72: a stalled body is refused after about 30 s ($out)" \
		    test "${3:-}" = 408 -a "${1:-0}" -ge 28 -a "${1:-99}" -le 40
		check "case 72: nothing of it reached Docker" \
		    bash -c "! grep -q 'pwcase=72' '$tap_log'"
	fi
	pw_stop
done

# Load-time cases: `portwing policy check` and `portwingd -n`.
pwcheck() { "$PW_BUILD/portwing" policy check "$1" >"$PW_TMP/check.out" 2>&1; }
cat >"$PW_TMP/c12.yaml" <<'EOF'
rules:
  - match: { method: GET, path: "/containers/%2e%2e" }
    action: allow
EOF
check "case 12: a literal % in a rule path is a load error" \
    bash -c "! '$PW_BUILD/portwing' policy check '$PW_TMP/c12.yaml' >'$PW_TMP/o' 2>&1 && grep -q 'rules\[1\]\|%' '$PW_TMP/o'"
cat >"$PW_TMP/c13.yaml" <<'EOF'
rules:
  - match: { method: GET, path: "/v1.45/containers/json" }
    action: allow
EOF
pwcheck "$PW_TMP/c13.yaml"
check "case 13: a version prefix in a pattern loads with a warning" \
    grep -qi 'warn\|version' "$PW_TMP/check.out"
out=$("$PW_BUILD/portwing" policy test "$PW_TMP/c13.yaml" GET /v1.45/containers/json 2>&1)
check "case 13: ... and never matches (policy test says deny)" \
    bash -c "echo '$out' | grep -qi deny"
cat >"$PW_TMP/c49.yaml" <<'EOF'
rules:
  - match: { method: POST, path: "/containers/*/exec" }
    action: allow
EOF
check "case 49: an exec rule without allowed_commands and no ack is a load error" \
    bash -c "! '$PW_BUILD/portwing' policy check '$PW_TMP/c49.yaml' >/dev/null 2>&1"
check "case 49: ... and portwingd refuses to start on it" \
    bash -c "! env -i PATH=\$PATH TOKEN=x POLICY_FILE='$PW_TMP/c49.yaml' '$PW_BUILD/portwingd' -n >/dev/null 2>&1"
# §5.10: swarm join and plugin set are inspected only against their
# allowlists; without them, the rule needs the acknowledgement.
for w in swarm/join "plugins/*/set"; do
	printf 'rules:\n  - match: { method: POST, path: "/%s" }\n    action: allow\n' "$w" >"$PW_TMP/blind.yaml"
	check "a rule admitting POST /$w without its allowlist is a load error" \
	    bash -c "! '$PW_BUILD/portwing' policy check '$PW_TMP/blind.yaml' >/dev/null 2>&1"
done
# 67: sockguard refuses a non-loopback plaintext TCP listener unless
# both insecure acknowledgements are given.  portwing's TCP filter
# listener (LISTEN_MTLS) is never plaintext and has no acknowledgement:
# without TLS_CERT/TLS_KEY, or without MTLS_CLIENT_CA, it refuses to
# start; sockguard's listen.insecure_* keys in a policy change nothing.
n67() { env -i PATH="$PATH" TOKEN=x LISTEN_MTLS=0.0.0.0:2375 "$@" "$PW_BUILD/portwingd" -n 2>&1; }
out=$(n67 POLICY=readonly)
check "case 67: a TCP filter listener without TLS refuses to start ($out)" \
    bash -c "echo \"\$1\" | grep -q 'never plaintext'" _ "$out"
out=$(n67 POLICY=readonly MTLS_CLIENT_CA=/nonexistent/ca.pem)
check "case 67: ... with a client CA but no server certificate too ($out)" \
    bash -c "echo \"\$1\" | grep -q 'never plaintext'" _ "$out"
cat >"$PW_TMP/c67.yaml" <<'EOF'
listen:
  address: 0.0.0.0:2375
  insecure_allow_plain_tcp: true
  insecure_allow_unauthenticated_clients: true
rules:
  - match: { method: GET, path: "/_ping" }
    action: allow
EOF
out=$(n67 POLICY_FILE="$PW_TMP/c67.yaml")
check "case 67: both sockguard acknowledgements in the policy do not make it plaintext ($out)" \
    bash -c "echo \"\$1\" | grep -q 'never plaintext'" _ "$out"
# 68: the filter socket's mode: 0600 or 0660, and 0660 needs a group.
n68() { env -i PATH="$PATH" TOKEN=x POLICY=readonly LISTEN_SOCKET="$PW_TMP/c68.sock" "$@" "$PW_BUILD/portwingd" -n 2>&1; }
out=$(n68 LISTEN_SOCKET_MODE=0666)
check "case 68: LISTEN_SOCKET_MODE=0666 refuses to start ($out)" \
    bash -c "echo \"\$1\" | grep -q 'must be 0600 or 0660'" _ "$out"
out=$(n68 LISTEN_SOCKET_MODE=0660)
check "case 68: LISTEN_SOCKET_MODE=0660 without LISTEN_SOCKET_GID refuses to start ($out)" \
    bash -c "echo \"\$1\" | grep -q 'needs LISTEN_SOCKET_GID'" _ "$out"
check "case 68: ... and 0660 with a group is accepted" \
    bash -c "$(declare -f n68); PW_BUILD=$PW_BUILD PW_TMP=$PW_TMP n68 LISTEN_SOCKET_MODE=0660 LISTEN_SOCKET_GID=0 >/dev/null"
out=$(env -i PATH="$PATH" TOKEN=x POLICY=environment CONTAINERS=1 \
    "$PW_BUILD/portwingd" -n 2>&1)
check "case 69: CONTAINERS=1 without the read-exfiltration ack refuses to start ($out)" \
    bash -c "! env -i PATH=\$PATH TOKEN=x POLICY=environment CONTAINERS=1 '$PW_BUILD/portwingd' -n >/dev/null 2>&1"
check "case 69: ... and starts with it" \
    env -i PATH="$PATH" TOKEN=x POLICY=environment CONTAINERS=1 \
    SOCKGUARD_INSECURE_ALLOW_READ_EXFILTRATION=true "$PW_BUILD/portwingd" -n
python3 "$here/policy72.py" skipped
pw_done
