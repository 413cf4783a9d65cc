#!/usr/bin/python3
"""dagent_check.py: the dockeragent adapter (ADAPTER=dockeragent, its
/api/v1 and /health) against a real Docker Engine; driven by
t-dockeragent.sh.  One section per run, so that each can be run (and
fail) on its own:

  dagent_check.py api PORT TOKEN DSOCK IMAGE PREFIX
      /health, the API key (X-API-Key and Bearer, 401s), 404 and 405
      envelopes, Drydock's and the generic adapter's routes left to
      Docker, Docker's own API through the agent, POST /api/v1/files
      refused while HOST_FILES_ROOT is unset;
  dagent_check.py lifecycle PORT TOKEN DSOCK IMAGE PREFIX
      the container list against Docker's, inspect, stop (timeout,
      signal, validation), remove (force, v, validation);
  dagent_check.py create PORT TOKEN DSOCK IMAGE PREFIX
      POST /api/v1/containers: validation messages and their order,
      every field against docker inspect and inside the container,
      Docker's warnings and errors;
  dagent_check.py limits PORT TOKEN DSOCK IMAGE PREFIX
      100 requests a minute per address, the 10 MB body limit;
  dagent_check.py logs PORT TOKEN DSOCK IMAGE PREFIX
      logs: lines, tail, since, until, timestamps, TTY, errors, and
      follow=true as Server-Sent Events;
  dagent_check.py files PORT TOKEN DSOCK IMAGE PREFIX ROOT
      POST /api/v1/files with HOST_FILES_ROOT=ROOT;
  dagent_check.py alias PORT KEY
      an agent started with another spelling of its settings answers
      /health and takes KEY (X-API-Key and Bearer);
  dagent_check.py degraded PORT KEY
      an agent whose Docker is unreachable: /health 503 "degraded";
  dagent_check.py apiversion PORT KEY VERSION DSOCK
      an agent started with DOCKER_API_VERSION=VERSION makes its Docker
      calls with that version.

Containers, volumes and networks are named PREFIX-* (or labelled
pwda=PREFIX); t-dockeragent.sh removes them.  Requests come from
loopback addresses that change every few requests, so that the agent's
100-a-minute limit per address only bites where a check wants it to.
Prints TAP lines; exits 1 when anything failed.  Standard library only."""
import calendar
import hashlib
import json
import os
import random
import re
import socket
import stat
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pwhttp  # noqa: E402
from tap import fail, check, run_guarded  # noqa: E402
import tap  # noqa: E402

HEX64 = re.compile(r"[0-9a-f]{64}")
TS_SEC = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")
DOCKER_404 = {"message": "page not found"}
STATUS_TEXT = {400: "Bad Request", 401: "unauthorized", 403: "Forbidden",
               404: "Not Found", 405: "Method Not Allowed", 409: "Conflict",
               413: "Request Entity Too Large", 429: "Too Many Requests",
               500: "Internal Server Error", 502: "Bad Gateway",
               503: "Service Unavailable"}
UNAUTH = {"error": "unauthorized", "message": "missing or invalid API key",
          "status": 401}
MB10 = 10 * 1024 * 1024

PORT = TOKEN = DSOCK = IMAGE = P = None
SECTION_NET = {"api": 21, "lifecycle": 22, "create": 23, "logs": 24,
               "limits": 25, "files": 26, "alias": 27, "degraded": 28,
               "apiversion": 29, "fileshooks": 31, "filesallow": 32}
_src = {"net": 30, "n": 0}
_bad_src = [0]


