#!/bin/bash
# systemd.sh: the .deb installed into a booted Debian 12 system.
# A debootstrap root (cached, tests/package/lib.sh) runs in the test
# dockerd with systemd as PID 1, the host's network and the test dockerd's
# socket as its /run/docker.sock.  apt installs the package there; the
# checks talk to the agent from outside the guest, on 127.0.0.1.
# Needs PKG_DEB (the .deb); run by tests/package/run.sh.
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../regress/lib.sh"
. "$here/lib.sh"

GUEST=pw-pkgtest-$$
SYS_IMAGE=pw-pkgtest-systemd
D() { docker -H "unix://$DOCKER_SOCK" "$@"; }
# g CMD...: run CMD in the guest (stdin passed on).
g() { D exec -i -e DEBIAN_FRONTEND=noninteractive "$GUEST" "$@"; }
# Every portwingd process of the guest, "PID TITLE" a line.
g_procs() {
	g sh -c 'for p in /proc/[0-9]*; do
	    t=$(tr "\0" " " <$p/cmdline 2>/dev/null)
	    case $t in portwingd*|/usr/sbin/portwingd*) echo "${p#/proc/} $t";;
	    esac; done'
}
now() { date +%s.%N; }
not() { ! "$@"; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.1f", b - a}'; }

logs_pid=
bb=
cleanup() {
	[ -z "$logs_pid" ] || kill "$logs_pid" 2>/dev/null
	[ -z "$bb" ] || D rm -f "$bb" >/dev/null 2>&1
	if [ -n "${PKG_KEEP:-}" ]; then
		echo "# PKG_KEEP: guest $GUEST left running"
	else
		D rm -f "$GUEST" >/dev/null 2>&1
		rm -rf "$PW_TMP"
	fi
}
trap cleanup EXIT

[ -f "${PKG_DEB:-}" ] || { fail "PKG_DEB names a .deb (got '${PKG_DEB:-}')"; exit 1; }
pw_dockerd_start || { fail "test dockerd starts"; exit 1; }
pw_image || { fail "busybox test image"; exit 1; }
t0=$(now)
pkg_import "$SYS_IMAGE" systemd,systemd-sysv,curl ||
    { fail "Debian 12 root with systemd imported"; exit 1; }
echo "# time: root file system ready in $(secs "$t0" "$(now)") s"

# ---- boot ----
t0=$(now)
D run -d --name "$GUEST" --cap-add SYS_ADMIN \
    --security-opt seccomp=unconfined --security-opt apparmor=unconfined \
    -v /sys/fs/cgroup:/sys/fs/cgroup:ro --network host \
    --tmpfs /run --tmpfs /run/lock -e container=docker \
    -v "$DOCKER_SOCK:/run/docker.sock" \
    "$SYS_IMAGE" /lib/systemd/systemd >/dev/null ||
    { fail "guest container starts"; exit 1; }
state=
for _ in $(seq 1 300); do
	state=$(g systemctl is-system-running 2>/dev/null)
	case $state in running|degraded) break ;; esac
	sleep 0.1
done
echo "# time: booted to '$state' in $(secs "$t0" "$(now)") s"
check "guest boots: systemctl is-system-running = running ($state)" \
    [ "$state" = running ]
[ "$state" = running ] || [ "$state" = degraded ] ||
    { g systemctl --failed --no-pager | sed 's/^/#   /'; exit 1; }
[ "$state" = running ] || g systemctl --failed --no-pager | sed 's/^/#   /'
check "guest: the test dockerd's socket is /run/docker.sock" \
    [ "$(g curl -s -m 5 --unix-socket /run/docker.sock http://d/_ping)" = OK ]

# The port: a free one on the shared network, set in drop-ins (an
# operator's way; the package's conffile stays as shipped).
PW_PORT=$(pw_free_port)
g sh -c "mkdir -p /etc/systemd/system/portwing.service.d \
    /etc/systemd/system/portwing.socket.d
printf '[Service]\nEnvironment=PORT=$PW_PORT BIND_ADDRESS=127.0.0.1\n' \
    >/etc/systemd/system/portwing.service.d/test.conf
printf '[Socket]\nListenStream=\nListenStream=127.0.0.1:$PW_PORT\n' \
    >/etc/systemd/system/portwing.socket.d/test.conf"

# ---- install ----
t0=$(now)
D cp "$PKG_DEB" "$GUEST:/tmp/" || { fail "docker cp the .deb"; exit 1; }
deb=/tmp/$(basename "$PKG_DEB")
g apt-get update -qq >"$PW_TMP/apt-update.log" 2>&1 ||
    { fail "apt-get update in the guest"; sed 's/^/#   /' "$PW_TMP/apt-update.log"; exit 1; }
