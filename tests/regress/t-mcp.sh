#!/bin/bash
# t-mcp.sh: POST /_portwing/mcp, the Model Context Protocol server.
#
#  - curl: every status and error of the transport and of JSON-RPC
#    (401, 405 with Allow, 415, 406, 400 for an unknown
#    MCP-Protocol-Version, 413 past 1 MiB, parse errors, -32600, 202 for
#    notifications and responses, -32601, -32602), initialize's version
#    negotiation, the tool list and every tool, and the tools' failures;
#  - the official TypeScript SDK client (mcp/sdk_client.mjs) and the MCP
#    Inspector's CLI: each connects, lists the tools, calls every tool and
#    fails one call the way its maker meant;
#  - what the tools return, from all three clients, against the engine
#    read directly (mcp/compare.py): ids, names, images, states, restart
#    policy, mounts, the number of environment variables, log lines as
#    docker logs --tail N splits them by stream;
#  - a container's environment holds secrets: no byte of anything an MCP
#    client received (all kept in $PW_TMP/out) contains them.
#
# The SDK and the Inspector come from the npm registry, pinned by
# mcp/package-lock.json; mcp/install.sh installs them with npm ci into
# PW_MCP_NPM_DIR (/var/tmp/portwing-mcp-npm) and reuses that cache
# while the lock file is unchanged.
. "$(dirname "$0")/lib.sh"
here=$(cd "$(dirname "$0")" && pwd)
D() { pw_docker_direct "$@"; }
names="pwmcp-run pwmcp-exited pwmcp-created"
cleanup() {
	pw_stop
	# shellcheck disable=SC2086
	D rm -f $names >/dev/null 2>&1
}
trap cleanup EXIT
cleanup
out=$PW_TMP/out direct=$PW_TMP/direct
mkdir -p "$out" "$direct" "$PW_TMP/vol"

# ---- The clients from npm (before anything else: the slow part). ----
cache=
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
	fail "node and npm are installed (the SDK and Inspector checks need them)"
elif cache=$("$here/mcp/install.sh" 2>"$PW_TMP/install.err"); then
	ok "npm ci of tests/regress/mcp (SDK, Inspector) into $cache"
else
	fail "npm ci of tests/regress/mcp (SDK, Inspector)"
	sed 's/^/#   /' "$PW_TMP/install.err"
	cache=
fi

# ---- The containers the tools look at. ----
secret_db=s3cr3t-db-$(head -c 9 /dev/urandom | od -An -tx1 | tr -d ' \n')
secret_api=ak-$RANDOM-$(head -c 9 /dev/urandom | od -An -tx1 | tr -d ' \n')
label=visible-label-$RANDOM$RANDOM
# Running, healthy, a bind mount read-only, a restart policy, a label,
# secrets in its environment, and output on both streams.
# shellcheck disable=SC2016
D run -d --name pwmcp-run --restart unless-stopped \
    -e DB_PASSWORD="$secret_db" -e API_KEY="$secret_api" \
    --label pw.mcp="$label" -v "$PW_TMP/vol:/data:ro" \
    --health-cmd true --health-interval 1s "$PW_IMAGE" sh -c \
    'for i in 1 2 3 4 5 6; do echo out-$i; sleep 0.05; echo err-$i >&2; sleep 0.05; done
     echo "out last"; sleep 600' \
    >/dev/null || fail "container pwmcp-run starts"
# Exited (status 3) after 600 lines, no network.
# shellcheck disable=SC2016
D run --name pwmcp-exited --network none "$PW_IMAGE" sh -c \
    'i=1; while [ $i -le 600 ]; do echo line-$i; i=$((i + 1)); done; exit 3' >/dev/null 2>&1
# Created, never started.
D create --name pwmcp-created --restart on-failure:2 "$PW_IMAGE" true >/dev/null ||
    fail "container pwmcp-created is created"
cid=$(D inspect -f '{{.Id}}' pwmcp-run)
xid=$(D inspect -f '{{.Id}}' pwmcp-exited)
kid=$(D inspect -f '{{.Id}}' pwmcp-created)
for _ in $(seq 1 100); do
	[ "$(D inspect -f '{{.State.Health.Status}}' pwmcp-run)" = healthy ] &&
	    [ "$(D logs pwmcp-run 2>&1 | grep -c .)" -ge 13 ] && break
	sleep 0.2
