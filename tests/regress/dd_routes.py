#!/usr/bin/python3
"""dd_routes.py: the Drydock /api routes against the reference corpus
(tests/regress/corpus/drydock/*.json) and the reference's status codes.

  dd_routes.py PORT TOKEN DOCKER_SOCK IMAGE CORPUS_DIR POLL_SECONDS

Needs the containers t-dd-routes.sh creates (pwr-logs, pwr-tty, pwr-del).
Prints TAP lines; exit status 1 when anything failed.  Standard library
only."""
import glob
import json
import os
import re
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ddmodel  # noqa: E402
import pwhttp  # noqa: E402
from tap import ok, fail, check  # noqa: E402
import tap  # noqa: E402

PORT, TOKEN, DSOCK, IMAGE, CORPUS = sys.argv[1:6]
POLL = int(sys.argv[6])




def docker(*args):
    return subprocess.run(["docker", "-H", "unix://" + DSOCK] + list(args),
                          capture_output=True, text=True, timeout=60)


def req(method, path, token=TOKEN, headers=None, body=None, src=None):
    """One request; src: a loopback source address of its own."""
    sock = None
    if src is not None:
        sock = socket.create_connection(("127.0.0.1", int(PORT)), 20,
                                        source_address=(src, 0))
    st, hdrs, data, _ = pwhttp.request(int(PORT), method, path, token=token,
                                       headers=headers, body=body, sock=sock)
    if sock is not None:
        sock.close()
    return st, hdrs, data


# ---- shape comparison -------------------------------------------------

def kind(v):
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, (int, float)):
        return "number"
    if isinstance(v, str):
        return "string"
    if isinstance(v, list):
        return "array"
    return "object"


def shape(example, live, optional, maps, path=""):
    """Differences between the live value's shape and the example's."""
    errs = []
    if kind(example) != kind(live):
        return ["%s: %s, reference has %s" % (path or "(body)", kind(live),
                                             kind(example))]
    if isinstance(example, list):
        if not example:
            if live:
                errs.append("%s: %d elements, reference has none" %
                            (path or "(body)", len(live)))
            return errs
        for e in live:
            errs += shape(example[0], e, optional, maps, path + "[]")
        return errs
    if isinstance(example, dict):
        if path in maps:
            if example:
                first = next(iter(example.values()))
                for k, v in live.items():
                    errs += shape(first, v, optional, maps, path + "." + k)
            return errs
        for k, v in example.items():
            p = path + "." + k if path else k
            if k not in live:
                if p not in optional:
                    errs.append("%s: missing" % p)
                continue
            errs += shape(v, live[k], optional, maps, p)
        for k in live:
            if k not in example:
                errs.append("%s: not in the reference" %
                            (path + "." + k if path else k))
    return errs


def check_shape(desc, entry, live, optional=None, maps=None):
    errs = shape(entry if optional is not None else entry["body"], live,
                 set(optional if optional is not None else entry["optional"]),
                 set(maps if maps is not None else entry["maps"]))
    check(desc, not errs, "; ".join(errs[:6]))


# ---- the corpus, route by route ---------------------------------------

def corpus():
    out = {}
    for f in sorted(glob.glob(os.path.join(CORPUS, "*.json"))):
        with open(f) as fh:
            out[os.path.basename(f)[:-5]] = json.load(fh)
    return out


def target(entry, cid):
    r = entry["request"]
    t = r["path"].replace("{id}", cid)
    return t + ("?" + r["query"] if r["query"] else "")


def ctype(hdrs):
    return hdrs.get("content-type")


