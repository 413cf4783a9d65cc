"""pwhttp.py: small raw-HTTP helpers for portwing's integration tests
(hijacked exec sessions, aborted streams), used from t-*.sh heredocs and
the *_check.py helpers (Answer, exchange, answer_while_sending,
docker_api)."""
import http.client
import json
import socket
import threading
import time

TIMEOUT = 20


def request(port, method, path, token=None, body=None, headers=None, sock=None):
    """Send one request; return (status, headers dict, body bytes)."""
    s = sock or socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)
    h = {"Host": "portwing"}
    if token:
        h["Authorization"] = "Bearer " + token
    if body is not None:
        if not isinstance(body, bytes):
            body = json.dumps(body).encode()
            h["Content-Type"] = "application/json"
        h["Content-Length"] = str(len(body))
    h.update(headers or {})
    head = "%s %s HTTP/1.1\r\n" % (method, path)
    head += "".join("%s: %s\r\n" % kv for kv in h.items()) + "\r\n"
    s.sendall(head.encode() + (body or b""))
    status, hdrs, rest = read_head(s)
    if status == 101:
        return status, hdrs, rest, s
    n = 0 if method == "HEAD" else int(hdrs.get("content-length", -1))
    data = rest
    if n < 0 and hdrs.get("transfer-encoding") == "chunked":
        data = read_chunked(s, rest)
    elif n >= 0:
        while len(data) < n:
            c = s.recv(65536)
            if not c:
                break
            data += c
    if sock is None:
        s.close()
    return status, hdrs, data, None


def read_chunked(s, wire):
    """The body of a chunked answer, up to its last chunk."""
    out = b""
    while True:
        while b"\r\n" not in wire:
            c = s.recv(65536)
            if not c:
                raise EOFError("connection closed inside a chunked body")
            wire += c
        head, wire = wire.split(b"\r\n", 1)
        n = int(head.split(b";")[0], 16)
        while len(wire) < n + 2:
            c = s.recv(65536)
            if not c:
                raise EOFError("connection closed inside a chunk")
            wire += c
        if n == 0:
            return out
        out += wire[:n]
        wire = wire[n + 2:]


def read_head(s):
    data = b""
    while b"\r\n\r\n" not in data:
        c = s.recv(65536)
        if not c:
            raise EOFError("connection closed before a response head")
        data += c
    head, rest = data.split(b"\r\n\r\n", 1)
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    hdrs = {}
    for line in lines[1:]:
        k, v = line.split(":", 1)
        hdrs[k.strip().lower()] = v.strip()
    return status, hdrs, rest


def create_exec(port, token, cid, cmd, stdin=True):
    st, _, body, _ = request(port, "POST", "/containers/%s/exec" % cid, token,
                             {"Cmd": cmd, "AttachStdin": stdin,
                              "AttachStdout": True, "AttachStderr": True})
    assert st == 201, (st, body)
    return json.loads(body)["Id"]


def start_hijack(port, token, exec_id):
    """POST /exec/ID/start with Upgrade: tcp; returns (status, sock, rest)."""
    st, hdrs, rest, s = request(port, "POST", "/exec/%s/start" % exec_id, token,
                                {"Detach": False, "Tty": False},
                                {"Connection": "Upgrade", "Upgrade": "tcp"})
    return st, s, rest


def demux(data):
    """Payloads of Docker's multiplexed stream frames, concatenated."""
    out = b""
    while len(data) >= 8:
        n = int.from_bytes(data[4:8], "big")
        out += data[8:8 + n]
        data = data[8 + n:]
    return out


def read_all(s, rest=b""):
    data = rest
    while True:
        c = s.recv(65536)
        if not c:
            return data
        data += c


