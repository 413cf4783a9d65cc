#!/usr/bin/python3
"""audit_check.py: the audit trail seen from outside (t-audit.sh): the
sink's lines (AUDIT_LOG), the ring (GET /_portwing/audit) and the export
(GET /_portwing/audit/export), against reference section 11 and DESIGN.md.

    audit_check.py events PORT TOKEN SINK KEYDIR CONTAINER
        make every event type (each from a source address of its own) and
        check its fields in the sink file and in the ring; the ring's list
        semantics (newest first, limit, Cache-Control, count)
    audit_check.py export PORT TOKEN SINK
        export headers, paging with cursors interleaved with new records
        (every cursor exactly once, cursor == seq), 400s and 409s
    audit_check.py smallbuf PORT TOKEN    (AUDIT_BUFFER_SIZE=5)
    audit_check.py nobuf PORT TOKEN       (AUDIT_BUFFER_SIZE=0)
    audit_check.py denied PORT TOKEN SINK (the hooks build: proxy_denied)
    audit_check.py sinkfile FILE [continues|fresh]
        every line of FILE is a whole, well-formed sink line, chained
        (independently of `portwing audit-verify`)
    audit_check.py stream FILE
        FILE (a daemon's stdout+stderr) holds sink lines for api_request
    audit_check.py flood PORT TOKEN N
        N authenticated GET /_ping on keep-alive connections, all 200
    audit_check.py field FILE LINE KEY    print a member of a sink line
    audit_check.py dropped FILE           print the sum of declared gaps
    audit_check.py metric PORT TOKEN NAME print a /metrics sample
    audit_check.py ping PORT TOKEN [N]    N authenticated GET /_ping

Prints TAP lines ("ok - ", "not ok - "); exit status 1 when anything
failed.  Standard library only (pwsign.py, which the events command uses
for signed requests, needs python3-cryptography)."""
import hashlib
import http.client
import json
import os
import re
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pwhttp  # noqa: E402
from tap import ok, fail, check  # noqa: E402
import tap  # noqa: E402

ZERO = "0" * 64
TIME_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d*[1-9])?Z$")
HEX64 = re.compile(r"^[0-9a-f]{64}$")
# Reference 11.1 (and proxy_denied, portwing's own): a sink line's
# members after "event", in order; then portwing's own: status and reason
# of refusals, the principal (and a key principal's key_id) of every
# record (DESIGN.md, "Audit").  "?": present only when non-empty.
SINK_FIELDS = {
    "api_request": ["actor", "method", "path", "outcome", "status",
                    "duration_ms", "principal", "key_id?"],
    "auth_failure": ["actor", "method", "path", "outcome", "status",
                     "reason", "principal", "key_id?"],
    "rate_limited": ["actor", "method", "path", "outcome", "status",
                     "reason", "principal", "key_id?"],
    "exec_start": ["actor", "container", "exec_id", "outcome", "principal",
                   "key_id?"],
    "enrollment": ["actor", "key_id?", "outcome", "status", "reason?",
                   "principal"],
    "proxy_denied": ["actor", "method", "path", "outcome", "reason",
                     "principal", "key_id?"],
}
# Reference 11.2: the ring record's members after cursor, ts, event (and
# portwing's principal last).
RING_ORDER = ["actor", "method", "path", "outcome", "status", "duration_ms",
              "operation", "stack", "container", "exec_id", "key_id",
              "reason", "principal"]




def note(msg):
    print("# " + msg, flush=True)


def pairs_hook(pairs):
    keys = [k for k, _ in pairs]
    if len(set(keys)) != len(keys):
        raise ValueError("duplicate member in %r" % keys)
    return pairs


def parse_ordered(text):
    """A JSON object as its list of (key, value) pairs, in order."""
    return json.loads(text, object_pairs_hook=pairs_hook)


# ---- the sink ----------------------------------------------------------

class Line:
    def __init__(self, no, raw):
        self.no = no
        self.raw = raw
        self.pairs = parse_ordered(raw.decode("utf-8"))
        self.keys = [k for k, _ in self.pairs]
        self.d = dict(self.pairs)

    def __getitem__(self, k):
        return self.d[k]

    def get(self, k, dflt=None):
        return self.d.get(k, dflt)


def read_sink(path):
    """(lines, problems): every whole line of the file, parsed."""
    try:
        data = open(path, "rb").read()
    except FileNotFoundError:
        return [], []
    probs = []
    if data and not data.endswith(b"\n"):
        probs.append("the file does not end with a newline")
    out = []
    for i, raw in enumerate(data.split(b"\n")[:-1] if data.endswith(b"\n")
                            else data.split(b"\n"), 1):
        try:
            out.append(Line(i, raw))
        except ValueError as e:
            probs.append("line %d is not a JSON object: %s" % (i, e))
    return out, probs


def stream_lines(path):
    """Sink lines among a daemon's other output (AUDIT_LOG=stdout)."""
    out = []
    for i, raw in enumerate(open(path, "rb").read().split(b"\n"), 1):
        if not raw.startswith(b'{"time":'):
            continue
        try:
            ln = Line(i, raw)
        except ValueError:
            continue
        if "seq" in ln.d and "event" in ln.d:
            out.append(ln)
    return out


