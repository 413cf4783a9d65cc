#!/bin/bash
# t-dockeragent.sh: ADAPTER=dockeragent against the real Docker Engine,
# checked against the dockeragent API's contract: /health (and its 503
# when Docker is unreachable), the API key as X-API-Key or Bearer, the
# JSON error envelope, 100 requests a minute per address, the 10 MB body
# limit, creating containers (validation, every field against docker
# inspect), listing, inspecting, stopping (timeout, signal), removing,
# logs (lines, tail, since, until, timestamps, SSE follow), host file
# writes (refused without HOST_FILES_ROOT; written under it), and the
# settings dockeragent users bring along (API_KEY, LISTEN_ADDR,
# DOCKER_API_VERSION, any case of ADAPTER).  The checks themselves are
# in dagent_check.py, one section per run.
#
# DA_SECTIONS picks sections (default: all):
#   config     settings and aliases, an agent without Docker
#   api        /health, keys, envelopes, routes left to Docker, files off
#   lifecycle  list, inspect, stop, remove
#   create     POST /api/v1/containers
#   limits     rate limit, body limit
#   logs       logs and follow
#   files      POST /api/v1/files with HOST_FILES_ROOT set
# e.g. DA_SECTIONS="api logs" tests/regress/run.sh t-dockeragent.sh.
. "$(dirname "$0")/lib.sh"
here=$(cd "$(dirname "$0")" && pwd)
D() { pw_docker_direct "$@"; }
P=pwda$$
all_sections="config api lifecycle create limits logs files"
DA_SECTIONS=${DA_SECTIONS:-$all_sections}
[ "$DA_SECTIONS" != all ] || DA_SECTIONS=$all_sections
want() { case " $DA_SECTIONS " in *" $1 "*) return 0 ;; esac; return 1; }
for s in $DA_SECTIONS; do
	case " $all_sections " in
	*" $s "*) ;;
	*) fail "DA_SECTIONS names an unknown section: $s"; exit 1 ;;
	esac
done
da_pid=
t0=$(date +%s)

da_stop() {
	[ -n "$da_pid" ] || return 0
	kill -TERM "$da_pid" 2>/dev/null
	for _ in $(seq 1 150); do
		kill -0 "$da_pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL "$da_pid" 2>/dev/null
	wait "$da_pid" 2>/dev/null
	da_pid=
}
cleanup() {
	da_stop
	pw_stop
	local ids
	ids=$( { D ps -aq --filter "name=$P-"; D ps -aq --filter "label=pwda=$P"; } 2>/dev/null | sort -u)
	[ -z "$ids" ] || D rm -f -v $ids >/dev/null 2>&1
	D network rm "$P-net" "$P-lnet" >/dev/null 2>&1
	D volume rm "$P-vol" >/dev/null 2>&1
	rm -rf /tmp/"$P"-* /etc/"$P" /etc/"$P"-dd
}
trap cleanup EXIT
py() { /usr/bin/python3 "$here/dagent_check.py" "$@"; }

# da_start ENV...: portwingd with exactly these settings (no PORT, TOKEN
# or BIND_ADDRESS unless given), waited for like pw_start.
da_start() {
	DA_LOG=$(mktemp --suffix=.log "$PW_TMP/portwingd.da.XXXXXX")
	env -i PATH="$PATH" HOME=/root DOCKER_SOCKET="$DOCKER_SOCK" WORKERS=2 \
	    ${ASAN_OPTIONS:+ASAN_OPTIONS="$ASAN_OPTIONS"} \
	    ${UBSAN_OPTIONS:+UBSAN_OPTIONS="$UBSAN_OPTIONS"} \
	    LOG_LEVEL=info "$@" "$PW_BUILD/portwingd" >>"$DA_LOG" 2>&1 &
	da_pid=$!
	for _ in $(seq 1 200); do
		if grep -Eq 'master: info: ready|"proc":"master".*"msg":"ready' \
		    "$DA_LOG" 2>/dev/null; then
			return 0
		fi
		kill -0 "$da_pid" 2>/dev/null || break
		sleep 0.05
	done
	echo "# portwingd ($*) did not become ready; log:"
	tail -10 "$DA_LOG" | sed 's/^/#   /'
	da_stop
	return 1
}

