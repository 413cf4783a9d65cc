#!/bin/bash
# t-packaging.sh: what `make install` adds for packages (packaging/): the
# systemd units, tmpfiles.d and sysusers.d snippets, the logrotate snippet
# and the default configuration, under DESTDIR.  The shipped configuration
# parses with portwingd's own check (and a broken copy of it does not);
# systemd-analyze verify passes on both units; the unit's exposure score
# stays at or below 3.0; the tmpfiles and sysusers snippets create the
# chroot, state and log directories and the account in a scratch root.
. "$(dirname "$0")/lib.sh"
src=$(cd "$(dirname "$0")/../.." && pwd)
d=$PW_TMP
dest=$d/dest
run() { env -i PATH="$PATH" HOME=/root "$@" 2>&1; }

out=$(make -C "$PW_BUILD" install DESTDIR="$dest" 2>&1); rc=$?
check "make install DESTDIR=... succeeds (rc=$rc)" [ $rc = 0 ]
[ $rc = 0 ] || echo "$out" | tail -5 | sed 's/^/#   /'
sbin=$(find "$dest" -path '*/sbin/portwingd' -type f | head -1)
unitdir=$(dirname "$(find "$dest" -name portwing.service | head -1)")
tmpfiles=$(find "$dest" -path '*/tmpfiles.d/portwing.conf' | head -1)
sysusers=$(find "$dest" -path '*/sysusers.d/portwing.conf' | head -1)
mandir=$(dirname "$(dirname "$(find "$dest" -name portwing.conf.5 | head -1)")")
conf=$dest/etc/portwing/portwing.conf
check "portwingd installed under DESTDIR" [ -x "$sbin" ]
for f in "$unitdir/portwing.service" "$unitdir/portwing.socket" "$tmpfiles" \
    "$sysusers" "$conf" "$mandir/man5/portwing.conf.5" "$mandir/man8/portwingd.8" \
    "$mandir/man1/portwing.1"; do
	check "installed: ${f#$dest}" [ -s "$f" ]
done
check "installed: logrotate snippet" bash -c "ls '$dest'/*etc/logrotate.d/portwing '$dest'/usr/local/etc/logrotate.d/portwing 2>/dev/null | grep -q ."
check "the default configuration is root-only (0600 in a 0700 directory)" \
    bash -c "[ \$(stat -c %a '$conf') = 600 ] && [ \$(stat -c %a '$dest/etc/portwing') = 700 ]"
check "the unit runs the installed portwingd" \
    grep -qx "ExecStart=${sbin#$dest}" "$unitdir/portwing.service"
check "an existing configuration is kept by make install" \
    bash -c "echo '# mine' >> '$conf' && make -C '$PW_BUILD' install DESTDIR='$dest' >/dev/null 2>&1 && tail -1 '$conf' | grep -qx '# mine'"
cp "$src/packaging/portwing.conf" "$conf"

# The shipped configuration, as it is, through portwingd's own check.  Its
# TOKEN_FILE (/etc/portwing/token) is made by the package; here the
# environment points it at a scratch token (the environment wins).
printf '%s\n' 0123456789abcdef0123456789abcdef > "$d/token"
chmod 600 "$d/token"
out=$(run TOKEN_FILE="$d/token" "$sbin" -nv -f "$conf"); rc=$?
check "the shipped portwing.conf passes portwingd -n (rc=$rc)" \
    bash -c "[ $rc = 0 ] && echo \"\$1\" | grep -qx 'configuration OK'" _ "$out"
check "its settings are the ones in force (AUDIT_LOG from the file)" \
    bash -c "echo \"\$1\" | grep -q '^AUDIT_LOG=/var/log/portwing/audit.log.*file:'" _ "$out"
out=$(run "$sbin" -n -f "$conf"); rc=$?
check "without the package's token file it names TOKEN_FILE (rc=$rc)" \
    bash -c "[ $rc = 1 ] && echo \"\$1\" | grep -q 'TOKEN_FILE: /etc/portwing/token'" _ "$out"
# Uncommenting any example line must keep the file valid: every example
# is a real setting with a valid value (those that need key material or
# files of the host aside: LISTEN_MTLS needs TLS_CERT, TLS_KEY and
# MTLS_CLIENT_CA, which t-policy-mtls.sh covers; edge mode needs its key,
# and its settings are refused without it, which t-edge.sh covers).
grep -E '^#[A-Z_]+=' "$conf" | sed 's/^#//' | grep -vE '^(TOKEN|TOKEN_HASH|TOKEN_HASH_FILE|DD_AGENT_SECRET|DD_AGENT_SECRET_FILE|API_KEY|AUTHORIZED_KEYS|AUTHORIZED_KEYS_FILE|ENROLLMENT_TOKEN|ENROLLMENT_TOKEN_FILE|TLS_CERT|TLS_KEY|DOCKER_HOST|TRUSTED_PROXIES|AGENT_ID|AGENT_NAME|POLICY_FILE|TOKEN_POLICY|LISTEN_MTLS|MTLS_CLIENT_CA|DRYDOCK_URL|PRIVATE_KEY_FILE|CA_CERT|TLS_SKIP_VERIFY|HEARTBEAT_INTERVAL|WELCOME_TIMEOUT|RECONNECT_DELAY|MAX_RECONNECT_DELAY)=' > "$d/examples"
cat "$conf" "$d/examples" > "$d/all.conf"
out=$(run TOKEN_FILE="$d/token" "$sbin" -n -f "$d/all.conf"); rc=$?
check "every example default, uncommented, is accepted ($(wc -l < "$d/examples") settings, rc=$rc)" [ $rc = 0 ]
[ $rc = 0 ] || echo "$out" | sed 's/^/#   /'
{ cat "$conf"; echo 'BOGUS_SETTING=1'; } > "$d/bad.conf"
out=$(run TOKEN_FILE="$d/token" "$sbin" -n -f "$d/bad.conf"); rc=$?
check "a broken copy fails the same check (rc=$rc)" \
    bash -c "[ $rc = 1 ] && echo \"\$1\" | grep -q BOGUS_SETTING" _ "$out"

