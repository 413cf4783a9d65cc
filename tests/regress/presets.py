"""presets.py: what each bundled preset allows, from the policy
reference's table of sockguard's presets (section 8), as (method, path)
samples: every allowed route, and a sample of denied ones.

    presets.py PORTWING     check every preset with `portwing policy test`
                            (TAP lines)
"""
import subprocess
import sys

from tap import check

ID = "3f2a9c"          # a container, network, volume or exec id


def expand(method, pattern):
    """A (method, path) sample for a §8 pattern ({a,b} alternatives)."""
    out = []
    if "{" in pattern:
        pre, rest = pattern.split("{", 1)
        alts, post = rest.split("}", 1)
        for a in alts.split(","):
            out += expand(method, pre + a + post)
        return out
    p = pattern.replace("/**/", "/ghcr.io/o/r:1/").replace("/**", "/a/b")
    p = p.replace("*", ID)
    return [(method, p)]


# Drydock's common read base "D" and the compose delta "C" (§8).
D = [("GET", "/_ping"), ("HEAD", "/_ping"), ("GET", "/version"),
     ("GET", "/info"), ("GET", "/events"), ("GET", "/containers/json"),
     ("GET", "/containers/*/json"), ("GET", "/containers/*/{stats,top,changes}"),
     ("POST", "/containers/*/{start,stop,restart,kill,rename,update,wait}"),
     ("DELETE", "/containers/*"), ("POST", "/containers/create"),
     ("GET", "/images/json"), ("GET", "/images/**/json"),
     ("GET", "/images/**/history"), ("POST", "/images/create"),
     ("DELETE", "/images/**"), ("GET", "/networks"), ("GET", "/networks/*"),
     ("POST", "/networks/*/connect"), ("GET", "/volumes"),
     ("GET", "/volumes/*"), ("GET", "/distribution/**/json"),
     ("GET", "/services"), ("GET", "/services/*")]
C = [("POST", "/networks/create"), ("DELETE", "/networks/*"),
     ("POST", "/networks/*/disconnect"), ("POST", "/volumes/create"),
     ("DELETE", "/volumes/*")]
PW = [r for r in D if r != ("POST", "/networks/*/connect")] + \
    [("GET", "/containers/*/logs")]
PWC = PW + [("POST", "/networks/*/connect")] + C
SOME_DENIED = [("POST", "/containers/*/exec"), ("POST", "/exec/*/start"),
               ("GET", "/containers/*/archive"), ("PUT", "/containers/*/archive"),
               ("POST", "/build"), ("POST", "/swarm/init"),
               ("POST", "/plugins/pull"), ("GET", "/secrets"),
               ("POST", "/images/load"), ("GET", "/images/*/get"),
               ("POST", "/session"), ("GET", "/Containers/json"),
               ("PATCH", "/containers/json")]

READ4 = [("GET", "/_ping"), ("HEAD", "/_ping"), ("GET", "/version"),
         ("GET", "/info"), ("GET", "/events")]
