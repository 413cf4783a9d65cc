#!/usr/bin/python3
"""metrics.py: GET /metrics, /_portwing/metrics and /_portwing/info against
the contract (reference http-and-auth.md sections 7.2, 10, 6.1, 6.7).

  metrics.py main  PORT TOKEN DOCKER_SOCK PW_PID PW_LOG
  metrics.py cache PORT TOKEN DOCKER_SOCK PW_PID PW_LOG

Environment: PW_VERSION (portwing version), PW_AGENT_ID, PW_AGENT_NAME,
PW_DOCKER_ROOT, PW_IMAGE.

main  expects an agent started with METRICS_INTERVAL=1, DD_POLL_INTERVAL=1,
      DOCKER_ROOT=PW_DOCKER_ROOT, AGENT_ID/AGENT_NAME, WORKERS=2 and
      LOG_LEVEL=debug, and the containers t-metrics.sh made: pwm-a and
      pwm-b running, pwm-s stopped.  It creates (and removes) pwm-c.
cache expects METRICS_INTERVAL=3600, SKIP_DF_COLLECTION=true and
      DD_POLL_INTERVAL=1; it creates pwm-late.

Every request uses its own connection with "Connection: close" and is
read to EOF: the worker accounts a request before it closes the
connection, so when a client has seen EOF its request is in the counters.
Prints TAP lines; exit status 1 when anything failed.  Standard library
only."""
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
from tap import ok, fail, check  # noqa: E402
import tap  # noqa: E402

MODE = sys.argv[1]
PORT = int(sys.argv[2])
TOKEN, DSOCK = sys.argv[3], sys.argv[4]
PW_PID = int(sys.argv[5])
PW_LOG = sys.argv[6]
IMAGE = os.environ.get("PW_IMAGE", "pwtest-bb")
CTYPE = "text/plain; version=0.0.4; charset=utf-8"
BUCKETS = ["0.001", "0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5",
           "1", "2.5", "5", "10", "+Inf"]
CFAMS = ["container_cpu_usage_seconds_total", "container_memory_usage_bytes",
         "container_network_receive_bytes_total",
         "container_network_transmit_bytes_total"]




def note(msg):
    for line in str(msg).splitlines():
        print("# " + line, flush=True)


def docker(*args):
    return subprocess.run(["docker", "-H", "unix://" + DSOCK] + list(args),
                          capture_output=True, text=True, timeout=120)


def inspect_id(name):
    return docker("inspect", "--format", "{{.Id}}", name).stdout.strip()


# ---- HTTP ----------------------------------------------------------------

def dechunk(data):
    out = b""
    while True:
        head, data = data.split(b"\r\n", 1)
        n = int(head.split(b";")[0], 16)
        if n == 0:
            return out
        out += data[:n]
        data = data[n + 2:]


def http(path, token=TOKEN, src=None, method="GET"):
    """One request on a fresh connection, read to EOF.
    Returns (status, headers with lower-case names, body bytes)."""
    s = socket.create_connection(("127.0.0.1", PORT), 30,
                                 source_address=(src, 0) if src else None)
    h = "%s %s HTTP/1.1\r\nHost: portwing\r\nConnection: close\r\n" % (
        method, path)
    if token is not None:
        h += "Authorization: Bearer %s\r\n" % token
    s.sendall((h + "\r\n").encode())
    data = b""
    while True:
        c = s.recv(65536)
        if not c:
            break
        data += c
    s.close()
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1]) if lines[0] else 0
    hdrs = {}
    for line in lines[1:]:
        k, _, v = line.partition(":")
        hdrs[k.strip().lower()] = v.strip()
    if hdrs.get("transfer-encoding") == "chunked":
        body = dechunk(body)
    return status, hdrs, body


# ---- the exposition --------------------------------------------------------

SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?[ \t]+(\S+)$')
LABEL = re.compile(r'\s*([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"\s*,?')


def unescape(v):
    return re.sub(r'\\(.)', lambda m: "\n" if m.group(1) == "n"
                  else m.group(1), v)


