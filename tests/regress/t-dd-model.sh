#!/bin/bash
# t-dd-model.sh: GET /api/containers against the Drydock wire model that
# the contract reference (http-and-auth.md 8.1, 8.2) derives from
# `docker inspect` and the container list (ddmodel.py, written from the
# reference text), container by container, for containers covering every
# derivation rule; and the inventory is served from memory: no Docker
# call per request (seen through a tap on the Docker socket, dtap.py),
# yet a container started behind the agent's back shows up within 2 s;
# what is listed follows Drydock's watcher (dd.watch, WATCHBYDEFAULT,
# WATCHALL), and image details come from the image, inspected once.
. "$(dirname "$0")/lib.sh"
here=$(cd "$(dirname "$0")" && pwd)
PY=/usr/bin/python3
D() { pw_docker_direct "$@"; }

ctrs="pwm-tap1 pwm-tap2 pwm-plain pwm-labels pwm-ports pwm-net pwm-mounts
    pwm-healthy pwm-unhealthy pwm-created pwm-stopped pwm-env pwm-reg
    pwm-notag pwm-hub pwm-nowatch pwm-optin pwm-pushed pwm-late"
imgs="localhost:5000/team/app:1.2 localhost:5000/team/app:latest pwtest/lib-app:v2"
tap_pid= reg_pid= pushed=
cleanup() {
	pw_stop
	[ -n "$reg_pid" ] && kill "$reg_pid" 2>/dev/null && wait "$reg_pid" 2>/dev/null
	[ -n "$tap_pid" ] && kill "$tap_pid" 2>/dev/null && wait "$tap_pid" 2>/dev/null
	D rm -f -v $ctrs >/dev/null 2>&1
	D network rm pwm-net >/dev/null 2>&1
	D volume rm pwm-vol >/dev/null 2>&1
	D rmi $imgs $pushed >/dev/null 2>&1
}
trap cleanup EXIT
cleanup

# GET /api/containers until it answers 200 (the inventory is built).
wait_inventory() {
	local i
	for i in $(seq 1 100); do
		[ "$(pw_curl -o /dev/null -w '%{http_code}' "$(pw_url /api/containers)")" = 200 ] &&
		    return 0
		sleep 0.1
	done
	return 1
}

now_ms() { echo $(($(date +%s%N) / 1000000)); }

# ---- 1. No Docker call per request, through a tap on the Docker socket.
tap_sock=$PW_TMP/tap.sock tap_log=$PW_TMP/tap.log
$PY "$here/dtap.py" "$tap_sock" "$DOCKER_SOCK" "$tap_log" &
tap_pid=$!
for i in $(seq 1 50); do [ -S "$tap_sock" ] && break; sleep 0.1; done
check "the tap listens" [ -S "$tap_sock" ]
D run -d --name pwm-tap1 "$PW_IMAGE" sleep 300 >/dev/null
tap1=$(D inspect -f '{{.Id}}' pwm-tap1)
pw_start DD_POLL_INTERVAL=3600 DOCKER_SOCKET="$tap_sock" || { fail "portwingd starts"; exit 1; }
check "inventory ready: GET /api/containers answers 200" wait_inventory
check "the tap saw the agent list containers (GET .../containers/json)" \
    grep -Eq '^GET [^ ]*/containers/json' "$tap_log"
check "the tap saw the agent inspect pwm-tap1" \
    grep -Eq "^GET [^ ]*/containers/$tap1/json" "$tap_log"
check "the tap saw the agent subscribe to Docker events" \
    grep -Eq '^GET [^ ]*/events' "$tap_log"
sleep 0.5
n0=$(wc -l <"$tap_log")
lists0=$(grep -Ec '^GET [^ ]*/containers/json' "$tap_log")
good=0
for i in $(seq 1 20); do
	body=$(pw_curl "$(pw_url /api/containers)")
	case $body in *"\"$tap1\""*) good=$((good + 1)) ;; esac
