#!/usr/bin/python3
"""generic_check.py: the generic adapter (ADAPTER=generic, /api/v1/*)
against a real Docker Engine; driven by t-generic.sh.

  generic_check.py api PORT TOKEN DSOCK IMAGE PREFIX AGENT_NAME VERSION
      version, authentication, 405, Drydock routes falling through to
      Docker, the container list against docker inspect, the cache
      following changes, logs;
  generic_check.py events PORT TOKEN DSOCK IMAGE PREFIX AGENT_PID
      the SSE stream against Docker's own /events, health and exec
      events, 200 clients on one Docker subscription;
  generic_check.py heartbeat PORT TOKEN SECONDS
      one client held open SECONDS: ": heartbeat" comments;
  generic_check.py drydock PORT TOKEN
      the default adapter serves none of /api/v1.

Containers, networks, volumes and tags are named PREFIX-*; t-generic.sh
removes them.  Prints TAP lines; exit status 1 when anything failed.
Standard library only."""
import calendar
import json
import os
import re
import resource
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ddsse import Hub  # noqa: E402
import pwhttp  # noqa: E402
from generic_sse import (SSE, DockerEvents, forwarded, docker_conns,  # noqa
                         req)
from tap import ok, fail, check  # noqa: E402
import tap  # noqa: E402

HEX64 = re.compile(r"[0-9a-f]{64}")
TS = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")
NOT_FOUND = {"message": "page not found"}


def docker(dsock, *args, check_rc=True, timeout=60):
    r = subprocess.run(["docker", "-H", "unix://" + dsock] + list(args),
                       capture_output=True, text=True, timeout=timeout)
    if check_rc and r.returncode != 0:
        raise RuntimeError("docker %s: %s" % (" ".join(args), r.stderr))
    return r.stdout.strip()


def inspect(dsock, *names):
    return json.loads(docker(dsock, "inspect", *names))


def rfc3339(s):
    """Seconds since the epoch (float) of an RFC 3339 time, or None."""
    m = re.fullmatch(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(\.\d+)?"
                     r"(Z|[+-]\d\d:\d\d)", s or "")
    if not m:
        return None
    t = calendar.timegm(time.strptime(m.group(1), "%Y-%m-%dT%H:%M:%S"))
    if m.group(2):
        t += float("0" + m.group(2))
    if m.group(3) != "Z":
        sign = 1 if m.group(3)[0] == "+" else -1
        t -= sign * (int(m.group(3)[1:3]) * 3600 + int(m.group(3)[4:]) * 60)
    return t


def same_time(got, want):
    """got is RFC 3339 and names the instant Docker's `want` names (to
    the second: the agent may drop the fraction)."""
    a, b = rfc3339(got), rfc3339(want)
    return a is not None and b is not None and abs(a - b) < 1.0


def json_body(data):
    try:
        return json.loads(data)
    except ValueError:
        return None


# ---------------------------------------------------------------- api

