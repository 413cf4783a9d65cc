#!/bin/bash
# t-edge.sh: edge mode, the agent dialling a controller (DRYDOCK_URL), on
# the wire: settings, the signed hello (and the reference's test vector
# byte for byte), the welcome, pings both ways, every way a session ends
# and how the agent backs off, the local listener, and the metrics.  The
# controller is scripted (edgectl.py, Python websockets).
. "$(dirname "$0")/lib.sh"
d=$PW_TMP
cleanup() { pw_stop; [ -n "$CTL_PID" ] && kill "$CTL_PID" 2>/dev/null; }
trap cleanup EXIT
run() { env -i PATH="$PATH" HOME=/root "$@" 2>&1; }
. "$(dirname "$0")/edgelib.sh"
# Another key the controller does not know.
openssl genpkey -algorithm ed25519 -out "$d/other.pem" 2>/dev/null
chmod 600 "$d/other.pem"
EDGE="PRIVATE_KEY_FILE=$d/key.pem"

# ---------------------------------------------------------------- settings
nv() { run DOCKER_SOCKET="$DOCKER_SOCK" "$@" "$PW_BUILD/portwingd" -nv; }
out=$(nv DRYDOCK_URL=http://127.0.0.1:9/drydock/ "$EDGE"); rc=$?
check "edge settings: -nv accepts them (rc=$rc)" [ $rc = 0 ]
check "  it shows the URL dialled, the prefix kept and the trailing slash gone" \
    bash -c "echo \"\$1\" | grep -q 'edge mode: dials ws://127.0.0.1:9/drydock/api/portwing/ws'" _ "$out"
check "  the listener defaults to loopback, and no credential is needed" \
    bash -c "echo \"\$1\" | grep -q 'listen 127.0.0.1:3000'" _ "$out"
check "  the key file is named" bash -c "echo \"\$1\" | grep -q 'signed with $d/key.pem'" _ "$out"
out=$(nv DRYDOCK_URL=https://dd.example.com "$EDGE")
check "  https: the system's CAs verify the controller" \
    bash -c "echo \"\$1\" | grep -q 'wss://dd.example.com:443/api/portwing/ws, controller certificate verified with the system'" _ "$out"
bad() {	# DESCRIPTION EXPECTED-TEXT VAR=value...
	local what=$1 want=$2; shift 2
	out=$(nv "$@"); rc=$?
	check "refused: $what (rc=$rc)" bash -c "[ $rc = 1 ] && echo \"\$1\" | grep -qF -- \"\$2\"" _ "$out" "$want"
}
bad "DRYDOCK_URL without a key" "needs PRIVATE_KEY_FILE" DRYDOCK_URL=https://h
bad "a scheme other than http(s)/ws(s)" "expected http://, https://" DRYDOCK_URL=ftp://h "$EDGE"
bad "user information in the URL" "user information" DRYDOCK_URL=https://u:p@h "$EDGE"
bad "a query in the URL" "a query or fragment" DRYDOCK_URL='https://h/x?a=1' "$EDGE"
bad "port 0" 'DRYDOCK_URL="https://h:0"' DRYDOCK_URL=https://h:0 "$EDGE"
for k in PRIVATE_KEY_FILE=$d/key.pem CA_CERT=/x.pem TLS_SKIP_VERIFY=true \
    HEARTBEAT_INTERVAL=5 WELCOME_TIMEOUT=5 RECONNECT_DELAY=2 MAX_RECONNECT_DELAY=9; do
	bad "${k%%=*} without DRYDOCK_URL" "${k%%=*} (env) is set without DRYDOCK_URL" TOKEN=x "$k"
done
for k in HEARTBEAT_INTERVAL=0 WELCOME_TIMEOUT=x RECONNECT_DELAY=0 \
    MAX_RECONNECT_DELAY=86401 TLS_SKIP_VERIFY=maybe; do
	bad "$k" "${k%%=*}=\"${k#*=}\"" DRYDOCK_URL=https://h "$EDGE" "$k"
done
bad "RECONNECT_DELAY above MAX_RECONNECT_DELAY" "MAX_RECONNECT_DELAY=5 is below RECONNECT_DELAY=10" \
    DRYDOCK_URL=https://h "$EDGE" RECONNECT_DELAY=10 MAX_RECONNECT_DELAY=5
bad "CA_CERT with TLS_SKIP_VERIFY" "contradict each other" DRYDOCK_URL=https://h "$EDGE" \
    CA_CERT="$d/key.pem" TLS_SKIP_VERIFY=true
bad "a CA_CERT without a certificate" "no PEM certificate" DRYDOCK_URL=https://h "$EDGE" CA_CERT="$d/key.pem"
bad "an AGENT_ID the controller refuses" 'AGENT_ID="a.b"' DRYDOCK_URL=https://h "$EDGE" AGENT_ID=a.b
bad "an AGENT_NAME over 256 characters" "AGENT_NAME (env): at most 256" DRYDOCK_URL=https://h \
    "$EDGE" AGENT_NAME=$(printf 'n%.0s' $(seq 1 257))
cp "$d/key.pem" "$d/open.pem"; chmod 644 "$d/open.pem"
bad "a key file others can read" "readable by everyone" DRYDOCK_URL=https://h PRIVATE_KEY_FILE="$d/open.pem"
openssl genpkey -algorithm ec -pkeyopt ec_paramgen_curve:P-256 -out "$d/ec.pem" 2>/dev/null; chmod 600 "$d/ec.pem"
bad "a key that is not Ed25519" "not an Ed25519 key" DRYDOCK_URL=https://h PRIVATE_KEY_FILE="$d/ec.pem"
bad "a non-loopback listener without a credential" "ALLOW_UNAUTHENTICATED_REMOTE" \
    DRYDOCK_URL=https://h "$EDGE" BIND_ADDRESS=0.0.0.0

# ---------------------------------------------------------------- sessions
# wait_ev EVENT [COUNT] [SECS]: until the controller logged COUNT of them.
wait_ev() {
	local i n=${2:-1} t=${3:-10}
	for i in $(seq 1 $((t * 20))); do
		[ "$(grep -c "\"event\": \"$1\"" "$CLOG" 2>/dev/null)" -ge "$n" ] && return 0
		sleep 0.05
	done
	return 1
}
# q PYTHON-EXPRESSION: evaluated over ev (the controller's events, a list).
q() { "$PY" -c "import json,sys; ev=[json.loads(l) for l in open('$CLOG')]; r=($1); print(r) if not isinstance(r,bool) else sys.exit(0 if r else 1)"; }
estart() { pw_start DRYDOCK_URL="http://127.0.0.1:$CPORT" "$EDGE" AGENT_NAME=edge-test "$@"; }

D() { pw_docker_direct "$@"; }
D rm -f edge-c1 edge-c2 >/dev/null 2>&1
D run -d --name edge-c1 "$PW_IMAGE" sleep 600 >/dev/null || fail "a running container"
ctl --mode welcome --ping 1 || fail "controller"
estart HEARTBEAT_INTERVAL=1 || fail "portwingd in edge mode"
check "an edge process runs" [ -n "$(pw_children edge)" ]
check "the controller welcomed a verified hello" wait_ev welcomed
check "  at /api/portwing/ws" q 'ev[1]["path"] == "/api/portwing/ws"'
check "  with no Origin, Sec-WebSocket-Protocol or compression offer" \
    q 'not any(k in e["headers"] for e in ev if e["event"]=="connect" for k in ("origin","sec-websocket-protocol","sec-websocket-extensions"))'
check "  the hello is a text frame, its fields in the reference's order" \
    q '[e for e in ev if e["event"]=="hello"][0]["binary"] is False and list(json.loads([e for e in ev if e["event"]=="hello"][0]["raw"])["data"]) == ["version","protocol","agentId","agentName","dockerVersion","hostname","capabilities","drydockCompat","watcherTypes","pubKeyId","timestamp","nonce","signature"]'
H='json.loads([e for e in ev if e["event"]=="hello"][0]["raw"])["data"]'
check "  protocol portwing/1.0, the key's ID, AGENT_NAME" \
    q "$H['protocol'] == 'portwing/1.0' and $H['pubKeyId'] == '56475aa75463474c' and $H['agentName'] == 'edge-test'"
check "  an integer timestamp, a 32-hex nonce, an 86-character signature" \
    q "type($H['timestamp']) is int and len($H['nonce']) == 32 and len($H['signature']) == 86"
check "  capabilities name only what is served" q "$H['capabilities'] == ['exec', 'metrics', 'events', 'dd:container-sync', 'dd:logs']"
# After the welcome: the watcher, the inventory, the first metrics.
wait_ev frame 3
F='[e for e in ev if e["event"]=="frame"]'
check "after the welcome: dd:component_sync, dd:container_sync, metrics, in that order" \
    q "[f['type'] for f in $F][:3] == ['dd:component_sync', 'dd:container_sync', 'metrics']"
check "  the watcher carries the controller-transport markers" \
    q "$F[0]['data'] == {'watchers': [{'type': 'docker', 'name': 'docker', 'configuration': {'description': 'Watches Docker containers for updates via Docker Engine API', 'capabilities': ['container-sync', 'labels'], 'transport': 'docker-api', 'execution': 'controller', 'events': 'portwing'}}], 'triggers': []}"
c1=$(D inspect -f '{{.Id}}' edge-c1)
check "  the sync lists the running container, in Drydock's model, agent AGENT_NAME" \
    q "any(c['id'] == '$c1' and c['name'] == 'edge-c1' and c['status'] == 'running' and c['agent'] == 'edge-test' and c['watcher'] == 'docker' for c in $F[1]['data']['containers'])"
check "  the metrics carry the eleven figures, as numbers" \
    q "sorted($F[2]['data']) == sorted(['cpuUsage','cpuCores','memoryTotal','memoryUsed','memoryFree','diskTotal','diskUsed','diskFree','networkRxBytes','networkTxBytes','uptime']) and all(isinstance(v,(int,float)) for v in $F[2]['data'].values()) and $F[2]['data']['cpuCores'] >= 1 and $F[2]['data']['memoryTotal'] > 0 and $F[2]['data']['uptime'] > 0"
# Changes follow as they happen (Docker's events, not a poll).
D run -d --name edge-c2 "$PW_IMAGE" sleep 600 >/dev/null
c2=$(D inspect -f '{{.Id}}' edge-c2)
sleep 1.5
D stop -t 0 edge-c2 >/dev/null; sleep 1.5
D rm edge-c2 >/dev/null; sleep 1.5
check "a new container: dd:container_added with it" \
    q "any(f['type']=='dd:container_added' and f['data']['container']['id']=='$c2' for f in $F)"
check "  stopped: dd:container_updated with its new status" \
    q "any(f['type']=='dd:container_updated' and f['data']['container']['id']=='$c2' and f['data']['container']['status']!='running' for f in $F)"
check "  removed: dd:container_removed with its id and name" \
    q "any(f['type']=='dd:container_removed' and f['data']=={'id':'$c2','name':'edge-c2'} for f in $F)"
check "every heartbeat: metrics, then a ping" \
    q "(lambda t: any(a=='metrics' and b=='ping' for a,b in zip(t,t[1:])))([f['type'] for f in $F])"
# The proxy restarts: its successor sends the whole inventory again.
n=$(grep -c dd:container_sync "$CLOG")
kill -9 $(pw_children proxy)
for _ in $(seq 1 100); do [ "$(grep -c dd:container_sync "$CLOG")" -gt "$n" ] && break; sleep 0.1; done
check "after a restart of the proxy the session gets a full dd:container_sync again" \
    [ "$(grep -c dd:container_sync "$CLOG")" -gt "$n" ]
check "the agent answers the controller's pings with the same timestamp" wait_ev frame 2
check "  (pong frames echo the ping's data)" \
    q 'any(e.get("type")=="pong" and isinstance(e["data"]["timestamp"], int) for e in ev)'
check "the agent pings every HEARTBEAT_INTERVAL" \
    bash -c "sleep 2.5; grep -c '\"type\": \"ping\"' '$CLOG' | grep -qv '^0$'"
check "the log says the agent is connected" grep -q "edge: connected to the controller (127.0.0.1:$CPORT), key 56475aa75463474c" "$PW_LOG"

# The local listener: health, readiness, metrics; not Docker's API.
h=$(curl -s "$(pw_url /health)")
check "/health says mode edge, controller connected" \
    bash -c "echo '$h' | grep -q '\"mode\":\"edge\"' && echo '$h' | grep -q '\"controller\":\"connected\"'"
check "/ready is 200 with Docker up and the session up" \
    [ "$(curl -s -o /dev/null -w '%{http_code}' "$(pw_url /ready)")" = 200 ]
code=$(curl -s -o "$d/body" -w '%{http_code}' -H "Authorization: Bearer $PW_TOKEN" "$(pw_url /containers/json)")
check "Docker's API is not served on the local port, even with the token ($code)" \
    bash -c "[ $code = 404 ] && grep -q 'served to the controller only' '$d/body'"
check "  nor the Drydock routes" \
    [ "$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $PW_TOKEN" "$(pw_url /api/containers)")" = 404 ]
check "/metrics needs the token when one is set" \
    [ "$(curl -s -o /dev/null -w '%{http_code}' "$(pw_url /metrics)")" = 401 ]
m=$(pw_curl "$(pw_url /metrics)")
check "/metrics: portwing_edge_controller_connected 1" bash -c "echo \"\$1\" | grep -qx 'portwing_edge_controller_connected 1'" _ "$m"
check "  frames counted both ways" bash -c "echo \"\$1\" | grep -Eq '^portwing_edge_frames_received_total [1-9]' && echo \"\$1\" | grep -Eq '^portwing_edge_frames_sent_total [1-9]'" _ "$m"

# A stop sends 1000 "shutdown".
pw_stop
check "stopping the agent closes the session with 1000 shutdown" \
    q 'any(e["event"]=="closed" and e["code"]==1000 and e["reason"]=="shutdown" for e in ev)'

# The test vector (6.6), byte for byte: the test build fixes the clock
# and the nonce.  The controller refuses the old timestamp (retryable).
ctl --mode welcome || fail "controller"
PW_DAEMON=$PW_BUILD/portwingd-hooks estart PW_TEST_EDGE_TS=1750000000 \
    PW_TEST_EDGE_NONCE=0123456789abcdef0123456789abcdef RECONNECT_DELAY=1 \
    MAX_RECONNECT_DELAY=2 || fail "portwingd-hooks"
wait_ev rejected
check "the hello's signature is the reference's test vector" \
    q "$H['signature'] == 'RAGjx9B0RT71rxwdXza9UkuWV4EA2KuoHRhTAG5tVGvECPpAt_32QOQHGgD_REuWJMzMOSunD8ZBYXYnB4NHBA' and $H['timestamp'] == 1750000000 and $H['nonce'] == '0123456789abcdef0123456789abcdef'"
check "  a stale timestamp (timestamp-skew) is retried" wait_ev hello 2 5
check "  logged as a warning, not as a refusal" \
    bash -c "grep -q 'timestamp-skew' '$PW_LOG' && ! grep -q 'refused this agent' '$PW_LOG'"
pw_stop

# Rejections: retryable ones back off 1, 2, 4... s; a terminal one is
# logged once and retried only at MAX_RECONNECT_DELAY.
gaps() { q '[round(b["t"]-a["t"],2) for a,b in zip([e for e in ev if e["event"]=="connect"], [e for e in ev if e["event"]=="connect"][1:])]'; }
ctl --mode reject:rate-limited || fail "controller"
estart RECONNECT_DELAY=1 MAX_RECONNECT_DELAY=4 || fail "portwingd"
wait_ev connect 4 15
g=$(gaps)
check "retryable rejection: the waits double with jitter ($g)" \
    q '(lambda c: 0.74 <= c[1]["t"]-c[0]["t"] <= 1.6 and 1.49 <= c[2]["t"]-c[1]["t"] <= 2.9 and 2.99 <= c[3]["t"]-c[2]["t"] <= 5.5)([e for e in ev if e["event"]=="connect"])'
m=$(pw_curl "$(pw_url /metrics)")
check "  counted as rejected, and as reconnects" \
    bash -c "echo \"\$1\" | grep -Eq 'portwing_edge_session_ends_total\{reason=\"rejected\"\} [3-9]' && echo \"\$1\" | grep -Eq '^portwing_edge_reconnects_total [3-9]'" _ "$m"
check "  /ready is 503 while the session is down" \
    [ "$(curl -s -o /dev/null -w '%{http_code}' "$(pw_url /ready)")" = 503 ]
check "  /health says controller disconnected" \
    bash -c "curl -s '$(pw_url /health)' | grep -q '\"controller\":\"disconnected\"'"
pw_stop

ctl --mode reject:agent-name-claimed || fail "controller"
estart RECONNECT_DELAY=1 MAX_RECONNECT_DELAY=3 || fail "portwingd"
wait_ev connect 3 12
g=$(gaps)
check "terminal rejection: retried only at MAX_RECONNECT_DELAY ($g)" \
    q '(lambda c: all(2.2 <= b["t"]-a["t"] <= 4.2 for a,b in zip(c,c[1:])))([e for e in ev if e["event"]=="connect"][:3])'
check "  logged once, as an error naming the code" \
    [ "$(grep -c 'refused this agent: agent-name-claimed' "$PW_LOG")" = 1 ]
m=$(pw_curl "$(pw_url /metrics)")
check "  counted as refused" bash -c "echo \"\$1\" | grep -Eq 'portwing_edge_session_ends_total\{reason=\"refused\"\} [2-9]'" _ "$m"
pw_stop

# An unknown key is terminal too, and so is a 404 on the upgrade.
ctl --mode welcome || fail "controller"
estart PRIVATE_KEY_FILE="$d/other.pem" RECONNECT_DELAY=1 MAX_RECONNECT_DELAY=60 || fail "portwingd"
wait_ev rejected
sleep 2
check "an unregistered key: unknown-key, terminal, not retried within a second" \
    bash -c "[ \$(grep -c '\"event\": \"connect\"' '$CLOG') = 1 ] && grep -q 'refused this agent: unknown-key' '$PW_LOG'"
pw_stop
ctl --mode http404 || fail "controller"
estart RECONNECT_DELAY=1 MAX_RECONNECT_DELAY=60 || fail "portwingd"
wait_ev refused404
sleep 2
check "a 404 on the upgrade is terminal (is DRYDOCK_URL right?)" \
    bash -c "[ \$(grep -c refused404 '$CLOG') = 1 ] && grep -q 'answered 404' '$PW_LOG'"
pw_stop

# Every rejection code the controller sends, in turn: the terminal ones
# (7.6) logged as a refusal, the others as a failed attempt.
terminal="ed25519-required unknown-key bad-signature protocol-mismatch no-auth invalid-agent-name parse-error expected-hello agent-name-claimed"
retryable="timestamp-skew bad-nonce replay internal-error rate-limited registry-full agent-already-connected"
modes=$(for c in $terminal $retryable; do printf 'reject:%s,' "$c"; done)
ctl --mode "${modes}welcome" || fail "controller"
estart RECONNECT_DELAY=1 MAX_RECONNECT_DELAY=1 || fail "portwingd"
wait_ev welcomed 1 40
bad=
for c in $terminal; do grep -q "refused this agent: $c (" "$PW_LOG" || bad="$bad $c"; done
check "each terminal code is logged as a refusal${bad:+ (not:$bad)}" [ -z "$bad" ]
bad=
for c in $retryable; do
	grep -q "cannot connect to the controller: $c (" "$PW_LOG" && ! grep -q "refused this agent: $c" "$PW_LOG" ||
	    bad="$bad $c"
done
check "each retryable code is logged as a failed attempt${bad:+ (not:$bad)}" [ -z "$bad" ]
check "internal-error closes with 1011, the others with 1008, the code as the reason" \
    q 'all(e["code"] == (1011 if e["reason"] == "internal-error" else 1008) for e in ev if e["event"]=="closed" and e.get("reason") not in (None, ""))'
check "after all of them, a welcome" q 'any(e["event"]=="welcomed" for e in ev)'
pw_stop

# The read deadline: a controller that goes silent (no pong, no ping)
# ends the session (the test build lowers the 60 s floor to 1.5 s).
ctl --mode mute,welcome || fail "controller"
PW_DAEMON=$PW_BUILD/portwingd-hooks estart PW_TEST_EDGE_DEADLINE_MS=1500 \
    HEARTBEAT_INTERVAL=1 RECONNECT_DELAY=1 || fail "portwingd-hooks"
check "a silent controller: the session ends at the read deadline, and the agent dials again" \
    wait_ev welcomed 2 10
check "  the log says why" grep -q 'nothing from the controller within the read deadline' "$PW_LOG"
pw_stop

# TLS: the controller's certificate is checked against DRYDOCK_URL's name,
# with CA_CERT or the system's CAs; TLS_SKIP_VERIFY turns that off.
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=edge-ca \
    -keyout "$d/ca.key" -out "$d/ca.pem" >/dev/null 2>&1
openssl req -newkey rsa:2048 -nodes -subj /CN=localhost \
    -keyout "$d/srv.key" -out "$d/srv.csr" >/dev/null 2>&1
printf 'subjectAltName=DNS:localhost\n' >"$d/san.ext"
openssl x509 -req -in "$d/srv.csr" -CA "$d/ca.pem" -CAkey "$d/ca.key" \
    -CAcreateserial -days 2 -extfile "$d/san.ext" -out "$d/srv.pem" >/dev/null 2>&1
ctl --tls "$d/srv.pem" "$d/srv.key" --host localhost || fail "TLS controller"
pw_start DRYDOCK_URL="https://localhost:$CPORT" "$EDGE" CA_CERT="$d/ca.pem" || fail "portwingd"
check "wss:// with CA_CERT, the name resolved by the master: welcomed" wait_ev welcomed 1 10
pw_stop
n=$(grep -c '"event": "connect"' "$CLOG")
pw_start DRYDOCK_URL="https://localhost:$CPORT" "$EDGE" RECONNECT_DELAY=1 || fail "portwingd"
sleep 3
check "  the system's CAs do not know it: no session, and the log says the connection failed" \
    bash -c "! grep -q 'edge: connected' '$PW_LOG' && grep -q 'edge: cannot connect to the controller' '$PW_LOG' && [ \$(grep -c welcomed '$CLOG') = 1 ]"
pw_stop
pw_start DRYDOCK_URL="https://127.0.0.1:$CPORT" "$EDGE" CA_CERT="$d/ca.pem" RECONNECT_DELAY=1 || fail "portwingd"
sleep 3
check "  a certificate for another name (localhost, dialled as 127.0.0.1): no session" \
    bash -c "! grep -q 'edge: connected' '$PW_LOG' && [ \$(grep -c welcomed '$CLOG') = 1 ]"
pw_stop
pw_start DRYDOCK_URL="https://127.0.0.1:$CPORT" "$EDGE" TLS_SKIP_VERIFY=true || fail "portwingd"
check "  TLS_SKIP_VERIFY=true: welcomed, with a warning at start" \
    bash -c "for i in \$(seq 1 50); do [ \$(grep -c welcomed '$CLOG') -ge 2 ] && grep -q 'TLS_SKIP_VERIFY=true' '$PW_LOG' && exit 0; sleep 0.2; done; exit 1"
pw_stop

# No welcome within WELCOME_TIMEOUT: the agent gives up and dials again.
ctl --mode silent || fail "controller"
estart WELCOME_TIMEOUT=1 RECONNECT_DELAY=1 || fail "portwingd"
check "no welcome within WELCOME_TIMEOUT: the agent closes and dials again" wait_ev connect 2 6
check "  the log says why" grep -q 'no welcome within WELCOME_TIMEOUT' "$PW_LOG"
pw_stop

# A controller that goes away (a restart): the agent comes back within the
# backoff and says hello again with a fresh nonce.
ctl --mode drop:0.5,welcome || fail "controller"
estart RECONNECT_DELAY=1 || fail "portwingd"
check "a dropped session: the agent reconnects and is welcomed again" wait_ev welcomed 2 8
check "  with a fresh nonce" q 'len({json.loads(e["raw"])["data"]["nonce"] for e in ev if e["event"]=="hello"}) == 2'
dv=$(D version -f '{{.Server.Version}}')
check "  and Docker's version ($dv) in the hello" \
    q "json.loads([e for e in ev if e['event']=='hello'][1]['raw'])['data']['dockerVersion'] == '$dv'"
check "  then the whole inventory again (a full resync)" \
    q 'len([e for e in ev if e["event"]=="frame" and e["type"]=="dd:container_sync"]) == 2'
check "  within the backoff bounds" \
    q '(lambda c: 0.7 <= c[1]["t"]-c[0]["t"] <= 2.0)([e for e in ev if e["event"]=="connect"])'
pw_stop

# Frames the agent must refuse: invalid UTF-8 (1007), over 16 MiB (1009).
ctl --mode badutf8,welcome || fail "controller"
estart RECONNECT_DELAY=1 || fail "portwingd"
wait_ev closed 1 8
check "a text frame that is not UTF-8: the agent closes with 1007" \
    q 'any(e["event"]=="closed" and e["code"]==1007 for e in ev)'
check "  and dials again" wait_ev welcomed 2 8
pw_stop
ctl --mode big,welcome || fail "controller"
estart RECONNECT_DELAY=1 || fail "portwingd"
wait_ev closed 1 15
check "a message over 16 MiB: the agent closes with 1009" \
    q 'any(e["event"]=="closed" and e["code"]==1009 for e in ev)'
check "  and dials again" wait_ev welcomed 2 8
pw_stop

D rm -f edge-c1 >/dev/null 2>&1
check "no edge process died of its sandbox" bash -c "! grep -h 'edge.*signal 31\|SIGSYS' $d/portwingd.*.log"
pw_done