def sink_shape(ln):
    """What is wrong with one sink line's members (empty: nothing)."""
    probs = []
    ev = ln.get("event")
    if ev not in SINK_FIELDS:
        return ["unknown event %r" % ev]
    want = ["time", "level", "msg", "event"]
    for f in SINK_FIELDS[ev]:
        if f.endswith("?"):
            if f[:-1] in ln.d:
                want.append(f[:-1])
        else:
            want.append(f)
    want.append("seq")
    if "dropped" in ln.d:
        want.append("dropped")
    want += ["prev", "hash"]
    if ln.keys != want:
        probs.append("members %s, want %s" % (ln.keys, want))
    if ln.get("level") != "INFO" or ln.get("msg") != "":
        probs.append("level/msg %r/%r" % (ln.get("level"), ln.get("msg")))
    t = ln.get("time", "")
    if not isinstance(t, str) or not TIME_RE.match(t):
        probs.append("time %r is not RFC 3339 UTC with trimmed nanoseconds"
                     % t)
    else:
        secs = time.mktime(time.strptime(t[:19], "%Y-%m-%dT%H:%M:%S")) - \
            time.timezone
        if abs(secs - time.time()) > 600:
            probs.append("time %s is not now" % t)
    if ev == "api_request":
        if not isinstance(ln.get("status"), int):
            probs.append("status %r" % ln.get("status"))
        dm = ln.get("duration_ms")
        if not isinstance(dm, (int, float)) or isinstance(dm, bool) or dm < 0:
            probs.append("duration_ms %r" % dm)
    for k in ("actor", "method", "path", "outcome", "container", "exec_id",
              "key_id", "reason", "principal"):
        if k in ln.d and not isinstance(ln[k], str):
            probs.append("%s is not a string" % k)
    seq = ln.get("seq")
    if not isinstance(seq, int) or isinstance(seq, bool) or seq < 1:
        probs.append("seq %r" % seq)
    if "dropped" in ln.d and (not isinstance(ln["dropped"], int)
                              or ln["dropped"] < 1):
        probs.append("dropped %r" % ln["dropped"])
    h = ln.get("hash", "")
    body = ln.raw[:ln.raw.rfind(b',"hash":"')]
    if not isinstance(h, str) or not HEX64.match(h):
        probs.append("hash %r" % h)
    elif hashlib.sha256(body).hexdigest() != h:
        probs.append("hash is not SHA-256 of the line up to its hash")
    if not isinstance(ln.get("prev"), str) or not HEX64.match(ln["prev"]):
        probs.append("prev %r" % ln.get("prev"))
    return probs


def chain_problems(lines, start_prev=None):
    """Chain faults between lines: seq + 1 + dropped, prev = hash before."""
    probs = []
    for a, b in zip(lines, lines[1:]):
        want = a["seq"] + 1 + b.get("dropped", 0)
        if b["seq"] != want:
            probs.append("line %d: seq %d after %d (dropped %d)" % (
                b.no, b["seq"], a["seq"], b.get("dropped", 0)))
        if b["prev"] != a["hash"]:
            probs.append("line %d: prev is not the hash of line %d" % (
                b.no, a.no))
    if lines and start_prev is not None and lines[0]["prev"] != start_prev:
        probs.append("line 1: prev %s, want %s" % (lines[0]["prev"],
                                                   start_prev))
    return probs


def ring_expect(ln, raw=None):
    """The ring record a sink line implies (reference 11.2); raw: values
    the ring holds unsanitised."""
    rec = [("cursor", ln["seq"]), ("ts", ln["time"]), ("event", ln["event"])]
    for k in RING_ORDER:
        v = (raw or {}).get(k, ln.get(k))
        if v is None or v == "" or (k in ("status", "duration_ms")
                                    and v == 0):
            continue
        rec.append((k, v))
    return rec


def same_record(got, want):
    """Ring pairs against expected pairs: same keys in order, same values
    (numbers compared as numbers)."""
    if [k for k, _ in got] != [k for k, _ in want]:
        return False
    for (_, a), (_, b) in zip(got, want):
        if isinstance(a, (int, float)) and isinstance(b, (int, float)):
            if abs(a - b) > 1e-9:
                return False
        elif a != b:
            return False
    return True


def wait_sink(path, pred, secs=15):
    """Re-read the sink until pred(lines) holds; the last lines read."""
    end = time.time() + secs
    while True:
        lines, _ = read_sink(path)
        if pred(lines) or time.time() > end:
            return lines
        time.sleep(0.05)


# ---- HTTP --------------------------------------------------------------

class Agent:
    def __init__(self, port, token):
        self.port = int(port)
        self.token = token

    def req(self, method, path, token=True, src=None, headers=None,
            body=None):
        sock = socket.create_connection(
            ("127.0.0.1", self.port), 20,
            source_address=(src, 0) if src else None)
        tok = self.token if token is True else (token or None)
        try:
            st, hdrs, data, up = pwhttp.request(self.port, method, path, tok,
                                                body, headers, sock=sock)
        finally:
            sock.close()
        return st, hdrs, data

    def audit(self, query=""):
        st, h, data = self.req("GET", "/_portwing/audit" + query)
        try:
            obj = parse_ordered(data.decode())
        except ValueError:
            obj = None
        return st, h, data, obj

    def export(self, query=""):
        """(status, headers, body, [record pairs])."""
        st, h, data = self.req("GET", "/_portwing/audit/export" + query)
        recs = []
        if st == 200:
            for raw in data.decode().split("\n"):
                if raw:
                    recs.append(parse_ordered(raw))
        return st, h, data, recs