def run_corpus(c, ids):
    for name, e in c.items():
        if e["bodyType"] == "sse":
            continue
        cid = ids["pwr-del" if e["request"]["method"] == "DELETE"
                  else "pwr-logs"]
        r = e["request"]
        body = r.get("body")
        hdrs = {}
        if body is not None:
            body = body.encode()
            hdrs["Content-Type"] = r.get("contentType", "application/json")
        st, h, data = req(r["method"], target(e, cid), headers=hdrs,
                          body=body)
        label = "%s (%s)" % (e["route"], name)
        check("%s: status %d" % (label, e["status"]), st == e["status"],
              "got %d %r" % (st, data[:200]))
        if e["contentType"] is None:
            check("%s: no body, no Content-Type" % label,
                  data == b"" and ctype(h) is None,
                  "Content-Type %r, body %r" % (ctype(h), data[:100]))
        else:
            check("%s: Content-Type %s" % (label, e["contentType"]),
                  ctype(h) == e["contentType"], "got %r" % ctype(h))
        if "exactBody" in e:
            check("%s: body byte for byte" % label,
                  data == e["exactBody"].encode(), "got %r" % data)
        elif e["bodyType"] == "json":
            try:
                live = json.loads(data)
            except ValueError:
                fail("%s: body is JSON (%r)" % (label, data[:100]))
                continue
            if isinstance(live, list) and e["body"]:
                check("%s: a non-empty answer to compare" % label, live)
            check_shape("%s: same shape as the reference" % label, e, live)
        elif e["bodyType"] == "text":
            check("%s: text body" % label, b"pwr-out" in data,
                  "got %r" % data[:200])


# ---- SSE ---------------------------------------------------------------

class SSE:
    def __init__(self):
        self.s = socket.create_connection(("127.0.0.1", int(PORT)), 20)
        self.s.sendall(("GET /api/events HTTP/1.1\r\nHost: p\r\n"
                        "Authorization: Bearer %s\r\n\r\n" % TOKEN).encode())
        self.status, self.hdrs, self.wire = pwhttp.read_head(self.s)
        self.chunked = self.hdrs.get("transfer-encoding") == "chunked"
        self.buf = b"" if self.chunked else self.wire
        self.raw = b""

    def dechunk(self):
        """Move whole chunks from the wire bytes to the event bytes."""
        while self.chunked:
            head, sep, rest = self.wire.partition(b"\r\n")
            if not sep:
                return
            n = int(head, 16)
            if len(rest) < n + 2:
                return
            self.buf += rest[:n]
            self.wire = rest[n + 2:]

    def next(self, timeout):
        end = time.time() + timeout
        self.dechunk()
        while b"\n\n" not in self.buf:
            left = end - time.time()
            if left <= 0:
                return None
            self.s.settimeout(left)
            try:
                d = self.s.recv(65536)
            except socket.timeout:
                return None
            if not d:
                return None
            if self.chunked:
                self.wire += d
                self.dechunk()
            else:
                self.buf += d
        frame, self.buf = self.buf.split(b"\n\n", 1)
        self.raw += frame + b"\n\n"
        return frame

    def event(self, timeout=5):
        f = self.next(timeout)
        if f is None or not f.startswith(b"data: "):
            return f
        return json.loads(f[6:])


def go_duration(s):
    h, m, sec = s // 3600, s % 3600 // 60, s % 60
    if h:
        return "%dh%dm%ds" % (h, m, sec)
    if m:
        return "%dm%ds" % (m, sec)
    return "%ds" % sec


def expect_event(c, ev, kind):
    """The next event of this kind arrives within 5 s, shaped as the
    reference's example of it."""
    got = None
    end = time.time() + 5
    while time.time() < end and got is None:
        x = c.event(max(0.1, end - time.time()))
        if isinstance(x, dict) and x.get("type") == kind:
            got = x
    check("SSE: %s arrives" % kind, got is not None)
    if got:
        r = ev[kind]
        check_shape("SSE: %s has the reference's shape" % kind,
                    r["example"], got, r["optional"], r["maps"])