class Scrape:
    def __init__(self, text):
        self.text = text
        self.samples = []       # (name, {labels}, float value)
        self.bad = []
        for line in text.splitlines():
            if not line or line.startswith("#"):
                continue
            m = SAMPLE.match(line)
            if not m:
                self.bad.append(line)
                continue
            labels, rest = {}, m.group(2) or ""
            while rest:
                lm = LABEL.match(rest)
                if not lm:
                    self.bad.append(line)
                    break
                labels[lm.group(1)] = unescape(lm.group(2))
                rest = rest[lm.end():]
            try:
                v = float(m.group(3))
            except ValueError:
                self.bad.append(line)
                continue
            self.samples.append((m.group(1), labels, v))

    def series(self, name):
        return [(lb, v) for n, lb, v in self.samples if n == name]

    def get(self, name, **labels):
        """The value of the series with exactly these labels, or None."""
        for n, lb, v in self.samples:
            if n == name and lb == labels:
                return v
        return None

    def get0(self, name, **labels):
        v = self.get(name, **labels)
        return 0 if v is None else v

    def names(self):
        return {n for n, _, _ in self.samples}

    def total(self, name):
        return sum(v for _, v in self.series(name))


def scrape(path="/metrics"):
    st, hdrs, body = http(path)
    if st != 200:
        raise RuntimeError("GET %s: status %d, %r" % (path, st, body[:200]))
    return Scrape(body.decode("utf-8"))


def promtool(text):
    """(exit status, output) of promtool check metrics on text."""
    with tempfile.TemporaryFile() as f:
        f.write(text.encode("utf-8"))
        f.seek(0)
        r = subprocess.run(["promtool", "check", "metrics"], stdin=f,
                           capture_output=True, text=True, timeout=60)
    return r.returncode, (r.stdout + r.stderr).strip()


def wait_for(what, fn, deadline=20):
    """Poll fn until it returns a true value (it is returned) or deadline."""
    end = time.monotonic() + deadline
    while True:
        v = fn()
        if v or time.monotonic() > end:
            return v
        time.sleep(0.25)


# ---- per-container series ----------------------------------------------------

def container_series(s, cid, name):
    """Problems with the four families for one running container."""
    why = []
    for fam in CFAMS:
        hits = [(lb, v) for lb, v in s.series(fam)
                if lb.get("id") == cid or lb.get("name") == name]
        if len(hits) != 1:
            why.append("%s: %d series for %s" % (fam, len(hits), name))
            continue
        lb, v = hits[0]
        want = {"id": cid, "name": name, "image": IMAGE}
        if lb != want:
            why.append("%s labels %r, want %r" % (fam, lb, want))
        if v < 0:
            why.append("%s value %r" % (fam, v))
        if fam == "container_memory_usage_bytes" and v <= 0:
            why.append("memory usage %r of a running container" % v)
    return why


def container_absent(s, cid, name):
    return [fam for fam in CFAMS + ["container_spec_memory_limit_bytes"]
            for lb, _ in s.series(fam)
            if lb.get("id") == cid or lb.get("name") == name]


def docker_counts():
    run = docker("ps", "-q").stdout.split()
    every = docker("ps", "-aq").stdout.split()
    return len(run), len(every) - len(run)


# ---- worker processes ---------------------------------------------------------

def workers():
    """{slot: pid} of the live workers of PW_PID."""
    out = {}
    r = subprocess.run(["pgrep", "-P", str(PW_PID)], capture_output=True,
                       text=True)
    for p in r.stdout.split():
        try:
            with open("/proc/%s/cmdline" % p, "rb") as f:
                title = f.read().replace(b"\0", b" ").decode().strip()
        except OSError:
            continue
        m = re.match(r"portwingd: worker (\d+)", title)
        if m:
            out[int(m.group(1))] = int(p)
    return out