def hv(h, name):
    v = h.get(name.lower())
    try:
        return int(v)
    except (TypeError, ValueError):
        return v


def ring_records(obj):
    """The records of a /_portwing/audit answer as ordered pairs."""
    d = dict(obj) if obj else {}
    return d.get("records") or []


def cur(rec):
    return dict(rec).get("cursor")


# ---- events ------------------------------------------------------------

def cmd_events(port, token, sink, keydir, cid):
    import base64
    import pwsign
    a = Agent(port, token)
    ip = lambda n: "127.0.31.%d" % n  # noqa: E731
    expect = {}     # actor -> [(event, {member: value}), ...] in order
    k1 = pwsign.load(keydir + "/k1.pem")
    k2 = pwsign.load(keydir + "/k2.pem")
    ek = pwsign.load(keydir + "/ek.pem")

    # api_request: status as written, path decoded without its query.
    sts = []
    for path, want_path in [
            ("/_ping", "/_ping"),
            ("/containers/json?all=1&limit=2", "/containers/json"),
            ("/containers/pwa-no-such-ctr/json", "/containers/pwa-no-such-ctr/json"),
            ("/v1.41/containers/%s/json" % cid.replace("-", "%2D"),
             "/v1.41/containers/%s/json" % cid)]:
        st, _, _ = a.req("GET", path, src=ip(1))
        sts.append(st)
        expect.setdefault(ip(1), []).append(("api_request", {
            "method": "GET", "path": want_path, "outcome": "allowed",
            "status": st, "principal": "token"}))
    check("api_request: requests answered 200, 200, 404, 200 (%s)" % sts,
          sts == [200, 200, 404, 200])
    st, _, _ = a.req("DELETE", "/containers/pwa-no-such-ctr", src=ip(1))
    expect[ip(1)].append(("api_request", {
        "method": "DELETE", "path": "/containers/pwa-no-such-ctr",
        "outcome": "allowed", "status": 404, "principal": "token"}))
    # Reference 11.2: the sink writes CR and LF in string values as the
    # two characters \r and \n; the ring keeps the raw value.
    st, _, _ = a.req("GET", "/containers/pwa-a%0Ab%0D/json", src=ip(13))
    expect[ip(13)] = [("api_request", {
        "method": "GET", "path": "/containers/pwa-a\\nb\\r/json",
        "outcome": "allowed", "status": st, "principal": "token"})]
    raw = {ip(13): {"path": "/containers/pwa-a\nb\r/json"}}
    # A signed request: the actor is still the client's address; the
    # principal names the key.
    st, _, _ = pwsign.send(a.port, "GET", "/_ping",
                           pwsign.headers(k1, "GET", "/_ping"), source=ip(2))
    check("signed request answered 200 (%d)" % st, st == 200)
    id1, id2 = pwsign.key_id(k1), pwsign.key_id(k2)
    expect[ip(2)] = [("api_request", {"method": "GET", "path": "/_ping",
                                      "outcome": "allowed", "status": 200,
                                      "principal": "key:" + id1,
                                      "key_id": id1})]

    # auth_failure: bad token, no token, unknown key, bad signature; each
    # with its status, its reason and the principal it claimed.
    r = []
    r.append(a.req("GET", "/info", token="not-the-token", src=ip(3))[0])
    expect[ip(3)] = [("auth_failure", {"method": "GET", "path": "/info",
                                       "outcome": "denied", "status": 401,
                                       "reason": "bad_token",
                                       "principal": "token"})]
    r.append(a.req("GET", "/version?x=1", token=None, src=ip(4))[0])
    expect[ip(4)] = [("auth_failure", {"method": "GET", "path": "/version",
                                       "outcome": "denied", "status": 401,
                                       "reason": "bad_token",
                                       "principal": "none"})]
    st, why, _ = pwsign.send(a.port, "GET", "/_ping",
                             pwsign.headers(k2, "GET", "/_ping"), source=ip(5))
    r.append((st, why))
    expect[ip(5)] = [("auth_failure", {"method": "GET", "path": "/_ping",
                                       "outcome": "denied", "status": 401,
                                       "reason": "unknown-key",
                                       "principal": "key:" + id2,
                                       "key_id": id2})]
    h = pwsign.headers(k1, "GET", "/containers/json")
    st, why, _ = pwsign.send(a.port, "GET", "/images/json", h, source=ip(6))
    r.append((st, why))
    expect[ip(6)] = [("auth_failure", {"method": "GET", "path": "/images/json",
                                       "outcome": "denied", "status": 401,
                                       "reason": "invalid-signature",
                                       "principal": "key:" + id1,
                                       "key_id": id1})]
    check("auth failures answered 401 (%s)" % r,
          r == [401, 401, (401, "unknown-key"), (401, "invalid-signature")])

    # rate_limited: ten failures, then the 11th (and a good token) get 429.
    r = [a.req("GET", "/_ping", token="bad-%d" % i, src=ip(7))[0]
         for i in range(11)]
    r.append(a.req("GET", "/_ping", src=ip(7))[0])
    check("ten failures 401, the 11th and a valid token then 429 (%s)" % r,
          r == [401] * 10 + [429, 429])
    expect[ip(7)] = [("auth_failure", {"method": "GET", "path": "/_ping",
                                       "outcome": "denied", "status": 401,
                                       "reason": "bad_token",
                                       "principal": "token"})] * 10 + \
        [("rate_limited", {"method": "GET", "path": "/_ping",
                           "outcome": "denied", "status": 429,
                           "reason": "address-limit",
                           "principal": "token"})] * 2

    # enrollment: wrong token (denied), bad JSON (no record), success
    # (allowed, key_id), already used (denied).
    pub = base64.b64encode(pwsign.raw_pub(ek)).decode()
    kid = pwsign.key_id(ek)

    def enroll(src, body):
        st, _, data = a.req("POST", "/api/portwing/enroll", token=None,
                            src=src, body=body,
                            headers={"Content-Type": "application/json"})
        return st, data.decode().strip()
    r = [enroll(ip(8), json.dumps({"enrollment_token": "nope",
                                   "public_key": pub}).encode()),
         enroll(ip(9), b"not json"),
         enroll(ip(10), json.dumps({"enrollment_token": "pwa-enroll",
                                    "public_key": pub}).encode()),
         enroll(ip(11), json.dumps({"enrollment_token": "pwa-enroll",
                                    "public_key": pub}).encode())]
    check("enrollment answers 401, 400, 200 with the key ID, 401 (%s)" % r,
          [s for s, _ in r] == [401, 400, 200, 401] and
          json.loads(r[2][1]).get("key_id") == kid)
    en = {"principal": "enrollment-token"}
    expect[ip(8)] = [("enrollment", dict(en, outcome="denied", status=401,
                                         reason="wrong-token"))]
    expect[ip(9)] = []
    expect[ip(10)] = [("enrollment", dict(en, outcome="allowed", status=200,
                                          key_id=kid))]
    expect[ip(11)] = [("enrollment", dict(en, outcome="denied", status=401,
                                          reason="token-already-used"))]

    # exec_start: a hijacked exec start, with a version prefix.
    sock = socket.create_connection(("127.0.0.1", a.port), 20,
                                    source_address=(ip(12), 0))
    st, _, data, _ = pwhttp.request(a.port, "POST", "/containers/%s/exec" % cid,
                                    token, {"Cmd": ["echo", "pwa-exec-out"],
                                            "AttachStdout": True,
                                            "AttachStderr": True}, sock=sock)
    sock.close()
    eid = json.loads(data)["Id"] if st == 201 else "none"
    sock = socket.create_connection(("127.0.0.1", a.port), 20,
                                    source_address=(ip(12), 0))
    start = "/v1.41/exec/%s/start" % eid
    st2, _, rest, s = pwhttp.request(a.port, "POST", start, token,
                                     {"Detach": False, "Tty": False},
                                     {"Connection": "Upgrade",
                                      "Upgrade": "tcp"}, sock=sock)
    out = pwhttp.demux(pwhttp.read_all(sock, rest)) if st2 == 101 else b""
    sock.close()
    check("exec created (201) and started hijacked (101) with its output "
          "(%d %d %r)" % (st, st2, out),
          st == 201 and st2 == 101 and out == b"pwa-exec-out\n")
    # DESIGN.md: the api_request of an upgraded request is written when the
    # session ends, with status 101 (a documented difference).
    expect[ip(12)] = [
        ("api_request", {"method": "POST", "path": "/containers/%s/exec" % cid,
                         "outcome": "allowed", "status": 201,
                         "principal": "token"}),
        ("exec_start", {"container": start, "exec_id": eid,
                        "outcome": "allowed", "principal": "token"}),
        ("api_request", {"method": "POST", "path": start,
                         "outcome": "allowed", "status": 101,
                         "principal": "token"})]

    for actor in expect:
        for _, m in expect[actor]:
            m["actor"] = actor

    def have_all(lines):
        got = {}
        for ln in lines:
            got.setdefault(ln.get("actor"), []).append(ln)
        return all(len(got.get(k, [])) >= len(v) for k, v in expect.items())
    lines = wait_sink(sink, have_all)
    # Give stragglers (records that must not be there) a moment too.
    time.sleep(0.3)
    lines, probs = read_sink(sink)
    check("sink: every line whole and JSON (%d lines)" % len(lines),
          not probs, probs)
    bad = [(ln.no, p) for ln in lines for p in sink_shape(ln)]
    check("sink: every line has the reference's members in order, INFO, "
          "RFC 3339 time, a correct hash", not bad, bad[:5])
    cp = chain_problems(lines, ZERO)
    check("sink: seq from 1 without gaps, each prev the hash before "
          "(independent check)", not cp and lines and lines[0]["seq"] == 1,
          cp[:5])
    by_actor = {}
    for ln in lines:
        by_actor.setdefault(ln.get("actor"), []).append(ln)

    labels = {ip(1): "api_request (200, 404, decoded path, no query)",
              ip(2): "api_request of a signed request (actor = IP, "
                     "principal and key_id = the key)",
              ip(3): "auth_failure: bad token (401, bad_token, token)",
              ip(4): "auth_failure: no token (401, bad_token, none)",
              ip(5): "auth_failure: unknown key (401, unknown-key, the key)",
              ip(6): "auth_failure: bad signature (401, invalid-signature, "
                     "the key)",
              ip(7): "10 auth_failure then rate_limited (429, "
                     "address-limit) for the 11th and the next",
              ip(8): "enrollment denied (401, wrong-token), no key_id",
              ip(9): "no record for an enrollment 400",
              ip(10): "enrollment allowed (200) with key_id",
              ip(11): "enrollment denied (401, token-already-used)",
              ip(12): "exec_start (container = request path, exec_id) "
                      "between the api_requests",
              ip(13): "api_request with CR/LF in its path: the sink has "
                      "the two characters \\n, \\r, the ring the raw "
                      "value"}
    st, hdrs, data, obj = a.audit()
    ring = {cur(rc): rc for rc in ring_records(obj)}
    for actor, want in expect.items():
        got = by_actor.get(actor, [])
        summary = [(ln["event"], {k: ln.get(k) for k in m})
                   for ln, (_, m) in zip(got, want)]
        same = len(got) == len(want) and all(
            g[0] == w[0] and g[1] == w[1] for g, w in zip(summary, want))
        why = "got %s" % [(ln["event"], ln.d) for ln in got][:4]
        if actor == ip(9) and got:
            why = ("BUG (authd/authd.c enroll_answer audits every status "
                   "but 404; reference 6.6: no enrollment record for "
                   "400/413/500): " + why)
        if actor == ip(13) and got and "\n" in got[0].get("path", ""):
            why = ("BUG (proxy/audit.c sink_object writes CR/LF raw; "
                   "reference 11.2 sanitising): path %r" % got[0]["path"])
        check("sink: %s" % labels[actor], same, why)
        missing = [ln["seq"] for ln in got
                   if not same_record(ring.get(ln["seq"], []),
                                      ring_expect(ln, raw.get(actor)))]
        in_ring = [c for c, rc in sorted(ring.items())
                   if dict(rc).get("actor") == actor]
        check("ring: %s (cursor = seq, same fields, empty ones left out)"
              % labels[actor], not missing and len(in_ring) == len(want),
              ("BUG (authd/authd.c enroll_answer, as above): "
               if actor == ip(9) and in_ring else "") + "%d records for %s, want %d; seqs %s: ring %s, want %s" % (
                  len(in_ring), actor, len(want), missing,
                  [ring.get(s) for s in missing[:1]],
                  [ring_expect(ln, raw.get(actor)) for ln in got
                   if ln["seq"] in missing[:1]]))
    en = by_actor.get(ip(8), [])
    check("sink: a denied enrollment has no key_id member",
          en and "key_id" not in en[0].d)
    api = [ln for ln in lines if ln["event"] == "api_request"]
    check("sink: every api_request has status and duration_ms",
          api and all("status" in ln.d and "duration_ms" in ln.d
                      for ln in api))

    # ---- GET /_portwing/audit ----
    recs = ring_records(obj)
    cs = [cur(rc) for rc in recs]
    check("list: 200, application/json, Cache-Control: no-store (%d %s %s)"
          % (st, hdrs.get("content-type"), hdrs.get("cache-control")),
          st == 200 and hdrs.get("content-type", "").startswith(
              "application/json") and hdrs.get("cache-control") == "no-store")
    check("list: {\"records\":[...],\"count\":N} with N = %d records"
          % len(recs), obj and [k for k, _ in obj] == ["records", "count"]
          and dict(obj)["count"] == len(recs))
    check("list: newest first, every cursor from the newest down to 1 "
          "(%s..%s)" % (cs[:1], cs[-1:]),
          cs and cs == list(range(cs[0], 0, -1)))
    check("list: the newest record is the newest line in the sink",
          cs and cs[0] >= lines[-1]["seq"])
    bad = [c for c in cs if not isinstance(dict(ring[c]).get("ts"), str) or
           list(dict(ring[c]))[:3] != ["cursor", "ts", "event"]]
    check("list: every record starts with cursor, ts, event", not bad, bad)
    st, hdrs, _, small = a.audit("?limit=3")
    st2, _, _, full = a.audit()
    s3, f = ring_records(small), ring_records(full)
    check("list ?limit=3: the 3 newest records, newest first",
          st == 200 and len(s3) == 3 and dict(small)["count"] == 3 and
          [cur(x) for x in s3] == [cur(s3[0]), cur(s3[0]) - 1,
                                   cur(s3[0]) - 2] and
          cur(s3[0]) <= cur(f[0]) and
          s3 == [x for x in f if cur(x) <= cur(s3[0])][:3] and
          hdrs.get("cache-control") == "no-store")
    for q in ("?limit=0", "?limit=-1", "?limit=abc", "?limit="):
        st, _, _, o = a.audit(q)
        rr = ring_records(o)
        check("list %s: every record (%d, newest %s)" % (
            q, len(rr), cur(rr[0]) if rr else None),
            st == 200 and rr and len(rr) == cur(rr[0]) and
            dict(o)["count"] == len(rr))