if want config; then
	# Any case selects the adapter.
	if pw_start ADAPTER=DockerAgent; then
		TAP_PREFIX="ADAPTER=DockerAgent: " tap_run py alias "$PW_PORT" "$PW_TOKEN"
		pw_stop
	else
		fail "portwingd starts with ADAPTER=DockerAgent"
	fi
	# dockeragent's names for the settings: API_KEY for TOKEN...
	key=k-$P-$(head -c 8 /dev/urandom | od -An -tx1 | tr -d ' \n')
	port=$(pw_free_port)
	if da_start ADAPTER=dockeragent API_KEY="$key" PORT="$port" \
	    BIND_ADDRESS=127.0.0.1; then
		TAP_PREFIX="API_KEY: " tap_run py alias "$port" "$key"
		da_stop
	else
		fail "portwingd starts with API_KEY (no TOKEN)"
	fi
	# ...LISTEN_ADDR for BIND_ADDRESS and PORT.
	port=$(pw_free_port)
	if da_start ADAPTER=dockeragent TOKEN="$key" \
	    LISTEN_ADDR="127.0.0.1:$port"; then
		TAP_PREFIX="LISTEN_ADDR: " tap_run py alias "$port" "$key"
		da_stop
	else
		fail "portwingd starts with LISTEN_ADDR=127.0.0.1:$port"
	fi
	# Only dockeragent's settings, as its users would set them.
	api=$(D version -f '{{.Server.APIVersion}}' 2>/dev/null)
	port=$(pw_free_port)
	if da_start ADAPTER=dockeragent API_KEY="$key" \
	    LISTEN_ADDR="127.0.0.1:$port" DOCKER_API_VERSION="$api"; then
		TAP_PREFIX="API_KEY, LISTEN_ADDR, DOCKER_API_VERSION=$api: " \
		    tap_run py apiversion "$port" "$key" "$api" "$DOCKER_SOCK"
		da_stop
	else
		fail "portwingd starts with API_KEY, LISTEN_ADDR and DOCKER_API_VERSION=$api"
	fi
	# DOCKER_API_VERSION is the version of the agent's own calls.
	if pw_start ADAPTER=dockeragent DOCKER_API_VERSION=1.44; then
		TAP_PREFIX="DOCKER_API_VERSION=1.44: " \
		    tap_run py apiversion "$PW_PORT" "$PW_TOKEN" 1.44 "$DOCKER_SOCK"
		pw_stop
	else
		fail "portwingd starts with DOCKER_API_VERSION=1.44"
	fi
	# No Docker: the agent starts and says so on /health.
	if pw_start ADAPTER=dockeragent DOCKER_SOCKET=/nonexistent.sock; then
		TAP_PREFIX="no Docker: " tap_run py degraded "$PW_PORT" "$PW_TOKEN"
		pw_stop
	else
		fail "portwingd starts with DOCKER_SOCKET=/nonexistent.sock"
	fi
fi

main=
for s in api lifecycle create limits logs; do
	want $s && main="$main $s"
done
if [ -n "$main" ]; then
	if pw_start ADAPTER=dockeragent; then
		for s in $main; do
			echo "# section $s"
			TAP_PREFIX="$s: " tap_run py "$s" "$PW_PORT" "$PW_TOKEN" \
			    "$DOCKER_SOCK" "$PW_IMAGE" "$P"
		done
		check "portwingd is still running" kill -0 "$PW_PID"
		pw_stop
	else
		fail "portwingd starts with ADAPTER=dockeragent"
	fi
fi

