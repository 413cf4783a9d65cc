"""ddsse.py: SSE clients for the Drydock tests (imported, not run).

Hub holds any number of raw-socket SSE clients to portwingd's
/api/events and reads them all from one background thread, stamping
every event with the time it arrived.  Results are printed as TAP lines
(ok / not ok) that tests/regress/run.sh counts."""
import json
import selectors
import socket
import subprocess
import threading
import time
from tap import ok, fail, check  # noqa: E402
import tap  # noqa: E402





class Client:
    def __init__(self, hub, port, token, rcvbuf=None, reading=True):
        self.events = []        # (arrival time, decoded JSON)
        self.raw = b""
        self.head = None
        self.closed = False
        self.nbytes = 0
        self.reading = reading
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if rcvbuf:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        s.connect(("127.0.0.1", port))
        s.sendall(("GET /api/events HTTP/1.1\r\nHost: agent\r\n"
                   "Authorization: Bearer %s\r\nAccept: text/event-stream"
                   "\r\n\r\n" % token).encode())
        s.setblocking(False)
        self.sock = s
        self.lport = s.getsockname()[1]
        self.chunked = False
        self.body = b""
        if reading:
            hub.add(self)

    def feed(self, data, now):
        self.nbytes += len(data)
        self.raw += data
        if self.head is None:
            if b"\r\n\r\n" not in self.raw:
                return
            head, self.raw = self.raw.split(b"\r\n\r\n", 1)
            self.head = head.decode("latin-1")
            self.chunked = "transfer-encoding: chunked" in self.head.lower()
        if self.chunked:
            while True:
                if b"\r\n" not in self.raw:
                    break
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
            ev, self.body = self.body.split(b"\n\n", 1)
            if ev.startswith(b"data: "):
                self.events.append((now, json.loads(ev[6:])))
            else:
                self.events.append((now, {"type": "BAD-FRAME",
                                          "raw": ev.decode("latin-1")}))

    def status(self):
        if self.head is None:
            return None
        return int(self.head.split(" ", 2)[1])

    def types(self):
        return [e["type"] for _, e in self.events]


class Hub:
    def __init__(self):
        self.sel = selectors.DefaultSelector()
        self.lock = threading.Lock()
        self.stop = False
        self.t = threading.Thread(target=self.run, daemon=True)
        self.t.start()

    def add(self, c):
        with self.lock:
            self.sel.register(c.sock, selectors.EVENT_READ, c)

    def run(self):
        while not self.stop:
            with self.lock:
                ready = self.sel.select(timeout=0.01)
                now = time.monotonic()
                for key, _ in ready:
                    c = key.data
                    try:
                        data = c.sock.recv(1 << 20)
                    except (BlockingIOError, InterruptedError):
                        continue
                    except OSError:
                        data = b""
                    if not data:
                        c.closed = True
                        self.sel.unregister(c.sock)
                        continue
                    c.feed(data, now)
            time.sleep(0)

    def wait(self, pred, timeout):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            with self.lock:
                if pred():
                    return True
            time.sleep(0.01)
        with self.lock:
            return pred()

    def close(self):
        self.stop = True
        self.t.join()


def worker_of(port, lport):
    """PID of the portwingd worker holding our connection (via ss)."""
    out = subprocess.run(["ss", "-tnpH", "state", "established",
                          "( sport = :%d and dport = :%d )" % (port, lport)],
                         capture_output=True, text=True).stdout
    for part in out.split("pid=")[1:]:
        return int(part.split(",")[0])
    return None


def docker(sock, *args):
    t0 = time.monotonic()
    r = subprocess.run(["docker", "-H", "unix://" + sock] + list(args),
                       capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError("docker %s: %s" % (" ".join(args), r.stderr))
    return r.stdout.strip(), time.monotonic()


def for_ctr(client, cid, since=0):
    """Events about one container, from index `since` on."""
    out = []
    for t, e in client.events[since:]:
        d = e.get("data", {})
        if e["type"].startswith("dd:container-") and d.get("id") == cid:
            out.append((t, e))
    return out