def entry_problems(e, c, img, agent, ref):
    """Differences between list entry e and inspected container c.
    ref: (registry, name, tag) the image reference must split into."""
    bad = []
    cfg, st = c["Config"], c["State"]
    name = c["Name"].lstrip("/")
    want = {"id": c["Id"], "name": name, "displayName": name,
            "status": st["Status"], "watcher": "docker", "agent": agent,
            "updateAvailable": False, "updateKind": "unknown"}
    for k, v in want.items():
        if e.get(k) != v:
            bad.append("%s=%r, want %r" % (k, e.get(k), v))
    extra = set(e) - set(want) - {"image", "labels", "details"}
    if extra:
        bad.append("members outside the contract: %s" % sorted(extra))
    labels = cfg.get("Labels") or {}
    if labels:
        if e.get("labels") != labels:
            bad.append("labels=%r, want %r" % (e.get("labels"), labels))
    elif "labels" in e:
        bad.append("labels present (%r) for a container without" %
                   e["labels"])
    im = e.get("image")
    if not isinstance(im, dict):
        bad.append("image=%r" % (im,))
        im = {}
    for k, v in (("id", c["Image"]), ("registry", ref[0]),
                 ("name", ref[1]), ("tag", ref[2])):
        if im.get(k) != v:
            bad.append("image.%s=%r, want %r" % (k, im.get(k), v))
    if not same_time(im.get("created"), img["Created"]):
        bad.append("image.created=%r, image created %r" %
                   (im.get("created"), img["Created"]))
    extra = set(im) - {"id", "registry", "name", "tag", "created"}
    if extra:
        bad.append("image members outside the contract: %s" % sorted(extra))
    d = e.get("details")
    if not isinstance(d, dict):
        return bad + ["details=%r" % (d,)]
    plats = {c.get("Platform"), "%s/%s" % (img.get("Os"),
                                           img.get("Architecture"))}
    if d.get("platform") not in plats:
        bad.append("details.platform=%r, want one of %s" %
                   (d.get("platform"), sorted(p for p in plats if p)))
    cmd = " ".join(cfg.get("Cmd") or [])
    if cmd:
        if d.get("command") != cmd:
            bad.append("details.command=%r, want %r" % (d.get("command"),
                                                        cmd))
    elif "command" in d:
        bad.append("details.command present (%r) with no Cmd" %
                   d["command"])
    # Networks: one entry each; empty strings may be left out.
    nets = (c.get("NetworkSettings") or {}).get("Networks") or {}
    wnet = sorted(({"name": k, "ipAddress": v.get("IPAddress") or "",
                    "gateway": v.get("Gateway") or ""}
                   for k, v in nets.items()), key=lambda x: x["name"])
    gnet = d.get("network", [])
    if not isinstance(gnet, list) or \
            not all(isinstance(x, dict) for x in gnet):
        bad.append("details.network=%r" % (gnet,))
    else:
        gnet = sorted(({"name": x.get("name"),
                        "ipAddress": x.get("ipAddress", ""),
                        "gateway": x.get("gateway", "")} for x in gnet),
                      key=lambda x: str(x["name"]))
        if gnet != wnet:
            bad.append("details.network=%r, want %r" % (gnet, wnet))
        if wnet == [] and "network" in d:
            bad.append("details.network present though empty")
    wvol = sorted(({"type": m.get("Type"), "source": m.get("Source"),
                    "destination": m.get("Destination"),
                    "readOnly": not m.get("RW", True)}
                   for m in c.get("Mounts") or []),
                  key=lambda x: x["destination"])
    if wvol:
        gvol = d.get("volumes")
        if not isinstance(gvol, list) or sorted(
                gvol, key=lambda x: str(x.get("destination"))) != wvol:
            bad.append("details.volumes=%r, want %r" % (gvol, wvol))
    elif "volumes" in d:
        bad.append("details.volumes present (%r) with no mounts" %
                   d["volumes"])
    wenv = [{"key": kv.partition("=")[0], "value": kv.partition("=")[2]}
            for kv in cfg.get("Env") or []]
    if wenv:
        genv = d.get("env")
        if not isinstance(genv, list) or sorted(
                genv, key=lambda x: str(x.get("key"))) != \
                sorted(wenv, key=lambda x: x["key"]):
            bad.append("details.env=%r, want %r" % (genv, wenv))
    elif "env" in d:
        bad.append("details.env present with no Env")
    if not same_time(d.get("created"), c["Created"]):
        bad.append("details.created=%r, container created %r" %
                   (d.get("created"), c["Created"]))
    started = st.get("StartedAt") or ""
    if started.startswith("0001-"):
        if "started" in d:
            bad.append("details.started=%r for a never-started container" %
                       d["started"])
    elif not same_time(d.get("started"), started):
        bad.append("details.started=%r, started %r" % (d.get("started"),
                                                       started))
    health = (st.get("Health") or {}).get("Status")
    if health:
        if d.get("health") != health:
            bad.append("details.health=%r, want %r" % (d.get("health"),
                                                       health))
    elif "health" in d:
        bad.append("details.health=%r without a healthcheck" % d["health"])
    extra = set(d) - {"platform", "command", "network", "volumes", "env",
                      "created", "started", "health"}
    if extra:
        bad.append("details members outside the contract: %s" %
                   sorted(extra))
    return bad


