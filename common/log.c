/*
 * log.c: the logger every process uses.  Each event is formatted into one
 * buffer and written with a single write(2) to stderr, so lines from
 * several processes sharing the descriptor never interleave mid-line.
 */
#include "pwbuild.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "log.h"
#include "util.h"

static char	log_proc[32] = "portwingd";
static int	log_level = LOG_LVL_INFO;
static int	log_json;

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
 * Make an untrusted string safe to log: printable ASCII passes, everything
 * else becomes \xNN, and the result is cut at the buffer size.
 */
const char *
log_vis(char *dst, size_t dsz, const char *src, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	size_t	i, o = 0;

	if (dsz == 0)
		return dst;
	for (i = 0; i < n && src[i] != '\0'; i++) {
		unsigned char c = (unsigned char)src[i];
		if (c >= 0x20 && c < 0x7f && c != '\\' && c != '"') {
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

static void
vlog(int level, const char *err, const char *fmt, va_list ap)
{
	char	msg[2048], line[4096 + 256], esc[4096], ts[40];
	int	n, saved = errno;

	if (level > log_level)
		return;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (err != NULL) {
		pw_strlcat(msg, ": ", sizeof(msg));
		pw_strlcat(msg, err, sizeof(msg));
	}
	pw_rfc3339(ts, sizeof(ts), log_json);
	if (log_json) {
		json_escape(esc, sizeof(esc), msg);
		n = snprintf(line, sizeof(line),
		    "{\"time\":\"%s\",\"level\":\"%s\",\"proc\":\"%s\","
		    "\"pid\":%ld,\"msg\":\"%s\"}\n", ts, level_names[level],
		    log_proc, (long)getpid(), esc);
	} else {
		n = snprintf(line, sizeof(line), "%s portwingd[%ld] %s: %s: %s\n",
		    ts, (long)getpid(), log_proc, level_names[level], msg);
	}
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(line)) {
		n = sizeof(line) - 1;
		line[n - 1] = '\n';
	}
	(void)!write(STDERR_FILENO, line, (size_t)n);
	errno = saved;
}

#define LOGFN(name, lvl, witherr)				\
void								\
name(const char *fmt, ...)					\
{								\
	va_list	ap;						\
	const char *e = (witherr) ? strerror(errno) : NULL;	\
								\
	va_start(ap, fmt);					\
	vlog(lvl, e, fmt, ap);					\
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
	vlog(LOG_LVL_ERROR, e, fmt, ap);
	va_end(ap);
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	vlog(LOG_LVL_ERROR, NULL, fmt, ap);
	va_end(ap);
	exit(1);
}