done
check "pwmcp-run is healthy with its 13 lines of output logged" \
    [ "$(D inspect -f '{{.State.Health.Status}}' pwmcp-run)/$(D logs pwmcp-run 2>&1 | grep -c .)" = healthy/13 ]
check "pwmcp-exited ran and exited with status 3" \
    [ "$(D inspect -f '{{.State.Status}}/{{.State.ExitCode}}' pwmcp-exited)" = exited/3 ]

# What the engine says, read without portwing (compare.py's input).
D ps -aq --no-trunc >"$direct/ps.txt"
# shellcheck disable=SC2046
D inspect $(cat "$direct/ps.txt") >"$direct/inspect.json"
for spec in "$cid 5" "$cid 3" "$cid 100" "$xid 100" "$xid 500" "$xid 7" "$kid 100"; do
	# shellcheck disable=SC2086
	set -- $spec
	D logs --tail "$2" "$1" >"$direct/logs-$1-$2.out" 2>"$direct/logs-$1-$2.err"
	D logs --timestamps --tail "$2" "$1" >"$direct/logs-$1-$2.tsout" 2>"$direct/logs-$1-$2.tserr"
done
curl -s -m 20 --unix-socket "$DOCKER_SOCK" \
    "http://docker/containers/$cid/stats?stream=false" >"$direct/stats-$cid.json"
python3 -c 'import os; print(len(os.sched_getaffinity(0)))' >"$direct/nproc"
cat /proc/meminfo >"$direct/meminfo"
# The secrets are there to be found: the search at the end means something.
check "docker inspect shows pwmcp-run's secrets (the engine has them)" \
    grep -qF -e "$secret_db" "$direct/inspect.json"
check "docker inspect shows the other secret too" grep -qF -e "$secret_api" "$direct/inspect.json"

# DOCKER_ROOT: the disk figures of host_metrics describe the engine's
# data root (the private engine's is not the default /var/lib/docker).
root=$(D info -f '{{.DockerRootDir}}')
python3 -c 'import os, sys; s = os.statvfs(sys.argv[1]); print(s.f_blocks * s.f_frsize)' \
    "$root" >"$direct/disktotal"
pw_start DOCKER_ROOT="$root" || { fail "portwingd starts"; exit 1; }
version=$("$PW_BUILD/portwing" --version)
cat /proc/uptime >"$direct/uptime"

# post BODY [curl args...]: POST BODY (a string, or @file) to $EP
# (/_portwing/mcp) with the token and an MCP client's headers (CT and
# ACC override Content-Type and Accept; ACC= sends none).  Sets code;
# the answer is in $last.body and $last.hdr.
n=0
post() {
	local body=$1 acc
	shift
	n=$((n + 1))
	last=$out/curl-$n
	if [ -n "${ACC-x}" ]; then
		acc="Accept: ${ACC-application/json, text/event-stream}"
	else
		acc="Accept:"
	fi
	code=$(pw_curl -o "$last.body" -D "$last.hdr" -w '%{http_code}' \
	    -X POST -H "Content-Type: ${CT-application/json}" \
	    -H "$acc" "$@" --data-binary "$body" "$(pw_url "${EP:-/_portwing/mcp}")")
}
# says DESC PYEXPR [ARG]: PYEXPR is true of the last answer, where c is
# its status (int), j its body as JSON (None when not JSON), b its raw
# body, h its headers (lowercase names, the final answer's) and
# sys.argv[4] is ARG.
says() {
	if python3 - "$last" "$code" "$2" "${3:-}" <<'PY'
import json, sys
base, c, e = sys.argv[1], int(sys.argv[2]), sys.argv[3]
b = open(base + ".body", "rb").read()
try:
    j = json.loads(b)
except ValueError:
    j = None
blocks = [x for x in open(base + ".hdr", encoding="latin-1", newline="").read().split("\r\n\r\n")
          if x.startswith("HTTP/")]
h = {}
for l in (blocks[-1].split("\r\n")[1:] if blocks else []):
    if ":" in l:
        k, v = l.split(":", 1)
        h[k.strip().lower()] = v.strip()
sys.exit(0 if eval(e) else 1)
PY
	then
		ok "$1"
	else
		fail "$1"
		echo "#   status $code, headers: $(tr -d '\r' <"$last.hdr" | grep -v '^HTTP/1.1 100' | tr '\n' ' ' | head -c 300)"
		echo "#   body: $(head -c 400 "$last.body")"
	fi
}
# A JSON-RPC answer: 200, application/json, no session, jsonrpc 2.0.
RPC='c == 200 and h.get("content-type", "").startswith("application/json") and "mcp-session-id" not in h and isinstance(j, dict) and j.get("jsonrpc") == "2.0"'
err_is() { # err_is ID CODE MESSAGE: a JSON-RPC error answer, exactly
	printf '%s and j == {"jsonrpc": "2.0", "id": %s, "error": {"code": %s, "message": %s}}' \
	    "$RPC" "$1" "$2" "$(python3 -c 'import json,sys; print(json.dumps(sys.argv[1]))' "$3")"
}