# ---- export ------------------------------------------------------------

def export_headers_ok(h):
    return all(k in h for k in ("x-portwing-next-cursor",
                                "x-portwing-record-count",
                                "x-portwing-oldest-cursor",
                                "x-portwing-latest-cursor")) and \
        h.get("content-type") == "application/x-ndjson" and \
        h.get("cache-control") == "no-store"


def cmd_export(port, token, sink):
    a = Agent(port, token)
    st, h, data, recs = a.export()
    cs = [cur(r) for r in recs]
    check("export: 200 NDJSON with the cursor headers and no-store (%s)"
          % sorted(k for k in h if k.startswith("x-portwing")),
          st == 200 and export_headers_ok(h), h)
    check("export without a cursor: oldest first from the oldest retained "
          "(%s..%s, oldest %s)" % (cs[:1], cs[-1:],
                                    h.get("x-portwing-oldest-cursor")),
          cs and cs[0] == hv(h, "X-Portwing-Oldest-Cursor") == 1 and
          cs == list(range(cs[0], cs[0] + len(cs))))
    check("export: Record-Count %s = lines %d, Next-Cursor %s = the last, "
          "Latest-Cursor %s" % (h.get("x-portwing-record-count"), len(cs),
                                h.get("x-portwing-next-cursor"),
                                h.get("x-portwing-latest-cursor")),
          cs and hv(h, "X-Portwing-Record-Count") == len(cs) and
          hv(h, "X-Portwing-Next-Cursor") == cs[-1] ==
          hv(h, "X-Portwing-Latest-Cursor") and data.endswith(b"\n"))
    first = {cur(r): r for r in recs}

    # Paging: limit=3, new records in between; then catch up.
    seen, cursor, pages, bad = [], 0, 0, []
    while pages < 200:
        st, h, _, page = a.export("?cursor=%d&limit=3" % cursor)
        pages += 1
        pc = [cur(r) for r in page]
        if st != 200 or not export_headers_ok(h) or len(pc) > 3 or \
                pc != list(range(cursor + 1, cursor + 1 + len(pc))) or \
                hv(h, "X-Portwing-Record-Count") != len(pc) or \
                hv(h, "X-Portwing-Next-Cursor") != (pc[-1] if pc else cursor):
            bad.append((cursor, st, pc, h.get("x-portwing-next-cursor")))
            break
        seen += pc
        for r in page:
            if cur(r) in first and r != first[cur(r)]:
                bad.append(("record %d changed" % cur(r)))
        cursor = hv(h, "X-Portwing-Next-Cursor")
        if pages <= 12:
            # New records of several kinds while the exporter pages.
            a.req("GET", "/_ping")
            a.req("GET", "/_ping", token="wrong", src="127.0.32.%d" % pages)
        elif len(pc) < 3:
            break
    latest = hv(h, "X-Portwing-Latest-Cursor")
    check("paging ?cursor=<next>&limit=3 (%d pages, %d interleaved "
          "requests): each page continues right after the cursor"
          % (pages, 24), not bad, bad[:3])
    check("paging: every cursor 1..%d exactly once, no gaps, no repeats"
          % (seen[-1] if seen else 0),
          seen and seen == list(range(1, seen[-1] + 1)) and
          seen[-1] == latest, "%d cursors, latest %s" % (len(seen), latest))
    # cursor == seq: every exported record is the sink line of that seq.
    lines = wait_sink(sink, lambda ls: ls and ls[-1]["seq"] >= seen[-1])
    by_seq = {ln["seq"]: ln for ln in lines}
    st, h, _, allrecs = a.export()
    # The sink writes CR/LF in values as the two characters \r and \n
    # (reference 11.2); the ring keeps them raw.
    def as_sink(rec):
        return [(k, v.replace("\r", "\\r").replace("\n", "\\n")
                 if isinstance(v, str) else v) for k, v in rec]
    mism = [r for r in allrecs if cur(r) in by_seq and
            not same_record(as_sink(r), ring_expect(by_seq[cur(r)]))] + \
        [c for c in seen if c not in by_seq]
    check("export: the record with cursor N is the sink line with seq N "
          "(%d records)" % len(allrecs), not mism, mism[:2])
    n = len([r for r in allrecs if dict(r)["event"] == "auth_failure" and
             dict(r)["actor"].startswith("127.0.32.")])
    check("paging: the interleaved failures were exported (%d)" % n, n == 12)

    # Explicit limits and cursors.
    st, h, _, rr = a.export("?cursor=0&limit=0")
    check("export cursor=0&limit=0: everything (%d)" % len(rr),
          st == 200 and rr and cur(rr[0]) == 1 and
          len(rr) == hv(h, "X-Portwing-Latest-Cursor"))
    st, h, _, rr = a.export("?limit=2")
    check("export limit=2 without a cursor: the 2 oldest, Next-Cursor 2",
          st == 200 and [cur(r) for r in rr] == [1, 2] and
          hv(h, "X-Portwing-Next-Cursor") == 2)
    for q, want_st, want_body in [
            ("?cursor=abc", 400, "invalid cursor"),
            ("?cursor=", 400, "invalid cursor"),
            ("?cursor", 400, "invalid cursor"),
            ("?cursor=-1", 400, "invalid cursor"),
            ("?cursor=1x", 400, "invalid cursor"),
            ("?limit=-1", 400, "invalid limit"),
            ("?limit=abc", 400, "invalid limit"),
            ("?cursor=1&limit=-1", 400, "invalid limit")]:
        st, h, data, _ = a.export(q)
        check("export %s: %d %s (%d %r)" % (q, want_st, want_body, st,
                                             data.decode().strip()),
              st == want_st and data.decode().strip() == want_body)
    st, h, _, _ = a.export("?limit=1")
    latest = hv(h, "X-Portwing-Latest-Cursor")
    big = latest + 1000
    st, h, data, _ = a.export("?cursor=%d" % big)
    check("export cursor beyond the latest (%d > %d): 409 newer, Next-Cursor "
          "oldest-1 = 0, headers, no-store (%d %r %s)" % (
              big, latest, st, data.decode().strip(),
              h.get("x-portwing-next-cursor")),
          st == 409 and data.decode().strip() ==
          "audit cursor is newer than the current buffer generation" and
          hv(h, "X-Portwing-Next-Cursor") == 0 and
          hv(h, "X-Portwing-Oldest-Cursor") == 1 and
          hv(h, "X-Portwing-Latest-Cursor") >= latest and
          h.get("cache-control") == "no-store")
    st, h, _, _ = a.export("?limit=1")
    latest = hv(h, "X-Portwing-Latest-Cursor")
    st, h, data, rr = a.export("?cursor=%d" % (latest - 2))
    cs = [cur(r) for r in rr]
    check("export from a recent cursor: only what came after it, in order "
          "(%d: %s)" % (latest - 2, cs),
          st == 200 and cs[:2] == [latest - 1, latest] and
          cs == list(range(latest - 1, latest - 1 + len(cs))) and
          hv(h, "X-Portwing-Next-Cursor") == cs[-1])
    st, _, _, _ = a.export("?cursor=18446744073709551616")
    check("export cursor past uint64: 400 (%d)" % st, st == 400)