if want files; then
	# The test build, whose filed can be told to climb out of its root.
	root=/tmp/$P-root
	mkdir -p "$root"
	if PW_DAEMON=$PW_BUILD/portwingd-hooks pw_start ADAPTER=dockeragent \
	    HOST_FILES_ROOT="$root" AUDIT_BUFFER_SIZE=2000; then
		check "a filed process runs (portwingd: filed)" \
		    pgrep -P "$PW_PID" -f "^portwingd: filed" >/dev/null
		TAP_PREFIX="files: " tap_run py files "$PW_PORT" "$PW_TOKEN" \
		    "$DOCKER_SOCK" "$PW_IMAGE" "$P" "$root"
		TAP_PREFIX="files: " tap_run py fileshooks "$PW_PORT" \
		    "$PW_TOKEN" "$DOCKER_SOCK" "$PW_IMAGE" "$P" "$root"
		pw_stop
	else
		fail "portwingd starts with HOST_FILES_ROOT=$root"
	fi
	root=/tmp/$P-allow
	mkdir -p "$root"
	if pw_start ADAPTER=dockeragent HOST_FILES_ROOT="$root" \
	    HOST_FILES_ALLOW="/srv/app, /etc/app.d/,/opt/one.conf"; then
		TAP_PREFIX="files: " tap_run py filesallow "$PW_PORT" \
		    "$PW_TOKEN" "$DOCKER_SOCK" "$PW_IMAGE" "$P" "$root"
		pw_stop
	else
		fail "portwingd starts with HOST_FILES_ALLOW"
	fi
	# Settings refused at start, with the reason.
	has() { case "$2" in *"$1"*) return 0 ;; esac; echo "# got: $2"; return 1; }
	out=$(env TOKEN=abcdefghijklmnopqrstuvwxyz123456 HOST_FILES_ROOT=/tmp \
	    "$PW_BUILD/portwingd" -n 2>&1) || true
	check "HOST_FILES_ROOT without ADAPTER=dockeragent: refused" \
	    has "set ADAPTER=dockeragent" "$out"
	out=$(env TOKEN=abcdefghijklmnopqrstuvwxyz123456 ADAPTER=dockeragent \
	    HOST_FILES_ROOT=/tmp/$P-none "$PW_BUILD/portwingd" -n 2>&1) || true
	check "HOST_FILES_ROOT that does not exist: refused" \
	    has "HOST_FILES_ROOT /tmp/$P-none (env): No such file or directory" "$out"
	out=$(env TOKEN=abcdefghijklmnopqrstuvwxyz123456 ADAPTER=dockeragent \
	    HOST_FILES_ROOT=/etc/hostname "$PW_BUILD/portwingd" -n 2>&1) || true
	check "HOST_FILES_ROOT that is a file: refused" \
	    has "not a directory" "$out"
	out=$(env TOKEN=abcdefghijklmnopqrstuvwxyz123456 ADAPTER=dockeragent \
	    HOST_FILES_ROOT=/tmp HOST_FILES_ALLOW=/a/../b \
	    "$PW_BUILD/portwingd" -n 2>&1) || true
	check "HOST_FILES_ALLOW with ..: refused" \
	    has 'HOST_FILES_ALLOW (env): "/a/../b" must be an absolute path' "$out"
	out=$(env TOKEN=abcdefghijklmnopqrstuvwxyz123456 \
	    HOST_FILES_ALLOW=/a "$PW_BUILD/portwingd" -n 2>&1) || true
	check "HOST_FILES_ALLOW without HOST_FILES_ROOT: refused" \
	    has "HOST_FILES_ALLOW (env) without HOST_FILES_ROOT" "$out"
	rm -rf "/tmp/$P-root" "/tmp/$P-allow" "/tmp/$P-outside"
fi
echo "# t-dockeragent: $(($(date +%s) - t0)) s (sections: $DA_SECTIONS)"
pw_done