PRESETS = {
    "sockguard": ([("GET", "/_ping"), ("HEAD", "/_ping"), ("GET", "/version"),
                   ("GET", "/events")],
                  [("GET", "/info"), ("GET", "/containers/json")]),
    "drydock": (D, C + SOME_DENIED),
    "drydock-with-selfupdate": (D + [("POST", "/containers/*/exec"),
                                     ("POST", "/exec/*/start"),
                                     ("GET", "/exec/*/json")],
                                C + [("POST", "/build"),
                                     ("GET", "/containers/*/archive")]),
    "drydock-with-compose": (D + C, [("POST", "/build"),
                                     ("POST", "/containers/*/exec")]),
    "drydock-with-build": (D + C + [("POST", "/build")],
                           [("POST", "/containers/*/exec"),
                            ("POST", "/session")]),
    "portwing": (PW, [("POST", "/networks/*/connect")] + C + SOME_DENIED),
    "portwing-with-exec": (PW + [("POST", "/containers/*/exec"),
                                 ("POST", "/exec/*/start"),
                                 ("POST", "/exec/*/resize"),
                                 ("GET", "/exec/*/json")],
                           C + [("POST", "/build"),
                                ("GET", "/containers/*/archive")]),
    "portwing-with-compose": (PWC, [("POST", "/build"),
                                    ("POST", "/containers/*/exec"),
                                    ("GET", "/containers/*/archive"),
                                    ("POST", "/images/load")]),
    "portwing-with-build": (PWC + [("POST", "/build")],
                            [("POST", "/containers/*/exec"),
                             ("POST", "/session")]),
    "traefik": ([("GET", "/_ping"), ("HEAD", "/_ping"), ("GET", "/version"),
                 ("GET", "/info"), ("GET", "/events"),
                 ("GET", "/containers/**"), ("GET", "/networks/**"),
                 ("GET", "/services/**"), ("GET", "/tasks/**")],
                [("POST", "/containers/create"), ("GET", "/images/json"),
                 ("DELETE", "/containers/*")]),
    "watchtower": (READ4 + [
        ("GET", "/containers/**"),
        ("POST", "/containers/*/{start,stop,kill,restart,rename}"),
        ("DELETE", "/containers/*"), ("POST", "/containers/create"),
        ("POST", "/containers/*/exec"), ("POST", "/exec/*/start"),
        ("GET", "/exec/*/json"), ("GET", "/images/**"),
        ("POST", "/images/create"), ("DELETE", "/images/*"),
        ("GET", "/networks/**"), ("POST", "/networks/*/{connect,disconnect}"),
        ("GET", "/volumes/**"), ("GET", "/distribution/**")],
        [("POST", "/build"), ("POST", "/volumes/create"),
         ("POST", "/swarm/init")]),
    "homepage": (READ4 + [("GET", "/containers/**"), ("GET", "/images/**"),
                          ("GET", "/services/**"), ("GET", "/tasks/**")],
                 [("POST", "/containers/*/start"),
                  ("DELETE", "/containers/*")]),
    "homarr": (READ4 + [("GET", "/containers/**"),
                        ("POST", "/containers/*/{start,stop,restart}"),
                        ("GET", "/images/**")],
               [("POST", "/containers/*/kill"), ("DELETE", "/containers/*"),
                ("GET", "/networks")]),
    "diun": ([("GET", "/_ping"), ("HEAD", "/_ping"), ("GET", "/version"),
              ("GET", "/containers/**"), ("GET", "/images/**")],
             [("GET", "/info"), ("GET", "/events"),
              ("POST", "/images/create")]),
    "autoheal": ([("GET", "/_ping"), ("HEAD", "/_ping"), ("GET", "/version"),
                  ("GET", "/events"), ("GET", "/containers/json"),
                  ("GET", "/containers/*/json"),
                  ("POST", "/containers/*/restart")],
                 [("POST", "/containers/*/stop"), ("GET", "/info"),
                  ("GET", "/containers/*/logs")]),
    "readonly": ([("HEAD", "/_ping"), ("GET", "/**"),
                  ("GET", "/containers/json"), ("GET", "/images/json")],
                 [("POST", "/containers/create"),
                  ("DELETE", "/containers/*"),
                  ("POST", "/containers/*/start"), ("PUT", "/containers/*/archive"),
                  ("POST", "/networks/create"), ("POST", "/images/create"),
                  ("POST", "/volumes/create")]),
    "cis-docker-benchmark": ([
        ("GET", "/_ping"), ("HEAD", "/_ping"), ("GET", "/version"),
        ("GET", "/info"), ("GET", "/containers/json"),
        ("GET", "/containers/*/{json,stats,top,changes}"),
        ("POST", "/containers/create"),
        ("POST", "/containers/*/{start,stop,restart,kill,wait}"),
        ("DELETE", "/containers/*"), ("GET", "/images/json"),
        ("GET", "/images/**/json"), ("GET", "/images/**/history"),
        ("POST", "/images/create"), ("DELETE", "/images/**"),
        ("GET", "/networks"), ("GET", "/networks/*"), ("GET", "/volumes"),
        ("GET", "/volumes/*"), ("GET", "/events")],
        [("POST", "/containers/*/exec"), ("GET", "/containers/*/logs"),
         ("POST", "/networks/create")]),
    "portainer": ([
        ("GET", "/_ping"), ("HEAD", "/_ping"), ("GET", "/version"),
        ("GET", "/info"), ("GET", "/events"), ("POST", "/containers/create"),
        ("DELETE", "/containers/*"), ("GET", "/containers/**"),
        ("GET", "/images/**"), ("DELETE", "/images/**"),
        ("POST", "/networks/create"), ("GET", "/volumes/**"),
        ("POST", "/exec/*/start"), ("GET", "/system/**"), ("POST", "/build"),
        ("POST", "/commit"), ("POST", "/auth"), ("GET", "/distribution/**"),
        ("POST", "/swarm/init"), ("GET", "/services/**"),
        ("GET", "/tasks/**"), ("GET", "/nodes/**"), ("GET", "/configs/**"),
        ("GET", "/secrets/**"), ("GET", "/plugins/**")],
        [("POST", "/tasks/x"), ("POST", "/session"), ("PUT", "/version")]),
    "github-actions-runner": ([
        ("GET", "/_ping"), ("HEAD", "/_ping"), ("GET", "/version"),
        ("GET", "/info"), ("GET", "/events"), ("GET", "/containers/json"),
        ("GET", "/containers/*/json"), ("GET", "/containers/*/logs"),
        ("GET", "/containers/*/stats"), ("POST", "/containers/create"),
        ("POST", "/containers/*/{start,stop,kill,wait,attach,exec}"),
        ("DELETE", "/containers/*"), ("POST", "/exec/*/start"),
        ("GET", "/exec/*/json"), ("GET", "/images/json"),
        ("GET", "/images/**/json"), ("POST", "/images/create"),
        ("GET", "/networks"), ("GET", "/networks/*"),
        ("POST", "/networks/create"),
        ("POST", "/networks/*/{connect,disconnect}"),
        ("DELETE", "/networks/*"), ("GET", "/volumes"), ("GET", "/volumes/*"),
        ("POST", "/volumes/create"), ("DELETE", "/volumes/*")],
        [("POST", "/build"), ("GET", "/containers/*/top"),
         ("DELETE", "/images/x")]),
    "gitlab-runner": ([
        ("GET", "/_ping"), ("HEAD", "/_ping"), ("GET", "/version"),
        ("GET", "/info"), ("GET", "/events"), ("GET", "/containers/json"),
        ("GET", "/containers/*/json"), ("GET", "/containers/*/logs"),
        ("GET", "/containers/*/stats"), ("GET", "/containers/*/{top,changes}"),
        ("POST", "/containers/create"),
        ("POST", "/containers/*/{start,stop,kill,wait,attach,exec}"),
        ("DELETE", "/containers/*"), ("POST", "/exec/*/start"),
        ("GET", "/exec/*/json"), ("GET", "/images/json"),
        ("GET", "/images/**/json"), ("GET", "/images/**/history"),
        ("DELETE", "/images/**"), ("POST", "/images/create"),
        ("GET", "/networks"), ("GET", "/networks/*"),
        ("POST", "/networks/create"),
        ("POST", "/networks/*/{connect,disconnect}"),
        ("DELETE", "/networks/*"), ("GET", "/volumes"), ("GET", "/volumes/*"),
        ("POST", "/volumes/create"), ("DELETE", "/volumes/*")],
        [("POST", "/build"), ("POST", "/swarm/init")]),
}