def cmd_smallbuf(port, token):
    a = Agent(port, token)
    for _ in range(8):
        a.req("GET", "/_ping")
    st, h, _, rr = a.export()
    cs = [cur(r) for r in rr]
    oldest, latest = hv(h, "X-Portwing-Oldest-Cursor"), \
        hv(h, "X-Portwing-Latest-Cursor")
    check("AUDIT_BUFFER_SIZE=5: export holds the 5 newest (%s, oldest %s, "
          "latest %s)" % (cs, oldest, latest),
          st == 200 and len(cs) == 5 and cs[0] == oldest == latest - 4 and
          cs == list(range(oldest, latest + 1)))
    st, h, data, _ = a.export("?cursor=1")
    check("old cursor 1: 409 older than the retained buffer, Next-Cursor = "
          "oldest-1 (%d %r next %s oldest %s)" % (
              st, data.decode().strip(), h.get("x-portwing-next-cursor"),
              h.get("x-portwing-oldest-cursor")),
          st == 409 and data.decode().strip() ==
          "audit cursor is older than the retained buffer" and
          hv(h, "X-Portwing-Oldest-Cursor") > 2 and
          hv(h, "X-Portwing-Next-Cursor") ==
          hv(h, "X-Portwing-Oldest-Cursor") - 1 and
          h.get("cache-control") == "no-store")
    st, h, data, _ = a.export("?cursor=%d" % (hv(h, "X-Portwing-Oldest-Cursor")
                                              - 3))
    check("a cursor 2 below oldest-1: 409 too (%d)" % st, st == 409)
    # The 409 told the exporter where to go on: nothing to page back to.
    c = hv(h, "X-Portwing-Latest-Cursor") - 1
    st, h, data, rr = a.export("?cursor=%d" % c)
    cs = [cur(r) for r in rr]
    check("a cursor inside the buffer (%d): 200 with what follows it (%s)"
          % (c, cs), st == 200 and cs and
          cs == list(range(c + 1, c + 1 + len(cs))))
    st, h, _, o = a.audit()
    rr = ring_records(o)
    check("AUDIT_BUFFER_SIZE=5: /_portwing/audit lists 5, newest first",
          st == 200 and len(rr) == 5 and dict(o)["count"] == 5 and
          [cur(r) for r in rr] == list(range(cur(rr[0]), cur(rr[0]) - 5, -1)))
    st, h, _, o = a.audit("?limit=2")
    check("...and ?limit=2 caps it", len(ring_records(o)) == 2)