g apt-get install -y -q "$deb" </dev/null >"$PW_TMP/install.log" 2>&1
rc=$?
echo "# time: apt-get update and install in $(secs "$t0" "$(now)") s"
check "apt-get install ./$(basename "$PKG_DEB") succeeds (rc $rc)" [ $rc -eq 0 ]
[ $rc -eq 0 ] || { tail -20 "$PW_TMP/install.log" | sed 's/^/#   /'; exit 1; }
tokfile=/etc/portwing/token
check "the install says where the token is ($tokfile)" \
    grep -q "$tokfile" "$PW_TMP/install.log"
grep -A4 "$tokfile" "$PW_TMP/install.log" | head -5 | sed 's/^/#   | /'
check "portwing is active after install" \
    [ "$(g systemctl is-active portwing)" = active ]
check "portwing is enabled" [ "$(g systemctl is-enabled portwing)" = enabled ]
check "portwing.socket is not enabled by the package" \
    [ "$(g systemctl is-enabled portwing.socket)" = disabled ]
check "the system is still running" \
    [ "$(g systemctl is-system-running)" = running ]
perm=$(g stat -c '%a %U %G' $tokfile /etc/portwing /etc/portwing/portwing.conf | tr '\n' ,)
check "token 0600, /etc/portwing 0700, conffile 0600, all root ($perm)" \
    [ "$perm" = "600 root root,700 root root,600 root root," ]
check "the portwing system user exists" g getent passwd portwing >/dev/null
PW_TOKEN=$(g cat $tokfile | tr -d '\n')
check "the token is not empty and has 64 hex digits" \
    bash -c "[[ '$PW_TOKEN' =~ ^[0-9a-f]{64}$ ]]"
check "the token is not in the install output" \
    not grep -qF "$PW_TOKEN" "$PW_TMP/install.log"
g_procs >"$PW_TMP/procs.txt"
check "portwingd runs (master and children: $(wc -l <"$PW_TMP/procs.txt"))" \
    [ "$(wc -l <"$PW_TMP/procs.txt")" -ge 4 ]
check "no token on any portwingd command line" \
    not grep -qF "$PW_TOKEN" "$PW_TMP/procs.txt"

# ---- the agent from outside the guest ----
code() { curl -s -m 10 -o /dev/null -w '%{http_code}' \
    ${1:+-H "Authorization: Bearer $1"} "http://127.0.0.1:$PW_PORT$2"; }
wait_code() {	# wait_code WANT TOKEN PATH: up to 10 s
	local c
	for _ in $(seq 1 100); do
		c=$(code "$2" "$3")
		[ "$c" = "$1" ] && return 0
		sleep 0.1
	done
	echo "# $3 with that token: $c, not $1" >&2
	return 1
}
check "/_portwing/health with the printed token: 200" wait_code 200 "$PW_TOKEN" /_portwing/health
check "/_ping without a token: 401" [ "$(code "" /_ping)" = 401 ]
check "/_ping with a wrong token: 401" [ "$(code wrong-token /_ping)" = 401 ]
v=$(pw_docker version --format '{{.Server.Version}}' 2>&1)
check "docker version through the agent ($v)" \
    [ "$v" = "$(D version --format '{{.Server.Version}}')" ]

# ---- compose under the unit's hardening ----
# STACKS_DIR as portwing.conf suggests, docker-compose from Debian: the
# composer writes the stack and runs compose, which reaches Docker
# through the agent, inside ProtectSystem=strict, PrivateTmp and the
# unit's system call filter.
t0=$(now)
g apt-get install -y -q --no-install-recommends docker-compose </dev/null \
    >"$PW_TMP/compose-install.log" 2>&1
rc=$?
echo "# time: docker-compose installed in the guest in $(secs "$t0" "$(now)") s"
check "apt-get install docker-compose in the guest (rc $rc)" [ $rc -eq 0 ]
check "the package made /var/lib/portwing-stacks, 0750, portwing's" \
    [ "$(g stat -c '%a %U' /var/lib/portwing-stacks)" = "750 portwing" ]
g sh -c "printf '[Service]\nEnvironment=STACKS_DIR=/var/lib/portwing-stacks\n' \
    >/etc/systemd/system/portwing.service.d/compose.conf