done
sleep 0.5
check "20 GET /api/containers answered with pwm-tap1 ($good/20)" [ $good -eq 20 ]
lists1=$(grep -Ec '^GET [^ ]*/containers/json' "$tap_log")
check "no GET .../containers/json during 20 GET /api/containers ($lists0 -> $lists1)" \
    [ "$lists1" -eq "$lists0" ]
n1=$(wc -l <"$tap_log")
new=$(tail -n +$((n0 + 1)) "$tap_log" | grep -E '/containers/' | head -3 | tr '\n' ' ')
check "no container request at all to Docker during them (${new:-none})" [ -z "$new" ]
echo "# requests seen by the tap during the 20 GETs: $((n1 - n0))"
t0=$(now_ms)
tap2=$(D run -d --name pwm-tap2 "$PW_IMAGE" sleep 300)
seen=0
while [ $(($(now_ms) - t0)) -lt 2000 ]; do
	if pw_curl "$(pw_url /api/containers)" | grep -q "\"$tap2\""; then
		seen=1; break
	fi
	sleep 0.05
done
check "a container started on dockerd appears in /api/containers within 2 s ($(($(now_ms) - t0)) ms)" \
    [ $seen -eq 1 ]
D rm -f pwm-tap2 >/dev/null
gone=0
for i in $(seq 1 40); do
	pw_curl "$(pw_url /api/containers)" | grep -q "\"$tap2\"" || { gone=1; break; }
	sleep 0.05
done
check "and leaves it within 2 s of its removal" [ $gone -eq 1 ]
img_id=$(D image inspect -f '{{.Id}}' "$PW_IMAGE")
ni=$(grep -Ec "^GET [^ ]*/images/$img_id/json" "$tap_log")
check "the image both containers share was inspected once ($ni)" [ "$ni" -eq 1 ]
pw_stop
kill "$tap_pid" 2>/dev/null; wait "$tap_pid" 2>/dev/null; tap_pid=
D rm -f pwm-tap1 >/dev/null

# ---- 2. The model, container by container.
mkdir -p "$PW_TMP/bind-ro" "$PW_TMP/bind-rw"
D tag "$PW_IMAGE" localhost:5000/team/app:1.2
D tag "$PW_IMAGE" localhost:5000/team/app:latest
D tag "$PW_IMAGE" pwtest/lib-app:v2
D volume create pwm-vol >/dev/null
R="$PW_IMAGE sleep 300"
D run -d --name pwm-plain $R >/dev/null
D run -d --name pwm-labels -l 'dd.display.name=Web front end' \
    -l dd.display.icon=mdi:web -l dd.watch=true \
    -l 'dd.tag.include=^\d+\.\d+\.\d+$' -l 'dd.tag.exclude=^.*-rc\d*$' \
    -l 'dd.tag.transform=^v(.*) => $1' -l com.example.team=blue \
    -l 'com.example.expr=a=b' -l dd.group=front \
    -l 'dd.link.template=https://example.com/r/${original}/v${major}${nope}' \
    -l dd.watch.digest=false -l dd.tag.family=loose $R >/dev/null
hp=$(pw_free_port)
D run -d --name pwm-ports -p "127.0.0.1:$hp:80" -p "$hp:81/udp" --expose 9000 $R >/dev/null ||
    fail "a container with published ports starts"
if D network create pwm-net >/dev/null 2>"$PW_TMP/net.err"; then
	D run -d --name pwm-net --network pwm-net $R >/dev/null ||
	    fail "a container on a user-defined network starts"
else
	skip "user-defined network: dockerd cannot create one: $(head -1 "$PW_TMP/net.err")"
fi
D run -d --name pwm-mounts -v "$PW_TMP/bind-ro:/srv/ro:ro" -v "$PW_TMP/bind-rw:/srv/rw" \
    -v pwm-vol:/data --mount "type=bind,source=$PW_TMP/bind-rw,target=/srv/rw2,readonly" \
    $R >/dev/null
