#!/usr/bin/python3
"""compose_check.py: POST /_portwing/compose (reference section 12, and
section 11's compose_op record) against a real Docker Engine and the
compose binaries; driven by t-compose.sh.  One section per run:

  compose_check.py off PORT TOKEN
      an agent without STACKS_DIR: 404 and its JSON body, no "compose"
      capability;
  compose_check.py validate PORT TOKEN DSOCK IMAGE PREFIX STACKS CUSER
      STACKS_DIR made 0750 for the compose user; each check of 12.2 with
      its message, and their order; the operation checked last, after
      the files were written; files 0600 and directories 0750 of the
      compose user; .env.drydock only with "files"; "base64:" content;
      bodies that are not JSON (400), over 32 MiB (413), of exactly
      32 MiB (taken); no credential (401, nothing written); a registry
      login that fails, its password nowhere in the answer; the audit
      records.  CUSER: the compose user, a name or a uid;
  compose_check.py paths PORT TOKEN DSOCK IMAGE PREFIX STACKS CUSER BASE
      nothing is ever written outside STACKS (BASE/outside, a directory
      the compose user may write, is the sentinel): "..", absolute
      paths, NUL bytes, a linked stack directory, a linked file, a linked
      .env.drydock, linked intermediate directories (absolute, relative,
      /proc/self/root), a dangling link, a FIFO, and 100 writes while
      two threads swap a directory for a link out and back;
  compose_check.py lifecycle PORT TOKEN DSOCK IMAGE PREFIX STACKS CUSER
                   KIND REGREF REGLOG
      KIND v1 (docker-compose) or v2 (docker compose): up, ps, logs
      (tail, services), restart, stop, start, up --force-recreate of one
      service, a failing up, pull of REGREF from the registry fixture
      (miniregistry.py, its request log REGLOG), down --volumes, each
      against Docker's own state; the compose binary's Docker calls in
      the audit trail as api_request records of principal "compose", and
      the compose_op records;
  compose_check.py timeout PORT TOKEN DSOCK IMAGE PREFIX STACKS CUSER MODE
      MODE request: "timeout": 4 in the request; MODE setting: the agent
      runs with COMPOSE_TIMEOUT=3.  An up that waits for a dependency
      that never becomes healthy is stopped with "timed out after N s",
      the compose process ran as the compose user and is gone after;
      (request) a client that goes away takes its compose with it;
  compose_check.py output PORT TOKEN DSOCK IMAGE PREFIX STACKS CUSER
                   PHASE LIMIT KIND STATE
      PHASE capped (agent with COMPOSE_OUTPUT_LIMIT=LIMIT): logs of a
      service that printed 100 KB end with "[output truncated: N bytes
      not shown]"; PHASE full (the default limit): the whole output, of
      which the capped one is the start and N the rest.  KIND: the
      compose the reference's detection should pick (v1 or v2).  STATE:
      a file the two phases share.

Stacks, containers, networks and volumes are named PREFIX*;
t-compose.sh removes them.  Prints TAP lines; exits 1 when anything
failed.  Standard library only."""
import base64
import hashlib
import http.client
import json
import os
import pwd
import re
import shutil
import socket
import stat
import subprocess
import sys
import threading
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pwhttp  # noqa: E402
from tap import fail, check, run_guarded  # noqa: E402
import tap  # noqa: E402

CPATH = "/_portwing/compose"
BODY_MAX = 32 * 1024 * 1024
OFF = {"success": False, "output": "",
       "error": "compose is not enabled on this agent: STACKS_DIR is not set"}
DENYLIST = ("LD_PRELOAD", "LD_LIBRARY_PATH", "PATH", "DOCKER_HOST",
            "DOCKER_CONFIG", "DOCKER_CERT_PATH", "DOCKER_TLS_VERIFY",
            "DOCKER_CONTEXT", "HOME", "SHELL", "BASH_ENV", "ENV", "CDPATH",
            "IFS")
ENV_CHARS = ("value contains invalid characters (newline, carriage return, "
             "or null)")
UNSUPPORTED = "unsupported compose operation: "
API = r"(/v[0-9]+\.[0-9]+)?"

PORT = TOKEN = DSOCK = IMAGE = P = STACKS = None
CUID = CGID = None


def note(msg):
    for line in str(msg).splitlines() or [""]:
        print("#   " + line, flush=True)


# ------------------------------------------------------------ HTTP

class R(pwhttp.Answer):
    """An answer (pwhttp.Answer), its repr with more of the body."""
    REPR_MAX = 600


def req(method, path, body=None, token=True, timeout=60, src=None):
    """One request on a connection of its own; body: dict (sent as
    JSON), str or bytes."""
    if isinstance(body, (dict, list)):
        body = json.dumps(body).encode()
    elif isinstance(body, str):
        body = body.encode()
    h = {"Host": "agent", "Connection": "close"}
    if token:
        h["Authorization"] = "Bearer " + TOKEN
    if body is not None:
        h["Content-Type"] = "application/json"
        h["Content-Length"] = str(len(body))
    return R(*pwhttp.exchange(PORT, method, path, h, body, timeout, src))


def compose(body, timeout=120):
    """POST /_portwing/compose; an answer that does not come (in time)
    is status 0, so that one stuck request fails its own check."""
    try:
        return req("POST", CPATH, body, timeout=timeout)
    except (OSError, EOFError) as e:
        return R(0, {}, ("no answer: %r" % e).encode())


def shape(r):
    """What is wrong with r as a compose answer: 200, application/json,
    {"success": true, "output": S} or {"success": false, "output": S,
    "error": non-empty S}."""
    bad = []
    if r.status != 200:
        bad.append("status %s, want 200" % r.status)
    if not r.ctype.startswith("application/json"):
        bad.append("Content-Type %r" % r.ctype)
    j = r.json
    if not isinstance(j, dict):
        return bad + ["body is no JSON object"]
    if not isinstance(j.get("output"), str):
        bad.append("output %r is no string" % (j.get("output"),))
    if j.get("success") is True:
        if set(j) != {"success", "output"}:
            bad.append("members %s, want success, output" % sorted(j))
    elif j.get("success") is False:
        if set(j) != {"success", "output", "error"}:
            bad.append("members %s, want success, output, error" %
                       sorted(j))
        elif not isinstance(j["error"], str) or j["error"] == "":
            bad.append("error %r" % (j["error"],))
    else:
        bad.append("success %r is no boolean" % (j.get("success"),))
    return bad


def out_of(r):
    return (r.json or {}).get("output", "") if isinstance(r.json, dict) \
        else ""


def good(desc, body, timeout=120):
    """A compose request that should succeed: checked, and returned."""
    r = compose(body, timeout)
    p = shape(r)
    okay = not p and r.json.get("success") is True
    check("%s: 200 {success: true, output}" % desc, okay,
          "; ".join(p) + " -- %r" % r)
    if not okay:
        note("output: %s" % out_of(r)[-1500:])
    return r


def refused(desc, body, msg):
    """A request the checks of 12.2 refuse: 200 with exactly this body."""
    r = compose(body, 60)
    want = {"success": False, "output": "", "error": msg}
    check("%s: 200 %s" % (desc, json.dumps(want)),
          r.status == 200 and r.ctype.startswith("application/json") and
          r.json == want, r)
    return r


def unsupported_after_write(r, op="nope"):
    """The answer to a request whose files were written: the operation
    is refused last."""
    return (r.status == 200 and r.json == {
        "success": False, "output": "",
        "error": UNSUPPORTED + '"%s"' % op})


def bad_request(r):
    """400 with an error "invalid request: ...": the "error" member of a
    JSON body, or the text of a plain one."""
    if r.status != 400:
        return False
    if isinstance(r.json, dict) and "error" in r.json:
        msg = r.json["error"]
    else:
        msg = r.body.decode("utf-8", "replace")
    return isinstance(msg, str) and msg.startswith("invalid request: ")


