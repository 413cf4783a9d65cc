#!/bin/bash
# t-policy-response.sh: response filtering (§2.7 and §7 of the policy
# reference).  With sockguard's defaults, inspect and list answers come
# back with env values, host paths and addresses redacted, while Docker's
# own answer (asked directly) still has them; a stream (logs) is never
# rewritten; attestation statements are refused before Docker sees the
# request.  With visibility selectors (root labels, a profile's name
# globs), hidden containers are absent from lists and answer 404.
. "$(dirname "$0")/lib.sh"
here=$(cd "$(dirname "$0")" && pwd)
export PYTHONPATH=$here
TAP_PID=
cleanup() {
	pw_stop
	[ -z "$TAP_PID" ] || kill "$TAP_PID" 2>/dev/null
	pw_docker_direct rm -f pwresp-a pwresp-hidden pwvis-other >/dev/null 2>&1
	pw_docker_direct volume rm -f pwresp-vol >/dev/null 2>&1
	pw_docker_direct network rm pwresp-net >/dev/null 2>&1
}
trap cleanup EXIT
pw_image

tap_sock=$PW_TMP/tap.sock
tap_log=$PW_TMP/tap.log
python3 "$here/dtap.py" "$tap_sock" "$DOCKER_SOCK" "$tap_log" &
TAP_PID=$!
for i in $(seq 1 50); do [ -S "$tap_sock" ] && break; sleep 0.1; done

hostdir=$PW_TMP/pwresp-hostdir
mkdir -p "$hostdir"
pw_docker_direct rm -f pwresp-a pwresp-hidden pwvis-other >/dev/null 2>&1
pw_docker_direct run -d --name pwresp-a -e PWSECRET=hunter2 \
    -v "$hostdir:/data:ro" -l pwtest.vis=yes "$PW_IMAGE" \
    sh -c 'echo logline PWSECRET=$PWSECRET; exec sleep 3600' >/dev/null ||
    fail "docker run pwresp-a (direct)"
pw_docker_direct run -d --name pwresp-hidden -e PWSECRET=other \
    "$PW_IMAGE" sleep 3600 >/dev/null || fail "docker run pwresp-hidden"
pw_docker_direct run -d --name pwvis-other -l pwtest.vis=yes \
    "$PW_IMAGE" sleep 3600 >/dev/null || fail "docker run pwvis-other"
pw_docker_direct volume create pwresp-vol >/dev/null || fail "volume create"
pw_docker_direct network rm pwresp-net >/dev/null 2>&1
pw_docker_direct network create --subnet 10.231.7.0/24 pwresp-net >/dev/null ||
    fail "network create"

# Docker's own answer has the values.
direct=$(pw_docker_direct inspect pwresp-a)
check "Docker's direct inspect has the env value" \
    bash -c "echo '$direct' | grep -q 'PWSECRET=hunter2'"
check "Docker's direct inspect has the host path" \
    bash -c "echo '$direct' | grep -q '$hostdir'"

cat >"$PW_TMP/policy.yaml" <<'EOF2'
insecure_allow_read_exfiltration: true
rules:
  - match: { method: GET, path: "/**" }
    action: allow
  - match: { method: HEAD, path: "/_ping" }
    action: allow
  - match: { method: "*", path: "/**" }
    action: deny
EOF2
pw_start WORKERS=1 DOCKER_SOCKET="$tap_sock" \
    POLICY_FILE="$PW_TMP/policy.yaml" ||
    { fail "portwingd starts with the response defaults"; exit 1; }

tap_run python3 - "$PW_PORT" "$PW_TOKEN" "$hostdir" "$tap_log" <<'PY'
import http.client, json, re, sys, time
from tap import check
port, tok, hostdir, taplog = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
c = http.client.HTTPConnection("127.0.0.1", port, timeout=20)
def get(path):
    c.request("GET", path, headers={"Authorization": "Bearer " + tok})
    r = c.getresponse()
    return r.status, r.getheader("Content-Length"), r.read()
st, cl, b = get("/v1.41/containers/pwresp-a/json")
j = json.loads(b) if st == 200 else {}
check("inspect through portwing: 200 with a Content-Length that fits (%s)" % st,
      st == 200 and cl is not None and int(cl) == len(b))
check("... Config.Env is emptied", j.get("Config", {}).get("Env") == [], j.get("Config", {}).get("Env"))
check("... the env value appears nowhere", b"hunter2" not in b)
check("... Mounts[].Source is <redacted>",
      [m.get("Source") for m in j.get("Mounts", [])] == ["<redacted>"], j.get("Mounts"))
check("... HostConfig.Binds keeps the target, not the host path",
      j.get("HostConfig", {}).get("Binds") == ["<redacted>:/data:ro"], j.get("HostConfig", {}).get("Binds"))
check("... the host path appears nowhere", hostdir.encode() not in b)
ns = j.get("NetworkSettings", {})
nets = ns.get("Networks", {})
check("... container addresses are redacted",
      all(n.get("IPAddress") == "<redacted>" and n.get("NetworkID") == "<redacted>"
          and n.get("IPPrefixLen") == 0 for n in nets.values()) and nets, nets)
check("... HostConfig.NetworkMode is redacted",
      j.get("HostConfig", {}).get("NetworkMode") == "<redacted>")