def cmd_nobuf(port, token):
    a = Agent(port, token)
    for _ in range(3):
        a.req("GET", "/_ping")
    st, h, data, o = a.audit()
    check("AUDIT_BUFFER_SIZE=0: /_portwing/audit is {\"records\":[],"
          "\"count\":0} (%r)" % data.decode().strip(),
          st == 200 and o is not None and json.loads(data) ==
          {"records": [], "count": 0} and [k for k, _ in o] ==
          ["records", "count"] and
          h.get("cache-control") == "no-store")
    st, h, data, rr = a.export()
    check("AUDIT_BUFFER_SIZE=0: export without a cursor: 200, empty, "
          "oldest 0 (%d %r)" % (st, data),
          st == 200 and data == b"" and hv(h, "X-Portwing-Record-Count") == 0
          and hv(h, "X-Portwing-Oldest-Cursor") == 0 and
          export_headers_ok(h))
    st, h, data, rr = a.export("?cursor=0")
    check("AUDIT_BUFFER_SIZE=0: cursor=0: 200 empty (%d)" % st,
          st == 200 and data == b"" and hv(h, "X-Portwing-Next-Cursor") == 0)
    for c in (1, 2, 1000):
        st, h, data, _ = a.export("?cursor=%d" % c)
        check("AUDIT_BUFFER_SIZE=0: cursor=%d: 409 (%d %r)" % (
            c, st, data.decode().strip()),
            st == 409 and "audit cursor is" in data.decode() and
            h.get("cache-control") == "no-store")