def write_refused(r):
    """Refused while writing (not by the checks of 12.2, not after
    writing): 200 {success: false, output: "", error: <not the
    operation's>}."""
    j = r.json if isinstance(r.json, dict) else {}
    return (not shape(r) and j.get("success") is False and
            j.get("output") == "" and
            not j.get("error", "").startswith(UNSUPPORTED))


def send_big(body):
    """POST body from a thread while reading the answer: the agent may
    answer before it has read everything."""
    s = socket.create_connection(("127.0.0.1", PORT), 60)
    h = ("POST %s HTTP/1.1\r\nHost: agent\r\nAuthorization: Bearer %s\r\n"
         "Content-Type: application/json\r\nConnection: close\r\n"
         "Content-Length: %d\r\n\r\n" % (CPATH, TOKEN, len(body)))
    return R(*pwhttp.answer_while_sending(s, (h.encode(), body)))


def audit(limit=5000):
    r = req("GET", "/_portwing/audit?limit=%d" % limit)
    recs = (r.json or {}).get("records") if isinstance(r.json, dict) else None
    if r.status != 200 or not isinstance(recs, list):
        note("GET /_portwing/audit: %r" % r)
        return []
    return recs


def info_caps():
    r = req("GET", "/_portwing/info")
    j = r.json if isinstance(r.json, dict) else {}
    return j.get("capabilities"), r


# ---------------------------------------------------------- Docker

def dapi(method, path, raw=False):
    """Docker's own answer, straight from the engine: (status, data)."""
    return pwhttp.docker_api(DSOCK, method, path, raw=raw)


def docker(*args, timeout=120):
    return subprocess.run(["docker", "-H", "unix://" + DSOCK] + list(args),
                          capture_output=True, text=True, timeout=timeout)


def project(name):
    """The containers Docker has with label com.docker.compose.project=
    name: {service: container summary}."""
    f = json.dumps({"label": ["com.docker.compose.project=%s" % name]})
    st, j = dapi("GET", "/containers/json?all=1&filters=" +
                 urllib.parse.quote(f))
    out = {}
    for c in j if st == 200 and isinstance(j, list) else []:
        out.setdefault(c["Labels"].get("com.docker.compose.service"), c)
    out.pop(None, None)
    return out


def inspect(cid):
    st, j = dapi("GET", "/containers/%s/json" % cid)
    return j if st == 200 else None


def logs_text(cid):
    c = inspect(cid)
    if c is None:
        return ""
    st, data = dapi("GET", "/containers/%s/logs?stdout=1&stderr=1" % cid,
                    raw=True)
    return (data if c["Config"]["Tty"] else pwhttp.demux(data)).decode(
        "utf-8", "replace")


def wait_for(pred, secs=15, step=0.2):
    end = time.monotonic() + secs
    while True:
        v = pred()
        if v or time.monotonic() >= end:
            return v
        time.sleep(step)


def running(c):
    return c is not None and c.get("State") == "running"


def exists(kind, name):
    """GET /KIND/NAME answers 200 (names here need no escaping)."""
    st, _ = dapi("GET", "/%s/%s" % (kind, name))
    return st == 200


# ------------------------------------------------------ processes

def procs_with(arg):
    """[(pid, [uids], argv)] of the processes with arg in their argv."""
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/cmdline" % d, "rb") as f:
                argv = f.read().split(b"\0")
            if arg.encode() not in argv:
                continue
            uids = None
            with open("/proc/%s/status" % d) as f:
                for line in f:
                    if line.startswith("Uid:"):
                        uids = [int(x) for x in line.split()[1:]]
            out.append((int(d), uids, [a.decode("utf-8", "replace")
                                       for a in argv if a]))
        except OSError:
            continue
    return out


# ------------------------------------------------------ the files

def read(p):
    try:
        with open(p, "rb") as f:
            return f.read()
    except OSError:
        return None


def file_ok(p, content):
    """p is a regular file (not a link) holding content, mode 0600, of
    the compose user: [] or what is wrong."""
    try:
        st = os.lstat(p)
    except OSError as e:
        return ["%s: %s" % (p, e.strerror)]
    bad = []
    if not stat.S_ISREG(st.st_mode):
        return ["%s is no regular file" % p]
    if stat.S_IMODE(st.st_mode) != 0o600:
        bad.append("%s mode %04o" % (p, stat.S_IMODE(st.st_mode)))
    if st.st_uid != CUID:
        bad.append("%s owner uid %d, want %d" % (p, st.st_uid, CUID))
    got = read(p)
    if got != content:
        bad.append("%s holds %r" % (p, got[:80] if got else got))
    return bad


def dir_ok(p):
    try:
        st = os.lstat(p)
    except OSError as e:
        return ["%s: %s" % (p, e.strerror)]
    bad = []
    if not stat.S_ISDIR(st.st_mode):
        return ["%s is no directory" % p]
    if stat.S_IMODE(st.st_mode) != 0o750:
        bad.append("%s mode %04o" % (p, stat.S_IMODE(st.st_mode)))
    if st.st_uid != CUID:
        bad.append("%s owner uid %d, want %d" % (p, st.st_uid, CUID))
    return bad


def snapshot(root, skip=()):
    """Everything under root (links not followed), but the top-level
    names in skip: {relpath: (type, mode, uid, size, sha256/link)}."""
    out = {}
    for d, dirs, files in os.walk(root, followlinks=False):
        rel = os.path.relpath(d, root)
        if rel == ".":
            dirs[:] = [x for x in dirs if x not in skip]
            files = [x for x in files if x not in skip]
        for n in dirs + files:
            p = os.path.join(d, n)
            st = os.lstat(p)
            if stat.S_ISLNK(st.st_mode):
                what = os.readlink(p)
            elif stat.S_ISREG(st.st_mode):
                what = hashlib.sha256(read(p) or b"").hexdigest()
            else:
                what = ""
            out[os.path.relpath(p, root)] = (
                stat.S_IFMT(st.st_mode), stat.S_IMODE(st.st_mode), st.st_uid,
                st.st_size if not stat.S_ISDIR(st.st_mode) else 0,
                st.st_mtime_ns if not stat.S_ISDIR(st.st_mode) else 0, what)
    return out


def snapshot_diff(a, b):
    diff = []
    for k in sorted(set(a) | set(b)):
        if a.get(k) != b.get(k):
            diff.append("%s: %s -> %s" % (k, a.get(k), b.get(k)))
    return diff


# --------------------------------------------------- compose files

def svc_yaml(name, command, extra=""):
    return ("  %s:\n    image: %s\n    command: %s\n"
            "    stop_grace_period: 2s\n%s" % (name, IMAGE,
                                              json.dumps(command), extra))


def hello_cmd():
    # $$ is compose's escape: sh sees $NAME; ${PW_GREETING} comes from
    # .env.drydock, by way of --env-file.
    return ["sh", "-c", "trap 'exit 0' TERM; echo hello-$$NAME-"
            "${PW_GREETING}; sleep 3600 & wait"]


def two_service_yaml():
    return ("services:\n" +
            svc_yaml("one", hello_cmd(), "    environment:\n      NAME: one\n"
                     "    volumes:\n      - data:/data\n") +
            svc_yaml("two", hello_cmd(), "    environment:\n      NAME: two\n")
            + "volumes:\n  data: {}\n")


