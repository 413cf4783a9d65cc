#!/bin/bash
# t-auth-token.sh: tokens (aliases, X-API-Key), Argon2id token hashes
# (interoperable with python3-argon2, cached after success, derivations
# off authd's event loop), the failed-attempt limiter with X-Forwarded-For
# trusted only from TRUSTED_PROXIES, and key enrollment end to end.
. "$(dirname "$0")/lib.sh"
here=$(cd "$(dirname "$0")" && pwd)
trap pw_stop EXIT
PY=/usr/bin/python3
[ -x $PY ] || PY=python3
export PYTHONPATH=$here
st() { curl -s -o /dev/null -w '%{http_code}' "$@"; }

# dockeragent's alias: API_KEY and the X-API-Key header.
PW_TOKEN=api-key-1 pw_start TOKEN= API_KEY=api-key-1 || fail "API_KEY start"
check "API_KEY configures the token; X-API-Key presents it" [ "$(st -H 'X-API-Key: api-key-1' "$(pw_url /_ping)")" = 200 ]
check "X-API-Key with a wrong value is refused" [ "$(st -H 'X-API-Key: nope' "$(pw_url /_ping)")" = 401 ]
pw_stop

# TOKEN and TOKEN_HASH together: refused at start.
H=$($PY -c 'import argon2; print(argon2.PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1).hash("hashed-tok"))')
out=$(env -i PATH="$PATH" TOKEN=x TOKEN_HASH="$H" DOCKER_SOCKET="$DOCKER_SOCK" "$PW_BUILD/portwingd" -n 2>&1); rc=$?
check "TOKEN plus TOKEN_HASH refuses to start ($out)" bash -c "[ $rc = 1 ] && echo \"\$1\" | grep -q 'TOKEN and TOKEN_HASH are mutually exclusive'" _ "$out"
out=$(env -i PATH="$PATH" TOKEN_HASH='$argon2id$v=19$m=19456,t=2,p=1$AAAA$AAAA==' DOCKER_SOCKET="$DOCKER_SOCK" "$PW_BUILD/portwingd" -n 2>&1); rc=$?
check "malformed TOKEN_HASH refused ($out)" bash -c "[ $rc = 1 ] && echo \"\$1\" | grep -q TOKEN_HASH" _ "$out"

# A hash made by python3-argon2 works with portwing.
PW_TOKEN=hashed-tok pw_start TOKEN= TOKEN_HASH="$H" || fail "TOKEN_HASH start"
check "python3-argon2's PHC string verifies the token" [ "$(st -H 'Authorization: Bearer hashed-tok' "$(pw_url /_ping)")" = 200 ]
check "...and refuses another" [ "$(st --interface 127.0.3.1 -H 'Authorization: Bearer hashed-tol' "$(pw_url /_ping)")" = 401 ]
pw_stop
printf '%s\n' "$H" >"$PW_TMP/hashfile"
PW_TOKEN=hashed-tok pw_start TOKEN= TOKEN_HASH_FILE="$PW_TMP/hashfile" || fail "TOKEN_HASH_FILE start"
check "TOKEN_HASH_FILE (trimmed) works" [ "$(st -H 'Authorization: Bearer hashed-tok' "$(pw_url /_ping)")" = 200 ]
pw_stop

# Slow parameters make derivations easy to see.  Cheap requests (the
# cached token) keep flowing while ten failed attempts are derived.
H=$($PY -c 'import argon2; print(argon2.PasswordHasher(time_cost=6, memory_cost=65536, parallelism=1).hash("slow-tok"))')
PW_TOKEN=slow-tok pw_start TOKEN= TOKEN_HASH="$H" || fail "slow hash start"
out=$($PY - "$PW_PORT" <<'PY'
import http.client, sys, threading, time
port = int(sys.argv[1])
def get(tok, src):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=30, source_address=(src, 0))
    t = time.time()
    c.request("GET", "/_ping", headers={"Authorization": "Bearer " + tok})
    r = c.getresponse(); r.read()
    return r.status, time.time() - t
# Warm: the first good request pays one derivation, later ones a hash.
s1, t_cold = get("slow-tok", "127.0.4.1")
bad = []
def attacker(i):
    bad.append(get("wrong-%d" % i, "127.0.5.%d" % (i + 1)))