check("... the rest of the answer is Docker's (Name, labels)",
      j.get("Name") == "/pwresp-a" and
      j.get("Config", {}).get("Labels", {}).get("pwtest.vis") == "yes")
st, cl, b = get("/containers/json?all=1")
lst = json.loads(b) if st == 200 else []
mine = [x for x in lst if "/pwresp-a" in x.get("Names", [])]
check("list through portwing: mount sources redacted",
      st == 200 and mine and [m.get("Source") for m in mine[0].get("Mounts", [])] == ["<redacted>"],
      mine[:1])
check("... and all three test containers are listed",
      sum(1 for x in lst if set(x.get("Names", [])) & {"/pwresp-a", "/pwresp-hidden", "/pwvis-other"}) == 3)
st, cl, b = get("/volumes/pwresp-vol")
check("volume inspect: Mountpoint is <redacted>",
      st == 200 and json.loads(b).get("Mountpoint") == "<redacted>", b[:200])
st, cl, b = get("/volumes")
vols = [v for v in json.loads(b).get("Volumes") or [] if v.get("Name") == "pwresp-vol"] if st == 200 else []
check("volume list: Mountpoint is <redacted>",
      vols and vols[0].get("Mountpoint") == "<redacted>", b[:200])
st, cl, b = get("/networks/pwresp-net")
check("network inspect: IPAM.Config emptied and Containers hidden",
      st == 200 and b"10.231.7" not in b and json.loads(b).get("IPAM", {}).get("Config") == [] and
      json.loads(b).get("Containers") in ({}, None), b[:200])
st, cl, b = get("/containers/pwresp-a/logs?stdout=1")
check("logs (a stream) are never rewritten: the env value is there",
      st == 200 and b"logline PWSECRET=hunter2" in b, b[:200])
st, cl, b = get("/containers/nosuch-pwresp/json")
check("an error answer from Docker passes as it is (404)",
      st == 404 and b"nosuch-pwresp" in b, b[:200])
st, cl, b = get("/images/busybox/attestations?statement=true&pwid=attest1")
time.sleep(0.2)
seen = [l for l in open(taplog).read().splitlines() if "pwid=attest1" in l]
check("attestation statements are refused (403, got %d)" % st, st == 403, b[:200])
check("... and the request never reached Docker", not seen)
st, cl, b = get("/images/busybox/attestations?statement=false&pwid=attest2")
time.sleep(0.2)
seen = [l for l in open(taplog).read().splitlines() if "pwid=attest2" in l]
check("attestations without statements go to Docker (got %d)" % st, len(seen) == 1)
PY

grep -E 'answer rejected|policyd' "$PW_LOG" | head -5 | sed 's/^/# /'
out=$(pw_docker inspect pwresp-a 2>&1)
check "the docker CLI's inspect through portwing shows redacted values" \
    bash -c "echo '$out' | grep -q '\"<redacted>:/data:ro\"' && ! echo '$out' | grep -q hunter2"
out=$(pw_docker ps --format '{{.Names}}' 2>&1)
check "the docker CLI's ps through portwing works" \
    bash -c "echo '$out' | grep -q pwresp-a"
pw_stop

# Visibility: root label selector, plus a name glob for the token's profile.
cat >"$PW_TMP/policy-vis.yaml" <<'EOF2'
insecure_allow_read_exfiltration: true
response:
  redact_container_env: false
  visible_resource_labels: ["pwtest.vis=yes"]
rules:
  - match: { method: GET, path: "/**" }
    action: allow
clients:
  profiles:
    - name: narrow
      response:
        name_patterns: ["pwresp-*"]
      rules:
        - match: { method: GET, path: "/**" }
          action: allow
EOF2
pw_start WORKERS=1 POLICY_FILE="$PW_TMP/policy-vis.yaml" TOKEN_POLICY=narrow ||
    { fail "portwingd starts with visibility selectors"; exit 1; }
tap_run python3 - "$PW_PORT" "$PW_TOKEN" <<'PY'
import http.client, json, sys
from tap import check
port, tok = int(sys.argv[1]), sys.argv[2]
c = http.client.HTTPConnection("127.0.0.1", port, timeout=20)
def get(path):
    c.request("GET", path, headers={"Authorization": "Bearer " + tok})
    r = c.getresponse()
    return r.status, r.read()
st, b = get("/containers/json?all=1")
names = [n for x in json.loads(b) for n in x.get("Names", [])] if st == 200 else []
check("list: the labelled, matching container is there", "/pwresp-a" in names, names)
check("list: a container without the label is absent", "/pwresp-hidden" not in names, names)
check("list: a labelled container outside the profile's name glob is absent",
      "/pwvis-other" not in names, names)
st, b = get("/containers/pwresp-hidden/json")
check("inspect of a hidden container: 404 resource not found (got %d)" % st,
      st == 404 and json.loads(b) == {"message": "resource not found"}, b[:200])
st, b = get("/containers/pwvis-other/json")
check("inspect of a container hidden by the profile's glob: 404 (got %d)" % st, st == 404)
st, b = get("/containers/pwresp-a/json")
check("inspect of a visible container: 200, env kept (redaction off)",
      st == 200 and b"PWSECRET=hunter2" in b, b[:120])
PY
direct=$(pw_docker_direct ps -a --format '{{.Names}}')
check "Docker itself lists the hidden containers" \
    bash -c "echo '$direct' | grep -q pwresp-hidden && echo '$direct' | grep -q pwvis-other"
pw_done
