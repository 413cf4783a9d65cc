#!/bin/bash
# t-signed-bodies.sh: portwing's own routes that take a body, reached by
# an Ed25519-signed request (portwing request -k).  The worker reads a
# signed body before authd judges it; the route must then use that body,
# not wait for another (the request would hang) or see an empty one:
# POST /_portwing/compose, and the dockeragent adapter's POST
# /api/v1/containers, /api/v1/containers/ID/stop and /api/v1/files.
. "$(dirname "$0")/lib.sh"
P=pwsb$$x
base=/tmp/$P
mkdir -p "$base/files"
chmod 0755 "$base"
pw_ensure_user
cleanup() {
	pw_stop
	pw_docker_direct rm -f "$P-c" >/dev/null 2>&1
	rm -rf "$base"
}
trap cleanup EXIT
pw_dockerd_start || { fail "test dockerd starts"; exit 1; }
pw_image || { fail "busybox test image"; exit 1; }

"$PW_BUILD/portwing" keygen -out "$base/key" >"$base/keygen.out" 2>&1
grep '^ed25519 ' "$base/keygen.out" >"$base/ak"
chmod 600 "$base/ak"
sreq() {	# sreq METHOD PATH BODY: signed, 20 s at most
	timeout 20 "$PW_BUILD/portwing" request -k "$base/key" "$1" \
	    "http://127.0.0.1:$PW_PORT$2" "$3" 2>&1
}
has() { case "$2" in *"$1"*) return 0 ;; esac; echo "# got: $2"; return 1; }

if pw_start TOKEN= AUTHORIZED_KEYS="$base/ak" ADAPTER=dockeragent \
    STACKS_DIR="$base/stacks" HOST_FILES_ROOT="$base/files"; then
	y='services:\n  s:\n    image: '$PW_IMAGE'\n'
	out=$(sreq POST /_portwing/compose "{\"operation\":\"ps\",\"stackName\":\"st\",\"files\":{\"compose.yaml\":\"$y\"}}")
	check "signed POST /_portwing/compose: answered, success" \
	    has '"success":true' "$out"
	check "... the stack file from the signed body is written" \
	    [ -f "$base/stacks/st/compose.yaml" ]
	out=$(sreq POST /api/v1/containers "{\"image\":\"$PW_IMAGE\",\"name\":\"$P-c\",\"cmd\":[\"sleep\",\"300\"]}")
	check "signed POST /api/v1/containers: 201 with the id" has '"id":' "$out"
	check "... the container runs" \
	    [ "$(pw_docker_direct inspect -f '{{.State.Running}}' "$P-c" 2>&1)" = true ]
	out=$(sreq POST "/api/v1/containers/$P-c/stop" '{"timeout":1}')
	check "signed POST .../stop with a body: stopped" \
	    has '"message":"container stopped"' "$out"
	out=$(sreq POST /api/v1/files '{"path":"/signed/a.txt","content":"from a signed body"}')
	check "signed POST /api/v1/files: 201" has '"message":"file written successfully"' "$out"
	check "... the file holds the signed body's content" \
	    [ "$(cat "$base/files/signed/a.txt" 2>&1)" = "from a signed body" ]
	pw_stop
else
	fail "portwingd starts with AUTHORIZED_KEYS, STACKS_DIR and HOST_FILES_ROOT"
fi
pw_done