def run_api(port, token, dsock, image, P, agent, version):
    def get(path, **kw):
        return req(port, "GET", path, token, **kw)

    # Version.
    st, h, data = get("/api/v1/version")
    want = {"agentVersion": version, "protocolName": "portwing",
            "protocolVersion": "1.0", "adapter": "generic"}
    check("GET /api/v1/version: 200 application/json %s" % json.dumps(want),
          st == 200 and h.get("content-type", "").startswith(
              "application/json") and json_body(data) == want,
          "%d %r %r" % (st, h.get("content-type"), data[:300]))

    # Authentication: no token, a wrong one.  Each from an address of its
    # own, so that the failure limiter stays out of it.
    n = 0
    for path in ("/api/v1/version", "/api/v1/containers", "/api/v1/events",
                 "/api/v1/containers/%s-nosuch/logs" % P):
        for tok, how in ((None, "no token"), ("wrong-" + token, "a wrong "
                                                               "token")):
            n += 1
            st, h, data = req(port, "GET", path, tok,
                              src="127.0.3.%d" % (10 + n))
            check("GET %s with %s: 401 unauthorized" % (path, how),
                  st == 401 and data.strip() == b"unauthorized",
                  "%d %r" % (st, data[:200]))

    # Wrong methods.
    for m, path in (("POST", "/api/v1/containers"),
                    ("DELETE", "/api/v1/containers"),
                    ("PUT", "/api/v1/version"),
                    ("POST", "/api/v1/events"),
                    ("POST", "/api/v1/containers/%s-x/logs" % P)):
        st, h, data = req(port, m, path, token, body=b"")
        allow = h.get("allow", "")
        check("%s %s: 405 with an Allow header naming GET (%r)" %
              (m, path, allow),
              st == 405 and "GET" in [a.strip() for a in allow.split(",")],
              "%d allow=%r %r" % (st, allow, data[:200]))

    # Drydock's routes are not the agent's here: Docker answers them.
    for path in ("/api/containers", "/api/events", "/api/watchers",
                 "/api/triggers", "/api/log/entries",
                 "/api/watchers/docker/docker"):
        st, h, data = get(path)
        check("generic mode: GET %s falls through to Docker's 404" % path,
              st == 404 and json_body(data) == NOT_FOUND,
              "%d %r" % (st, data[:200]))

    # ---- the container list
    tmpd = tempfile.mkdtemp(prefix=P + "-")
    docker(dsock, "network", "create", P + "-net")
    D = lambda *a: docker(dsock, *a)  # noqa: E731
    D("run", "-d", "--name", P + "-run", "--network", P + "-net",
      "--label", "app=pwgen", "--label", "tier=web",
      "-e", "FOO=bar", "-e", "EMPTY=", "-e", "EQ=a=b",
      "-v", tmpd + ":/hostdir:ro", "-v", P + "-vol:/data",
      "--health-cmd", "true", "--health-interval", "1s",
      image, "sleep", "3600")
    D("run", "--name", P + "-exit", image, "sh", "-c", "echo bye")
    D("create", "--name", P + "-created", image)
    D("run", "-d", "--name", P + "-paused", image, "sleep", "3600")
    D("pause", P + "-paused")
    refs = {P + "-run": ("docker.io", image, "latest"),
            P + "-exit": ("docker.io", image, "latest"),
            P + "-created": ("docker.io", image, "latest"),
            P + "-paused": ("docker.io", image, "latest")}
    for ref, parts in (("localhost:5000/%s/bb:v1" % P,
                        ("localhost:5000", P + "/bb", "v1")),
                       ("registry.example.com/team/%s-bb" % P,
                        ("registry.example.com", "team/%s-bb" % P,
                         "latest")),
                       ("%s/hubbb:2.0" % P, ("docker.io", P + "/hubbb",
                                             "2.0"))):
        D("tag", image, ref)
        n = "%s-ref%d" % (P, len(refs))
        D("create", "--name", n, ref, "sleep", "1")
        refs[n] = parts
    # Healthy before comparing (the health probe runs every second).
    end = time.time() + 20
    while time.time() < end and \
            inspect(dsock, P + "-run")[0]["State"]["Health"]["Status"] \
            != "healthy":
        time.sleep(0.3)
    names = sorted(refs)

    def compare():
        ins = {c["Name"].lstrip("/"): c for c in inspect(dsock, *names)}
        imgs = {}
        st, h, data = get("/api/v1/containers")
        lst = json_body(data)
        if st != 200 or not isinstance(lst, list):
            return st, h, data, None, {n: ["no list"] for n in names}
        byid = {e.get("id"): e for e in lst if isinstance(e, dict)}
        probs = {}
        for n in names:
            c = ins[n]
            if c["Image"] not in imgs:
                imgs[c["Image"]] = inspect(dsock, c["Image"])[0]
            e = byid.get(c["Id"])
            if e is None:
                probs[n] = ["not listed"]
                continue
            p = entry_problems(e, c, imgs[c["Image"]], agent, refs[n])
            if p:
                probs[n] = p
        return st, h, data, lst, probs

    end = time.time() + 5
    while True:
        st, h, data, lst, probs = compare()
        if not probs or time.time() > end:
            break
        time.sleep(0.3)
    check("GET /api/v1/containers: 200 application/json, a JSON array",
          st == 200 and h.get("content-type", "").startswith(
              "application/json") and isinstance(lst, list),
          "%d %r %r" % (st, h.get("content-type"), data[:200]))
    for n in names:
        c = inspect(dsock, n)[0]
        check("container %s (%s, %s): its entry matches docker inspect" %
              (n, c["State"]["Status"], c["Config"]["Image"]),
              n not in probs, "; ".join(probs.get(n, [])))
    check("the running, exited, created and paused ones are all listed "
          "(no state filter)",
          lst is not None and {e.get("status") for e in lst
                               if e.get("name", "").startswith(P + "-")} >=
          {"running", "exited", "created", "paused"},
          sorted({e.get("status") for e in lst or []}))
    # Exactly Docker's containers (other tests may share the engine: a
    # listing between two samples of docker ps -a, taken when the two
    # agree with it, allowing for the cache's lag).
    end = time.time() + 10
    while True:
        d1 = set(docker(dsock, "ps", "-aq", "--no-trunc").split())
        st, h, data = get("/api/v1/containers")
        d2 = set(docker(dsock, "ps", "-aq", "--no-trunc").split())
        got = {e.get("id") for e in json_body(data) or []}
        good = (d1 & d2) <= got <= (d1 | d2)
        if good or time.time() > end:
            break
        time.sleep(0.5)
    check("the list holds every container Docker has, and nothing else "
          "(%d)" % len(got), good,
          "missing %s, extra %s" % (sorted((d1 & d2) - got)[:5],
                                    sorted(got - (d1 | d2))[:5]))

    # ---- the cache follows changes
    cn = P + "-cache"

    def listed(pred):
        t0 = time.monotonic()
        while True:
            st, h, data = get("/api/v1/containers")
            lst = json_body(data) or []
            hit = [e for e in lst if e.get("id") == cid]
            if pred(hit[0] if hit else None):
                return True, time.monotonic() - t0, hit
            if time.monotonic() - t0 > 3:
                return False, time.monotonic() - t0, hit
            time.sleep(0.1)

    cid = D("create", "--name", cn, image, "sleep", "3600")
    for desc, act, pred in (
            ("created: listed as created, no started",
             None, lambda e: e is not None and e.get("status") == "created"
             and "started" not in e.get("details", {})),
            ("started: running, with started", ("start", cn),
             lambda e: e is not None and e.get("status") == "running"
             and "started" in e.get("details", {})),
            ("paused: paused", ("pause", cn),
             lambda e: e is not None and e.get("status") == "paused"),
            ("unpaused: running", ("unpause", cn),
             lambda e: e is not None and e.get("status") == "running"),
            ("renamed: the new name", ("rename", cn, cn + "2"),
             lambda e: e is not None and e.get("name") == cn + "2" and
             e.get("displayName") == cn + "2"),
            ("stopped: exited", ("stop", "-t", "0", cn + "2"),
             lambda e: e is not None and e.get("status") == "exited"),
            ("removed: gone", ("rm", cn + "2"), lambda e: e is None)):
        if act:
            D(*act)
        good, dt, hit = listed(pred)
        check("cache: a container %s within 3 s (%.1f s)" % (desc, dt),
              good, "entry %r" % (hit[:1],))

    # ---- logs
    D("run", "-d", "--name", P + "-logs", image, "sh", "-c",
      "echo out1; sleep 0.3; echo err1 >&2; sleep 0.3; echo out2; "
      "sleep 1.5; echo late; exec sleep 3600")
    D("run", "-d", "-t", "--name", P + "-tty", image, "sh", "-c",
      "echo tty1; echo tty2; exec sleep 3600")
    D("run", "-d", "--name", P + "-follow", image, "sh", "-c",
      "while :; do echo tick; sleep 0.3; done")
    lid = D("inspect", "-f", "{{.Id}}", P + "-logs")
    end = time.time() + 10
    while time.time() < end and "late" not in subprocess.run(
            ["docker", "-H", "unix://" + dsock, "logs", lid],
            capture_output=True, text=True).stdout:
        time.sleep(0.2)
    lg = "/api/v1/containers/%s/logs" % lid
    st, h, data = get(lg)
    check("logs: 200 text/plain, stdout and stderr without frame headers",
          st == 200 and h.get("content-type", "").startswith("text/plain")
          and data == b"out1\nerr1\nout2\nlate\n",
          "%d %r %r" % (st, h.get("content-type"), data[:200]))
    st, h, data = get("/api/v1/containers/%s/logs" % (P + "-logs"))
    check("logs by container name: the same lines",
          st == 200 and data == b"out1\nerr1\nout2\nlate\n",
          "%d %r" % (st, data[:200]))
    for q, want in (("tail=1", b"late\n"), ("tail=2", b"out2\nlate\n"),
                    ("tail=100", b"out1\nerr1\nout2\nlate\n"),
                    ("timestamps=1", b"out1\nerr1\nout2\nlate\n"),
                    ("timestamps=true&tail=1", b"late\n")):
        st, h, data = get(lg + "?" + q)
        check("logs ?%s: %r" % (q, want), st == 200 and data == want,
              "%d %r" % (st, data[:200]))
    for q in ("tail=0", "tail=x", "tail=-1"):
        st, h, data = get(lg + "?" + q)
        check("logs ?%s: 400 'invalid tail: must be a positive integer'" % q,
              st == 400 and data.strip() ==
              b"invalid tail: must be a positive integer",
              "%d %r" % (st, data[:200]))
    # since / until: around the pause between out2 and late, from
    # Docker's own timestamps.
    stamps = {}
    for line in docker(dsock, "logs", "-t", lid).splitlines() + \
            subprocess.run(["docker", "-H", "unix://" + dsock, "logs", "-t",
                            lid], capture_output=True,
                           text=True).stderr.splitlines():
        ts, _, text = line.partition(" ")
        stamps[text] = rfc3339(ts)
    if "out2" in stamps and "late" in stamps:
        mid = (stamps["out2"] + stamps["late"]) / 2
        smid = "%.9f" % mid
        st, h, data = get(lg + "?since=" + smid)
        check("logs ?since=(between out2 and late): late only",
              st == 200 and data == b"late\n", "%d %r" % (st, data[:200]))
        st, h, data = get(lg + "?until=" + smid)
        check("logs ?until=(between out2 and late): the first three lines",
              st == 200 and data == b"out1\nerr1\nout2\n",
              "%d %r" % (st, data[:200]))
        st, h, data = get(lg + "?since=%d" % int(time.time() + 3600))
        check("logs ?since=(an hour ahead): nothing", st == 200 and
              data == b"", "%d %r" % (st, data[:200]))
    else:
        fail("docker logs -t gave the lines' times: %r" % stamps)
    st, h, data = get("/api/v1/containers/%s/logs" % (P + "-tty"))
    check("logs of a TTY container: the raw output passed through",
          st == 200 and data == b"tty1\r\ntty2\r\n", "%d %r" % (st, data))
    st, h, data = get("/api/v1/containers/-bad/logs")
    check("logs with an invalid id: 500 'getting logs: invalid container "
          "id'", st == 500 and data.strip() ==
          b"getting logs: invalid container id", "%d %r" % (st, data[:200]))
    st, h, data = get("/api/v1/containers/%s-nosuch/logs" % P)
    check("logs of a missing container: 500 'getting logs: docker error "
          "(status 404): ...'", st == 500 and data.startswith(
              b"getting logs: docker error (status 404):"),
          "%d %r" % (st, data[:200]))
    fid = D("inspect", "-f", "{{.Id}}", P + "-follow")
    for fq in ("follow=1", "follow=true"):
        s = socket.create_connection(("127.0.0.1", port), 10)
        s.sendall(("GET /api/v1/containers/%s/logs?%s&tail=1 HTTP/1.1\r\n"
                   "Host: a\r\nAuthorization: Bearer %s\r\n\r\n" %
                   (fid, fq, token)).encode())
        st = None
        buf, times = b"", []
        try:
            st, hh, buf = pwhttp.read_head(s)
            s.settimeout(0.5)
            end = time.time() + 6
            while buf.count(b"tick") < 5 and time.time() < end:
                try:
                    d = s.recv(4096)
                except OSError:
                    continue
                if not d:
                    break
                buf += d
                times.append(time.time())
        except (OSError, EOFError) as e:
            buf += repr(e).encode()
        s.close()
        spread = times[-1] - times[0] if times else 0
        check("logs ?%s&tail=1: lines keep arriving on the open response "
              "(%d ticks over %.1f s)" % (fq, buf.count(b"tick"), spread),
              st == 200 and buf.count(b"tick") >= 5 and spread >= 0.6,
              "%r %r" % (st, buf[:200]))