def run_sse(e):
    c = SSE()
    check("SSE: 200", c.status == 200, "got %d" % c.status)
    check("SSE: chunked, as a streamed HTTP/1.1 answer is", c.chunked)
    for k, v in [("Content-Type", e["contentType"])] + list(
            e["headers"].items()):
        check("SSE: %s: %s" % (k, v), c.hdrs.get(k.lower()) == v,
              "got %r" % c.hdrs.get(k.lower()))
    ack, snap = c.event(), c.event()
    got = [x.get("type") if isinstance(x, dict) else x for x in (ack, snap)]
    check("SSE: the stream opens with %s" % " then ".join(e["first"]),
          got == e["first"], "got %r" % got)
    ev = {x["example"]["type"]: x for x in e["events"]}
    containers = []
    for x in (ack, snap):
        if isinstance(x, dict) and x.get("type") in ev:
            r = ev[x["type"]]
            check_shape("SSE: %s has the reference's shape" % x["type"],
                        r["example"], x, r["optional"], r["maps"])
    if isinstance(snap, dict) and snap.get("type") == "dd:watcher-snapshot":
        containers = snap["data"]["containers"]
        st, _, data = req("GET", "/api/containers")
        live = sorted(x["id"] for x in json.loads(data)) if st == 200 else []
        check("SSE: the snapshot lists what GET /api/containers lists",
              sorted(x["id"] for x in containers) == live)
    if isinstance(ack, dict):
        d = ack["data"]
        with open("/proc/meminfo") as fh:
            kb = int(re.search(r"MemTotal:\s+(\d+)", fh.read()).group(1))
        ids = {x["image"]["id"] for x in containers}
        running = sum(1 for x in containers if x["status"] == "running")
        want = {
            "os": "linux", "arch": ddmodel.go_arch(),
            "cpus": len(os.sched_getaffinity(0)),
            "memoryGb": round(kb / 1048576.0, 1),
            "pollInterval": go_duration(POLL),
            "containers": {"total": len(containers), "running": running,
                           "stopped": len(containers) - running},
            "images": len(ids),
        }
        bad = {k: (d.get(k), v) for k, v in want.items() if d.get(k) != v}
        check("dd:ack values: os, arch, cpus, memoryGb, pollInterval, "
              "counts, images", not bad, "agent/expected %r" % bad)
        check("dd:ack lastSeen is RFC 3339 UTC with second precision",
              re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ",
                           d.get("lastSeen", "")), d.get("lastSeen"))
        check("dd:ack uptimeSeconds is a whole number >= 0",
              isinstance(d.get("uptimeSeconds"), int) and
              d["uptimeSeconds"] >= 0, repr(d.get("uptimeSeconds")))
        check("dd:ack version is the agent's", d.get("version") ==
              os.environ.get("PW_VERSION"), "%r" % d.get("version"))
    # A change: one added, then one removed, each shaped as the reference.
    r = docker("run", "-d", "--name", "pwr-sse", IMAGE, "sleep", "60")
    check("a container for the SSE changes is started (listed by default)", r.returncode == 0,
          r.stderr)
    expect_event(c, ev, "dd:container-added")
    docker("rm", "-f", "pwr-sse")
    expect_event(c, ev, "dd:container-removed")
    lines = [ln for ln in c.raw.split(b"\n") if ln]
    check("SSE: every line is 'data: {...}' (no event:, id:, retry:, "
          "comments)", all(ln.startswith(b"data: {") for ln in lines),
          repr([ln[:30] for ln in lines if not ln.startswith(b"data: {")]))
    c.s.close()


# ---- statuses the reference gives -------------------------------------

