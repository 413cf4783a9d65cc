#!/bin/bash
# t-edge-tunnel.sh: the controller's Docker API calls over the edge session
# (request -> response, or response/stream/stream_end), against a real
# dockerd and the scripted controller (edgectl.py): bodies, statuses,
# headers, streaming, refusals, the policy, the audit trail, the limit of
# 100 requests, cancellation when the session ends, and a controller that
# stops reading (bounded memory, then a disconnect).
. "$(dirname "$0")/lib.sh"
d=$PW_TMP
. "$(dirname "$0")/edgelib.sh"
cleanup() {
	pw_stop
	[ -n "$CTL_PID" ] && kill "$CTL_PID" 2>/dev/null
	D rm -f edge-t1 edge-t2 edge-t3 edge-t4 edge-big >/dev/null 2>&1
}
trap cleanup EXIT
D() { pw_docker_direct "$@"; }

# q PYTHON-EXPRESSION over ev (events) and R(id) (frames of one request).
q() {
	"$PY" -c "
import json, sys, base64
ev = [json.loads(l) for l in open('$CLOG')]
def R(i): return [e for e in ev if e['event']=='frame' and isinstance(e.get('data'), dict) and e['data'].get('requestId')==i]
def one(i): return R(i)[0]['data']
r = ($1)
print(r) if not isinstance(r, bool) else sys.exit(0 if r else 1)"
}
# until_q EXPR [SECS]
until_q() { local i; for i in $(seq 1 $((${2:-10} * 10))); do q "$1" && return 0; sleep 0.1; done; return 1; }
estart() { pw_start DRYDOCK_URL="http://127.0.0.1:$CPORT" PRIVATE_KEY_FILE="$d/key.pem" AGENT_NAME=edge-tunnel "$@"; }

D rm -f edge-t1 edge-t2 edge-t3 >/dev/null 2>&1
D run -d --name edge-t2 "$PW_IMAGE" sh -c 'echo to-stdout; echo to-stderr >&2; sleep 600' >/dev/null ||
	fail "a container with output"
t2=$(D inspect -f '{{.Id}}' edge-t2)
cat >"$d/req1.json" <<EOF
[{"requestId":"ping","method":"GET","path":"/_ping"},
 {"requestId":"list","method":"GET","path":"/containers/json?all=true"},
 {"requestId":"ver","method":"GET","path":"/version","headers":{"accept":"application/json","authorization":"Bearer stolen","connection":"close"}},
 {"requestId":"create","method":"POST","path":"/containers/create?name=edge-t1","body":{"Image":"$PW_IMAGE","Cmd":["true"],"Labels":{"made-by":"edge","order":"kept"}}},
 {"requestId":"missing","method":"GET","path":"/containers/nope-$$/json"},
 {"requestId":"badpath","method":"GET","path":"//containers/json"},
 {"requestId":"badpath2","method":"GET","path":"/containers/json HTTP/1.1\r\nX: y"},
 {"requestId":"badmethod","method":"G ET","path":"/_ping"},
 {"requestId":"logs","method":"GET","path":"/containers/$t2/logs?stdout=1&stderr=1"},
 {"requestId":"events","method":"GET","path":"/events?since=0&until=1"},
 {"requestId":"inspect","method":"GET","path":"/containers/edge-t2/json"},
 {"requestId":"stats","method":"GET","path":"/containers/$t2/stats?stream=false"},
 {"requestId":"bigbody","method":"POST","path":"/containers/create?name=edge-t4","body":{"Image":"$PW_IMAGE","Cmd":["true"],"Labels":{"big":"$(head -c 6000000 /dev/zero | tr '\0' b)"}}},
 {"method":"GET","path":"/_ping"}
]
EOF
ctl --requests "$d/req1.json" || fail "controller"
estart || fail "portwingd in edge mode"
done_all() { q 'all(any(f["type"] in ("error","stream_end") or (f["type"]=="response" and not f["data"].get("isStream")) for f in R(i)) for i in ("ping","list","ver","create","missing","badpath","badpath2","badmethod","logs","events","inspect","stats","bigbody"))'; }
for _ in $(seq 1 200); do done_all && break; sleep 0.1; done
check "GET /_ping: a response with status 200 and the text body as a JSON string" \
    q 'one("ping")["statusCode"] == 200 and one("ping")["body"] == "OK" and R("ping")[0]["type"] == "response"'
check "GET /containers/json: Docker's JSON embedded as JSON, with the container in it" \
    q "isinstance(one('list')['body'], list) and any(c['Id'] == '$t2' for c in one('list')['body'])"