def owners_of(ports):
    """{client port: pid} for accepted connections of the agent's port."""
    out = subprocess.run(["ss", "-tnpH", "state", "established",
                          "( sport = :%d )" % PORT],
                         capture_output=True, text=True).stdout
    got = {}
    for line in out.splitlines():
        f = line.split()
        m = re.search(r"pid=(\d+)", line)
        if len(f) < 4 or not m:
            continue
        peer = int(f[3].rsplit(":", 1)[1])
        if peer in ports:
            got[peer] = int(m.group(1))
    return got


def ping_batch(n):
    """n connections held open until each is accepted (ss names the
    process that owns it), then GET /_ping on each.  Returns
    ([statuses], {pid: connections})."""
    socks = [socket.create_connection(("127.0.0.1", PORT), 30)
             for _ in range(n)]
    ports = {s.getsockname()[1] for s in socks}
    got = wait_for("accepted", lambda: (lambda g: g if len(g) == n else None)(
        owners_of(ports)), 10) or owners_of(ports)
    per = {}
    for pid in got.values():
        per[pid] = per.get(pid, 0) + 1
    if len(got) != n:
        per[None] = n - len(got)
    statuses = []
    for s in socks:
        s.sendall(("GET /_ping HTTP/1.1\r\nHost: portwing\r\nAuthorization: "
                   "Bearer %s\r\nConnection: close\r\n\r\n" % TOKEN).encode())
        data = b""
        while True:
            c = s.recv(65536)
            if not c:
                break
            data += c
        s.close()
        try:
            statuses.append(int(data.split(b" ", 2)[1]))
        except (IndexError, ValueError):
            statuses.append(0)
    return statuses, per


# ---- the checks -------------------------------------------------------------

def check_exposition(first):
    """1: promtool, Content-Type, 401 without a token, both paths."""
    texts = {}
    for path in ("/metrics", "/_portwing/metrics"):
        st, hdrs, body = http(path)
        check("%s: 200 with a token" % path, st == 200, "got %d" % st)
        check("%s: Content-Type is exactly %s" % (path, CTYPE),
              hdrs.get("content-type") == CTYPE,
              "got %r" % hdrs.get("content-type"))
        text = body.decode("utf-8", "replace")
        texts[path] = text
        check("%s: the container block is in the exposition checked" % path,
              "\ncontainer_cpu_usage_seconds_total{" in text,
              "no container_cpu_usage_seconds_total series (running "
              "containers are present)")
        rc, out = promtool(text)
        if out:
            note("promtool on %s said:\n%s" % (path, out))
        check("%s: promtool check metrics passes" % path, rc == 0,
              "exit status %d: %s" % (rc, out.splitlines()[:3]))
        sc = Scrape(text)
        check("%s: every sample line parses" % path, not sc.bad,
              "%r" % sc.bad[:3])
        if path == "/metrics":
            first.append(sc)
        st, _, _ = http(path, token=None, src="127.0.0.3")
        check("%s: 401 without a token" % path, st == 401, "got %d" % st)
        st, _, _ = http(path, token=TOKEN + "x", src="127.0.0.3")
        check("%s: 401 with a wrong token" % path, st == 401, "got %d" % st)
    # promtool must be able to say no, or the checks above prove nothing.
    broken = texts["/metrics"].replace(
        "# TYPE portwing_uptime_seconds gauge",
        "# TYPE portwing_uptime_seconds gauge\n# TYPE portwing_uptime_seconds"
        " counter", 1)
    rc, _ = promtool(broken + 'portwing_broken{a="1" 1\n')
    check("promtool rejects a broken copy of the exposition", rc != 0,
          "exit status 0")
    # Same handler: the same families (# TYPE lines), in the same order.
    # (Series such as auth_failures_total{reason} appear once seen, and
    # the 401s above happened between the two scrapes.)
    a, b = [[ln for ln in texts[p].splitlines() if ln.startswith("# TYPE ")]
            for p in ("/metrics", "/_portwing/metrics")]
    check("/metrics and /_portwing/metrics give the same families in the "
          "same order", a == b and len(a) > 20, "%r vs %r" % (
              [x for x in a if x not in b], [x for x in b if x not in a]))


