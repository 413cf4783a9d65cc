#!/bin/bash
# t-cli-sign.sh: the portwing CLI's credential tools and signing client:
# hash-token and keygen interoperate with independent implementations,
# `portwing request` signs, and the docker CLI works against an agent that
# accepts only Ed25519 keys through `portwing connect`.
. "$(dirname "$0")/lib.sh"
here=$(cd "$(dirname "$0")" && pwd)
trap 'pw_stop; kill $conn 2>/dev/null' EXIT
PY=/usr/bin/python3
[ -x $PY ] || PY=python3
export PYTHONPATH=$here
PWCLI=$PW_BUILD/portwing
conn=

# hash-token <-> python3-argon2, both ways.
h=$(printf 'cli-token\n' | "$PWCLI" hash-token 2>/dev/null)
check "hash-token: PHC with the documented parameters" bash -c "echo '$h' | grep -Eq '^\\\$argon2id\\\$v=19\\\$m=19456,t=2,p=1\\\$[A-Za-z0-9+/]{22}\\\$[A-Za-z0-9+/]{43}\$'"
check "hash-token output verifies in python3-argon2" $PY -c "import argon2,sys; argon2.PasswordHasher().verify(sys.argv[1], 'cli-token')" "$h"
check "hash-token prompts on stderr only" bash -c "[ \"\$(printf 'x\n' | '$PWCLI' hash-token 2>&1 >/dev/null)\" = 'Enter token: ' ]"
out=$(printf '  \n' | "$PWCLI" hash-token 2>&1); rc=$?
check "hash-token refuses an empty token ($out)" bash -c "[ $rc = 1 ] && echo \"\$1\" | grep -q 'token must not be empty'" _ "$out"
out=$("$PWCLI" hash-token </dev/null 2>&1); rc=$?
check "hash-token refuses no input ($out)" bash -c "[ $rc = 1 ] && echo \"\$1\" | grep -q 'no input provided'" _ "$out"
ph=$($PY -c 'import argon2; print(argon2.PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1).hash("py-token"))')
PW_TOKEN=py-token pw_start TOKEN= TOKEN_HASH="$h" || fail "start with hash-token's hash"
check "agent with hash-token's hash accepts the token" [ "$(curl -s -H 'Authorization: Bearer cli-token' "$(pw_url /_ping)")" = OK ]
pw_stop
PW_TOKEN=py-token pw_start TOKEN= TOKEN_HASH="$ph" || fail "start with python's hash"
check "agent with python3-argon2's hash accepts the token" [ "$(curl -s -H 'Authorization: Bearer py-token' "$(pw_url /_ping)")" = OK ]
pw_stop

# keygen: PEM PKCS#8 + authorized_keys line, readable by python3-cryptography.
"$PWCLI" keygen -comment "ci key" >"$PW_TMP/kg.out" 2>"$PW_TMP/kg.err"
check "keygen prints a PEM PKCS#8 key and the line" bash -c "head -1 '$PW_TMP/kg.out' | grep -qx -- '-----BEGIN PRIVATE KEY-----' && tail -1 '$PW_TMP/kg.out' | grep -Eq '^ed25519 [A-Za-z0-9+/]{43}= ci key\$'"
out=$($PY - "$PW_TMP/kg.out" <<'PY'
import base64, sys
from cryptography.hazmat.primitives import serialization
text = open(sys.argv[1]).read()
pem, line = text[:text.index("-----END PRIVATE KEY-----") + 25], text.strip().splitlines()[-1]
k = serialization.load_pem_private_key(pem.encode(), None)
raw = k.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
print("match" if line.split()[1] == base64.b64encode(raw).decode() else "mismatch")
PY
)
check "python3-cryptography loads the key; the line is its public key ($out)" [ "$out" = match ]
"$PWCLI" keygen -out "$PW_TMP/client.pem" -comment client >"$PW_TMP/ak" 2>/dev/null
check "keygen -out writes the key with mode 0600" [ "$(stat -c %a "$PW_TMP/client.pem")" = 600 ]
check "keygen -out refuses to overwrite" bash -c "! '$PWCLI' keygen -out '$PW_TMP/client.pem' >/dev/null 2>&1"
check "keygen -pub-from gives the same line" [ "$("$PWCLI" keygen -pub-from "$PW_TMP/client.pem" -comment client 2>/dev/null)" = "$(cat "$PW_TMP/ak")" ]
chmod 600 "$PW_TMP/ak"

# An agent that accepts only this Ed25519 key.
PW_TOKEN=unused pw_start TOKEN= AUTHORIZED_KEYS="$PW_TMP/ak" ENROLLMENT_TOKEN=cli-enroll \
    STATE_DIR="$PW_TMP/state" || fail "keys-only start"
