#!/usr/bin/env python3
"""compare.py: check MCP tool results against the Docker Engine itself.

    compare.py CLIENT RESULTS.json DIRECT_DIR

RESULTS.json holds raw tools/call results (the {"content", "isError"}
objects) as one client got them:

    {"list_containers": R, "host_metrics": R,
     "inspect_container": {"<id or name as asked>": R, ...},
     "container_logs": {"<id as asked>|<tail or empty>": R, ...},
     "container_stats": {"<id as asked>": R, ...}}

DIRECT_DIR is what t-mcp.sh read from the engine without portwing:
inspect.json (docker inspect of every container), ps.txt (docker ps -aq
--no-trunc: every container, newest first), logs-<id>-<tail>.out/.err
(docker logs --tail N, by stream; .tsout/.tserr the same with
--timestamps), stats-<id>.json (one stats sample
taken before the clients ran), nproc, meminfo, uptime, disktotal (the
size of the file system of the engine's data root, bytes).  Prints TAP
lines prefixed with CLIENT.
"""
import json
import os
import re
import sys

client, results_file, direct = sys.argv[1:4]
results = json.load(open(results_file))
nfail = 0


def ok(cond, desc, detail=None):
    global nfail
    if cond:
        print("ok - %s: %s" % (client, desc))
    else:
        nfail += 1
        print("not ok - %s: %s" % (client, desc))
        if detail is not None:
            for line in str(detail)[:3000].splitlines():
                print("# " + line)
    return cond


def tool_json(res, what):
    """The JSON text of a successful tool result, or None (and a failure)."""
    try:
        assert res["isError"] is False, "isError is not false"
        assert len(res["content"]) == 1 and res["content"][0]["type"] == "text"
        return json.loads(res["content"][0]["text"])
    except Exception as e:  # noqa: BLE001 - any shape error is a failure
        ok(False, "%s: a successful tool result of JSON text" % what,
           "%s: %s" % (e, json.dumps(res)))
        return None


inspect = json.load(open(os.path.join(direct, "inspect.json")))
by_id = {c["Id"]: c for c in inspect}
ps = open(os.path.join(direct, "ps.txt")).read().split()


def engine(ref):
    """docker inspect of a container named by id, short id or name."""
    for c in inspect:
        if ref in (c["Id"], c["Name"], c["Name"].lstrip("/")) or \
                (len(ref) >= 12 and c["Id"].startswith(ref)):
            return c
    return None


def named(ref, d):
    """How a container was asked for, for the TAP lines."""
    return "%s (by %s)" % (d["Name"].lstrip("/"), "id" if ref == d["Id"] else "name")


# ---- list_containers ----
if "list_containers" in results:
    lst = tool_json(results["list_containers"], "list_containers")
    if lst is not None:
        ok(isinstance(lst, list) and [c.get("id") for c in lst] == ps,
           "list_containers: every container (running, exited, created), "
           "newest first, as docker ps -a lists them",
           "mcp: %s\ndocker: %s" % ([c.get("id") for c in lst], ps))
        for c in lst if isinstance(lst, list) else []:
            d = by_id.get(c.get("id"))
            if d is None:
                continue
            name = d["Name"]
            want = {"id": d["Id"], "names": [name], "image": d["Config"]["Image"],
                    "state": d["State"]["Status"]}
            labels = d["Config"].get("Labels") or {}
            if labels:
                want["labels"] = labels
            got = {k: v for k, v in c.items() if k != "status"}
            ok(got == want and set(c) == set(want) | {"status"},
               "list_containers %s: id, names, image, state%s as docker inspect"
               % (name, ", labels" if labels else " (no labels key)"),
               "mcp: %s\nwant: %s" % (json.dumps(c), json.dumps(want)))
            st = d["State"]
            if st["Status"] == "running":
                pat = r"^Up \S.*"
                if st.get("Health"):
                    pat += r" \(%s\)$" % st["Health"]["Status"]
            elif st["Status"] == "exited":
                pat = r"^Exited \(%d\) \S.* ago$" % st["ExitCode"]
            elif st["Status"] == "created":
                pat = r"^Created$"
            else:
                pat = r"."
            ok(isinstance(c.get("status"), str) and re.match(pat, c["status"]),
               "list_containers %s: status %r is Docker's line for %s"
               % (name, c.get("status"), st["Status"]), pat)

