#!/usr/bin/python3
"""ddmodel.py: the Drydock wire model of the containers on a Docker Engine,
derived from `docker inspect` and the container list as the contract
reference (http-and-auth.md, sections 8.1 and 8.2) describes it, and a
comparison with what portwingd answers on GET /api/containers.

  ddmodel.py expect DOCKER_SOCK AGENT_NAME
      print the expected JSON array
  ddmodel.py compare DOCKER_SOCK AGENT_NAME PORT TOKEN [WAIT_SECONDS]
      fetch both until they agree (at most WAIT_SECONDS, default 8) and
      print one TAP line per container, plus one for the set of ids;
      exit status 1 when anything differed

Standard library only."""
import http.client
import json
import os
import socket
import sys
import time

# uname -m -> Go's GOARCH spelling (what Drydock gets for image.architecture)
GO_ARCH = {
    "x86_64": "amd64", "amd64": "amd64",
    "aarch64": "arm64", "arm64": "arm64",
    "armv7l": "arm", "armv6l": "arm", "armv5tel": "arm", "arm": "arm",
    "i386": "386", "i486": "386", "i586": "386", "i686": "386",
    "ppc64le": "ppc64le", "ppc64": "ppc64", "s390x": "s390x",
    "riscv64": "riscv64", "mips64": "mips64", "loongarch64": "loong64",
}


def go_arch():
    m = os.uname().machine
    return GO_ARCH.get(m, m)


class UnixHTTPConnection(http.client.HTTPConnection):
    def __init__(self, path, timeout=15):
        super().__init__("localhost", timeout=timeout)
        self.unix_path = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(self.timeout)
        self.sock.connect(self.unix_path)


def docker_get(sock, target):
    c = UnixHTTPConnection(sock)
    c.request("GET", target)
    r = c.getresponse()
    body = r.read()
    c.close()
    if r.status != 200:
        raise RuntimeError("docker %s: %d %s" % (target, r.status, body[:200]))
    return json.loads(body)


def parse_image_ref(ref):
    """(registry, name, tag) of an image reference, by the reference's rule:
    the tag is what follows the last ':' when that is non-empty and has no
    '/', else "latest"; the first path component is a registry when it has
    a '.' or a ':' or is "localhost", else the registry is docker.io and the
    whole remaining reference is the name."""
    repo = ref
    tag = "latest"
    i = ref.rfind(":")
    if i >= 0:
        after = ref[i + 1:]
        if after != "" and "/" not in after:
            tag = after
            repo = ref[:i]
    first, sep, rest = repo.partition("/")
    if sep and ("." in first or ":" in first or first == "localhost"):
        return first, rest, tag
    return "docker.io", repo, tag


def derive_status(state):
    # Docker's own state word, as Drydock's docker watcher reports it
    # (a stopped container is "exited").
    if state.get("Status"):
        return state["Status"]
    if state.get("Running"):
        return "running"
    if state.get("Paused"):
        return "paused"
    if state.get("Restarting"):
        return "restarting"
    if state.get("Dead"):
        return "dead"
    if state.get("Status") == "created":
        return "created"
    return "exited"


def env_bool(name, default):
    v = os.environ.get(name, "")
    return default if v == "" else v.lower() == "true"


def listed(inspect):
    """Drydock's docker watcher: without WATCHALL only running containers;
    a dd.watch label decides, else WATCHBYDEFAULT (default true)."""
    state = inspect.get("State") or {}
    labels = (inspect.get("Config") or {}).get("Labels") or {}
    if not env_bool("DD_WATCHER_DOCKER_WATCHALL", False) and \
            not state.get("Running"):
        return False
    if labels.get("dd.watch"):
        return labels["dd.watch"].lower() == "true"
    return env_bool("DD_WATCHER_DOCKER_WATCHBYDEFAULT", True)


def repo_digests(img, registry, name):
    """The digests of RepoDigests; only those of the container's own
    repository when any match (Docker Hub spellings count as one)."""
    if registry == "docker.io":
        bare = name[8:] if name.startswith("library/") else name
        cands = {bare, "docker.io/" + bare}
        if "/" not in bare:
            cands |= {"library/" + bare, "docker.io/library/" + bare}
    else:
        cands = {registry + "/" + name}
    every, mine = [], []
    for rd in img.get("RepoDigests") or []:
        repo, sep, dig = rd.partition("@")
        if not sep or not repo or not dig:
            continue
        every.append(dig)
        if repo.lower() in cands:
            mine.append(dig)
    return mine or every


