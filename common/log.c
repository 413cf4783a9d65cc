/*
 * log.c: the logger every process uses.  In the master each event is
 * formatted into one buffer and written with a single write(2) to stderr.
 * A child holds no descriptor to the log: it sends each event to the
 * master as an IPC_C_LOG record on its channel (log_to_channel), and the
 * master writes it under the name and pid it knows the child by
 * (log_relay), with control characters made visible, so no child can
 * write a line that reads as another process's.
 */
#include "pwbuild.h"

#include <sys/socket.h>
#include <sys/uio.h>

#include <errno.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "ipc.h"
#include "log.h"
#include "util.h"

static char	log_proc[32] = "portwingd";
static int	log_level = LOG_LVL_INFO;
static int	log_json;
static int	log_chan = -1;		/* a child: its channel to the master */
static atomic_uint log_lost;		/* lines the channel had no room for */

static const char *const level_names[] = { "error", "warn", "info", "debug" };

void
log_init(const char *proc, int level, int json)
{
	if (proc != NULL)
		log_procname(proc);
	log_level = level;
	log_json = json;
}

void
log_procname(const char *proc)
{
	pw_strlcpy(log_proc, proc, sizeof(log_proc));
}

/* From now on, send events to the master over fd (a child's channel). */
void
log_to_channel(int fd)
{
	log_chan = fd;
}

void
log_setlevel(int level)
{
	log_level = level;
}

int
log_getlevel(void)
{
	return log_level;
}

/* LOG_LEVEL: debug|info|warn|error, any case; -1 when unknown. */
int
log_parse_level(const char *s)
{
	size_t	i;

	for (i = 0; i < nitems(level_names); i++)
		if (strcasecmp(s, level_names[i]) == 0)
			return (int)i;
	if (strcasecmp(s, "warning") == 0)
		return LOG_LVL_WARN;
	return -1;
}

const char *
log_level_name(int level)
{
	if (level < 0 || (size_t)level >= nitems(level_names))
		return "info";
	return level_names[level];
}

/*
 * Printable ASCII passes, everything else becomes \xNN (with quotes, '\\'
 * and '"' too), and the result is cut at the buffer size.
 */
static void
vis_bytes(char *dst, size_t dsz, const char *src, size_t n, int quotes)
{
	static const char hex[] = "0123456789abcdef";
	size_t	i, o = 0;

	if (dsz == 0)
		return;
	for (i = 0; i < n && src[i] != '\0'; i++) {
		unsigned char c = (unsigned char)src[i];
		if (c >= 0x20 && c < 0x7f &&
		    (!quotes || (c != '\\' && c != '"'))) {
			if (o + 1 >= dsz)
				break;
			dst[o++] = (char)c;
		} else {
			if (o + 4 >= dsz)
				break;
			dst[o++] = '\\';
			dst[o++] = 'x';
			dst[o++] = hex[c >> 4];
			dst[o++] = hex[c & 15];
		}
	}
	dst[o] = '\0';
}

/* Make an untrusted string safe to log (quotes and backslashes as \xNN). */
const char *
log_vis(char *dst, size_t dsz, const char *src, size_t n)
{
	vis_bytes(dst, dsz, src, n, 1);
	return dst;
}

static void
json_escape(char *dst, size_t dsz, const char *src)
{
	size_t	o = 0;

	for (; *src != '\0' && o + 7 < dsz; src++) {
		unsigned char c = (unsigned char)*src;
		if (c == '"' || c == '\\') {
			dst[o++] = '\\';
			dst[o++] = (char)c;
		} else if (c < 0x20 || c == 0x7f) {
			o += (size_t)snprintf(dst + o, dsz - o, "\\u%04x", c);
		} else
			dst[o++] = (char)c;
	}
	dst[o] = '\0';
}

/* One line on stderr, for process proc with pid pid. */
static void
log_line(const char *proc, long pid, int level, const char *msg)
{
	char	line[4096 + 256], esc[4096], ts[40];
	int	n;

	pw_rfc3339(ts, sizeof(ts), log_json);
	if (log_json) {
		json_escape(esc, sizeof(esc), msg);
		n = snprintf(line, sizeof(line),
		    "{\"time\":\"%s\",\"level\":\"%s\",\"proc\":\"%s\","
		    "\"pid\":%ld,\"msg\":\"%s\"}\n", ts, level_names[level],
		    proc, pid, esc);
	} else {
		n = snprintf(line, sizeof(line), "%s portwingd[%ld] %s: %s: %s\n",
		    ts, pid, proc, level_names[level], msg);
	}
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(line)) {
		n = sizeof(line) - 1;
		line[n - 1] = '\n';
	}
	(void)!write(STDERR_FILENO, line, (size_t)n);
}