# ---- inspect_container ----
for ref, res in sorted(results.get("inspect_container", {}).items()):
    d = engine(ref)
    j = tool_json(res, "inspect_container %s" % ref)
    if j is None:
        continue
    if d is None:
        ok(False, "inspect_container %s: the engine knows it" % ref)
        continue
    st = d["State"]
    want_state = {k: st[k] for k in ("Status", "Running", "Paused", "Restarting",
                                      "OOMKilled", "Dead", "Pid", "ExitCode",
                                      "StartedAt", "FinishedAt")}
    if st.get("Health"):
        want_state["Health"] = {"Status": st["Health"]["Status"]}
    nets = sorted((d["NetworkSettings"].get("Networks") or {}).keys())
    want = {
        "envCount": len(d["Config"].get("Env") or []),
        "id": d["Id"],
        "image": d["Config"]["Image"],
        "name": d["Name"],
        "restartPolicy": d["HostConfig"]["RestartPolicy"]["Name"],
        "state": want_state,
    }
    label = "inspect_container %s" % named(ref, d)
    ok(set(j) == set(want) | {"mounts", "networks"},
       "%s: exactly the keys envCount, id, image, mounts, name, networks, "
       "restartPolicy, state" % label, sorted(j))
    for k, v in want.items():
        ok(j.get(k) == v, "%s: %s as docker inspect (%s)" % (label, k, json.dumps(v)[:80]),
           "mcp: %s" % json.dumps(j.get(k)))
    got_nets = j.get("networks")
    ok((got_nets is None and not nets) or
       (isinstance(got_nets, list) and sorted(got_nets) == nets),
       "%s: networks %s as docker inspect" % (label, nets), json.dumps(got_nets))
    want_m = sorted((m["Source"], m["Destination"], not m["RW"])
                    for m in d.get("Mounts") or [])
    got_m = j.get("mounts")
    try:
        got_m = sorted((m["source"], m["destination"], m["readOnly"])
                       for m in got_m or [])
    except (TypeError, KeyError) as e:
        got_m = "malformed: %s" % e
    ok(got_m == want_m and (j.get("mounts") is not None or not want_m),
       "%s: mounts (source, destination, readOnly) as docker inspect %s"
       % (label, want_m), json.dumps(j.get("mounts")))

# ---- container_logs ----
for key, res in sorted(results.get("container_logs", {}).items()):
    ref, _, tail = key.partition("|")
    n = int(tail) if tail else 0
    n = 100 if n <= 0 else min(n, 500)
    d = engine(ref)
    j = tool_json(res, "container_logs %s tail %s" % (ref, tail or "absent"))
    if j is None:
        continue
    base = os.path.join(direct, "logs-%s-%d" % (d["Id"] if d else "none", n))
    if d is None or not os.path.exists(base + ".out"):
        ok(False, "container_logs %s tail %s: docker logs --tail %d was taken"
           % (ref, tail or "absent", n))
        continue
    out = open(base + ".out").read().splitlines()
    err = open(base + ".err").read().splitlines()
    label = "container_logs %s tail %s" % (named(ref, d), tail or "absent")
    ok(set(j) == {"id", "lines"} and j["id"] == ref,
       "%s: id as given (%s) and lines" % (label, ref), json.dumps(j)[:300])
    lines = j.get("lines")
    if not out and not err:
        ok(lines is None, "%s: no output, lines null" % label, json.dumps(lines))
        continue
    if not ok(isinstance(lines, list), "%s: lines is a list" % label, json.dumps(lines)):
        continue
    ok(all(isinstance(x, str) and re.match(r"^std(out|err): ", x) for x in lines),
       "%s: every line starts with stdout: or stderr:" % label, json.dumps(lines[:5]))
    got_out = [x[len("stdout: "):] for x in lines if x.startswith("stdout: ")]
    got_err = [x[len("stderr: "):] for x in lines if x.startswith("stderr: ")]
    ok(len(lines) == len(out) + len(err),
       "%s: %d lines, as docker logs --tail %d" % (label, len(out) + len(err), n),
       "mcp %d lines" % len(lines))
    ok(got_out == out, "%s: stdout lines as docker logs --tail %d" % (label, n),
       "mcp: %s\ndocker: %s" % (got_out, out))
    ok(got_err == err, "%s: stderr lines as docker logs --tail %d" % (label, n),
       "mcp: %s\ndocker: %s" % (got_err, err))
    # Both streams in the engine's order: docker logs --timestamps merged
    # by time (when no two lines share a time, the order is certain).
    merged = []
    for stream in ("out", "err"):
        for x in open(base + ".ts" + stream).read().splitlines():
            ts, _, text = x.partition(" ")
            sec, _, frac = ts.rstrip("Z").partition(".")
            merged.append(((sec, frac.ljust(9, "0")), "std%s: %s" % (stream, text)))
    merged.sort()
    if got_out and got_err and len({t for t, _ in merged}) == len(merged):
        ok(lines == [x for _, x in merged],
           "%s: the two streams interleaved as the engine logged them" % label,
           "mcp: %s\ndocker: %s" % (lines, [x for _, x in merged]))

