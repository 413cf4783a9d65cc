"""generic_sse.py: helpers for the generic adapter's tests (imported by
generic_check.py, not run).

  SSE            a raw-socket client of GET /api/v1/events, read by a
                 ddsse.Hub; it sorts what arrives into events (data:
                 frames), heartbeats (": heartbeat" comments) and
                 anything else (bad frames);
  DockerEvents   Docker's own /events, read straight from the engine's
                 socket, to say what the agent should have forwarded;
  forwarded()    the generic event a Docker event becomes, or None;
  docker_conns() connections to the engine held by portwingd's processes;
  req()          one HTTP request to the agent (any body framing)."""
import json
import os
import socket
import subprocess
import threading
import time

import pwhttp

# Actions forwarded as they are; "health_status: X" is forwarded too, as
# action "health_status" with "health": X.
FORWARDED = {"create", "start", "stop", "die", "kill", "restart", "pause",
             "unpause", "destroy", "rename", "update", "oom"}
# Actor attributes that are not labels.
NOT_LABELS = {"name", "image", "exitCode", "signal", "execID",
              "maintainer"} | {"org.opencontainers.image." + k for k in
                               ("created", "revision", "source", "title",
                                "url", "version")}


def compact(obj):
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)


def forwarded(e):
    """The event the agent sends for Docker event e, or None."""
    if e.get("Type") != "container":
        return None
    action = e.get("Action", "")
    extra = {}
    if action.startswith("health_status: "):
        extra["health"] = action[len("health_status: "):]
        action = "health_status"
    elif action not in FORWARDED:
        return None
    actor = e.get("Actor") or {}
    attrs = actor.get("Attributes") or {}
    out = {"ts": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(e["time"])),
           "type": "container", "action": action,
           "containerId": actor.get("ID", ""),
           "name": attrs.get("name", ""), "image": attrs.get("image", "")}
    labels = {k: v for k, v in attrs.items() if k not in NOT_LABELS}
    if labels:
        out["labels"] = labels
    out.update(extra)
    return out


class SSE:
    """One client of the agent's event stream (registered with a Hub)."""

    def __init__(self, hub, port, token, path="/api/v1/events"):
        s = socket.create_connection(("127.0.0.1", port), timeout=10)
        s.sendall(("GET %s HTTP/1.1\r\nHost: agent\r\nAuthorization: "
                   "Bearer %s\r\nAccept: text/event-stream\r\n\r\n" %
                   (path, token)).encode())
        s.setblocking(False)
        self.sock = s
        self.t0 = time.monotonic()
        self.wall0 = time.time()
        self.head = None
        self.hdrs = {}
        self.chunked = False
        self.raw = b""
        self.body = b""
        self.events = []        # (arrival, decoded JSON)
        self.beats = []         # arrival times of ": heartbeat"
        self.bad = []           # frames that are neither
        self.closed = False
        self.hub = hub
        hub.add(self)

    def feed(self, data, now):
        self.raw += data
        if self.head is None:
            if b"\r\n\r\n" not in self.raw:
                return
            head, self.raw = self.raw.split(b"\r\n\r\n", 1)
            self.head = head.decode("latin-1")
            for line in self.head.split("\r\n")[1:]:
                k, _, v = line.partition(":")
                self.hdrs[k.strip().lower()] = v.strip()
            self.chunked = self.hdrs.get("transfer-encoding", "").lower() \
                == "chunked"
        if self.chunked:
            while b"\r\n" in self.raw:
                size_line, rest = self.raw.split(b"\r\n", 1)
                size = int(size_line.split(b";")[0], 16)
                if len(rest) < size + 2:
                    break
                self.body += rest[:size]
                self.raw = rest[size + 2:]
                if size == 0:
                    self.closed = True
                    break
        else:
            self.body += self.raw
            self.raw = b""
        while b"\n\n" in self.body:
            frame, self.body = self.body.split(b"\n\n", 1)
            if frame == b": heartbeat":
                self.beats.append(now)
            elif frame.startswith(b"data: ") and b"\n" not in frame:
                text = frame[6:].decode("utf-8", "replace")
                try:
                    obj = json.loads(text)
                except ValueError:
                    self.bad.append(frame)
                    continue
                if not isinstance(obj, dict) or compact(obj) != text:
                    self.bad.append(frame)
                self.events.append((now, obj))
            else:
                self.bad.append(frame)

    def status(self):
        if self.head is None:
            return None
        return int(self.head.split(" ", 2)[1])

    def about(self, cid, since=0):
        """Events about one container, from index `since` on."""
        return [e for _, e in self.events[since:]
                if e.get("containerId") == cid]

    def close(self):
        """Unregister (the descriptor's number comes round again) and
        close."""
        with self.hub.lock:
            try:
                self.hub.sel.unregister(self.sock)
            except (KeyError, ValueError):
                pass            # the hub saw it end
            self.sock.close()


