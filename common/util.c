/*
 * util.c: helpers used by every portwing process.  Nothing here knows about
 * roles; anything that does belongs in the role's own files.
 */
#include "pwbuild.h"

#include <sys/stat.h>
#include <sys/random.h>
#include <sys/uio.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <malloc.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <openssl/crypto.h>

#include "log.h"
#include "util.h"

void *
xmalloc(size_t n)
{
	void	*p;

	if (n == 0)
		fatalx("xmalloc: zero size");
	if ((p = malloc(n)) == NULL)
		fatal("xmalloc: %zu bytes", n);
	return p;
}

void *
xcalloc(size_t nmemb, size_t size)
{
	void	*p;

	if (nmemb == 0 || size == 0)
		fatalx("xcalloc: zero size");
	if ((p = calloc(nmemb, size)) == NULL)
		fatal("xcalloc: %zu * %zu bytes", nmemb, size);
	return p;
}

void *
xreallocarray(void *ptr, size_t nmemb, size_t size)
{
	void	*p;

	if (nmemb == 0 || size == 0)
		fatalx("xreallocarray: zero size");
	if (size && nmemb > SIZE_MAX / size)
		fatalx("xreallocarray: overflow");
	if ((p = realloc(ptr, nmemb * size)) == NULL)
		fatal("xreallocarray: %zu * %zu bytes", nmemb, size);
	return p;
}

char *
xstrdup(const char *s)
{
	char	*p;

	if ((p = strdup(s)) == NULL)
		fatal("xstrdup");
	return p;
}

char *
xstrndup(const char *s, size_t n)
{
	char	*p;

	if ((p = strndup(s, n)) == NULL)
		fatal("xstrndup");
	return p;
}

int
xasprintf(char **ret, const char *fmt, ...)
{
	va_list	 ap;
	int	 i;

	va_start(ap, fmt);
	i = vasprintf(ret, fmt, ap);
	va_end(ap);
	if (i < 0 || *ret == NULL)
		fatal("xasprintf");
	return i;
}

void
freezero(void *p, size_t n)
{
	if (p == NULL)
		return;
	OPENSSL_cleanse(p, n);
	free(p);
}

void
freezero_str(char *s)
{
	if (s != NULL)
		freezero(s, strlen(s));
}

/*
 * Allocators that wipe what they free, for libraries whose buffers may
 * hold secrets and which free them without clearing (libevent's evbuffer
 * chains, jansson's strings, libcurl's request buffers).
 */
void *
pw_wipe_malloc(size_t n)
{
	return malloc(n);
}

void
pw_wipe_free(void *p)
{
	if (p == NULL)
		return;
	explicit_bzero(p, malloc_usable_size(p));
	free(p);
}

void *
pw_wipe_realloc(void *p, size_t n)
{
	void	*q;
	size_t	 old;

	if (p == NULL)
		return malloc(n);
	if (n == 0) {
		pw_wipe_free(p);
		return NULL;
	}
	if ((q = malloc(n)) == NULL)
		return NULL;
	old = malloc_usable_size(p);
	memcpy(q, p, old < n ? old : n);
	pw_wipe_free(p);
	return q;
}

size_t
pw_strlcpy(char *dst, const char *src, size_t dsize)
{
	size_t	len = strlen(src);

	if (dsize != 0) {
		size_t n = len >= dsize ? dsize - 1 : len;
		memcpy(dst, src, n);
		dst[n] = '\0';
	}
	return len;
}

size_t
pw_strlcat(char *dst, const char *src, size_t dsize)
{
	size_t	dlen = strnlen(dst, dsize);

	if (dlen == dsize)
		return dsize + strlen(src);
	return dlen + pw_strlcpy(dst + dlen, src, dsize - dlen);
}