# ---- host_metrics ----
if "host_metrics" in results:
    h = tool_json(results["host_metrics"], "host_metrics")
    keys = ["cpuUsage", "cpuCores", "memoryTotal", "memoryUsed", "memoryFree",
            "diskTotal", "diskUsed", "diskFree", "networkRxBytes",
            "networkTxBytes", "uptime"]
    if h is not None:
        ok(sorted(h) == sorted(keys) and
           all(isinstance(h[k], (int, float)) and not isinstance(h[k], bool)
               for k in keys),
           "host_metrics: the eleven keys, all numbers", json.dumps(h))
        nproc = int(open(os.path.join(direct, "nproc")).read())
        mem = int(re.search(r"^MemTotal:\s+(\d+) kB", open(os.path.join(direct, "meminfo")).read(),
                            re.M).group(1)) * 1024
        up = float(open(os.path.join(direct, "uptime")).read().split()[0])
        g = lambda k: h.get(k, -1)  # noqa: E731
        ok(g("cpuCores") == nproc, "host_metrics: cpuCores %s = the CPUs this test may run on (%d)" % (g("cpuCores"), nproc))
        ok(0 <= g("cpuUsage") <= 100, "host_metrics: cpuUsage %s within 0..100" % g("cpuUsage"))
        ok(g("memoryTotal") == mem,
           "host_metrics: memoryTotal %s = MemTotal of /proc/meminfo (%d bytes)" % (g("memoryTotal"), mem))
        ok(0 < g("memoryUsed") <= g("memoryTotal") and
           g("memoryUsed") + g("memoryFree") == g("memoryTotal"),
           "host_metrics: memoryUsed + memoryFree = memoryTotal", json.dumps(h))
        disk = int(open(os.path.join(direct, "disktotal")).read())
        ok(g("diskTotal") == disk,
           "host_metrics: diskTotal %s = the size of the engine's data root file system (%d)"
           % (g("diskTotal"), disk))
        ok(0 < g("diskUsed") <= g("diskTotal") and
           g("diskUsed") + g("diskFree") == g("diskTotal"),
           "host_metrics: diskUsed + diskFree = diskTotal > 0", json.dumps(h))
        ok(g("networkRxBytes") >= 0 and g("networkTxBytes") >= 0,
           "host_metrics: network counters not negative", json.dumps(h))
        ok(up - 5 <= g("uptime") <= up + 300,
           "host_metrics: uptime %s near /proc/uptime (%d)" % (g("uptime"), up))

# ---- container_stats ----
for ref, res in sorted(results.get("container_stats", {}).items()):
    d = engine(ref)
    s = tool_json(res, "container_stats %s" % ref)
    if s is None:
        continue
    if d is None:
        ok(False, "container_stats %s: the engine knows it" % ref)
        continue
    base = json.load(open(os.path.join(direct, "stats-%s.json" % d["Id"])))
    label = "container_stats %s" % named(ref, d)
    ok(sorted(s) == ["cpuTotalUsage", "id", "memLimit", "memUsage", "networks"] and
       s["id"] == ref, "%s: the five keys, id as given" % label, json.dumps(s))
    before = base["cpu_stats"]["cpu_usage"]["total_usage"]
    ok(isinstance(s.get("cpuTotalUsage"), int) and s["cpuTotalUsage"] >= before,
       "%s: cpuTotalUsage %s >= the engine's earlier sample %d" % (label, s.get("cpuTotalUsage"), before))
    ok(s.get("memLimit") == base["memory_stats"]["limit"],
       "%s: memLimit %s as the engine's (%s)" % (label, s.get("memLimit"), base["memory_stats"]["limit"]))
    ok(isinstance(s.get("memUsage"), int) and 0 < s["memUsage"] <= s.get("memLimit", 0),
       "%s: 0 < memUsage %s <= memLimit" % (label, s.get("memUsage")))
    want_nets = sorted((base.get("networks") or {}).keys())
    nets = s.get("networks")
    ok(isinstance(nets, dict) and sorted(nets) == want_nets and
       all(set(v) == {"rxBytes", "txBytes"} for v in nets.values()),
       "%s: networks %s as the engine's stats (with rxBytes, txBytes)" % (label, want_nets),
       json.dumps(nets))

sys.exit(1 if nfail else 0)
