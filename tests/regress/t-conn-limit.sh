#!/bin/bash
# t-conn-limit.sh: MAX_CONNECTIONS_PER_ADDRESS across workers, and a
# flood of idle connections from one address that must not starve
# another address's requests.
. "$(dirname "$0")/lib.sh"
here=$(cd "$(dirname "$0")" && pwd)
export PYTHONPATH=$here
FL_PID=
trap 'pw_stop; [ -z "$FL_PID" ] || kill "$FL_PID" 2>/dev/null' EXIT

# The exact limit, counted over both workers; trusted proxies are exempt.
pw_start WORKERS=2 MAX_CONNECTIONS_PER_ADDRESS=5 TRUSTED_PROXIES=127.0.0.5 ||
    { fail "portwingd starts"; exit 1; }
out=$(python3 - "$PW_PORT" <<'PY'
import socket, sys, time
port = int(sys.argv[1])
def conn(src):
    return socket.create_connection(("127.0.0.1", port), timeout=2,
                                    source_address=(src, 0))
def alive(s):
    # Closed by the agent: EOF at once.  Kept: nothing to read.
    s.settimeout(0.5)
    try:
        return s.recv(1) != b""
    except socket.timeout:
        return True
    except OSError:
        return False
held = [conn("127.0.0.3") for _ in range(5)]
time.sleep(0.3)
sixth = conn("127.0.0.3")
other = conn("127.0.0.4")
res = [sum(alive(s) for s in held), alive(sixth), alive(other)]
held[0].close()
time.sleep(0.3)
again = conn("127.0.0.3")
res.append(alive(again))
proxies = [conn("127.0.0.5") for _ in range(12)]
time.sleep(0.3)
res.append(sum(alive(s) for s in proxies))
print(*res)
PY
)
check "5 held, the 6th closed, another address served, room again after a close, a trusted proxy unlimited ($out)" \
    [ "$out" = "5 False True True 12" ]
check "the refusal is logged" grep -q 'refusing connections from 127.0.0.3' "$PW_LOG"
pw_stop

# Each worker raised its descriptor limit for MAX_CONNECTIONS.
pw_start WORKERS=2 || { fail "portwingd starts (flood)"; exit 1; }
for p in $(pw_children worker); do
	lim=$(awk '/Max open files/ {print $4}' "/proc/$p/limits")
	check "worker $p may open $lim descriptors (>= 2 x 1024 + 64 or the hard limit)" \
	    [ "$lim" -ge 2112 -o "$lim" -eq "$(ulimit -Hn)" ]
done

# 4,000 idle connections from 127.0.0.2, reopened as they are closed,
# while 127.0.0.1 pings with a new connection each time.
ulimit -n "$(ulimit -Hn)"
python3 "$here/connflood.py" flood "$PW_PORT" 127.0.0.2 4000 14 \
    >"$PW_TMP/flood.out" 2>&1 &
FL_PID=$!
sleep 3
tap_run python3 "$here/connflood.py" ping "$PW_PORT" "$PW_TOKEN" 8
# Count the sockets a portwingd process holds: connections still in the
# kernel's accept queue are established too, but nobody has accepted them
# yet, and how many sit there depends on the machine's load.
n=$(ss -Htnp state established "( sport = :$PW_PORT )" dst 127.0.0.2 | grep -c 'users:' || true)
q=$(ss -Htn state established "( sport = :$PW_PORT )" dst 127.0.0.2 | wc -l)
echo "# connections from 127.0.0.2 held by the agent: $n (established in all, queue included: $q)"
check "the flooding address holds about its 64 connections ($n)" [ "$n" -ge 1 -a "$n" -le 80 ]
wait "$FL_PID"
FL_PID=
sed 's/^/# /' "$PW_TMP/flood.out"
check "the flood was refused and logged" \
    grep -q 'refusing connections from 127.0.0.2' "$PW_LOG"
check "no worker died" bash -c "! grep -q 'killed by signal\|exited with status' '$PW_LOG'"
pw_stop

# Many addresses, each under its limit, fill a worker (MAX_CONNECTIONS=100
# here) with silent connections: those are shed for newcomers, so the
# pings still get through instead of waiting for the header timeout.
# Every newcomer here waits behind some 300 flood connections in the
# backlog, each of which costs an accept and a shed: 250 ms, not 100.
pw_start WORKERS=1 MAX_CONNECTIONS=100 || { fail "portwingd starts (shedding)"; exit 1; }
python3 "$here/connflood.py" flood "$PW_PORT" \
    "$(seq -s, -f '127.0.1.%g' 1 10)" 400 10 >"$PW_TMP/flood2.out" 2>&1 &
FL_PID=$!
sleep 2
TAP_PREFIX="shedding: " tap_run python3 "$here/connflood.py" ping "$PW_PORT" "$PW_TOKEN" 5 250
wait "$FL_PID"
FL_PID=
sed 's/^/# /' "$PW_TMP/flood2.out"
check "shedding is logged" grep -q 'closing idle ones to make room' "$PW_LOG"
pw_done
