#!/usr/bin/python3
"""miniregistry.py [--log FILE] PORTFILE: the smallest in-memory registry
(distribution API v2, push and pull of blobs and manifests, no auth) that
`docker push` accepts, so that a test image gets real RepoDigests, and a
pull has something to fetch, without the network.  Listens on 127.0.0.1
(an insecure registry to dockerd by default), writes its port to
PORTFILE.  --log FILE: one line per request, "METHOD PATH STATUS", for
tests that want to know what was fetched.  Standard library only; for
tests."""
import hashlib
import http.server
import sys
import threading
import uuid

blobs, uploads, manifests = {}, {}, {}


class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    log = None  # the --log file
    lock = threading.Lock()

    def log_message(self, *a):
        pass

    def log_request(self, code="-", size="-"):
        if self.log is None:
            return
        if isinstance(code, int):
            code = int(code)  # an HTTPStatus too
        with self.lock:
            self.log.write("%s %s %s\n" % (self.command, self.path, code))
            self.log.flush()

    def body(self):
        if "chunked" in (self.headers.get("Transfer-Encoding") or ""):
            out = b""
            while True:
                n = int(self.rfile.readline().split(b";")[0].strip(), 16)
                if n == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return out
                out += self.rfile.read(n)
                self.rfile.readline()
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def send(self, code, body=b"", headers=()):
        self.send_response(code)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def parts(self):
        path = self.path.split("?", 1)[0]
        return path, (self.path.split("?", 1) + [""])[1]

    def do_GET(self):
        self.get()

    def do_HEAD(self):
        self.get()

    def get(self):
        path, _ = self.parts()
        if path in ("/v2/", "/v2"):
            return self.send(200, b"{}", [("Content-Type", "application/json")])
        if "/blobs/" in path:
            d = path.rsplit("/", 1)[1]
            if d in blobs:
                return self.send(200, blobs[d], [("Docker-Content-Digest", d)])
        if "/manifests/" in path:
            name, ref = path[4:].split("/manifests/")
            m = manifests.get((name, ref))
            if m:
                return self.send(200, m[1], [("Content-Type", m[0]),
                                             ("Docker-Content-Digest", m[2])])
        self.send(404, b'{"errors":[{"code":"UNKNOWN"}]}')

    def do_POST(self):
        path, _ = self.parts()
        self.body()
        if path.endswith("/blobs/uploads/"):
            u = str(uuid.uuid4())
            uploads[u] = b""
            return self.send(202, b"", [("Location", path + u),
                                        ("Docker-Upload-UUID", u),
                                        ("Range", "0-0")])
        self.send(404)

    def do_PATCH(self):
        path, _ = self.parts()
        u = path.rsplit("/", 1)[1]
        uploads[u] = uploads.get(u, b"") + self.body()
        self.send(202, b"", [("Location", path), ("Docker-Upload-UUID", u),
                             ("Range", "0-%d" % max(0, len(uploads[u]) - 1))])

    def do_PUT(self):
        path, q = self.parts()
        data = self.body()
        if "/blobs/uploads/" in path:
            u = path.rsplit("/", 1)[1]
            blob = uploads.pop(u, b"") + data
            d = dict(x.split("=", 1) for x in q.split("&") if "=" in x)
            digest = d.get("digest", "").replace("%3A", ":").replace("%3a", ":")
            blobs[digest] = blob
            return self.send(201, b"", [("Location", "/v2/x/blobs/" + digest),
                                        ("Docker-Content-Digest", digest)])
        if "/manifests/" in path:
            name, ref = path[4:].split("/manifests/")
            digest = "sha256:" + hashlib.sha256(data).hexdigest()
            m = (self.headers.get("Content-Type"), data, digest)
            manifests[(name, ref)] = m
            manifests[(name, digest)] = m
            return self.send(201, b"", [("Docker-Content-Digest", digest),
                                        ("Location", path)])
        self.send(404)


args = sys.argv[1:]
if args[:1] == ["--log"]:
    H.log = open(args[1], "a")
    args = args[2:]
srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
with open(args[0], "w") as f:
    f.write(str(srv.server_address[1]))
srv.serve_forever()