def cmd_denied(port, token, sink):
    a = Agent(port, token)
    st, _, data = a.req("POST", "/containers/create?name=pwa-denied-%d"
                        % os.getpid(), src="127.0.33.1",
                        body={"Image": "pwtest-bb"},
                        headers={"X-Portwing-Test-Approval": "forge"})
    check("forged approval refused with 403 (%d)" % st, st == 403)
    lines = wait_sink(sink, lambda ls: any(
        ln["event"] == "proxy_denied" for ln in ls))
    dn = [ln for ln in lines if ln["event"] == "proxy_denied"]
    check("sink: one proxy_denied line (%d)" % len(dn), len(dn) == 1)
    if not dn:
        return
    ln = dn[0]
    check("sink: proxy_denied members in order (%s)" % ln.keys,
          not sink_shape(ln), sink_shape(ln))
    check("sink: proxy_denied actor, method, decoded path, outcome, reason "
          "(%s)" % {k: ln.get(k) for k in SINK_FIELDS["proxy_denied"]},
          ln["actor"] == "127.0.33.1" and ln["method"] == "POST" and
          ln["path"] == "/containers/create" and ln["outcome"] == "denied"
          and "MAC does not match" in ln["reason"])
    st, h, _, o = a.audit()
    ring = {cur(r): r for r in ring_records(o)}
    check("ring: the proxy_denied record with cursor = seq and its reason",
          same_record(ring.get(ln["seq"], []), ring_expect(ln)),
          "%s vs %s" % (ring.get(ln["seq"]), ring_expect(ln)))


