#!/bin/bash
# t-policy-filter.sh: portwingd as a local socket filter (LISTEN_SOCKET),
# the way sockguard and docker-socket-proxy are used: no token on the
# unix socket, the policy decides, and unix peer credentials (read by
# authd from the connection) choose the profile.  Also the Tecnativa /
# LinuxServer variables (POLICY=environment).
. "$(dirname "$0")/lib.sh"
here=$(cd "$(dirname "$0")" && pwd)
trap 'pw_stop; pw_docker_direct rm -f pwf-a >/dev/null 2>&1' EXIT
S=$PW_TMP/filter.sock
chmod 711 "$PW_TMP"	# other users reach the socket; its own mode decides
U() { curl -s -m 10 --unix-socket "$S" "$@"; }
UD() { timeout 60 docker -H "unix://$S" "$@"; }

cat >"$PW_TMP/filter.yaml" <<'EOF2'
insecure_allow_read_exfiltration: true
rules:
  - match: { method: GET, path: "/_ping" }
    action: allow
  - match: { method: HEAD, path: "/_ping" }
    action: allow
  - match: { method: GET, path: "/version" }
    action: allow
  - match: { method: GET, path: "/containers/json" }
    action: allow
  - match: { method: GET, path: "/containers/*/json" }
    action: allow
clients:
  unix_peer_profiles:
    - profile: operator
      uids: [0]
  profiles:
    - name: operator
      rules:
        - match: { method: GET, path: "/_ping" }
          action: allow
        - match: { method: HEAD, path: "/_ping" }
          action: allow
        - match: { method: GET, path: "/version" }
          action: allow
        - match: { method: GET, path: "/containers/**" }
          action: allow
        - match: { method: POST, path: "/containers/create" }
          action: allow
        - match: { method: POST, path: "/containers/*/{start,stop,kill}" }
          action: allow
        - match: { method: DELETE, path: "/containers/*" }
          action: allow
EOF2
# (sockguard globs have no braces: spell the three rules out)
python3 - "$PW_TMP/filter.yaml" <<'PY'
import sys
p = sys.argv[1]
s = open(p).read()
one = '''        - match: { method: POST, path: "/containers/*/{start,stop,kill}" }
          action: allow
'''
many = "".join('''        - match: { method: POST, path: "/containers/*/%s" }
          action: allow
''' % a for a in ("start", "stop", "kill"))
open(p, "w").write(s.replace(one, many))
PY
nogroup=$(getent group nogroup | cut -d: -f3)
pw_start LISTEN_SOCKET="$S" LISTEN_SOCKET_MODE=0660 LISTEN_SOCKET_GID="$nogroup" \
    POLICY_FILE="$PW_TMP/filter.yaml" || { fail "portwingd starts with LISTEN_SOCKET"; exit 1; }
check "the filter socket exists, mode 0660, group nogroup" \
    [ "$(stat -c '%F %a %u %g' "$S")" = "socket 660 0 $nogroup" ]
check "docker CLI through the socket, no token: version" \
    bash -c "[ \"\$(timeout 60 docker -H unix://$S version --format '{{.Server.APIVersion}}')\" = \"\$(docker -H unix://$DOCKER_SOCK version --format '{{.Server.APIVersion}}')\" ]"
check "docker CLI through the socket (root: the operator profile): run -d" \
    bash -c "timeout 60 docker -H unix://$S run -d --name pwf-a $PW_IMAGE sleep 300 >/dev/null"
check "docker CLI: ps sees it" bash -c "timeout 60 docker -H unix://$S ps --format '{{.Names}}' | grep -qx pwf-a"
out=$(UD exec pwf-a true 2>&1)
check "docker CLI: exec is outside the profile: refused ($out)" \
    bash -c "echo \"\$1\" | grep -q 'request denied by sockguard policy'" _ "$out"