def tag_version(tag):
    """Drydock's version reading of a tag: node-semver's coerce() (the
    first run of 1 to 16 digits standing alone, up to two .digits after
    it), the prerelease only from a whole x.y.z-pre tag; None if none."""
    import re
    m = re.search(r"(?:^|\D)(\d{1,16})(?:\.(\d{1,16}))?(?:\.(\d{1,16}))?(?:$|\D)",
                  tag)
    if not m:
        return None
    full = re.fullmatch(r"[v=]?\d+\.\d+\.\d+-([^.+]*)[.+]?.*", tag)
    return {"major": m.group(1), "minor": m.group(2) or "0",
            "patch": m.group(3) or "0",
            "prerelease": full.group(1) if full else ""}


def render_link(template, tag):
    import re
    vals = {"raw": tag, "original": tag, "transformed": tag}
    vals.update(tag_version(tag) or {})
    return re.sub(r"\$\{(\w+)\}", lambda m: vals.get(m.group(1), ""),
                  template)


def is_semver(tag):
    return tag_version(tag) is not None


def derive(inspect, list_entry, agent_name, img):
    """One container in the Drydock wire model (reference 8.1, 8.2)."""
    cfg = inspect.get("Config") or {}
    state = inspect.get("State") or {}
    labels = cfg.get("Labels") or list_entry.get("Labels") or {}
    name = inspect.get("Name", "")
    if name.startswith("/"):
        name = name[1:]
    o = {"id": inspect["Id"], "name": name,
         "displayName": labels.get("dd.display.name") or name}
    o["displayIcon"] = labels.get("dd.display.icon") or "mdi:docker"
    o["status"] = derive_status(state)
    health = (state.get("Health") or {}).get("Status", "")
    if health in ("starting", "healthy", "unhealthy"):
        o["health"] = health
    o["watcher"] = "docker"     # the watcher the agent serves
    o["agent"] = agent_name
    registry, iname, tag = parse_image_ref(cfg.get("Image", ""))
    image = {"id": list_entry.get("ImageID", ""),
             "registry": {"name": "unknown", "url": registry},
             "name": iname,
             "tag": {"value": tag, "semver": is_semver(tag)},
             "digest": {},
             "architecture": img.get("Architecture") or go_arch(),
             "os": img.get("Os") or "linux"}
    wd = labels.get("dd.watch.digest")
    image["digest"]["watch"] = wd.lower() == "true" if wd else tag != "unknown"
    rds = repo_digests(img, registry, iname)
    if rds:
        image["digest"].update(repo=rds[0], value=rds[0], repoDigests=rds)
    image["isLocalImage"] = not rds
    if img.get("Variant"):
        image["variant"] = img["Variant"]
    ilabels = (img.get("Config") or {}).get("Labels") or {}
    oci = "org.opencontainers.image.version"
    sv = ilabels[oci] if oci in ilabels else labels.get(oci)
    if sv:
        image["softwareVersion"] = sv
    if img.get("Created"):
        image["created"] = img["Created"]
    o["image"] = image
    o["updateAvailable"] = False
    o["updateKind"] = {"kind": "unknown"}
    # Label-driven fields: the label, else Drydock's default, else no key
    # (its container schema refuses null).
    for label, key, dflt in (("dd.tag.include", "includeTags", None),
                             ("dd.tag.exclude", "excludeTags", None),
                             ("dd.tag.transform", "transformTags", None),
                             ("dd.tag.family", "tagFamily", "strict"),
                             ("dd.link.template", "linkTemplate", None),
                             ("dd.port.label", "portLabel", None)):
        if labels.get(label) or dflt:
            o[key] = labels.get(label) or dflt
    o["tagPinInfo"] = (labels.get("dd.tag.pin.info") or "").lower() != "false"
    if labels.get("dd.link.template"):
        o["link"] = render_link(labels["dd.link.template"], tag)
    o["labels"] = dict(labels)
    volumes = []
    for m in inspect.get("Mounts") or []:
        v = "%s:%s" % (m.get("Source", ""), m.get("Destination", ""))
        if not m.get("RW", False):
            v += ":ro"
        volumes.append(v)
    env = []
    for e in cfg.get("Env") or []:
        k, _, v = e.partition("=")
        env.append({"key": k, "value": v})
    details = {"ports": [], "volumes": volumes, "env": env}
    if state.get("StartedAt"):
        details["startedAt"] = state["StartedAt"]
    o["details"] = details
    return o