def slow_yaml():
    """An up that never ends by itself: app waits for dep to become
    healthy, and dep's first health check is an hour away."""
    sleeper = ["sh", "-c", "trap 'exit 0' TERM; sleep 3600 & wait"]
    return ("services:\n" +
            svc_yaml("dep", sleeper,
                     "    healthcheck:\n"
                     "      test: [\"CMD\", \"sh\", \"-c\", \"sleep 3600\"]\n"
                     "      interval: 1h\n      timeout: 1h\n"
                     "      retries: 1\n") +
            svc_yaml("app", sleeper,
                     "    depends_on:\n      dep:\n"
                     "        condition: service_healthy\n"))


PAD = "0123456789" * 9


def big_yaml():
    """A service that prints 1000 lines of 100 bytes, then waits."""
    cmd = ["sh", "-c", "i=0; while [ $$i -lt 1000 ]; do echo big-$$i-%s; "
           "i=$$((i+1)); done; trap 'exit 0' TERM; sleep 3600 & wait" % PAD]
    return "services:\n" + svc_yaml("big", cmd)


# ---------------------------------------------------------- sections

def run_off():
    r = req("POST", CPATH, {"operation": "ps", "stackName": "web"})
    check("POST %s without STACKS_DIR: 404 application/json %s" %
          (CPATH, json.dumps(OFF)),
          r.status == 404 and r.ctype.startswith("application/json") and
          r.json == OFF, r)
    r = req("POST", CPATH, {"operation": "up", "stackName": "web",
                            "files": {"compose.yaml": "services: {}\n"}})
    check("...the same for an up with files", r.status == 404 and
          r.json == OFF, r)
    caps, r = info_caps()
    check("GET /_portwing/info: capabilities without \"compose\"",
          isinstance(caps, list) and "compose" not in caps, r)


