/*
 * sdnotify.c (master): systemd's service protocol.
 *
 * The master alone talks to systemd (a unit's NotifyAccess=main): READY=1
 * once it serves, RELOADING=1 and READY=1 around a SIGHUP, STOPPING=1 on
 * SIGTERM, a one-line STATUS= when it changes, and WATCHDOG=1 while its
 * children answer (agent/master.c decides when).  sd_notify(3) does
 * nothing when NOTIFY_SOCKET is unset, so a daemon started by hand or
 * under another supervisor behaves as before.
 *
 * Socket activation: when LISTEN_PID names this process and LISTEN_FDS
 * is 1, descriptor 3 must be a listening TCP stream socket; the master
 * adopts it instead of binding.  Anything else is an error naming what
 * is wrong with the descriptor, never a silent fallback to bind().
 */
#include "pwbuild.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <netinet/in.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#ifdef HAVE_LIBSYSTEMD
#include <systemd/sd-daemon.h>
#endif

#include "log.h"
#include "sdnotify.h"
#include "util.h"

#ifdef HAVE_LIBSYSTEMD

#define STATUS_MAX	512

static struct {
	int		 enabled;
	uint64_t	 watchdog_usec;
	char		 status[STATUS_MAX];
} sdn;

/* STATUS= is one line: no newline may end it early. */
static void
status_clean(const char *in, char *out, size_t outsz)
{
	size_t	i;

	pw_strlcpy(out, in, outsz);
	for (i = 0; out[i] != '\0'; i++)
		if (out[i] == '\n' || out[i] == '\r')
			out[i] = ' ';
}

static void
notify(const char *what)
{
	int	r;

	if (!sdn.enabled)
		return;
	if ((r = sd_notify(0, what)) < 0)
		log_warnx("sd_notify: %s", strerror(-r));
}

void
sdn_init(void)
{
	const char	*s = getenv("NOTIFY_SOCKET");
	uint64_t	 usec = 0;

	sdn.enabled = s != NULL && *s != '\0';
	/* The watchdog counts only when WATCHDOG_PID (if set) is us. */
	if (sd_watchdog_enabled(0, &usec) > 0)
		sdn.watchdog_usec = usec;
	if (sdn.enabled)
		log_debug("systemd: notify socket %s%s", s,
		    sdn.watchdog_usec ? ", watchdog on" : "");
}

int
sdn_enabled(void)
{
	return sdn.enabled;
}

uint64_t
sdn_watchdog_usec(void)
{
	return sdn.enabled ? sdn.watchdog_usec : 0;
}

/* A state word (READY=1, STOPPING=1) with the status line that goes with it. */
static void
notify_state(const char *word, const char *status)
{
	char	buf[STATUS_MAX + 32];

	status_clean(status, sdn.status, sizeof(sdn.status));
	snprintf(buf, sizeof(buf), "%s\nSTATUS=%s", word, sdn.status);
	notify(buf);
}

void
sdn_ready(const char *status)
{
	notify_state("READY=1", status);
}

void
sdn_reloading(void)
{
	struct timespec	ts;
	char		buf[96];

	clock_gettime(CLOCK_MONOTONIC, &ts);
	snprintf(buf, sizeof(buf), "RELOADING=1\nMONOTONIC_USEC=%llu",
	    (unsigned long long)ts.tv_sec * 1000000ULL +
	    (unsigned long long)ts.tv_nsec / 1000ULL);
	notify(buf);
}

void
sdn_stopping(const char *status)
{
	notify_state("STOPPING=1", status);
}

void
sdn_status(const char *status)
{
	char	clean[STATUS_MAX], buf[STATUS_MAX + 16];

	status_clean(status, clean, sizeof(clean));
	if (strcmp(clean, sdn.status) == 0)
		return;
	memcpy(sdn.status, clean, sizeof(sdn.status));
	snprintf(buf, sizeof(buf), "STATUS=%s", sdn.status);
	notify(buf);
}

void
sdn_watchdog(void)
{
	notify("WATCHDOG=1");
}