ts = [threading.Thread(target=attacker, args=(i,)) for i in range(10)]
[t.start() for t in ts]
time.sleep(0.05)
good = [get("slow-tok", "127.0.4.1") for _ in range(20)]
[t.join() for t in ts]
derived = [d for s, d in bad if s == 401]
refused = [d for s, d in bad if s == 429]
print("cold=%.3f derived=%d refused=%d min_derivation=%.3f good_ok=%d max_good=%.3f"
      % (t_cold, len(derived), len(refused), min(derived) if derived else -1,
         sum(1 for s, _ in good if s == 200), max(d for _, d in good)))
PY
)
echo "# $out"
eval "$(echo "$out" | tr ' ' '\n' | sed 's/^/v_/')"
check "at most 2 derivations at once: 2 failed by derivation, 8 refused with 429" \
    sh -c '[ "$1" = 2 ] && [ "$2" = 8 ]' _ "$v_derived" "$v_refused"
check "a failed attempt pays the full derivation (${v_min_derivation} s)" python3 -c "import sys; sys.exit(0 if $v_min_derivation >= 0.08 else 1)"
check "20 cached-token requests all succeed during the derivations" [ "$v_good_ok" = 20 ]
check "none of them waited on a derivation (max ${v_max_good} s)" python3 -c "import sys; sys.exit(0 if $v_max_good < $v_min_derivation / 2 else 1)"
out=$(curl -s --interface 127.0.6.1 -H 'Authorization: Bearer x' "$(pw_url /_ping)")
pw_stop

# The limiter: 10 failures per address per minute, then 429 before any
# credential is checked; other addresses are unaffected.
pw_start || fail "limiter start"
for i in $(seq 1 10); do st --interface 127.0.7.1 -H 'Authorization: Bearer bad' "$(pw_url /_ping)" >/dev/null; done
body=$(curl -s --interface 127.0.7.1 -w ' %{http_code}' -H "Authorization: Bearer $PW_TOKEN" "$(pw_url /_ping)" | tr -d '\n')
check "11th attempt within a minute: 429 even with the right token ($body)" [ "$body" = "too many failed attempts 429" ]
check "no Retry-After on the 429" bash -c "! curl -s -D - -o /dev/null --interface 127.0.7.1 '$(pw_url /_ping)' | grep -qi retry-after"
check "a good credential from another address still works" [ "$(st --interface 127.0.7.2 -H "Authorization: Bearer $PW_TOKEN" "$(pw_url /_ping)")" = 200 ]
# Forwarding headers are ignored from untrusted peers.
for i in $(seq 1 10); do st --interface 127.0.7.3 -H 'X-Forwarded-For: 198.51.100.1' -H 'Authorization: Bearer bad' "$(pw_url /_ping)" >/dev/null; done
check "X-Forwarded-For ignored without TRUSTED_PROXIES: the peer is blocked" \
    [ "$(st --interface 127.0.7.3 -H 'X-Forwarded-For: 198.51.100.99' -H "Authorization: Bearer $PW_TOKEN" "$(pw_url /_ping)")" = 429 ]
pw_stop
pw_start TRUSTED_PROXIES=127.0.8.1/32 || fail "trusted proxies start"
for i in $(seq 1 10); do st --interface 127.0.8.1 -H 'X-Forwarded-For: 198.51.100.1, 127.0.8.1' -H 'Authorization: Bearer bad' "$(pw_url /_ping)" >/dev/null; done
check "via a trusted proxy the forwarded client is blocked" \
    [ "$(st --interface 127.0.8.1 -H 'X-Forwarded-For: 198.51.100.1' -H "Authorization: Bearer $PW_TOKEN" "$(pw_url /_ping)")" = 429 ]
check "...while another forwarded client through the same proxy is not" \
    [ "$(st --interface 127.0.8.1 -H 'X-Forwarded-For: 198.51.100.2' -H "Authorization: Bearer $PW_TOKEN" "$(pw_url /_ping)")" = 200 ]
check "X-Real-IP names the client when X-Forwarded-For has none" \
    [ "$(st --interface 127.0.8.1 -H 'X-Real-IP: 198.51.100.1' -H "Authorization: Bearer $PW_TOKEN" "$(pw_url /_ping)")" = 429 ]
pw_stop
out=$(env -i PATH="$PATH" TOKEN=x TRUSTED_PROXIES=10.0.0.0/33 DOCKER_SOCKET="$DOCKER_SOCK" "$PW_BUILD/portwingd" -n 2>&1); rc=$?
check "malformed TRUSTED_PROXIES refused ($out)" bash -c "[ $rc = 1 ] && echo \"\$1\" | grep -q TRUSTED_PROXIES" _ "$out"