def answer(s):
    """One answer with a Content-Length on a kept-alive socket: (status as
    a string, body); ("CLOSED", b"") or ("SHORT", part) when it ends early."""
    data = b""
    while b"\r\n\r\n" not in data:
        d = s.recv(65536)
        if not d:
            return "CLOSED", b""
        data += d
    head, rest = data.split(b"\r\n\r\n", 1)
    n = 0
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            n = int(line.split(b":")[1])
    while len(rest) < n:
        d = s.recv(65536)
        if not d:
            return "SHORT", rest
        rest += d
    return head.split(b" ")[1].decode(), rest


def read_body(s, method, st, hdrs, rest):
    """The body of an answer whose head read_head returned: by
    Content-Length, chunked, or to the end of the connection."""
    if method == "HEAD" or st in (204, 304):
        return b""
    if "content-length" in hdrs:
        n = int(hdrs["content-length"])
        data = rest
        while len(data) < n:
            c = s.recv(65536)
            if not c:
                break
            data += c
        return data
    if hdrs.get("transfer-encoding", "").lower() == "chunked":
        return read_chunked(s, rest)
    return read_all(s, rest)


class Answer:
    """An answer: status, headers (lower-case names), body, its JSON
    (None when the body is none), secs (how long it took).  Its repr
    shows the first REPR_MAX bytes of the body."""
    REPR_MAX = 300

    def __init__(self, status, hdrs, body, secs=0.0):
        self.status, self.hdrs, self.body, self.secs = (status, hdrs, body,
                                                        secs)
        try:
            self.json = json.loads(body) if body else None
        except ValueError:
            self.json = None

    @property
    def ctype(self):
        return self.hdrs.get("content-type", "")

    def __repr__(self):
        return "%s %r %r" % (self.status, self.ctype,
                             self.body[:self.REPR_MAX])


def exchange(port, method, path, headers, body=None, timeout=30, src=None):
    """One request to 127.0.0.1:port on a connection of its own (from
    address src when given), the headers as they are; the answer's body
    read as read_body does.  (status, headers, body, seconds taken)."""
    s = socket.create_connection(("127.0.0.1", port), timeout,
                                 source_address=(src, 0) if src else None)
    t0 = time.monotonic()
    try:
        head = "%s %s HTTP/1.1\r\n" % (method, path)
        head += "".join("%s: %s\r\n" % kv for kv in headers.items()) + "\r\n"
        s.sendall(head.encode() + (body or b""))
        st, hdrs, rest = read_head(s)
        data = read_body(s, method, st, hdrs, rest)
    finally:
        s.close()
    return st, hdrs, data, time.monotonic() - t0


def answer_while_sending(s, pieces, join=10):
    """Send pieces (bytes, in order: the request) on s from a thread
    while reading the answer, which may come before all is sent; close s.
    (status, headers, body); (0, {}, the error) when the connection
    fails before a whole answer."""
    def sender():
        try:
            for piece in pieces:
                s.sendall(piece)
        except OSError:
            pass

    t = threading.Thread(target=sender, daemon=True)
    t.start()
    try:
        st, hdrs, rest = read_head(s)
        return st, hdrs, read_body(s, "POST", st, hdrs, rest)
    except (OSError, EOFError) as e:
        return 0, {}, repr(e).encode()
    finally:
        s.close()
        t.join(join)


class UnixConnection(http.client.HTTPConnection):
    """HTTP on the unix socket at path (Docker's)."""

    def __init__(self, path, timeout=60):
        super().__init__("docker", timeout=timeout)
        self.upath = path

    def connect(self):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(self.timeout)
        s.connect(self.upath)
        self.sock = s


def docker_api(dsock, method, path, body=None, raw=False):
    """Docker's own answer, straight from the engine at the unix socket
    dsock: (status, data), data its JSON unless raw (or not JSON).  body:
    sent as JSON."""
    c = UnixConnection(dsock)
    hd = {}
    if body is not None:
        body = json.dumps(body).encode()
        hd["Content-Type"] = "application/json"
    c.request(method, path, body, hd)
    r = c.getresponse()
    data = r.read()
    c.close()
    if raw:
        return r.status, data
    try:
        return r.status, json.loads(data) if data else None
    except ValueError:
        return r.status, data