def check_containers_live():
    """2: per-container series, stopped containers absent, new ones seen
    after METRICS_INTERVAL=1."""
    ids = {n: inspect_id(n) for n in ("pwm-a", "pwm-b", "pwm-s")}
    for n in ("pwm-a", "pwm-b"):
        check("docker inspect gives %s a 64-hex ID" % n,
              re.fullmatch(r"[0-9a-f]{64}", ids[n]) is not None,
              repr(ids[n]))
    s = scrape()
    for n in ("pwm-a", "pwm-b"):
        why = container_series(s, ids[n], n)
        check("running %s: cpu, memory, rx, tx series with id (full), name "
              "and image labels" % n, not why, "; ".join(why))
    bad = container_absent(s, ids["pwm-s"], "pwm-s")
    check("stopped pwm-s has no container series", not bad, ", ".join(bad))

    r = docker("run", "-d", "--name", "pwm-c", IMAGE, "sleep", "300")
    cid = r.stdout.strip()
    check("docker run pwm-c", r.returncode == 0 and cid, r.stderr.strip())
    s = scrape()
    # Not asserted: whether the cache (collected < 1 s ago) already has it.
    note("right after docker run, pwm-c %s in the scrape" % (
        "is" if container_absent(s, cid, "pwm-c") else "is not"))
    got = wait_for("pwm-c", lambda: (lambda sc: sc if not container_series(
        sc, cid, "pwm-c") else None)(scrape()), 20)
    check("METRICS_INTERVAL=1: a container started later shows up in a "
          "scrape after the interval", got is not None,
          "pwm-c still missing after 20 s")
    docker("stop", "-t", "0", "pwm-c")
    gone = wait_for("pwm-c gone", lambda: not container_absent(
        scrape(), cid, "pwm-c"), 20)
    check("a container that stopped loses its series after the interval",
          gone, "pwm-c series still there after 20 s")
    docker("rm", "-f", "pwm-c")


def check_hundred():
    """3: 100 GET /_ping over both workers; counters and histogram exact."""
    w = workers()
    check("two workers are running", len(w) == 2, repr(w))
    s1 = scrape()
    c200 = s1.get0("portwing_http_requests_total", code="200", method="GET")
    cnt = s1.get0("portwing_http_request_duration_seconds_count")
    allowed = s1.get0("portwing_proxy_decisions_total", decision="allowed")
    statuses, per = [], {}
    for _ in range(10):
        st, p = ping_batch(10)
        statuses += st
        for k, v in p.items():
            per[k] = per.get(k, 0) + v
    note("connections per worker pid: %r (workers %r)" % (per, w))
    check("100 authenticated GET /_ping answered 200",
          statuses.count(200) == 100,
          "statuses %r" % sorted(set(statuses)))
    check("every connection was accepted by a worker",
          set(per) <= set(w.values()), repr(per))
    check("both workers served some of the 100 requests",
          all(per.get(p, 0) > 0 for p in w.values()), repr(per))
    s2 = scrape()
    # The first scrape is counted after it was answered: +1.
    d = s2.get0("portwing_http_requests_total", code="200",
                method="GET") - c200
    check("requests_total{code=200,method=GET} grew by exactly 100 + 1 "
          "(the earlier scrape)", d == 101, "grew by %g" % d)
    d = s2.get0("portwing_http_request_duration_seconds_count") - cnt
    check("duration_seconds_count grew by exactly 100 + 1", d == 101,
          "grew by %g" % d)
    d = s2.get0("portwing_proxy_decisions_total", decision="allowed") - allowed
    check("proxy_decisions_total{decision=allowed} grew with the 100 proxied "
          "requests", 100 <= d <= 102, "grew by %g" % d)
    check_histogram(s2)
    # Health routes are not counted (reference 10.1).
    sts = [http(p, token=None)[0] for p in ("/health", "/ready",
                                            "/_portwing/health")]
    s3 = scrape()
    d = s3.total("portwing_http_requests_total") - \
        s2.total("portwing_http_requests_total")
    check("health routes are not counted (requests_total +1: the scrape)",
          sts == [200, 200, 200] and d == 1,
          "statuses %r, grew by %g" % (sts, d))


