#!/bin/bash
# t-capabilities.sh: every capability GET /_portwing/info advertises is
# backed by a route that answers (issue 10, item 9).  Each name maps to a
# probe below; a name with no probe fails, so a capability cannot be
# advertised before the route that serves it exists (Portwing's
# "compose" is the case in point: portwing has no compose routes).
# Run once per adapter: drydock (the default), generic and dockeragent.
. "$(dirname "$0")/lib.sh"
D() { pw_docker_direct "$@"; }
cleanup() { pw_stop; D rm -f pwcap-a >/dev/null 2>&1; }
trap cleanup EXIT
cleanup

D run -d --name pwcap-a "$PW_IMAGE" sh -c 'echo cap-log-line; sleep 600' >/dev/null ||
    fail "container pwcap-a started"
id=$(D inspect -f '{{.Id}}' pwcap-a)
# code METHOD PATH [curl args...]: the HTTP status of an authenticated call.
code() {
	local m=$1 p=$2; shift 2
	pw_curl -o "$PW_TMP/body" -w '%{http_code}' -X "$m" "$@" "$(pw_url "$p")"
}

for adapter in drydock generic dockeragent; do
pw_start ADAPTER=$adapter || { fail "portwingd starts ($adapter)"; exit 1; }
info=$(pw_curl "$(pw_url /_portwing/info)")
caps=$(printf '%s' "$info" | python3 -c 'import json,sys; print("\n".join(json.load(sys.stdin)["capabilities"]))') ||
    { fail "/_portwing/info has a capabilities list: $info"; exit 1; }
check "$adapter: capabilities list is not empty" [ -n "$caps" ]
check "$adapter: compose is not advertised (no compose route)" bash -c "! grep -qx compose <<<\"\$1\"" _ "$caps"
check "$adapter: no capability is listed twice" bash -c "[ \"\$(sort <<<\"\$1\" | uniq -d)\" = '' ]" _ "$caps"
case $adapter in
generic) want="containers logs version" ;;
dockeragent) want="dockeragent" ;;
*) want="dd:container-sync dd:logs" ;;
esac
for c in $want mcp; do
	check "$adapter: $c is advertised" grep -qx "$c" <<<"$caps"
done

for c in $caps; do
	case $c in
	exec)
		s=$(code POST "/containers/$id/exec" -H 'Content-Type: application/json' \
		    -d '{"Cmd":["echo","cap-exec"],"AttachStdout":true}')
		eid=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["Id"])' "$PW_TMP/body" 2>/dev/null)
		s2=$(code POST "/exec/$eid/start" -H 'Content-Type: application/json' -d '{"Detach":false,"Tty":false}')
		check "capability exec: exec create $s, start $s2 with the output" \
		    bash -c "[ $s = 201 ] && [ $s2 = 200 ] && grep -q cap-exec '$PW_TMP/body'"
		;;
	metrics)
		s=$(code GET /metrics)
		check "capability metrics: GET /metrics answers $s with portwing series" \
		    bash -c "[ $s = 200 ] && grep -q '^portwing_' '$PW_TMP/body'"
		;;
	events)
		now=$(date +%s)
		s=$(code GET "/events?since=$((now - 60))&until=$now")
		check "capability events: GET /events answers $s" [ "$s" = 200 ]
		;;
	mcp)
		s=$(code POST /_portwing/mcp -H 'Content-Type: application/json' \
		    -d '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"list_containers"}}')
		check "capability mcp: list_containers answers $s and lists pwcap-a" \
		    bash -c "[ $s = 200 ] && grep -q '$id' '$PW_TMP/body'"
		;;
	dd:container-sync)
		s=$(code GET /api/containers)
		check "capability dd:container-sync: GET /api/containers answers $s and lists pwcap-a" \
		    bash -c "[ $s = 200 ] && grep -q '$id' '$PW_TMP/body'"
		;;
	dd:logs)
		s=$(code GET "/api/containers/$id/logs?tail=10")
		check "capability dd:logs: container logs answer $s with its output" \
		    bash -c "[ $s = 200 ] && grep -q cap-log-line '$PW_TMP/body'"
		;;
	containers)
		s=$(code GET /api/v1/containers)
		check "capability containers: GET /api/v1/containers answers $s and lists pwcap-a" \
		    bash -c "[ $s = 200 ] && grep -q '$id' '$PW_TMP/body'"
		;;
	logs)
		s=$(code GET "/api/v1/containers/$id/logs?tail=10")
		check "capability logs: GET /api/v1/containers/{id}/logs answers $s with its output" \
		    bash -c "[ $s = 200 ] && grep -q cap-log-line '$PW_TMP/body'"
		;;
	dockeragent)
		s=$(code GET "/api/v1/containers?all=true" -H "X-API-Key: $PW_TOKEN")
		check "capability dockeragent: GET /api/v1/containers answers $s and lists pwcap-a" \
		    bash -c "[ $s = 200 ] && grep -q '\"containers\"' '$PW_TMP/body' && grep -q '$id' '$PW_TMP/body'"
		;;
	version)
		s=$(code GET /api/v1/version)
		check "capability version: GET /api/v1/version answers $s for the generic adapter" \
		    bash -c "[ $s = 200 ] && grep -q '\"adapter\":\"generic\"' '$PW_TMP/body'"
		;;
	*)
		fail "capability $c is advertised but no route backs it"
		;;
	esac
done
pw_stop
done
pw_done
