# edgelib.sh: what the edge mode tests share (sourced after lib.sh, with
# d set to their scratch directory): the reference's key (edge-protocol.md
# 6.6) in $d/key.pem, the scripted controller's list of agent keys in
# $d/ak, and ctl, which starts that controller (tests/regress/edgectl.py).
PY=/usr/bin/python3
CTL_PID=
CPORT=
"$PY" -c 'import websockets' 2>/dev/null ||
	{ skip "python3-websockets is not installed"; pw_done; }
printf -- '-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIAABAgMEBQYHCAkKCwwNDg8QERITFBUWFxgZGhscHR4f\n-----END PRIVATE KEY-----\n' >"$d/key.pem"
chmod 600 "$d/key.pem"
echo 'ed25519 A6EHv/POEL4dcN0Y50vAmWfk1jCbpQ1fHdyGZBJVMbg= test' >"$d/ak"

# ctl [edgectl options]: a fresh controller on a fresh port ($CPORT),
# logging to $CLOG; the previous one is stopped.
ctl() {
	[ -n "$CTL_PID" ] && kill "$CTL_PID" 2>/dev/null && wait "$CTL_PID" 2>/dev/null
	CPORT=$(pw_free_port)
	CLOG=$d/ctl.$CPORT.log
	"$PY" "$(dirname "$0")/edgectl.py" --port "$CPORT" --keys "$d/ak" \
	    --log "$CLOG" "$@" >"$d/ctl.$CPORT.out" 2>&1 &
	CTL_PID=$!
	for _ in $(seq 1 100); do grep -q listening "$CLOG" 2>/dev/null && return 0; sleep 0.05; done
	echo "# edgectl did not start"; cat "$d/ctl.$CPORT.out"; return 1
}