check "  headers by Go-canonical name, Content-Type also as contentType" \
    q 'one("list")["headers"]["Content-Type"] == "application/json" and "Api-Version" in one("list")["headers"] and one("list")["contentType"] == "application/json"'
check "  statusCode is an integer" q 'all(isinstance(one(i)["statusCode"], int) for i in ("ping","list","ver","create","missing"))'
check "POST /containers/create with a JSON body: 201 and the new id" \
    q 'one("create")["statusCode"] == 201 and len(one("create")["body"]["Id"]) == 64'
lbl=$(D inspect -f '{{index .Config.Labels "made-by"}}' edge-t1 2>/dev/null)
check "  the container exists with the body's labels ($lbl)" [ "$lbl" = edge ]
check "an unknown container: a response with Docker's 404 and its message (not an error)" \
    q 'one("missing")["statusCode"] == 404 and "No such container" in one("missing")["body"]["message"]'
check "a path with // or a request-line break: an error naming the request, nothing sent" \
    q 'R("badpath")[0]["type"] == "error" and R("badpath2")[0]["type"] == "error" and "path" in one("badpath")["message"]'
check "a malformed method: an error" q 'R("badmethod")[0]["type"] == "error"'
check "logs (streaming): response isStream, then stream data, then stream_end complete" \
    q '[f["type"] for f in R("logs")][0] == "response" and one("logs")["isStream"] is True and one("logs")["statusCode"] == 200 and [f["type"] for f in R("logs")][-1] == "stream_end" and R("logs")[-1]["data"]["reason"] == "complete"'
check "  the stream's bytes are Docker's, base64, stdout and stderr multiplexed" \
    q 'b"".join(base64.b64decode(f["data"]["data"]) for f in R("logs") if f["type"]=="stream").count(b"to-std") == 2 and b"".join(base64.b64decode(f["data"]["data"]) for f in R("logs") if f["type"]=="stream")[0] in (1, 2)'
check "events with until: streamed and ended" \
    q 'one("events")["isStream"] is True and R("events")[-1]["type"] == "stream_end"'
check "a request by name: answered" q 'one("inspect")["statusCode"] == 200 and one("inspect")["body"]["Id"] == "'$t2'"'
check "stats (stream=false, as Drydock asks): Docker's figures as JSON" \
    q 'one("stats")["statusCode"] == 200 and "cpu_stats" in one("stats")["body"]'
lb=$(D inspect -f '{{len (index .Config.Labels "big")}}' edge-t4 2>/dev/null)
check "a 6 MB JSON body (a create with a large label): 201, and Docker has all of it ($lb bytes)" \
    bash -c "q() { :; }; [ '$lb' = 6000000 ]" && q 'one("bigbody")["statusCode"] == 201'
m=$(pw_curl "$(pw_url /metrics)")
check "/metrics counts the controller's calls by Docker's status class, errors apart" \
    bash -c "echo \"\$1\" | grep -Eq '^portwing_edge_requests_total\{code=\"2xx\"\} ([5-9]|[1-9][0-9])' && echo \"\$1\" | grep -Eq '^portwing_edge_requests_total\{code=\"4xx\"\} [1-9]' && echo \"\$1\" | grep -Eq '^portwing_edge_requests_total\{code=\"error\"\} [3-9]'" _ "$m"
check "the session is still up after all of it" \
    bash -c "echo \"\$1\" | grep -qx 'portwing_edge_controller_connected 1'" _ "$m"
a=$(pw_curl "$(pw_url /_portwing/audit)")
check "every tunnelled request is in the audit trail as the controller's" \
    bash -c "echo \"\$1\" | $PY -c 'import json,sys; r=json.load(sys.stdin)[\"records\"]; a=[x for x in r if x[\"event\"]==\"api_request\" and x.get(\"principal\")==\"controller\"]; sys.exit(0 if {x[\"path\"] for x in a} >= {\"/_ping\",\"/containers/json\",\"/version\",\"/containers/create\",\"/containers/edge-t2/json\"} and all(x[\"actor\"]==\"127.0.0.1\" for x in a) else 1)'" _ "$a"
pw_stop
D rm -f edge-t1 edge-t4 >/dev/null 2>&1