# ---- Authentication, methods, media types, headers, size. ----
st=$(curl -s -m 10 -o "$out/noauth.body" -w '%{http_code}' -X POST \
    -H 'Content-Type: application/json' --data-binary '{"jsonrpc":"2.0","id":1,"method":"ping"}' \
    "$(pw_url /_portwing/mcp)")
check "no token: 401 unauthorized ($st)" \
    bash -c "[ $st = 401 ] && grep -q unauthorized '$out/noauth.body'"
st=$(curl -s -m 10 -o "$out/badauth.body" -w '%{http_code}' -X POST \
    -H 'Authorization: Bearer not-the-token' -H 'Content-Type: application/json' \
    --data-binary '{"jsonrpc":"2.0","id":1,"method":"ping"}' "$(pw_url /_portwing/mcp)")
check "a wrong token: 401 ($st)" [ "$st" = 401 ]
st=$(curl -s -m 10 -o /dev/null -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
    --data-binary '{"jsonrpc":"2.0","id":1,"method":"ping"}' "$(pw_url /_lookout/mcp)")
check "no token on /_lookout/mcp: 401 ($st)" [ "$st" = 401 ]
for m in GET DELETE PUT; do
	n=$((n + 1))
	last=$out/curl-$n
	code=$(pw_curl -o "$last.body" -D "$last.hdr" -w '%{http_code}' -X $m \
	    "$(pw_url /_portwing/mcp)")
	says "$m /_portwing/mcp: 405 with Allow: POST" 'c == 405 and h.get("allow") == "POST"'
done
CT=text/plain post '{"jsonrpc":"2.0","id":1,"method":"ping"}'
says "Content-Type text/plain: 415" 'c == 415'
CT=application/x-www-form-urlencoded post '{"jsonrpc":"2.0","id":1,"method":"ping"}'
says "Content-Type application/x-www-form-urlencoded (curl's default): 415" 'c == 415'
CT='application/json; charset=utf-8' post '{"jsonrpc":"2.0","id":1,"method":"ping"}'
says "Content-Type application/json; charset=utf-8: accepted" "$RPC"' and j["result"] == {}'
ACC=text/html post '{"jsonrpc":"2.0","id":1,"method":"ping"}'
says "Accept: text/html: 406" 'c == 406'
ACC=text/event-stream post '{"jsonrpc":"2.0","id":1,"method":"ping"}'
says "Accept: text/event-stream alone (no JSON): 406" 'c == 406'
for a in '*/*' 'application/*' 'application/json' 'application/json, text/event-stream' \
    'text/html, application/json;q=0.5'; do
	ACC=$a post '{"jsonrpc":"2.0","id":2,"method":"ping"}'
	says "Accept: $a: ping answered" "$RPC"' and j == {"jsonrpc": "2.0", "id": 2, "result": {}}'
done
ACC='' post '{"jsonrpc":"2.0","id":3,"method":"ping"}'
says "no Accept header: ping answered" "$RPC"' and j["id"] == 3 and j["result"] == {}'
for v in 2024-11-05 2025-03-26 2025-06-18 2025-11-25; do
	post '{"jsonrpc":"2.0","id":4,"method":"ping"}' -H "MCP-Protocol-Version: $v"
	says "MCP-Protocol-Version $v: accepted" "$RPC"' and j["result"] == {}'
done
for v in 2024-10-07 2026-01-01 bogus; do
	post '{"jsonrpc":"2.0","id":5,"method":"ping"}' -H "MCP-Protocol-Version: $v"
	says "MCP-Protocol-Version $v: 400 and its JSON-RPC error" \
	    'c == 400 and j == {"jsonrpc": "2.0", "id": None, "error": {"code": -32600, "message": "unsupported MCP-Protocol-Version: '"$v"'"}}'
