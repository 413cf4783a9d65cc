#!/bin/bash
# t-policy-own-routes.sh: under a policy, portwing's own routes that call
# Docker are judged as the Docker call they make, so a profile cannot
# reach through MCP, the generic adapter or the Drydock routes what the
# Docker API refuses it.  POLICY=autoheal allows /containers/json,
# /containers/*/json and /events, and denies logs, stats, /info and
# DELETE.  With ownership on, the inventory routes are refused outright.
. "$(dirname "$0")/lib.sh"
D() { pw_docker_direct "$@"; }
cleanup() { pw_stop; D rm -f pwop-a pwop-new >/dev/null 2>&1; }
trap cleanup EXIT
cleanup
D run -d --name pwop-a "$PW_IMAGE" sh -c 'echo op-log-line; sleep 600' >/dev/null ||
    fail "container pwop-a started"
id=$(D inspect -f '{{.Id}}' pwop-a)

# mcp TOOL [ARGS-JSON]: the tool result, compact.
mcp() {
	pw_curl -X POST -H 'Content-Type: application/json' "$(pw_url /_portwing/mcp)" \
	    -d "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":\"$1\",\"arguments\":${2:-{\}}}}"
}
code() { local m=$1 p=$2; shift 2; pw_curl -o "$PW_TMP/body" -w '%{http_code}' -X "$m" "$@" "$(pw_url "$p")"; }
# tool_is OUT yes|no [PATTERN] [ABSENT]: the result's isError, what it
# holds and what it must not.
tool_is() {
	python3 -c 'import json,sys; r=json.loads(sys.argv[1])["result"]; sys.exit(0 if r["isError"] == (sys.argv[2] == "yes") else 1)' "$1" "$2" || return 1
	[ -z "${3:-}" ] || grep -q -- "$3" <<<"$1" || return 1
	[ -z "${4:-}" ] || ! grep -q -- "$4" <<<"$1"
}
denials() { pw_curl "$(pw_url '/_portwing/audit?limit=50')" | grep -o '"proxy_denied"' | wc -l; }

for adapter in drydock generic; do
	pw_start ADAPTER=$adapter POLICY=autoheal || { fail "portwingd starts ($adapter, autoheal)"; exit 1; }
	out=$(mcp list_containers)
	check "$adapter: MCP list_containers is allowed (GET /containers/json)" tool_is "$out" no "$id"
	out=$(mcp inspect_container "{\"id\":\"pwop-a\"}")
	check "$adapter: MCP inspect_container is allowed (GET /containers/*/json)" tool_is "$out" no "$id"
	for t in container_logs container_stats host_metrics; do
		out=$(mcp $t "{\"id\":\"pwop-a\"}")
		check "$adapter: MCP $t is a tool error naming the policy" \
		    tool_is "$out" yes 'denied by the agent' op-log-line
	done
	if [ $adapter = drydock ]; then
		s=$(code GET "/api/containers/$id/logs?tail=5")
		check "drydock: /api/containers/ID/logs is refused as GET /containers/ID/logs ($s)" \
		    bash -c "[ $s = 403 ] && ! grep -q op-log-line '$PW_TMP/body'"
		s=$(code DELETE "/api/containers/$id")
		check "drydock: DELETE /api/containers/ID is refused as DELETE /containers/ID ($s)" [ "$s" = 403 ]
		check "drydock: and the container is still there" D inspect pwop-a
		s=$(code GET /api/containers)
		check "drydock: GET /api/containers is allowed ($s)" [ "$s" = 200 ]
	else
		s=$(code GET "/api/v1/containers/$id/logs?tail=5")
		check "generic: /api/v1/containers/ID/logs is refused ($s)" \
		    bash -c "[ $s = 403 ] && ! grep -q op-log-line '$PW_TMP/body'"
		s=$(code GET /api/v1/containers)
		check "generic: GET /api/v1/containers is allowed ($s)" [ "$s" = 200 ]
	fi
	n=$(denials)
	check "$adapter: the refusals are audited as proxy_denied ($n)" [ "$n" -ge 4 ]
	pw_stop