# Every setting the daemon knows (common/config.c's table, internal ones
# aside) is described in portwing.conf(5) and listed in the shipped file.
settings=$(sed -n 's/^	\[CK_[A-Z_]*\] = { "\([A-Z][A-Z_]*\)".*/\1/p' "$src/common/config.c")
check "config.c's settings table was read ($(echo $settings | wc -w) settings)" [ "$(echo $settings | wc -w)" -ge 40 ]
missing_man= missing_conf=
for k in $settings; do
	grep -qE "^\.It Ev (.*[ ,])?$k( ,|\$| )" "$src/man/portwing.conf.5" || missing_man="$missing_man $k"
	grep -qE "^#?$k=" "$conf" || missing_conf="$missing_conf $k"
done
check "portwing.conf(5) describes every setting${missing_man:+ (missing:$missing_man)}" [ -z "$missing_man" ]
check "the shipped portwing.conf lists every setting${missing_conf:+ (missing:$missing_conf)}" [ -z "$missing_conf" ]
if command -v mandoc >/dev/null 2>&1; then
	out=$(mandoc -Tlint "$src/man/portwing.conf.5" "$src/man/portwingd.8" "$src/man/portwing.1" 2>&1); rc=$?
	check "mandoc -Tlint: the three manual pages are clean (rc=$rc)" bash -c "[ $rc = 0 ] && [ -z \"\$1\" ]" _ "$out"
	[ -z "$out" ] || echo "$out" | sed 's/^/#   /'
fi

# The units.  systemd-analyze verify checks the executables and the
# Documentation= man pages too: point ExecStart at the DESTDIR copy and
# man at DESTDIR's pages (ExecReload's /bin/kill is the host's).
if command -v systemd-analyze >/dev/null 2>&1; then
	mkdir -p "$d/units"
	sed "s|^ExecStart=.*|ExecStart=$sbin|" "$unitdir/portwing.service" > "$d/units/portwing.service"
	cp "$unitdir/portwing.socket" "$d/units/portwing.socket"
	out=$(MANPATH=$mandir systemd-analyze verify "$d/units/portwing.service" "$d/units/portwing.socket" 2>&1); rc=$?
	check "systemd-analyze verify: both units clean (rc=$rc)" \
	    bash -c "[ $rc = 0 ] && [ -z \"\$1\" ]" _ "$out"
	[ -z "$out" ] || echo "$out" | sed 's/^/#   /'
	{ cat "$d/units/portwing.service"; echo "[Service]"; echo "Type=bogus"; } > "$d/units/bad.service"
	out=$(MANPATH=$mandir systemd-analyze verify "$d/units/bad.service" 2>&1)
	check "verify does complain about a broken unit (Type=bogus)" \
	    bash -c "echo \"\$1\" | grep -qi 'service type'" _ "$out"
	out=$(systemd-analyze security --offline=yes --threshold=30 "$src/packaging/systemd/portwing.service" 2>&1); rc=$?
	score=$(echo "$out" | sed -n 's/.*Overall exposure level for portwing.service: \([0-9.]*\).*/\1/p')
	check "exposure score $score is at most 3.0 (rc=$rc)" [ $rc = 0 ]
	check "the unit keeps its hardening: Type=notify, NoNewPrivileges, ProtectSystem=strict, 5 capabilities" \
	    bash -c "grep -qx Type=notify '$unitdir/portwing.service' && grep -qx NoNewPrivileges=yes '$unitdir/portwing.service' && grep -qx ProtectSystem=strict '$unitdir/portwing.service' && [ \$(sed -n 's/^CapabilityBoundingSet=//p' '$unitdir/portwing.service' | wc -w) = 5 ]"
else
	skip "systemd-analyze not installed"
fi

# tmpfiles.d and sysusers.d, applied to a scratch root.
if command -v systemd-tmpfiles >/dev/null 2>&1; then
	mkdir -p "$d/root"
	systemd-tmpfiles --root="$d/root" --create "$tmpfiles" >/dev/null 2>&1
	check "tmpfiles: chroot 0755, state and log directories 0700, all root's" \
	    bash -c "[ \"\$(stat -c '%a %u' '$d/root/var/empty/portwing' '$d/root/var/lib/portwing' '$d/root/var/log/portwing' | tr '\n' ' ')\" = '755 0 700 0 700 0 ' ]"
	mkdir -p "$d/root/etc"
	systemd-sysusers --root="$d/root" "$sysusers" >/dev/null 2>&1
	check "sysusers: a portwing system account that cannot log in" \
	    bash -c "grep -E '^portwing:x:[0-9]+:[0-9]+:.*:/nonexistent:/usr/sbin/nologin$' '$d/root/etc/passwd' | awk -F: '\$3 > 0 && \$3 < 1000' | grep -q ."
	# With the account there, the compose stacks' directory is its.
	systemd-tmpfiles --root="$d/root" --create "$tmpfiles" >/dev/null 2>&1
	uid=$(awk -F: '$1 == "portwing" {print $3}' "$d/root/etc/passwd")
	check "tmpfiles: /var/lib/portwing-stacks 0750, the portwing account's (uid $uid)" \
	    [ "$(stat -c '%a %u' "$d/root/var/lib/portwing-stacks" 2>&1)" = "750 $uid" ]
fi

pw_done