code=$(U -o "$PW_TMP/b" -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
    -d '{"Image":"x","HostConfig":{"Privileged":true}}' http://d/containers/create)
check "curl --unix-socket: a privileged create is 403 with sockguard's body ($(cat "$PW_TMP/b"))" \
    bash -c "[ $code = 403 ] && grep -q 'request denied by sockguard policy' '$PW_TMP/b'"
code=$(U -o /dev/null -w '%{http_code}' -X POST http://d/containers/pwf-a/restart)
check "curl --unix-socket: restart is not in the profile: 403 ($code)" [ "$code" = 403 ]
# Another user (nobody, group nogroup) gets the root rules: reads only.
code=$(setpriv --reuid=65534 --regid="$nogroup" --clear-groups \
    curl -s -m 10 --unix-socket "$S" -o /dev/null -w '%{http_code}' http://d/containers/json)
check "uid 65534: GET /containers/json allowed by the root rules ($code)" [ "$code" = 200 ]
code=$(setpriv --reuid=65534 --regid="$nogroup" --clear-groups \
    curl -s -m 10 --unix-socket "$S" -o /dev/null -w '%{http_code}' -X POST http://d/containers/pwf-a/stop)
check "uid 65534: stop refused (not in the root rules) ($code)" [ "$code" = 403 ]
check "the container still runs" [ "$(pw_docker_direct inspect -f '{{.State.Running}}' pwf-a)" = true ]
code=$(setpriv --reuid=65534 --regid=12345 --clear-groups \
    curl -s -m 10 --unix-socket "$S" -o /dev/null -w '%{http_code}' http://d/_ping)
check "a user outside the socket's group cannot connect ($code)" [ "$code" = 000 ]
code=$(U -o /dev/null -w '%{http_code}' -X DELETE http://d/api/containers/pwf-a)
check "the filter socket serves no portwing route: DELETE /api/containers/ID is a Docker path, refused ($code)" [ "$code" = 403 ]
code=$(U -o /dev/null -w '%{http_code}' http://d/_portwing/audit)
check "... nor /_portwing/audit ($code)" [ "$code" = 403 ]
code=$(curl -s -m 10 -o /dev/null -w '%{http_code}' "$(pw_url /containers/json)")
check "the TCP listener still wants the token (401: $code)" [ "$code" = 401 ]
grep -q '"principal":"unix:0"' "$PW_TMP"/audit.log 2>/dev/null || true
pw_stop
check "the socket is removed at exit" [ ! -e "$S" ]

# A stale socket is replaced; a live one (another process) is not.
python3 -c "import socket,sys; s=socket.socket(socket.AF_UNIX); s.bind(sys.argv[1])" "$S"
pw_start LISTEN_SOCKET="$S" POLICY=readonly || fail "portwingd replaces a stale socket file"
check "readonly through the socket: ps works" bash -c "timeout 60 docker -H unix://$S ps >/dev/null"
out=$(UD rm -f pwf-a 2>&1)
check "readonly through the socket: rm refused ($out)" bash -c "echo \"\$1\" | grep -q 'request denied by sockguard policy'" _ "$out"
out=$(env -i PATH="$PATH" TOKEN=x PORT="$(pw_free_port)" LISTEN_SOCKET="$S" POLICY=readonly \
    DOCKER_SOCKET="$DOCKER_SOCK" timeout 10 "$PW_BUILD/portwingd" 2>&1)
check "a second portwingd refuses to take over a live socket ($out)" \
    bash -c "echo \"\$1\" | grep -q 'another process is listening'" _ "$out"
pw_stop
: >"$S.file"
out=$(env -i PATH="$PATH" TOKEN=x LISTEN_SOCKET="$S.file" POLICY=readonly \
    DOCKER_SOCKET="$DOCKER_SOCK" timeout 10 "$PW_BUILD/portwingd" 2>&1)
check "a LISTEN_SOCKET path that is a regular file is left alone ($out)" \
    bash -c "echo \"\$1\" | grep -q 'not a socket' && [ -f '$S.file' ]" _ "$out"
out=$(env -i PATH="$PATH" TOKEN=x LISTEN_SOCKET="$S" "$PW_BUILD/portwingd" -n 2>&1)
check "LISTEN_SOCKET without a policy is refused ($out)" \
    bash -c "echo \"\$1\" | grep -q 'needs a policy'" _ "$out"
out=$(env -i PATH="$PATH" TOKEN=x LISTEN_SOCKET="$S" LISTEN_SOCKET_MODE=0666 POLICY=readonly "$PW_BUILD/portwingd" -n 2>&1)
check "LISTEN_SOCKET_MODE=0666 is refused ($out)" bash -c "echo \"\$1\" | grep -q '0600 or 0660'" _ "$out"
out=$(env -i PATH="$PATH" TOKEN=x LISTEN_SOCKET="$S" LISTEN_SOCKET_MODE=0660 POLICY=readonly "$PW_BUILD/portwingd" -n 2>&1)
check "0660 without LISTEN_SOCKET_GID is refused ($out)" bash -c "echo \"\$1\" | grep -q 'LISTEN_SOCKET_GID'" _ "$out"

# Tecnativa's docker-socket-proxy variables: CONTAINERS=1 POST=0.
pw_start LISTEN_SOCKET="$S" POLICY=environment CONTAINERS=1 POST=0 \
    SOCKGUARD_INSECURE_ALLOW_READ_EXFILTRATION=true ||
    { fail "portwingd starts with CONTAINERS=1 POST=0"; exit 1; }
st() { U -o /dev/null -w '%{http_code}' "$@"; }
check "CONTAINERS=1: GET /containers/json 200" [ "$(st http://d/containers/json)" = 200 ]
check "CONTAINERS=1: GET /v1.41/containers/pwf-a/json 200" [ "$(st http://d/v1.41/containers/pwf-a/json)" = 200 ]
check "PING (default on): GET /_ping 200" [ "$(st http://d/_ping)" = 200 ]
check "VERSION (default on): GET /version 200" [ "$(st http://d/version)" = 200 ]
check "IMAGES off: GET /images/json 403" [ "$(st http://d/images/json)" = 403 ]
check "INFO off: GET /info 403" [ "$(st http://d/info)" = 403 ]
check "POST=0: POST /containers/pwf-a/stop 403" [ "$(st -X POST http://d/containers/pwf-a/stop)" = 403 ]
check "POST=0: DELETE /containers/pwf-a 403" [ "$(st -X DELETE http://d/containers/pwf-a)" = 403 ]
check "HEAD is a read: HEAD /_ping 200" [ "$(st -I http://d/_ping)" = 200 ]
pw_stop
pw_start LISTEN_SOCKET="$S" POLICY=environment CONTAINERS=1 POST=1 ALLOW_START=0 \
    SOCKGUARD_INSECURE_ALLOW_READ_EXFILTRATION=true SOCKGUARD_INSECURE_ALLOW_BODY_BLIND_WRITES=true ||
    { fail "portwingd starts with CONTAINERS=1 POST=1"; exit 1; }
check "POST=1: POST /containers/pwf-a/stop reaches Docker (204)" [ "$(st -X POST 'http://d/containers/pwf-a/stop?t=1')" = 204 ]
check "POST=1: the container stopped" [ "$(pw_docker_direct inspect -f '{{.State.Running}}' pwf-a)" = false ]
check "POST=1 still judges bodies: a privileged create 403" \
    [ "$(st -X POST -H 'Content-Type: application/json' -d '{"Image":"x","HostConfig":{"Privileged":true}}' http://d/containers/create)" = 403 ]
check "NETWORKS off with POST=1: POST /networks/create 403" [ "$(st -X POST -d '{}' http://d/networks/create)" = 403 ]
out=$(env -i PATH="$PATH" TOKEN=x POLICY=environment CONTAINERS=1 ALLOW_START=maybe \
    SOCKGUARD_INSECURE_ALLOW_READ_EXFILTRATION=true "$PW_BUILD/portwingd" -n 2>&1 | grep 'ALLOW_START=maybe' | head -1)
check "an unparsable boolean counts as false, with a warning ($out)" bash -c "[ -n \"\$1\" ]" _ "$out"
pw_done
