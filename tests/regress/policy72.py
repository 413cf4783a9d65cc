"""policy72.py: the acceptance cases of the policy reference's last section
(sockguard's published bypasses and fixes, numbered 1 to 72), against a
real dockerd through portwing, with a tap (dtap.py) on the Docker socket.

    policy72.py yaml GROUP             print the policy of a case group
    policy72.py groups                 print the group names
    policy72.py run GROUP PORT TOKEN TAPLOG IMAGE DOCKER_SOCK
                                       run the cases of GROUP (TAP lines)

Every request carries a marker in its query (pwcase=N.k).  A denied case
passes only when no request line with its marker reached Docker; an
allowed case only when one did, in the form expected, and Docker's own
answer came back.  Cases that need a feature portwing does not have
(ownership labels, image trust, ...) are reported as skipped with the
reason; load-time cases are checked with
`portwing policy check` by t-policy-cases.sh.
"""
import json
import os
import socket
import sys
import time

from tap import ok, fail, check

# ---- the policies -------------------------------------------------------

ACKS = """insecure_allow_read_exfiltration: true
insecure_allow_body_blind_writes: true
"""

GROUPS = {
    # P1 of the reference: allow GET /containers/json, default deny.
    "p1": """rules:
  - match: { method: GET, path: "/containers/json" }
    action: allow
  - match: { method: "*", path: "/**" }
    action: deny
    reason: no matching allow rule
""",
    # P1 and an inspect rule, for case 15.
    "p1w": """rules:
  - match: { method: GET, path: "/containers/json" }
    action: allow
  - match: { method: GET, path: "/containers/*/json" }
    action: allow
""",
    # PC: container create with the default body policy, two bind roots.
    "pc": """rules:
  - match: { method: POST, path: "/containers/create" }
    action: allow
  - match: { method: GET, path: "/containers/json" }
    action: allow
request_body:
  container_create:
    allowed_bind_mounts: ["/srv/containers", "/srv/data"]
""",
    # PC with the hardening rails of 46 and 47.
    "pcr": """rules:
  - match: { method: POST, path: "/containers/create" }
    action: allow
request_body:
  container_create:
    require_non_root_user: true
    deny_unconfined_system_paths: true
""",
    # Almost everything, for the framing cases that want one request.
    "all": ACKS + """rules:
  - match: { method: "*", path: "/containers/**" }
    action: allow
  - match: { method: "*", path: "/_ping" }
    action: allow
""",
    # Case 64: clients.allowed_cidrs without the test's 127.0.0.1, then
    # with it; t-policy-cases.sh adds the filter socket (LISTEN_SOCKET).
    "cidr": ACKS + """rules:
  - match: { method: GET, path: "/containers/json" }
    action: allow
clients:
  allowed_cidrs: [10.99.0.0/16]
""",
    "cidr2": ACKS + """rules:
  - match: { method: GET, path: "/containers/json" }
    action: allow
clients:
  allowed_cidrs: ["10.99.0.0/16", "127.0.0.0/8"]
""",
    # Exec create with an argv allowlist, no root.
    "exec": """rules:
  - match: { method: POST, path: "/containers/*/exec" }
    action: allow
  - match: { method: POST, path: "/exec/*/start" }
    action: allow
request_body:
  exec:
    allowed_commands:
      - ["echo", "*"]
""",
    # Swarm services, the swarm, secrets, configs and plugins, inspected
    # without the body-blind acknowledgement (56-58).
    "swarm": """rules:
  - match: { method: POST, path: "/services/create" }
    action: allow
  - match: { method: POST, path: "/services/*/update" }
    action: allow
  - match: { method: POST, path: "/swarm/**" }
    action: allow
  - match: { method: POST, path: "/secrets/create" }
    action: allow
  - match: { method: POST, path: "/configs/create" }
    action: allow
  - match: { method: POST, path: "/plugins/pull" }
    action: allow
  - match: { method: POST, path: "/plugins/*/upgrade" }
    action: allow
  - match: { method: POST, path: "/plugins/create" }
    action: allow
  - match: { method: POST, path: "/plugins/*/set" }
    action: allow
request_body:
  service:
    allowed_bind_mounts: ["/srv/data"]
  swarm:
    allowed_join_remote_addrs: ["127.0.0.1:1"]
    allow_unlock: true
  plugin:
    allowed_registries: ["localhost:1"]
    allowed_set_env_prefixes: ["DEBUG="]
""",
    # POST /build inspected without the body-blind acknowledgement
    # (53-55); RUN restricted, as by default.
    "build": """rules:
  - match: { method: POST, path: "/build" }
    action: allow
""",
}

# Ownership (§6): every create is stamped with the owner label.
GROUPS["own"] = ACKS + """ownership:
  owner: team-a
rules:
  - match: { method: POST, path: "/containers/create" }
    action: allow
  - match: { method: POST, path: "/volumes/create" }
    action: allow
  - match: { method: POST, path: "/networks/create" }
    action: allow
  - match: { method: GET, path: "/containers/json" }
    action: allow
  - match: { method: GET, path: "/volumes" }
    action: allow
  - match: { method: POST, path: "/containers/prune" }
    action: allow
  - match: { method: GET, path: "/containers/*/json" }
    action: allow
  - match: { method: GET, path: "/images/**" }
    action: allow
  - match: { method: GET, path: "/exec/*/json" }
    action: allow
  - match: { method: GET, path: "/events" }
    action: allow
  - match: { method: POST, path: "/secrets/create" }
    action: allow
  - match: { method: POST, path: "/configs/create" }
    action: allow
"""

# ---- talking to the agent ------------------------------------------------