/* What a passed descriptor is, in words, for an error message. */
static void
describe_fd(int fd, char *out, size_t outsz)
{
	struct stat		st;
	struct sockaddr_storage	ss;
	socklen_t		sl = sizeof(ss);
	int			type = 0, acc = 0;
	socklen_t		ol = sizeof(type);

	if (fstat(fd, &st) == -1) {
		snprintf(out, outsz, "cannot be examined (%s)",
		    strerror(errno));
		return;
	}
	if (!S_ISSOCK(st.st_mode)) {
		snprintf(out, outsz, "is not a socket (%s)",
		    S_ISREG(st.st_mode) ? "a regular file" :
		    S_ISFIFO(st.st_mode) ? "a pipe" :
		    S_ISCHR(st.st_mode) ? "a character device" :
		    S_ISDIR(st.st_mode) ? "a directory" : "another kind of file");
		return;
	}
	(void)getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &ol);
	ol = sizeof(acc);
	(void)getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &acc, &ol);
	memset(&ss, 0, sizeof(ss));
	(void)getsockname(fd, (struct sockaddr *)&ss, &sl);
	if (ss.ss_family != AF_INET && ss.ss_family != AF_INET6)
		snprintf(out, outsz, "is not a TCP socket (address family "
		    "%s)", ss.ss_family == AF_UNIX ? "AF_UNIX" : "other");
	else if (type != SOCK_STREAM)
		snprintf(out, outsz, "is not a stream socket (%s); use "
		    "ListenStream=, not %s", type == SOCK_DGRAM ?
		    "SOCK_DGRAM, a UDP socket" : "not SOCK_STREAM",
		    type == SOCK_DGRAM ? "ListenDatagram=" : "another Listen*=");
	else if (!acc)
		snprintf(out, outsz, "is a TCP socket that is not listening");
	else
		snprintf(out, outsz, "is not usable");
}

/*
 * Socket activation.  Returns 0 when nothing was passed (bind as usual),
 * 1 with *fdp set to the adopted listening socket, -1 with err set.
 */
int
sdn_listen_fd(int *fdp, char *err, size_t errsz)
{
	char	why[160];
	int	n, fd, fl;

	/*
	 * LISTEN_* stay in the master's environment (unsetting them would
	 * drop strings proc_title_init copied); children never see them, as
	 * they are started with a clean environment (proc_spawn).
	 */
	if ((n = sd_listen_fds(0)) < 0) {
		snprintf(err, errsz, "socket activation: cannot read "
		    "LISTEN_FDS/LISTEN_PID: %s", strerror(-n));
		return -1;
	}
	if (n == 0)
		return 0;
	if (n != 1) {
		snprintf(err, errsz, "socket activation passed %d sockets; "
		    "portwingd serves exactly one (one ListenStream= in the "
		    ".socket unit)", n);
		return -1;
	}
	fd = SD_LISTEN_FDS_START;
	if (sd_is_socket_inet(fd, AF_UNSPEC, SOCK_STREAM, 1, 0) <= 0) {
		describe_fd(fd, why, sizeof(why));
		snprintf(err, errsz, "socket activation: descriptor %d %s; "
		    "portwingd needs one listening TCP stream socket", fd, why);
		return -1;
	}
	if ((fl = fcntl(fd, F_GETFL)) == -1 ||
	    fcntl(fd, F_SETFL, fl | O_NONBLOCK) == -1 ||
	    fcntl(fd, F_SETFD, FD_CLOEXEC) == -1) {
		snprintf(err, errsz, "socket activation: descriptor %d: %s",
		    fd, strerror(errno));
		return -1;
	}
	*fdp = fd;
	return 1;
}

#else /* !HAVE_LIBSYSTEMD */

void
sdn_init(void)
{
}

int
sdn_enabled(void)
{
	return 0;
}

uint64_t
sdn_watchdog_usec(void)
{
	return 0;
}

void
sdn_ready(const char *status)
{
}

void
sdn_reloading(void)
{
}

void
sdn_stopping(const char *status)
{
}

void
sdn_status(const char *status)
{
}

void
sdn_watchdog(void)
{
}

/* Without libsystemd a passed socket would be ignored, then bind fails. */
int
sdn_listen_fd(int *fdp, char *err, size_t errsz)
{
	const char	*pid = getenv("LISTEN_PID");

	if (getenv("LISTEN_FDS") == NULL || pid == NULL ||
	    strtol(pid, NULL, 10) != (long)getpid())
		return 0;
	snprintf(err, errsz, "LISTEN_FDS is set (socket activation), but "
	    "this portwingd was built without libsystemd (configure "
	    "--with-systemd); start it without the .socket unit");
	return -1;
}

#endif