D run -d --name pwm-healthy --health-cmd true --health-interval 1s $R >/dev/null
D run -d --name pwm-unhealthy --health-cmd false --health-interval 1s \
    --health-retries 1 $R >/dev/null
D create --name pwm-created "$PW_IMAGE" true >/dev/null
D run --name pwm-stopped "$PW_IMAGE" sh -c 'exit 3' >/dev/null 2>&1
D run -d --name pwm-env -e 'A=b=c' -e 'EMPTY=' -e 'URL=http://h/?q=1&r==2' \
    -e 'SPACES=x y  z' $R >/dev/null
D run -d --name pwm-reg localhost:5000/team/app:1.2 sleep 300 >/dev/null
D run -d --name pwm-notag localhost:5000/team/app sleep 300 >/dev/null
D create --name pwm-hub -l 'dd.link.template=https://x/${major}.${minor}.${patch}-${prerelease}/${original}' \
    pwtest/lib-app:v2 true >/dev/null
hs=
for i in $(seq 1 100); do
	hs=$(D inspect -f '{{.State.Health.Status}}' pwm-healthy pwm-unhealthy | tr '\n' ' ')
	[ "$hs" = "healthy unhealthy " ] && break
	sleep 0.2
done
check "health checks settled (pwm-healthy, pwm-unhealthy: $hs)" [ "$hs" = "healthy unhealthy " ]

agent_name="pwm-agent-$$"
# WATCHALL: created and exited containers are listed too.
export DD_WATCHER_DOCKER_WATCHALL=true
pw_start DD_POLL_INTERVAL=3600 AGENT_NAME="$agent_name" \
    DD_WATCHER_DOCKER_WATCHALL=true || { fail "portwingd starts"; exit 1; }
check "inventory ready" wait_inventory
tap_run $PY "$here/ddmodel.py" compare "$DOCKER_SOCK" "$agent_name" "$PW_PORT" "$PW_TOKEN" 8
img_created=$(D image inspect -f '{{.Created}}' "$PW_IMAGE")
img_digests=$(D image inspect -f '{{len .RepoDigests}}' "$PW_IMAGE")
plain_created=$(D inspect -f '{{.Created}}' pwm-plain)

# The same facts again, spelled out rather than derived, so that the
# derivation above cannot agree with the agent on a shared mistake.
case $(uname -m) in
x86_64) goarch=amd64 ;; aarch64) goarch=arm64 ;; armv7l | armv6l) goarch=arm ;;
i?86) goarch=386 ;; *) goarch=$(uname -m) ;;
esac
pw_curl "$(pw_url /api/containers)" >"$PW_TMP/list.json"
tap_run $PY - "$PW_TMP/list.json" "$agent_name" "$goarch" "$PW_TMP" "$hp" \
    "$img_created" "$img_digests" "$plain_created" <<'PY'
import json, sys
lst = json.load(open(sys.argv[1]))
agent, goarch, tmp = sys.argv[2], sys.argv[3], sys.argv[4]
img_created, img_digests, plain_created = sys.argv[6], int(sys.argv[7]), sys.argv[8]
by = {c["name"]: c for c in lst}
def check(desc, cond, got=None):
    print(("ok - " if cond else "not ok - ") + desc +
          ("" if cond or got is None else ": got " + json.dumps(got)))
def g(name, *path):
    v = by.get(name)
    for p in path:
        if isinstance(v, dict) and p in v:
            v = v[p]
        else:
            return "<absent>"
    return v
check("every container's agent is AGENT_NAME (%s)" % agent,
      lst and all(c.get("agent") == agent for c in lst),
      sorted(set(c.get("agent") for c in lst)))
check("image.architecture is uname -m in Go's spelling (%s), os linux" % goarch,
      lst and all(c["image"].get("architecture") == goarch and
                  c["image"].get("os") == "linux" for c in lst),
      sorted(set(c["image"].get("architecture") for c in lst)))