# ------------------------------------------------------------- events

def run_events(port, token, dsock, image, P, agent_pid):
    hub = Hub()
    t_start = int(time.time())
    dev = DockerEvents(dsock, t_start - 2)
    time.sleep(0.3)
    # A fresh client: headers at once, no greeting event.
    quiet = SSE(hub, port, token)
    e = SSE(hub, port, token)
    hub.wait(lambda: quiet.head is not None and e.head is not None, 10)
    time.sleep(1.5)
    with hub.lock:
        first = list(quiet.events)
    check("GET /api/v1/events: 200, Content-Type text/event-stream, "
          "Cache-Control no-cache",
          quiet.status() == 200 and
          quiet.hdrs.get("content-type", "").split(";")[0].strip() ==
          "text/event-stream" and
          quiet.hdrs.get("cache-control") == "no-cache", quiet.head)
    # Anything seen now must be a Docker event of another test.
    later = [forwarded(x) for x in dev.snapshot()
             if x.get("time", 0) >= int(quiet.wall0) - 1]
    check("a new client is sent no initial event",
          all(ev in later for _, ev in first), first[:2])

    x = P + "-ev"
    D = lambda *a: docker(dsock, *a)  # noqa: E731
    labels = ["keep=1", "org.opencontainers.image.vendor=v", "maintainer=m"]
    labels += ["org.opencontainers.image.%s=%s-v" % (k, k) for k in
               ("created", "revision", "source", "title", "url", "version")]
    args = ["create", "-t", "--name", x, "--health-cmd", "true",
            "--health-interval", "1s"]
    for lab in labels:
        args += ["--label", lab]
    xid = D(*(args + [image, "sleep", "3600"]))
    D("start", x)

    def agent_has(action, since=0):
        return hub.wait(lambda: any(ev.get("action") == action
                                    for ev in e.about(xid, since)), 15)

    check("a health_status event arrives for a container with a "
          "HEALTHCHECK", agent_has("health_status"))
    # And a failing check: unhealthy after one failed probe.
    sid = D("run", "-d", "--name", P + "-sick", "--health-cmd", "false",
            "--health-interval", "1s", "--health-retries", "1", image,
            "sleep", "3600")
    check("a failing HEALTHCHECK: health_status with health: unhealthy",
          hub.wait(lambda: any(ev.get("action") == "health_status" and
                               ev.get("health") == "unhealthy"
                               for ev in e.about(sid)), 15),
          e.about(sid))
    D("rm", "-f", P + "-sick")
    D("exec", x, "true")
    D("top", x)
    subprocess.run(["docker", "-H", "unix://" + dsock, "cp",
                    x + ":/etc/passwd", "-"], capture_output=True)
    subprocess.run(["curl", "-s", "--unix-socket", dsock, "-X", "POST",
                    "http://docker/containers/%s/resize?h=20&w=30" % xid],
                   capture_output=True)
    subprocess.run(["curl", "-s", "-m", "1", "--unix-socket", dsock, "-X",
                    "POST", "http://docker/containers/%s/attach?stream=1&"
                    "stdout=1" % xid], capture_output=True)
    D("pause", x)
    D("unpause", x)
    D("update", "--cpu-shares", "512", x)
    D("rename", x, x + "-b")
    D("restart", "-t", "1", x + "-b")
    D("commit", x + "-b", P + "-commit")
    subprocess.run(["docker", "-H", "unix://" + dsock, "export", x + "-b"],
                   stdout=subprocess.DEVNULL, check=True)
    D("kill", x + "-b")
    D("network", "create", P + "-evnet")
    D("network", "rm", P + "-evnet")
    D("volume", "create", P + "-evvol")
    D("volume", "rm", P + "-evvol")
    D("rmi", P + "-commit")
    D("rm", x + "-b")
    agent_has("destroy")
    end = time.time() + 5
    while time.time() < end and not any(
            (d.get("Actor") or {}).get("ID") == xid and
            d.get("Action") == "destroy" for d in dev.snapshot()):
        time.sleep(0.1)
    time.sleep(1)
    devs = dev.snapshot()
    want = [f for f in (forwarded(d) for d in devs
                        if (d.get("Actor") or {}).get("ID") == xid) if f]
    got = e.about(xid)
    actions = [g.get("action") for g in got]
    check("the client saw create start health_status pause unpause update "
          "rename kill die stop restart destroy for %s" % x,
          {"create", "start", "health_status", "pause", "unpause", "update",
           "rename", "kill", "die", "stop", "restart", "destroy"} <=
          set(actions), actions)
    if got == want:
        ok("each event is exactly Docker's (ts, action, containerId, name, "
           "image, labels, health), in Docker's order (%d events)" %
           len(got))
    else:
        fail("each event is exactly Docker's, in Docker's order")
        for i in range(max(len(got), len(want))):
            g = got[i] if i < len(got) else None
            w = want[i] if i < len(want) else None
            if g != w:
                print("# event %d: agent %s" % (i, json.dumps(g)))
                print("#          want  %s" % json.dumps(w))
    leaked = [a for a in actions if a not in
              ("create", "start", "stop", "die", "kill", "restart", "pause",
               "unpause", "destroy", "rename", "update", "oom",
               "health_status")]
    check("no exec_*, top, archive-path, resize, attach, commit or export "
          "event was forwarded", not leaked, leaked)
    docker_execs = [d.get("Action") for d in devs
                    if (d.get("Actor") or {}).get("ID") == xid and
                    d.get("Action", "").startswith("exec_")]
    check("(Docker did emit exec_* events for it: %d)" % len(docker_execs),
          len(docker_execs) >= 3)
    ev = {g["action"]: g for g in got}
    h = ev.get("health_status", {})
    check("health_status carries health: healthy", h.get("health") ==
          "healthy", h)
    c = ev.get("create", {})
    check("create: labels are the container's minus maintainer and "
          "org.opencontainers.image.{created,revision,source,title,url,"
          "version}", c.get("labels") == {
              "keep": "1", "org.opencontainers.image.vendor": "v"}, c)
    check("create: ts is RFC 3339 UTC to the second, containerId 64 hex, "
          "name, image, type container",
          TS.fullmatch(c.get("ts", "")) and
          HEX64.fullmatch(c.get("containerId", "")) and
          c.get("name") == x and c.get("image") == image and
          c.get("type") == "container", c)
    k = ev.get("kill", {})
    check("kill: no signal member, name after the rename",
          k.get("name") == x + "-b" and "signal" not in k and
          "signal" not in k.get("labels", {}), k)
    check("die: no exitCode", "exitCode" not in ev.get("die", {}).get(
        "labels", {}) and "exitCode" not in ev.get("die", {}),
        ev.get("die"))
    # Everything the client received is some Docker container event, as
    # forwarded: nothing of networks, volumes or images, nothing invented.
    # (Docker's own stream read after the agent's: other tests may share
    # the engine.)
    with hub.lock:
        alls = [g for _, g in e.events]
    time.sleep(0.5)
    allw = [forwarded(d) for d in dev.snapshot()]
    stray = [g for g in alls if g not in allw]
    check("every event received (%d) is a forwarded Docker container "
          "event (no network, volume or image events)" % len(alls),
          not stray, stray[:3])
    check("the stream held only data: frames and heartbeats",
          not e.bad and not quiet.bad, (e.bad + quiet.bad)[:3])
    quiet.close()

    # ---- 200 clients, one Docker subscription
    time.sleep(1)
    c1 = docker_conns(dsock, agent_pid)
    check("with one client, portwingd holds Docker connections (%d), the "
          "count below is meaningful" % c1, c1 >= 1)
    many = [SSE(hub, port, token) for _ in range(200)]
    hub.wait(lambda: all(m.head is not None for m in many), 30)
    n200 = sum(m.status() == 200 for m in many)
    check("200 more SSE clients connected (%d answered 200)" % n200,
          n200 == 200)
    time.sleep(1)
    c200 = docker_conns(dsock, agent_pid)
    check("with 201 clients, portwingd's Docker connections went from %d "
          "to %d (one shared event subscription)" % (c1, c200),
          c200 - c1 <= 2)
    # The count sees Docker connections: each followed log holds one.
    tid = D("run", "-d", "--name", P + "-tick", image, "sh", "-c",
            "while :; do echo t; sleep 0.2; done")
    follows = []
    for _ in range(10):
        s = socket.create_connection(("127.0.0.1", port), 10)
        s.sendall(("GET /api/v1/containers/%s/logs?follow=1&tail=1 "
                   "HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer %s\r\n\r\n"
                   % (tid, token)).encode())
        follows.append(s)
    for s in follows:
        try:
            pwhttp.read_head(s)
        except (OSError, EOFError):
            pass
    time.sleep(0.5)
    cf = docker_conns(dsock, agent_pid)
    check("(the count is sensitive: 10 followed logs held, %d Docker "
          "connections)" % cf, cf >= 10)
    for s in follows:
        s.close()
    D("rm", "-f", P + "-tick")
    fid = D("run", "-d", "--name", P + "-fan", image, "sleep", "3600")
    hub.wait(lambda: all(any(g.get("action") == "start"
                             for g in m.about(fid)) for m in many), 15)
    with hub.lock:
        nget = sum(any(g.get("action") == "start" for g in m.about(fid))
                   for m in many)
    check("all 200 clients received the start of %s-fan (%d)" % (P, nget),
          nget == 200)
    check("and the client from before too",
          any(g.get("action") == "start" for g in e.about(fid)))
    check("no client was disconnected", not any(m.closed for m in many))
    D("rm", "-f", P + "-fan")
    for m in many:
        m.close()
    e.close()
    dev.close()
    hub.close()