systemctl daemon-reload && systemctl restart portwing"
check "with STACKS_DIR the agent serves again" wait_code 200 "$PW_TOKEN" /_portwing/health
compose() {
	curl -s -m 120 -H "Authorization: Bearer $PW_TOKEN" \
	    -H 'Content-Type: application/json' -d "$1" \
	    "http://127.0.0.1:$PW_PORT/_portwing/compose"
}
proj=pkg$$
yaml="services:\\n  s:\\n    image: $PW_IMAGE\\n    command: [\\\"sleep\\\", \\\"3600\\\"]\\n"
out=$(compose "{\"operation\":\"up\",\"stackName\":\"$proj\",\"files\":{\"compose.yaml\":\"$yaml\"}}")
check "compose up through the installed agent: success" \
    bash -c "echo \"\$1\" | grep -q '\"success\":true'" _ "$out"
echo "$out" | head -c 300 | sed 's/^/#   | /'; echo
n=$(D ps -q --filter "label=com.docker.compose.project=$proj" | wc -l)
check "... its container runs ($n)" [ "$n" = 1 ]
check "... the stack file is 0600, portwing's" \
    [ "$(g stat -c '%a %U' /var/lib/portwing-stacks/$proj/compose.yaml)" = "600 portwing" ]
a=$(curl -s -m 10 -H "Authorization: Bearer $PW_TOKEN" \
    "http://127.0.0.1:$PW_PORT/_portwing/audit?limit=200")
check "... compose's Docker calls are in the audit trail as principal compose" \
    bash -c "echo \"\$1\" | grep -q '\"principal\":\"compose\"'" _ "$a"
out=$(compose "{\"operation\":\"down\",\"stackName\":\"$proj\"}")
check "compose down: success" bash -c "echo \"\$1\" | grep -q '\"success\":true'" _ "$out"
n=$(D ps -aq --filter "label=com.docker.compose.project=$proj" | wc -l)
check "... and its container is gone ($n)" [ "$n" = 0 ]
check "no composer died of its sandbox" \
    not g sh -c "journalctl -u portwing --no-pager | grep -q 'composer killed by signal'"

# ---- reload rotates the token; an open stream survives ----
bb=$(D run -d "$PW_IMAGE" sh -c 'i=0; while :; do i=$((i+1)); echo tick $i; sleep 0.2; done')
pw_docker logs -f "$bb" >"$PW_TMP/logs-f.out" 2>&1 &
logs_pid=$!
sleep 1
lines0=$(wc -l <"$PW_TMP/logs-f.out")
old=$PW_TOKEN
new=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
pid0=$(g systemctl show -p MainPID --value portwing)
echo "$new" | g sh -c "cat >$tokfile.new && mv $tokfile.new $tokfile"
check "systemctl reload portwing succeeds" g systemctl reload portwing
check "after the reload the new token gets 200" wait_code 200 "$new" /_portwing/health
check "after the reload the old token gets 401" [ "$(code "$old" /_ping)" = 401 ]
check "the reload did not restart the service" \
    [ "$(g systemctl show -p MainPID --value portwing)" = "$pid0" ]
sleep 1
lines1=$(wc -l <"$PW_TMP/logs-f.out")
check "docker logs -f opened before the reload still runs" kill -0 "$logs_pid"
check "... and still receives lines ($lines0 then $lines1)" [ "$lines1" -gt $((lines0 + 2)) ]
PW_TOKEN=$new

# ---- a refused reload keeps the old settings and says why ----
g sh -c ": >$tokfile"
g systemctl reload portwing
sleep 1
check "after a bad reload (empty token file) portwing is active" \
    [ "$(g systemctl is-active portwing)" = active ]
check "... the running token still gets 200" [ "$(code "$new" /_portwing/health)" = 200 ]
check "... an empty token still gets 401" [ "$(code "" /_ping)" = 401 ]
g systemctl status --no-pager -n 20 portwing >"$PW_TMP/status.txt" 2>&1
check "... systemctl status: Status: says the reload was refused and why" \
    grep -Eq '^ *Status: .*refused.*(credential|token)' "$PW_TMP/status.txt"
grep -E '^ *Status:' "$PW_TMP/status.txt" | sed 's/^ */#   | /'
echo "$new" | g sh -c "cat >$tokfile"

# ---- stop ends every process within TimeoutStopSec ----
limit=$(g systemctl show -p TimeoutStopUSec portwing | sed 's/.*=//')
check "logs -f still open before the stop" kill -0 "$logs_pid"
t0=$(now)
g systemctl stop portwing
took=$(secs "$t0" "$(now)")
echo "# time: systemctl stop with a stream open took $took s (TimeoutStopSec $limit)"
check "systemctl stop: no portwingd process left" [ -z "$(g_procs)" ]
res=$(g systemctl show -p Result --value portwing)
check "systemctl stop: ended by itself, not killed at the timeout (Result=$res)" \
    [ "$res" = success ]
