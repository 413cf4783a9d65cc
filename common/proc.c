/*
 * proc.c: role bookkeeping, process titles, spawning children with fork +
 * exec (so no child inherits the master's heap, keys or environment), and
 * the canonical privilege drop.
 */
#include "pwbuild.h"

#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include <linux/capability.h>
#include <linux/securebits.h>

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "proc.h"
#include "util.h"

extern char **environ;

static const char *const role_names[PROC_NROLES] = {
	"master", "worker", "authd", "proxy", "keyd", "policyd",
	"edge", "filed", "composer"
};

static char	*title_base;
static size_t	 title_len;

const char *
proc_role_name(enum proc_role r)
{
	return r < PROC_NROLES ? role_names[r] : "unknown";
}

int
proc_role_lookup(const char *s)
{
	int	i;

	for (i = 0; i < PROC_NROLES; i++)
		if (strcmp(s, role_names[i]) == 0)
			return i;
	return -1;
}

/*
 * Claim the argv (and, if contiguous, environ) area so proc_title can
 * overwrite what ps(1) shows.  environ is moved to the heap first.
 */
void
proc_title_init(int argc, char **argv)
{
	char	*end;
	int	 i, n;
	char	**nenv;

	if (argc == 0 || argv[0] == NULL)
		return;
	end = argv[0] + strlen(argv[0]) + 1;
	for (i = 1; i < argc; i++)
		if (argv[i] == end)
			end = argv[i] + strlen(argv[i]) + 1;
	for (n = 0; environ[n] != NULL; n++)
		;
	for (i = 0; i < n; i++)
		if (environ[i] == end)
			end = environ[i] + strlen(environ[i]) + 1;
	nenv = xcalloc((size_t)n + 1, sizeof(char *));
	for (i = 0; i < n; i++)
		nenv[i] = xstrdup(environ[i]);
	environ = nenv;
	title_base = argv[0];
	title_len = (size_t)(end - argv[0]);
}

void
proc_title(const char *fmt, ...)
{
	va_list	ap;
	char	buf[256], comm[16];

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	/* comm (15 bytes) gets "pw-" and the role word. */
	pw_strlcpy(comm, "pw-", sizeof(comm));
	pw_strlcat(comm, strncmp(buf, "portwingd: ", 11) == 0 ? buf + 11 : buf,
	    sizeof(comm));
	comm[strcspn(comm, " ")] = '\0';
	(void)prctl(PR_SET_NAME, comm, 0, 0, 0);
	if (title_base == NULL || title_len < 2)
		return;
	memset(title_base, 0, title_len);
	pw_strlcpy(title_base, buf, title_len - 1);
}

/*
 * Start a child in role r: fork, put its master channel on fd 3, close
 * everything else, and exec this same binary with a clean environment so
 * no secret passed to the master through the environment reaches it.
 */
pid_t
proc_spawn(enum proc_role r, int ipcfd, unsigned slot)
{
#ifdef PW_SANITIZERS
	static const char *const passenv[] = {
		"ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS",
	};
#else
	static const char *const passenv[] = { NULL };
#endif
	char	*env[8], slotstr[16], *args[6];
	size_t	 i, ne = 0;
	pid_t	 pid;
	int	 nullfd;

	if ((pid = fork()) == -1)
		return -1;
	if (pid != 0)
		return pid;

	/* Child. */
	if (ipcfd != PROC_IPC_FD) {
		if (dup2(ipcfd, PROC_IPC_FD) == -1)
			_exit(127);
	} else if (pw_set_cloexec(ipcfd, 0) == -1)
		_exit(127);
	/*
	 * Descriptors 0-2 become /dev/null (after the channel is on 3, in
	 * case it was one of them): the child sends its log lines to the
	 * master over its channel and must hold nothing that reaches the log
	 * or an audit sink on stdout or stderr.  Sanitizer builds keep
	 * stderr, where the runtimes write their reports.
	 */
	if ((nullfd = open("/dev/null", O_RDWR)) == -1 ||
	    dup2(nullfd, STDIN_FILENO) == -1 ||
	    dup2(nullfd, STDOUT_FILENO) == -1)
		_exit(127);
#ifndef PW_SANITIZERS
	if (dup2(nullfd, STDERR_FILENO) == -1)
		_exit(127);
#endif
	if (syscall(SYS_close_range, PROC_IPC_FD + 1, ~0U, 0) == -1) {
		for (int fd = PROC_IPC_FD + 1; fd < 1024; fd++)
			close(fd);
	}
	env[ne++] = "PATH=/usr/sbin:/usr/bin:/sbin:/bin";
	for (i = 0; i < nitems(passenv) && passenv[i] != NULL; i++) {
		const char *v = getenv(passenv[i]);
		char *e;
		if (v == NULL)
			continue;
		if (asprintf(&e, "%s=%s", passenv[i], v) == -1)
			_exit(127);
		env[ne++] = e;
	}
	env[ne] = NULL;
	snprintf(slotstr, sizeof(slotstr), "%u", slot);
	args[0] = "portwingd";
	args[1] = "-x";
	args[2] = (char *)proc_role_name(r);
	args[3] = slotstr;
	args[4] = NULL;
	sigset_t all;
	sigemptyset(&all);
	sigprocmask(SIG_SETMASK, &all, NULL);
	execve("/proc/self/exe", args, env);
	_exit(127);
}

