#!/bin/bash
# t-p1-master.sh (P1): the master never reads bytes from a client
# connection.  It never accepts (workers do), holds no established TCP
# socket, and every descriptor it reads from is a channel to its children.
. "$(dirname "$0")/lib.sh"
trap 'pw_stop; kill $strace_pid 2>/dev/null' EXIT
pw_start || { fail "portwingd starts"; exit 1; }

trace=$PW_TMP/master.strace
strace -p "$PW_PID" -e trace=accept,accept4,read,readv,recvfrom,recvmsg,pread64 \
    -o "$trace" 2>/dev/null &
strace_pid=$!
sleep 0.5
for i in $(seq 1 30); do
	pw_curl -o /dev/null "$(pw_url /_ping)"
	pw_curl -o /dev/null -X POST -d '{"junk":1}' "$(pw_url /containers/none/stop)"
	curl -s -o /dev/null "$(pw_url /health)"
done
pw_raw 'GET / HTTP/1.1\r\nHost: x\nBroken: yes\r\n\r\n' >/dev/null
# Concurrent calls outgrow the proxy's pool: the master must then read
# its children's requests for Docker connections (so the trace is live).
pids=
for i in $(seq 1 24); do
	pw_curl -o /dev/null "$(pw_url /containers/json)" & pids="$pids $!"
done
wait $pids
# The pool may already hold enough connections; a restarted worker's
# READY is a read the master must make whatever the timing.
kill -9 "$(pw_children worker | head -1)"
for _ in $(seq 1 50); do
	grep -q '^recvmsg(' "$trace" && [ "$(pw_children worker | wc -l)" -ge 2 ] && break
	sleep 0.1
done
sleep 0.3
kill $strace_pid 2>/dev/null; wait $strace_pid 2>/dev/null
check "strace saw the master read its channels" grep -q '^recvmsg(' "$trace"
check "the master made no accept/accept4 call during client traffic" \
    bash -c "! grep -Eq '^(accept|accept4)\(' '$trace'"

# Every descriptor the master read from is a unix socket, never TCP.
out=$(python3 - "$PW_PID" "$trace" <<'PY'
import os, re, sys
pid, trace = sys.argv[1], sys.argv[2]
tcp = set()
for f in ("/proc/net/tcp", "/proc/net/tcp6"):
    with open(f) as fh:
        next(fh)
        for line in fh:
            tcp.add(line.split()[9])
fds = set(int(m.group(1)) for m in re.finditer(r"^(?:read|readv|recvfrom|recvmsg|pread64)\((\d+)", open(trace).read(), re.M))
bad = []
for fd in fds:
    try:
        link = os.readlink(f"/proc/{pid}/fd/{fd}")
    except OSError:
        continue
    m = re.match(r"socket:\[(\d+)\]", link)
    if m and m.group(1) in tcp:
        bad.append(fd)
print("reads=%d tcp_reads=%d" % (len(fds), len(bad)))
PY
)
check "master reads only from its IPC channels ($out)" bash -c "echo '$out' | grep -q 'tcp_reads=0' && ! echo '$out' | grep -q 'reads=0 '"

# The master's TCP sockets: only the listener, never an established one.
states=$(ss -tanp | awk -v p="pid=$PW_PID," 'index($0, p) {print $1}' | sort -u | tr '\n' ' ')
check "master holds only a LISTEN TCP socket (saw: $states)" [ "$states" = "LISTEN " ]
pw_done
