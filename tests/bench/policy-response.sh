#!/bin/bash
# policy-response.sh BUILD_DIR [POLICY]: the policy section of run.sh on
# its own (GET /_ping and GET /containers/json with 20 running containers,
# wrk -t2 -c64, policy off and on alternated twice), to compare response
# filtering settings: POLICY is a preset name or a file (default
# portwing; a file without the preset's response keys measures
# sockguard's default redactions on the list).  Private engine in
# /tmp/pw-dockerd-respbench, logs in /tmp/pw-respbench.  Needs root.
set -u
here=$(cd "$(dirname "$0")" && pwd)
build=$(cd "${1:-build}" && pwd)
pol=${2:-portwing}
dur=${BENCH_DURATION:-10}
export PW_BUILD=$build PW_DOCKER_DIR=/tmp/pw-dockerd-respbench PW_TMP=/tmp/pw-respbench
mkdir -p "$PW_TMP"
. "$here/../regress/lib.sh"
set +e
names=$(seq -f pwrb-%g 1 20)
pw_dockerd_start || exit 1
trap 'pw_stop; pw_docker_direct rm -f $names >/dev/null 2>&1; pw_dockerd_stop' EXIT
pw_image
pw_docker_direct rm -f $names >/dev/null 2>&1
for n in $names; do
	pw_docker_direct run -d --name "$n" --network none "$PW_IMAGE" sleep 3600 >/dev/null
done
pw_ensure_user
for t in policy-off policy-on policy-off policy-on; do
	if [ $t = policy-on ]; then
		pw_start WORKERS=2 MAX_CONNECTIONS_PER_ADDRESS=0 POLICY="$pol"
	else
		pw_start WORKERS=2 MAX_CONNECTIONS_PER_ADDRESS=0
	fi
	for path in /_ping /containers/json; do
		url=http://127.0.0.1:$PW_PORT$path
		wrk -t2 -c64 -d2s -H "Authorization: Bearer $PW_TOKEN" "$url" >/dev/null 2>&1
		r=$(wrk -t2 -c64 -d"${dur}s" --latency -H "Authorization: Bearer $PW_TOKEN" "$url" 2>&1)
		echo "$t $path req/s $(echo "$r" | awk '/Requests\/sec/{print $2}')" \
		    "p50 $(echo "$r" | awk '$1=="50%"{print $2}')" \
		    "p99 $(echo "$r" | awk '$1=="99%"{print $2}')" \
		    "$(echo "$r" | grep -E 'Non-2xx|Socket errors' | tr '\n' ' ')"
	done
	pw_stop
done