def check_histogram(s):
    bk = s.series("portwing_http_request_duration_seconds_bucket")
    les = [lb.get("le") for lb, _ in bk]
    check("histogram buckets are le=%s" % ",".join(BUCKETS),
          les == BUCKETS and all(len(lb) == 1 for lb, _ in bk), repr(les))
    vals = [v for _, v in bk]
    check("histogram buckets are cumulative (non-decreasing)",
          all(a <= b for a, b in zip(vals, vals[1:])), repr(vals))
    inf = s.get("portwing_http_request_duration_seconds_bucket", le="+Inf")
    cnt = s.get("portwing_http_request_duration_seconds_count")
    check("bucket le=+Inf equals _count", inf is not None and inf == cnt,
          "+Inf %r, count %r" % (inf, cnt))
    tot = s.total("portwing_http_requests_total")
    check("_count equals the sum of portwing_http_requests_total",
          cnt == tot, "count %r, requests %r" % (cnt, tot))
    sm = s.get("portwing_http_request_duration_seconds_sum")
    check("_sum is present and positive", sm is not None and sm > 0,
          repr(sm))


def check_auth_failures():
    """4: bad_token per attempt, the 11th failure gets 429."""
    src = "127.0.0.5"
    s0 = scrape()
    bad0 = s0.get0("portwing_auth_failures_total", reason="bad_token")
    rl0 = s0.get0("portwing_rate_limited_total")
    r401 = s0.get0("portwing_http_requests_total", code="401", method="GET")
    r429 = s0.get0("portwing_http_requests_total", code="429", method="GET")
    st, _, _ = http("/_ping", token="wrong-token", src=src)
    check("a wrong token gets 401", st == 401, "got %d" % st)
    s = scrape()
    d = s.get0("portwing_auth_failures_total", reason="bad_token") - bad0
    check("auth_failures_total{reason=bad_token} grew by 1 after one wrong "
          "token", d == 1, "grew by %g" % d)
    sts = [http("/_ping", token="wrong-token", src=src)[0] for _ in range(9)]
    check("failures 2..10 from %s get 401" % src, sts == [401] * 9, repr(sts))
    s = scrape()
    d = s.get0("portwing_auth_failures_total", reason="bad_token") - bad0
    check("bad_token grew by 1 per attempt (10)", d == 10, "grew by %g" % d)
    d = s.get0("portwing_http_requests_total", code="401",
               method="GET") - r401
    check("requests_total{code=401,method=GET} grew by 10", d == 10,
          "grew by %g" % d)
    d = s.get0("portwing_rate_limited_total") - rl0
    check("no 429 counted yet", d == 0, "grew by %g" % d)
    st, _, _ = http("/_ping", token="wrong-token", src=src)
    check("the 11th failure from %s gets 429" % src, st == 429, "got %d" % st)
    st, _, _ = http("/_ping", src=src)
    check("the right token from the blocked %s gets 429 too" % src,
          st == 429, "got %d" % st)
    s = scrape()
    d = s.get0("portwing_rate_limited_total") - rl0
    check("rate_limited_total grew by 2 (the two 429s)", d == 2,
          "grew by %g" % d)
    d = s.get0("portwing_auth_failures_total", reason="bad_token") - bad0
    check("a 429 is not an auth failure (bad_token still +10)", d == 10,
          "grew by %g" % d)
    d = s.get0("portwing_http_requests_total", code="429",
               method="GET") - r429
    check("requests_total{code=429,method=GET} grew by 2", d == 2,
          "grew by %g" % d)
    reasons = {lb.get("reason") for lb, _ in
               s.series("portwing_auth_failures_total")}
    check("auth failure reasons are the reference's names",
          reasons <= {"bad_token", "no_credentials", "timestamp-skew",
                      "replay", "unknown-key", "invalid-signature"},
          repr(reasons))


