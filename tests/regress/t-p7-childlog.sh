#!/bin/bash
# t-p7-childlog.sh (issue 9, finding 7): no sandboxed child holds a
# descriptor to the daemon's log or to an AUDIT_LOG=stdout|stderr sink;
# children send their log lines to the master, which writes each under the
# sender's name with control characters made visible, so a compromised
# worker cannot forge a line that reads as the master's.  A flooding
# worker is rate-limited and the master keeps serving.
. "$(dirname "$0")/lib.sh"
trap pw_stop EXIT
PW_DAEMON=$PW_BUILD/portwingd-hooks

# Every descriptor of every child: none may be the log file (which is the
# master's stdout and stderr) or the master's stdin.
fd_check() {	# $1: label
	local p f t logid bad n=0
	logid=$(stat -Lc '%d:%i' "$PW_LOG")
	for p in $(pw_children worker) $(pw_children authd) $(pw_children proxy); do
		bad=
		for f in /proc/$p/fd/*; do
			t=$(stat -Lc '%d:%i' "$f" 2>/dev/null) || continue
			[ "$t" = "$logid" ] && bad="$bad ${f##*/}"
		done
		n=$((n + 1))
		check "$1: child $p holds no descriptor to the log [${bad# }]" [ -z "$bad" ]
		check "$1: child $p: descriptors 0-2 are /dev/null" bash -c \
		    "[ \"\$(readlink /proc/$p/fd/0)\" = /dev/null ] && [ \"\$(readlink /proc/$p/fd/1)\" = /dev/null ] && [ \"\$(readlink /proc/$p/fd/2)\" = /dev/null ]"
	done
	check "$1: four children looked at ($n)" [ "$n" = 4 ]
}

for sink in stderr stdout; do
	pw_start AUDIT_LOG=$sink || { fail "portwingd starts with AUDIT_LOG=$sink"; exit 1; }
	fd_check "AUDIT_LOG=$sink"
	pw_curl -o /dev/null "$(pw_url /_ping)"
	sleep 0.5
	check "AUDIT_LOG=$sink: the audit line reaches the master's $sink" \
	    grep -q '"event":"api_request".*"hash":"' "$PW_LOG"
	check "AUDIT_LOG=$sink: children's log lines still reach the log" \
	    grep -Eq ' (proxy|authd|worker\[[01]\]): (info|debug|warn)' "$PW_LOG"
	pw_stop
done

# A worker that forges a master line, through its logger and directly.
pw_start || { fail "portwingd-hooks starts"; exit 1; }
out=$(curl -s -m 5 -o /dev/null -w '%{http_code}' "$(pw_url /__test/log)")
check "/__test/log answered ($out)" [ "$out" = 500 ]
sleep 0.5
workers=$(pw_children worker | tr '\n' '|')
line=$(grep 'test-forge' "$PW_LOG")
echo "# $line"
check "the forged text is on one line" [ "$(grep -c 'forged-by-worker' "$PW_LOG")" = 1 ]
check "that line is the worker's (prefix and pid from the master)" \
    bash -c "grep 'forged-by-worker' '$PW_LOG' | grep -Eq '^[^ ]+ portwingd\[(${workers%|})\] worker\[[01]\]: info: test-forge\\\\x0a.*\\\\x0d$'"
check "no line starts as the master's forged one" \
    bash -c "! grep -q '^[^ ]* portwingd\[1\] master: info: forged' '$PW_LOG'"
check "direct writes to descriptors 1 and 2 reach nothing" \
    bash -c "! grep -q 'forged-direct' '$PW_LOG'"

# A flood: bounded and reported, and the master keeps serving.
out=$(curl -s -m 10 -o /dev/null -w '%{http_code}' "$(pw_url /__test/logflood)")
check "/__test/logflood answered ($out)" [ "$out" = 500 ]
sleep 0.5
n=$(grep -c 'test-flood' "$PW_LOG")
check "the flood was cut to the burst and rate ($n of 20000 lines)" [ "$n" -lt 1000 ]
sleep 1.5
check "the master reported the dropped lines (within a second)" grep -Eq 'master: warn: worker\[[01]\] \(pid [0-9]+\): [0-9]+ log line\(s\) dropped' "$PW_LOG"
check "service continues after the flood" [ "$(pw_curl "$(pw_url /_ping)")" = OK ]
pw_done