def decision(pw, preset, method, path):
    r = subprocess.run([pw, "policy", "test", preset, method, path],
                       capture_output=True, text=True)
    return r.returncode, r.stdout + r.stderr


def main():
    pw = sys.argv[1]
    names = subprocess.run([pw, "policy", "list"], capture_output=True,
                           text=True).stdout.split()
    check("portwing policy list names every preset of the table (%d "
          "bundled)" % len(names), set(PRESETS) <= set(names),
          sorted(set(PRESETS) - set(names)))
    for preset, (allow, deny) in PRESETS.items():
        rc, out = decision(pw, preset, "GET", "/_ping")
        if not check("preset %s is bundled" % preset, rc in (0, 1), out):
            continue
        bad = []
        n = 0
        for m, pat in allow:
            for method, path in expand(m, pat):
                n += 1
                rc, out = decision(pw, preset, method, path)
                if rc != 0:
                    bad.append("%s %s -> %s" % (method, path,
                                                out.strip()[:100]))
        check("preset %s allows each of its %d routes" % (preset, n),
              not bad, bad[:4])
        bad = []
        n = 0
        for m, pat in deny:
            for method, path in expand(m, pat):
                n += 1
                rc, out = decision(pw, preset, method, path)
                if rc != 1:
                    bad.append("%s %s -> rc %d %s" % (method, path, rc,
                                                       out.strip()[:100]))
        check("preset %s denies a sample of %d others" % (preset, n),
              not bad, bad[:4])
    import tap
    return 1 if tap.nfail else 0


if __name__ == "__main__":
    sys.exit(main())