# Logs and deletion (5.10, 5.11).
D rm -f edge-t1 edge-utf >/dev/null 2>&1
D create --name edge-t1 "$PW_IMAGE" true >/dev/null
D run -d --name edge-utf "$PW_IMAGE" sh -c 'printf "ok \377\376 end\n"; sleep 600' >/dev/null
sleep 1
cat >"$d/req5.json" <<EOF
[{"type":"dd:container_log_request","data":{"containerId":"$t2","requestId":"once","tail":100,"since":"0","timestamps":false}},
 {"type":"dd:container_log_request","data":{"containerId":"$t2","requestId":"live","tail":100,"since":0,"follow":true,"timestamps":true,"stream":true}},
 {"type":"dd:container_log_request","data":{"containerId":"$t2","requestId":"live","since":0,"follow":true,"stream":true}},
 {"type":"dd:container_log_request","data":{"containerId":"$t2","stream":true}},
 {"type":"dd:container_log_request","data":{"containerId":"nope-$$","requestId":"gone1","tail":5}},
 {"type":"dd:container_log_request","data":{"containerId":"nope-$$","requestId":"gone2","stream":true}},
 {"type":"dd:container_log_request","data":{"containerId":"edge-utf","requestId":"utf","stream":true,"follow":true}},
 {"type":"dd:container_delete_request","data":{"containerId":"edge-t1","requestId":"del1"}},
 {"type":"dd:container_delete_request","data":{"containerId":"nope-$$","requestId":"del2"}},
 {"type":"dd:watch_request","data":{"watcherType":"docker","watcherName":"docker"}},
 {"type":"dd:watch_container_request","data":{"watcherType":"docker","watcherName":"docker","containerId":"$t2"}},
 {"type":"dd:trigger_request","data":{"triggerType":"docker","triggerName":"update","containerId":"$t2"}},
 {"type":"error","data":{"message":"concurrent request limit reached","code":"stream-limit","requestId":"x"}},
 {"sleep":2},
 {"type":"dd:container_log_cancel","data":{"containerId":"$t2","requestId":"live"}},
 {"type":"dd:container_log_cancel","data":{"containerId":"$t2","requestId":"never-was"}}
]
EOF
ctl --requests "$d/req5.json" || fail "controller"
estart || fail "portwingd"
until_q 'any(f["type"]=="dd:container_log_end" and f["data"]["requestId"]=="live" for f in [e for e in ev if e["event"]=="frame"])' 15
sleep 0.5
check "one-shot logs: dd:container_log_response with the demultiplexed text" \
    q 'R("once")[0]["type"] == "dd:container_log_response" and sorted(one("once")["logs"].splitlines(True)) == ["to-stderr\n", "to-stdout\n"] and one("once")["containerId"] == "'$t2'"'
check "live logs (since as a number): one chunk per line, stdout and stderr apart, timestamps on" \
    q '{(f["data"]["stream"], f["data"]["logs"].split(" ",1)[1]) for f in R("live") if f["type"]=="dd:container_log_chunk"} == {("stdout","to-stdout\n"), ("stderr","to-stderr\n")}'
check "  a second live request with the same id: duplicate requestId" \
    q 'any(f["type"]=="dd:container_log_error" and f["data"]["error"]=="duplicate requestId" for f in R("live"))'
check "  a request without requestId: the error says both are required" \
    q 'any(e["event"]=="frame" and e["type"]=="dd:container_log_error" and e["data"]["error"]=="requestId and containerId are required" for e in ev)'
check "  cancel: dd:container_log_end canceled" \
    q 'R("live")[-1]["type"] == "dd:container_log_end" and R("live")[-1]["data"]["reason"] == "canceled"'
check "  a cancel for an unknown id changes nothing" q 'R("never-was") == []'
check "logs of a missing container: one-shot says error: in logs" \
    q 'one("gone1")["logs"].startswith("error: container logs: No such container")'
check "  live: dd:container_log_error" q 'R("gone2")[0]["type"] == "dd:container_log_error" and "No such container" in one("gone2")["error"]'
check "output that is not UTF-8 arrives mended (U+FFFD), and the session holds" \
    q 'any(f["type"]=="dd:container_log_chunk" and f["data"]["logs"]=="ok \ufffd\ufffd end\n" for f in R("utf"))'
check "delete: success" q 'one("del1") == {"requestId":"del1","containerId":"edge-t1","success":True}'
check "  and the container is gone" bash -c "! docker -H unix://$DOCKER_SOCK inspect edge-t1 >/dev/null 2>&1"
check "  a missing one: success false, and Docker's reason" \
    q 'one("del2")["success"] is False and one("del2")["error"].startswith("remove container: No such container")'
check "the reserved dd:watch_request: an empty dd:watch_response" \
    q 'any(e["event"]=="frame" and e["type"]=="dd:watch_response" and e["data"]=={"watcherType":"docker","watcherName":"docker","results":[]} for e in ev)'