# Enrollment, end to end.
ak=$PW_TMP/enrolled_keys
: >"$ak"; chmod 640 "$ak"
enroll() { curl -s --interface "$1" -w ' %{http_code}' -d "$2" "$(pw_url /api/portwing/enroll)" | tr -d '\n'; }
PW_TOKEN=unused pw_start TOKEN= AUTHORIZED_KEYS="$ak" ENROLLMENT_TOKEN=enroll-secret STATE_DIR="$PW_TMP/state" || fail "enrollment start"
$PY -c "import sys; sys.path.insert(0,'$here'); import pwsign; pwsign.new_key('$PW_TMP/ek.pem')"
pub=$($PY -c "import sys,base64; sys.path.insert(0,'$here'); import pwsign; print(base64.b64encode(pwsign.raw_pub(pwsign.load('$PW_TMP/ek.pem'))).decode())")
kid=$($PY -c "import sys; sys.path.insert(0,'$here'); import pwsign; print(pwsign.key_id(pwsign.load('$PW_TMP/ek.pem')))")
check "GET on the enroll route is 405" [ "$(st "$(pw_url /api/portwing/enroll)")" = 405 ]
check "wrong enrollment token: 401 unauthorized" [ "$(enroll 127.0.9.1 "{\"enrollment_token\":\"nope\",\"public_key\":\"$pub\"}")" = "unauthorized 401" ]
check "bad JSON: 400" [ "$(enroll 127.0.9.2 'not json')" = "invalid JSON 400" ]
check "short key: 400 with its size" [ "$(enroll 127.0.9.2 '{"enrollment_token":"enroll-secret","public_key":"AAAA"}')" = "public_key: expected 32 bytes, got 3 400" ]
out=$(enroll 127.0.9.3 "{\"enrollment_token\":\"enroll-secret\",\"public_key\":\"$pub\"}")
check "enrollment succeeds after failures (not burned by them) ($out)" [ "$out" = "{\"key_id\":\"$kid\",\"comment\":\"enrolled:$kid\"} 200" ]
check "the key line is in the file, mode kept" bash -c "grep -qx 'ed25519 $pub enrolled:$kid' '$ak' && [ \$(stat -c %a '$ak') = 640 ]"
out=$($PY - "$PW_PORT" "$PW_TMP" <<'PY'
import sys, pwsign
port, d = int(sys.argv[1]), sys.argv[2]
k = pwsign.load(d + "/ek.pem")
print(pwsign.send(port, "GET", "/_ping", pwsign.headers(k, "GET", "/_ping"), source="127.0.9.4")[0])
PY
)
check "the enrolled key works at once, without a restart" [ "$out" = 200 ]
check "second enrollment: 401 already used" [ "$(enroll 127.0.9.5 "{\"enrollment_token\":\"enroll-secret\",\"public_key\":\"$pub\"}")" = "enrollment token already used 401" ]
pw_stop
PW_TOKEN=unused pw_start TOKEN= AUTHORIZED_KEYS="$ak" ENROLLMENT_TOKEN=enroll-secret STATE_DIR="$PW_TMP/state" || fail "enrollment restart"
out=$(enroll 127.0.9.6 "{\"enrollment_token\":\"enroll-secret\",\"public_key\":\"$pub\"}")
check "after a restart the token is still burned ($out)" [ "$out" = "enrollment token already used 401" ]
for i in $(seq 1 10); do enroll 127.0.9.7 '{"enrollment_token":"x","public_key":"y"}' >/dev/null; done
check "enrollment is rate-limited with the auth limiter" [ "$(enroll 127.0.9.7 '{}')" = "too many requests 429" ]
pw_stop
out=$(env -i PATH="$PATH" TOKEN=x ENROLLMENT_TOKEN=e DOCKER_SOCKET="$DOCKER_SOCK" "$PW_BUILD/portwingd" -n 2>&1); rc=$?
check "ENROLLMENT_TOKEN without AUTHORIZED_KEYS refused" bash -c "[ $rc = 1 ] && echo \"\$1\" | grep -q 'ENROLLMENT_TOKEN needs AUTHORIZED_KEYS'" _ "$out"
pw_done
