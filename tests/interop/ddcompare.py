#!/usr/bin/python3
"""ddcompare.py: read Drydock's GET /api/v1/containers answers.

  ddcompare.py count [AGENT]      (stdin) how many pwi-* containers are
                                  listed (those of AGENT when given)
  ddcompare.py id FILE|- NAME     Drydock's id of container NAME
  ddcompare.py status NAME        (stdin) its status
  ddcompare.py diff A B AGENT     field-by-field diff of the pwi-*
                                  containers Drydock A lists for AGENT
                                  against those Drydock B watches itself;
                                  TAP lines, the diff as comments

A difference is accepted only when it is listed in EXPECTED below with
the section of DESIGN.md that records it as a decision."""
import json
import re
import sys

PREFIX = "pwi-"

# path (regular expression over the flattened path) -> why it differs.
EXPECTED = {
    # Where the container comes from: A's are the agent's, B's its own.
    r"agent": "A's containers belong to agent 'pw' (B has no agent)",
    r"identityKey": "Drydock's key includes the agent's name",
    # Computed by each controller at the time it evaluated the container.
    r"updateEligibility\.evaluatedAt": "the time each controller evaluated it",
    # Set by the controller, not sent by the agent: Drydock fills these on
    # its own watch of a container and its code path differs for a
    # container held by an agent (DESIGN.md, "Deliberate differences").
    r"result(\..*)?": "the controller's watch result (not the agent's)",
    r"currentReleaseNotes": "release notes looked up by the controller",
    r"security": "the controller's scan state of an agent's container",
    r"updateRollback": "the controller's rollback state of an agent's container",
}


NULL_VS_ABSENT = ("unset: Drydock's API shows a local container's unset "
                  "fields as null and an agent's as absent (its container "
                  "schema refuses null from an agent)")


def load(path):
    with open(path) if path != "-" else sys.stdin as f:
        doc = json.load(f)
    return doc.get("data", doc) if isinstance(doc, dict) else doc


def ours(items, agent):
    out = {}
    for c in items:
        if not c.get("name", "").startswith(PREFIX):
            continue
        if agent and c.get("agent") != agent:
            continue
        if not agent and c.get("agent"):
            continue
        out[c["name"]] = c
    return out


def flatten(v, path="", out=None):
    if out is None:
        out = {}
    if isinstance(v, dict):
        if not v and path:
            out[path] = {}
        for k, x in v.items():
            flatten(x, f"{path}.{k}" if path else k, out)
    elif isinstance(v, list):
        if not v:
            out[path] = []
        for i, x in enumerate(v):
            flatten(x, f"{path}[{i}]", out)
    else:
        out[path] = v
    return out


def expected(path):
    for pat, why in EXPECTED.items():
        if re.fullmatch(pat, path):
            return why
    return None


def unordered(c):
    """Lists whose order is Docker's map order, not a fact: sorted.

    Docker reports a container's mounts (and ports) from a map, so two
    reads of the same container may list them in another order."""
    c = json.loads(json.dumps(c))
    d = c.get("details")
    if isinstance(d, dict):
        for k in ("volumes", "ports"):
            if isinstance(d.get(k), list):
                d[k] = sorted(d[k], key=lambda v: json.dumps(v, sort_keys=True))
    return c


def diff(fa, fb, agent):
    a, b = ours(load(fa), agent), ours(load(fb), None)
    ok = True
    if set(a) == set(b):
        print(f"ok - the same containers are listed: {' '.join(sorted(a))}")
    else:
        ok = False
        print(f"not ok - listed sets differ: only through the agent "
              f"{sorted(set(a) - set(b))}, only by Drydock's watcher "
              f"{sorted(set(b) - set(a))}")
    accepted = {}
    for name in sorted(set(a) & set(b)):
        x, y = flatten(unordered(a[name])), flatten(unordered(b[name]))
        bad = []
        for p in sorted(set(x) | set(y)):
            vx, vy = x.get(p, "<absent>"), y.get(p, "<absent>")
            if vx == vy:
                continue
            why = expected(p)
            if why is None and vx == "<absent>" and vy is None:
                why = NULL_VS_ABSENT
            line = f"{name} {p}: agent {json.dumps(vx)} / watcher {json.dumps(vy)}"
            if why:
                accepted.setdefault("unset fields" if why == NULL_VS_ABSENT
                                    else re.sub(r"\[\d+\]", "[]", p), why)
                print(f"# accepted  {line}")
            else:
                bad.append(line)
                print(f"# DIFFERENT {line}")
        if bad:
            ok = False
            print(f"not ok - {name}: {len(bad)} field(s) differ from Drydock's own watcher")
        else:
            print(f"ok - {name}: every field as Drydock's own watcher has it "
                  f"({len(x)} fields) but the recorded decisions")
    for p, why in sorted(accepted.items()):
        print(f"# decision: {p}: {why}")
    return ok


def main():
    cmd = sys.argv[1]
    if cmd == "count":
        agent = sys.argv[2] if len(sys.argv) > 2 else None
        try:
            print(len(ours(load("-"), agent)))
        except (ValueError, AttributeError):
            print(-1)
    elif cmd == "id":
        for x in load(sys.argv[2]):
            if x.get("name") == sys.argv[3]:
                print(x["id"])
                break
    elif cmd == "status":
        for x in load("-"):
            if x.get("name") == sys.argv[2]:
                print(x.get("status"))
    elif cmd == "diff":
        sys.exit(0 if diff(sys.argv[2], sys.argv[3], sys.argv[4]) else 1)
    else:
        sys.exit(f"ddcompare.py: unknown command {cmd}")


if __name__ == "__main__":
    main()