def src_addr():
    """The next ordinary client address: a new one every 20 requests."""
    n = _src["n"] // 20
    _src["n"] += 1
    return "127.%d.%d.%d" % (_src["net"], n // 200, n % 200 + 1)


def bad_src():
    """An address of its own for a request that fails authentication
    (portwing's failed-attempt limiter counts them per address)."""
    _bad_src[0] += 1
    n = _bad_src[0] + 250 * (_src["net"] - 20)
    return "127.98.%d.%d" % (n // 250, n % 250 + 1)


# ------------------------------------------------------------ HTTP

R = pwhttp.Answer


def req(method, path, body=None, key="token", how="x-api-key", src=None,
        headers=None, timeout=30, port=None):
    """One request on a connection of its own.  body: dict/list (sent
    as JSON), str or bytes; key "token" means the agent's token; how:
    "x-api-key", "bearer" or None (no credential)."""
    if key == "token":
        key = TOKEN
    if isinstance(body, (dict, list)):
        body = json.dumps(body).encode()
    elif isinstance(body, str):
        body = body.encode()
    h = {"Host": "agent", "Connection": "close"}
    if how == "x-api-key" and key is not None:
        h["X-API-Key"] = key
    elif how == "bearer" and key is not None:
        h["Authorization"] = "Bearer " + key
    if body is not None:
        h["Content-Type"] = "application/json"
        h["Content-Length"] = str(len(body))
    h.update(headers or {})
    return R(*pwhttp.exchange(port or PORT, method, path, h, body, timeout,
                              src or src_addr()))


def envelope_problems(r, status, msg=None, prefix=None, contains=()):
    """What is wrong with r as the error envelope for status."""
    bad = []
    if r.status != status:
        bad.append("status %s, want %d" % (r.status, status))
    if not r.ctype.startswith("application/json"):
        bad.append("Content-Type %r" % r.ctype)
    j = r.json
    if not isinstance(j, dict):
        return bad + ["body %r is no JSON object" % r.body[:200]]
    if set(j) != {"error", "message", "status"}:
        bad.append("members %s, want error, message, status" % sorted(j))
    want_err = STATUS_TEXT.get(status)
    if j.get("error") != want_err:
        bad.append("error %r, want %r" % (j.get("error"), want_err))
    if j.get("status") != status:
        bad.append("status member %r" % (j.get("status"),))
    m = j.get("message")
    if not isinstance(m, str) or m == "":
        bad.append("message %r" % (m,))
        return bad
    if msg is not None and m != msg:
        bad.append("message %r, want %r" % (m, msg))
    if prefix is not None and not m.startswith(prefix):
        bad.append("message %r does not start %r" % (m, prefix))
    if isinstance(contains, str):
        contains = (contains,)
    for c in contains:
        if c not in m:
            bad.append("message %r lacks %r" % (m, c))
    return bad


def check_env(desc, r, status, msg=None, prefix=None, contains=()):
    p = envelope_problems(r, status, msg, prefix, contains)
    return check(desc, not p, "; ".join(p) + " -- answer: %r" % r)


def is_json_answer(r, status, want):
    return (r.status == status and r.ctype.startswith("application/json")
            and r.json == want)


# ---------------------------------------------------------- Docker

def dapi(method, path, body=None, raw=False, sock=None):
    """Docker's own answer, straight from the engine: (status, data)."""
    return pwhttp.docker_api(sock or DSOCK, method, path, body, raw)


def docker(*args, check_rc=True, timeout=60):
    r = subprocess.run(["docker", "-H", "unix://" + DSOCK] + list(args),
                       capture_output=True, text=True, timeout=timeout)
    if check_rc and r.returncode != 0:
        raise RuntimeError("docker %s: %s" % (" ".join(args), r.stderr))
    return r.stdout.strip()


def inspect(name):
    st, j = dapi("GET", "/containers/%s/json" % name)
    return j if st == 200 else None


def exists(name):
    return inspect(name) is not None


def wait_state(name, running, secs=10):
    end = time.time() + secs
    while time.time() < end:
        c = inspect(name)
        if c and c["State"]["Running"] == running and (
                running or c["State"]["Status"] in ("exited", "dead",
                                                    "created")):
            return c
        time.sleep(0.1)
    return inspect(name)


def docker_lines(name, query="", timestamps=False):
    """The container's log lines, stdout and stderr in Docker's order."""
    q = "stdout=1&stderr=1" + ("&timestamps=1" if timestamps else "")
    st, data = dapi("GET", "/containers/%s/logs?%s%s" % (name, q, query),
                    raw=True)
    c = inspect(name)
    text = data if c["Config"]["Tty"] else pwhttp.demux(data)
    text = text.decode()
    if text == "":
        return []
    lines = text.split("\n")
    if lines[-1] == "":
        lines.pop()
    return lines


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def rfc3339(s):
    m = re.fullmatch(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(\.\d+)?Z", s or "")
    if not m:
        return None
    t = calendar.timegm(time.strptime(m.group(1), "%Y-%m-%dT%H:%M:%S"))
    return t + (float("0" + m.group(2)) if m.group(2) else 0.0)


# ------------------------------------------------------------- api

def check_health(port=None, key=None):
    r = req("GET", "/health", how=None, port=port)
    j = r.json if isinstance(r.json, dict) else {}
    t = rfc3339(j.get("timestamp"))
    check("GET /health without a key: 200 application/json "
          "{status: ok, docker: connected, timestamp}",
          r.status == 200 and r.ctype.startswith("application/json") and
          set(j) == {"status", "docker", "timestamp"} and
          j.get("status") == "ok" and j.get("docker") == "connected", r)
    check("/health timestamp is RFC 3339 UTC to the second and now (%r)" %
          j.get("timestamp"),
          TS_SEC.fullmatch(j.get("timestamp") or "") and t is not None and
          abs(t - time.time()) < 5, j.get("timestamp"))


def run_api():
    check_health()
    r = req("GET", "/health")
    check("GET /health with the key: 200 too", r.status == 200 and
          (r.json or {}).get("status") == "ok", r)
    r = req("POST", "/health", body=b"")
    check_env("POST /health: 405 envelope", r, 405)

    # ---- the API key
    r = req("GET", "/api/v1/containers", how="x-api-key")
    check("GET /api/v1/containers with X-API-Key: 200 {containers: [...]}",
          r.status == 200 and isinstance((r.json or {}).get("containers"),
                                         list), r)
    r = req("GET", "/api/v1/containers", how="bearer")
    check("GET /api/v1/containers with Authorization: Bearer: 200",
          r.status == 200 and isinstance((r.json or {}).get("containers"),
                                         list), r)
    r = req("GET", "/api/v1/containers", how=None,
            headers={"x-api-key": TOKEN})
    check("the header name in lower case (x-api-key): 200", r.status == 200,
          r)
    noauth = P + "-noauth"
    routes = [("GET", "/api/v1/containers", None),
              ("GET", "/api/v1/containers?all=true", None),
              ("POST", "/api/v1/containers", {"image": IMAGE,
                                              "name": noauth,
                                              "cmd": ["sleep", "60"]}),
              ("GET", "/api/v1/containers/%s-x" % P, None),
              ("POST", "/api/v1/containers/%s-x/stop" % P, {}),
              ("DELETE", "/api/v1/containers/%s-x?force=true" % P, None),
              ("GET", "/api/v1/containers/%s-x/logs" % P, None),
              ("GET", "/api/v1/containers/%s-x/logs?follow=true" % P, None),
              ("POST", "/api/v1/files", {"path": "/tmp/%s-na" % P,
                                         "content": "x"})]
    creds = [(None, None, "no key"),
             ("x-api-key", "wrong-" + TOKEN, "a wrong X-API-Key"),
             ("x-api-key", TOKEN[:-1], "X-API-Key one character short"),
             ("x-api-key", TOKEN + "x", "X-API-Key one character long"),
             ("x-api-key", TOKEN.upper(), "X-API-Key in upper case"),
             ("bearer", "wrong-" + TOKEN, "a wrong Bearer token")]
    for m, path, body in routes:
        for how, key, what in creds:
            if what not in ("no key", "a wrong X-API-Key",
                            "a wrong Bearer token") and \
                    path != "/api/v1/containers":
                continue
            r = req(m, path, body=body, key=key, how=how, src=bad_src())
            check("%s %s with %s: 401 %s" % (m, path, what,
                                             json.dumps(UNAUTH)),
                  is_json_answer(r, 401, UNAUTH), r)
    check("the unauthenticated create made no container",
          not exists(noauth))
    check("the unauthenticated file write wrote nothing",
          not os.path.exists("/tmp/%s-na" % P))

    # ---- unknown paths, wrong methods
    for path in ("/api/v1/nosuch", "/api/v1/", "/api/v1/version",
                 "/api/v1/events", "/api/v1/containers/%s-x/nosuch" % P,
                 "/api/v1/containers/%s-x/stop/more" % P):
        r = req("GET", path)
        check_env("GET %s: 404 envelope" % path, r, 404)
    for m, path in (("PUT", "/api/v1/containers"),
                    ("DELETE", "/api/v1/containers"),
                    ("PATCH", "/api/v1/containers"),
                    ("POST", "/api/v1/containers/%s-x" % P),
                    ("PUT", "/api/v1/containers/%s-x" % P),
                    ("GET", "/api/v1/containers/%s-x/stop" % P),
                    ("DELETE", "/api/v1/containers/%s-x/stop" % P),
                    ("POST", "/api/v1/containers/%s-x/logs" % P),
                    ("GET", "/api/v1/files"),
                    ("PUT", "/api/v1/files")):
        r = req(m, path, body=b"" if m in ("PUT", "POST", "PATCH") else None)
        check_env("%s %s: 405 envelope" % (m, path), r, 405)

    # ---- routes that are not the agent's in this mode
    for path in ("/api/containers", "/api/events", "/api/watchers",
                 "/api/containers/%s-x/logs" % P):
        r = req("GET", path, how="bearer")
        check("dockeragent mode: GET %s falls through to Docker's 404" %
              path, r.status == 404 and r.json == DOCKER_404, r)
    st, dl = dapi("GET", "/containers/json?all=1")
    r = req("GET", "/containers/json?all=1", how="bearer")
    check("Docker's API through the agent: GET /containers/json?all=1 with "
          "the Bearer token is Docker's list",
          r.status == 200 and isinstance(r.json, list) and
          {c["Id"] for c in r.json} == {c["Id"] for c in dl}, r)
    r = req("GET", "/containers/json", how="x-api-key")
    check("Docker's API through the agent with X-API-Key: 200 list",
          r.status == 200 and isinstance(r.json, list), r)
    r = req("GET", "/_ping", how="bearer")
    check("GET /_ping through the agent: 200 OK", r.status == 200 and
          r.body == b"OK", r)
    r = req("GET", "/containers/json", how=None, src=bad_src())
    check("Docker's API without a key: 401", r.status == 401, r)

    # ---- host file writes are off without HOST_FILES_ROOT
    target = "/tmp/%s-off/x.txt" % P
    for body in ({"path": target, "content": "hello"},
                 {"path": target, "content": "hello", "permission": "0600"},
                 {"path": "/tmp/%s-off2.txt" % P}):
        r = req("POST", "/api/v1/files", body=body)
        check_env("POST /api/v1/files %s without HOST_FILES_ROOT: 403 "
                  "envelope naming HOST_FILES_ROOT" % json.dumps(body), r, 403,
                  contains="HOST_FILES_ROOT")
    check("...and nothing was written (%s, its directory, %s-off2.txt)" %
          (target, P),
          not os.path.exists(target) and
          not os.path.exists(os.path.dirname(target)) and
          not os.path.exists("/tmp/%s-off2.txt" % P))


# ------------------------------------------------------- lifecycle

def want_entry(d):
    """The agent's list entry for Docker's list entry d."""
    e = {"id": d["Id"], "names": d["Names"], "image": d["Image"],
         "image_id": d["ImageID"], "command": d["Command"],
         "created": d["Created"], "state": d["State"], "status": d["Status"]}
    ports = []
    for p in d.get("Ports") or []:
        q = {}
        if p.get("IP"):
            q["ip"] = p["IP"]
        q["private_port"] = p["PrivatePort"]
        if p.get("PublicPort"):
            q["public_port"] = p["PublicPort"]
        q["type"] = p["Type"]
        ports.append(q)
    e["ports"] = ports
    if d.get("Labels"):
        e["labels"] = d["Labels"]
    return e


def entry_problems(g, w, statuses):
    bad = []
    want_keys = set(w)
    got_keys = set(g)
    if "ports" not in g:
        bad.append("no ports member")
    extra = got_keys - want_keys
    missing = want_keys - got_keys - {"ports"}
    if extra:
        bad.append("members %s not wanted" % sorted(extra))
    if missing:
        bad.append("members %s missing" % sorted(missing))
    for k in ("id", "names", "image", "image_id", "command", "created",
              "state", "labels"):
        if k in w and g.get(k) != w[k]:
            bad.append("%s=%r, want %r" % (k, g.get(k), w[k]))
    if g.get("status") not in statuses:
        bad.append("status=%r, Docker said %r" % (g.get("status"),
                                                  sorted(statuses)))
    gp = g.get("ports")
    if w["ports"]:
        key = lambda x: json.dumps(x, sort_keys=True)  # noqa: E731
        if not isinstance(gp, list) or sorted(gp, key=key) != \
                sorted(w["ports"], key=key):
            bad.append("ports=%r, want %r" % (gp, w["ports"]))
    elif gp not in ([], None):
        bad.append("ports=%r, want none" % (gp,))
    return bad


def run_lifecycle():
    D = docker
    net = P + "-lnet"
    D("network", "create", net)
    pub = free_port()
    D("run", "-d", "--name", P + "-run", "--label", "app=pwda",
      "--label", "tier=web", IMAGE, "sleep", "3600")
    D("run", "-d", "--name", P + "-nolabel", IMAGE, "sleep", "3600")
    D("run", "-d", "--name", P + "-pub", "--network", net, "-p",
      "127.0.0.1:%d:80" % pub, "--expose", "9090/udp", IMAGE, "sleep",
      "3600")
    D("run", "--name", P + "-exited", IMAGE, "true")
    D("create", "--name", P + "-created", IMAGE)
    mine = [P + s for s in ("-run", "-nolabel", "-pub", "-exited",
                            "-created")]
    ids = {n: inspect(n)["Id"] for n in mine}

    def compare(query, want_names):
        st, before = dapi("GET", "/containers/json?all=1")
        r = req("GET", "/api/v1/containers" + query)
        st, after = dapi("GET", "/containers/json?all=1")
        ok_shape = r.status == 200 and r.ctype.startswith(
            "application/json") and isinstance(r.json, dict) and \
            set(r.json) == {"containers"} and \
            isinstance(r.json["containers"], list)
        if not ok_shape:
            return r, None, {"*": ["answer %r" % r]}
        got = {e.get("id"): e for e in r.json["containers"]
               if isinstance(e, dict)}
        b = {d["Id"]: d for d in before}
        a = {d["Id"]: d for d in after}
        probs = {}
        for n in mine:
            i = ids[n]
            if n not in want_names:
                if i in got:
                    probs[n] = ["listed, should not be"]
                continue
            if i not in got:
                probs[n] = ["not listed"]
                continue
            statuses = {x[i]["Status"] for x in (b, a) if i in x}
            p = entry_problems(got[i], want_entry(b.get(i) or a[i]),
                               statuses)
            if p:
                probs[n] = p
        return r, got, probs

    running = {P + s for s in ("-run", "-nolabel", "-pub")}
    r, got, probs = compare("", running)
    check("GET /api/v1/containers: 200 application/json "
          "{\"containers\": [...]}", "*" not in probs, probs.get("*"))
    for n in sorted(running):
        check("list: %s's entry matches Docker's list entry" % n,
              n not in probs, "; ".join(probs.get(n, [])))
    check("list without all: the exited and created ones are left out",
          not any(n in probs for n in (P + "-exited", P + "-created")),
          {n: probs.get(n) for n in (P + "-exited", P + "-created")})
    if got is not None:
        check("list without all: only running (or paused) containers "
              "(%d listed)" % len(got),
              all(e.get("state") in ("running", "paused", "restarting")
                  for e in got.values()),
              [e.get("state") for e in got.values()])
        pe = got.get(ids[P + "-pub"], {})
        check("list: the published container's ports are %s" %
              json.dumps(pe.get("ports")),
              {"ip": "127.0.0.1", "private_port": 80, "public_port": pub,
               "type": "tcp"} in (pe.get("ports") or []) and
              {"private_port": 9090, "type": "udp"} in
              (pe.get("ports") or []), pe)
        ne = got.get(ids[P + "-nolabel"], {})
        check("list: a container without labels has no labels member",
              ne != {} and "labels" not in ne, ne)
        check("list: created is unix seconds (an integer)",
              isinstance(ne.get("created"), int) and
              not isinstance(ne.get("created"), bool) and
              abs(ne.get("created", 0) - time.time()) < 600, ne)
    r, got, probs = compare("?all=true", set(mine))
    check("GET /api/v1/containers?all=true: 200", "*" not in probs,
          probs.get("*"))
    for n in mine:
        check("list ?all=true: %s's entry matches Docker's" % n,
              n not in probs, "; ".join(probs.get(n, [])))
    end = time.time() + 5
    d1 = d2 = []
    ga = None
    while got is not None:
        st, d1 = dapi("GET", "/containers/json?all=1")
        r = req("GET", "/api/v1/containers?all=true")
        st, d2 = dapi("GET", "/containers/json?all=1")
        ga = {e.get("id") for e in (r.json or {}).get("containers") or []}
        if ga in ({d["Id"] for d in d1}, {d["Id"] for d in d2}) or \
                time.time() > end:
            break
        time.sleep(0.3)
    check("list ?all=true: exactly Docker's containers (%d)" % len(d1),
          got is not None and ga in ({d["Id"] for d in d1},
                                     {d["Id"] for d in d2}))
    for q in ("?all=1", "?all=TRUE", "?all=false", "?all=yes"):
        r, got, probs = compare(q, running)
        check("list %s (not exactly \"true\"): running ones only" % q,
              not probs, probs)

    # ---- inspect
    for how, ref in (("id", ids[P + "-run"]), ("name", P + "-run"),
                     ("short id", ids[P + "-run"][:12])):
        st, want = dapi("GET", "/containers/%s/json" % ref)
        r = req("GET", "/api/v1/containers/%s" % ref)
        j = r.json if isinstance(r.json, dict) else {}
        diff = [k for k in ("Id", "Name", "Config", "HostConfig", "Image",
                            "Path", "Args", "Mounts", "Created")
                if j.get(k) != want.get(k)]
        check("GET /api/v1/containers/<%s>: 200, Docker's inspect (Id, "
              "Name, Config, HostConfig, Image, Mounts... equal)" % how,
              r.status == 200 and r.ctype.startswith("application/json")
              and not diff, "differs in %s; %r" % (diff, r))
    r = req("GET", "/api/v1/containers/%s-nosuch" % P)
    check_env("GET /api/v1/containers/<unknown>: 404 'inspect container: "
              "... No such container'", r, 404, prefix="inspect container: ",
              contains="No such container")

    # ---- stop
    STOPPED = {"message": "container stopped"}
    D("run", "-d", "--name", P + "-term", IMAGE, "sleep", "3600")
    D("run", "-d", "--name", P + "-kill", IMAGE, "sleep", "3600")
    trap = 'trap "exit 7" TERM; trap "exit 9" INT; ' \
           'while :; do sleep 0.1; done'
    D("run", "-d", "--name", P + "-trap", IMAGE, "sh", "-c", trap)
    D("run", "-d", "--name", P + "-trapdef", IMAGE, "sh", "-c", trap)
    time.sleep(0.5)
    r = req("POST", "/api/v1/containers/%s-term/stop" % P,
            body={"timeout": 1})
    c = wait_state(P + "-term", False, 2)
    check("stop {timeout: 1} of a container ignoring SIGTERM: 200 %s "
          "after about 1 s (%.1f s), stopped" % (json.dumps(STOPPED),
                                                  r.secs),
          is_json_answer(r, 200, STOPPED) and 0.8 <= r.secs < 7 and
          not c["State"]["Running"], "%r running=%s" %
          (r, c["State"]["Running"]))
    # The stop signal is a query parameter of API 1.42 (Engine 23);
    # older Engines ignore it and stop with SIGTERM, for dockeragent too.
    apiv = D("version", "--format", "{{.Server.APIVersion}}").strip()
    try:
        sig_api = tuple(int(x) for x in apiv.split(".")) >= (1, 42)
    except ValueError:
        sig_api = False
    if sig_api:
        r = req("POST", "/api/v1/containers/%s-kill/stop" % P,
                body={"signal": "SIGKILL", "timeout": 20}, timeout=40)
        c = wait_state(P + "-kill", False, 2)
        check("stop {signal: SIGKILL, timeout: 20} of a container ignoring "
              "SIGTERM: 200, died at once (%.1f s, exit %s)" %
              (r.secs, c["State"]["ExitCode"]),
              is_json_answer(r, 200, STOPPED) and r.secs < 5 and
              not c["State"]["Running"] and c["State"]["ExitCode"] == 137,
              r)
        r = req("POST", "/api/v1/containers/%s-trap/stop" % P,
                body={"signal": "sigint", "timeout": 20}, timeout=40)
        c = wait_state(P + "-trap", False, 2)
        check("stop {signal: \"sigint\"} (lower case): 200, the container "
              "got SIGINT (its INT trap's exit 9; TERM's would be 7): exit "
              "%s" % c["State"]["ExitCode"],
              is_json_answer(r, 200, STOPPED) and
              c["State"]["ExitCode"] == 9, r)
    else:
        r = req("POST", "/api/v1/containers/%s-trap/stop" % P,
                body={"signal": "sigint", "timeout": 20}, timeout=40)
        c = wait_state(P + "-trap", False, 2)
        check("stop {signal: \"sigint\"} (lower case) on API %s (no stop "
              "signal before 1.42): 200 and stopped" % apiv,
              is_json_answer(r, 200, STOPPED) and not c["State"]["Running"],
              r)
        D("rm", "-f", P + "-kill")
    r = req("POST", "/api/v1/containers/%s-trapdef/stop" % P)
    c = wait_state(P + "-trapdef", False, 2)
    check("stop without a body: 200, Docker's default SIGTERM (exit 7): "
          "exit %s, %.1f s" % (c["State"]["ExitCode"], r.secs),
          is_json_answer(r, 200, STOPPED) and c["State"]["ExitCode"] == 7
          and r.secs < 5, r)
    done = P + "-exited"
    for body in (None, b"", {}, {"timeout": 0}, {"signal": ""},
                 {"timeout": 3, "signal": "SIGTERM"}):
        r = req("POST", "/api/v1/containers/%s/stop" % done, body=body)
        check("stop of an exited container with body %r: 200 %s" %
              (body, json.dumps(STOPPED)), is_json_answer(r, 200, STOPPED),
              r)
    for sig in ("SIGABRT", "SIGALRM", "SIGHUP", "SIGINT", "SIGKILL",
                "SIGQUIT", "SIGTERM", "SIGUSR1", "SIGUSR2", "SIGWINCH",
                "SIGXFSZ", "sigterm", "SigHup", "SIGCONT", "SIGSTOP"):
        r = req("POST", "/api/v1/containers/%s/stop" % done,
                body={"signal": sig, "timeout": 0})
        check("stop {signal: %s} (exited container): accepted, 200" % sig,
              is_json_answer(r, 200, STOPPED), r)
    sigmsg = ("signal must be a valid POSIX signal name (e.g., SIGTERM, "
              "SIGKILL)")
    D("run", "-d", "--name", P + "-stopval", IMAGE, "sleep", "3600")
    for sig in ("SIGFOO", "KILL", "9", "SIG", "SIGTERM ", "SIGKILLX",
                "SIGRTMIN"):
        r = req("POST", "/api/v1/containers/%s-stopval/stop" % P,
                body={"signal": sig})
        check_env("stop {signal: %r}: 400 '%s'" % (sig, sigmsg), r, 400,
                  msg=sigmsg)
    for body in (b"{", b"not json", b'{"timeout": "ten"}',
                 b'{"signal": 9}'):
        r = req("POST", "/api/v1/containers/%s-stopval/stop" % P,
                body=body)
        check_env("stop with body %r: 400 'invalid JSON body: ...'" % body,
                  r, 400, prefix="invalid JSON body: ")
    check("...the refused stops left the container running",
          inspect(P + "-stopval")["State"]["Running"])
    r = req("POST", "/api/v1/containers/%s-nosuch/stop" % P)
    check_env("stop of an unknown container: 404 'stop container: ...'",
              r, 404, prefix="stop container: ")

    # ---- remove
    REMOVED = {"message": "container removed"}
    D("run", "-d", "--name", P + "-del", IMAGE, "sleep", "3600")
    r = req("DELETE", "/api/v1/containers/%s-del" % P)
    check_env("DELETE of a running container without force: 409 'remove "
              "container: ...'", r, 409, prefix="remove container: ")
    check("...it is still there and running",
          (inspect(P + "-del") or {}).get("State", {}).get("Running"))
    for q in ("?force=notabool", "?v=maybe", "?force=true&v=2x"):
        r = req("DELETE", "/api/v1/containers/%s-del%s" % (P, q))
        check_env("DELETE %s: 400 'invalid query parameters'" % q, r, 400,
                  msg="invalid query parameters")
    check("...it is still there", exists(P + "-del"))
    r = req("DELETE", "/api/v1/containers/%s-del?force=true" % P)
    check("DELETE ?force=true of a running container: 200 %s, gone" %
          json.dumps(REMOVED), is_json_answer(r, 200, REMOVED) and
          not exists(P + "-del"), r)
    r = req("DELETE", "/api/v1/containers/%s" % ids[P + "-created"])
    check("DELETE of a created (never started) container without force: "
          "200, gone", is_json_answer(r, 200, REMOVED) and
          not exists(P + "-created"), r)
    r = req("DELETE", "/api/v1/containers/%s-nosuch" % P)
    check_env("DELETE of an unknown container: 404", r, 404)
    print("#   its message: %r" % ((r.json or {}).get("message"),))
    # v: anonymous volumes go with the container only when asked.
    vols = {}
    for n in ("-anonv", "-anonk"):
        D("run", "-d", "--name", P + n, "-v", "/data", IMAGE, "sleep",
          "3600")
        vols[n] = [m["Name"] for m in inspect(P + n)["Mounts"]
                   if m["Type"] == "volume"]
    r = req("DELETE", "/api/v1/containers/%s-anonv?force=true&v=true" % P)
    st, _ = dapi("GET", "/volumes/%s" % (vols["-anonv"] or ["x"])[0])
    check("DELETE ?force=true&v=true: 200, its anonymous volume removed "
          "too", is_json_answer(r, 200, REMOVED) and vols["-anonv"] and
          st == 404 and not exists(P + "-anonv"), "%r volume %s" % (r, st))
    r = req("DELETE", "/api/v1/containers/%s-anonk?force=true" % P)
    st, _ = dapi("GET", "/volumes/%s" % (vols["-anonk"] or ["x"])[0])
    check("DELETE ?force=true (no v): 200, its anonymous volume kept",
          is_json_answer(r, 200, REMOVED) and vols["-anonk"] and st == 200,
          "%r volume %s" % (r, st))
    for v in vols["-anonk"]:
        dapi("DELETE", "/volumes/%s" % v)


# ----------------------------------------------------------- create

def run_create():
    D = docker
    CREATE = "/api/v1/containers"

    def names_absent(ns):
        return [n for n in ns if exists(n)]

    # ---- validation, in the contract's order
    V = []
    n = [0]

    def val(body, want, exact=True):
        n[0] += 1
        name = "%s-val%d" % (P, n[0])
        if isinstance(body, dict):
            body = dict(body, name=name)
        V.append(name)
        r = req("POST", CREATE, body=body)
        if exact:
            check_env("create %s: 400 %r" % (
                body if isinstance(body, bytes) else json.dumps(body)[:150],
                want), r, 400, msg=want)
        else:
            check_env("create %r: 400 '%s...'" % (body[:60], want), r, 400,
                      prefix=want)

    for b in (b"not json", b"{", b"", b"[1, 2]", b'{"image": 5}',
              b'{"image": "%s", "cmd": "sleep 1"}' % IMAGE.encode(),
              b'{"image": "%s", "resources": {"cpus": "1"}}' %
              IMAGE.encode(),
              b'{"image": "%s", "ports": [{"container_port": 80}]}' %
              IMAGE.encode()):
        val(b, "invalid JSON body: ", exact=False)
    IMG_REQ = "image is required"
    RP = "restart_policy.name must be one of: no, always, on-failure, " \
         "unless-stopped"
    CPUS = "resources.cpus cannot be negative"
    MEM = "resources.memory_mb cannot be negative"
    CP_REQ = "ports[].container_port is required"
    CP_NUM = "ports[].container_port must be a number between 1 and 65535"
    HP_NUM = "ports[].host_port must be a number between 1 and 65535"
    VOL_REQ = "volumes[].source and volumes[].target are required"
    VOL_TYPE = "volumes[].type must be one of: bind, volume, tmpfs " \
               "(or omitted)"
    bad_all = {"restart_policy": {"name": "sometimes"},
               "resources": {"cpus": -1, "memory_mb": -1},
               "ports": [{"container_port": "0", "host_port": "0"}],
               "volumes": [{"source": "", "target": "", "type": "nfs"}]}
    val({}, IMG_REQ)
    val({"image": ""}, IMG_REQ)
    val(dict(bad_all), IMG_REQ)
    val(dict(bad_all, image=IMAGE), RP)
    for name in ("sometimes", "Always", "on_failure", "none"):
        val({"image": IMAGE, "restart_policy": {"name": name}}, RP)
    b = dict(bad_all, image=IMAGE)
    del b["restart_policy"]
    val(b, CPUS)
    val({"image": IMAGE, "resources": {"cpus": -0.5}}, CPUS)
    b["resources"] = {"memory_mb": -1}
    val(b, MEM)
    del b["resources"]
    val(dict(b, ports=[{"host_port": "0"}]), CP_REQ)
    val(dict(b, ports=[{"container_port": "", "host_port": "80"}]), CP_REQ)
    val(b, CP_NUM)
    for cp in ("0", "65536", "abc", "-1", "80a"):
        val({"image": IMAGE, "ports": [{"container_port": cp}]}, CP_NUM)
    val({"image": IMAGE, "ports": [{"container_port": "80"},
                                   {"container_port": "70000"}]}, CP_NUM)
    val(dict(b, ports=[{"container_port": "80", "host_port": "0"}]), HP_NUM)
    for hp in ("65536", "x", "-5"):
        val({"image": IMAGE, "ports": [{"container_port": "80",
                                        "host_port": hp}]}, HP_NUM)
    del b["ports"]
    val(b, VOL_REQ)
    val({"image": IMAGE, "volumes": [{"source": "/tmp"}]}, VOL_REQ)
    val({"image": IMAGE, "volumes": [{"target": "/x", "type": "volume"}]},
        VOL_REQ)
    for t in ("nfs", "BIND", "npipe"):
        val({"image": IMAGE, "volumes": [{"source": P + "-vv",
                                          "target": "/x", "type": t}]},
            VOL_TYPE)
    check("no container was created by the refused requests",
          not names_absent(V), names_absent(V))

    # ---- a container with most fields, checked inside and out
    net = P + "-net"
    D("network", "create", net)
    hostdir = "/tmp/%s-hostdir" % P
    hostdir2 = "/tmp/%s-hostdir2" % P
    os.makedirs(hostdir)
    os.makedirs(hostdir2)
    with open(hostdir + "/hello", "w") as f:
        f.write("from the host\n")
    full = P + "-full"
    body = {"image": IMAGE, "name": full,
            "entrypoint": ["sh", "-c"],
            "cmd": ["echo FOO=$FOO; id -u; pwd; hostname; "
                    "echo x > /rw/written; exec sleep 3600"],
            "env": ["FOO=bar baz", "EMPTY="],
            "labels": {"app": "pwda", "tier": "web"},
            "working_dir": "/tmp", "user": "0:0",
            "hostname": "pwda-host",
            "networks": [net],
            "volumes": [{"source": hostdir, "target": "/hd",
                         "read_only": True},
                        {"source": hostdir2, "target": "/rw",
                         "type": "bind"},
                        {"source": P + "-vol", "target": "/vol",
                         "type": "volume"}],
            "restart_policy": {"name": "on-failure", "max_retry_count": 3},
            "resources": {"cpus": 0.5, "memory_mb": 64, "cpu_shares": 512}}
    r = req("POST", CREATE, body=body, how="bearer")
    j = r.json if isinstance(r.json, dict) else {}
    check("create (every field but ports; Bearer token): 201 "
          "application/json {\"id\": <64 hex>} and no warnings member",
          r.status == 201 and r.ctype.startswith("application/json") and
          set(j) == {"id"} and HEX64.fullmatch(j.get("id") or ""), r)
    c = wait_state(full, True, 5) if exists(full) else None
    if c is None:
        fail("created container %s exists" % full)
    else:
        cfg, hc = c["Config"], c["HostConfig"]
        check("...the id is the container's", c["Id"] == j.get("id"),
              (c["Id"], j.get("id")))
        check("...and it was started (running)", c["State"]["Running"],
              c["State"])
        for what, got, want in (
                ("Image", cfg.get("Image"), IMAGE),
                ("Entrypoint", cfg.get("Entrypoint"), body["entrypoint"]),
                ("Cmd", cfg.get("Cmd"), body["cmd"]),
                ("Labels", cfg.get("Labels"), body["labels"]),
                ("WorkingDir", cfg.get("WorkingDir"), "/tmp"),
                ("User", cfg.get("User"), "0:0"),
                ("Hostname", cfg.get("Hostname"), "pwda-host"),
                ("RestartPolicy", hc.get("RestartPolicy"),
                 {"Name": "on-failure", "MaximumRetryCount": 3}),
                ("NanoCpus", hc.get("NanoCpus"), 500000000),
                ("Memory", hc.get("Memory"), 64 * 1024 * 1024),
                ("CpuShares", hc.get("CpuShares"), 512)):
            check("...docker inspect: %s is %s" % (what, json.dumps(want)),
                  got == want, "got %r" % (got,))
        env = cfg.get("Env") or []
        check("...Env holds FOO=bar baz and EMPTY= (%r)" % env,
              "FOO=bar baz" in env and "EMPTY=" in env, env)
        check("...attached to network %s" % net,
              net in (c["NetworkSettings"].get("Networks") or {}),
              list((c["NetworkSettings"].get("Networks") or {})))
        mounts = {m["Destination"]: m for m in c.get("Mounts") or []}
        m = mounts.get("/hd", {})
        check("...Mounts: %s bind at /hd, read-only" % hostdir,
              m.get("Type") == "bind" and m.get("Source") == hostdir and
              m.get("RW") is False, m)
        m = mounts.get("/rw", {})
        check("...Mounts: %s bind at /rw, writable" % hostdir2,
              m.get("Type") == "bind" and m.get("Source") == hostdir2 and
              m.get("RW") is True, m)
        m = mounts.get("/vol", {})
        check("...Mounts: named volume %s-vol at /vol" % P,
              m.get("Type") == "volume" and m.get("Name") == P + "-vol", m)
        time.sleep(0.3)
        out = docker_lines(full)
        check("...inside: $FOO, id -u, pwd, hostname say 'bar baz', 0, "
              "/tmp, pwda-host (%r)" % out,
              out[:4] == ["FOO=bar baz", "0", "/tmp", "pwda-host"], out)
        mnt = docker("exec", full, "cat", "/proc/mounts").splitlines()
        byd = {ln.split()[1]: ln.split() for ln in mnt if len(ln.split())
               > 3}
        check("...inside: /hd is mounted read-only",
              "ro" in byd.get("/hd", ["", "", "", ""])[3].split(","),
              byd.get("/hd"))
        check("...inside: the host's file is read at /hd/hello",
              docker("exec", full, "cat", "/hd/hello") == "from the host")
        check("...the container wrote through /rw into %s" % hostdir2,
              os.path.exists(hostdir2 + "/written"))

    # A tmpfs mount (source is required by the validation; Docker wants
    # none for tmpfs).
    tn = P + "-tmpfs"
    r = req("POST", CREATE, body={"image": IMAGE, "name": tn,
                                  "cmd": ["sleep", "3600"],
                                  "volumes": [{"source": "tmpfs",
                                               "target": "/tm",
                                               "type": "tmpfs"}]})
    c = inspect(tn)
    check("create with volumes [{source: tmpfs, target: /tm, type: "
          "tmpfs}]: 201, running", r.status == 201 and c is not None and
          c["State"]["Running"], r)
    if c is not None and c["State"]["Running"]:
        mnt = docker("exec", tn, "cat", "/proc/mounts").splitlines()
        tm = [ln.split() for ln in mnt if len(ln.split()) > 3 and
              ln.split()[1] == "/tm"]
        check("...inside: /tm is a tmpfs", tm and tm[0][2] == "tmpfs", tm)

    # ---- ports
    pp, pu = free_port(), free_port()
    pn = P + "-ports"
    body = {"image": IMAGE, "name": pn, "cmd": ["sleep", "3600"],
            "networks": [net],
            "ports": [{"container_port": "80", "host_port": str(pp),
                       "host_ip": "127.0.0.1"},
                      {"container_port": "5353", "protocol": "udp",
                       "host_port": str(pu), "host_ip": "127.0.0.1"},
                      {"container_port": "9000"}]}
    r = req("POST", CREATE, body=body)
    c = inspect(pn)
    print("#   create with ports on %s: %r" % (net, r))
    check("create with ports (80->127.0.0.1:%d, 5353/udp, 9000): 201, "
          "running" % pp, r.status == 201 and c is not None and
          c["State"]["Running"], r)
    if c is not None:
        ex = set((c["Config"].get("ExposedPorts") or {}))
        check("...ExposedPorts has 80/tcp, 5353/udp, 9000/tcp (%s)" %
              sorted(ex), {"80/tcp", "5353/udp", "9000/tcp"} <= ex)
        pb = c["HostConfig"].get("PortBindings") or {}
        check("...PortBindings 80/tcp: 127.0.0.1:%d" % pp,
              pb.get("80/tcp") == [{"HostIp": "127.0.0.1",
                                    "HostPort": str(pp)}], pb)
        check("...PortBindings 5353/udp: host port %d" % pu,
              [b.get("HostPort") for b in pb.get("5353/udp") or []] ==
              [str(pu)], pb)
        try:
            socket.create_connection(("127.0.0.1", pp), 3).close()
            conn = True
        except OSError:
            conn = False
        check("...127.0.0.1:%d accepts connections (published)" % pp, conn)
    lo = socket.socket()
    lo.bind(("127.0.0.1", 0))
    lo.listen(1)
    busy = lo.getsockname()[1]
    bn = P + "-busy"
    r = req("POST", CREATE, body={"image": IMAGE, "name": bn,
                                  "cmd": ["sleep", "3600"],
                                  "networks": [net],
                                  "ports": [{"container_port": "80",
                                             "host_port": str(busy),
                                             "host_ip": "127.0.0.1"}]})
    lo.close()
    p = envelope_problems(r, r.status, prefix="start container: ")
    check("create publishing a host port in use: an error envelope, "
          "message 'start container: ...' (%s)" % r.status,
          r.status >= 400 and not p, "; ".join(p) + " %r" % r)
    c = inspect(bn)
    print("#   after the failed start: %s" % (
        "no container" if c is None else "container left in state %s" %
        c["State"]["Status"]))
    for cp in ("1", "65535"):
        n2 = "%s-port%s" % (P, cp)
        r = req("POST", CREATE, body={"image": IMAGE, "name": n2,
                                      "cmd": ["sleep", "3600"],
                                      "network_mode": "none",
                                      "ports": [{"container_port": cp}]})
        c = inspect(n2)
        check("create with container_port %s (the bound): 201, %s/tcp "
              "exposed" % (cp, cp), r.status == 201 and c is not None and
              "%s/tcp" % cp in (c["Config"].get("ExposedPorts") or {}), r)
    # Docker's warnings are passed on.
    wn = P + "-warn"
    r = req("POST", CREATE, body={"image": IMAGE, "name": wn,
                                  "cmd": ["sleep", "3600"],
                                  "network_mode": "host",
                                  "ports": [{"container_port": "80",
                                             "host_port": str(
                                                 free_port())}]})
    j = r.json if isinstance(r.json, dict) else {}
    w = j.get("warnings")
    check("create with network_mode host and a published port: 201 with "
          "Docker's warning (%r)" % (w,),
          r.status == 201 and set(j) == {"id", "warnings"} and
          isinstance(w, list) and any("host network" in x for x in w
                                      if isinstance(x, str)), r)
    c = inspect(wn)
    check("...HostConfig.NetworkMode is host",
          c is not None and c["HostConfig"]["NetworkMode"] == "host")
    nn = P + "-none"
    r = req("POST", CREATE, body={"image": IMAGE, "name": nn,
                                  "cmd": ["sleep", "3600"],
                                  "network_mode": "none"})
    c = inspect(nn)
    check("create with network_mode none: 201, NetworkMode none",
          r.status == 201 and c is not None and
          c["HostConfig"]["NetworkMode"] == "none", r)

    # ---- restart policies and the smallest body
    for rp in ("no", "always", "unless-stopped", "on-failure"):
        n2 = "%s-rp-%s" % (P, rp)
        r = req("POST", CREATE, body={"image": IMAGE, "name": n2,
                                      "cmd": ["sleep", "3600"],
                                      "restart_policy": {"name": rp}})
        c = inspect(n2)
        check("create with restart_policy %s: 201, RestartPolicy.Name %s" %
              (rp, rp), r.status == 201 and c is not None and
              c["HostConfig"]["RestartPolicy"]["Name"] == rp, r)
    r = req("POST", CREATE, body={"image": IMAGE, "cmd": ["sleep", "3600"],
                                  "labels": {"pwda": P}})
    j = r.json if isinstance(r.json, dict) else {}
    c = inspect(j.get("id", "x")) if j.get("id") else None
    check("create with only image, cmd and labels (no name): 201, running, "
          "Docker named it", r.status == 201 and c is not None and
          c["State"]["Running"] and len(c["Name"]) > 1, r)
    r = req("POST", CREATE, body={"image": IMAGE, "name": P + "-zero",
                                  "cmd": ["sleep", "3600"],
                                  "resources": {"cpus": 0,
                                                "memory_mb": 0}})
    c = inspect(P + "-zero")
    check("create with resources cpus 0, memory_mb 0: 201, no limits",
          r.status == 201 and c is not None and
          c["HostConfig"]["NanoCpus"] == 0 and
          c["HostConfig"]["Memory"] == 0, r)

    # ---- Docker's refusals
    ni = P + "-noimg"
    r = req("POST", CREATE, body={"image": "%s-no/such:image" % P,
                                  "name": ni})
    check_env("create with an unknown image: 404 'create container: ... "
              "No such image'", r, 404, prefix="create container: ",
              contains="No such image")
    check("...no container made", not exists(ni))
    dup = P + "-dup"
    docker("run", "-d", "--name", dup, IMAGE, "sleep", "3600")
    before = inspect(dup)
    r = req("POST", CREATE, body={"image": IMAGE, "name": dup,
                                  "cmd": ["true"]})
    check_env("create with a name in use: 409 'create container: ...'", r,
              409, prefix="create container: ")
    after = inspect(dup)
    check("...the existing container is untouched (same id, running)",
          before is not None and after is not None and
          before["Id"] == after["Id"] and after["State"]["Running"])


# ----------------------------------------------------------- limits

def send_big(path, body, chunked=False):
    """POST body (bytes) from a thread while reading the answer: the
    agent may answer 413 before it has read everything."""
    s = socket.create_connection(("127.0.0.1", PORT), 30,
                                 source_address=(src_addr(), 0))
    h = "POST %s HTTP/1.1\r\nHost: agent\r\nX-API-Key: %s\r\n" \
        "Content-Type: application/json\r\nConnection: close\r\n" % (
            path, TOKEN)
    if chunked:
        h += "Transfer-Encoding: chunked\r\n\r\n"
    else:
        h += "Content-Length: %d\r\n\r\n" % len(body)

    def pieces():
        yield h.encode()
        if not chunked:
            yield body
            return
        for i in range(0, len(body), 1 << 20):
            piece = body[i:i + (1 << 20)]
            yield b"%x\r\n" % len(piece) + piece + b"\r\n"
        yield b"0\r\n\r\n"

    return R(*pwhttp.answer_while_sending(s, pieces(), join=5))


def padded(obj, size):
    b = json.dumps(obj).encode()
    return b + b" " * (size - len(b))


def run_limits():
    # ---- 100 requests a minute per address
    a = "127.99.%d.%d" % (random.randrange(250), random.randrange(1, 250))
    other = "127.97.%d.%d" % (random.randrange(250), random.randrange(1, 250))
    t0 = time.monotonic()
    codes = []
    for i in range(100):
        codes.append(req("GET", "/api/v1/containers", src=a).status)
    r = req("GET", "/api/v1/containers", src=a)
    secs = time.monotonic() - t0
    bad = [(i + 1, c) for i, c in enumerate(codes) if c != 200]
    check("100 requests from one address within a minute (%.1f s): all "
          "200" % secs, not bad, bad[:5])
    want = {"error": "Too Many Requests",
            "message": "rate limit exceeded, try again later",
            "status": 429}
    check("the 101st from that address: 429 %s" % json.dumps(want),
          is_json_answer(r, 429, want) and secs < 60, r)
    if r.status != 429:
        for k in range(5):
            r2 = req("GET", "/api/v1/containers", src=a)
            if r2.status == 429:
                print("#   the first 429 came at request %d" % (102 + k))
                break
    r = req("GET", "/api/v1/containers", src=a)
    check("the 102nd: 429 too", r.status == 429, r)
    r = req("GET", "/api/v1/containers", src=other)
    check("another address meanwhile: 200", r.status == 200, r)
    r = req("GET", "/health", src=a)
    check("/health from the limited address: 200 (not under /api/v1)",
          r.status == 200, r)

    # ---- the 10 MB body limit
    over = P + "-big"
    r = send_big("/api/v1/containers", padded(
        {"image": IMAGE, "name": over, "cmd": ["sleep", "3600"]},
        MB10 + 1))
    check_env("create with a body of 10 MiB + 1 (valid JSON, padded): 413 "
              "'request body too large'", r, 413,
              msg="request body too large")
    time.sleep(0.3)
    check("...nothing created", not exists(over))
    over2 = P + "-bigger"
    r = send_big("/api/v1/containers", padded(
        {"image": IMAGE, "name": over2, "cmd": ["sleep", "3600"]},
        MB10 + (1 << 20)))
    check_env("create with an 11 MiB body: 413", r, 413,
              msg="request body too large")
    over3 = P + "-bigch"
    r = send_big("/api/v1/containers", padded(
        {"image": IMAGE, "name": over3, "cmd": ["sleep", "3600"]},
        MB10 + 4096), chunked=True)
    check_env("create with a chunked body over 10 MiB: 413", r, 413,
              msg="request body too large")
    time.sleep(0.3)
    check("...nothing created by either", not exists(over2) and
          not exists(over3))
    r = send_big("/api/v1/containers/%s-nosuch/stop" % P,
                 padded({"timeout": 1}, MB10 + 10))
    check_env("stop with a body over 10 MiB: 413", r, 413,
              msg="request body too large")
    exact = P + "-exact"
    r = send_big("/api/v1/containers", padded(
        {"image": IMAGE, "name": exact, "cmd": ["sleep", "3600"]}, MB10))
    check("create with a body of exactly 10 MiB: 201, created",
          r.status == 201 and exists(exact), r)


# ------------------------------------------------------------- logs

class Stream:
    """A raw GET held open; its body (de-chunked) read by a thread."""

    def __init__(self, path, key=None):
        self.sock = socket.create_connection(
            ("127.0.0.1", PORT), 10, source_address=(src_addr(), 0))
        self.sock.sendall(("GET %s HTTP/1.1\r\nHost: agent\r\nX-API-Key: "
                           "%s\r\nAccept: text/event-stream\r\n\r\n" %
                           (path, key or TOKEN)).encode())
        self.status, self.hdrs, rest = pwhttp.read_head(self.sock)
        self.chunked = self.hdrs.get("transfer-encoding", "").lower() == \
            "chunked"
        self.raw = rest
        self.times = [(time.monotonic(), len(rest))] if rest else []
        self.closed = False
        self.lock = threading.Lock()
        self.sock.settimeout(0.5)
        self.t = threading.Thread(target=self._read, daemon=True)
        self.t.start()

    def _read(self):
        while True:
            try:
                d = self.sock.recv(65536)
            except socket.timeout:
                continue
            except OSError:
                break
            if not d:
                break
            with self.lock:
                self.raw += d
                self.times.append((time.monotonic(), len(self.raw)))
        with self.lock:
            self.closed = True

    def body(self):
        with self.lock:
            raw = self.raw
        if not self.chunked:
            return raw, None
        out, done = b"", False
        while True:
            i = raw.find(b"\r\n")
            if i < 0:
                break
            n = int(raw[:i].split(b";")[0] or b"0", 16)
            if n == 0:
                done = True
                break
            if len(raw) < i + 2 + n + 2:
                break
            out += raw[i + 2:i + 2 + n]
            raw = raw[i + 2 + n + 2:]
        return out, done

    def frames(self):
        """(data lines, malformed pieces) of the complete frames."""
        body, _ = self.body()
        parts = body.split(b"\n\n")
        good, bad = [], []
        for f in parts[:-1]:
            if f.startswith(b"data: ") and b"\n" not in f:
                good.append(f[6:].decode("utf-8", "replace"))
            else:
                bad.append(f)
        return good, bad

    def wait(self, pred, secs):
        end = time.time() + secs
        while time.time() < end:
            if pred():
                return True
            time.sleep(0.05)
        return pred()

    def close(self):
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()


def run_logs():
    D = docker
    L = P + "-log"
    D("run", "-d", "--name", L, IMAGE, "sh", "-c",
      "echo out1; sleep 0.2; echo err1 >&2; sleep 0.2; echo out2; "
      "sleep 1.5; echo late; printf partial")
    D("run", "--name", P + "-blank", IMAGE, "sh", "-c",
      "echo a; echo; echo '  '; echo b")
    D("run", "-t", "--name", P + "-tty", IMAGE, "sh", "-c",
      "echo tty1; echo tty2")
    D("run", "--name", P + "-quiet", IMAGE, "true")
    D("run", "-d", "--name", P + "-tick", IMAGE, "sh", "-c",
      "i=0; while :; do i=$((i+1)); echo tick$i; echo etick$i >&2; "
      "sleep 0.2; done")
    wait_state(L, False, 15)
    want = ["out1", "err1", "out2", "late", "partial"]
    dl = docker_lines(L)
    check("(Docker's own log of %s is %r)" % (L, want), dl == want, dl)
    lg = "/api/v1/containers/%s/logs" % L

    def lines(q, name=None):
        r = req("GET", ("/api/v1/containers/%s/logs" % name if name
                        else lg) + q)
        j = r.json if isinstance(r.json, dict) else {}
        good = r.status == 200 and r.ctype.startswith(
            "application/json") and set(j) == {"lines"}
        return r, (j.get("lines") if good else "no answer")

    r, got = lines("")
    check("logs: 200 application/json {\"lines\": [...]}, stdout and "
          "stderr lines in order, no newlines (%r)" % (got,), got == want, r)
    if got != want and isinstance(got, list) and sorted(got) == sorted(want):
        print("#   (the same lines in another order)")
    for q in ("?tail=all", "?follow=false", "?timestamps=false",
              "?tail=100"):
        r, got = lines(q)
        check("logs %s: all lines" % q, got == want, r)
    r, got = lines("?tail=2")
    check("logs ?tail=2: the last two (%r)" % (got,),
          got == want[-2:], r)
    r, got = lines("?tail=0")
    check("logs ?tail=0: {\"lines\": null}", r.status == 200 and
          isinstance(r.json, dict) and "lines" in r.json and
          r.json["lines"] is None, r)
    r, got = lines("", P + "-quiet")
    check("logs of a container that printed nothing: {\"lines\": null}",
          r.status == 200 and r.json == {"lines": None}, r)
    ts = docker_lines(L, timestamps=True)
    r, got = lines("?timestamps=true")
    check("logs ?timestamps=true: Docker's timestamped lines (%r...)" %
          (got[:1] if isinstance(got, list) else got,),
          got == ts and len(ts) == 5 and all(
              re.match(r"\d{4}-\d\d-\d\dT[\d:.]+Z ", x) for x in ts), r)
    r, got = lines("?timestamps=true&tail=1")
    check("logs ?timestamps=true&tail=1: the last, timestamped",
          got == ts[-1:], r)
    stamps = [rfc3339(x.split(" ", 1)[0]) for x in ts]
    if len(stamps) == 5 and None not in stamps:
        mid = "%.9f" % ((stamps[2] + stamps[3]) / 2)
        r, got = lines("?since=" + mid)
        check("logs ?since=(between out2 and late): late, partial (%r)" %
              (got,), got == ["late", "partial"], r)
        r, got = lines("?until=" + mid)
        check("logs ?until=(between out2 and late): the first three (%r)" %
              (got,), got == want[:3], r)
        r, got = lines("?since=%d" % int(time.time() + 3600))
        check("logs ?since=(an hour ahead): null", r.status == 200 and
              got is None, r)
    else:
        fail("Docker's timestamps parse: %r" % ts)
    r, got = lines("", P + "-blank")
    check("logs: an empty line is left out, a line of blanks is kept, as "
          "dockeragent reads them ([a, \"  \", b]: %r)" % (got,),
          got == ["a", "  ", "b"], r)
    r, got = lines("", P + "-tty")
    check("logs of a TTY container: [\"tty1\", \"tty2\"] (%r)" % (got,),
          got in (["tty1", "tty2"], ["tty1\r", "tty2\r"]), r)
    if got == ["tty1\r", "tty2\r"]:
        print("#   (TTY lines keep their carriage return)")
    r = req("GET", "/api/v1/containers/%s-nosuch/logs" % P)
    check_env("logs of an unknown container: 404 'inspect container: ...'",
              r, 404, prefix="inspect container: ")
    r = req("GET", "/api/v1/containers/%s-nosuch/logs?follow=true" % P)
    check_env("logs ?follow=true of an unknown container: 404 'inspect "
              "container: ...'", r, 404, prefix="inspect container: ")
    for q in ("follow=maybe", "timestamps=maybe", "follow=yes&tail=1"):
        r = req("GET", "%s?%s" % (lg, q))
        check_env("logs ?%s: 400 'invalid query parameters'" % q, r, 400,
                  msg="invalid query parameters")

    # ---- follow
    tk = "/api/v1/containers/%s-tick/logs" % P
    s = Stream(tk + "?follow=true&tail=2")
    s.wait(lambda: len(s.frames()[0]) >= 12, 6)
    fr, bad = s.frames()
    span = (s.times[-1][0] - s.times[0][0]) if s.times else 0
    check("logs ?follow=true: 200 text/event-stream, Cache-Control: "
          "no-cache", s.status == 200 and
          s.hdrs.get("content-type", "").split(";")[0].strip() ==
          "text/event-stream" and s.hdrs.get("cache-control") == "no-cache",
          "%s %r" % (s.status, s.hdrs))
    check("...lines keep arriving on the open response (%d frames over "
          "%.1f s)" % (len(fr), span), len(fr) >= 12 and span >= 0.6, fr)
    check("...every frame is 'data: <line>' and a blank line",
          not bad and fr, bad[:3])
    nums = [int(x[4:]) for x in fr if re.fullmatch(r"tick\d+", x)]
    enums = [int(x[5:]) for x in fr if re.fullmatch(r"etick\d+", x)]
    check("...stdout (tick N) and stderr (etick N) lines, demultiplexed, "
          "in order (%r...)" % fr[:4],
          len(nums) >= 4 and len(enums) >= 4 and nums == sorted(nums) and
          enums == sorted(enums) and
          all(re.fullmatch(r"e?tick\d+", x) for x in fr), fr[:10])
    first = [int(re.sub(r"\D", "", x)) for x in fr[:2]]
    check("...tail=2: it began with two recent lines, not the first ones "
          "(%r)" % fr[:2], len(first) == 2 and min(first) > 3 and
          abs(first[0] - first[1]) <= 1, fr[:3])
    s.close()
    s = Stream(lg + "?follow=true")
    ended = s.wait(lambda: s.closed or s.body()[1], 10)
    fr, bad = s.frames()
    check("logs ?follow=true of an exited container: its lines as frames "
          "(%r)" % fr, fr == want and not bad, (fr, bad))
    check("...and the stream ends (the container is not running)", ended)
    s.close()
    s = Stream("/api/v1/containers/%s-blank/logs?follow=true" % P)
    s.wait(lambda: s.closed or s.body()[1], 10)
    fr, bad = s.frames()
    check("logs ?follow=true: an empty line sends no frame, a line of "
          "blanks does (%r)" % (fr,), fr == ["a", "  ", "b"] and not bad,
          (fr, bad))
    s.close()
    s = Stream(tk + "?follow=true&tail=1&timestamps=true")
    s.wait(lambda: len(s.frames()[0]) >= 3, 5)
    fr, bad = s.frames()
    check("logs ?follow=true&timestamps=true: frames 'data: <time> "
          "<line>' (%r)" % fr[:2], len(fr) >= 3 and not bad and all(
              re.fullmatch(r"\d{4}-\d\d-\d\dT[\d:.]+Z e?tick\d+", x)
              for x in fr), fr[:3])
    s.close()


# ------------------------------------------------------------ files

def run_files(root):
    F = "/api/v1/files"
    OKM = "file written successfully"
    outside = "/tmp/%s-outside" % P
    os.makedirs(outside)
    with open(outside + "/target.txt", "w") as f:
        f.write("untouched\n")

    def mode(p):
        return stat.S_IMODE(os.lstat(p).st_mode)

    on = []

    def wrote(desc, body, path_want, size, host, content, perm=0o644):
        r = req("POST", F, body=body)
        want = {"path": path_want, "size": size, "message": OKM}
        on.append(r.status == 201)
        check("%s: 201 %s" % (desc, json.dumps(want)),
              r.status == 201 and r.ctype.startswith("application/json")
              and r.json == want, r)
        hp = root + host
        got = open(hp, "rb").read() if os.path.isfile(hp) else None
        check("...%s under the root holds %r, mode %04o" %
              (host, content, perm),
              got == content and mode(hp) == perm,
              "%r mode %s" % (got, oct(mode(hp)) if got is not None
                              else "-"))

    wrote("write /etc/%s/app.conf (parents created)" % P,
          {"path": "/etc/%s/app.conf" % P, "content": "server { listen 80; }"},
          "/etc/%s/app.conf" % P, 21, "/etc/%s/app.conf" % P,
          b"server { listen 80; }")
    check("...and not at /etc/%s on the host itself" % P,
          not os.path.exists("/etc/" + P))
    wrote("overwrite it", {"path": "/etc/%s/app.conf" % P, "content": "v2\n"},
          "/etc/%s/app.conf" % P, 3, "/etc/%s/app.conf" % P, b"v2\n")
    wrote("permission 0600", {"path": "/a/secret", "content": "s",
                              "permission": "0600"}, "/a/secret", 1,
          "/a/secret", b"s", 0o600)
    wrote("permission 0755", {"path": "/a/run.sh", "content": "#!/bin/sh\n",
                              "permission": "0755"}, "/a/run.sh", 10,
          "/a/run.sh", b"#!/bin/sh\n", 0o755)
    wrote("no content: an empty file", {"path": "/a/empty"}, "/a/empty", 0,
          "/a/empty", b"")
    u = "h\u00e9\u2713\n"
    wrote("multi-byte content: size in bytes", {"path": "/a/u.txt",
                                                "content": u},
          "/a/u.txt", len(u.encode()), "/a/u.txt", u.encode())
    wrote("an unclean path (//, /./): answered cleaned",
          {"path": "/b//c/./d.txt", "content": "d"}, "/b/c/d.txt", 1,
          "/b/c/d.txt", b"d")
    wrote("a trailing-slash-free deep path",
          {"path": "/x/y/z/w/v.txt", "content": "v"}, "/x/y/z/w/v.txt", 1,
          "/x/y/z/w/v.txt", b"v")
    for body, want in (({"content": "x"}, "path is required"),
                       ({"path": "", "content": "x"}, "path is required"),
                       ({"path": "rel/x.txt"}, "path must be absolute"),
                       ({"path": "x.txt"}, "path must be absolute"),
                       ({"path": "/a/../../etc/%s-dd" % P},
                        "path must not contain '..'"),
                       ({"path": "/a/../b.txt"},
                        "path must not contain '..'"),
                       ({"path": "/a/p1", "permission": "rw-r--r--"},
                        'permission must be a valid octal string (e.g., '
                        '"0644")'),
                       ({"path": "/a/p2", "permission": "0999"},
                        'permission must be a valid octal string (e.g., '
                        '"0644")'),
                       ({"path": "/a/p3", "permission": "0x1ff"},
                        'permission must be a valid octal string (e.g., '
                        '"0644")')):
        r = req("POST", F, body=body)
        check_env("write %s: 400 %r" % (json.dumps(body), want), r, 400,
                  msg=want)
    check("...none of them wrote (p1, p2, p3, %s-dd)" % P,
          any(on) and not any(os.path.exists(root + "/a/" + x) for x in
                  ("p1", "p2", "p3")) and
          not os.path.exists("/etc/%s-dd" % P) and
          not os.path.exists(root + "/etc/%s-dd" % P))
    for b in (b"{", b"nope", b'{"path": 5}'):
        r = req("POST", F, body=b)
        check_env("write with body %r: 400 'invalid JSON body: ...'" % b, r,
                  400, prefix="invalid JSON body: ")
    # Symbolic links out of the root are not followed.
    os.symlink(outside, root + "/esc")
    os.symlink(outside + "/target.txt", root + "/lnk")
    os.makedirs(root + "/in")
    os.symlink("../../../../../../../" + outside.lstrip("/"),
               root + "/in/rel")
    for path, what in (("/esc/new.txt", "a directory link out of the root"),
                       ("/lnk", "a file link out of the root"),
                       ("/in/rel/new2.txt", "a relative link climbing out"),
                       ("/esc/deep/new3.txt", "a link, then new directories")):
        r = req("POST", F, body={"path": path, "content": "escaped\n"})
        p = envelope_problems(r, r.status)
        check("write %s (%s): refused, 4xx envelope (%s; writes are on: "
              "%s)" % (path, what, r.status, any(on)),
              400 <= r.status < 500 and not p and any(on),
              "; ".join(p) + " %r" % r)
    check("...nothing written outside the root, target.txt untouched",
          any(on) and sorted(os.listdir(outside)) == ["target.txt"] and
          open(outside + "/target.txt").read() == "untouched\n",
          os.listdir(outside))
    r = send_big(F, padded({"path": "/big.txt", "content": "x"}, MB10 + 1))
    check_env("write with a body over 10 MiB: 413", r, 413,
              msg="request body too large")
    check("...not written", not os.path.exists(root + "/big.txt"))
    big = "b" * (MB10 - 200)
    r = req("POST", F, body={"path": "/big/near-limit.bin", "content": big})
    check("write of %d bytes (just under 10 MB with its JSON): 201, the "
          "file holds them all" % len(big), r.status == 201 and
          (r.json or {}).get("size") == len(big) and
          os.path.getsize(root + "/big/near-limit.bin") == len(big), r)

    # Targets that are not regular files, and links to the host's root.
    os.mkfifo(root + "/a/fifo")
    os.makedirs(root + "/a/dirt")
    os.symlink("/proc/self/root", root + "/pr")
    os.symlink("/proc/self/root/tmp", root + "/a/prt")
    for path, what in (("/a/fifo", "a FIFO"),
                       ("/a/dirt", "a directory"),
                       ("/pr/tmp/%s-pwned" % P, "a link to /proc/self/root"),
                       ("/a/prt/%s-pwned2" % P,
                        "a link into /proc/self/root/tmp")):
        r = req("POST", F, body={"path": path, "content": "x"})
        p = envelope_problems(r, r.status)
        check("write %s (%s): refused, 4xx envelope (%s)" % (path, what,
              r.status), 400 <= r.status < 500 and not p,
              "; ".join(p) + " %r" % r)
    check("...the FIFO is still a FIFO, the directory a directory, "
          "nothing in /tmp",
          stat.S_ISFIFO(os.lstat(root + "/a/fifo").st_mode) and
          stat.S_ISDIR(os.lstat(root + "/a/dirt").st_mode) and
          not os.path.exists("/tmp/%s-pwned" % P) and
          not os.path.exists("/tmp/%s-pwned2" % P))
    r = req("POST", F, body={"path": "/a/suid", "content": "x",
                             "permission": "4755"})
    check_env("permission 4755 (setuid): 400", r, 400,
              msg="permission must not set the setuid, setgid or sticky "
                  "bit")
    check("...not written", not os.path.exists(root + "/a/suid"))

    # A directory swapped for a link out of the root while writes run.
    stop = threading.Event()

    def flipper():
        d, l = root + "/race", root + "/race.lnk"
        os.symlink(outside, l)
        while not stop.is_set():
            try:
                os.makedirs(d, exist_ok=True)
                os.rename(l, d + ".tmp")
                os.rename(d + ".tmp", l)
                # the directory becomes the link, and back
                os.rename(d, d + ".dir")
                os.symlink(outside, d)
                os.unlink(d)
                os.rename(d + ".dir", d)
            except OSError:
                pass
    th = threading.Thread(target=flipper)
    th.start()
    codes = {}
    try:
        for i in range(150):
            r = req("POST", F, body={"path": "/race/f%d.txt" % i,
                                     "content": "escaped\n"})
            codes[r.status] = codes.get(r.status, 0) + 1
    finally:
        stop.set()
        th.join()
    print("#   race answers: %s" % codes)
    check("150 writes while /race flips between a directory and a link "
          "out of the root: none lands outside (answers %s)" % codes,
          sorted(os.listdir(outside)) == ["target.txt"] and
          set(codes) <= {201, 400, 403, 500}, os.listdir(outside))

    # The audit trail: who wrote what, its size and digest.
    r = req("GET", "/_portwing/audit?limit=500", how="bearer")
    recs = (r.json or {}).get("records") or []
    fw = [x for x in recs if x.get("event") == "file_write"]
    ok = [x for x in fw if x.get("path") == "/a/u.txt"]
    want_sha = hashlib.sha256(u.encode()).hexdigest()
    check("audit: a file_write record for /a/u.txt with principal, size "
          "and SHA-256 of the bytes written",
          len(ok) == 1 and ok[0].get("principal") == "token" and
          ok[0].get("size") == len(u.encode()) and
          ok[0].get("sha256") == want_sha and
          ok[0].get("outcome") == "allowed" and ok[0].get("status") == 201,
          ok or recs[:3])
    bad = [x for x in fw if x.get("path") == "/a/fifo"]
    check("audit: the refused write to the FIFO is a file_write record "
          "with outcome error and its reason",
          len(bad) == 1 and bad[0].get("outcome") == "error" and
          bad[0].get("reason") and "sha256" not in bad[0], bad)


def run_files_hooks(root):
    """The test build's filed opens above its root without
    RESOLVE_BENEATH: Landlock refuses it."""
    parent = os.path.dirname(root.rstrip("/"))
    leaf = "portwing-test-escape-%s" % P
    r = req("POST", "/api/v1/files", body={"path": "/x/" + leaf,
                                           "content": "x"})
    check_env("a filed that forgets RESOLVE_BENEATH: its open above the "
              "root refused by Landlock", r, 403,
              contains=("was refused", "Permission denied"))
    check("...nothing made beside the root (%s/%s)" % (parent, leaf),
          not os.path.exists(os.path.join(parent, leaf)) and
          not os.path.exists(os.path.join(root, leaf)))


def run_files_allow(root):
    """HOST_FILES_ALLOW: /srv/app, /etc/app.d/ and /opt/one.conf"""
    F = "/api/v1/files"
    for path in ("/srv/app/config.yml", "/etc/app.d/x/y.conf",
                 "/opt/one.conf"):
        r = req("POST", F, body={"path": path, "content": "ok"})
        check("HOST_FILES_ALLOW: %s allowed: 201" % path,
              r.status == 201 and os.path.isfile(root + path), r)
    for path in ("/srv/application.yml", "/etc/app.conf", "/x.txt",
                 "/srv/ap", "/opt/one.conf.d/x", "/opt/two.conf"):
        r = req("POST", F, body={"path": path, "content": "no"})
        check_env("HOST_FILES_ALLOW: %s outside: 403" % path, r, 403,
                  contains="HOST_FILES_ALLOW")
        check("...not written", not os.path.exists(root + path))


# ------------------------------------------- other agents (t-dockeragent.sh)

def run_alias(key):
    check_health()
    for how in ("x-api-key", "bearer"):
        r = req("GET", "/api/v1/containers", key=key, how=how)
        check("GET /api/v1/containers with the key as %s: 200" % how,
              r.status == 200 and isinstance((r.json or {}).get(
                  "containers"), list), r)
    r = req("GET", "/api/v1/containers", key=key + "-no", src=bad_src())
    check("a wrong key: 401 %s" % json.dumps(UNAUTH),
          is_json_answer(r, 401, UNAUTH), r)


def run_degraded(key):
    r = req("GET", "/health", how=None)
    j = r.json if isinstance(r.json, dict) else {}
    check("GET /health with Docker unreachable: 503 application/json "
          "{status: degraded, docker: <error text>, timestamp}",
          r.status == 503 and r.ctype.startswith("application/json") and
          set(j) == {"status", "docker", "timestamp"} and
          j.get("status") == "degraded" and
          isinstance(j.get("docker"), str) and j["docker"] not in
          ("", "connected") and TS_SEC.fullmatch(j.get("timestamp") or ""),
          r)
    print("#   docker: %r" % j.get("docker"))
    r = req("GET", "/api/v1/containers", key=key)
    p = envelope_problems(r, r.status)
    check("GET /api/v1/containers with Docker unreachable: a 5xx envelope "
          "(%s)" % r.status, 500 <= r.status < 600 and not p,
          "; ".join(p) + " %r" % r)
    r = req("POST", "/api/v1/containers", key=key,
            body={"image": "x", "restart_policy": {"name": "bad"}})
    check_env("validation still answers without Docker: 400", r, 400,
              msg="restart_policy.name must be one of: no, always, "
                  "on-failure, unless-stopped")


def run_apiversion(key, version):
    st, v = dapi("GET", "/version")
    engine = v.get("ApiVersion", "0")
    newer = tuple(int(x) for x in version.split(".")) > \
        tuple(int(x) for x in engine.split("."))
    check_health()
    r = req("GET", "/api/v1/containers", key=key)
    if newer:
        p = envelope_problems(r, r.status, contains=version)
        check("DOCKER_API_VERSION=%s against an engine of API %s: the "
              "agent calls Docker as %s (Docker's refusal passed on: %s)" %
              (version, engine, version, r.status),
              r.status >= 400 and not p, "; ".join(p) + " %r" % r)
    else:
        check("DOCKER_API_VERSION=%s (engine %s): the list works" %
              (version, engine), r.status == 200, r)


def main():
    global PORT, TOKEN, DSOCK, IMAGE, P
    what = sys.argv[1]
    PORT, TOKEN = int(sys.argv[2]), sys.argv[3]
    a = sys.argv[4:]
    _src["net"] = SECTION_NET.get(what, 30)
    _src["n"] = random.randrange(0, 20 * 150)
    if what in ("api", "lifecycle", "create", "limits", "logs", "files",
                "fileshooks", "filesallow"):
        DSOCK, IMAGE, P = a[0], a[1], a[2]
    fns = {"api": run_api, "lifecycle": run_lifecycle, "create": run_create,
           "limits": run_limits, "logs": run_logs,
           "files": lambda: run_files(a[3]),
           "fileshooks": lambda: run_files_hooks(a[3]),
           "filesallow": lambda: run_files_allow(a[3]),
           "alias": lambda: run_alias(TOKEN),
           "degraded": lambda: run_degraded(TOKEN)}
    if what == "apiversion":
        DSOCK = a[1]
        run_guarded(what, lambda: run_apiversion(TOKEN, a[0]))
    elif what in fns:
        run_guarded(what, fns[what])
    else:
        raise SystemExit("unknown section " + what)
    print("# %s: %d passed, %d failed" % (what, tap.npass, tap.nfail))
    return 1 if tap.nfail else 0


if __name__ == "__main__":
    sys.exit(main())