def expected(sock, agent_name):
    out = []
    for entry in docker_get(sock, "/containers/json?all=1"):
        try:
            ins = docker_get(sock, "/containers/%s/json" % entry["Id"])
        except RuntimeError:
            continue            # removed between list and inspect
        if not listed(ins):
            continue
        img = docker_get(sock, "/images/%s/json" % ins["Image"])
        out.append(derive(ins, entry, agent_name, img))
    return out


def agent_get(port, token):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=15)
    c.request("GET", "/api/containers",
              headers={"Authorization": "Bearer " + token})
    r = c.getresponse()
    body = r.read()
    c.close()
    if r.status != 200:
        raise RuntimeError("agent: %d %r" % (r.status, body[:200]))
    return json.loads(body)


def diff(a, b, path=""):
    """Human-readable differences between two JSON values."""
    if type(a) is not type(b):
        return ["%s: agent %s, reference %s" % (path or "/", json.dumps(a),
                                                 json.dumps(b))]
    if isinstance(a, dict):
        out = []
        for k in sorted(set(a) | set(b)):
            if k not in b:
                out.append("%s.%s: unexpected (%s)" % (path, k, json.dumps(a[k])))
            elif k not in a:
                out.append("%s.%s: missing (want %s)" % (path, k, json.dumps(b[k])))
            else:
                out += diff(a[k], b[k], path + "." + k)
        return out
    if isinstance(a, list):
        if len(a) != len(b):
            return ["%s: agent %s, reference %s" % (path, json.dumps(a),
                                                     json.dumps(b))]
        out = []
        for i, (x, y) in enumerate(zip(a, b)):
            out += diff(x, y, "%s[%d]" % (path, i))
        return out
    return [] if a == b else ["%s: agent %s, reference %s" % (
        path, json.dumps(a), json.dumps(b))]


def normalise(lst):
    """Docker's inspect lists Mounts in no fixed order (it walks a map, and
    two inspects of one container differ), so details.volumes is compared
    as a multiset: sorted on both sides.  Every other array keeps its
    order; the top-level list is matched by id."""
    if isinstance(lst, list):
        for c in lst:
            v = c.get("details", {}).get("volumes") if isinstance(c, dict) else None
            if isinstance(v, list) and all(isinstance(x, str) for x in v):
                c["details"]["volumes"] = sorted(v)
    return lst


def compare(sock, agent_name, port, token, wait):
    end = time.monotonic() + wait
    while True:
        got = normalise(agent_get(port, token))
        want = normalise(expected(sock, agent_name))
        if (isinstance(got, list) and
                sorted(json.dumps(x, sort_keys=True) for x in got) ==
                sorted(json.dumps(x, sort_keys=True) for x in want)):
            break
        if time.monotonic() >= end:
            break
        time.sleep(0.25)
    bad = 0
    if not isinstance(got, list):
        print("not ok - /api/containers is a JSON array (got %s)" %
              type(got).__name__)
        return 1
    gids = [c.get("id") for c in got]
    wids = [c["id"] for c in want]
    if sorted(gids) == sorted(wids) and len(set(gids)) == len(gids):
        print("ok - /api/containers lists exactly Docker's %d containers, "
              "each once" % len(wids))
    else:
        bad += 1
        print("not ok - /api/containers ids: agent has %s extra, %s missing, "
              "%d duplicates" % (sorted(set(gids) - set(wids)),
                                 sorted(set(wids) - set(gids)),
                                 len(gids) - len(set(gids))))
    byid = {c.get("id"): c for c in got}
    for w in sorted(want, key=lambda c: c["name"]):
        g = byid.get(w["id"])
        if g is None:
            continue
        d = diff(g, w)
        if not d:
            print("ok - container %s equals the reference derivation" % w["name"])
        else:
            bad += 1
            print("not ok - container %s differs from the reference: %s" %
                  (w["name"], "; ".join(d)))
    return 1 if bad else 0


def main():
    if len(sys.argv) >= 4 and sys.argv[1] == "expect":
        print(json.dumps(expected(sys.argv[2], sys.argv[3]), indent=1))
        return 0
    if len(sys.argv) >= 6 and sys.argv[1] == "compare":
        wait = float(sys.argv[6]) if len(sys.argv) > 6 else 8.0
        return compare(sys.argv[2], sys.argv[3], int(sys.argv[4]),
                       sys.argv[5], wait)
    if len(sys.argv) == 2 and sys.argv[1] == "arch":
        print(go_arch())
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