check("no leading slash in any name", lst and all(
    not c["name"].startswith("/") for c in lst), [c["name"] for c in lst])
check("plain: displayName = name, watcher docker, Drydock's defaults for "
      "the label fields (empty labels, mdi:docker icon, strict family, pin "
      "info on), no tag filters, no health",
      g("pwm-plain", "displayName") == "pwm-plain" and
      g("pwm-plain", "watcher") == "docker" and
      g("pwm-plain", "labels") == {} and
      g("pwm-plain", "displayIcon") == "mdi:docker" and
      g("pwm-plain", "tagFamily") == "strict" and
      g("pwm-plain", "tagPinInfo") is True and
      all(k not in by.get("pwm-plain", {}) for k in
          ("includeTags", "excludeTags", "transformTags", "portLabel")) and
      "health" not in by.get("pwm-plain", {}),
      by.get("pwm-plain"))
want = {"displayName": "Web front end", "displayIcon": "mdi:web",
        "watcher": "docker", "includeTags": r"^\d+\.\d+\.\d+$",
        "excludeTags": r"^.*-rc\d*$", "transformTags": "^v(.*) => $1"}
check("dd.* labels: displayName, displayIcon, watcher \"docker\" (not dd.watch's "
      "value), include/exclude/transformTags", {k: g("pwm-labels", k) for k in want} == want,
      {k: g("pwm-labels", k) for k in want})
check("labels: all of them, dd.* and others, values verbatim",
      g("pwm-labels", "labels") == {
          "dd.display.name": "Web front end", "dd.display.icon": "mdi:web",
          "dd.watch": "true", "dd.tag.include": r"^\d+\.\d+\.\d+$",
          "dd.tag.exclude": r"^.*-rc\d*$", "dd.tag.transform": "^v(.*) => $1",
          "com.example.team": "blue", "com.example.expr": "a=b",
          "dd.group": "front",
          "dd.link.template": "https://example.com/r/${original}/v${major}${nope}",
          "dd.watch.digest": "false", "dd.tag.family": "loose"}, g("pwm-labels", "labels"))
check("published ports: details.ports is still []",
      g("pwm-ports", "details", "ports") == [] and g("pwm-ports", "status") == "running",
      g("pwm-ports", "details"))
if "pwm-net" in by:
    check("user-defined network: running, no network fields in the model",
          g("pwm-net", "status") == "running" and
          set(by["pwm-net"]["details"]) <= {"ports", "volumes", "env", "startedAt"},
          by["pwm-net"])
vols = g("pwm-mounts", "details", "volumes")
check("mounts: ro bind with :ro, rw bind without, named volume source:dest",
      isinstance(vols, list) and len(vols) == 4 and
      tmp + "/bind-ro:/srv/ro:ro" in vols and tmp + "/bind-rw:/srv/rw" in vols and
      tmp + "/bind-rw:/srv/rw2:ro" in vols and
      any(v.endswith("/volumes/pwm-vol/_data:/data") for v in vols), vols)
check("health: healthy", g("pwm-healthy", "health") == "healthy",
      g("pwm-healthy", "health"))
check("health: unhealthy", g("pwm-unhealthy", "health") == "unhealthy",
      g("pwm-unhealthy", "health"))
check("never started: status created, startedAt 0001-01-01T00:00:00Z",
      g("pwm-created", "status") == "created" and
      g("pwm-created", "details", "startedAt") == "0001-01-01T00:00:00Z",
      [g("pwm-created", "status"), g("pwm-created", "details")])
check("running: status running", g("pwm-plain", "status") == "running",
      g("pwm-plain", "status"))
check("exited: status exited, Drydock's word",
      g("pwm-stopped", "status") == "exited", g("pwm-stopped", "status"))
check("every container's watcher is docker", lst and all(
    c.get("watcher") == "docker" for c in lst),
    sorted(set(c.get("watcher") for c in lst)))
