"""dd_fanout.py PORT TOKEN DOCKER_SOCK IMAGE QUEUE_LIMIT AGENT_LOG

Drives t-dd-fanout.sh: 200 SSE clients and one that never reads.  Every
live client receives every event; the stalled one delays none of them
by more than 100 ms, and once its unread events pass the agent's bound
(SSE_QUEUE_LIMIT) it is dropped while the others carry on."""
import os
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ddsse import Hub, Client, docker, for_ctr
from tap import check
import ddsse
import tap

port, token, dsock, image, limit, log = sys.argv[1:7]
port, limit = int(port), int(limit)
NLIVE = 200

hub = Hub()
# The stalled client: a small receive window, and it never reads.
stalled = Client(hub, port, token, rcvbuf=4096, reading=False)
live = [Client(hub, port, token) for _ in range(NLIVE)]
check("all %d live clients greeted (dd:ack, dd:watcher-snapshot)" % NLIVE,
      hub.wait(lambda: all(len(c.events) >= 2 for c in live), 30),
      "%d greeted" % sum(len(c.events) >= 2 for c in live))


def changes(desc, ops, big=False):
    """Run docker commands; return per-op arrival spreads (seconds)."""
    spreads = []
    for args in ops:
        marks = [len(c.events) for c in live]
        out, t_done = docker(dsock, *args)
        n = [0]

        def arrived():
            return all(len(c.events) > m for c, m in zip(live, marks))
        got = hub.wait(arrived, 10)
        if not got:
            check("%s: %s reached every live client" % (desc, args[0]), False,
                  "%d of %d" % (sum(len(c.events) > m for c, m in
                                    zip(live, marks)), NLIVE))
            continue
        first = [c.events[m][0] for c, m in zip(live, marks)]
        spreads.append(max(first) - min(first))
    return spreads


name = "ddfan%d" % os.getpid()
small = [["create", "--name", name, image, "sleep", "1000"],
         ["start", name], ["stop", "-t", "0", name], ["start", name],
         ["kill", name]]
spreads = changes("small events", small)
check("with a stalled client attached, each of %d events reached all %d "
      "live clients within 100 ms of the first (worst %.1f ms)" % (
          len(small), NLIVE, max(spreads or [9]) * 1000),
      len(spreads) == len(small) and max(spreads) <= 0.100)
check("the stalled client is still attached (under its bound)",
      stalled.sock.fileno() != -1)

# Now push big frames (a container with a large label) until the stalled
# client's unread events exceed the bound several times over.
big = "x" * 60000
bname = name + "-big"
docker(dsock, "create", "--name", bname, "--label", "filler=" + big, image,
       "sleep", "1000")
before = [len(c.events) for c in live]
nops = 0
for i in range(100):
    changes("big events", [["start", bname], ["stop", "-t", "0", bname]])
    nops += 2
    with open(log, errors="replace") as f:
        if "dropping an SSE client" in f.read():
            break
print("# %d big events sent before the drop" % nops)
time.sleep(0.5)
counts = set(len(c.events) - b for c, b in zip(live, before))
check("every live client received every big frame (%s per client)" %
      sorted(counts), len(counts) == 1)
check("live clients are still connected", not any(c.closed for c in live))

# The stalled client: reading now must hit the end of a stream the agent
# closed, after far less than what the others received.
stalled.sock.setblocking(True)
stalled.sock.settimeout(5)
got, eof = 0, False
try:
    while True:
        d = stalled.sock.recv(1 << 20)
        if not d:
            eof = True
            break
        got += len(d)
except socket.timeout:
    pass
except OSError:
    eof = True
total = live[0].nbytes
check("the stalled client was disconnected by the agent", eof,
      "read %d bytes, no end" % got)
check("the stalled client got less than the others (%d < %d bytes)" %
      (got, total), got < total)

# After the drop, the others are unaffected.
after = changes("after the drop", [["start", bname]])
check("after the drop, an event still reaches all live clients",
      len(after) == 1)
docker(dsock, "rm", "-f", name, bname)
hub.close()
print("# %d passed, %d failed" % (tap.npass, tap.nfail))
sys.exit(1 if tap.nfail else 0)
