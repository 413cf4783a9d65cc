#!/bin/bash
# t-p4-sandbox.sh (P4): every child runs sandboxed (seccomp filter mode,
# no-new-privs, unprivileged ids, chroot, no capabilities and an empty
# bounding set), and a worker that tries to open a file or connect to the
# Docker socket is killed.
. "$(dirname "$0")/lib.sh"
trap pw_stop EXIT
PW_DAEMON=$PW_BUILD/portwingd-hooks
pw_start WORKERS=2 || { fail "portwingd-hooks starts"; exit 1; }
uid=$(id -u portwing)

field() { awk -v k="$2:" '$1 == k {print $2}' "/proc/$1/status"; }
for role in authd proxy worker; do
	for p in $(pw_children $role); do
		check "$role $p: Seccomp 2" [ "$(field $p Seccomp)" = 2 ]
		check "$role $p: NoNewPrivs 1" [ "$(field $p NoNewPrivs)" = 1 ]
		uids=$(awk '$1 == "Uid:" {print $2, $3, $4, $5}' /proc/$p/status)
		check "$role $p: all uids are portwing ($uids)" [ "$uids" = "$uid $uid $uid $uid" ]
		gids=$(awk '$1 == "Gid:" {print $2, $3, $4, $5}' /proc/$p/status)
		check "$role $p: no gid 0 ($gids)" bash -c "! echo ' $gids ' | grep -q ' 0 '"
		check "$role $p: no effective capabilities" [ "$(field $p CapEff)" = 0000000000000000 ]
		for set in CapPrm CapInh CapBnd CapAmb; do
			check "$role $p: $set empty ($(field $p $set))" [ "$(field $p $set)" = 0000000000000000 ]
		done
		check "$role $p: chrooted to an empty directory" [ "$(readlink /proc/$p/root)" = /var/empty/portwing ]
	done
done
check "master runs as root" [ "$(awk '$1 == "Uid:" {print $3}' /proc/$PW_PID/status)" = 0 ]
check "the chroot directory is empty" [ -z "$(ls -A /var/empty/portwing)" ]

# Titles and users as ps shows them.
titles=$(ps -o user=,args= --ppid "$PW_PID" | sort | tr -s ' ' | tr '\n' ';')
check "ps: children with role titles and the portwing user ($titles)" \
    [ "$titles" = "portwing portwingd: authd;portwing portwingd: proxy;portwing portwingd: worker 0;portwing portwingd: worker 1;" ]
check "ps: master title" [ "$(ps -o args= -p "$PW_PID")" = "portwingd: master" ]

# The test build's worker tries to escape on request: it must die (SIGSYS).
for hook in open connect; do
	before=$(pw_children worker | sort | tr '\n' ' ')
	out=$(curl -s -m 5 -w '%{http_code}' "$(pw_url /__test/$hook)")
	check "/__test/$hook: no answer (the worker died), got '$out'" [ "$out" = 000 ]
	sleep 0.5
	check "/__test/$hook: master logged the SIGSYS kill" \
	    grep -q "worker [01] killed by signal 31" "$PW_LOG"
	after=$(pw_children worker | sort | tr '\n' ' ')
	check "/__test/$hook: a new worker replaced it ($before -> $after)" \
	    bash -c "[ '$before' != '$after' ] && [ \$(echo $after | wc -w) = 2 ]"
	: >"$PW_LOG"
done
check "service continues after the kills" [ "$(pw_curl "$(pw_url /_ping)")" = OK ]
pw_done