/*
 * A child's event, as one IPC_C_LOG record: u32 level, u32 lines lost
 * before this one, str message.  Never blocks (a full channel loses the
 * line and counts it), except for the last words before exit.
 */
static void
log_send(int level, const char *msg, int last)
{
	struct ipc_hdr	hdr;
	struct msghdr	mh;
	struct iovec	iov[3];
	uint32_t	meta[3];
	size_t		len = strlen(msg);
	int		tries;

	if (len > LOG_MSG_MAX)
		len = LOG_MSG_MAX;
	meta[0] = (uint32_t)level;
	meta[1] = atomic_exchange(&log_lost, 0);
	meta[2] = (uint32_t)len;
	memset(&hdr, 0, sizeof(hdr));
	hdr.type = IPC_C_LOG;
	hdr.len = (uint32_t)(sizeof(meta) + len);
	iov[0].iov_base = &hdr;
	iov[0].iov_len = sizeof(hdr);
	iov[1].iov_base = meta;
	iov[1].iov_len = sizeof(meta);
	iov[2].iov_base = (void *)msg;
	iov[2].iov_len = len;
	memset(&mh, 0, sizeof(mh));
	mh.msg_iov = iov;
	mh.msg_iovlen = 3;
	for (tries = 0; tries < 20; tries++) {
		struct pollfd pfd = { log_chan, POLLOUT, 0 };

		if (sendmsg(log_chan, &mh, MSG_DONTWAIT | MSG_NOSIGNAL) != -1)
			return;
		if (errno == EINTR)
			continue;
		if (!last || (errno != EAGAIN && errno != EWOULDBLOCK &&
		    errno != ENOBUFS))
			break;
		(void)poll(&pfd, 1, 10);
	}
	atomic_fetch_add(&log_lost, meta[1] + 1);
}

static void
vlog(int level, const char *err, const char *fmt, va_list ap, int last)
{
	char	msg[2048];
	int	saved = errno;

	if (level > log_level)
		return;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (err != NULL) {
		pw_strlcat(msg, ": ", sizeof(msg));
		pw_strlcat(msg, err, sizeof(msg));
	}
	if (log_chan != -1)
		log_send(level, msg, last);
	else
		log_line(log_proc, (long)getpid(), level, msg);
	errno = saved;
}

/*
 * The master writes a child's event: the name and pid are the master's
 * own record of the sender, the text is the child's, made visible.
 */
void
log_relay(const char *proc, long pid, int level, const char *msg, size_t n)
{
	char	vis[LOG_MSG_MAX * 4 + 1];

	if (level < LOG_LVL_ERROR || level > LOG_LVL_DEBUG || level > log_level)
		return;
	/* A child's message: control and non-ASCII bytes as \xNN. */
	vis_bytes(vis, sizeof(vis), msg, n, 0);
	log_line(proc, pid, level, vis);
}

#define LOGFN(name, lvl, witherr)				\
void								\
name(const char *fmt, ...)					\
{								\
	va_list	ap;						\
	const char *e = (witherr) ? strerror(errno) : NULL;	\
								\
	va_start(ap, fmt);					\
	vlog(lvl, e, fmt, ap, 0);				\
	va_end(ap);						\
}

LOGFN(log_warn, LOG_LVL_WARN, 1)
LOGFN(log_warnx, LOG_LVL_WARN, 0)
LOGFN(log_error, LOG_LVL_ERROR, 0)
LOGFN(log_info, LOG_LVL_INFO, 0)
LOGFN(log_debug, LOG_LVL_DEBUG, 0)

void
fatal(const char *fmt, ...)
{
	va_list	ap;
	const char *e = strerror(errno);

	va_start(ap, fmt);
	vlog(LOG_LVL_ERROR, e, fmt, ap, 1);
	va_end(ap);
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	vlog(LOG_LVL_ERROR, NULL, fmt, ap, 1);
	va_end(ap);
	exit(1);
}