check "systemctl stop: within TimeoutStopSec ($took s, $limit)" \
    awk -v t="$took" -v l="$limit" 'BEGIN {
	if (l ~ /min/) { split(l, a, "min"); s = a[1] * 60 + a[2] + 0 } else s = l + 0
	exit !(t < s) }'
check "the port is closed after the stop" [ "$(code "$new" /_ping)" = 000 ]
kill "$logs_pid" 2>/dev/null
logs_pid=

# ---- socket activation ----
g systemctl start portwing.socket
check "only portwing.socket started: the service is inactive" \
    [ "$(g systemctl is-active portwing)" = inactive ]
check "portwing.socket is listening" \
    [ "$(g systemctl is-active portwing.socket)" = active ]
t0=$(now)
c=$(curl -s -m 20 -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $new" \
    "http://127.0.0.1:$PW_PORT/_portwing/health")
echo "# time: first connection answered in $(secs "$t0" "$(now)") s"
check "the first connection starts the service and is answered (200, got $c)" [ "$c" = 200 ]
check "portwing.service is active after the first connection" \
    [ "$(g systemctl is-active portwing)" = active ]
v=$(PW_TOKEN=$new pw_docker version --format '{{.Server.Version}}' 2>&1)
check "docker version through the socket-activated agent ($v)" \
    [ "$v" = "$(D version --format '{{.Server.Version}}')" ]
g journalctl -u portwing --no-pager -n 30 >"$PW_TMP/journal-sock.txt" 2>&1
check "the socket-activated agent did not bind the port itself" \
    not grep -qi 'address already in use' "$PW_TMP/journal-sock.txt"
g systemctl stop portwing.socket portwing
g systemctl start portwing
check "portwing starts again without the socket unit" wait_code 200 "$new" /_portwing/health

# ---- upgrade keeps the operator's conffile ----
conf=/etc/portwing/portwing.conf
g sh -c "printf '# changed by the operator\nLOG_LEVEL=debug\n' >>$conf"
sum0=$(g sha256sum $conf $tokfile)
pid0=$(g systemctl show -p MainPID --value portwing)
g apt-get install -y -q --reinstall "$deb" </dev/null >"$PW_TMP/upgrade.log" 2>&1
rc=$?
check "installing the same .deb again succeeds (rc $rc)" [ $rc -eq 0 ]
[ $rc -eq 0 ] || tail -20 "$PW_TMP/upgrade.log" | sed 's/^/#   /'
check "... keeps the operator's portwing.conf and the token file" \
    [ "$(g sha256sum $conf $tokfile)" = "$sum0" ]
check "... leaves no .dpkg-dist or .dpkg-new beside it" \
    [ -z "$(g sh -c 'ls /etc/portwing/*.dpkg-* 2>/dev/null')" ]
check "... and restarts the service" \
    [ "$(g systemctl show -p MainPID --value portwing)" != "$pid0" ]
check "... which answers with the kept token" wait_code 200 "$new" /_portwing/health
g journalctl -u portwing --no-pager -n 300 >"$PW_TMP/journal-up.txt" 2>&1
check "... and runs with the operator's setting (LOG_LEVEL=debug)" \
    grep -q ': debug: ' "$PW_TMP/journal-up.txt"

# ---- remove, then purge ----
g apt-get remove -y -q portwing </dev/null >"$PW_TMP/remove.log" 2>&1
check "apt-get remove succeeds" [ $? -eq 0 ]
check "remove: no portwingd process left" [ -z "$(g_procs)" ]
check "remove: the configuration stays" g test -f $conf
g apt-get purge -y -q portwing </dev/null >"$PW_TMP/purge.log" 2>&1
check "apt-get purge succeeds" [ $? -eq 0 ]
for p in /etc/portwing /var/lib/portwing /var/log/portwing; do
	check "purge: $p is gone" g sh -c "[ ! -e $p ]"
done
check "purge: the portwing user is gone" g sh -c '! getent passwd portwing'
check "purge: the portwing group is gone" g sh -c '! getent group portwing'
check "purge: dpkg no longer knows portwing" \
    g sh -c '! dpkg-query -W -f="\${Status}" portwing 2>/dev/null | grep -q .'
pw_done