done
# 1 MiB exactly is allowed; one byte more is not.
python3 - "$PW_TMP" <<'PY'
import sys
msg = b'{"jsonrpc":"2.0","id":6,"method":"ping"}'
open(sys.argv[1] + "/1mib.json", "wb").write(msg + b" " * (1048576 - len(msg)))
open(sys.argv[1] + "/1mib1.json", "wb").write(msg + b" " * (1048577 - len(msg)))
PY
post "@$PW_TMP/1mib.json" -H 'Expect:'
says "a body of exactly 1 MiB: answered" "$RPC"' and j["id"] == 6 and j["result"] == {}'
post "@$PW_TMP/1mib1.json" -H 'Expect:'
says "a body of 1 MiB + 1 byte: 413" 'c == 413'

# ---- JSON-RPC framing. ----
PARSE='{"jsonrpc": "2.0", "id": None, "error": {"code": -32700, "message": "parse error"}}'
for body in '{"jsonrpc":"2.0","id":1,"method":"ping"' 'not json' '[{"jsonrpc":"2.0","id":1,"method":"ping"}]' \
    '42' '"ping"' 'null' ''; do
	post "$body"
	says "body ${body:-(empty)}: 200, parse error" "$RPC and j == $PARSE"
done
post '{"jsonrpc":"1.0","id":7,"method":"ping"}'
says 'jsonrpc "1.0": -32600, id echoed' "$(err_is 7 -32600 'jsonrpc must be "2.0"')"
post '{"id":"seven","method":"ping"}'
says 'no jsonrpc member: -32600, id echoed' "$(err_is '"seven"' -32600 'jsonrpc must be "2.0"')"
post '{"jsonrpc":"2.0","method":"notifications/initialized"}'
says "notifications/initialized: 202, empty body" 'c == 202 and b == b""'
post '{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":1,"reason":"x"}}'
says "another notification: 202, empty body" 'c == 202 and b == b""'
post '{"jsonrpc":"2.0","method":"no/such/notification"}'
says "an unknown notification: 202, empty body" 'c == 202 and b == b""'
post '{"jsonrpc":"2.0","id":9,"result":{}}'
says "a JSON-RPC response from the client: 202" 'c == 202 and b == b""'
post '{"jsonrpc":"2.0","id":9,"error":{"code":-1,"message":"declined"}}'
says "a JSON-RPC error response from the client: 202" 'c == 202 and b == b""'

# ---- initialize, ping, unknown methods. ----
init() {
	post "{\"jsonrpc\":\"2.0\",\"id\":$1,\"method\":\"initialize\",\"params\":{\"protocolVersion\":$2,\"capabilities\":{},\"clientInfo\":{\"name\":\"t-mcp\",\"version\":\"1\"}}}"
}
INIT_OK() { # the initialize result for version $1
	printf '%s and j["id"] == 10 and set(j) == {"jsonrpc", "id", "result"} and set(j["result"]) - {"instructions"} == {"capabilities", "protocolVersion", "serverInfo"} and j["result"]["capabilities"] == {"tools": {"listChanged": False}} and j["result"]["protocolVersion"] == "%s" and {k: v for k, v in j["result"]["serverInfo"].items() if k != "title" or not isinstance(v, str)} == {"name": "portwing", "version": "%s"} and isinstance(j["result"].get("instructions", ""), str)' \
	    "$RPC" "$1" "$version"
}
for v in 2024-11-05 2025-03-26 2025-06-18 2025-11-25; do
	init 10 "\"$v\""
	says "initialize asking $v: $v, tools capability, serverInfo portwing $version" "$(INIT_OK "$v")"
done
init 10 '"2099-01-01"'
says "initialize asking an unknown version: 2025-11-25" "$(INIT_OK 2025-11-25)"
init 10 '"2024-10-07"'
says "initialize asking 2024-10-07 (not spoken): 2025-11-25" "$(INIT_OK 2025-11-25)"
EP=/_lookout/mcp init 10 '"2025-06-18"'
says "/_lookout/mcp: initialize answered the same" "$(INIT_OK 2025-06-18)"
post '{"jsonrpc":"2.0","id":"p-1","method":"ping"}'
says "ping: empty result, string id echoed" "$RPC"' and j == {"jsonrpc": "2.0", "id": "p-1", "result": {}}'
post '{"jsonrpc":"2.0","id":11,"method":"resources/list"}'
says "resources/list: -32601" "$(err_is 11 -32601 'method not found: resources/list')"
post '{"jsonrpc":"2.0","id":12,"method":"no/such"}'
says "an unknown method: -32601" "$(err_is 12 -32601 'method not found: no/such')"