U=http://127.0.0.1:$PW_PORT
check "portwing request -k: signed GET" [ "$("$PWCLI" request -k "$PW_TMP/client.pem" GET "$U/_ping")" = OK ]
out=$("$PWCLI" request -k "$PW_TMP/client.pem" GET "$U/containers/json?all=1&filters=%7B%22status%22%3A%5B%22exited%22%5D%7D")
check "portwing request -k: signed GET with an escaped query" $PY -c "import json,sys; assert isinstance(json.loads(sys.argv[1]), list)" "$out"
out=$("$PWCLI" request -k "$PW_TMP/client.pem" -H 'Content-Type: application/json' POST "$U/containers/create?name=pwcli-req" "{\"Image\":\"$PW_IMAGE\"}")
check "portwing request -k: signed POST with a body" $PY -c "import json,sys; assert len(json.loads(sys.argv[1])['Id']) == 64" "$out"
pw_docker_direct rm -f pwcli-req >/dev/null 2>&1
out=$("$PWCLI" request GET "$U/_ping" 2>&1); rc=$?
check "without a key: 401 and exit 1" bash -c "[ $rc = 1 ] && echo \"\$1\" | grep -q 'HTTP 401'" _ "$out"

# Enrollment of a second key, then rotation, with portwing request.
"$PWCLI" keygen -out "$PW_TMP/second.pem" -comment second >"$PW_TMP/second.line" 2>/dev/null
pub=$(awk '{print $2}' "$PW_TMP/second.line")
out=$(curl -s -d "{\"enrollment_token\":\"cli-enroll\",\"public_key\":\"$pub\"}" "$U/api/portwing/enroll")
check "enroll the second key with curl ($out)" bash -c "echo '$out' | grep -q '\"comment\":\"enrolled:'"
check "the enrolled key signs at once" [ "$("$PWCLI" request -k "$PW_TMP/second.pem" GET "$U/_ping")" = OK ]
grep -v ' client$' "$PW_TMP/ak" >"$PW_TMP/ak.new"; cat "$PW_TMP/ak.new" >"$PW_TMP/ak"
kill -HUP "$PW_PID"; sleep 0.5
out=$("$PWCLI" request -k "$PW_TMP/client.pem" GET "$U/_ping" 2>&1)
check "removed key refused after SIGHUP ($out)" bash -c "echo \"\$1\" | grep -q 'HTTP 401' && echo \"\$1\" | grep -q unknown-key" _ "$out"
check "the other key keeps working" [ "$("$PWCLI" request -k "$PW_TMP/second.pem" GET "$U/_ping")" = OK ]

# The docker CLI through portwing connect, every request signed.
sock=$PW_TMP/local.sock
logmark=$(wc -l <"$PW_LOG")
"$PWCLI" connect -k "$PW_TMP/second.pem" -L "$sock" "$U" >"$PW_TMP/connect.log" 2>&1 &
conn=$!
for i in $(seq 1 50); do [ -S "$sock" ] && break; sleep 0.1; done
D() { DOCKER_CONFIG=$PW_TMP/nocfg DOCKER_HOST=unix://$sock docker "$@"; }
check "the local socket is private (mode 0600)" [ "$(stat -c %a "$sock")" = 600 ]
check "docker ps through portwing connect" [ "$(D ps -a -q | sort)" = "$(pw_docker_direct ps -a -q | sort)" ]
check "docker run --rm through portwing connect" [ "$(D run --rm "$PW_IMAGE" echo signed-run)" = signed-run ]
cid=$(D run -d "$PW_IMAGE" sleep 120)
check "docker exec (half-close) through portwing connect" [ "$(D exec "$cid" sh -c 'sleep 0.3; echo late')" = late ]
check "docker exec -i through portwing connect" [ "$(echo piped | D exec -i "$cid" cat)" = piped ]
out=$(printf 'echo tty-$((6*7))\nexit\n' | DOCKER_CONFIG=$PW_TMP/nocfg DOCKER_HOST=unix://$sock timeout 20 \
    script -qfec "docker exec -it $cid sh" /dev/null | tr -d '\r')
check "docker exec -it through portwing connect" bash -c "echo \"\$1\" | grep -q tty-42" _ "$out"
head -c $((8 * 1024 * 1024)) /dev/urandom >"$PW_TMP/blob"
D cp "$PW_TMP/blob" "$cid:/tmp/blob" && D cp "$cid:/tmp/blob" "$PW_TMP/blob.out"
check "docker cp in and out through portwing connect (8 MiB, signed bodies)" cmp -s "$PW_TMP/blob" "$PW_TMP/blob.out"
mkdir -p "$PW_TMP/ctx"; head -c $((4 * 1024 * 1024)) /dev/urandom >"$PW_TMP/ctx/data"
printf 'FROM %s\nCOPY data /data\n' "$PW_IMAGE" >"$PW_TMP/ctx/Dockerfile"
DOCKER_BUILDKIT=0 D build -q -t pwcli-built "$PW_TMP/ctx" >/dev/null 2>&1
check "docker build through portwing connect" bash -c "docker -H unix://$DOCKER_SOCK image inspect pwcli-built >/dev/null 2>&1"
pw_docker_direct rmi -f pwcli-built >/dev/null 2>&1
pw_docker_direct rm -f "$cid" >/dev/null 2>&1
check "every request through connect was signed and accepted" \
    bash -c "! tail -n +$((logmark + 1)) '$PW_LOG' | grep -q 'authentication failed'"
pw_done
