#!/usr/bin/python3
"""registry.py: a read-only image registry (Docker Registry HTTP API v2)
serving one image from a `docker save` tarball, so that tests can pull
without the network:

  registry.py [--name NAME] [--tag TAG] [--image REF] [--plain]
              [--log FILE] TARBALL PORTFILE

It listens on 127.0.0.1 on a free port and writes the port to PORTFILE
(whole, or not at all), then serves until killed:

  GET  /v2/                         200 {} with Docker-Distribution-API-Version
  HEAD|GET /v2/NAME/manifests/REF   the image's schema 2 manifest, REF the
                                    tag or the manifest's digest
  HEAD|GET /v2/NAME/blobs/DIGEST    its config and layers
  GET  /v2/NAME/tags/list, /v2/_catalog
  anything else                     404 (405 for a write) with the
                                    registry's {"errors": [...]} body

NAME defaults to "pwtest", TAG to "1"; --image picks the tarball's image
by one of its RepoTags (default: the first).  Layers are served gzipped
(application/vnd.docker.image.rootfs.diff.tar.gzip, made once at start
with a fixed timestamp) or, with --plain, as the uncompressed tars that
`docker save` wrote (application/vnd.docker.image.rootfs.diff.tar).
dockerd treats registries on 127.0.0.0/8 as insecure (plain HTTP), so
`docker pull 127.0.0.1:PORT/NAME:TAG` works without daemon settings.
--log FILE: one line per request, "METHOD PATH STATUS", for tests that
want to know what was fetched.  Standard library only; for tests."""
import argparse
import gzip
import hashlib
import http.server
import json
import os
import re
import sys
import tarfile
import threading

MT_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
MT_CONFIG = "application/vnd.docker.container.image.v1+json"
MT_LAYER = "application/vnd.docker.image.rootfs.diff.tar"
MT_LAYER_GZ = "application/vnd.docker.image.rootfs.diff.tar.gzip"


def sha(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


def load(tarball, image, plain):
    """(manifest bytes, manifest digest, {digest: blob bytes})"""
    with tarfile.open(tarball) as t:
        def member(name):
            f = t.extractfile(name)
            if f is None:
                raise SystemExit("%s: %s is not a file" % (tarball, name))
            return f.read()

        index = json.loads(member("manifest.json"))
        if not index:
            raise SystemExit("%s: manifest.json lists no image" % tarball)
        entry = index[0]
        if image:
            entry = next((e for e in index if image in
                          (e.get("RepoTags") or [])), None)
            if entry is None:
                raise SystemExit("%s: no image tagged %s" % (tarball, image))
        config = member(entry["Config"])
        blobs = {sha(config): config}
        layers = []
        for name in entry["Layers"]:
            data = member(name)
            if data[:2] == b"\x1f\x8b":
                mt = MT_LAYER_GZ
            elif plain:
                mt = MT_LAYER
            else:
                data = gzip.compress(data, mtime=0)
                mt = MT_LAYER_GZ
            d = sha(data)
            blobs[d] = data
            layers.append({"mediaType": mt, "size": len(data), "digest": d})
    manifest = json.dumps({
        "schemaVersion": 2,
        "mediaType": MT_MANIFEST,
        "config": {"mediaType": MT_CONFIG, "size": len(config),
                   "digest": sha(config)},
        "layers": layers,
    }, indent=3).encode()
    return manifest, sha(manifest), blobs


class Registry(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "pwtest-registry/1"
    # set by main()
    name = tag = manifest = mdigest = None
    blobs = {}
    log = None
    lock = threading.Lock()

    def log_message(self, *a):
        pass

    def note(self, code):
        if self.log is None:
            return
        with self.lock:
            self.log.write("%s %s %d\n" % (self.command, self.path, code))
            self.log.flush()

    def send(self, code, body=b"", ctype="application/json", headers=()):
        self.note(code)
        self.send_response(code)
        self.send_header("Docker-Distribution-API-Version", "registry/2.0")
        if body or ctype != "application/json":
            self.send_header("Content-Type", ctype)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def error(self, code, ecode, msg):
        body = json.dumps({"errors": [{"code": ecode, "message": msg,
                                       "detail": None}]}).encode()
        self.send(code, body)

    def drain(self):
        n = int(self.headers.get("Content-Length") or 0)
        if n:
            self.rfile.read(n)

    def do_GET(self):
        path = self.path.split("?", 1)[0]
        if path in ("/v2/", "/v2"):
            return self.send(200, b"{}")
        if path == "/v2/_catalog":
            return self.send(200, json.dumps(
                {"repositories": [self.name]}).encode())
        m = re.fullmatch(r"/v2/(.+)/(manifests|blobs|tags)/(.+)", path)
        if not m:
            return self.error(404, "NOT_FOUND", "no such route")
        name, kind, ref = m.groups()
        if name != self.name:
            return self.error(404, "NAME_UNKNOWN",
                              "repository name not known to registry")
        if kind == "tags":
            if ref != "list":
                return self.error(404, "NOT_FOUND", "no such route")
            return self.send(200, json.dumps({"name": self.name,
                                              "tags": [self.tag]}).encode())
        if kind == "manifests":
            if ref not in (self.tag, self.mdigest):
                return self.error(404, "MANIFEST_UNKNOWN",
                                  "manifest unknown")
            return self.send(200, self.manifest, MT_MANIFEST,
                             [("Docker-Content-Digest", self.mdigest),
                              ("Etag", '"%s"' % self.mdigest)])
        blob = self.blobs.get(ref)
        if blob is None:
            return self.error(404, "BLOB_UNKNOWN", "blob unknown to registry")
        return self.send(200, blob, "application/octet-stream",
                         [("Docker-Content-Digest", ref),
                          ("Etag", '"%s"' % ref)])

    do_HEAD = do_GET

    def refuse(self):
        self.drain()
        self.error(405, "UNSUPPORTED", "this registry is read-only")

    do_POST = do_PUT = do_PATCH = do_DELETE = refuse


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--name", default="pwtest")
    ap.add_argument("--tag", default="1")
    ap.add_argument("--image", default=None)
    ap.add_argument("--plain", action="store_true")
    ap.add_argument("--log", default=None)
    ap.add_argument("tarball")
    ap.add_argument("portfile")
    a = ap.parse_args()
    manifest, mdigest, blobs = load(a.tarball, a.image, a.plain)
    Registry.name, Registry.tag = a.name, a.tag
    Registry.manifest, Registry.mdigest, Registry.blobs = (manifest, mdigest,
                                                           blobs)
    if a.log:
        Registry.log = open(a.log, "a")
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Registry)
    srv.daemon_threads = True
    tmp = a.portfile + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % srv.server_address[1])
    os.rename(tmp, a.portfile)
    print("registry: 127.0.0.1:%d/%s:%s manifest %s" % (
        srv.server_address[1], a.name, a.tag, mdigest), file=sys.stderr,
        flush=True)
    srv.serve_forever()


if __name__ == "__main__":
    main()