/* Trim ASCII whitespace at both ends, in place; returns the new start. */
char *
pw_trim(char *s)
{
	char	*e;

	while (*s != '\0' && isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

/* Strict decimal parse: optional leading '-', digits only, range checked. */
int
pw_strtonum(const char *s, long long min, long long max, long long *out)
{
	char		*end;
	long long	 v;

	if (s == NULL || *s == '\0' || isspace((unsigned char)*s) || *s == '+')
		return -1;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

/* Portwing's boolean spelling: 1|true|yes and 0|false|no, any case. */
int
pw_parse_bool(const char *s, int *out)
{
	if (!strcasecmp(s, "1") || !strcasecmp(s, "true") ||
	    !strcasecmp(s, "yes")) {
		*out = 1;
		return 0;
	}
	if (!strcasecmp(s, "0") || !strcasecmp(s, "false") ||
	    !strcasecmp(s, "no")) {
		*out = 0;
		return 0;
	}
	return -1;
}

int
pw_ct_equal(const void *a, const void *b, size_t n)
{
	return CRYPTO_memcmp(a, b, n) == 0;
}

int
pw_hex_encode(const uint8_t *in, size_t n, char *out, size_t outsz)
{
	static const char hex[] = "0123456789abcdef";
	size_t	i;

	if (outsz < n * 2 + 1)
		return -1;
	for (i = 0; i < n; i++) {
		out[2 * i] = hex[in[i] >> 4];
		out[2 * i + 1] = hex[in[i] & 0xf];
	}
	out[2 * n] = '\0';
	return 0;
}

uint64_t
pw_now_us(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

uint64_t
pw_now_ms(void)
{
	return pw_now_us() / 1000;
}

double
pw_wall_time(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* RFC 3339 UTC timestamp of now; with_ns adds trimmed fractional seconds. */
void
pw_rfc3339(char *buf, size_t sz, int with_ns)
{
	struct timespec	ts;
	struct tm	tm;
	char		frac[16];
	size_t		n;
	int		i;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	n = strftime(buf, sz, "%Y-%m-%dT%H:%M:%S", &tm);
	if (with_ns && ts.tv_nsec != 0) {
		snprintf(frac, sizeof(frac), ".%09ld", ts.tv_nsec);
		for (i = (int)strlen(frac) - 1; i > 0 && frac[i] == '0'; i--)
			frac[i] = '\0';
		if (n < sz)
			pw_strlcpy(buf + n, frac, sz - n);
	}
	pw_strlcat(buf, "Z", sz);
}

/*
 * Read a whole regular file of at most max bytes into a NUL-terminated heap
 * buffer.  Returns its length, or -1 with a message in err.
 */
ssize_t
pw_read_file(const char *path, char **out, size_t max, char *err, size_t errsz)
{
	struct stat	 st;
	char		*buf = NULL;
	size_t		 len = 0;
	ssize_t		 n;
	int		 fd;

	*out = NULL;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) == -1) {
		snprintf(err, errsz, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		snprintf(err, errsz, "%s: not a regular file", path);
		close(fd);
		return -1;
	}
	if ((size_t)st.st_size > max) {
		snprintf(err, errsz, "%s: larger than %zu bytes", path, max);
		close(fd);
		return -1;
	}
	buf = xmalloc(max + 1);
	while (len < max && (n = read(fd, buf + len, max - len)) != 0) {
		if (n == -1) {
			if (errno == EINTR)
				continue;
			snprintf(err, errsz, "%s: %s", path, strerror(errno));
			freezero(buf, max + 1);
			close(fd);
			return -1;
		}
		len += (size_t)n;
	}
	close(fd);
	buf[len] = '\0';
	*out = buf;
	return (ssize_t)len;
}

int
pw_set_nonblock(int fd)
{
	int	fl;

	if ((fl = fcntl(fd, F_GETFL)) == -1)
		return -1;
	return fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

int
pw_set_cloexec(int fd, int on)
{
	int	fl;

	if ((fl = fcntl(fd, F_GETFD)) == -1)
		return -1;
	fl = on ? (fl | FD_CLOEXEC) : (fl & ~FD_CLOEXEC);
	return fcntl(fd, F_SETFD, fl);
}

void
pw_random_bytes(void *buf, size_t n)
{
	uint8_t	*p = buf;
	ssize_t	 r;

	while (n > 0) {
		r = getrandom(p, n, 0);
		if (r == -1) {
			if (errno == EINTR)
				continue;
			fatal("getrandom");
		}
		p += r;
		n -= (size_t)r;
	}
}

void
pw_uuid4(char *out, size_t sz)
{
	uint8_t	b[16];

	pw_random_bytes(b, sizeof(b));
	b[6] = (b[6] & 0x0f) | 0x40;
	b[8] = (b[8] & 0x3f) | 0x80;
	snprintf(out, sz, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-"
	    "%02x%02x%02x%02x%02x%02x", b[0], b[1], b[2], b[3], b[4], b[5],
	    b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]);
}

/*
 * The event base every process uses.  With the epoll change list, an
 * interest change that is undone within one loop turn (a write that
 * completes at once) costs no epoll_ctl at all.
 */
struct event_base *
pw_event_base(void)
{
	struct event_config	*cfg;
	struct event_base	*base;

	if ((cfg = event_config_new()) == NULL)
		fatalx("event_config_new");
	event_config_set_flag(cfg, EVENT_BASE_FLAG_EPOLL_USE_CHANGELIST);
	if ((base = event_base_new_with_config(cfg)) == NULL)
		fatalx("event_base_new");
	event_config_free(cfg);
	return base;
}

/*
 * Larger single reads and writes than libevent's 16 KiB default: bulk
 * transfers (cp, save, build contexts) then cost a quarter of the system
 * calls.  Memory stays bounded by the high-water marks.
 */
void
pw_bev_tune(struct bufferevent *bev)
{
	bufferevent_set_max_single_read(bev, 128 * 1024);
	bufferevent_set_max_single_write(bev, 128 * 1024);
}

/*
 * One readv of at most `room' bytes from fd into reserved space at the
 * end of `in' (whose end the caller has unfrozen).  Returns what readv
 * returned; nothing is committed unless it read bytes.
 */
static ssize_t
bev_read_once(struct evbuffer *in, evutil_socket_t fd, size_t room)
{
	struct evbuffer_iovec	 v[2];
	struct iovec		 iov[2];
	size_t			 left;
	ssize_t			 n;
	int			 nv, i;

	if ((nv = evbuffer_reserve_space(in, (ev_ssize_t)room, v, 2)) <= 0)
		return -1;
	left = room;
	for (i = 0; i < nv; i++) {
		iov[i].iov_base = v[i].iov_base;
		iov[i].iov_len = v[i].iov_len < left ? v[i].iov_len : left;
		left -= iov[i].iov_len;
	}
	do
		n = readv(fd, iov, nv);
	while (n == -1 && errno == EINTR);
	if (n <= 0) {
		evbuffer_commit_space(in, v, 0);
		return n;
	}
	left = (size_t)n;
	for (i = 0; i < nv && left > 0; i++) {
		if (v[i].iov_len > left)
			v[i].iov_len = left;
		left -= v[i].iov_len;
	}
	evbuffer_commit_space(in, v, i);
	return n;
}

/*
 * Read on from a plain socket into a bufferevent's input, up to `limit'
 * bytes held.  libevent 2.1 reads at most 4 KiB per call to the socket
 * (EVBUFFER_MAX_READ) and one read per turn of the loop, after a
 * FIONREAD: a body then costs an epoll_wait, an ioctl and a readv per
 * 4 KiB.  This reads 128 KiB at a time into reserved space of the
 * buffer until the socket has no more or the limit is reached.  End of
 * file and errors are left for the bufferevent to find on its next read
 * (the socket stays readable), so its event callback still reports
 * them.  Only for plain sockets, never a TLS bufferevent, and only while
 * reading is enabled: a disabled bufferevent is one the caller means not
 * to read yet.  Returns the number of bytes read.
 */
size_t
pw_bev_fill(struct bufferevent *bev, size_t limit)
{
	struct evbuffer		*in = bufferevent_get_input(bev);
	evutil_socket_t		 fd = bufferevent_getfd(bev);
	size_t			 have, room, total = 0;
	ssize_t			 n;

	/*
	 * Less than libevent's one read held: the socket most likely had no
	 * more, and a read that finds nothing costs a system call on every
	 * small request.
	 */
	if (fd < 0 || !(bufferevent_get_enabled(bev) & EV_READ) ||
	    evbuffer_get_length(in) < PW_BEV_LIBEVENT_READ)
		return 0;
	/* A socket bufferevent keeps the end of its input frozen to us. */
	evbuffer_unfreeze(in, 0);
	for (;;) {
		have = evbuffer_get_length(in);
		if (have >= limit)
			break;
		room = limit - have;
		if (room > PW_BEV_FILL_MAX)
			room = PW_BEV_FILL_MAX;
		if ((n = bev_read_once(in, fd, room)) <= 0)
			break;
		total += (size_t)n;
		if ((size_t)n < room)
			break;		/* the socket is drained */
	}
	evbuffer_freeze(in, 0);
	return total;
}

/*
 * A new plain connection: its client has most likely sent its request
 * by the time it is accepted, so read it now rather than after another
 * wait for the socket to turn readable.  Bytes read are handed to the
 * read callback later in this turn of the loop (pw_bev_resume); when
 * nothing is there yet, or on end of file or an error, the bufferevent
 * finds it on its own read as usual.
 */
void
pw_bev_read_now(struct bufferevent *bev, size_t limit)
{
	struct evbuffer		*in = bufferevent_get_input(bev);
	evutil_socket_t		 fd = bufferevent_getfd(bev);
	ssize_t			 n;

	if (fd < 0 || !(bufferevent_get_enabled(bev) & EV_READ) ||
	    evbuffer_get_length(in) != 0)
		return;
	evbuffer_unfreeze(in, 0);
	n = bev_read_once(in, fd, limit);
	evbuffer_freeze(in, 0);
	if (n > 0)
		pw_bev_resume(bev);
}

/* Move what `in' holds, up to max bytes, to `out'; returns how much. */
size_t
pw_evbuffer_take(struct evbuffer *in, struct evbuffer *out, uint64_t max)
{
	size_t	n = evbuffer_get_length(in);

	if (n > max)
		n = (size_t)max;
	if (n > 0)
		evbuffer_remove_buffer(in, out, n);
	return n;
}

/*
 * Read callbacks owed to bufferevents whose input already holds bytes
 * when flow control lets them read again (pw_bev_resume).  libevent 2.1
 * can defer a callback only for a bufferevent made with
 * BEV_OPT_DEFER_CALLBACKS, so this keeps its own list, run from an
 * event made active for the next turn of the loop.  Each entry holds a
 * reference: a bufferevent freed meanwhile has no callbacks left and is
 * only let go.
 */
struct bevlist {
	struct event		 *ev;
	struct bufferevent	**bev;
	size_t			  n, cap;
};
static struct bevlist	resume, fastw;

/*
 * Put bev on a deferred list, holding a reference, and make the list's
 * event active so that `run' takes the list later in this turn of the
 * loop.
 */
static void
bevlist_push(struct bevlist *l, struct bufferevent *bev,
    event_callback_fn run)
{
	if (l->ev == NULL && (l->ev = event_new(bufferevent_get_base(bev),
	    -1, 0, run, NULL)) == NULL)
		fatalx("event_new");
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 16;
		l->bev = xreallocarray(l->bev, l->cap, sizeof(l->bev[0]));
	}
	bufferevent_incref(bev);
	l->bev[l->n++] = bev;
	event_active(l->ev, EV_TIMEOUT, 0);
}

/* Take the list: the caller runs and frees it; pushes start a new one. */
static struct bufferevent **
bevlist_take(struct bevlist *l, size_t *n)
{
	struct bufferevent	**list = l->bev;

	*n = l->n;
	l->bev = NULL;
	l->n = l->cap = 0;
	return list;
}

static void
pw_bev_resume_run(evutil_socket_t fd, short what, void *arg)
{
	struct bufferevent	**list, *bev;
	bufferevent_data_cb	  readcb;
	void			 *cbarg;
	size_t			  n, i;

	list = bevlist_take(&resume, &n);
	for (i = 0; i < n; i++) {
		bev = list[i];
		bufferevent_getcb(bev, &readcb, NULL, NULL, &cbarg);
		if (readcb != NULL &&
		    (bufferevent_get_enabled(bev) & EV_READ) &&
		    evbuffer_get_length(bufferevent_get_input(bev)) > 0)
			readcb(bev, cbarg);
		bufferevent_decref(bev);
	}
	free(list);
}

/*
 * Let a bufferevent read again after flow control stopped it.  Bytes
 * pw_bev_fill took from the socket may already wait in its input, and
 * the socket then stays quiet: its read callback runs for them on the
 * next turn of the loop, once the caller's state is settled.
 */
void
pw_bev_resume(struct bufferevent *bev)
{
	size_t	i;

	bufferevent_enable(bev, EV_READ);
	if (evbuffer_get_length(bufferevent_get_input(bev)) == 0)
		return;
	for (i = 0; i < resume.n; i++)
		if (resume.bev[i] == bev)
			return;
	bevlist_push(&resume, bev, pw_bev_resume_run);
}

/*
 * Writes made at once (pw_bev_fastwrite).  A socket bufferevent asks
 * epoll for EPOLLOUT whenever bytes land in its empty output, writes on
 * the next turn of the loop and drops the interest again: two epoll_ctl,
 * a wake-up and a turn of the loop per response.  Socket buffers are
 * almost never full, so this writes first and asks epoll only for what
 * the socket did not take.
 *
 * The bufferevent's write side stays disabled while its output is
 * empty.  When bytes land in the empty output, an evbuffer callback puts
 * the bufferevent on this list; the list runs from an event made active
 * for later in the same turn of the loop (so a frame header and its
 * payload leave in one writev).  A bufferevent whose output went out
 * whole gets its write callback as libevent would have called it; one
 * with bytes left (or an error) gets its write side enabled and libevent
 * carries on as usual, error reports included.
 */
static void
pw_bev_fastwrite_run(evutil_socket_t unused, short what, void *arg)
{
	struct bufferevent	**list, *bev;
	struct evbuffer		 *out;
	bufferevent_data_cb	  rcb, wcb;
	bufferevent_event_cb	  ecb;
	size_t			  n, i;
	evutil_socket_t		  fd;
	int			  live, wrote;

	list = bevlist_take(&fastw, &n);
	for (i = 0; i < n; i++) {
		bev = list[i];
		out = bufferevent_get_output(bev);
		fd = bufferevent_getfd(bev);
		/*
		 * bufferevent_free clears the callbacks; the reference taken
		 * here keeps the socket open, but what its owner dropped
		 * (an aborted exchange) must not leave.
		 */
		bufferevent_getcb(bev, &rcb, &wcb, &ecb, NULL);
		live = rcb != NULL || wcb != NULL || ecb != NULL;
		if (live && fd >= 0 && evbuffer_get_length(out) > 0 &&
		    !(bufferevent_get_enabled(bev) & EV_WRITE)) {
			/* A socket bufferevent keeps the front of its output
			 * frozen except while it writes itself. */
			evbuffer_unfreeze(out, 1);
			wrote = evbuffer_write(out, fd);
			evbuffer_freeze(out, 1);
			if (evbuffer_get_length(out) > 0)
				bufferevent_enable(bev, EV_WRITE);
			else if (wrote > 0)
				bufferevent_trigger(bev, EV_WRITE, 0);
		}
		bufferevent_decref(bev);
	}
	free(list);
}

static void
pw_bev_fastwrite_cb(struct evbuffer *buf, const struct evbuffer_cb_info *info,
    void *arg)
{
	struct bufferevent	*bev = arg;

	/* Only the first bytes into an empty output: more bytes join them. */
	if (info->n_added == 0 || info->orig_size != 0)
		return;
	/* Enabled with an empty output: take the write side back. */
	if (bufferevent_get_enabled(bev) & EV_WRITE)
		bufferevent_disable(bev, EV_WRITE);
	bevlist_push(&fastw, bev, pw_bev_fastwrite_run);
}

/*
 * Put a plain socket bufferevent (never a TLS one) in the mode above.
 * The caller must not hold output back by disabling EV_WRITE: in this
 * mode a disabled write side means "nothing queued yet".
 */
void
pw_bev_fastwrite(struct bufferevent *bev)
{
	if (evbuffer_add_cb(bufferevent_get_output(bev), pw_bev_fastwrite_cb,
	    bev) == NULL)
		fatalx("evbuffer_add_cb");
	bufferevent_disable(bev, EV_WRITE);
}

/*
 * These bytes as valid UTF-8, each invalid sequence replaced by U+FFFD,
 * as Go's JSON encoder does (container output often is not UTF-8, and
 * JSON text must be).  The caller frees; *outlen is its length (no NUL
 * counted; one is added).
 */
char *
pw_utf8_mend(const unsigned char *p, size_t n, size_t *outlen)
{
	char	*out = xmalloc(n * 3 + 1);
	size_t	 i = 0, o = 0, k, need;
	uint32_t cp;

	while (i < n) {
		unsigned char c = p[i];

		if (c < 0x80) {
			out[o++] = (char)c;
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf) {
			need = 1;
			cp = c & 0x1f;
		} else if (c >= 0xe0 && c <= 0xef) {
			need = 2;
			cp = c & 0x0f;
		} else if (c >= 0xf0 && c <= 0xf4) {
			need = 3;
			cp = c & 0x07;
		} else
			goto bad;
		if (i + need >= n)
			goto bad;
		for (k = 1; k <= need; k++) {
			if ((p[i + k] & 0xc0) != 0x80)
				goto bad;
			cp = (cp << 6) | (p[i + k] & 0x3f);
		}
		/* Overlong forms, surrogates and beyond U+10FFFF. */
		if ((need == 2 && cp < 0x800) || (need == 3 && cp < 0x10000) ||
		    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
			goto bad;
		memcpy(out + o, p + i, need + 1);
		o += need + 1;
		i += need + 1;
		continue;
bad:
		out[o++] = (char)0xef;
		out[o++] = (char)0xbf;
		out[o++] = (char)0xbd;
		i++;
	}
	out[o] = '\0';
	*outlen = o;
	return out;
}