def check_in_flight():
    """5: the scrape itself is in flight; an SSE client adds one."""
    s = scrape()
    v = s.get("portwing_http_requests_in_flight")
    check("requests_in_flight is 1 during a lone scrape", v == 1, repr(v))
    sse = socket.create_connection(("127.0.0.1", PORT), 30)
    sse.sendall(("GET /api/events HTTP/1.1\r\nHost: portwing\r\n"
                 "Authorization: Bearer %s\r\n\r\n" % TOKEN).encode())
    data = b""
    while b"\n\n" not in data.partition(b"\r\n\r\n")[2]:
        c = sse.recv(65536)
        if not c:
            break
        data += c
    check("SSE GET /api/events answers 200 and a first event",
          data.startswith(b"HTTP/1.1 200") and b"data: " in data,
          repr(data[:120]))
    v = scrape().get("portwing_http_requests_in_flight")
    check("requests_in_flight is 2 while an SSE client is connected",
          v == 2, repr(v))
    sse.close()
    v = wait_for("in_flight back", lambda: (lambda x: x if x == 1 else None)(
        scrape().get("portwing_http_requests_in_flight")), 20)
    check("requests_in_flight is back to 1 after the SSE client left",
          v == 1, "still %r after 20 s" % scrape().get(
              "portwing_http_requests_in_flight"))


def log_has(pattern):
    try:
        with open(PW_LOG, errors="replace") as f:
            return re.search(pattern, f.read()) is not None
    except OSError:
        return False


def check_restart():
    """6: kill -9 a worker; restarts_total for it is 1; counters kept."""
    w = workers()
    slot = max(w) if w else 1
    s1 = scrape()
    req1 = s1.total("portwing_http_requests_total")
    cnt1 = s1.get0("portwing_http_request_duration_seconds_count")
    c200 = s1.get0("portwing_http_requests_total", code="200", method="GET")
    for lb, v in s1.series("portwing_process_restarts_total"):
        if v != 0:
            fail("before the kill: restarts %r is %g" % (lb, v))
    os.kill(w[slot], 9)
    neww = wait_for("restart", lambda: (lambda x: x if slot in x and
                    x[slot] != w[slot] else None)(workers()), 20)
    if not check("the master restarts worker %d after kill -9" % slot,
                 neww is not None, "no new worker %d after 20 s" % slot):
        return
    # The master logs (debug) when the new worker said READY; it gets the
    # listener and its channels right after that.
    ready = wait_for("ready", lambda: log_has(
        r"worker %d ready \(pid %d\)" % (slot, neww[slot])), 20)
    check("restarted worker %d reports ready" % slot, ready,
          "no 'worker %d ready (pid %d)' in the log" % (slot, neww[slot]))
    time.sleep(0.2)
    s2 = scrape()
    want = {"authd": 0, "proxy": 0}
    for i in w:
        want["worker %d" % i] = 1 if i == slot else 0
    got = {lb.get("process"): v for lb, v in
           s2.series("portwing_process_restarts_total")}
    check("process_restarts_total: worker %d is 1, the others 0" % slot,
          got == want, "got %r, want %r" % (got, want))
    req2 = s2.total("portwing_http_requests_total")
    cnt2 = s2.get0("portwing_http_request_duration_seconds_count")
    check("requests_total did not go backwards after the restart "
          "(exactly +1: the scrape before the kill)", req2 == req1 + 1,
          "before %g, after %g" % (req1, req2))
    check("duration_seconds_count did not go backwards (exactly +1)",
          cnt2 == cnt1 + 1, "before %g, after %g" % (cnt1, cnt2))
    d = s2.get0("portwing_http_requests_total", code="200",
                method="GET") - c200
    check("requests_total{code=200} kept the killed worker's share (+1)",
          d == 1, "grew by %g" % d)
    # The restarted worker serves and counts.
    statuses, per = ping_batch(10)
    s3 = scrape()
    d = s3.get0("portwing_http_requests_total", code="200",
                method="GET") - c200
    check("10 more requests after the restart are counted (+1+10+1)",
          statuses == [200] * 10 and d == 12,
          "statuses %r, grew by %g; per worker %r" % (statuses, d, per))
    v = s3.get("portwing_http_requests_in_flight")
    check("requests_in_flight is 1 after the restart", v == 1, repr(v))