# ---- files -------------------------------------------------------------

def cmd_sinkfile(path, mode="fresh"):
    lines, probs = read_sink(path)
    data = open(path, "rb").read()
    check("%s: %d whole lines, each JSON and ending with a newline"
          % (os.path.basename(path), len(lines)),
          lines and not probs and data.endswith(b"\n") and
          data.count(b"\n") == len(lines), probs[:3])
    bad = [(ln.no, p) for ln in lines for p in sink_shape(ln)]
    check("%s: every line a well-formed sink line with its hash"
          % os.path.basename(path), not bad, bad[:3])
    cp = chain_problems(lines, ZERO if mode == "fresh" else None)
    check("%s: chained line to line (independent check)"
          % os.path.basename(path), not cp, cp[:3])


def cmd_stream(path):
    lines = stream_lines(path)
    api = [ln for ln in lines if ln["event"] == "api_request" and
           ln["path"] == "/_ping" and ln["status"] == 200]
    check("AUDIT_LOG=stdout: an api_request sink line for GET /_ping on the "
          "daemon's stdout (%d sink lines)" % len(lines), api)
    bad = [(ln.no, p) for ln in lines for p in sink_shape(ln)]
    check("AUDIT_LOG=stdout: the lines are whole sink lines, chained",
          lines and not bad and not chain_problems(lines, ZERO) and
          lines[0]["seq"] == 1, bad[:3] or chain_problems(lines, ZERO)[:3])


def cmd_flood(port, token, n):
    n = int(n)
    codes, reconnects = {}, 0
    c = http.client.HTTPConnection("127.0.0.1", int(port), timeout=20)
    h = {"Authorization": "Bearer " + token}
    for i in range(n):
        for attempt in (1, 2):
            try:
                c.request("GET", "/_ping", headers=h)
                r = c.getresponse()
                r.read()
                codes[r.status] = codes.get(r.status, 0) + 1
                break
            except (http.client.RemoteDisconnected, ConnectionResetError,
                    BrokenPipeError) as e:
                # The server closed an idle keep-alive connection: the
                # request never reached it; send it again once.
                c.close()
                c = http.client.HTTPConnection("127.0.0.1", int(port),
                                                timeout=20)
                reconnects += 1
                if attempt == 2:
                    codes[type(e).__name__] = codes.get(type(e).__name__,
                                                        0) + 1
    c.close()
    check("%d authenticated GET /_ping while the audit disk is full: all 200 "
          "(%s, %d reconnects)" % (n, codes, reconnects),
          codes == {200: n})


def cmd_field(path, line, key):
    lines, _ = read_sink(path)
    ln = lines[int(line) - 1] if line != "last" else lines[-1]
    v = ln.get(key)
    print(v if v is not None else "")


def cmd_dropped(path):
    """The sum of the gaps a sink file declares."""
    lines, _ = read_sink(path)
    print(sum(ln.get("dropped", 0) for ln in lines))


def cmd_metric(port, token, name):
    st, _, data = Agent(port, token).req("GET", "/metrics")
    for row in data.decode().split("\n"):
        if row.startswith(name + " "):
            print(row.split()[1])
            return
    print("")


def cmd_ping(port, token, n="1"):
    a = Agent(port, token)
    for _ in range(int(n)):
        a.req("GET", "/_ping")


def main():
    cmds = {"events": cmd_events, "export": cmd_export,
            "smallbuf": cmd_smallbuf, "nobuf": cmd_nobuf,
            "denied": cmd_denied, "sinkfile": cmd_sinkfile,
            "stream": cmd_stream, "flood": cmd_flood, "field": cmd_field, "dropped": cmd_dropped,
            "metric": cmd_metric, "ping": cmd_ping}
    cmds[sys.argv[1]](*sys.argv[2:])
    return 1 if tap.nfail else 0


if __name__ == "__main__":
    sys.exit(main())