def run_validate():
    S = P + "v"
    sdir = os.path.join(STACKS, S)
    yml = "services:\n  x:\n    image: %s\n" % IMAGE

    caps, r = info_caps()
    check("GET /_portwing/info with STACKS_DIR: capabilities list "
          "\"compose\"", isinstance(caps, list) and "compose" in caps, r)
    p = dir_ok(STACKS)
    check("STACKS_DIR made by the agent: a directory, 0750, of the "
          "compose user (uid %d)" % CUID, not p, p)

    # ---- 12.2, one check at a time
    refused("no stackName", {"operation": "ps"}, "stack name is required")
    refused("stackName \"\"", {"operation": "ps", "stackName": ""},
            "stack name is required")
    for key in ("1BAD", "BAD-KEY", "has space", ""):
        refused("env key %r" % key, {"operation": "ps", "stackName": S,
                                     "envVars": {key: "x"}},
                'invalid env var key: "%s"' % key)
    for key in DENYLIST:
        refused("env key %s (denylisted)" % key,
                {"operation": "ps", "stackName": S, "envVars": {key: "x"}},
                'env var "%s" is not allowed' % key)
    for v, what in (("a\nb", "a newline"), ("a\rb", "a carriage return"),
                    ("a\u0000b", "a NUL")):
        refused("env value with %s" % what,
                {"operation": "ps", "stackName": S,
                 "envVars": {"GOOD": v}},
                'env var "GOOD" %s' % ENV_CHARS)
    refused("service \"-x\"", {"operation": "up", "stackName": S,
                               "services": ["-x"]},
            'invalid service name: "-x"')
    refused("services [\"web\", \"--rm\"]",
            {"operation": "up", "stackName": S, "services": ["web", "--rm"]},
            'invalid service name: "--rm"')
    auth = {"username": "u", "password": "pw-" + P}
    refused("registryAuth server \"ghcr.io\" (no scheme)",
            {"operation": "pull", "stackName": S,
             "registryAuth": dict(auth, server="ghcr.io")},
            'registryAuth.server is not a valid URI: parse "ghcr.io": '
            'invalid URI for request')
    refused("registryAuth server \"http://ghcr.io\"",
            {"operation": "pull", "stackName": S,
             "registryAuth": dict(auth, server="http://ghcr.io")},
            'registryAuth.server must use https scheme, got "http"')
    refused("registryAuth server \"\"",
            {"operation": "pull", "stackName": S,
             "registryAuth": dict(auth, server="")},
            "registryAuth.server is required and must be an https URI")
    refused("registryAuth without a server",
            {"operation": "pull", "stackName": S, "registryAuth": auth},
            "registryAuth.server is required and must be an https URI")
    refused("stackDir \"../x\"", {"operation": "ps", "stackName": S,
                                  "stackDir": "../x"},
            'invalid stack path: stack path "../x" escapes stacks directory')
    refused("stackDir \"/abs\"", {"operation": "ps", "stackName": S,
                                  "stackDir": "/abs"},
            'invalid stack path: stack path "/abs" must be relative')
    refused("stackName \"../x\" (no stackDir)",
            {"operation": "ps", "stackName": "../x"},
            'invalid stack path: stack path "../x" escapes stacks directory')
    refused("stackName \"a/../../x\"",
            {"operation": "ps", "stackName": "a/../../x"},
            'invalid stack path: stack path "a/../../x" escapes stacks '
            'directory')
    refused("files key \"../x\"", {"operation": "up", "stackName": S,
                                   "files": {"../x": "y"}},
            'invalid stack file path "../x": path "../x" escapes stack '
            'directory')
    refused("files key \"/etc/x\"", {"operation": "up", "stackName": S,
                                     "files": {"/etc/x": "y"}},
            'invalid stack file path "/etc/x": path "/etc/x" must be '
            'relative')

    # ---- their order: the first failing check is the one reported
    refused("order: no stackName before a bad env key",
            {"operation": "ps", "envVars": {"1BAD": "x"}},
            "stack name is required")
    refused("order: a bad env key before a bad service",
            {"operation": "ps", "stackName": S, "envVars": {"PATH": "x"},
             "services": ["-x"]}, 'env var "PATH" is not allowed')
    refused("order: a bad service before a bad registryAuth",
            {"operation": "ps", "stackName": S, "services": ["-x"],
             "registryAuth": dict(auth, server="ghcr.io")},
            'invalid service name: "-x"')
    refused("order: a bad registryAuth before a bad stackDir",
            {"operation": "ps", "stackName": S, "stackDir": "../x",
             "registryAuth": dict(auth, server="http://ghcr.io")},
            'registryAuth.server must use https scheme, got "http"')
    refused("order: a bad stackDir before a bad files key",
            {"operation": "ps", "stackName": S, "stackDir": "/abs",
             "files": {"../x": "y"}},
            'invalid stack path: stack path "/abs" must be relative')
    refused("order: a bad files key before an unknown operation (and "
            "before any file is written)",
            {"operation": "explode", "stackName": S,
             "files": {"good.txt": "g", "/etc/x": "y"}},
            'invalid stack file path "/etc/x": path "/etc/x" must be '
            'relative')
    check("...none of the refused requests wrote anything (no %s)" % sdir,
          not os.path.lexists(sdir) and not os.path.lexists(
              os.path.join(os.path.dirname(STACKS), "x")))

    # ---- the operation is checked last, after the files were written
    files = {"compose.yaml": yml, "sub/dir/app.conf": "key = value\n"}
    env = {"A_KEY": "v1", "B": "two words = and more", "lower_ok": ""}
    r = compose({"operation": "explode", "stackName": S, "files": files,
                 "envVars": env})
    check("an unknown operation with files: 200 {success: false, output: "
          "\"\", error: 'unsupported compose operation: \"explode\"'}",
          unsupported_after_write(r, "explode"), r)
    p = (file_ok(os.path.join(sdir, "compose.yaml"), yml.encode()) +
         file_ok(os.path.join(sdir, "sub/dir/app.conf"), b"key = value\n"))
    check("...its files were written first: compose.yaml and "
          "sub/dir/app.conf, 0600, of the compose user", not p, p)
    p = dir_ok(sdir) + dir_ok(sdir + "/sub") + dir_ok(sdir + "/sub/dir")
    check("...the directories made: 0750, of the compose user", not p, p)
    envf = os.path.join(sdir, ".env.drydock")
    lines = (read(envf) or b"").decode("utf-8", "replace")
    want = {"%s=%s" % kv for kv in env.items()}
    check("...and .env.drydock: one KEY=VALUE line each (any order), "
          "0600, of the compose user",
          not file_ok(envf, read(envf) or b"-") and lines.endswith("\n")
          and sorted(lines.splitlines()) == sorted(want),
          file_ok(envf, read(envf) or b"-") + [lines])
    r = compose({"stackName": S, "files": {}})
    check("no operation at all: 'unsupported compose operation: \"\"'",
          unsupported_after_write(r, ""), r)

    # ---- .env.drydock is written only with "files"
    S2 = P + "v2e"
    r = compose({"operation": "nope", "stackName": S2,
                 "envVars": {"X": "1"}})
    check("envVars without a files member: the operation is reached "
          "(unsupported)...", unsupported_after_write(r), r)
    check("...but nothing is written (no %s)" % S2,
          not os.path.lexists(os.path.join(STACKS, S2)))
    before = read(envf)
    r = compose({"operation": "nope", "stackName": S,
                 "envVars": {"NEWKEY": "1"}})
    check("envVars without files for a stack that has a .env.drydock: it "
          "is left as it was", unsupported_after_write(r) and
          read(envf) == before and before is not None, read(envf))
    S3 = P + "v3e"
    r = compose({"operation": "nope", "stackName": S3, "files": {},
                 "envVars": {"X": "1"}})
    check("envVars with \"files\": {}: .env.drydock written (X=1), the "
          "stack directory made 0750",
          unsupported_after_write(r) and
          not file_ok(os.path.join(STACKS, S3, ".env.drydock"), b"X=1\n")
          and not dir_ok(os.path.join(STACKS, S3)),
          [r] + file_ok(os.path.join(STACKS, S3, ".env.drydock"),
                        b"X=1\n"))
    S4 = P + "v4e"
    r = compose({"operation": "nope", "stackName": S4,
                 "files": {"a.txt": "a"}})
    check("files without envVars: no .env.drydock",
          unsupported_after_write(r) and
          os.path.isfile(os.path.join(STACKS, S4, "a.txt")) and
          not os.path.lexists(os.path.join(STACKS, S4, ".env.drydock")), r)

    # ---- content: base64, truncation, the mode of a rewritten file
    raw = bytes(range(256)) + b"\0\r\n"
    r = compose({"operation": "nope", "stackName": S, "files": {
        "bin.dat": "base64:" + base64.b64encode(raw).decode(),
        "empty.dat": "base64:",
        "literal.txt": "base64 is only a prefix with its colon",
        "upper.txt": "BASE64:aGk="}})
    p = (file_ok(os.path.join(sdir, "bin.dat"), raw) +
         file_ok(os.path.join(sdir, "empty.dat"), b"") +
         file_ok(os.path.join(sdir, "literal.txt"),
                 b"base64 is only a prefix with its colon") +
         file_ok(os.path.join(sdir, "upper.txt"), b"BASE64:aGk="))
    check("\"base64:\" content decoded (all 256 byte values), \"base64:\" "
          "alone an empty file, other content as sent",
          unsupported_after_write(r) and not p, [r] + p)
    r = compose({"operation": "nope", "stackName": S,
                 "files": {"bad64.dat": "base64:@@not base64@@"}})
    check("\"base64:\" content that is not base64: refused (400 'invalid "
          "request: ...' or 200 success false, not the operation's error), "
          "nothing written", (bad_request(r) or write_refused(r)) and
          not os.path.lexists(os.path.join(sdir, "bad64.dat")), r)
    r1 = compose({"operation": "nope", "stackName": S,
                  "files": {"t.txt": "a much longer first version\n"}})
    os.chmod(os.path.join(sdir, "t.txt"), 0o644)
    r2 = compose({"operation": "nope", "stackName": S,
                  "files": {"t.txt": "short\n"}})
    p = file_ok(os.path.join(sdir, "t.txt"), b"short\n")
    check("a file written again is truncated, and 0600 again",
          unsupported_after_write(r1) and unsupported_after_write(r2) and
          not p, p)

    # ---- where the stack directory is
    r = compose({"operation": "nope", "stackName": P + "ignored",
                 "stackDir": P + "nest/ed", "files": {"f.txt": "x"}})
    p = (file_ok(os.path.join(STACKS, P + "nest/ed/f.txt"), b"x") +
         dir_ok(os.path.join(STACKS, P + "nest")) +
         dir_ok(os.path.join(STACKS, P + "nest/ed")))
    check("stackDir \"%snest/ed\" overrides stackName: written there "
          "(directories 0750), nothing under stackName" % P,
          unsupported_after_write(r) and not p and
          not os.path.lexists(os.path.join(STACKS, P + "ignored")), [r] + p)
    r = compose({"operation": "nope", "stackName": ".",
                 "files": {P + "top.txt": "t"}})
    check("stackName \".\": the stack directory is STACKS_DIR itself",
          unsupported_after_write(r) and
          not file_ok(os.path.join(STACKS, P + "top.txt"), b"t"), r)

    # ---- bodies: not JSON, too big, just small enough; no credential
    for body in (b"not json", b"", b"[1, 2]", b'{"stackName": 5}',
                 b'{"operation": "up", "stackName": "x", "files": '
                 b'{"a": 5}}', b'{"operation": "up", "stackName": '):
        r = req("POST", CPATH, body)
        check("body %r: 400, error 'invalid request: ...'" % body,
              bad_request(r), r)
    r = compose(json.dumps({"operation": "nope", "stackName": S,
                            "unknown": [1, {"x": None}]}) + "trailing junk")
    check("unknown members and data after the JSON value are ignored "
          "(reference 12.1): the operation is reached",
          unsupported_after_write(r), r)
    pad = {"operation": "nope", "stackName": S,
           "files": {"over.txt": "x"}}
    b = json.dumps(pad).encode()
    r = send_big(b + b" " * (BODY_MAX + 1 - len(b)))
    check("a body of 32 MiB + 1 byte: 413", r.status == 413, r)
    check("...nothing written", not os.path.lexists(
        os.path.join(sdir, "over.txt")))
    n = BODY_MAX - 4096
    pad = {"operation": "nope", "stackName": S,
           "files": {"under.bin": "u" * n}}
    b = json.dumps(pad).encode()
    r = send_big(b + b" " * (BODY_MAX - len(b)))
    st = os.lstat(os.path.join(sdir, "under.bin")) if os.path.lexists(
        os.path.join(sdir, "under.bin")) else None
    check("a body of exactly 32 MiB: taken, its %d-byte file written" % n,
          unsupported_after_write(r) and st is not None and
          st.st_size == n, r)
    r = req("POST", CPATH, {"operation": "nope", "stackName": P + "noauth",
                            "files": {"x": "y"}}, token=False,
            src="127.61.%d.%d" % (os.getpid() % 250, 1 + os.getpid() % 200))
    check("no credential: 401, nothing written",
          r.status == 401 and not os.path.lexists(
              os.path.join(STACKS, P + "noauth")), r)

    # ---- registry login before the operation; the password kept out
    r = compose({"operation": "nope", "stackName": S,
                 "registryAuth": {"server": "https://127.0.0.1:1",
                                  "username": "u",
                                  "password": "secret-" + P}}, 120)
    j = r.json if isinstance(r.json, dict) else {}
    check("registryAuth with an https server that is not there: 200 "
          "success false, error 'registry login...' (login runs before "
          "the operation is checked)", not shape(r) and
          j.get("success") is False and
          j.get("error", "").startswith("registry login"), r)
    check("...the password is in neither output nor error",
          ("secret-" + P).encode() not in r.body, r)

    # ---- the audit trail
    recs = audit()
    ops = [x for x in recs if x.get("event") == "compose_op"]
    ex = [x for x in ops if x.get("operation") == "explode" and
          x.get("stack") == S]
    check("audit: a compose_op record for the explode of %s: outcome "
          "error, principal token, an actor" % S,
          len(ex) >= 1 and ex[0].get("outcome") == "error" and
          ex[0].get("principal") == "token" and ex[0].get("actor"),
          ex or ops[:3])
    ig = [x for x in ops if x.get("stack") == P + "ignored"]
    check("audit: compose_op's stack is stackName, not stackDir",
          len(ig) == 1 and ig[0].get("operation") == "nope", ig)
    ar = [x for x in recs if x.get("event") == "api_request" and
          x.get("path") == CPATH and x.get("method") == "POST"]
    check("audit: api_request records for POST %s (principal token, "
          "statuses 200 and 400 among them)" % CPATH,
          ar and all(x.get("principal") == "token" for x in ar) and
          {200, 400} <= {x.get("status") for x in ar},
          ar[:3])