def run_statuses(c, ids):
    # Authentication: every route needs it.  Each attempt comes from an
    # address of its own: ten failures from one address engage the
    # per-address limiter (429), which is not what is tested here.
    for i, e in enumerate(c.values()):
        r = e["request"]
        st, _, _ = req(r["method"], target(e, ids["pwr-logs"]), token=None,
                       src="127.0.0.%d" % (20 + i))
        check("%s without a token: 401" % e["route"], st == 401,
              "got %d" % st)
    # Watchers.
    st, h, data = req("GET", "/api/watchers/DOCKER/Docker")
    check("GET /api/watchers/DOCKER/Docker matches case-insensitively",
          st == 200 and json.loads(data)["name"] == "docker",
          "%d %r" % (st, data[:100]))
    st, h, data = req("GET", "/api/watchers/docker/nope")
    check("unknown watcher: 404 'watcher docker/nope not found'",
          st == 404 and data.strip() == b"watcher docker/nope not found",
          "%d %r" % (st, data))
    # Logs: tail must be an integer > 0.
    lg = "/api/containers/%s/logs" % ids["pwr-logs"]
    for q in ("tail=0", "tail=abc", "tail=-3", "tail="):
        st, _, data = req("GET", lg + "?" + q)
        check("logs ?%s: 400" % q, st == 400, "got %d %r" % (st, data[:80]))
    st, _, data = req("GET", lg + "?tail=1")
    check("logs ?tail=1: the last line only", st == 200 and
          data == b"pwr-err 2\n", "%d %r" % (st, data))
    st, h, data = req("GET", lg)
    check("logs: stdout and stderr demultiplexed, no frame headers",
          data == b"pwr-out 1\npwr-err 1\npwr-out 2\npwr-err 2\n",
          repr(data))
    st, _, data = req("GET", lg + "?timestamps=true&tail=1")
    check("logs ?timestamps=true: Docker's timestamps lead the line",
          re.fullmatch(rb"\d{4}-\d\d-\d\dT[\d:.]+Z pwr-err 2\n", data),
          repr(data))
    st, _, data = req("GET", "/api/containers/%s/logs" % ids["pwr-tty"])
    check("logs of a TTY container: passed through raw",
          st == 200 and data == b"pwr-tty 1\r\npwr-tty 2\r\n", repr(data))
    st, _, data = req("GET", "/api/containers/pwr-nosuch/logs")
    check("logs of an unknown container: 500 'getting logs: ...'",
          st == 500 and data.startswith(b"getting logs: ") and
          b"No such container" in data, "%d %r" % (st, data[:200]))
    st, _, data = req("GET", "/api/containers/-bad/logs")
    check("logs with an invalid id: 500 'getting logs: ...'",
          st == 500 and data.startswith(b"getting logs: "),
          "%d %r" % (st, data[:200]))
    # Follow: chunked, the next line arrives while the stream stays open.
    s = socket.create_connection(("127.0.0.1", int(PORT)), 10)
    s.sendall(("GET /api/containers/%s/logs?follow=1&tail=1 HTTP/1.1\r\n"
               "Host: p\r\nAuthorization: Bearer %s\r\n\r\n" %
               (ids["pwr-follow"], TOKEN)).encode())
    st, h, buf = pwhttp.read_head(s)
    end = time.time() + 5
    s.settimeout(1)
    while buf.count(b"tick") < 3 and time.time() < end:
        try:
            d = s.recv(4096)
        except socket.timeout:
            continue
        if not d:
            break
        buf += d
    s.close()
    check("logs ?follow=1: chunked, new lines keep coming",
          st == 200 and h.get("transfer-encoding") == "chunked" and
          buf.count(b"tick") >= 3, "%d %r %r" % (st, h, buf[:200]))
    # DELETE: 204, then 404 with Docker's message.
    st, _, data = req("DELETE", "/api/containers/" + ids["pwr-del"])
    check("DELETE a removed container again: 404 naming it",
          st == 404 and data.startswith(b"removing container: ") and
          b"No such container" in data, "%d %r" % (st, data[:200]))
    gone = docker("inspect", "pwr-del")
    check("the deleted (running) container is gone from Docker",
          gone.returncode != 0)
    st, _, data = req("DELETE", "/api/containers/-bad")
    check("DELETE with an invalid id: 500", st == 500,
          "%d %r" % (st, data[:200]))
    # Methods.
    for m, p, allow in (("POST", "/api/containers", "GET, HEAD"),
                        ("PUT", "/api/events", "GET, HEAD"),
                        ("GET", "/api/triggers/docker/update", "POST"),
                        ("DELETE", "/api/log/entries", "GET, HEAD")):
        st, h, _ = req(m, p)
        check("%s %s: 405, Allow: %s" % (m, p, allow),
              st == 405 and h.get("allow") == allow,
              "%d Allow %r" % (st, h.get("allow")))
    st, h, data = req("HEAD", "/api/containers")
    check("HEAD /api/containers: 200, Content-Length, no body",
          st == 200 and int(h.get("content-length", "0")) > 0 and
          data == b"", "%d %r %r" % (st, h, data[:50]))


def main():
    c = corpus()
    ids = {}
    for n in ("pwr-logs", "pwr-tty", "pwr-del", "pwr-follow"):
        r = docker("inspect", "-f", "{{.Id}}", n)
        ids[n] = r.stdout.strip()
    run_corpus(c, ids)
    time.sleep(1)  # the DELETE above reaches the inventory
    run_sse(c["events"])
    # The DELETE corpus entry removed pwr-del; run_statuses checks that.
    run_statuses(c, ids)
    return 1 if tap.nfail else 0


if __name__ == "__main__":
    sys.exit(main())