check "  dd:watch_container_request and dd:trigger_request: answered without work" \
    q 'any(e["event"]=="frame" and e["type"]=="dd:watch_container_response" and e["data"]=={"watcherType":"docker","watcherName":"docker","containerId":"'$t2'"} for e in ev) and any(e["event"]=="frame" and e["type"]=="dd:trigger_response" and e["data"]["success"] is False and e["data"]["message"]=="triggers not implemented in v1.0" for e in ev)'
check "an error message from the controller is logged, not fatal" grep -q 'the controller says: concurrent request limit reached stream-limit' "$PW_LOG"
check "the session held through all of it" q 'not any(e["event"]=="closed" for e in ev)'
pw_stop
D rm -f edge-t1 edge-utf >/dev/null 2>&1

# Exec over the session (10): input queued before the exec is live,
# output, resize, Docker's end, the controller's end, refusals.
b64() { printf "$1" | base64 -w0; }
cat >"$d/req6.json" <<EOF
[{"type":"exec_start","data":{"execId":"x1","containerId":"$t2","cmd":["sh","-c","read l; echo got:\$l; exit 3"],"cols":100,"rows":30,"tty":true}},
 {"type":"exec_input","data":{"execId":"x1","data":"$(b64 'hello\n')"}},
 {"type":"exec_start","data":{"execId":"x2","containerId":"$t2","cmd":["sh","-c","sleep 0.5; stty size; read l; stty size; read l"],"cols":80,"rows":24}},
 {"type":"exec_start","data":{"execId":"x3","containerId":"$t2","cmd":["sh","-c","echo plain; echo err >&2; read l"],"tty":false}},
 {"type":"exec_start","data":{"execId":"x4","containerId":"nope-$$","cmd":["true"]}},
 {"type":"exec_start","data":{"execId":"x5","containerId":"$t2","cmd":[]}},
 {"sleep":2},
 {"type":"exec_resize","data":{"execId":"x2","cols":132,"rows":50}},
 {"sleep":1},
 {"type":"exec_input","data":{"execId":"x2","data":"$(b64 '\n')"}},
 {"sleep":1},
 {"type":"exec_end","data":{"execId":"x3"}},
 {"type":"exec_end","data":{"execId":"x2"}}
]
EOF
ctl --requests "$d/req6.json" || fail "controller"
estart || fail "portwingd"
X() { echo "[e['data'] for e in ev if e['event']=='frame' and e['type'].startswith('exec_') and e['data'].get('execId')=='$1']"; }
OUT() { echo "b''.join(base64.b64decode(f['data']) for f in $(X $1) if 'data' in f)"; }
until_q "any('reason' in f for f in $(X x2)) and any('reason' in f for f in $(X x3))" 15
check "exec: exec_ready, then the output of the input sent before it was live" \
    q "b'got:hello' in $(OUT x1) and any(f == {'execId':'x1'} for f in $(X x1))"
check "  Docker's end: exec_end exited" q "$(X x1)[-1] == {'execId':'x1','reason':'exited'}"
check "  the size given at the start, then the one of exec_resize (TTY)" \
    q "b'24 80' in $(OUT x2) and b'50 132' in $(OUT x2)"
check "  without a TTY the bytes stay multiplexed (not demultiplexed)" \
    q "$(OUT x3)[:1] in (b'\\x01', b'\\x02') and b'plain' in $(OUT x3)"
check "  the controller's exec_end closes it and is answered" \
    q "$(X x3)[-1].get('reason') == 'closed by the controller'"
check "  a missing container: exec_end naming the failed create" \
    q "$(X x4)[-1]['reason'].startswith('create exec failed: ') and 'No such container' in $(X x4)[-1]['reason']"
check "  an empty cmd: refused" q "$(X x5)[-1]['reason'].startswith('create exec failed: cmd')"
# Closing a session closes the process's stdin (the proxy carries the
# close to Docker as a half-close): these read stdin, so they end.
hj=
for _ in $(seq 1 30); do
	hj=$(pw_curl "$(pw_url /metrics)" | sed -n 's/^portwing_proxy_hijacked_sessions //p')
	[ "$hj" = 0 ] && break
	sleep 0.2
done
check "  Docker's hijacked sessions are all closed after ($hj open)" [ "$hj" = 0 ]
pw_stop

# The policy judges the controller's requests as any other's.
cat >"$d/req2.json" <<EOF
[{"requestId":"list","method":"GET","path":"/containers/json"},
 {"requestId":"create","method":"POST","path":"/containers/create?name=edge-t3","body":{"Image":"$PW_IMAGE"}}]