def run_paths(base):
    out = os.path.join(base, "outside")
    os.makedirs(os.path.join(out, "sub"))
    for p, data in (("x", b"sentinel x\n"), ("env", b"SENTINEL=1\n"),
                    ("sub/y", b"sentinel y\n")):
        with open(os.path.join(out, p), "wb") as f:
            f.write(data)
    # The sentinel is the compose user's own: only the agent's care,
    # not the file system's permissions, keeps writes out of it.
    for d, dirs, files in os.walk(out):
        for n in [d] + [os.path.join(d, x) for x in files]:
            os.chown(n, CUID, CGID)
    os.chmod(out, 0o755)
    skip = (os.path.basename(STACKS),)
    snap0 = snapshot(base, skip)
    pwned = "/tmp/%s-pwned" % P

    def unchanged():
        return snapshot_diff(snap0, snapshot(base, skip))

    r = compose({"operation": "nope", "stackName": "real",
                 "files": {"control.txt": "fine", "deep/keep.txt": "k"}})
    check("control: a plain write to stack \"real\" works (so the refusals "
          "below are refusals)", unsupported_after_write(r) and
          not file_ok(os.path.join(STACKS, "real/control.txt"), b"fine"),
          r)

    # ---- refused by the checks: .., absolute paths, NUL bytes
    corpus = [
        ({"stackName": "../outside"}, "invalid stack path: "),
        ({"stackName": "ok", "stackDir": "../outside"},
         "invalid stack path: "),
        ({"stackName": "ok", "stackDir": "../../"}, "invalid stack path: "),
        ({"stackName": "ok", "stackDir": ".."}, "invalid stack path: "),
        ({"stackName": "ok", "stackDir": "a/../../outside"},
         "invalid stack path: "),
        ({"stackName": "ok", "stackDir": "./../outside"},
         "invalid stack path: "),
        ({"stackName": "ok", "stackDir": out}, "invalid stack path: "),
        ({"stackName": out}, "invalid stack path: "),
        ({"stackName": "web2", "files": {"../../outside/x": "pwned"}},
         "invalid stack file path "),
        ({"stackName": "web2", "files": {"a/../../../outside/x": "pwned"}},
         "invalid stack file path "),
        ({"stackName": "web2", "files": {"../web3/x": "pwned"}},
         "invalid stack file path "),
        ({"stackName": "web2", "files": {"..": "pwned"}},
         "invalid stack file path "),
        ({"stackName": "web2", "files": {out + "/x": "pwned"}},
         "invalid stack file path "),
        ({"stackName": "web2", "files": {"/etc/%s-x" % P: "pwned"}},
         "invalid stack file path "),
        ({"stackName": "web2", "stackDir": "../outside",
          "files": {"x": "pwned"}}, "invalid stack path: "),
    ]
    for body, prefix in corpus:
        body = dict(body, operation="nope")
        r = compose(body)
        check("%s: refused by the checks ('%s...'), nothing outside "
              "changed" % (json.dumps(body), prefix),
              not shape(r) and r.json["success"] is False and
              r.json["output"] == "" and
              r.json["error"].startswith(prefix) and not unchanged(),
              [r] + unchanged()[:3])
    for body in ({"stackName": "a\u0000/../../outside",
                  "files": {"x": "pwned"}},
                 {"stackName": "web2",
                  "files": {"x\u0000/../../../outside/x": "pwned"}},
                 {"stackName": "web2", "stackDir": "\u0000",
                  "files": {"x": "pwned"}},
                 {"stackName": "web2", "files": {"x\u0000": "pwned"}}):
        body = dict(body, operation="nope")
        r = compose(body)
        check("%s: refused (400, or 200 success false), nothing outside "
              "changed" % json.dumps(body),
              (r.status == 400 or (not shape(r) and
                                   r.json["success"] is False)) and
              not unchanged(), [r] + unchanged()[:3])
    check("nothing at /etc/%s-x or beside STACKS_DIR (%s/web3, %s/x)" %
          (P, os.path.dirname(STACKS), os.path.dirname(STACKS)),
          not os.path.lexists("/etc/%s-x" % P) and
          not os.path.lexists(os.path.join(os.path.dirname(STACKS),
                                           "web3")) and
          not os.path.lexists(os.path.join(os.path.dirname(STACKS), "x")))

    # ---- links and other things that are not what they seem
    real = os.path.join(STACKS, "real")
    os.symlink(out, os.path.join(STACKS, "web"))
    os.symlink("../outside", os.path.join(STACKS, "webrel"))
    os.symlink(os.path.join(out, "x"), os.path.join(real, "compose.yaml"))
    os.symlink(os.path.join(out, "env"), os.path.join(real, ".env.drydock"))
    os.symlink(out, os.path.join(real, "sub"))
    os.symlink("../../../outside", os.path.join(real, "deep/er"))
    os.symlink(os.path.join(out, "created-by-dangle"),
               os.path.join(real, "dangle.txt"))
    os.symlink("/proc/self/root", os.path.join(real, "pr"))
    os.mkfifo(os.path.join(real, "fifo"))
    os.chown(os.path.join(real, "fifo"), CUID, CGID)
    os.mkdir(os.path.join(real, "adir"))
    os.chown(os.path.join(real, "adir"), CUID, CGID)
    with open(os.path.join(real, "afile"), "w") as f:
        f.write("a file\n")
    os.chown(os.path.join(real, "afile"), CUID, CGID)
    cases = [
        ("the stack directory is a link out (STACKS_DIR/web -> %s)" % out,
         {"stackName": "web", "files": {"compose.yaml": "pwned"}}),
        ("the stack directory is a relative link out (webrel -> "
         "../outside)",
         {"stackName": "webrel", "files": {"compose.yaml": "pwned"}}),
        ("a directory under a linked stack directory (stackDir web/inner)",
         {"stackName": "web", "stackDir": "web/inner",
          "files": {"x": "pwned"}}),
        ("the file is a link out (real/compose.yaml -> outside/x)",
         {"stackName": "real", "files": {"compose.yaml": "pwned"}}),
        ("envVars with .env.drydock a link out (-> outside/env)",
         {"stackName": "real", "files": {"ok.txt": "ok"},
          "envVars": {"SENTINEL": "pwned"}}),
        ("an intermediate directory is a link out (real/sub -> outside)",
         {"stackName": "real", "files": {"sub/new.txt": "pwned"}}),
        ("...and a new directory beyond it (sub/made/new.txt)",
         {"stackName": "real", "files": {"sub/made/new.txt": "pwned"}}),
        ("a relative link two levels down (real/deep/er -> "
         "../../../outside)",
         {"stackName": "real", "files": {"deep/er/new2.txt": "pwned"}}),
        ("stackDir through a link (real/sub)",
         {"stackName": "real", "stackDir": "real/sub",
          "files": {"new3.txt": "pwned"}}),
        ("a dangling link (real/dangle.txt -> outside/created-by-dangle)",
         {"stackName": "real", "files": {"dangle.txt": "pwned"}}),
        ("a link to /proc/self/root (real/pr/tmp/%s-pwned)" % P,
         {"stackName": "real", "files": {"pr" + pwned: "pwned"}}),
        ("a FIFO where the file goes (real/fifo)",
         {"stackName": "real", "files": {"fifo": "pwned"}}),
        ("a directory where the file goes (real/adir)",
         {"stackName": "real", "files": {"adir": "pwned"}}),
        ("a file where a directory goes (real/afile/x)",
         {"stackName": "real", "files": {"afile/x": "pwned"}}),
    ]
    for what, body in cases:
        body = dict(body, operation="nope")
        r = compose(body, 30)
        check("%s: refused while writing (200 success false, output \"\", "
              "not the operation's error), nothing outside changed" % what,
              write_refused(r) and not unchanged(), [r] + unchanged()[:3])
    check("...the links are still links, the FIFO a FIFO, the directory a "
          "directory, no %s" % pwned,
          all(os.path.islink(os.path.join(real, n)) for n in
              ("compose.yaml", ".env.drydock", "sub", "dangle.txt", "pr")) and
          os.path.islink(os.path.join(STACKS, "web")) and
          stat.S_ISFIFO(os.lstat(os.path.join(real, "fifo")).st_mode) and
          stat.S_ISDIR(os.lstat(os.path.join(real, "adir")).st_mode) and
          read(os.path.join(real, "afile")) == b"a file\n" and
          not os.path.lexists(pwned))

    # ---- a directory swapped for a link out, and back, during writes
    r = compose({"operation": "nope", "stackName": "holder",
                 "files": {"keep.txt": "k"}})
    check("control: stack \"holder\" written", unsupported_after_write(r), r)
    stop = threading.Event()
    flips = {}

    def flipper(path):
        aside, tmp = path + ".aside", path + ".lnk"
        n = 0
        while not stop.is_set():
            try:
                try:
                    st = os.lstat(path)
                except FileNotFoundError:
                    os.mkdir(path, 0o750)
                    os.chown(path, CUID, CGID)
                    st = os.lstat(path)
                if stat.S_ISLNK(st.st_mode):
                    os.unlink(path)
                    continue
                # the directory goes aside, a link out takes its place...
                if os.path.lexists(aside):
                    shutil.rmtree(aside, ignore_errors=True)
                os.rename(path, aside)
                os.symlink(out, tmp)
                try:
                    os.rename(tmp, path)
                    n += 1
                except OSError:
                    os.unlink(tmp)
                time.sleep(0.0005)
                # ...and the directory comes back
                if os.path.islink(path):
                    os.unlink(path)
                try:
                    os.rename(aside, path)
                except OSError:
                    shutil.rmtree(aside, ignore_errors=True)
                time.sleep(0.0005)
            except OSError:
                pass
        flips[path] = n

    ths = [threading.Thread(target=flipper, args=(p,)) for p in
           (os.path.join(STACKS, "race"), os.path.join(STACKS, "holder",
                                                       "flip"))]
    for t in ths:
        t.start()
    tally = {"written": 0, "refused": 0, "other": 0}
    others = []
    try:
        for i in range(100):
            if i % 2 == 0:
                body = {"operation": "nope", "stackName": "race",
                        "files": {"f%d.txt" % i: "raced"}}
                if i % 4 == 0:
                    body["envVars"] = {"SENTINEL": "raced"}
            else:
                body = {"operation": "nope", "stackName": "holder",
                        "files": {"flip/g%d.txt" % i: "raced"}}
            r = compose(body, 30)
            if unsupported_after_write(r):
                tally["written"] += 1
            elif write_refused(r):
                tally["refused"] += 1
            else:
                tally["other"] += 1
                others.append(r)
    finally:
        stop.set()
        for t in ths:
            t.join()
    note("race: %s; swaps: %s" % (tally, sorted(flips.values())))
    check("100 writes while race/ and holder/flip/ flip between a "
          "directory and a link out: each answered written or refused "
          "(%s)" % tally, tally["other"] == 0, others[:3])
    check("...both happened, so the race was run (%d written, %d "
          "refused)" % (tally["written"], tally["refused"]),
          tally["written"] > 0 and tally["refused"] > 0)
    d = unchanged()
    check("after all of it: the sentinel directory %s and everything "
          "beside STACKS_DIR unchanged" % out, not d, d[:10])
    stray = [os.path.join(dp, n) for dp, _, fs in os.walk(out) for n in fs
             if re.fullmatch(r"[fg]\d+\.txt|new\d?\.txt|created-by-.*|"
                             r"compose\.yaml|\.env\.drydock|ok\.txt", n)]
    check("...no file of any request under %s" % out, not stray, stray)


