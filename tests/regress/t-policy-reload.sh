#!/bin/bash
# t-policy-reload.sh: SIGHUP reads the policy file again.  A good file
# becomes a new generation at once, for the proxy (rules) and policyd
# (bodies) alike; a bad one changes nothing and the log says why.  A
# restarted policyd gets the policy in force; requests that need it
# while it is down fail closed (503), never unjudged.
. "$(dirname "$0")/lib.sh"
trap 'pw_stop' EXIT
F=$PW_TMP/policy.yaml
cat >"$F" <<'EOF2'
rules:
  - match: { method: GET, path: "/_ping" }
    action: allow
  - match: { method: POST, path: "/containers/create" }
    action: allow
EOF2
pw_start WORKERS=1 POLICY_FILE="$F" || { fail "portwingd starts"; exit 1; }
st() { pw_curl -o /dev/null -w '%{http_code}' "$@"; }
priv='{"Image":"pwtest-none","HostConfig":{"Privileged":true}}'
check "generation 1: /_ping allowed" [ "$(st "$(pw_url /_ping)")" = 200 ]
check "generation 1: /containers/json denied" [ "$(st "$(pw_url /containers/json)")" = 403 ]
check "generation 1: a privileged create denied by policyd" \
    [ "$(st -X POST -H 'Content-Type: application/json' -d "$priv" "$(pw_url /containers/create)")" = 403 ]

cat >"$F" <<'EOF2'
rules:
  - match: { method: GET, path: "/_ping" }
    action: allow
  - match: { method: GET, path: "/containers/json" }
    action: allow
  - match: { method: POST, path: "/containers/create" }
    action: allow
request_body:
  container_create:
    allow_privileged: true
EOF2
kill -HUP "$PW_PID"
for i in $(seq 1 50); do grep -q 'generation 2' "$PW_LOG" && break; sleep 0.1; done
check "SIGHUP: generation 2 loaded" grep -q 'policy .* loaded (generation 2)' "$PW_LOG"
sleep 0.3
check "generation 2: /containers/json allowed" [ "$(st "$(pw_url /containers/json)")" = 200 ]
code=$(st -X POST -H 'Content-Type: application/json' -d "$priv" "$(pw_url /containers/create)")
check "generation 2: policyd applies the new body settings (a privileged create reaches Docker: $code)" \
    [ "$code" = 404 ]

printf 'rules:\n  - match: { method: GET, path: "/x%%2e" }\n    action: allow\nbogus_key: 1\n' >"$F"
kill -HUP "$PW_PID"
for i in $(seq 1 50); do grep -q 'keeping the running configuration and policy' "$PW_LOG" && break; sleep 0.1; done
check "a bad file: the reload is refused and the log says why" \
    grep -q 'reload failed, keeping the running configuration and policy: policy: .*policy.yaml' "$PW_LOG"
check "... the old policy stays: /containers/json still allowed" [ "$(st "$(pw_url /containers/json)")" = 200 ]
check "... and no generation 3" bash -c "! grep -q 'generation 3' '$PW_LOG'"

# policyd killed: the bodies it judges fail closed until it is back.
pd=$(pw_children policyd)
check "policyd runs (pid $pd)" [ -n "$pd" ]
kill -STOP "$pd"
code=$(pw_curl -m 20 -o /dev/null -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
    -d '{"Image":"pwtest-none"}' "$(pw_url /containers/create)")
check "policyd not answering: a create gets 503 after the bound ($code)" [ "$code" = 503 ]
check "... while rules-only requests still pass" [ "$(st "$(pw_url /_ping)")" = 200 ]
kill -KILL "$pd"
for i in $(seq 1 100); do
	n=$(pw_children policyd)
	[ -n "$n" ] && [ "$n" != "$pd" ] && break
	sleep 0.1
done
sleep 0.5
code=$(st -X POST -H 'Content-Type: application/json' -d "$priv" "$(pw_url /containers/create)")
check "a restarted policyd judges under the policy in force (generation 2: $code)" [ "$code" = 404 ]
pw_done