def meminfo_total():
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) * 1024
    return None


def check_host(first, skip_df):
    """7: memory, disk (DOCKER_ROOT or SKIP_DF_COLLECTION), cpu."""
    if first is not None:
        v = first.get("portwing_host_cpu_usage_percent")
        check("host_cpu_usage_percent is 0 on the first collection", v == 0,
              repr(v))
    s = scrape()
    v = s.get("portwing_host_memory_total_bytes")
    want = meminfo_total()
    check("host_memory_total_bytes equals MemTotal*1024", v == want,
          "got %r, want %r" % (v, want))
    u = s.get("portwing_host_memory_used_bytes")
    check("0 < host_memory_used_bytes <= total", u is not None and want and
          0 < u <= want, repr(u))
    t = s.get("portwing_host_disk_total_bytes")
    u = s.get("portwing_host_disk_used_bytes")
    if skip_df:
        check("SKIP_DF_COLLECTION=true: disk total and used are present "
              "and 0", t == 0 and u == 0, "total %r, used %r" % (t, u))
    else:
        root = os.environ["PW_DOCKER_ROOT"]
        st = os.statvfs(root)
        want = st.f_blocks * st.f_bsize
        check("host_disk_total_bytes equals f_blocks*f_bsize of DOCKER_ROOT "
              "%s" % root, t == want, "got %r, want %r" % (t, want))
        check("0 < host_disk_used_bytes <= total", u is not None and
              t is not None and 0 < u <= t, "used %r total %r" % (u, t))
    for n in ("portwing_host_network_receive_bytes_total",
              "portwing_host_network_transmit_bytes_total"):
        v = s.get(n)
        check("%s present and >= 0" % n, v is not None and v >= 0, repr(v))
    v = s.get("portwing_host_cpu_usage_percent")
    check("host_cpu_usage_percent is within [0, 100] on a later scrape",
          v is not None and 0 <= v <= 100, repr(v))


def check_inventory():
    """8: portwing_containers matches the private dockerd."""
    last = {}

    def match():
        want = docker_counts()
        s = scrape()
        got = (s.get("portwing_containers", state="running"),
               s.get("portwing_containers", state="stopped"))
        last["v"] = (got, want)
        return got == want
    good = wait_for("inventory", match, 20)
    check("portwing_containers{state=running,stopped} match docker ps",
          good, "(running, stopped) agent %r, docker %r" % last["v"])


