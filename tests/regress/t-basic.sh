#!/bin/bash
# t-basic.sh: own endpoints, authentication, and ordinary Docker calls
# through the proxy, with curl and the docker CLI.
. "$(dirname "$0")/lib.sh"
trap pw_stop EXIT
pw_start || { fail "portwingd starts"; exit 1; }

# Liveness without auth; GET and HEAD.
body=$(curl -s -m 5 "$(pw_url /health)")
check "/health answers ok without credentials" \
    python3 -c 'import json,sys; d=json.loads(sys.argv[1]); assert d["status"]=="ok" and d["live"] is True and d["ready"] is False and d["docker"]=="unknown" and d["mode"]=="standard" and d["controller"]=="not_applicable"' "$body"
code=$(curl -s -o /dev/null -w '%{http_code}' -I -m 5 "$(pw_url /health)")
check "HEAD /health is 200" [ "$code" = 200 ]

# Readiness probes Docker.
for p in /ready /_portwing/health; do
	body=$(curl -s -m 5 "$(pw_url $p)")
	check "$p is healthy with Docker up" \
	    python3 -c 'import json,sys; d=json.loads(sys.argv[1]); assert d["status"]=="healthy" and d["ready"] is True and d["docker"]=="connected"' "$body"
done

# Wrong method on our own routes: 405, never Docker.
for p in /health /_portwing/health /ready; do
	code=$(curl -s -o /dev/null -w '%{http_code}' -m 5 -X POST "$(pw_url $p)")
	check "POST $p is 405" [ "$code" = 405 ]
done
check "405 names the allowed methods" bash -c "curl -s -D - -o /dev/null -X DELETE '$(pw_url /health)' | grep -qi '^Allow: GET, HEAD'"
code=$(pw_curl -o /dev/null -w '%{http_code}' "$(pw_url /_portwing/unknown)")
check "unknown /_portwing/ path is 404 (not proxied)" [ "$code" = 404 ]

# Authentication: every header of the reference's precedence list.
out=$(curl -s -m 5 -D - "$(pw_url /_ping)")
check "no credential: 401 with the reference body" \
    bash -c 'echo "$1" | grep -q "^HTTP/1.1 401" && echo "$1" | grep -q "^unauthorized$" && echo "$1" | grep -qi "^content-type: text/plain"' _ "$out"
for h in "Authorization: Bearer $PW_TOKEN" "Authorization: bearer $PW_TOKEN" \
    "X-Portwing-Token: $PW_TOKEN" "X-Dd-Agent-Secret: $PW_TOKEN"; do
	code=$(curl -s -o /dev/null -w '%{http_code}' -m 5 -H "$h" "$(pw_url /_ping)")
	check "token via ${h%%:*} accepted" [ "$code" = 200 ]
done
code=$(curl -s -o /dev/null -w '%{http_code}' -m 5 -H "Authorization: Bearer wrong" \
    -H "X-Portwing-Token: $PW_TOKEN" "$(pw_url /_ping)")
check "a wrong Bearer is not retried against other headers" [ "$code" = 401 ]
code=$(curl -s -o /dev/null -w '%{http_code}' -m 5 -H "Authorization: Bearer ${PW_TOKEN}x" "$(pw_url /_ping)")
check "token with an extra byte refused" [ "$code" = 401 ]
code=$(curl -s -o /dev/null -w '%{http_code}' -m 5 -H "Authorization: Basic $PW_TOKEN" "$(pw_url /_ping)")
check "non-Bearer Authorization refused" [ "$code" = 401 ]

# Ordinary calls reach Docker, with and without a version prefix.
check "GET /_ping via proxy" [ "$(pw_curl "$(pw_url /_ping)")" = OK ]
v=$(pw_curl "$(pw_url /version)")
check "GET /version via proxy" python3 -c 'import json,sys; assert json.loads(sys.argv[1])["ApiVersion"]' "$v"
v=$(pw_curl "$(pw_url /v1.41/containers/json?all=1)")
check "GET /v1.41/containers/json?all=1 via proxy" python3 -c 'import json,sys; assert isinstance(json.loads(sys.argv[1]), list)' "$v"
direct=$(curl -s --unix-socket "$DOCKER_SOCK" http://d/info | python3 -c 'import json,sys; print(json.load(sys.stdin)["ID"])')
via=$(pw_curl "$(pw_url /info)" | python3 -c 'import json,sys; print(json.load(sys.stdin)["ID"])')
check "GET /info matches the socket" [ "$direct" = "$via" ]
code=$(pw_curl -o /dev/null -w '%{http_code}' "$(pw_url /containers/does-not-exist/json)")
check "Docker's 404 is passed through" [ "$code" = 404 ]

# Keep-alive: two requests on one connection.
out=$(curl -sv -m 5 -H "Authorization: Bearer $PW_TOKEN" "$(pw_url /_ping)" "$(pw_url /version)" 2>&1)
check "keep-alive reuses the connection" bash -c 'echo "$1" | grep -q "Re-using existing connection"' _ "$out"

# Request body through the proxy (create then remove a container).
id=$(pw_curl -X POST -H 'Content-Type: application/json' \
    -d "{\"Image\":\"$PW_IMAGE\",\"Cmd\":[\"true\"]}" \
    "$(pw_url /containers/create)" | python3 -c 'import json,sys; print(json.load(sys.stdin)["Id"])')
check "POST /containers/create with a body" [ -n "$id" ]
code=$(pw_curl -o /dev/null -w '%{http_code}' -X DELETE "$(pw_url /containers/$id)")
check "DELETE /containers/{id}" [ "$code" = 204 ]
# Chunked request body.
id=$(printf '{"Image":"%s","Cmd":["true"]}' "$PW_IMAGE" | pw_curl -X POST \
    -H 'Content-Type: application/json' -H 'Transfer-Encoding: chunked' \
    --data-binary @- "$(pw_url /containers/create)" | python3 -c 'import json,sys; print(json.load(sys.stdin)["Id"])')
check "chunked request body reaches Docker" [ -n "$id" ]
pw_curl -o /dev/null -X DELETE "$(pw_url /containers/$id?force=1)"

# The docker CLI through the agent (token from config.json HttpHeaders).
out=$(pw_docker version --format '{{.Server.APIVersion}}' 2>&1)
check "docker version through portwing" [ "$out" = "$(pw_docker_direct version --format '{{.Server.APIVersion}}')" ]
check "docker ps through portwing" [ "$(pw_docker ps -a -q | sort)" = "$(pw_docker_direct ps -a -q | sort)" ]
out=$(pw_docker run --rm "$PW_IMAGE" echo hello-through-portwing 2>&1)
check "docker run --rm through portwing" [ "$out" = hello-through-portwing ]
pw_done
