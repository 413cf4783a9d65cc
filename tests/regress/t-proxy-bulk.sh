#!/bin/bash
# t-proxy-bulk.sh: large bodies in both directions, against an upstream
# that reads slowly and a client that reads slowly, so flow control stops
# and resumes every leg many times and a body's last bytes wait in a
# buffer after the sender has gone quiet.  Every byte must arrive, in
# order, and the request must end.
. "$(dirname "$0")/lib.sh"
here=$(cd "$(dirname "$0")" && pwd)
up=$PW_TMP/slowup.$$.sock
python3 "$here/slowup.py" "$up" &
up_pid=$!
trap 'pw_stop; kill $up_pid 2>/dev/null; rm -f "$up" "$PW_TMP"/bulk.$$.*' EXIT
for _ in $(seq 1 50); do [ -S "$up" ] && break; sleep 0.1; done
pw_start DOCKER_SOCKET="$up" REQUEST_TIMEOUT=120 || { fail "portwingd starts"; exit 1; }

f=$PW_TMP/bulk.$$.in
head -c $((24 * 1024 * 1024)) /dev/urandom >"$f"
want=$(sha256sum "$f" | cut -d' ' -f1)

# Upload with Content-Length to a reader taking 16 KiB every 2 ms.
out=$(curl -s -m 120 -X PUT -H "Authorization: Bearer $PW_TOKEN" \
    -H 'Content-Type: application/x-tar' -T "$f" \
    "http://127.0.0.1:$PW_PORT/slow/sink?pause_ms=2")
check "24 MiB upload (Content-Length) to a slow reader arrives whole ($out)" \
    [ "$out" = "{\"sha256\": \"$want\", \"bytes\": 25165824}" ]

# The same body chunked, as docker cp and docker load send it.
out=$(curl -s -m 120 -X PUT -H "Authorization: Bearer $PW_TOKEN" \
    -H 'Transfer-Encoding: chunked' -T - \
    "http://127.0.0.1:$PW_PORT/slow/sink?pause_ms=2" <"$f")
check "24 MiB chunked upload to a slow reader arrives whole ($out)" \
    [ "$out" = "{\"sha256\": \"$want\", \"bytes\": 25165824}" ]

# Downloads, fixed length and chunked, to a client reading at 16 MB/s.
for mode in 0 1; do
	curl -s -m 120 --limit-rate 16M -D "$PW_TMP/bulk.$$.hdr" \
	    -o "$PW_TMP/bulk.$$.out" -H "Authorization: Bearer $PW_TOKEN" \
	    "http://127.0.0.1:$PW_PORT/slow/source?mib=48&chunked=$mode"
	sent=$(tr -d '\r' <"$PW_TMP/bulk.$$.hdr" | awk -F': ' 'tolower($1) == "x-sha256" {print $2}')
	got=$(sha256sum "$PW_TMP/bulk.$$.out" | cut -d' ' -f1)
	size=$(stat -c %s "$PW_TMP/bulk.$$.out")
	check "48 MiB download (chunked=$mode) to a slow client arrives whole ($size bytes)" \
	    [ -n "$sent" ] && [ "$sent" = "$got" ] && [ "$size" = 50331648 ]
done

# Both directions again on one keep-alive connection, then a small call:
# nothing of the bulk requests is left over in the legs.
codes=$(curl -s -m 120 -o /dev/null -w '%{http_code} ' \
    -H "Authorization: Bearer $PW_TOKEN" -X PUT -T "$f" \
    "http://127.0.0.1:$PW_PORT/slow/sink?pause_ms=1" \
    --next -o /dev/null -w '%{http_code} ' -H "Authorization: Bearer $PW_TOKEN" \
    "http://127.0.0.1:$PW_PORT/slow/source?mib=16" \
    --next -w '%{http_code}' -H "Authorization: Bearer $PW_TOKEN" \
    "http://127.0.0.1:$PW_PORT/_ping")
check "upload, download and /_ping in turn on one connection ($codes)" \
    [ "$codes" = "200 200 OK200" ]
pw_done