# ---------------------------------------------------------- heartbeat

def run_heartbeat(port, token, secs):
    hub = Hub()
    c = SSE(hub, port, token)
    hub.wait(lambda: c.head is not None, 10)
    time.sleep(max(0, secs - (time.monotonic() - c.t0)))
    with hub.lock:
        beats = [b - c.t0 for b in c.beats]
        bad = list(c.bad)
        closed = c.closed
    check("an SSE client held %d s got ': heartbeat' comments, not too "
          "many (at %s s)" % (secs, ["%.1f" % b for b in beats]),
          1 <= len(beats) <= 2, beats)
    check("heartbeats are ': heartbeat' then a blank line; nothing else "
          "malformed", not bad, bad[:3])
    check("the held stream stayed open", not closed and c.status() == 200,
          c.head)
    c.close()
    hub.close()


# ------------------------------------------------------------ drydock

def run_drydock(port, token):
    st, h, data = req(port, "GET", "/api/containers", token)
    check("drydock mode: GET /api/containers is the agent's (200)",
          st == 200, "%d %r" % (st, data[:200]))
    for path in ("/api/v1/version", "/api/v1/containers", "/api/v1/events",
                 "/api/v1/containers/x/logs"):
        st, h, data = req(port, "GET", path, token)
        check("drydock mode: GET %s falls through to Docker's 404" % path,
              st == 404 and json_body(data) == NOT_FOUND,
              "%d %r" % (st, data[:200]))


def main():
    what, port, token = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    a = sys.argv[4:]
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(4096, hard), hard))
    try:
        if what == "api":
            run_api(port, token, a[0], a[1], a[2], a[3], a[4])
        elif what == "events":
            run_events(port, token, a[0], a[1], a[2], int(a[3]))
        elif what == "heartbeat":
            run_heartbeat(port, token, float(a[0]))
        elif what == "drydock":
            run_drydock(port, token)
        else:
            raise SystemExit("unknown phase " + what)
    except Exception as ex:  # a crash is a failure, said as one
        import traceback
        for line in traceback.format_exc().splitlines():
            print("# " + line)
        fail("%s checks ran to the end (%s: %s)" % (what, type(ex).__name__,
                                                     ex))
    print("# %d passed, %d failed" % (tap.npass, tap.nfail))
    return 1 if tap.nfail else 0


if __name__ == "__main__":
    sys.exit(main())
