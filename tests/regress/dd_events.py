"""dd_events.py PORT TOKEN DOCKER_SOCK IMAGE LIBSH AGENT_PID

Drives t-dd-events.sh: two SSE clients on different workers watch a
container's life (create, start, stop, rename, start, kill, remove) and
must each see exactly the expected frames, in order, within a second;
then dockerd restarts under the agent and the stream resumes with what
it missed."""
import os
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ddsse import Hub, Client, worker_of, docker, for_ctr
from tap import check, ok, fail
import ddsse
import tap

port, token, dsock, image, libsh, agent = sys.argv[1:7]
port = int(port)
DEADLINE = 1.0

hub = Hub()


def greeted(c):
    return len(c.events) >= 2


# Client A, then B on the other worker: the worker holding A is stopped
# while B connects, so only the other one can accept it.
a = Client(hub, port, token)
check("client A greeted", hub.wait(lambda: greeted(a), 10))
wa = worker_of(port, a.lport)
os.kill(wa, signal.SIGSTOP)
try:
    b = Client(hub, port, token)
    check("client B greeted while A's worker is stopped",
          hub.wait(lambda: greeted(b), 10))
    wb = worker_of(port, b.lport)
finally:
    os.kill(wa, signal.SIGCONT)
check("the two SSE clients are on different workers (%s, %s)" % (wa, wb),
      wa is not None and wb is not None and wa != wb)
for name, c in (("A", a), ("B", b)):
    check("client %s: 200, text/event-stream, no-cache, keep-alive" % name,
          c.status() == 200 and
          "content-type: text/event-stream" in c.head.lower() and
          "cache-control: no-cache" in c.head.lower() and
          "connection: keep-alive" in c.head.lower(), c.head)
    check("client %s: dd:ack then dd:watcher-snapshot" % name,
          c.types()[:2] == ["dd:ack", "dd:watcher-snapshot"], c.types())


def step(desc, args, expect, cid=None):
    """Run a docker command; every client must get exactly `expect`
    (a list of (type, {field: value})) for the container, in order,
    each within DEADLINE of the command returning."""
    marks = {c: len(c.events) for c in (a, b)}
    out, t_done = docker(dsock, *args)
    cid = cid or out
    want = len(expect)
    hub.wait(lambda: all(len(for_ctr(c, cid, marks[c])) >= want
                         for c in (a, b)), DEADLINE + 2)
    time.sleep(0.3)         # anything extra would show up now
    for name, c in (("A", a), ("B", b)):
        got = for_ctr(c, cid, marks[c])
        desc2 = "%s: client %s" % (desc, name)
        if len(got) != want:
            fail("%s: %d frames, expected %d: %s" % (
                desc2, len(got), want,
                [(e["type"], e["data"].get("status")) for _, e in got]))
            continue
        good, why = True, ""
        for (t, e), (typ, fields) in zip(got, expect):
            if e["type"] != typ:
                good, why = False, "%s instead of %s" % (e["type"], typ)
            for k, v in fields.items():
                if e["data"].get(k) != v:
                    good, why = False, "%s=%r, expected %r" % (
                        k, e["data"].get(k), v)
            late = t - t_done
            if late > DEADLINE:
                good, why = False, "%s arrived %.3f s after the change" % (
                    typ, late)
        check(desc2 + " (%s)" % ", ".join(
            "%s %.0f ms" % (e["type"][13:], max(0, t - t_done) * 1000)
            for t, e in got), good, why)
    return cid


tag = "ddev%d" % os.getpid()
cid = step("create", ["create", "--name", tag, image, "sleep", "1000"],
           [("dd:container-added", {"status": "created", "name": tag})])
step("start", ["start", tag],
     [("dd:container-updated", {"status": "running", "name": tag})], cid)
step("stop", ["stop", "-t", "0", tag],
     [("dd:container-updated", {"status": "exited"})], cid)
step("rename", ["rename", tag, tag + "-b"],
     [("dd:container-updated", {"status": "exited", "name": tag + "-b"})],
     cid)
step("start again", ["start", tag + "-b"],
     [("dd:container-updated", {"status": "running", "name": tag + "-b"})],
     cid)
step("kill", ["kill", tag + "-b"],
     [("dd:container-updated", {"status": "exited"})], cid)
step("remove", ["rm", tag + "-b"],
     [("dd:container-removed", {"id": cid, "name": tag + "-b"})], cid)
rm = [e for _, e in for_ctr(a, cid) if e["type"] == "dd:container-removed"]
check("dd:container-removed carries only id and name",
      len(rm) == 1 and sorted(rm[0]["data"]) == ["id", "name"],
      repr(rm))
check("both clients saw the same events in the same order",
      [e for _, e in a.events[1:]] == [e for _, e in b.events[1:]])

# ---- dockerd restarts under the agent ----
r_id, _ = docker(dsock, "run", "-d", "--name", tag + "-r", image, "sh", "-c",
                 "trap 'exit 0' TERM; while :; do sleep 0.1; done")
hub.wait(lambda: any(e["data"].get("status") == "running"
                     for _, e in for_ctr(b, r_id)), 3)
mark = {c: len(c.events) for c in (a, b)}
env = dict(os.environ)


def lib(cmd):
    return subprocess.run(["bash", "-c", ". %s && %s" % (libsh, cmd)],
                          env=env, capture_output=True, text=True)


lib("pw_dockerd_stop")
time.sleep(1)
check("SSE clients stay connected while dockerd is down",
      not a.closed and not b.closed)
r = lib("pw_dockerd_start")
check("dockerd restarted", r.returncode == 0, r.stderr)
# Made while the agent is still backing off: only a resync can find it.
m_id, _ = docker(dsock, "create", "--name", tag + "-m", image, "sleep",
                 "1000")
for name, c in (("A", a), ("B", b)):
    got = hub.wait(lambda: any(e["type"] == "dd:container-added"
                               for _, e in for_ctr(c, m_id, mark[c])), 40)
    check("client %s: the resync after the restart reports the container "
          "created meanwhile" % name, got)
    st = [e["data"].get("status") for _, e in for_ctr(c, r_id, mark[c])]
    check("client %s: the container the restart stopped is reported "
          "exited (%s)" % (name, st), st[-1:] == ["exited"], repr(st))
step("after the restart, events flow again", ["start", tag + "-m"],
     [("dd:container-updated", {"status": "running"})], m_id)
check("no snapshot was sent during the restart (nothing to prune)",
      all(e["type"] != "dd:watcher-snapshot" for _, e in a.events[mark[a]:]))
check("both clients still saw the same events in the same order",
      [e for _, e in a.events[1:]] == [e for _, e in b.events[1:]])
docker(dsock, "rm", "-f", tag + "-m", tag + "-r")
hub.close()
print("# %d passed, %d failed" % (tap.npass, tap.nfail))
sys.exit(1 if tap.nfail else 0)