# ---- tools/list ----
post '{"jsonrpc":"2.0","id":13,"method":"tools/list"}'
says "tools/list: the five tools and their input schemas" "$RPC"' and j["id"] == 13 and (lambda t: sorted(t) == ["container_logs", "container_stats", "host_metrics", "inspect_container", "list_containers"] and all(isinstance(x.get("description"), str) and x["description"] for x in t.values()) and t["list_containers"]["inputSchema"] == {"type": "object", "additionalProperties": False} and t["host_metrics"]["inputSchema"] == {"type": "object", "additionalProperties": False} and all(t[n]["inputSchema"]["type"] == "object" and t[n]["inputSchema"]["properties"]["id"]["type"] == "string" and t[n]["inputSchema"]["required"] == ["id"] for n in ("inspect_container", "container_stats", "container_logs")) and t["container_logs"]["inputSchema"]["properties"]["tail"] == dict(t["container_logs"]["inputSchema"]["properties"]["tail"], type="integer", minimum=1, maximum=500) and sorted(t["container_logs"]["inputSchema"]["properties"]) == ["id", "tail"])({x["name"]: x for x in j["result"]["tools"]}) and len(j["result"]["tools"]) == 5'

# ---- tools/call: its parameters. ----
for p in '' ',"params":[]' ',"params":"x"' ',"params":{}' ',"params":{"name":5}' \
    ',"params":{"name":"list_containers","arguments":"x"}' \
    ',"params":{"name":"list_containers","arguments":[]}'; do
	post "{\"jsonrpc\":\"2.0\",\"id\":14,\"method\":\"tools/call\"$p}"
	says "tools/call${p:- (no params)}: -32602" "$(err_is 14 -32602 'invalid tools/call params')"
done
post '{"jsonrpc":"2.0","id":15,"method":"tools/call","params":{"name":"nope","arguments":{}}}'
says "tools/call of an unknown tool: -32602" "$(err_is 15 -32602 'unknown tool: nope')"