int
privdrop_lookup(const char *user, const char *chroot_dir, struct privdrop *pd,
    char *err, size_t errsz)
{
	struct passwd	*pw;

	memset(pd, 0, sizeof(*pd));
	if ((pw = getpwnam(user)) == NULL) {
		snprintf(err, errsz, "unprivileged user \"%s\" does not exist; "
		    "create it with: useradd --system --no-create-home "
		    "--shell /usr/sbin/nologin %s", user, user);
		return -1;
	}
	if (pw->pw_uid == 0) {
		snprintf(err, errsz, "unprivileged user \"%s\" has uid 0", user);
		return -1;
	}
	pd->uid = pw->pw_uid;
	pd->gid = pw->pw_gid;
	pw_strlcpy(pd->chroot, chroot_dir, sizeof(pd->chroot));
	return 0;
}

/* The chroot must be a root-owned directory nobody else can write. */
int
privdrop_prepare_chroot(const char *dir, char *err, size_t errsz)
{
	struct stat	st;
	char		tmp[256], *p;

	pw_strlcpy(tmp, dir, sizeof(tmp));
	for (p = tmp + 1; *p != '\0'; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		(void)mkdir(tmp, 0755);
		*p = '/';
	}
	if (mkdir(tmp, 0755) == -1 && errno != EEXIST) {
		snprintf(err, errsz, "mkdir %s: %s", dir, strerror(errno));
		return -1;
	}
	if (stat(dir, &st) == -1) {
		snprintf(err, errsz, "%s: %s", dir, strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode) || st.st_uid != 0 ||
	    (st.st_mode & (S_IWGRP | S_IWOTH))) {
		snprintf(err, errsz, "%s must be a directory owned by root and "
		    "writable by no one else", dir);
		return -1;
	}
	return 0;
}

/*
 * Empty the capability bounding set and the ambient set while still
 * root (dropping needs CAP_SETPCAP), so nothing this process or anything
 * it could exec ever regains a capability, even through a set-uid or
 * file-capability binary.  PR_CAPBSET_DROP answers EINVAL past the
 * kernel's last capability, which ends the loop without reading /proc.
 */
static void
privdrop_caps(void)
{
	unsigned long	cap;

	for (cap = 0; cap < 1024; cap++) {
		if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) == 0)
			continue;
		if (errno == EINVAL)
			break;
		fatal("PR_CAPBSET_DROP %lu", cap);
	}
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) == -1 &&
	    errno != EINVAL)
		fatal("PR_CAP_AMBIENT_CLEAR_ALL");
}

/*
 * A child that keeps uid 0 (filed, when root owns HOST_FILES_ROOT) keeps
 * it without any capability: the permitted, effective and inheritable
 * sets are emptied and the securebits locked so that uid 0 never gains
 * them back (no exec is possible anyway).  Owner permission bits then
 * decide, as for any user: root's own files and directories.
 */
static void
privdrop_root_caps(void)
{
	struct __user_cap_header_struct	h = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct	d[2];

	if (prctl(PR_SET_SECUREBITS, SECBIT_NOROOT | SECBIT_NOROOT_LOCKED |
	    SECBIT_NO_SETUID_FIXUP | SECBIT_NO_SETUID_FIXUP_LOCKED |
	    SECBIT_KEEP_CAPS_LOCKED, 0, 0, 0) == -1)
		fatal("PR_SET_SECUREBITS");
	memset(d, 0, sizeof(d));
	if (syscall(SYS_capset, &h, d) == -1)
		fatal("capset");
	if (syscall(SYS_capget, &h, d) == -1 || d[0].effective != 0 ||
	    d[0].permitted != 0 || d[0].inheritable != 0 ||
	    d[1].effective != 0 || d[1].permitted != 0 ||
	    d[1].inheritable != 0)
		fatalx("capabilities not fully dropped");
}

/*
 * chroot, chdir, one group, gid, an empty capability bounding set, uid,
 * prove the old ids are gone, then no-new-privs, not dumpable, no core
 * files.  Without root (a developer
 * running unprivileged) only the last three apply, and we say so.
 */
void
privdrop_apply(const struct privdrop *pd)
{
	struct rlimit	rl = { 0, 0 };
	uid_t		ru, eu, su;
	gid_t		rg, eg, sg;

	if (geteuid() == 0) {
		if (chroot(pd->chroot) == -1)
			fatal("chroot %s", pd->chroot);
		if (chdir("/") == -1)
			fatal("chdir /");
		if (setgroups(1, &pd->gid) == -1)
			fatal("setgroups");
		if (setresgid(pd->gid, pd->gid, pd->gid) == -1)
			fatal("setresgid %u", (unsigned)pd->gid);
		privdrop_caps();
		if (pd->uid == 0)
			privdrop_root_caps();	/* filed: uid 0, no capability */
		else if (setresuid(pd->uid, pd->uid, pd->uid) == -1)
			fatal("setresuid %u", (unsigned)pd->uid);
		if (getresuid(&ru, &eu, &su) == -1 || ru != pd->uid ||
		    eu != pd->uid || su != pd->uid)
			fatalx("uid not fully dropped");
		if (getresgid(&rg, &eg, &sg) == -1 || rg != pd->gid ||
		    eg != pd->gid || sg != pd->gid)
			fatalx("gid not fully dropped");
		if (pd->uid != 0 && (setuid(0) != -1 || seteuid(0) != -1))
			fatalx("privileges could be regained");
	} else
		log_debug("not started as root: no chroot or uid change");
	if (setrlimit(RLIMIT_CORE, &rl) == -1)
		fatal("setrlimit RLIMIT_CORE");
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) == -1)
		fatal("PR_SET_DUMPABLE");
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1)
		fatal("PR_SET_NO_NEW_PRIVS");
}