check("dd.link.template: linkTemplate verbatim, link rendered with the tag "
      "(no semver: major empty, unknown variable empty)",
      g("pwm-labels", "linkTemplate") ==
      "https://example.com/r/${original}/v${major}${nope}" and
      g("pwm-labels", "link") == "https://example.com/r/latest/v",
      [g("pwm-labels", "linkTemplate"), g("pwm-labels", "link")])
check("dd.link.template with a version tag (v2): semver true, link with "
      "major 2, minor and patch 0, no prerelease",
      g("pwm-hub", "image", "tag", "semver") is True and
      g("pwm-hub", "link") == "https://x/2.0.0-/v2",
      [g("pwm-hub", "image", "tag"), g("pwm-hub", "link")])
check("no dd.link.template: no link, no linkTemplate",
      g("pwm-plain", "link") == "<absent>" and
      g("pwm-plain", "linkTemplate") == "<absent>", by.get("pwm-plain"))
check("no field is null (Drydock's container schema refuses null)",
      "null" not in json.dumps([{k: v for k, v in c.items() if k != "labels"}
                                for c in lst]), lst)
check("dd.watch.digest=false: digest.watch false",
      g("pwm-labels", "image", "digest", "watch") is False,
      g("pwm-labels", "image", "digest"))
check("no dd.watch.digest, a real tag: digest.watch true (Drydock's default)",
      g("pwm-plain", "image", "digest", "watch") is True,
      g("pwm-plain", "image", "digest"))
check("dd.tag.family: tagFamily", g("pwm-labels", "tagFamily") == "loose",
      g("pwm-labels", "tagFamily"))
check("image.created is the image's creation time (%s), not the "
      "container's (%s)" % (img_created, plain_created),
      g("pwm-plain", "image", "created") == img_created and
      img_created != plain_created, g("pwm-plain", "image", "created"))
if img_digests == 0:
    check("a local image (no RepoDigests): isLocalImage true, no repoDigests",
          g("pwm-plain", "image", "isLocalImage") is True and
          g("pwm-plain", "image", "digest", "repoDigests") == "<absent>",
          g("pwm-plain", "image"))
env = g("pwm-env", "details", "env")
check("env split at the first '='", isinstance(env, list) and
      {"key": "A", "value": "b=c"} in env and {"key": "EMPTY", "value": ""} in env and
      {"key": "URL", "value": "http://h/?q=1&r==2"} in env and
      {"key": "SPACES", "value": "x y  z"} in env and
      {"key": "PATH", "value": "/bin"} in env, env)
check("registry host:port and tag: localhost:5000 / team/app / 1.2",
      [g("pwm-reg", "image", "registry"), g("pwm-reg", "image", "name"),
       g("pwm-reg", "image", "tag")] ==
      [{"name": "unknown", "url": "localhost:5000"},
       "team/app", {"value": "1.2", "semver": True}], g("pwm-reg", "image"))
check("registry host:port, no tag: localhost:5000 / team/app / latest",
      [g("pwm-notag", "image", "registry", "url"), g("pwm-notag", "image", "name"),
       g("pwm-notag", "image", "tag", "value")] ==
      ["localhost:5000", "team/app", "latest"], g("pwm-notag", "image"))
check("hub-style reference: docker.io / pwtest/lib-app / v2",
      [g("pwm-hub", "image", "registry", "url"), g("pwm-hub", "image", "name"),
       g("pwm-hub", "image", "tag", "value")] ==
      ["docker.io", "pwtest/lib-app", "v2"], g("pwm-hub", "image"))
check("plain image: docker.io / pwtest-bb / latest",
      [g("pwm-plain", "image", "registry", "url"), g("pwm-plain", "image", "name"),
       g("pwm-plain", "image", "tag", "value")] ==
      ["docker.io", "pwtest-bb", "latest"], g("pwm-plain", "image"))
PY