class DockerEvents:
    """Docker's /events (all types) from `since` (unix seconds) on."""

    def __init__(self, dsock, since):
        self.events = []
        self.lock = threading.Lock()
        self.p = subprocess.Popen(
            # Bounded: a helper that dies leaves no stream behind.
            ["curl", "-sN", "-m", "300", "--unix-socket", dsock,
             "http://docker/events?since=%d" % since],
            stdout=subprocess.PIPE)
        self.t = threading.Thread(target=self.run, daemon=True)
        self.t.start()

    def run(self):
        for line in self.p.stdout:
            line = line.strip()
            if not line:
                continue
            try:
                e = json.loads(line)
            except ValueError:
                continue
            with self.lock:
                self.events.append(e)

    def snapshot(self):
        with self.lock:
            return list(self.events)

    def close(self):
        self.p.terminate()
        self.p.wait()


def descendants(root):
    """root and every process below it."""
    kids = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d) as f:
                st = f.read()
        except OSError:
            continue
        ppid = int(st.rsplit(")", 1)[1].split()[1])
        kids.setdefault(ppid, []).append(int(d))
    out, todo = [], [root]
    while todo:
        p = todo.pop()
        out.append(p)
        todo += kids.get(p, [])
    return out


def docker_conns(dsock, root):
    """Established connections to the engine's socket whose client end
    is held by portwingd (pid root) or one of its children: the engine's
    accepted sockets name their peer's inode (ss -x), the processes'
    descriptors name theirs (/proc/PID/fd)."""
    out = subprocess.run(["ss", "-xH", "state", "established"],
                         capture_output=True, text=True).stdout
    peers = set()
    for line in out.splitlines():
        f = line.split()
        # Netid Recv-Q Send-Q Local Port Peer Port (no State column
        # when one state is asked for)
        if len(f) >= 7 and f[3] == dsock:
            peers.add(f[6])
    held = set()
    for pid in descendants(root):
        d = "/proc/%d/fd" % pid
        try:
            fds = os.listdir(d)
        except OSError:
            continue
        for fd in fds:
            try:
                link = os.readlink("%s/%s" % (d, fd))
            except OSError:
                continue
            if link.startswith("socket:[") and link[8:-1] in peers:
                held.add(link[8:-1])
    return len(held)


def req(port, method, path, token=None, headers=None, src=None, body=None):
    """One request on a connection of its own: (status, headers, body).
    src: a loopback source address (the limiter counts failures by
    address)."""
    s = socket.create_connection(("127.0.0.1", port), 20,
                                 source_address=(src, 0) if src else None)
    h = {"Host": "agent"}
    if token is not None:
        h["Authorization"] = "Bearer " + token
    if body is not None:
        h["Content-Length"] = str(len(body))
    h.update(headers or {})
    head = "%s %s HTTP/1.1\r\n" % (method, path)
    head += "".join("%s: %s\r\n" % kv for kv in h.items()) + "\r\n"
    s.sendall(head.encode() + (body or b""))
    try:
        st, hdrs, rest = pwhttp.read_head(s)
        data = pwhttp.read_body(s, method, st, hdrs, rest)
    finally:
        s.close()
    return st, hdrs, data