class Agent:
    def __init__(self, port, token, taplog):
        self.port = port
        self.token = token
        self.taplog = taplog
        self.created = []
        self.dsock = None

    def raw(self, data, wait=5.0):
        """Send bytes on a new connection; everything until close/quiet."""
        s = socket.create_connection(("127.0.0.1", self.port), timeout=wait)
        try:
            s.sendall(data)
        except OSError:
            pass
        out = b""
        s.settimeout(wait)
        try:
            while True:
                c = s.recv(65536)
                if not c:
                    break
                out += c
        except (socket.timeout, ConnectionResetError):
            pass
        s.close()
        return out

    def req(self, method, path, body=None, headers=None, wait=5.0):
        """One request (Connection: close); (status, head text, body)."""
        h = "%s %s HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n" \
            "Connection: close\r\n" % (method, path, self.token)
        for k, v in (headers or {}).items():
            h += "%s: %s\r\n" % (k, v)
        b = b""
        if body is not None:
            b = body if isinstance(body, bytes) else body.encode()
            h += "Content-Type: application/json\r\n"
            h += "Content-Length: %d\r\n" % len(b)
        data = self.raw(h.encode("latin-1") + b"\r\n" + b, wait)
        return parse(data)

    def ureq(self, method, path):
        """One request on the filter socket (no token); (status, body)."""
        s = socket.socket(socket.AF_UNIX)
        s.settimeout(10)
        s.connect(self.fsock)
        s.sendall(("%s %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                   "\r\n" % (method, path)).encode())
        out = b""
        try:
            while True:
                c = s.recv(65536)
                if not c:
                    break
                out += c
        except socket.timeout:
            pass
        s.close()
        st, head, body = parse(out)
        return st, body

    def tapped(self, marker):
        """Request lines Docker received that carry marker."""
        time.sleep(0.15)
        try:
            with open(self.taplog) as f:
                lines = f.read().splitlines()
        except FileNotFoundError:
            lines = []
        return [l for l in lines if marker in l]


def docker_delete(sock, path):
    """DELETE straight on the Docker socket (clean-up, not under test)."""
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(20)
    try:
        s.connect(sock)
        s.sendall(("DELETE %s HTTP/1.1\r\nHost: docker\r\n"
                   "Connection: close\r\n\r\n" % path).encode())
        while s.recv(65536):
            pass
    except OSError:
        pass
    s.close()


def docker_call(sock, method, path, body=None):
    """A call straight on the Docker socket (set-up, not under test)."""
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(30)
    s.connect(sock)
    b = json.dumps(body).encode() if body is not None else b""
    s.sendall(("%s %s HTTP/1.1\r\nHost: docker\r\nConnection: close\r\n"
               "Content-Type: application/json\r\nContent-Length: %d\r\n\r\n"
               % (method, path, len(b))).encode() + b)
    data = b""
    while True:
        c = s.recv(65536)
        if not c:
            break
        data += c
    s.close()
    st, head, body = parse(data)
    if "chunked" in head.lower():
        out, rest = b"", body
        while rest:
            n, _, rest = rest.partition(b"\r\n")
            n = int(n, 16)
            if n == 0:
                break
            out += rest[:n]
            rest = rest[n + 2:]
        body = out
    return st, body


def parse(data):
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    try:
        status = int(lines[0].split()[1])
    except (IndexError, ValueError):
        status = 0
    return status, "\r\n".join(lines[1:]), body


def mark(path, tag):
    return path + ("&" if "?" in path else "?") + "pwcase=" + tag

# ---- case helpers ---------------------------------------------------------


def denied(a, n, method, path, body=None, want=(403,), headers=None,
           what=None, wait=5.0):
    """The request is refused with one of want and nothing reaches Docker."""
    tag = str(n)
    st, head, b = a.req(method, mark(path, tag), body, headers, wait)
    hits = a.tapped("pwcase=" + tag + " ") + a.tapped("pwcase=" + tag + "&")
    hits += [l for l in a.tapped("pwcase=" + tag) if l.endswith(tag)]
    desc = "case %s: %s %s%s -> %s, nothing reached Docker" % (
        n.split(".")[0], method, path,
        (" " + what) if what else "", "/".join(map(str, want)))
    check(desc, st in want and not hits,
          "got %d %r, Docker saw %r" % (st, b[:120], hits))
    return st, b


def allowed(a, n, method, path, body=None, want_fwd=None, want=None,
            headers=None, what=None, wait=5.0):
    """Docker received the request (as want_fwd, when given) and its answer
    came back (status in want, when given)."""
    tag = str(n)
    st, head, b = a.req(method, mark(path, tag), body, headers, wait)
    if st == 201:
        try:
            a.created.append(json.loads(b)["Id"])
        except (ValueError, KeyError):
            pass
    hits = a.tapped("pwcase=" + tag)
    hits = [l for l in hits if l.split("pwcase=")[1].split("&")[0]
            .split(" ")[0] == tag]
    fwd_ok = True
    if want_fwd is not None:
        fwd_ok = any(l.split(" ")[1].startswith(want_fwd + "?") or
                     l.split(" ")[1].startswith(want_fwd + "&")
                     for l in hits)
    desc = "case %s: %s %s%s reaches Docker%s" % (
        n.split(".")[0], method, path, (" " + what) if what else "",
        (" as " + want_fwd) if want_fwd else "")
    check(desc, len(hits) == 1 and fwd_ok and (want is None or st in want)
          and st != 0,
          "got %d %r, Docker saw %r" % (st, b[:160], hits))
    return st, b


def skipped(n, why):
    print("ok - # SKIP case %s: %s" % (n, why), flush=True)


def create_body(image, hostconfig=None, extra=None):
    d = {"Image": image}
    if hostconfig is not None:
        d["HostConfig"] = hostconfig
    if extra:
        d.update(extra)
    return json.dumps(d)

# ---- the groups -----------------------------------------------------------


def udenied(a, n, path, what):
    """On the filter socket: 403 client IP not allowed, nothing at Docker."""
    st, b = a.ureq("GET", mark(path, n))
    hits = a.tapped("pwcase=" + n)
    check("case 64: GET %s %s -> 403 client IP not allowed, nothing reached "
          "Docker" % (path, what),
          st == 403 and b"client IP not allowed" in b and not hits,
          "got %d %r, Docker saw %r" % (st, b[:120], hits))


def run_cidr(a, image):
    # The token client at 127.0.0.1 is outside the list.
    st, b = denied(a, "64.0", "GET", "/containers/json",
                   what="from 127.0.0.1, outside allowed_cidrs")
    check("case 64: ... with the message client IP not allowed",
          b"client IP not allowed" in b, repr(b[:120]))
    # A unix-socket caller has no address: refused when the list is set.
    udenied(a, "64.1", "/containers/json", "on the filter socket")


def run_cidr2(a, image):
    allowed(a, "64.2", "GET", "/containers/json", want=(200,),
            what="from 127.0.0.1, inside allowed_cidrs")
    udenied(a, "64.3", "/containers/json",
            "on the filter socket, although 127.0.0.0/8 is allowed")



def run_p1(a, image):
    # 1: one version prefix is stripped.
    for i, p in enumerate(["/v1.45/containers/json", "/v1/containers/json",
                           "/v01.45/containers/json", "/v0/containers/json",
                           "/v1.45.99/containers/json"]):
        allowed(a, "1.%d" % i, "GET", p, want=(200, 400, 404))
    # 2: not a prefix, or a second one.
    for i, p in enumerate(["/V1.45/containers/json", "/v/containers/json",
                           "/v1.45.99.1/containers/json",
                           "/v1.45/v1.46/containers/json"]):
        denied(a, "2.%d" % i, "GET", p)
    # 3: Clean semantics; Docker gets the list endpoint.
    for i, p in enumerate(["/containers/json/", "//containers/json",
                           "/containers//json", "///containers/json",
                           "/./containers/json", "/containers/./json",
                           "/containers/json/../json",
                           "/containers/create/../json",
                           "/containers/json/../../../containers/json"]):
        allowed(a, "3.%d" % i, "GET", p, want_fwd="/containers/json",
                want=(200,))
    # 4: dot-dot escalation.
    denied(a, "4.0", "GET", "/containers/json/../create")
    denied(a, "4.1", "POST", "/containers/json/../create", "{}")
    denied(a, "4.2", "POST", "/containers/json/../../exec/abc/start", "{}")
    # 5: case-sensitive.
    denied(a, "5.0", "GET", "/Containers/json")
    denied(a, "5.1", "GET", "/containers/JSON")
    # 6: literal bytes, no parameter stripping, backslash not a separator.
    for i, p in enumerate(["/containers/json;ignore=1", "/containers;x/json",
                           "/containers/json%00", "/containers/json%20",
                           "/containers/json%09", "/containers/json%0a",
                           "/containers/json%0d", "/containers%5cjson"]):
        denied(a, "6.%d" % i, "GET", p)
    # 7: a single decode.
    allowed(a, "7.0", "GET", "/containers/%6a%73%6f%6e",
            want_fwd="/containers/json", want=(200,))
    allowed(a, "7.1", "GET", "/containers%2Fjson",
            want_fwd="/containers/json", want=(200,))
    # 8: no second decode.
    denied(a, "8.0", "GET", "/containers/%256a%2573%256f%256e")
    denied(a, "8.1", "GET", "/containers/%252e/json", want=(403,))
    # 9: encoded dot segments resolved after the decode.
    denied(a, "9.0", "POST", "/containers/json/%2e%2e/create", "{}")
    allowed(a, "9.1", "GET", "/containers/create/%2e%2e/json",
            want_fwd="/containers/json", want=(200,))
    # 10: the query is not matched; the method is.
    allowed(a, "10.0", "GET", "/containers/json?all=1", want=(200,))
    denied(a, "10.1", "POST", "/containers/json", "{}")
    # 70: admin paths are only paths here: denied, never forwarded.
    denied(a, "70.0", "GET", "/admin/validate/")
    denied(a, "70.1", "GET", "//admin//validate")
    # 16-22: framing; the worker refuses before anything is judged.
    A = ("Authorization: Bearer %s\r\n" % a.token).encode()
    framing = [
        ("16", b"POST /containers/json HTTP/1.1\r\nHost: x\r\n" + A +
         b"Content-Length: 3\r\nContent-Length: 4\r\n\r\nabcd"),
        ("17", b"POST /containers/json HTTP/1.1\r\nHost: x\r\n" + A +
         b"Content-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n"
         b"3\r\nabc\r\n0\r\n\r\n"),
        ("19", b"GET /containers/json/x?pwcase=19 HTTP/1.1\r\nHost: x\r\n" +
         A + b"\r\nGET /images/json?pwcase=19 HTTP/1.1\r\nHost: x\r\n" + A +
         b"\r\n"),
        ("20", b"GET /containers/json?pwcase=20 HTTP/1.1\nHost: x\n" +
         A.replace(b"\r\n", b"\n") + b"\n"),
        ("21", b"POST /containers/json?pwcase=21 HTTP/1.1\r\nHost: x\r\n" +
         A + b"Content-Length: -1\r\n\r\n"),
        ("22", b"POST /containers/json?pwcase=22 HTTP/1.1\r\nHost: x\r\n" +
         A + b"Content-Length: 0\r\nConnection: close\r\n\r\n"
         b"GET /containers/json?pwcase=22b HTTP/1.1\r\nHost: x\r\n" + A +
         b"\r\n"),
    ]
    for n, data in framing:
        out = a.raw(data, wait=3)
        statuses = [int(l.split()[1]) for l in
                    out.decode("latin-1").split("\r\n")
                    if l.startswith("HTTP/1.")]
        hits = a.tapped("pwcase=" + n)
        check("case %s: malformed or smuggling framing: no request "
              "reached Docker (statuses %s)" % (n, statuses),
              not hits and all(s >= 400 for s in statuses), hits)
    # 71: CR/LF in an untrusted string is never written raw to the log.
    denied(a, "71", "GET", "/containers/x%0d%0aforged:%20record/json")


def run_p1w(a, image):
    # 15: a decoded '?' is re-encoded when forwarded.
    allowed(a, "15", "GET", "/containers/abc%3Fx/json",
            want_fwd="/containers/abc%3Fx/json", want=(404,))
    # 8, again: a double-encoded dot stays a literal segment for Docker.
    allowed(a, "8.2", "GET", "/containers/%252e/json",
            want_fwd="/containers/%252e/json", want=(404,),
            what="(under /containers/*/json)")


def run_pc(a, image):
    priv = create_body(image, {"Privileged": True})
    # 11: the inspector is found from the normalised path.
    denied(a, "11.0", "POST", "/v1.45//containers/./create", priv)
    denied(a, "11.1", "POST", "/containers%2Fcreate", priv)
    # 14: a lowercase method is judged (and inspected) as POST.
    st, b = denied(a, "14", "post", "/containers/create", priv,
                   want=(400, 403, 405))
    # 24: key case and escapes fold like Go's encoding/json.
    for i, body in enumerate([
            '{"Image":"%s","HostConfig":{"privileged":true}}' % image,
            '{"Image":"%s","HostConfig":{"PRIVILEGED":true}}' % image,
            '{"Image":"%s","HostConfig":{"\\u0050rivileged":true}}' % image,
            '{"Image":"%s","hostconfig":{"Privileged":true}}' % image,
            '{ "Image" : "%s" , "HostConfig" : { "Privileged" :\n true } }'
            % image]):
        denied(a, "24.%d" % i, "POST", "/containers/create", body,
               want=(400, 403))
    # 25 and 26: duplicates (portwing refuses them all: stricter).
    for i, body in enumerate([
            '{"Image":"%s","HostConfig":{"Privileged":false,'
            '"Privileged":true}}' % image,
            '{"Image":"%s","HostConfig":{"Privileged":false},'
            '"HostConfig":{"Privileged":true}}' % image,
            '{"Image":"%s","HostConfig":{"Privileged":true,'
            '"Privileged":false}}' % image]):
        denied(a, "%s.%d" % ("26" if i == 2 else "25", i), "POST",
               "/containers/create", body, want=(400, 403))
    # 27: wrong types are malformed.
    for i, v in enumerate(['"true"', "1"]):
        denied(a, "27.%d" % i, "POST", "/containers/create",
               '{"Image":"%s","HostConfig":{"Privileged":%s}}' % (image, v))
    # 28: trailing data.
    denied(a, "28", "POST", "/containers/create",
           '{"HostConfig":{}}{"HostConfig":{"Privileged":true}}',
           want=(400, 403))
    # 29: harmless bodies pass and Docker answers.  A top-level
    # "Privileged":true is refused here (stricter than sockguard): the
    # engine of Debian 12 (20.10) still reads host-config fields at the
    # top level when HostConfig is absent.
    denied(a, "29.4", "POST", "/containers/create",
           '{"Image":"%s","Privileged":true}' % image,
           what="(top-level: stricter than sockguard)")
    for i, body in enumerate([
            '{"Image":"%s","Privileged":false}' % image,
            '{"Image":"%s"}' % image,
            '{"Image":"%s","HostConfig":null}' % image]):
        allowed(a, "29.%d" % i, "POST", "/containers/create", body,
                want=(201,))
    allowed(a, "29.3", "POST", "/containers/create", "{}", want=(400,),
            what="(empty object: Docker's own 400)")
    # 30: Go folds U+017F and U+212A like ASCII.
    denied(a, "30.0", "POST", "/containers/create",
           '{"Image":"%s","Ho\u017ftConfig":{"Privileged":true}}' % image,
           want=(400, 403))
    denied(a, "30.1", "POST", "/containers/create",
           '{"Image":"%s","HostConfig":{"Networ\u212aMode":"host"}}' % image,
           want=(400, 403))
    # 35: over the 1 MiB cap, with a length and chunked.
    big = '{"Image":"%s","Labels":{"x":"%s"}}' % (image, "a" * (1 << 20))
    denied(a, "35.0", "POST", "/containers/create", big, want=(413,))
    tag = "35.1"
    h = ("POST /containers/create?pwcase=%s HTTP/1.1\r\nHost: x\r\n"
         "Authorization: Bearer %s\r\nTransfer-Encoding: chunked\r\n"
         "Connection: close\r\n\r\n" % (tag, a.token)).encode()
    chunk = big.encode()
    data = h + b"%x\r\n" % len(chunk) + chunk + b"\r\n0\r\n\r\n"
    st, _, b = parse(a.raw(data))
    check("case 35: a chunked body over 1 MiB -> 413, nothing reached "
          "Docker", st == 413 and not a.tapped("pwcase=" + tag),
          (st, b[:100]))
    # 36, 37: bind sources against the allowlist.
    for i, binds in enumerate([["/:/host"], ["/var/run/docker.sock:/s"],
                               ["/srv/containers/../../etc:/x"],
                               ["/srv/database:/x"]]):
        denied(a, "%s.%d" % ("37" if i == 3 else "36", i), "POST",
               "/containers/create", create_body(image, {"Binds": binds}))
    allowed(a, "37.4", "POST", "/containers/create",
            create_body(image, {"Binds": ["/srv/data/sub:/x"]}),
            want=(201, 400, 404, 500))
    allowed(a, "37.5", "POST", "/containers/create",
            create_body(image, {"Binds": ["myvol-pw:/data"]}), want=(201,))
    # 38, 39: bind mounts by Mounts, unknown mount types.
    for i, mt in enumerate([{"Type": "bind", "Source": "/etc",
                             "Target": "/x"},
                            {"Type": "BIND", "Source": "/etc",
                             "Target": "/x"}]):
        denied(a, "38.%d" % i, "POST", "/containers/create",
               create_body(image, {"Mounts": [mt]}))
    for i, t in enumerate(["npipe", "cluster", ""]):
        denied(a, "39.%d" % i, "POST", "/containers/create",
               create_body(image, {"Mounts": [{"Type": t, "Source": "x",
                                               "Target": "/x"}]}))
    # 40: subpaths that escape, tmpfs options that grant.
    denied(a, "40.0", "POST", "/containers/create", create_body(image, {
        "Mounts": [{"Type": "volume", "Source": "v", "Target": "/x",
                    "VolumeOptions": {"Subpath": "../x"}}]}))
    denied(a, "40.1", "POST", "/containers/create", create_body(image, {
        "Mounts": [{"Type": "volume", "Source": "v", "Target": "/x",
                    "VolumeOptions": {"Subpath": "/x"}}]}))
    denied(a, "40.2", "POST", "/containers/create", create_body(image, {
        "Mounts": [{"Type": "tmpfs", "Target": "/x",
                    "TmpfsOptions": {"Options": [["exec"]]}}]}))
    # 41: always denied.
    for i, hc in enumerate([{"VolumesFrom": ["x"]}, {"UTSMode": "host"},
                            {"CgroupParent": "/x"}, {"GroupAdd": ["0"]},
                            {"ExtraHosts": ["a:1.2.3.4"]}]):
        denied(a, "41.%d" % i, "POST", "/containers/create",
               create_body(image, hc))
    # 42: host namespaces.
    for i, hc in enumerate([{"NetworkMode": " HOST "}, {"PidMode": "host"},
                            {"IpcMode": "host"}, {"UsernsMode": "host"},
                            {"CgroupnsMode": "host"}]):
        denied(a, "42.%d" % i, "POST", "/containers/create",
               create_body(image, hc))
    # 43, 44: runtimes, sysctls, capabilities, devices.
    for i, hc in enumerate([
            {"Runtime": "runsc"}, {"Sysctls": {"net.ipv4.ip_forward": "1"}},
            {"CapAdd": ["CAP_SYS_ADMIN"]}, {"CapAdd": ["sys_admin"]},
            {"Devices": [{"PathOnHost": "/dev/sda",
                          "PathInContainer": "/dev/sda",
                          "CgroupPermissions": "rwm"}]},
            {"DeviceRequests": [{"Driver": "nvidia", "Count": -1}]},
            {"DeviceCgroupRules": ["c 1:3 mr"]}]):
        denied(a, "%s.%d" % ("43" if i == 0 else "44", i), "POST",
               "/containers/create", create_body(image, hc))
    # 45: endpoint settings at create time (Aliases pass).
    for i, ep in enumerate([
            {"IPAMConfig": {"IPv4Address": "10.0.0.5"}},
            {"MacAddress": "02:42:ac:11:00:02"}, {"Links": ["a:b"]},
            {"DriverOpts": {"a": "b"}}, {"GwPriority": 10}]):
        denied(a, "45.%d" % i, "POST", "/containers/create", create_body(
            image, None, {"NetworkingConfig": {"EndpointsConfig": {
                "pwnet": ep}}}))
    denied(a, "45.5", "POST", "/containers/create",
           create_body(image, None, {"MacAddress": "02:42:ac:11:00:02"}))
    allowed(a, "45.6", "POST", "/containers/create", create_body(
        image, None, {"NetworkingConfig": {"EndpointsConfig": {
            "none": {"Aliases": ["a"]}}}}), want=(201, 400, 404))


def run_pcr(a, image):
    for i, user in enumerate(["", "0", "00", "0000:5", "ROOT"]):
        denied(a, "46.%d" % i, "POST", "/containers/create",
               create_body(image, None, {"User": user}))
    allowed(a, "46.5", "POST", "/containers/create",
            create_body(image, None, {"User": "1000"}), want=(201,))
    for i, k in enumerate(["MaskedPaths", "ReadonlyPaths"]):
        denied(a, "47.%d" % i, "POST", "/containers/create",
               create_body(image, {k: []}, {"User": "1000"}))


def run_all(a, image):
    A = ("Authorization: Bearer %s\r\n" % a.token).encode()
    # 18: a request inside a body is body: exactly one request at Docker.
    inner = b"DELETE /containers/pw-victim?pwcase=18b HTTP/1.1\r\nHost: x\r\n\r\n"
    data = (b"POST /containers/pw-none/wait?pwcase=18 HTTP/1.1\r\nHost: x\r\n"
            + A + b"Content-Length: %d\r\nConnection: close\r\n\r\n"
            % len(inner) + inner)
    st, _, b = parse(a.raw(data))
    check("case 18: a request inside a Content-Length body stays body: "
          "one request at Docker (%d)" % st,
          len(a.tapped("pwcase=18")) == 1 and not a.tapped("pwcase=18b"),
          a.tapped("pwcase=18"))
    # 23: chunked body, then a trailing request on a closing connection.
    data = (b"POST /containers/pw-none/wait?pwcase=23 HTTP/1.1\r\nHost: x\r\n"
            + A + b"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
            b"5\r\nhello\r\n0\r\n\r\n"
            b"DELETE /containers/pw-victim?pwcase=23b HTTP/1.1\r\n"
            b"Host: x\r\n\r\n")
    st, _, b = parse(a.raw(data))
    check("case 23: chunked body forwarded once, the trailing request "
          "never (%d)" % st,
          len(a.tapped("pwcase=23")) == 1 and not a.tapped("pwcase=23b"),
          a.tapped("pwcase=23"))
    # 66: a non-101 answer to an attach carries no upgrade headers.
    st, head, b = a.req("POST", mark("/containers/pw-none/attach?stream=1",
                                     "66"),
                        headers={"Upgrade": "tcp", "Connection": "Upgrade"})
    hl = head.lower()
    check("case 66: attach answered %d without Connection/Upgrade/"
          "Keep-Alive: upgrade" % st, st == 404 and "upgrade" not in hl and
          "keep-alive" not in hl, head)


def run_exec(a, image):
    for i, user in enumerate(["", "0", "00"]):
        denied(a, "50.%d" % i, "POST", "/containers/pw-none/exec",
               json.dumps({"Cmd": ["echo", "hi"], "User": user}))
    for i, body in enumerate(['{"Cmd": 5, "User": "1000"}',
                              '{"User": "1000"}',
                              '{"Cmd": null, "User": "1000"}',
                              '{"Cmd": [], "User": "1000"}',
                              '{"Cmd": ["echo", 1], "User": "1000"}',
                              'not json']):
        denied(a, "51.%d" % i, "POST", "/containers/pw-none/exec", body,
               want=(400, 403))
    # 52: an exec made around the policy is judged again at its start.
    d = a.dsock
    st, b = docker_call(d, "POST", "/containers/create?name=pw-exec52",
                        {"Image": image, "Cmd": ["sleep", "120"]})
    if st == 201:
        a.created.append(json.loads(b)["Id"])
    docker_call(d, "POST", "/containers/pw-exec52/start")
    for i, (cmd, user, priv, ok_) in enumerate([
            (["sh", "-c", "id"], "1000", False, False),
            (["echo", "hi"], "", False, False),
            (["echo", "hi"], "1000", True, False),
            (["echo", "hi"], "1000", False, True)]):
        st, b = docker_call(d, "POST", "/containers/pw-exec52/exec",
                            {"Cmd": cmd, "User": user, "Privileged": priv})
        xid = json.loads(b)["Id"]
        body = json.dumps({"Detach": True, "Tty": False})
        what = "(exec %s%s%s, made on the socket)" % (
            " ".join(cmd), " as root" if user in ("", "0") else "",
            " privileged" if priv else "")
        if ok_:
            allowed(a, "52.%d" % i, "POST", "/exec/%s/start" % xid, body,
                    want=(200, 204), what=what)
        else:
            denied(a, "52.%d" % i, "POST", "/exec/%s/start" % xid, body,
                   what=what)
    allowed(a, "51.6", "POST", "/containers/pw-none/exec",
            json.dumps({"Cmd": ["echo", "hi"], "User": "1000"}),
            want=(404,), what="(allowlisted argv: Docker's 404)")
    denied(a, "51.7", "POST", "/containers/pw-none/exec",
           json.dumps({"Cmd": ["sh", "-c", "id"], "User": "1000"}),
           what="(argv not allowlisted)")


def docker_body(a, tag):
    """The body Docker received with the request marked tag (bytes)."""
    import base64
    time.sleep(0.15)
    try:
        with open(a.taplog + ".bodies") as f:
            lines = f.read().splitlines()
    except FileNotFoundError:
        return None
    for l in lines:
        target, _, b64 = l.partition("\t")
        q = target.split("?", 1)[1] if "?" in target else ""
        if "pwcase=" + tag in q.split("&"):
            return base64.b64decode(b64)
    return None


def run_own(a, image):
    key = "com.sockguard.owner"
    # 31: two case variants of Labels (an owner spoof) are refused.
    denied(a, "31", "POST", "/containers/create",
           '{"Image":"%s","Labels":{},"labels":{"%s":"victim"}}'
           % (image, key), want=(400,))
    # 32: a whole-body reorder through a case variant of HostConfig.
    denied(a, "32", "POST", "/containers/create",
           '{"Image":"%s","HostConfig":{"Privileged":false},'
           '"hostconfig":{"Privileged":true}}' % image, want=(400,))
    # 6.1: an empty body, null, and Labels that is not an object.
    denied(a, "31.1", "POST", "/containers/create", "", want=(400,),
           what="(empty body)")
    denied(a, "31.2", "POST", "/containers/create", "null", want=(400,),
           what="(null body)")
    denied(a, "31.3", "POST", "/containers/create",
           '{"Image":"%s","Labels":["%s=team-a"]}' % (image, key),
           want=(400,), what="(Labels an array)")
    denied(a, "31.4", "POST", "/networks/create",
           '{"Name":"pw-own-x","Labels":"x"}', want=(400,),
           what="(Labels a string)")
    # The stamped body: one canonical Labels, the client's owner label
    # replaced, every other byte as sent (it was judged as stamped: a
    # privileged create is still refused).
    denied(a, "31.5", "POST", "/containers/create",
           '{"Image":"%s","labels":{"%s":"team-a"},"HostConfig":'
           '{"Privileged":true}}' % (image, key), what="(privileged)")
    st, b = allowed(a, "31.6", "POST", "/containers/create",
                    '{"Image":"%s", "labels" : {"a":"b","%s":"victim"},'
                    '"Cmd":["true"]}' % (image, key), want=(201,))
    got = docker_body(a, "31.6")
    want = ('{"Image":"%s", "Labels":{"a":"b","%s":"team-a"},'
            '"Cmd":["true"]}' % (image, key)).encode()
    check("case 31: Docker received exactly the stamped body",
          got == want, "Docker received %r" % got)
    a.own_cid = None
    if st == 201:
        cid = a.own_cid = json.loads(b)["Id"]
        _, ib = docker_call(a.dsock, "GET", "/containers/%s/json" % cid)
        labels = json.loads(ib)["Config"]["Labels"]
        check("case 31: the container carries the owner label only once, "
              "as team-a", labels.get(key) == "team-a" and
              labels.get("a") == "b", "labels %r" % labels)
    # 34: integers above 2^53 keep their exact digits through stamping.
    big = 9007199254740993
    body = '{"Image":"%s","HostConfig":{"Memory":%d,"MemorySwap":-1}}' \
        % (image, big)
    st, b = allowed(a, "34", "POST", "/containers/create", body)
    got = docker_body(a, "34")
    want = ('{"Labels":{"%s":"team-a"},"Image":"%s","HostConfig":'
            '{"Memory":%d,"MemorySwap":-1}}' % (key, image, big)).encode()
    check("case 34: Docker received Memory=%d digit for digit" % big,
          got == want, "Docker received %r" % got)
    # Volumes and networks are stamped too.
    st, b = allowed(a, "31.7", "POST", "/volumes/create",
                    '{"Name":"pw-own-vol"}', want=(201,))
    _, ib = docker_call(a.dsock, "GET", "/volumes/pw-own-vol")
    try:
        labels = json.loads(ib).get("Labels") or {}
    except ValueError:
        labels = {}
    check("case 31: the volume carries the owner label", labels.get(key) ==
          "team-a", "labels %r" % labels)
    docker_delete(a.dsock, "/volumes/pw-own-vol")
    st, b = allowed(a, "31.8", "POST", "/networks/create",
                    '{"Name":"pw-own-net","Labels":{"%s":"victim"}}' % key,
                    want=(201,))
    _, ib = docker_call(a.dsock, "GET", "/networks/pw-own-net")
    try:
        labels = json.loads(ib).get("Labels") or {}
    except ValueError:
        labels = {}
    check("case 31: the network carries the owner label, not the "
          "client's", labels.get(key) == "team-a", "labels %r" % labels)
    docker_delete(a.dsock, "/networks/pw-own-net")
    # Secrets and configs (body-blind otherwise) are stamped too; this
    # Docker is no swarm manager, so it answers 503 to what it received.
    for n, path in (("31.9", "/secrets/create"), ("31.10",
                                                  "/configs/create")):
        allowed(a, n, "POST", path, '{"Name":"pw-own-s","Data":"eA==",'
                '"Labels":{"%s":"victim"}}' % key)
        got = docker_body(a, n)
        want = ('{"Name":"pw-own-s","Data":"eA==","Labels":{"%s":'
                '"team-a"}}' % key).encode()
        check("case 31: Docker received exactly the stamped %s body" % path,
              got == want, "Docker received %r" % got)
    run_own_filters(a, image, key)
    run_own_checks(a, image, key)
    # Events too (the query re-encoded, keys sorted).  Last: the tap
    # stops reading a Docker connection once it carried /events.
    from urllib.parse import quote_plus
    st, _, b = a.req("GET", "/events?until=1&since=1&pwcase=59.4")
    hits = [l for l in a.tapped("pwcase=59.4")]
    exp = "GET /events?filters=%s&pwcase=59.4&since=1&until=1" % \
        quote_plus('{"label":["%s=team-a"]}' % key, safe="")
    check("case 59: GET /events: Docker received the owner's filter",
          st == 200 and hits == [exp], "got %d, Docker saw %r" % (st, hits))


def run_own_refs(a, image, key):
    """62: what a create body refers to must be ours (or unowned images)."""
    docker_call(a.dsock, "POST", "/volumes/create",
                {"Name": "pw-own-vfor", "Labels": {key: "victim"}})
    docker_call(a.dsock, "POST", "/networks/create",
                {"Name": "pw-own-nfor", "Labels": {key: "victim"}})
    st, _, b = a.req("POST", "/volumes/create", '{"Name":"pw-own-vmine"}')
    check("case 62: set-up: our volume (%d)" % st, st == 201, repr(b[:80]))

    def cb(hc=None, extra=None, img=image):
        return create_body(img, hc, extra)
    for n, body, what in [
            ("62.0", cb(img="pw-own-foreign:1"), "another owner's image"),
            ("62.1", cb(img="pw-own-nosuch:1"), "an unresolvable image"),
            ("62.2", cb({"Binds": ["pw-own-vfor:/data"]}),
             "another owner's volume in Binds"),
            ("62.3", cb({"Mounts": [{"Type": "volume", "Source":
                                     "pw-own-vnone", "Target": "/x"}]}),
             "an unresolvable volume in Mounts"),
            ("62.4", cb({"NetworkMode": "pw-own-nfor"}),
             "another owner's network as NetworkMode"),
            ("62.5", cb(extra={"NetworkingConfig": {"EndpointsConfig": {
                "pw-own-nfor": {}}}}), "another owner's network endpoint"),
            ("62.6", cb({"PidMode": "container:pw-own-foreign"}),
             "another owner's container as pid namespace"),
            ("62.7", cb({"IpcMode": "container:pw-own-bare"}),
             "an unlabeled container as ipc namespace")]:
        denied(a, n, "POST", "/containers/create", body, what="(%s)" % what)
    allowed(a, "62.8", "POST", "/containers/create",
            cb({"PidMode": "container:pw-own-nosuch"}),
            what="(an unresolvable namespace target: Docker fails it)")
    allowed(a, "62.9", "POST", "/containers/create",
            cb({"Binds": ["pw-own-vmine:/data"]}, {"NetworkingConfig": {
                "EndpointsConfig": {"bridge": {}}}}), want=(201,),
            what="(our volume, the default bridge, an unowned image)")
    for cid in list(a.created):
        docker_delete(a.dsock, "/containers/%s?force=1" % cid)
    for v in ("pw-own-vfor", "pw-own-vmine"):
        docker_delete(a.dsock, "/volumes/" + v)
    docker_delete(a.dsock, "/networks/pw-own-nfor")


def run_own_checks(a, image, key):
    def mk(name, labels):
        st, b = docker_call(a.dsock, "POST", "/containers/create?name=" +
                            name, {"Image": image, "Labels": labels})
        return json.loads(b).get("Id", "") if st == 201 else ""

    for n in ("pw-own-foreign", "pw-own-bare", "pw-own-63"):
        docker_delete(a.dsock, "/containers/%s?force=1" % n)
    foreign = mk("pw-own-foreign", {key: "victim"})
    bare = mk("pw-own-bare", {})
    st, b = docker_call(a.dsock, "POST", "/commit?container=%s&repo="
                        "pw-own-foreign&tag=1" % foreign,
                        {"Labels": {key: "victim"}})
    check("case 61: set-up: another owner's container and image (%d)" % st,
          bool(foreign) and bool(bare) and st == 201, repr(b[:100]))
    # 61: another owner's image, whatever the verb after its name.
    for i, verb in enumerate(["get", "attestations", "json", "history"]):
        denied(a, "61.%d" % i, "GET", "/images/pw-own-foreign:1/" + verb,
               what="(another owner's image)")
    allowed(a, "61.4", "GET", "/images/%s/json" % image, want=(200,),
            what="(an unowned image: allow_unowned_images)")
    denied(a, "61.5", "GET", "/containers/%s/json" % foreign,
           what="(another owner's container)")
    denied(a, "61.6", "GET", "/containers/pw-own-bare/json",
           what="(an unlabeled container)")
    allowed(a, "61.8", "GET", "/containers/pw-own-none/json", want=(404,),
            what="(no such container: Docker answers)")
    # An exec is judged by the container it runs in.
    def exec_in(cid):
        docker_call(a.dsock, "POST", "/containers/%s/start" % cid)
        st, b = docker_call(a.dsock, "POST", "/containers/%s/exec" % cid,
                            {"Cmd": ["true"]})
        return json.loads(b).get("Id", "") if st == 201 else ""
    st, b = docker_call(a.dsock, "POST", "/containers/create?name="
                        "pw-own-xfor", {"Image": image, "Cmd": ["sleep", "60"],
                                        "Labels": {key: "victim"}})
    xfor = exec_in(json.loads(b).get("Id", "")) if st == 201 else ""
    st, _, b = a.req("POST", "/containers/create?name=pw-own-xmine",
                     '{"Image":"%s","Cmd":["sleep","60"]}' % image)
    xmine = exec_in(json.loads(b).get("Id", "")) if st == 201 else ""
    check("case 61: set-up: an exec in each owner's container",
          bool(xfor) and bool(xmine), "%r %r" % (xfor, xmine))
    denied(a, "61.9", "GET", "/exec/%s/json" % xfor,
           what="(an exec in another owner's container)")
    allowed(a, "61.10", "GET", "/exec/%s/json" % xmine, want=(200,),
            what="(an exec in our container)")
    for n in ("pw-own-xfor", "pw-own-xmine"):
        docker_delete(a.dsock, "/containers/%s?force=1" % n)
    # 63: no positive caching: a name that changes owner is refused at
    # once.
    st, _, b = a.req("POST", "/containers/create?name=pw-own-63",
                     '{"Image":"%s"}' % image)
    check("case 63: set-up: our container pw-own-63 (%d)" % st, st == 201,
          repr(b[:100]))
    allowed(a, "63.0", "GET", "/containers/pw-own-63/json", want=(200,),
            what="(ours)")
    docker_delete(a.dsock, "/containers/pw-own-63?force=1")
    mk("pw-own-63", {key: "victim"})
    denied(a, "63.1", "GET", "/containers/pw-own-63/json",
           what="(the same name, re-created by another owner)")
    run_own_refs(a, image, key)
    for n in ("pw-own-foreign", "pw-own-bare", "pw-own-63"):
        docker_delete(a.dsock, "/containers/%s?force=1" % n)
    docker_delete(a.dsock, "/images/pw-own-foreign:1?force=1")


def run_own_filters(a, image, key):
    from urllib.parse import quote_plus
    own = '["%s=team-a"]' % key

    def q(filters):
        return quote_plus(filters, safe="")

    def fwd(n, method, path, query, want_q, what, want=(200,)):
        """Docker received exactly path?want_q&pwcase=n."""
        st, head, b = a.req(method, mark(path + query, n))
        hits = [l for l in a.tapped("pwcase=" + n)
                if l.split("pwcase=")[1] == n]
        exp = "%s %s?%s%spwcase=%s" % (method.upper(), path, want_q,
                                       "&" if want_q else "", n)
        check("case %s: %s %s (%s): Docker received %s" % (
            n.split(".")[0], method, path, what, want_q),
            st in want and hits == [exp],
            "got %d %r, Docker saw %r, wanted %r" % (st, b[:120], hits,
                                                     exp))
        return st, b

    # A container of another owner, made straight on the socket.
    st, b = docker_call(a.dsock, "POST", "/containers/create?name=pw-own-"
                        "victim", {"Image": image, "Labels": {key: "victim"}})
    victim = json.loads(b).get("Id", "") if st == 201 else ""
    check("case 59: set-up: another owner's container (%d %r)" % (
        st, b[:80]), bool(victim))
    # 59: the client's label filter is replaced, never appended to.
    st, b = fwd("59", "GET", "/containers/json",
                "?all=1&filters=" + q('{"label":["%s=victim"]}' % key),
                "all=1&filters=" + q('{"label":%s}' % own),
                "owner spoof")
    try:
        ids = [c["Id"] for c in json.loads(b)]
    except (ValueError, KeyError, TypeError):
        ids = None
    check("case 59: the other owner's container is not listed, ours is",
          ids is not None and victim and victim not in ids and
          a.own_cid in ids, "ids %r" % ids)
    fwd("59.1", "GET", "/containers/json",
        "?filters=" + q('{"status":["created"],"label":["a=b"]}'),
        "filters=" + q('{"label":%s,"status":["created"]}' % own),
        "other keys kept")
    fwd("59.2", "GET", "/volumes", "", "filters=" + q('{"label":%s}' % own),
        "no filters: one added")
    fwd("59.3", "POST", "/containers/prune", "?filters=" + q('{}'),
        "filters=" + q('{"label":%s}' % own), "prune")
    # 60: the legacy form is normalised (names sorted).
    fwd("60", "GET", "/containers/json",
        "?filters=" + q('{"label":{"x=y":true},"status":{"exited":true,'
                        '"created":false}}'),
        "filters=" + q('{"label":%s,"status":["created","exited"]}' % own),
        "legacy form")
    for i, f in enumerate(['{"label":"x"}', '{"label":[1]}', '[]', '{',
                           '{"label":{"x":1}}']):
        denied(a, "60.%d" % (i + 1), "GET",
               "/containers/json?filters=" + q(f), want=(400,),
               what="(filters %s)" % f)
    st, head, b = a.req("GET", mark("/containers/json?filters=" + q(
        '{"label":["%s"]}' % ("x" * 70000)), "60.9"))
    check("case 60: GET /containers/json with filters > 64 KiB -> 400/414, "
          "nothing reached Docker", st in (400, 414) and
          not a.tapped("pwcase=60.9"), "got %d %r" % (st, b[:120]))
    if victim:
        docker_delete(a.dsock, "/containers/%s?force=1" % victim)


# Docker answers these itself when it is no swarm manager (503) or the
# body is not what it wants (400); whatever it says must come back.
DOCKER_ANY = (200, 201, 204, 400, 404, 406, 409, 500, 503)


def run_swarm(a, image):
    svc = {"Name": "pw-svc56", "TaskTemplate": {"ContainerSpec":
                                                {"Image": image}}}
    # 56: host network in the task template, in the legacy list, folded.
    for i, body in enumerate([
            dict(svc, TaskTemplate=dict(svc["TaskTemplate"],
                                        Networks=[{"Target": "host"}])),
            dict(svc, Networks=[{"Target": "host"}]),
            {"tasktemplate": {"networks": [{"TARGET": " Host "}]}}]):
        denied(a, "56.%d" % i, "POST", "/services/create", json.dumps(body))
    denied(a, "56.3", "POST", "/services/pw-svc/update?version=1",
           json.dumps(dict(svc, TaskTemplate=dict(
               svc["TaskTemplate"], Networks=[{"Target": "host"}]))))
    denied(a, "56.4", "POST", "/services/create", json.dumps(
        {"TaskTemplate": {"ContainerSpec": {"Image": image, "Mounts": [
            {"Type": "bind", "Source": "/etc", "Target": "/x"}]}}}),
        what="(bind outside allowed_bind_mounts)")
    denied(a, "56.5", "POST", "/services/create", json.dumps(
        {"TaskTemplate": {"ContainerSpec": {
            "Image": image, "CapabilityAdd": ["CAP_SYS_ADMIN"]}}}),
        what="(capability)")
    allowed(a, "56.6", "POST", "/services/create", json.dumps(dict(
        svc, TaskTemplate=dict(svc["TaskTemplate"],
                               Networks=[{"Target": "pw-overlay"}]))),
        want=DOCKER_ANY, what="(overlay network)")
    allowed(a, "56.7", "POST", "/services/pw-svc/update?version=1",
            json.dumps(svc), want=DOCKER_ANY)
    # 58: an unparsable or mistyped swarm body is refused, a sound one
    # reaches Docker.
    for i, body in enumerate(['{"UnlockKey":', '{"UnlockKey": 5}', 'nope',
                              '[]']):
        denied(a, "58.%d" % i, "POST", "/swarm/unlock", body)
    allowed(a, "58.4", "POST", "/swarm/unlock",
            json.dumps({"UnlockKey": "SWMKEY-1-x"}), want=DOCKER_ANY)
    denied(a, "58.5", "POST", "/swarm/init",
           json.dumps({"ListenAddr": "127.0.0.1:2377",
                       "ForceNewCluster": True}), what="(ForceNewCluster)")
    denied(a, "58.6", "POST", "/swarm/init", '{"ListenAddr":',
           what="(unparsable)")
    denied(a, "58.7", "POST", "/swarm/join",
           json.dumps({"RemoteAddrs": ["10.9.9.9:2377"],
                       "JoinToken": "SWMTKN-1-x"}), what="(remote address)")
    denied(a, "58.8", "POST", "/swarm/update?version=1&rotateWorkerToken=1",
           "{}", what="(token rotation)")
    allowed(a, "58.9", "POST", "/swarm/update?version=1", "{}",
            want=DOCKER_ANY)
    # Secrets, configs and plugin privileges (reference §5.1).
    denied(a, "sec.0", "POST", "/secrets/create",
           json.dumps({"Name": "pw-s", "Data": "eA==",
                       "Driver": {"Name": "vault"}}))
    allowed(a, "sec.1", "POST", "/secrets/create",
            json.dumps({"Name": "pw-s", "Data": "eA=="}), want=DOCKER_ANY)
    denied(a, "sec.2", "POST", "/configs/create",
           json.dumps({"Name": "pw-c", "Data": "eA==",
                       "Templating": {"Name": "golang"}}))
    denied(a, "plg.0", "POST", "/plugins/pull?remote=localhost:1/p:1",
           json.dumps([{"Name": "network", "Value": ["host"]}]))
    denied(a, "plg.1", "POST", "/plugins/pull?remote=evil.example/p:1",
           "[]", what="(registry)")
    denied(a, "plg.2", "POST", "/plugins/p/upgrade?remote=localhost:1/p:2",
           json.dumps([{"Name": "mount", "Value": ["/var/lib"]}]))
    allowed(a, "plg.3", "POST", "/plugins/pull?remote=localhost:1/p:1",
            json.dumps([{"Name": "network", "Value": ["bridge"]}]),
            want=DOCKER_ANY)
    # 57: plugin create is a bare tar whose config.json is judged; a
    # multipart body (with or without a boundary) is not one.
    cfg = {"Interface": {"Types": ["docker.volumedriver/1.0"],
                         "Socket": "p.sock"},
           "Entrypoint": ["/p"], "Network": {"Type": "none"}}
    mp = (b"--b\r\nContent-Disposition: form-data; name=\"config.json\""
          b"\r\n\r\n" + json.dumps(dict(cfg, PidHost=True)).encode() +
          b"\r\n--b--\r\n")
    denied(a, "57.0", "POST", "/plugins/create?name=pw-plg57", mp,
           headers={"Content-Type": "multipart/form-data"},
           what="(multipart without boundary)")
    denied(a, "57.1", "POST", "/plugins/create?name=pw-plg57", mp,
           headers={"Content-Type": "multipart/form-data; boundary=b"},
           what="(multipart)")
    denied(a, "57.2", "POST", "/plugins/create?name=pw-plg57",
           tar_bytes([("config.json", b'{"Network":'),
                      ("rootfs/p", b"x")]), what="(undecodable config.json)")
    denied(a, "57.3", "POST", "/plugins/create?name=pw-plg57",
           tar_bytes([("config.json", json.dumps(dict(
               cfg, Network={"Type": "host"})).encode()),
               ("rootfs/p", b"x")]), what="(host network)")
    denied(a, "57.4", "POST", "/plugins/create?name=pw-plg57",
           tar_bytes([("config.json", json.dumps(cfg).encode()),
                      ("./config.json", json.dumps(dict(
                          cfg, PidHost=True)).encode())]),
           what="(two config.json)")
    allowed(a, "57.5", "POST", "/plugins/create?name=pw-plg57",
            tar_bytes([("config.json", json.dumps(cfg).encode()),
                       ("rootfs/p", b"x")]), want=DOCKER_ANY)
    docker_delete(a.dsock, "/plugins/pw-plg57?force=1")
    denied(a, "plg.4", "POST", "/plugins/pw-none/set",
           json.dumps(["DEBUG=1", "TOKEN=x"]), what="(unlisted variable)")
    denied(a, "plg.5", "POST", "/plugins/pw-none/set",
           json.dumps(["data.source=/etc"]), what="(mount source)")
    allowed(a, "plg.6", "POST", "/plugins/pw-none/set",
            json.dumps(["DEBUG=1"]), want=DOCKER_ANY)


def tar_bytes(entries):
    """A tar archive of (name, data[, type]) entries."""
    import io
    import tarfile
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.USTAR_FORMAT) \
            as t:
        for e in entries:
            name, data = e[0], e[1]
            ti = tarfile.TarInfo(name)
            if len(e) > 2:
                ti.type = e[2]
                ti.linkname = data
                t.addfile(ti)
                continue
            ti.size = len(data)
            t.addfile(ti, io.BytesIO(data))
    return buf.getvalue()


def gz(data):
    import gzip
    return gzip.compress(data, 6)


def run_build(a, image):
    ok = ("FROM %s\nCOPY hello /hello\nCMD [\"/hello\"]\n" % image).encode()
    run = ("FROM %s\nRUN echo pwned\n" % image).encode()
    # 53: two entries naming the Dockerfile, the benign one first.
    for i, (second, z) in enumerate([("./Dockerfile", False),
                                     ("Dockerfile", False),
                                     ("./Dockerfile", True)]):
        body = tar_bytes([("Dockerfile", ok), ("hello", b"hi\n"),
                          (second, run)])
        denied(a, "53.%d" % i, "POST", "/build?t=pw-b53", gz(body) if z
               else body, what="(%s%s)" % (second, ", gzip" if z else ""))
    # 54: RUN however it is spelt, a syntax frontend, a remote context.
    for i, df in enumerate([
            b"FROM x\nR\\\nUN echo pwned\n",
            b"FROM x\nONBUILD RUN echo pwned\n",
            b"# escape=`\nFROM x\nR`\nUN echo pwned\n",
            b"# syntax=docker/dockerfile:1\nFROM x\n",
            b"FROM x\nrun echo pwned\n"]):
        denied(a, "54.%d" % i, "POST", "/build",
               tar_bytes([("Dockerfile", df)]))
    denied(a, "54.5", "POST", "/build?remote=https://example.invalid/c.tar",
           b"", what="(remote context)")
    denied(a, "54.6", "POST", "/build?dockerfile=sub/Dockerfile",
           tar_bytes([("Dockerfile", ok), ("sub/Dockerfile", run)]),
           what="(dockerfile parameter)")
    denied(a, "54.7", "POST", "/build?networkmode=host",
           tar_bytes([("Dockerfile", ok)]), what="(networkmode=host)")
    denied(a, "54.8", "POST", "/build",
           tar_bytes([("Dockerfile", ok), ("Dockerfile", "evil", b"2")]),
           what="(a symlink over the Dockerfile)")
    # 55: a gzip bomb, about 1 MiB on the wire, past 1 GiB inflated: a
    # tar whose second entry claims 2 GiB of zeros.
    import tarfile
    import zlib
    c = zlib.compressobj(9, zlib.DEFLATED, 31)
    head = tar_bytes([("Dockerfile", ok)])[:1024]
    ti = tarfile.TarInfo("zeros")
    ti.size = 2 << 30
    head += ti.tobuf(tarfile.USTAR_FORMAT)
    parts = [c.compress(head)]
    zero = bytes(1 << 24)
    for _ in range(66):
        parts.append(c.compress(zero))
    parts.append(c.flush())
    bomb = b"".join(parts)
    t0 = time.time()
    denied(a, "55.0", "POST", "/build", bomb, wait=30.0,
           what="(%d bytes inflating to 1.03 GiB)" % len(bomb))
    print("# case 55: judged in %.1f s" % (time.time() - t0), flush=True)
    # Sound contexts reach Docker, which builds them.
    ctx = tar_bytes([("Dockerfile", ok), ("hello", b"hi\n")])
    allowed(a, "53.3", "POST", "/build?t=pw-b53ok", ctx, want=(200,),
            what="(one Dockerfile, no RUN)")
    allowed(a, "55.1", "POST", "/build?t=pw-b55ok", gz(ctx), want=(200,),
            what="(gzip)")
    # A 40 MiB context: policyd reads it in pieces, Docker gets it whole.
    import os
    big = tar_bytes([("blob", os.urandom(40 << 20)), ("Dockerfile", ok),
                     ("hello", b"hi\n")])
    t0 = time.time()
    allowed(a, "53.4", "POST", "/build?t=pw-b53big", big, want=(200,),
            what="(40 MiB context)", wait=60.0)
    print("# case 53.4: %d bytes built in %.1f s" % (len(big),
                                                    time.time() - t0),
          flush=True)
    for t in ("pw-b53ok", "pw-b55ok", "pw-b53big"):
        docker_delete(a.dsock, "/images/%s?force=1" % t)


SKIPPED = {
    "33": "image trust (cosign) is not built; enforce mode is refused at load",
    "48": "image trust (cosign) is not built; enforce mode is refused at load",
}

RUNNERS = {"p1": run_p1, "p1w": run_p1w, "pc": run_pc, "pcr": run_pcr, "all": run_all,
           "exec": run_exec, "own": run_own, "swarm": run_swarm,
           "build": run_build, "cidr": run_cidr, "cidr2": run_cidr2}


def main():
    if sys.argv[1] == "groups":
        print(" ".join(GROUPS))
        return 0
    if sys.argv[1] == "yaml":
        sys.stdout.write(GROUPS[sys.argv[2]])
        return 0
    if sys.argv[1] == "skipped":
        for n in sorted(SKIPPED, key=int):
            print("ok - # SKIP case %s: %s" % (n, SKIPPED[n]))
        return 0
    group, port, token, taplog, image, dsock = sys.argv[2:8]
    a = Agent(int(port), token, taplog)
    a.dsock = dsock
    a.fsock = os.environ.get("PW_FILTER_SOCK", "")
    try:
        RUNNERS[group](a, image)
    finally:
        for cid in a.created:
            docker_delete(dsock, "/containers/%s?force=1&v=1" % cid)
    import tap
    return 1 if tap.nfail else 0


if __name__ == "__main__":
    sys.exit(main())