def run_lifecycle(kind, regref, reglog):
    A = P + kind + "a"
    sdir = os.path.join(STACKS, A)
    sep = "_" if kind == "v1" else "-"

    def cname(proj, svc):
        return "%s%s%s%s1" % (proj, sep, svc, sep)

    greet = "salut-" + P
    ops = []

    def op(desc, body, timeout=120):
        ops.append((body["operation"], body["stackName"]))
        return good(desc, body, timeout)

    def cs():
        return project(A)

    # ---- up
    r = op("up of a two-service stack (files, envVars)",
           {"operation": "up", "stackName": A,
            "files": {"compose.yaml": two_service_yaml()},
            "envVars": {"PW_GREETING": greet}})
    c = wait_for(lambda: (lambda x: x if set(x) == {"one", "two"} and all(
        running(v) for v in x.values()) else None)(cs()), 20)
    c = c or cs()
    check("...Docker runs its two containers, %s and %s, labelled "
          "com.docker.compose.project=%s" % (cname(A, "one"),
                                             cname(A, "two"), A),
          set(c) == {"one", "two"} and all(running(v) for v in c.values())
          and {v["Names"][0].lstrip("/") for v in c.values()} ==
          {cname(A, "one"), cname(A, "two")},
          {k: (v["Names"], v["State"]) for k, v in c.items()})
    want_v = "1." if kind == "v1" else "2."
    labels = [v["Labels"] for v in c.values()]
    check("...made by compose %s (com.docker.compose.version %s*) in the "
          "stack directory (working_dir %s)" % (kind, want_v, sdir),
          labels and all(
              lb.get("com.docker.compose.version", "").startswith(want_v) and
              lb.get("com.docker.compose.project.working_dir") == sdir
              for lb in labels),
          [(lb.get("com.docker.compose.version"),
            lb.get("com.docker.compose.project.working_dir"))
           for lb in labels])

    def said(s):
        t = logs_text(c[s]["Id"]) if s in c else ""
        return t if "hello-%s-%s" % (s, greet) in t else None

    txt = {s: wait_for(lambda s=s: said(s), 15) or
           (logs_text(c[s]["Id"]) if s in c else "") for s in ("one", "two")}
    check("...both said hello-NAME-%s: the envVars reached compose through "
          ".env.drydock (--env-file)" % greet,
          all("hello-%s-%s" % (s, greet) in txt[s] for s in txt), txt)
    check("...its named volume %s_data exists" % A,
          exists("volumes", A + "_data"))
    recs = audit()
    creates = [x for x in recs if x.get("principal") == "compose" and
               x.get("event") == "api_request" and
               x.get("method") == "POST" and
               re.fullmatch(API + "/containers/create", x.get("path", ""))]
    check("audit: the up's two POST /containers/create are "
          "api_request records of principal \"compose\", status 201",
          len(creates) == 2 and all(x.get("status") == 201 and
                                    x.get("outcome") == "allowed"
                                    for x in creates),
          creates or [x for x in recs[:5]])
    starts = [x for x in recs if x.get("principal") == "compose" and
              x.get("method") == "POST" and
              re.fullmatch(API + "/containers/[^/]+/start",
                           x.get("path", ""))]
    check("audit: ...and its two POST /containers/{id}/start",
          len(starts) == 2 and all(x.get("status") == 204 for x in starts),
          starts)
    up_op = [x for x in recs if x.get("event") == "compose_op"]
    check("audit: a compose_op record {operation up, stack %s, "
          "outcome allowed, principal token} after them" % A,
          up_op and up_op[0].get("operation") == "up" and
          up_op[0].get("stack") == A and
          up_op[0].get("outcome") == "allowed" and
          up_op[0].get("principal") == "token" and creates and
          all(up_op[0].get("cursor", 0) > x.get("cursor", 0)
              for x in creates + starts), up_op[:2])

    # ---- ps, logs
    r = op("ps", {"operation": "ps", "stackName": A})
    o = out_of(r)
    check("...ps names both containers",
          cname(A, "one") in o and cname(A, "two") in o, o[-800:])
    r = op("logs", {"operation": "logs", "stackName": A})
    o = out_of(r)
    check("...logs has both services' lines",
          "hello-one-" + greet in o and "hello-two-" + greet in o, o[-800:])
    r = op("logs tail 1 of two", {"operation": "logs", "stackName": A,
                                  "tail": 1, "services": ["two"]})
    o = out_of(r)
    check("...logs with tail 1 and services [two]: two's line, not "
          "one's",
          "hello-two-" + greet in o and "hello-one-" not in o, o[-800:])

    # ---- restart, stop, start
    before = {s: inspect(c[s]["Id"]) for s in c}
    r = op("restart of one", {"operation": "restart", "stackName": A,
                              "services": ["one"]})
    after = {s: inspect(c[s]["Id"]) for s in c}
    check("...one restarted (new StartedAt, running), two untouched",
          all(before.values()) and all(after.values()) and
          after["one"]["State"]["StartedAt"] !=
          before["one"]["State"]["StartedAt"] and
          after["one"]["State"]["Running"] and
          after["two"]["State"]["StartedAt"] ==
          before["two"]["State"]["StartedAt"],
          {s: (after[s] or {}).get("State") for s in after})
    r = op("stop", {"operation": "stop", "stackName": A})
    now = cs()
    check("...both containers exist and are stopped",
          set(now) == {"one", "two"} and
          all(v["State"] == "exited" for v in now.values()),
          {k: v["State"] for k, v in now.items()})
    r = op("start", {"operation": "start", "stackName": A})
    now = wait_for(lambda: (lambda x: x if all(
        running(v) for v in x.values()) else None)(cs()), 10) or cs()
    check("...both running again, the same containers",
          set(now) == {"one", "two"} and
          all(running(v) for v in now.values()) and
          {k: v["Id"] for k, v in now.items()} ==
          {k: v["Id"] for k, v in c.items()},
          {k: (v["State"], v["Id"][:12]) for k, v in now.items()})
    r = op("up --force-recreate of one",
           {"operation": "up", "stackName": A, "services": ["one"],
            "forceRecreate": True})
    now = wait_for(lambda: (lambda x: x if set(x) == {"one", "two"} and all(
        running(v) for v in x.values()) else None)(cs()), 15) or cs()
    check("...one is a new container, two the same one, both "
          "running",
          set(now) == {"one", "two"} and
          now["one"]["Id"] != c["one"]["Id"] and
          now["two"]["Id"] == c["two"]["Id"] and
          all(running(v) for v in now.values()),
          {k: (v["State"], v["Id"][:12]) for k, v in now.items()})

    # ---- a compose that fails
    C = P + kind + "bad"
    ops.append(("up", C))
    r = compose({"operation": "up", "stackName": C,
                 "files": {"compose.yaml": "services: [\n  - nope\n"}})
    check("up of a stack whose compose.yaml is no compose file: 200 "
          "success false, error 'exit status N', compose's complaint in "
          "output",
          not shape(r) and r.json["success"] is False and
          re.fullmatch(r"exit status [1-9][0-9]*", r.json["error"]) and
          r.json["output"].strip() != "", r)

    # ---- pull from the registry fixture
    B = P + kind + "p"
    dapi("DELETE", "/images/%s?force=1" % regref)
    check("%s is not in Docker before the pull" % regref,
          not exists("images", regref + "/json"))
    logsize = os.path.getsize(reglog)
    r = op("pull of a service whose image is %s" % regref,
           {"operation": "pull", "stackName": B, "services": ["reg"],
            "files": {"compose.yaml": "services:\n  reg:\n    image: %s\n"
                      "    command: [\"true\"]\n" % regref}})
    check("...the image is in Docker now",
          exists("images", regref + "/json"))
    with open(reglog) as f:
        f.seek(logsize)
        fetched = f.read().splitlines()
    host, repo = regref.split("/", 1)
    name, tag = repo.rsplit(":", 1)
    try:
        c = http.client.HTTPConnection(host, timeout=10)
        c.request("GET", "/v2/%s/manifests/%s" % (name, tag))
        top = json.loads(c.getresponse().read())["layers"][-1]["digest"]
        c.close()
    except (OSError, ValueError, KeyError, IndexError) as e:
        top = "(no manifest: %s)" % e
    check("...fetched from the registry fixture: its manifest and its "
          "top layer %s" % top,
          any(re.fullmatch(r"GET /v2/%s/manifests/\S+ 200" % name, x)
              for x in fetched) and
          "GET /v2/%s/blobs/%s 200" % (name, top) in fetched, fetched)
    d = docker("run", "--rm", regref, "cat", "/pulled-marker")
    check("...and it runs: /pulled-marker says %s" % P,
          d.returncode == 0 and d.stdout.strip() == P, d.stdout + d.stderr)

    # ---- down
    r = op("down with removeVolumes", {"operation": "down", "stackName": A,
                                       "removeVolumes": True})
    check("...no container of %s is left, nor its network %s_default "
          "nor its volume %s_data" % (A, A, A),
          not cs() and not exists("networks", A + "_default") and
          not exists("volumes", A + "_data"),
          (list(cs()), exists("networks", A + "_default"),
           exists("volumes", A + "_data")))
    check("...the stack's files stay (nothing is cleaned up on down)",
          os.path.isfile(os.path.join(sdir, "compose.yaml")) and
          os.path.isfile(os.path.join(sdir, ".env.drydock")))

    # ---- the whole trail
    recs = audit()
    mine = [(x.get("operation"), x.get("stack"), x.get("outcome"))
            for x in reversed(recs) if x.get("event") == "compose_op"]
    want = [(o, s, "error" if s == C else "allowed") for o, s in ops]
    check("audit: one compose_op per request, in order, with its "
          "operation, stack and outcome", mine == want,
          "got %s, want %s" % (mine, want))
    comp = [x for x in recs if x.get("principal") == "compose"]
    check("audit: principal \"compose\" made only Docker API calls, "
          "all allowed, among them the pull's POST /images/create, "
          "stop, restart",
          comp and all(x.get("event") == "api_request" and
                       not x.get("path", "").startswith("/_portwing") and
                       x.get("outcome") == "allowed" for x in comp) and
          any(x.get("method") == "POST" and
              re.fullmatch(API + "/images/create", x.get("path", "")) and
              x.get("status") == 200 for x in comp) and
          any(x.get("method") == "POST" and
              re.fullmatch(API + "/containers/[^/]+/stop",
                           x.get("path", "")) for x in comp) and
          any(x.get("method") == "POST" and
              re.fullmatch(API + "/containers/[^/]+/restart",
                           x.get("path", "")) for x in comp),
          [x for x in comp if x.get("event") != "api_request" or
           x.get("outcome") != "allowed"][:3] or len(comp))


