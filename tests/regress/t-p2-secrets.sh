#!/bin/bash
# t-p2-secrets.sh (P2): workers hold no Docker connection and no
# credential-verification material (token, its digest); authd holds the
# digest, the master the token (proving the scan would find them).
. "$(dirname "$0")/lib.sh"
trap pw_stop EXIT
here=$(dirname "$0")
PW_TOKEN=p2-secret-$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')
tokfile=$PW_TMP/token
printf '%s\n' "$PW_TOKEN" >"$tokfile"
pw_start TOKEN= TOKEN_FILE="$tokfile" || { fail "portwingd starts"; exit 1; }
tok_hex=$(printf '%s' "$PW_TOKEN" | od -An -tx1 | tr -d ' \n')
dig_hex=$(printf '%s' "$PW_TOKEN" | sha256sum | cut -d' ' -f1)

authd=$(pw_children authd)
proxy=$(pw_children proxy)
workers=$(pw_children worker)
check "two workers running" [ "$(echo $workers | wc -w)" = 2 ]

# Before any client presented the token, no worker has it or its digest.
for w in $workers; do
	counts=$(python3 "$here/memscan.py" "$w" "$tok_hex" "$dig_hex")
	check "worker $w memory: no token, no digest (before traffic) [$counts]" [ "$counts" = "0 0" ]
done
counts=$(python3 "$here/memscan.py" "$authd" "$tok_hex" "$dig_hex")
check "authd holds the token digest, not the token [$counts]" \
    bash -c "set -- $counts; [ \$1 = 0 ] && [ \$2 -ge 1 ]"
counts=$(python3 "$here/memscan.py" "$PW_PID" "$tok_hex")
check "the scan finds the token in the master [$counts]" [ "$counts" -ge 1 ]
counts=$(python3 "$here/memscan.py" "$proxy" "$tok_hex" "$dig_hex")
check "proxy memory: no token, no digest [$counts]" [ "$counts" = "0 0" ]

# Traffic, including a streaming call, then look at descriptors.
for i in $(seq 1 20); do pw_curl -o /dev/null "$(pw_url /containers/json)"; done
pw_curl -m 3 -o /dev/null "$(pw_url /events)" &
events_pid=$!
sleep 1
dockerd_peers=$(ss -xp | awk -v s="$DOCKER_SOCK" '$5 == s {print $8}' | sort -u)
inodes() { ls -l /proc/$1/fd 2>/dev/null | sed -n 's/.*socket:\[\([0-9]*\)\].*/\1/p' | sort -u; }
hits=0
for w in $workers; do
	n=$(comm -12 <(echo "$dockerd_peers") <(inodes "$w") | grep -c .)
	hits=$((hits + n))
done
check "no worker descriptor is connected to the Docker socket" [ "$hits" = 0 ]
n=$(comm -12 <(echo "$dockerd_peers") <(inodes "$proxy") | grep -c .)
check "the proxy does hold Docker connections ($n)" [ "$n" -ge 1 ]
wait $events_pid

# The digest never reaches a worker, even after authenticated traffic.
for w in $workers; do
	counts=$(python3 "$here/memscan.py" "$w" "$dig_hex")
	check "worker $w memory: no digest after traffic [$counts]" [ "$counts" = 0 ]
	check "worker $w environment holds no token" bash -c "[ -r /proc/$w/environ ] && ! tr '\0' '\n' </proc/$w/environ | grep -q TOKEN"
done
check "authd environment holds no token" bash -c "[ -r /proc/$authd/environ ] && ! tr '\0' '\n' </proc/$authd/environ | grep -q TOKEN"
pw_done