EOF
ctl --requests "$d/req2.json" || fail "controller"
estart POLICY=readonly || fail "portwingd with POLICY=readonly"
until_q 'len(R("create")) >= 1 and len(R("list")) >= 1' 10
check "POLICY=readonly: the controller may list" q 'one("list")["statusCode"] == 200'
check "  but a create is refused with 403" q 'one("create")["statusCode"] == 403'
check "  and no container is made" bash -c "! docker -H unix://$DOCKER_SOCK inspect edge-t3 >/dev/null 2>&1"
pw_stop

# 100 requests at once; the 101st is refused.  The session's end cancels
# them: the proxy drops their Docker connections.
"$PY" -c "
import json
print(json.dumps([{'requestId': 'ev%d' % i, 'method': 'GET', 'path': '/events'} for i in range(101)]))" >"$d/req3.json"
ctl --requests "$d/req3.json" --mode welcome,welcome || fail "controller"
estart || fail "portwingd"
until_q 'len([e for e in ev if e["event"]=="frame" and e["type"]=="response" and e["data"].get("isStream")]) >= 100 and len(R("ev100")) >= 1' 20
n=$(q 'len({e["data"]["requestId"] for e in ev if e["event"]=="frame" and e["type"]=="response" and e["data"].get("isStream")})')
check "100 streaming requests at once are all answered ($n)" \
    q 'len({e["data"]["requestId"] for e in ev if e["event"]=="frame" and e["type"]=="response" and e["data"].get("isStream")}) == 100'
check "  the 101st: agent busy" q 'R("ev100")[0]["type"] == "error" and "agent busy" in one("ev100")["message"]'
dpid=$(cat "$PW_DOCKER_DIR/docker.pid" 2>/dev/null || pgrep -f "dockerd --host unix://$DOCKER_SOCK" | head -1)
nconn() { ss -xp 2>/dev/null | grep -c "pid=$(pw_children proxy)," ; }
before=$(nconn)
kill "$CTL_PID"; wait "$CTL_PID" 2>/dev/null; CTL_PID=
sleep 2
after=$(nconn)
check "the session's end cancels them: the proxy's connections go ($before -> $after)" \
    [ "$after" -lt $((before - 90)) ]
check "  and the log says so" grep -q 'Docker request(s) cancelled' "$PW_LOG"
pw_stop

# A controller that stops reading while a stream pours: memory stays
# bounded (the stream pauses), then the agent gives up on it.
D rm -f edge-big >/dev/null 2>&1
D run -d --name edge-big "$PW_IMAGE" sh -c 'head -c 100000000 /dev/zero | tr "\0" x | fold -w 999; sleep 600' >/dev/null
sleep 3
# First read as it comes: every byte arrives (the streams pause and go
# on with the send queue).
echo '[{"requestId":"all","method":"GET","path":"/containers/edge-big/logs?stdout=1&tail=32000"}]' >"$d/req7.json"
ctl --requests "$d/req7.json" || fail "controller"
estart || fail "portwingd"
until_q 'any(e["event"]=="frame" and e["type"]=="stream_end" for e in ev)' 60
got=$(q 'sum(len(base64.b64decode(f["data"]["data"])) for f in R("all") if f["type"]=="stream")')
check "a 32 MB log stream read as it comes: every byte, then stream_end ($got bytes)" \
    [ "$got" = $((32000 * (1000 + 8))) ]
pw_stop
echo '[{"requestId":"big","method":"GET","path":"/containers/edge-big/logs?stdout=1"}]' >"$d/req4.json"
ctl --requests "$d/req4.json" --stall 20 || fail "controller"
estart || fail "portwingd"
until_q 'any(e["event"]=="stalling" for e in ev)' 10
peak=0
for _ in $(seq 1 24); do
	r=$(awk '/VmRSS/ {print $2}' /proc/$(pw_children edge)/status 2>/dev/null)
	[ -n "$r" ] && [ "$r" -gt "$peak" ] && peak=$r
	sleep 0.5
done
check "a controller that stops reading: the edge process stays under 64 MiB (peak ${peak} KiB)" \
    [ "$peak" -gt 0 ] && [ "$peak" -lt 65536 ]
until_q 'any(e["event"]=="closed" for e in ev)' 25
m=$(pw_curl "$(pw_url /metrics)")
check "  and is disconnected (backpressure), not buffered without bound" \
    bash -c "echo \"\$1\" | grep -Eq '^portwing_edge_backpressure_events_total [1-9]'" _ "$m"
pw_stop
D rm -f edge-big edge-t2 >/dev/null 2>&1

check "no edge process died of its sandbox" bash -c "! grep -h 'edge.*signal 31' $d/portwingd.*.log"
pw_done