# ---- tools/call: every tool, over curl. ----
long=$(printf 'a%.0s' $(seq 1 129))
# abbr TEXT: TEXT with the test's container ids and long ids shortened.
abbr() {
	local t=$1
	t=${t//$cid/<pwmcp-run>}
	t=${t//$xid/<pwmcp-exited>}
	t=${t//$kid/<pwmcp-created>}
	t=${t//$long/<a x 129>}
	t=${t//${long:1}/<a x 128>}
	printf '%s' "$t"
}
# callt TOOL KEY ARGS: a tools/call whose result compare.py checks
# (KEY: its place in the results, see compare.py).
: >"$out/curl-manifest"
callt() {
	post "{\"jsonrpc\":\"2.0\",\"id\":\"t$n\",\"method\":\"tools/call\",\"params\":{\"name\":\"$1\",\"arguments\":$3}}"
	says "tools/call $1 $(abbr "$3"): a text result, isError false" "$RPC"' and set(j) == {"jsonrpc", "id", "result"} and set(j["result"]) == {"content", "isError"} and j["result"]["isError"] is False and len(j["result"]["content"]) == 1 and set(j["result"]["content"][0]) == {"type", "text"} and j["result"]["content"][0]["type"] == "text"'
	printf '%s\t%s\t%s\n' "$1" "$2" "$last.body" >>"$out/curl-manifest"
}
# callerr ARGS_JSON TOOL MESSAGE_REGEX: a tool failure, isError true.
callerr() {
	post "{\"jsonrpc\":\"2.0\",\"id\":16,\"method\":\"tools/call\",\"params\":{\"name\":\"$2\",\"arguments\":$1}}"
	says "tools/call $2 $(abbr "$1"): isError, text ~ /$(abbr "$3")/" "$RPC"' and j["id"] == 16 and set(j["result"]) == {"content", "isError"} and j["result"]["isError"] is True and len(j["result"]["content"]) == 1 and j["result"]["content"][0]["type"] == "text" and __import__("re").search(sys.argv[4], j["result"]["content"][0]["text"])' "$3"
}
callt list_containers "" '{}'
callt host_metrics "" '{}'
callt inspect_container "$cid" "{\"id\":\"$cid\"}"
callt inspect_container pwmcp-exited '{"id":"pwmcp-exited"}'
callt inspect_container "$kid" "{\"id\":\"$kid\"}"
callt container_stats "$cid" "{\"id\":\"$cid\"}"
callt container_logs "$cid|5" "{\"id\":\"$cid\",\"tail\":5}"
callt container_logs "pwmcp-run|3" '{"id":"pwmcp-run","tail":3}'
callt container_logs "$cid|" "{\"id\":\"$cid\"}"
callt container_logs "$xid|" "{\"id\":\"$xid\"}"
callt container_logs "$xid|0" "{\"id\":\"$xid\",\"tail\":0}"
callt container_logs "$xid|-4" "{\"id\":\"$xid\",\"tail\":-4}"
callt container_logs "$xid|1000" "{\"id\":\"$xid\",\"tail\":1000}"
callt container_logs "$xid|500" "{\"id\":\"$xid\",\"tail\":500}"
callt container_logs "$xid|7" "{\"id\":\"$xid\",\"tail\":7}"
callt container_logs "$kid|" "{\"id\":\"$kid\"}"

# ---- tools/call: the tools' failures. ----
callerr '{}' inspect_container '^id is required$'
callerr '{}' container_logs '^id is required$'
callerr '{}' container_stats '^id is required$'
callerr '{"tail":5}' container_logs '^id is required$'
callerr '{"id":"-abc"}' inspect_container '^invalid container id$'
callerr '{"id":"a/b"}' inspect_container '^invalid container id$'
callerr '{"id":"a b"}' container_logs '^invalid container id$'
callerr '{"id":"../etc"}' container_stats '^invalid container id$'
callerr "{\"id\":\"$long\"}" inspect_container '^invalid container id$'
callerr "{\"id\":\"${long:1}\"}" inspect_container \
    "^inspect container: docker error \\(status 404\\): No such container: ${long:1}"
callerr '{"id":"pwmcp-no-such"}' inspect_container \
    '^inspect container: docker error \(status 404\): No such container: pwmcp-no-such'
callerr '{"id":"pwmcp-no-such"}' container_logs 'No such container: pwmcp-no-such'
callerr '{"id":"pwmcp-no-such"}' container_stats 'No such container: pwmcp-no-such'
callerr "{\"id\":\"$cid\",\"tail\":\"50\"}" container_logs '.'
callerr "{\"id\":\"$cid\",\"tail\":2.5}" container_logs '.'
callerr '{"id":5}' inspect_container '.'

python3 - "$out/curl-manifest" "$out/curl-results.json" <<'PY'
import json, sys
res = {}
for line in open(sys.argv[1]):
    tool, key, f = line.rstrip("\n").split("\t")
    try:
        r = json.load(open(f))["result"]
    except Exception as e:  # compare.py reports the malformed result
        r = {"malformed": str(e)}
    if key:
        res.setdefault(tool, {})[key] = r
    else:
        res[tool] = r
json.dump(res, open(sys.argv[2], "w"), indent=1)
PY
tap_run python3 "$here/mcp/compare.py" curl "$out/curl-results.json" "$direct"

# ---- The official TypeScript SDK client. ----
if [ -n "$cache" ]; then
	mkdir -p "$PW_TMP/sdk"
	cp "$here/mcp/sdk_client.mjs" "$PW_TMP/sdk/"
	ln -s "$cache/node_modules" "$PW_TMP/sdk/node_modules"
	tap_run timeout 120 node "$PW_TMP/sdk/sdk_client.mjs" "$(pw_url /_portwing/mcp)" \
	    "$PW_TOKEN" "$cid" "$out"
	if [ -s "$out/sdk-results.json" ]; then
		tap_run python3 "$here/mcp/compare.py" sdk "$out/sdk-results.json" "$direct"
	else
		fail "sdk_client.mjs wrote its results"
	fi
else
	fail "SDK client: not run (no npm packages)"
fi

# ---- The MCP Inspector's CLI. ----
# insp TAG ARGS...: one run of the Inspector's CLI at the endpoint, with
# the token (ITOKEN overrides it); JSON output in $out/insp-TAG.out, its
# stderr in .err, exit status in irc.  Its catalog and state go to a
# HOME of its own; no proxy (the Inspector routes through one if set).
insp() {
	local tag=$1
	shift
	(cd "$PW_TMP" && env -u HTTP_PROXY -u HTTPS_PROXY -u http_proxy -u https_proxy \
	    -u ALL_PROXY -u all_proxy HOME="$PW_TMP/insp-home" \
	    timeout 60 node "$insp_bin" --cli "$(pw_url /_portwing/mcp)" --transport http \
	    --header "Authorization: Bearer ${ITOKEN:-$PW_TOKEN}" --stored-auth-only \
	    --format json "$@" </dev/null >"$out/insp-$tag.out" 2>"$out/insp-$tag.err")
	irc=$?
}
# isays TAG DESC PYEXPR: PYEXPR true of insp-TAG's output j (parsed), its
# stderr e and exit status rc.
isays() {
	if python3 - "$out/insp-$1.out" "$out/insp-$1.err" "$irc" "$3" <<'PY'
import json, sys
o, e, rc, x = open(sys.argv[1]).read(), open(sys.argv[2]).read(), int(sys.argv[3]), sys.argv[4]
try:
    j = json.loads(o)
except ValueError:
    j = None
sys.exit(0 if eval(x) else 1)
PY
	then
		ok "inspector: $2"
	else
		fail "inspector: $2"
		echo "#   exit $irc; stdout: $(head -c 400 "$out/insp-$1.out")"
		echo "#   stderr: $(head -c 400 "$out/insp-$1.err")"
	fi
}
ipkg=${cache:+$cache/node_modules/@modelcontextprotocol/inspector}
if [ -n "$cache" ] && bin=$(node -p 'require(process.argv[1]).bin["mcp-inspector"]' \
    "$ipkg/package.json" 2>/dev/null) && [ -f "$ipkg/$bin" ]; then
	insp_bin=$ipkg/$bin
	insp version --version
	iv=$(grep -o '[0-9][0-9.]*' "$out/insp-version.out" | head -1)
	check "inspector: the CLI runs ($iv, node $(node --version))" [ "$irc" = 0 ]
	insp init --method initialize
	isays init "initialize: serverInfo portwing $version, protocol 2025-11-25 (the Inspector's), tools" \
	    'rc == 0 and j["result"]["serverInfo"]["name"] == "portwing" and j["result"]["serverInfo"]["version"] == "'"$version"'" and j["result"]["protocolVersion"] == "2025-11-25" and j["result"]["capabilities"] == {"tools": {"listChanged": False}}'
	insp list --method tools/list
	isays list "tools/list: the five tools" \
	    'rc == 0 and sorted(t["name"] for t in j["result"]["tools"]) == ["container_logs", "container_stats", "host_metrics", "inspect_container", "list_containers"]'
	insp lc --method tools/call --tool-name list_containers
	isays lc "tools/call list_containers" 'rc == 0 and j["result"]["isError"] is False'
	insp ic --method tools/call --tool-name inspect_container --tool-arg "id=$cid"
	isays ic "tools/call inspect_container id=<pwmcp-run>" 'rc == 0 and j["result"]["isError"] is False'
	insp cl --method tools/call --tool-name container_logs --tool-arg "id=$cid" --tool-arg tail=5
	isays cl "tools/call container_logs id=<pwmcp-run> tail=5" 'rc == 0 and j["result"]["isError"] is False'
	insp hm --method tools/call --tool-name host_metrics
	isays hm "tools/call host_metrics" 'rc == 0 and j["result"]["isError"] is False'
	insp cs --method tools/call --tool-name container_stats --tool-arg "id=$cid"
	isays cs "tools/call container_stats id=<pwmcp-run>" 'rc == 0 and j["result"]["isError"] is False'
	# Failures: the tool's own (isError, the Inspector exits non-zero
	# and still shows the result), an unknown tool (the Inspector checks
	# tools/list first) and a wrong token.
	insp noid --method tools/call --tool-name inspect_container
	isays noid "inspect_container without id: isError, \"id is required\", exit status not 0" \
	    'rc != 0 and j["result"]["isError"] is True and j["result"]["content"] == [{"type": "text", "text": "id is required"}] and "tool_is_error" in e'
	insp missing --method tools/call --tool-name inspect_container --tool-arg id=pwmcp-no-such
	isays missing "inspect_container of a missing container: isError with Docker's 404" \
	    'rc != 0 and j["result"]["isError"] is True and j["result"]["content"][0]["text"].startswith("inspect container: docker error (status 404): No such container: pwmcp-no-such")'
	insp unknown --method tools/call --tool-name no_such_tool
	isays unknown "an unknown tool: refused (tool_not_found), exit status not 0" \
	    'rc != 0 and "tool_not_found" in e and "no_such_tool" in e'
	ITOKEN=not-the-token insp badtok --method tools/list
	isays badtok "a wrong token: refused (unauthorized), exit status not 0, no tools" \
	    'rc != 0 and "unauthorized" in e and "list_containers" not in o + e'
	python3 - "$out" "$cid" <<'PY'
import json, sys
out, cid = sys.argv[1:3]
def r(tag):
    try:
        return json.load(open("%s/insp-%s.out" % (out, tag)))["result"]
    except Exception as e:  # compare.py reports it
        return {"malformed": str(e)}
json.dump({"list_containers": r("lc"), "host_metrics": r("hm"),
           "inspect_container": {cid: r("ic")},
           "container_logs": {cid + "|5": r("cl")},
           "container_stats": {cid: r("cs")}},
          open(out + "/insp-results.json", "w"), indent=1)
PY
	tap_run python3 "$here/mcp/compare.py" inspector "$out/insp-results.json" "$direct"
else
	fail "Inspector CLI: not found in the npm cache"
fi

# ---- A signed request (Ed25519): the body authd judged is the message. ----
pw_stop
"$PW_BUILD/portwing" keygen -out "$PW_TMP/mcpkey.pem" 2>/dev/null |
    grep -v '^#' | head -1 >"$PW_TMP/mcp_keys"
chmod 600 "$PW_TMP/mcp_keys"
if pw_start AUTHORIZED_KEYS="$PW_TMP/mcp_keys" DOCKER_ROOT="$PW_DOCKER_DIR/data"; then
	sreq() { "$PW_BUILD/portwing" request -k "$PW_TMP/mcpkey.pem" \
	    -H 'Content-Type: application/json' POST "$(pw_url /_portwing/mcp)" "$1"; }
	sreq '{"jsonrpc":"2.0","id":"s1","method":"ping"}' >"$out/signed-ping.out" 2>&1
	check "signed: ping answered from the signed body" \
	    grep -qF '{"jsonrpc":"2.0","id":"s1","result":{}}' "$out/signed-ping.out"
	sreq '{"jsonrpc":"2.0","id":"s2","method":"tools/call","params":{"name":"inspect_container","arguments":{"id":"'"$cid"'"}}}' \
	    >"$out/signed-inspect.out" 2>&1
	check "signed: inspect_container through the signed body names the container" \
	    grep -qF "$cid" "$out/signed-inspect.out"
	s=$(curl -s -o /dev/null -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
	    -H 'Authorization: Bearer not-the-key' "$(pw_url /_portwing/mcp)" \
	    -d '{"jsonrpc":"2.0","id":1,"method":"ping"}')
	check "signed agent: a wrong bearer token is 401 ($s)" [ "$s" = 401 ]
	pw_stop
else
	fail "portwingd starts with AUTHORIZED_KEYS"
fi

# ---- No secret in anything an MCP client received. ----
nfiles=$(find "$out" -type f | wc -l)
check "the outputs collected ($nfiles files in $out) hold the non-secret label" \
    grep -rqF -e "$label" "$out"
check "the outputs hold pwmcp-run's envCount" grep -rqF -e '"envCount' "$out"
leaks=$(grep -rlF -e "$secret_db" -e "$secret_api" "$out" "$PW_TMP"/portwingd.*.log)
check "no secret environment value in any MCP output or the daemon's log" [ -z "$leaks" ]
[ -z "$leaks" ] || echo "#   found in: $leaks"
leaks=$(grep -rlF -e DB_PASSWORD -e API_KEY "$out")
check "no environment variable name of pwmcp-run in any MCP output" [ -z "$leaks" ]
[ -z "$leaks" ] || echo "#   found in: $leaks"
pw_done