# A change while the agent runs: the stopped container is the reference's
# again (status, startedAt kept, health of a stopped health-checked one).
D stop -t 0 pwm-plain pwm-healthy >/dev/null
D start pwm-stopped >/dev/null 2>&1
TAP_PREFIX="after stop/start: " tap_run $PY "$here/ddmodel.py" compare "$DOCKER_SOCK" "$agent_name" "$PW_PORT" "$PW_TOKEN" 8
pw_stop

# ---- 3. Which containers are listed, as Drydock's docker watcher lists
# them: by default only running ones, dd.watch=false hidden, unlabelled
# ones listed; WATCHBYDEFAULT=false lists only dd.watch=true ones.
unset DD_WATCHER_DOCKER_WATCHALL
D run -d --name pwm-nowatch -l dd.watch=false $R >/dev/null
D run -d --name pwm-optin -l dd.watch=TRUE $R >/dev/null
names() { pw_curl "$(pw_url /api/containers)" | $PY -c \
    'import json,sys; print(" ".join(sorted(c["name"] for c in json.load(sys.stdin))))'; }
has() { case " $1 " in *" $2 "*) return 0 ;; esac; return 1; }
pw_start DD_POLL_INTERVAL=3600 AGENT_NAME="$agent_name" || { fail "portwingd starts"; exit 1; }
check "inventory ready (defaults)" wait_inventory
TAP_PREFIX="defaults: " tap_run $PY "$here/ddmodel.py" compare "$DOCKER_SOCK" "$agent_name" "$PW_PORT" "$PW_TOKEN" 8
n=$(names)
check "defaults: running unlabelled and dd.watch=TRUE listed ($n)" \
    bash -c 'case " $1 " in *" pwm-env "*" pwm-optin "*) exit 0 ;; esac; exit 1' _ "$n"
for x in pwm-nowatch pwm-created pwm-stopped pwm-hub; do
	check "defaults: $x (dd.watch=false or not running) not listed" \
	    bash -c 'case " $1 " in *" $2 "*) exit 1 ;; esac' _ "$n" "$x"
done
# A listed container that stops stays listed, as exited, until the next
# poll (Drydock's watcher keeps it until its next scheduled watch), so
# the controller can start it again; a container that starts is listed
# at once.
status_of() { pw_curl "$(pw_url /api/containers)" | $PY -c \
    'import json,sys; print(" ".join(c["status"] for c in json.load(sys.stdin) if c["name"] == sys.argv[1]))' "$1"; }
D stop -t 0 pwm-optin >/dev/null
st=
for i in $(seq 1 40); do st=$(status_of pwm-optin); [ "$st" = exited ] && break; sleep 0.05; done
check "defaults: a listed container that stops stays listed, exited, within 2 s ($st)" \
    [ "$st" = exited ]
D start pwm-optin >/dev/null
for i in $(seq 1 40); do st=$(status_of pwm-optin); [ "$st" = running ] && break; sleep 0.05; done
check "defaults: and is running again within 2 s of its start ($st)" [ "$st" = running ]
D run -d --name pwm-late $R >/dev/null
back=0
for i in $(seq 1 40); do has "$(names)" pwm-late && { back=1; break; }; sleep 0.05; done
check "defaults: a new container is listed within 2 s of its start" [ $back -eq 1 ]
D rm -f pwm-late >/dev/null
pw_stop
# The next poll drops it: a 1 s poll interval.
pw_start DD_POLL_INTERVAL=1 AGENT_NAME="$agent_name" || { fail "portwingd starts"; exit 1; }
check "inventory ready (1 s poll)" wait_inventory
D stop -t 0 pwm-optin >/dev/null
gone=0
for i in $(seq 1 80); do has "$(names)" pwm-optin || { gone=1; break; }; sleep 0.05; done
check "defaults: a stopped container leaves the list at the next poll (1 s)" [ $gone -eq 1 ]
D start pwm-optin >/dev/null
pw_stop
export DD_WATCHER_DOCKER_WATCHBYDEFAULT=false
pw_start DD_POLL_INTERVAL=3600 AGENT_NAME="$agent_name" \
    DD_WATCHER_DOCKER_WATCHBYDEFAULT=false || { fail "portwingd starts"; exit 1; }