def run_timeout(mode):
    T = P + ("t1" if mode == "request" else "t2")
    sdir = os.path.join(STACKS, T)
    want_s = 4 if mode == "request" else 3
    body = {"operation": "up", "stackName": T,
            "files": {"compose.yaml": slow_yaml()}}
    if mode == "request":
        body["timeout"] = want_s
    seen = {}
    stop = threading.Event()

    def watch():
        while not stop.is_set():
            for pid, uids, argv in procs_with(sdir):
                seen[pid] = (uids, argv)
            time.sleep(0.05)

    th = threading.Thread(target=watch)
    th.start()
    t0 = time.monotonic()
    try:
        r = compose(body, 120)
    finally:
        dt = time.monotonic() - t0
        stop.set()
        th.join()
    what = ("\"timeout\": %d" % want_s if mode == "request" else
            "COMPOSE_TIMEOUT=%d" % want_s)
    check("up that waits for a never-healthy dependency, %s: 200 "
          "{success: false, output, error: \"timed out after %d s\"} after "
          "%.1f s" % (what, want_s, dt),
          not shape(r) and r.json["success"] is False and
          r.json["error"] == "timed out after %d s" % want_s and
          want_s - 0.5 <= dt <= want_s + 15, r)
    note("compose processes seen: %s" % [(p, u, a[:4]) for p, (u, a) in
                                         seen.items()])
    check("...its compose process ran as the compose user (uid %d, every "
          "uid of it), not root" % CUID,
          seen and all(u is not None and set(u) == {CUID} for u, _ in
                       seen.values()), seen)
    gone = wait_for(lambda: not procs_with(sdir), 10)
    check("...and no compose process is left (none with %s in its "
          "arguments)" % sdir, gone, procs_with(sdir))
    c = project(T)
    check("...compose was really at work: dep created and running, app "
          "not started", "dep" in c and running(c["dep"]) and
          not running(c.get("app")), {k: v["State"] for k, v in c.items()})
    r = good("the agent still runs compose: ps of %s" % T,
             {"operation": "ps", "stackName": T})

    if mode == "request":
        s = socket.create_connection(("127.0.0.1", PORT), 30)
        b = json.dumps({"operation": "up", "stackName": T,
                        "timeout": 300}).encode()
        s.sendall(("POST %s HTTP/1.1\r\nHost: agent\r\nAuthorization: "
                   "Bearer %s\r\nContent-Type: application/json\r\n"
                   "Content-Length: %d\r\n\r\n" % (CPATH, TOKEN, len(b))
                   ).encode() + b)
        started = wait_for(lambda: procs_with(sdir), 20, 0.05)
        check("a client that goes away mid-up: its compose was running "
              "(uid %d)" % CUID, started and
              all(set(u or []) == {CUID} for _, u, _ in started), started)
        s.close()
        gone = wait_for(lambda: not procs_with(sdir), 15)
        check("...and stops within 15 s of the client closing its "
              "connection", gone, procs_with(sdir))
    r = good("down of %s" % T, {"operation": "down", "stackName": T})
    check("...its containers are gone", not project(T), list(project(T)))