def check_info():
    """9: GET /_portwing/info."""
    st, hdrs, body = http("/_portwing/info")
    check("/_portwing/info: 200", st == 200, "got %d" % st)
    check("/_portwing/info: Content-Type application/json",
          hdrs.get("content-type") == "application/json",
          repr(hdrs.get("content-type")))
    try:
        pairs = json.loads(body, object_pairs_hook=lambda p: p)
    except ValueError as e:
        fail("/_portwing/info: JSON body: %s (%r)" % (e, body[:200]))
        return
    keys = [k for k, _ in pairs]
    want = ["agentId", "agentName", "capabilities", "dockerVersion",
            "hostname", "mode", "uptime", "version"]
    check("/_portwing/info: keys exactly %s in this order" % ",".join(want),
          keys == want, repr(keys))
    d = dict(pairs)
    check("capabilities list",
          d.get("capabilities") == ["exec", "metrics", "events", "mcp",
                                    "dd:container-sync", "dd:logs"],
          repr(d.get("capabilities")))
    dv = docker("version", "--format", "{{.Server.Version}}").stdout.strip()
    check("dockerVersion is the private dockerd's", dv and
          d.get("dockerVersion") == dv, "got %r, want %r" % (
              d.get("dockerVersion"), dv))
    check("mode standard", d.get("mode") == "standard", repr(d.get("mode")))
    check("uptime is a Go duration string",
          isinstance(d.get("uptime"), str) and re.fullmatch(
              r"([0-9]+h)?([0-9]+m)?[0-9.]+(s|ms)", d["uptime"]) is not None,
          repr(d.get("uptime")))
    check("AGENT_ID honoured", d.get("agentId") ==
          os.environ.get("PW_AGENT_ID"), repr(d.get("agentId")))
    check("AGENT_NAME honoured", d.get("agentName") ==
          os.environ.get("PW_AGENT_NAME"), repr(d.get("agentName")))
    check("hostname is the host's", d.get("hostname") ==
          socket.gethostname(), repr(d.get("hostname")))
    check("version is the agent's", d.get("version") ==
          os.environ.get("PW_VERSION"), repr(d.get("version")))
    st, _, _ = http("/_portwing/info", token=None, src="127.0.0.3")
    check("/_portwing/info: 401 without a token", st == 401, "got %d" % st)


def check_cache():
    """2 (cache): METRICS_INTERVAL=3600 serves the first collection."""
    ids = {n: inspect_id(n) for n in ("pwm-a", "pwm-b")}
    s = first = scrape()
    for n in ("pwm-a", "pwm-b"):
        why = container_series(s, ids[n], n)
        check("first scrape: %s has its container series" % n, not why,
              "; ".join(why))
    r = docker("run", "-d", "--name", "pwm-late", IMAGE, "sleep", "300")
    cid = r.stdout.strip()
    run = docker("inspect", "--format", "{{.State.Running}}", "pwm-late")
    check("docker run pwm-late (running)", r.returncode == 0 and
          run.stdout.strip() == "true", r.stderr.strip())
    # Wait until the agent's inventory (polled every second) counts it, so
    # the agent demonstrably knows about it, then look at the series.
    last = {}

    def seen():
        sc = scrape()
        last["s"] = sc
        return sc.get("portwing_containers", state="running") == \
            docker_counts()[0]
    check("the inventory counts pwm-late as running", wait_for("inv", seen,
          20), "portwing_containers{state=running} %r, docker %r" % (
              last["s"].get("portwing_containers", state="running"),
              docker_counts()[0]))
    time.sleep(1.5)     # past any short interval: the cache must still hold
    s = scrape()
    bad = container_absent(s, cid, "pwm-late")
    check("METRICS_INTERVAL=3600: a container started after the first "
          "scrape is not in a later scrape (cache)", not bad,
          "series %s" % ", ".join(bad))
    for n in ("pwm-a", "pwm-b"):
        why = container_series(s, ids[n], n)
        check("cached scrape still has %s" % n, not why, "; ".join(why))
    rc, out = promtool(s.text)
    check("promtool check metrics passes on a cached scrape", rc == 0, out)
    # Only the container stats are cached: the HTTP counters are live.
    a = first.total("portwing_http_requests_total")
    b = s.total("portwing_http_requests_total")
    check("the HTTP counters are not cached (requests_total grew between "
          "the first and the last scrape)", b > a, "%g then %g" % (a, b))


def main():
    try:
        if MODE == "main":
            first = []
            check_exposition(first)
            check_info()
            check_host(first[0] if first else None, skip_df=False)
            check_containers_live()
            check_inventory()
            check_hundred()
            check_auth_failures()
            check_in_flight()
            check_restart()
        else:
            check_host(None, skip_df=True)
            check_cache()
    except Exception as e:  # noqa: BLE001 - report, do not hide
        import traceback
        fail("metrics.py %s died: %s" % (MODE, e))
        note(traceback.format_exc())
    return 1 if tap.nfail else 0


if __name__ == "__main__":
    sys.exit(main())