check "inventory ready (WATCHBYDEFAULT=false)" wait_inventory
TAP_PREFIX="WATCHBYDEFAULT=false: " tap_run $PY "$here/ddmodel.py" compare "$DOCKER_SOCK" "$agent_name" "$PW_PORT" "$PW_TOKEN" 8
n=$(names)
check "WATCHBYDEFAULT=false: only the dd.watch=true ones ($n)" \
    [ "$n" = "pwm-labels pwm-optin" ]
pw_stop
unset DD_WATCHER_DOCKER_WATCHBYDEFAULT

# ---- 4. An image with RepoDigests: pushed, under two repositories, to a
# registry on loopback (miniregistry.py), so no network is needed.
$PY "$here/miniregistry.py" "$PW_TMP/reg.port" &
reg_pid=$!
for i in $(seq 1 50); do [ -s "$PW_TMP/reg.port" ] && break; sleep 0.1; done
rp=$(cat "$PW_TMP/reg.port" 2>/dev/null)
ref1=127.0.0.1:$rp/dd/pushed:1.0 ref2=127.0.0.1:$rp/other/copy:2.0
pushed="$ref1 $ref2"
D commit -c 'LABEL pwm.pushed=1' pwm-env "$ref1" >/dev/null &&
    D tag "$ref1" "$ref2" &&
    D push -q "$ref1" >/dev/null 2>&1 && D push -q "$ref2" >/dev/null 2>&1
rds=$(D image inspect -f '{{range .RepoDigests}}{{.}} {{end}}' "$ref1")
check "the pushed image has two RepoDigests ($rds)" [ "$(echo $rds | wc -w)" -eq 2 ]
D run -d --name pwm-pushed "$ref1" sleep 300 >/dev/null
pw_start DD_POLL_INTERVAL=3600 AGENT_NAME="$agent_name" || { fail "portwingd starts"; exit 1; }
check "inventory ready (pushed image)" wait_inventory
TAP_PREFIX="pushed: " tap_run $PY "$here/ddmodel.py" compare "$DOCKER_SOCK" "$agent_name" "$PW_PORT" "$PW_TOKEN" 8
mine=$(echo $rds | tr ' ' '\n' | grep "/dd/pushed@" | sed 's/.*@//')
pw_curl "$(pw_url /api/containers)" >"$PW_TMP/list2.json"
tap_run $PY - "$PW_TMP/list2.json" "$mine" <<'PY'
import json, sys
by = {c["name"]: c for c in json.load(open(sys.argv[1]))}
img = by.get("pwm-pushed", {}).get("image", {})
d = img.get("digest", {})
ok = (img.get("isLocalImage") is False and d.get("repoDigests") == [sys.argv[2]]
      and d.get("repo") == sys.argv[2] and d.get("value") == sys.argv[2])
print(("ok - " if ok else "not ok - ") + "pushed image: isLocalImage false, "
      "repoDigests only its own repository's digest, repo = value = it" +
      ("" if ok else ": got " + json.dumps(img)))
PY
pw_stop
out=$(env -i PATH="$PATH" TOKEN=x DOCKER_SOCKET="$DOCKER_SOCK" \
    DD_WATCHER_DOCKER_WATCHALL=maybe "${PW_DAEMON:-$PW_BUILD/portwingd}" -n 2>&1); rc=$?
check "DD_WATCHER_DOCKER_WATCHALL=maybe refuses to start ($out)" \
    bash -c "[ $rc = 1 ] && echo \"\$1\" | grep -q 'DD_WATCHER_DOCKER_WATCHALL'" _ "$out"
pw_done
