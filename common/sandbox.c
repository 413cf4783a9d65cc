/*
 * sandbox.c: default-deny seccomp filters, one list per role.
 *
 * Everything not listed kills the whole process (SECCOMP_RET_KILL_PROCESS),
 * so a worker that tries to open a file, connect a socket, exec, fork or
 * ptrace dies on the spot and the master logs the SIGSYS.  The lists hold
 * only what libevent, OpenSSL, glibc's allocator and our own code need
 * once a role is running; everything that opens files (OpenSSL config,
 * libraries) happens before the filter is installed.
 */
#include "pwbuild.h"

#include <sys/ioctl.h>
#include <sys/socket.h>

#include <errno.h>
#include <sched.h>
#include <seccomp.h>
#include <stddef.h>

#include "log.h"
#include "sandbox.h"
#include "util.h"

/* Every sandboxed role: memory, events, descriptors it already has, time. */
static const char *const sc_base[] = {
	"read", "write", "readv", "writev", "close", "fstat", "newfstatat",
	"lseek", "mmap", "munmap", "mremap", "mprotect", "brk", "madvise",
	"rt_sigreturn", "rt_sigprocmask", "rt_sigaction", "sigaltstack",
	"exit", "exit_group", "getpid", "gettid", "getuid", "geteuid",
	"getgid", "getegid", "clock_gettime", "clock_getres", "gettimeofday",
	"time", "nanosleep", "clock_nanosleep", "epoll_create1", "epoll_ctl",
	"epoll_wait", "epoll_pwait", "poll", "ppoll", "fcntl", "getrandom",
	"sendmsg", "recvmsg", "sendto", "recvfrom", "shutdown", "getsockopt",
	"setsockopt", "getsockname", "getpeername", "pipe2", "eventfd2",
	"futex", "sched_yield", "restart_syscall", "uname", "dup", "dup3",
	"timerfd_create", "timerfd_settime", "timerfd_gettime", "rseq",
	"prlimit64", "getrusage", "sysinfo",
};

/* Workers accept clients, make per-request stream socketpairs, spool bodies. */
static const char *const sc_worker[] = {
	"accept4", "accept", "socketpair", "memfd_create", "ftruncate",
	"fallocate", "pread64", "pwrite64", "splice", "sendfile",
};

/* authd runs key derivations on threads. */
static const char *const sc_authd[] = {
	"set_robust_list", "get_robust_list", "pread64", "sched_getaffinity",
};

/*
 * The proxy relays between stream sockets and Docker connections, writes
 * the audit sink (ftruncate cuts a torn line) and samples host figures
 * from descriptors the master opened (fstatfs on the Docker data root).
 */
/*
 * policyd reads the bodies the proxy hands it (sealed memfds) and answers;
 * it parses client JSON, so it may do nothing else.  pwrite64 writes a
 * stamped body into the empty memfd the proxy hands it for that.
 */
static const char *const sc_policyd[] = {
	"pread64", "pwrite64",
};

static const char *const sc_proxy[] = {
	"pread64", "splice", "sendfile", "socketpair", "memfd_create",
	"pwrite64", "ftruncate", "fstatfs",
};

/*
 * keyd signs handshake digests for the workers: nothing beyond the base
 * list (no accept, socket, open).
 */
static const char *const sc_keyd[] = {
	"pread64",
};

/*
 * The edge process holds one WebSocket to the controller: it may create
 * TCP sockets and connect them (rules in sandbox_apply), and socketpairs
 * for the streams that carry the controller's requests to the proxy.
 */
static const char *const sc_edge[] = {
	"connect", "socketpair",
};

static void
allow_list(scmp_filter_ctx ctx, const char *const *names, size_t n)
{
	size_t	i;
	int	nr;

	for (i = 0; i < n; i++) {
		nr = seccomp_syscall_resolve_name(names[i]);
		if (nr == __NR_SCMP_ERROR)
			continue;	/* not on this architecture */
		if (seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0) < 0)
			fatalx("seccomp: cannot allow %s", names[i]);
	}
}

/*
 * filed writes files beneath the one directory it holds (Landlock and
 * openat2's RESOLVE_BENEATH keep it there; seccomp cannot read openat2's
 * flags; openat is its walk where openat2 is refused, below systemd's
 * RestrictSUIDSGID=); the content memfds it maps with the shared mmap.
 */
static const char *const sc_filed[] = {
	"openat2", "openat", "mkdirat", "renameat", "unlinkat", "fsync",
	"fchmod",
};

void
sandbox_apply(enum proc_role role)
{
	scmp_filter_ctx	ctx;
	uint32_t	def = SCMP_ACT_KILL_PROCESS;

#ifdef PW_SANITIZERS
	/* The sanitizer runtimes read /proc and more: log instead of kill. */
	def = SCMP_ACT_LOG;
#endif
	if ((ctx = seccomp_init(def)) == NULL)
		fatalx("seccomp_init failed");
	allow_list(ctx, sc_base, nitems(sc_base));
	/* ioctl only for FIONREAD, which libevent uses to size reads. */
	if (seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 1,
	    SCMP_A1(SCMP_CMP_EQ, FIONREAD)) < 0)
		fatalx("seccomp: ioctl rule");
	/* Probes libc makes that must fail quietly rather than kill. */
	if (seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EACCES), SCMP_SYS(ioctl), 1,
	    SCMP_A1(SCMP_CMP_NE, FIONREAD)) < 0)
		fatalx("seccomp: ioctl deny rule");
	switch (role) {
	case PROC_WORKER:
		allow_list(ctx, sc_worker, nitems(sc_worker));
		break;
	case PROC_AUTHD:
		allow_list(ctx, sc_authd, nitems(sc_authd));
		/*
		 * Threads, never processes: clone must carry CLONE_THREAD,
		 * and clone3 (whose flags live in memory seccomp cannot read)
		 * reports ENOSYS so glibc falls back to clone.
		 */
		if (seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(clone), 1,
		    SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_THREAD, CLONE_THREAD)) < 0)
			fatalx("seccomp: clone rule");
		if (seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS),
		    SCMP_SYS(clone3), 0) < 0)
			fatalx("seccomp: clone3 rule");
		break;
	case PROC_PROXY:
		allow_list(ctx, sc_proxy, nitems(sc_proxy));
		break;
	case PROC_KEYD:
		allow_list(ctx, sc_keyd, nitems(sc_keyd));
		break;
	case PROC_POLICYD:
		allow_list(ctx, sc_policyd, nitems(sc_policyd));
		break;
	case PROC_EDGE:
		allow_list(ctx, sc_edge, nitems(sc_edge));
		/* socket(): IPv4 or IPv6, stream sockets only. */
		if (seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(socket), 2,
		    SCMP_A0(SCMP_CMP_EQ, AF_INET),
		    SCMP_A1(SCMP_CMP_MASKED_EQ, 0xf, SOCK_STREAM)) < 0 ||
		    seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(socket), 2,
		    SCMP_A0(SCMP_CMP_EQ, AF_INET6),
		    SCMP_A1(SCMP_CMP_MASKED_EQ, 0xf, SOCK_STREAM)) < 0)
			fatalx("seccomp: socket rule");
		break;
	case PROC_FILED:
		allow_list(ctx, sc_filed, nitems(sc_filed));
		break;
	default:
		fatalx("sandbox: no filter for role %d", role);
	}
	if (seccomp_load(ctx) < 0)
		fatalx("seccomp_load failed");
	seccomp_release(ctx);
	log_debug("seccomp filter installed");
}