def run_output(phase, limit, kind, state):
    O = P + "o"
    marker = re.compile(r"(.*?)\n?\[output truncated: (\d+) bytes not "
                        r"shown\]\n?", re.S)
    if phase == "capped":
        good("up of a service that prints 100 KB",
             {"operation": "up", "stackName": O,
              "files": {"compose.yaml": big_yaml()}})
        c = project(O)
        done = "big" in c and wait_for(
            lambda: "big-999-" in logs_text(c["big"]["Id"]), 30)
        check("...it printed its 1000 lines", done)
        v = c["big"]["Labels"].get("com.docker.compose.version", "") \
            if "big" in c else ""
        check("without COMPOSE_COMMAND the reference's detection picks "
              "compose %s here (com.docker.compose.version %s)" % (kind, v),
              v.startswith("1." if kind == "v1" else "2."), v)
        r = good("logs with COMPOSE_OUTPUT_LIMIT=%d" % limit,
                 {"operation": "logs", "stackName": O})
        o = out_of(r)
        m = marker.fullmatch(o)
        check("...the output ends with a line \"[output truncated: N bytes "
              "not shown]\"", m is not None, o[-300:])
        if m is None:
            return
        kept, n = m.group(1), int(m.group(2))
        check("...what is kept is at most %d bytes (%d)" % (
            limit, len(kept.encode())), len(kept.encode()) <= limit)
        check("...N (%d) counts at least the 100 KB the service printed "
              "less the limit" % n, n >= 100000 - limit)
        with open(state, "w") as f:
            json.dump({"kept": kept, "n": n}, f)
        return
    r = good("logs with the default limit", {"operation": "logs",
                                             "stackName": O})
    o = out_of(r)
    check("...all 1000 lines, no truncation line",
          len(re.findall(r"big-\d+-" + PAD, o)) == 1000 and
          "[output truncated" not in o, o[-300:])
    try:
        with open(state) as f:
            st = json.load(f)
    except (OSError, ValueError):
        st = None
    if st is None:
        fail("the capped phase left its answer in %s" % state)
    else:
        kept, n = st["kept"], st["n"]
        ob, kb = o.encode(), kept.encode()
        check("the capped output was the start of the whole one, and N the "
              "bytes after it (%d + %d vs %d)" % (len(kb), n, len(ob)),
              ob.startswith(kb) and n in (len(ob) - len(kb),
                                          len(ob) - len(kb) - 1))
    good("down of %s" % O, {"operation": "down", "stackName": O})
    # Output that is not UTF-8: mended (U+FFFD), not lost.
    B = P + "u"
    cmd = ["sh", "-c", "printf 'bad-\\377-end\\n'; trap 'exit 0' TERM; "
           "sleep 3600 & wait"]
    good("up of a service that prints a byte that is not UTF-8",
         {"operation": "up", "stackName": B,
          "files": {"compose.yaml": "services:\n" + svc_yaml("bin", cmd)}})
    c = project(B)
    wait_for(lambda: "bin" in c and "end" in logs_text(c["bin"]["Id"]), 30)
    r = good("logs of it", {"operation": "logs", "stackName": B})
    o = out_of(r)
    check("...the byte is U+FFFD, the rest of the line is there",
          "bad-\ufffd-end" in o, o[-300:])
    good("down of %s" % B, {"operation": "down", "stackName": B})


def main():
    global PORT, TOKEN, DSOCK, IMAGE, P, STACKS, CUID, CGID
    what = sys.argv[1]
    PORT, TOKEN = int(sys.argv[2]), sys.argv[3]
    a = sys.argv[4:]
    if what != "off":
        DSOCK, IMAGE, P, STACKS, cuser = a[0], a[1], a[2], a[3], a[4]
        a = a[5:]
        pw = pwd.getpwuid(int(cuser)) if cuser.isdigit() else \
            pwd.getpwnam(cuser)
        CUID, CGID = pw.pw_uid, pw.pw_gid
    fns = {"off": run_off, "validate": run_validate,
           "paths": lambda: run_paths(a[0]),
           "lifecycle": lambda: run_lifecycle(a[0], a[1], a[2]),
           "timeout": lambda: run_timeout(a[0]),
           "output": lambda: run_output(a[0], int(a[1]), a[2], a[3])}
    if what not in fns:
        raise SystemExit("unknown section " + what)
    run_guarded(what, fns[what])
    print("# %s: %d passed, %d failed" % (what, tap.npass, tap.nfail))
    return 1 if tap.nfail else 0


if __name__ == "__main__":
    sys.exit(main())
