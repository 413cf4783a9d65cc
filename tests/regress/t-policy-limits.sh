#!/bin/bash
# t-policy-limits.sh: a profile's limits (sockguard's limits.rate and
# limits.concurrency): a token bucket per client with endpoint costs,
# refused with 429, Retry-After and sockguard's body; an in-flight cap;
# the loader's checks.
. "$(dirname "$0")/lib.sh"
trap 'pw_stop; [ -z "${EVP:-}" ] || kill "$EVP" 2>/dev/null' EXIT
F=$PW_TMP/policy.yaml
cat >"$F" <<'EOF2'
rules:
  - match: { method: "*", path: "/**" }
    action: deny
clients:
  profiles:
    - name: slow
      rules:
        - match: { method: GET, path: "/_ping" }
          action: allow
        - match: { method: GET, path: "/containers/json" }
          action: allow
        - match: { method: GET, path: "/events" }
          action: allow
      limits:
        rate:
          tokens_per_second: 2
          burst: 3
          endpoint_costs:
            - { path: "/containers/json", methods: [GET], cost: 3 }
    - name: one
      rules:
        - match: { method: GET, path: "/_ping" }
          action: allow
        - match: { method: GET, path: "/events" }
          action: allow
      limits:
        concurrency: { max_inflight: 1 }
EOF2
check "the policy with limits loads" "$PW_BUILD/portwing" policy check "$F"
pw_start WORKERS=1 POLICY_FILE="$F" TOKEN_POLICY=slow || { fail "portwingd starts"; exit 1; }
codes=$(for i in 1 2 3 4; do pw_curl -o /dev/null -w '%{http_code} ' "$(pw_url /_ping)"; done)
check "burst 3: three pings pass, the fourth is refused ($codes)" [ "$codes" = "200 200 200 429 " ]
pw_curl -D "$PW_TMP/h" -o "$PW_TMP/b" "$(pw_url /_ping)"
check "429 with Retry-After ($(grep -i retry-after "$PW_TMP/h" | tr -d '\r'))" grep -qi '^Retry-After: 1' "$PW_TMP/h"
check "... and sockguard's body ($(cat "$PW_TMP/b"))" \
    bash -c "[ \"\$(cat '$PW_TMP/b')\" = '{\"reason\":\"rate_limit_exceeded\",\"retry_after_seconds\":1}' ]"
sleep 1.6
check "tokens come back at tokens_per_second" [ "$(pw_curl -o /dev/null -w '%{http_code}' "$(pw_url /_ping)")" = 200 ]
sleep 1.6
c1=$(pw_curl -o /dev/null -w '%{http_code}' "$(pw_url /containers/json)")
c2=$(pw_curl -o /dev/null -w '%{http_code}' "$(pw_url /_ping)")
check "an endpoint cost of 3 takes the whole bucket ($c1 then $c2)" [ "$c1 $c2" = "200 429" ]
pw_stop

pw_start WORKERS=1 POLICY_FILE="$F" TOKEN_POLICY=one || { fail "portwingd starts (one)"; exit 1; }
curl -s -N -H "Authorization: Bearer $PW_TOKEN" "$(pw_url /events)" >/dev/null 2>&1 &
EVP=$!
sleep 0.5
pw_curl -o "$PW_TMP/b" -D "$PW_TMP/h" "$(pw_url /_ping)"
check "max_inflight 1: a second request while /events streams gets 429 ($(cat "$PW_TMP/b"))" \
    bash -c "head -1 '$PW_TMP/h' | grep -q ' 429' && [ \"\$(cat '$PW_TMP/b')\" = '{\"reason\":\"concurrency_cap\"}' ] && ! grep -qi retry-after '$PW_TMP/h'"
kill "$EVP" 2>/dev/null; wait "$EVP" 2>/dev/null; EVP=
for i in $(seq 1 50); do
	code=$(pw_curl -o /dev/null -w '%{http_code}' "$(pw_url /_ping)")
	[ "$code" = 200 ] && break
	sleep 0.1
done
check "... and passes once the stream is gone ($code after $i tries)" [ "$code" = 200 ]
pw_stop

bad() {
	local desc=$1 want=$2 out
	out=$("$PW_BUILD/portwing" policy check "$PW_TMP/bad.yaml" 2>&1)
	if [ $? -ne 0 ] && echo "$out" | grep -q "$want"; then ok "$desc"; else fail "$desc: $out"; fi
}
printf 'rules:\n  - match: {method: GET, path: /_ping}\n    action: allow\nclients:\n  profiles:\n    - name: p\n      rules: [{match: {method: GET, path: /_ping}, action: allow}]\n      limits: {rate: {tokens_per_second: 10, burst: 5}}\n' >"$PW_TMP/bad.yaml"
bad "a burst below tokens_per_second is refused" "burst"
printf 'rules:\n  - match: {method: GET, path: /_ping}\n    action: allow\nclients:\n  profiles:\n    - name: p\n      rules: [{match: {method: GET, path: /_ping}, action: allow}]\n      limits: {rate: {tokens_per_second: 1, endpoint_costs: [{path: /build, cost: 5}]}}\n' >"$PW_TMP/bad.yaml"
bad "a cost above the burst is refused" "above the burst"
printf 'rules:\n  - match: {method: GET, path: /_ping}\n    action: allow\nclients:\n  profiles:\n    - name: p\n      rules: [{match: {method: GET, path: /_ping}, action: allow}]\n      limits: {concurrency: {max_inflight: 0}}\n' >"$PW_TMP/bad.yaml"
bad "max_inflight 0 is refused" "max_inflight"
printf 'rules:\n  - match: {method: GET, path: /_ping}\n    action: allow\nclients:\n  profiles:\n    - name: p\n      rules: [{match: {method: GET, path: /_ping}, action: allow}]\n      limits: {rate: {tokens_per_secnd: 1}}\n' >"$PW_TMP/bad.yaml"
bad "a misspelt limits key is refused" "tokens_per_secnd"
pw_done