done

# dockeragent's routes: the same judgement, in dockeragent's envelope.
pw_start ADAPTER=dockeragent POLICY=autoheal || { fail "portwingd starts (dockeragent, autoheal)"; exit 1; }
K="X-API-Key: $PW_TOKEN"
s=$(code GET /api/v1/containers -H "$K")
check "dockeragent: GET /api/v1/containers is allowed ($s)" bash -c "[ $s = 200 ] && grep -q '$id' '$PW_TMP/body'"
s=$(code GET /api/v1/containers/pwop-a -H "$K")
check "dockeragent: GET /api/v1/containers/ID is allowed as GET /containers/ID/json ($s)" [ "$s" = 200 ]
s=$(code GET /api/v1/containers/pwop-a/logs -H "$K")
check "dockeragent: logs refused in the envelope ($s)" \
    bash -c "[ $s = 403 ] && grep -q '\"status\":403' '$PW_TMP/body' && ! grep -q op-log-line '$PW_TMP/body'"
s=$(code POST /api/v1/containers/pwop-a/stop -H "$K")
check "dockeragent: stop refused as POST /containers/ID/stop ($s)" [ "$s" = 403 ]
s=$(code DELETE "/api/v1/containers/pwop-a?force=true" -H "$K")
check "dockeragent: remove refused as DELETE /containers/ID ($s)" [ "$s" = 403 ]
s=$(code POST /api/v1/containers -H "$K" -H 'Content-Type: application/json' -d "{\"image\":\"$PW_IMAGE\",\"name\":\"pwop-new\"}")
check "dockeragent: create refused as POST /containers/create ($s)" [ "$s" = 403 ]
check "dockeragent: the container still runs" [ "$(D inspect -f '{{.State.Running}}' pwop-a)" = true ]
check "dockeragent: and none was created" bash -c "! docker -H unix://$DOCKER_SOCK inspect pwop-new >/dev/null 2>&1"
pw_stop
# A policy that allows creating but inspects the body: this route cannot
# hand the body to policyd, so it is refused rather than let through.
pw_start ADAPTER=dockeragent POLICY=portwing || { fail "portwingd starts (dockeragent, portwing preset)"; exit 1; }
s=$(code POST /api/v1/containers -H "X-API-Key: $PW_TOKEN" -H 'Content-Type: application/json' -d "{\"image\":\"$PW_IMAGE\",\"name\":\"pwop-new\"}")
check "dockeragent: create under an inspecting policy is refused, not uninspected ($s: $(head -c 200 "$PW_TMP/body"))" \
    bash -c "[ $s = 403 ] && grep -q 'inspects the body' '$PW_TMP/body' && ! docker -H unix://$DOCKER_SOCK inspect pwop-new >/dev/null 2>&1"
pw_stop

# Without a policy the same calls are served.
pw_start || { fail "portwingd starts without a policy"; exit 1; }
out=$(mcp container_logs "{\"id\":\"pwop-a\",\"tail\":5}")
check "no policy: MCP container_logs answers the log line" tool_is "$out" no op-log-line
pw_stop

# Ownership: the inventory cannot apply a per-owner view, so it is refused.
cat >"$PW_TMP/owner.yaml" <<'EOF2'
ownership:
  owner: team-a
rules:
  - match: { method: GET, path: "/containers/json" }
    action: allow
  - match: { method: GET, path: "/containers/*/json" }
    action: allow
  - match: { method: GET, path: "/_ping" }
    action: allow
  - match: { method: "*", path: "/**" }
    action: deny
EOF2
pw_start POLICY_FILE="$PW_TMP/owner.yaml" || { fail "portwingd starts with ownership"; exit 1; }
out=$(mcp list_containers)
check "ownership: MCP list_containers is refused, not listing others' containers" \
    tool_is "$out" yes 'filters what' "$id"
s=$(code GET /api/containers)
check "ownership: GET /api/containers is refused ($s)" \
    bash -c "[ $s = 403 ] && ! grep -q '$id' '$PW_TMP/body'"
pw_stop
pw_done
