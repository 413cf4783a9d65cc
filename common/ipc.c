/*
 * ipc.c: the one message layer every portwing process uses to talk to the
 * others.  See ipc.h for the framing rules.
 */
#include "pwbuild.h"

#include <sys/socket.h>
#include <sys/uio.h>

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ipc.h"
#include "log.h"
#include "util.h"

struct ipc_out {
	TAILQ_ENTRY(ipc_out)	 entry;
	struct ipc_hdr		 hdr;
	uint8_t			*data;
	int			 fd;
};

struct ipc_chan {
	int			 fd;
	char			 name[32];
	struct event		*ev_read;
	struct event		*ev_write;
	const struct ipc_perm	*perms;
	size_t			 nperms;
	size_t			 maxlen;
	uint8_t			*rbuf;
	ipc_handler		 handler;
	ipc_closed		 closed;
	void			*arg;
	uint32_t		 peer;
	TAILQ_HEAD(, ipc_out)	 outq;
	size_t			 nqueued;
	int			 dispatching;
	int			 dead;
	int			 batch;		/* records read per wake-up */
	void			(*want_write)(void *);	/* polled mode */
	void			*warg;
};

static void	ipc_read_cb(evutil_socket_t, short, void *);
static void	ipc_write_cb(evutil_socket_t, short, void *);
static int	ipc_flush(struct ipc_chan *);

int
ipc_socketpair(int sv[2])
{
	int	size = 1 << 20;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK,
	    0, sv) == -1)
		return -1;
	/* Room for bursts of messages before a sender sees EAGAIN. */
	(void)setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
	(void)setsockopt(sv[1], SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
	return 0;
}

/* What both kinds of channel share: buffers, bounds, callbacks. */
static struct ipc_chan *
ipc_chan_alloc(int fd, const char *name, const struct ipc_perm *perms,
    size_t nperms, ipc_handler handler, ipc_closed closed, void *arg)
{
	struct ipc_chan	*c;
	size_t		 i;

	c = xcalloc(1, sizeof(*c));
	c->fd = fd;
	pw_strlcpy(c->name, name, sizeof(c->name));
	c->perms = perms;
	c->nperms = nperms;
	for (i = 0; i < nperms; i++)
		if (perms[i].maxlen > c->maxlen)
			c->maxlen = perms[i].maxlen;
	c->rbuf = xmalloc(sizeof(struct ipc_hdr) + c->maxlen + 1);
	c->handler = handler;
	c->closed = closed;
	c->arg = arg;
	TAILQ_INIT(&c->outq);
	c->batch = 64;
	if (pw_set_nonblock(fd) == -1)
		fatal("ipc %s: nonblock", name);
	return c;
}

struct ipc_chan *
ipc_chan_new(struct event_base *base, int fd, const char *name,
    const struct ipc_perm *perms, size_t nperms, ipc_handler handler,
    ipc_closed closed, void *arg)
{
	struct ipc_chan	*c;

	c = ipc_chan_alloc(fd, name, perms, nperms, handler, closed, arg);
	c->ev_read = event_new(base, fd, EV_READ | EV_PERSIST, ipc_read_cb, c);
	c->ev_write = event_new(base, fd, EV_WRITE, ipc_write_cb, c);
	if (c->ev_read == NULL || c->ev_write == NULL)
		fatalx("ipc %s: event_new", name);
	event_add(c->ev_read, NULL);
	return c;
}

/*
 * A channel driven by another event loop (the edge process runs
 * libwebsockets' own): the owner calls ipc_chan_readable and
 * ipc_chan_writable when the descriptor is ready, and want_write(warg)
 * asks it to watch for writability once a send would block.
 */
struct ipc_chan *
ipc_chan_new_polled(int fd, const char *name, const struct ipc_perm *perms,
    size_t nperms, ipc_handler handler, ipc_closed closed, void *arg,
    void (*want_write)(void *), void *warg)
{
	struct ipc_chan	*c;

	c = ipc_chan_alloc(fd, name, perms, nperms, handler, closed, arg);
	c->want_write = want_write;
	c->warg = warg;
	return c;
}

void
ipc_chan_readable(struct ipc_chan *c)
{
	if (!c->dead)
		ipc_read_cb(c->fd, EV_READ, c);
}

void
ipc_chan_writable(struct ipc_chan *c)
{
	(void)ipc_flush(c);
}

static void
ipc_out_free(struct ipc_out *o)
{
	if (o->fd != -1)
		close(o->fd);
	/* Payloads may hold a presented token: wipe before freeing. */
	freezero(o->data, o->hdr.len);
	free(o);
}

void
ipc_chan_free(struct ipc_chan *c)
{
	struct ipc_out	*o;

	if (c == NULL)
		return;
	if (c->dispatching) {
		/* Freed from inside its own handler: finish after it returns. */
		c->dead = 1;
		c->handler = NULL;
		c->closed = NULL;
		return;
	}
	while ((o = TAILQ_FIRST(&c->outq)) != NULL) {
		TAILQ_REMOVE(&c->outq, o, entry);
		ipc_out_free(o);
	}
	if (c->ev_read != NULL) {
		event_free(c->ev_read);
		event_free(c->ev_write);
	}
	close(c->fd);
	freezero(c->rbuf, sizeof(struct ipc_hdr) + c->maxlen + 1);
	free(c);
}

void
ipc_set_peer(struct ipc_chan *c, uint32_t peer)
{
	c->peer = peer;
}

/*
 * Records read per wake-up (64 by default).  Reading until recvmsg says
 * EAGAIN costs a system call per wake-up that finds nothing; on a
 * channel that carries one record per request (worker and authd), one
 * record per wake-up costs no more, since epoll reports a channel with
 * records left again at once, together with whatever else is ready.
 */
void
ipc_set_batch(struct ipc_chan *c, int n)
{
	c->batch = n > 0 ? n : 1;
}

uint32_t
ipc_peer(struct ipc_chan *c)
{
	return c->peer;
}

int
ipc_fd(struct ipc_chan *c)
{
	return c->fd;
}

const char *
ipc_name(struct ipc_chan *c)
{
	return c->name;
}

size_t
ipc_queued(struct ipc_chan *c)
{
	return c->nqueued;
}

static ssize_t
ipc_sendmsg(int fd, const struct ipc_hdr *hdr, const void *data, int pfd)
{
	struct msghdr	 mh;
	struct iovec	 iov[2];
	union {
		struct cmsghdr	hdr;
		char		buf[CMSG_SPACE(sizeof(int))];
	} cm;
	struct cmsghdr	*cmsg;

	memset(&mh, 0, sizeof(mh));
	iov[0].iov_base = (void *)hdr;
	iov[0].iov_len = sizeof(*hdr);
	iov[1].iov_base = (void *)data;
	iov[1].iov_len = hdr->len;
	mh.msg_iov = iov;
	mh.msg_iovlen = hdr->len ? 2 : 1;
	if (pfd != -1) {
		memset(&cm, 0, sizeof(cm));
		mh.msg_control = cm.buf;
		mh.msg_controllen = sizeof(cm.buf);
		cmsg = CMSG_FIRSTHDR(&mh);
		cmsg->cmsg_level = SOL_SOCKET;
		cmsg->cmsg_type = SCM_RIGHTS;
		cmsg->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(cmsg), &pfd, sizeof(int));
	}
	return sendmsg(fd, &mh, MSG_NOSIGNAL);
}

/*
 * Queue one record.  The channel takes ownership of fd (if not -1) and
 * closes it once sent or if the channel dies first.  Returns -1 only when
 * the channel is already dead.
 */
int
ipc_send(struct ipc_chan *c, uint16_t type, uint32_t peer, uint32_t id,
    const void *data, size_t len, int fd)
{
	struct ipc_out	*o;

	if (c->dead || len > UINT32_MAX) {
		if (fd != -1)
			close(fd);
		return -1;
	}
	o = xcalloc(1, sizeof(*o));
	o->hdr.type = type;
	o->hdr.flags = fd != -1 ? IPC_F_FD : 0;
	o->hdr.len = (uint32_t)len;
	o->hdr.peer = peer;
	o->hdr.id = id;
	o->fd = fd;
	if (len) {
		o->data = xmalloc(len);
		memcpy(o->data, data, len);
	}
	TAILQ_INSERT_TAIL(&c->outq, o, entry);
	c->nqueued++;
	if (c->nqueued == 1)
		return ipc_flush(c);
	return 0;
}

static int
ipc_flush(struct ipc_chan *c)
{
	struct ipc_out	*o;

	while ((o = TAILQ_FIRST(&c->outq)) != NULL) {
		if (ipc_sendmsg(c->fd, &o->hdr, o->data, o->fd) == -1) {
			if (errno == EAGAIN || errno == EWOULDBLOCK ||
			    errno == ENOBUFS) {
				if (c->ev_write != NULL)
					event_add(c->ev_write, NULL);
				else
					c->want_write(c->warg);
				return 0;
			}
			if (errno == EINTR)
				continue;
			log_debug("ipc %s: sendmsg: %s", c->name, strerror(errno));
			return -1;	/* the read side will see the close */
		}
		TAILQ_REMOVE(&c->outq, o, entry);
		c->nqueued--;
		ipc_out_free(o);
	}
	return 0;
}

static void
ipc_write_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct ipc_chan	*c = arg;

	(void)ipc_flush(c);
}

/* Blocking send and receive, for the start-up handshake only. */
int
ipc_send_sync(int fd, uint16_t type, uint32_t peer, uint32_t id,
    const void *data, size_t len, int pfd)
{
	struct ipc_hdr	hdr;

	memset(&hdr, 0, sizeof(hdr));
	hdr.type = type;
	hdr.flags = pfd != -1 ? IPC_F_FD : 0;
	hdr.len = (uint32_t)len;
	hdr.peer = peer;
	hdr.id = id;
	for (;;) {
		if (ipc_sendmsg(fd, &hdr, data, pfd) != -1)
			return 0;
		if (errno != EINTR)
			return -1;
	}
}

static ssize_t
ipc_recvmsg(int fd, uint8_t *buf, size_t bufsz, int *pfd, int *flags)
{
	struct msghdr	 mh;
	struct iovec	 iov;
	union {
		struct cmsghdr	hdr;
		char		buf[CMSG_SPACE(sizeof(int) * 4)];
	} cm;
	struct cmsghdr	*cmsg;
	ssize_t		 n;
	int		 nfds, i, fds[4];

	*pfd = -1;
	memset(&mh, 0, sizeof(mh));
	iov.iov_base = buf;
	iov.iov_len = bufsz;
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	mh.msg_control = cm.buf;
	mh.msg_controllen = sizeof(cm.buf);
	n = recvmsg(fd, &mh, MSG_CMSG_CLOEXEC);
	if (n <= 0)
		return n;
	*flags = mh.msg_flags;
	for (cmsg = CMSG_FIRSTHDR(&mh); cmsg != NULL;
	    cmsg = CMSG_NXTHDR(&mh, cmsg)) {
		if (cmsg->cmsg_level != SOL_SOCKET ||
		    cmsg->cmsg_type != SCM_RIGHTS) {
			*flags |= MSG_CTRUNC;
			continue;
		}
		nfds = (int)((cmsg->cmsg_len - CMSG_LEN(0)) / sizeof(int));
		if (nfds > 4)
			nfds = 4;
		memcpy(fds, CMSG_DATA(cmsg), (size_t)nfds * sizeof(int));
		for (i = 0; i < nfds; i++) {
			if (*pfd == -1)
				*pfd = fds[i];
			else {
				close(fds[i]);		/* more than one: refused */
				*flags |= MSG_CTRUNC;
			}
		}
	}
	return n;
}

int
ipc_recv_sync(int fd, struct ipc_hdr *hdr, uint8_t *buf, size_t bufsz,
    int *pfd)
{
	uint8_t	*tmp;
	ssize_t	 n;
	int	 flags = 0;

	tmp = xmalloc(sizeof(*hdr) + bufsz + 1);
	for (;;) {
		struct pollfd pfd_wait = { fd, POLLIN, 0 };

		n = ipc_recvmsg(fd, tmp, sizeof(*hdr) + bufsz + 1, pfd, &flags);
		if (n != -1 || (errno != EINTR && errno != EAGAIN))
			break;
		if (errno == EAGAIN)
			(void)poll(&pfd_wait, 1, -1);
	}
	if (n < (ssize_t)sizeof(*hdr) || (flags & (MSG_TRUNC | MSG_CTRUNC))) {
		freezero(tmp, sizeof(*hdr) + bufsz + 1);
		if (*pfd != -1)
			close(*pfd);
		*pfd = -1;
		errno = n == 0 ? EPIPE : EPROTO;
		return -1;
	}
	memcpy(hdr, tmp, sizeof(*hdr));
	if (hdr->len != (size_t)n - sizeof(*hdr)) {
		freezero(tmp, sizeof(*hdr) + bufsz + 1);
		errno = EPROTO;
		return -1;
	}
	memcpy(buf, tmp + sizeof(*hdr), hdr->len);
	freezero(tmp, sizeof(*hdr) + bufsz + 1);
	return 0;
}

static const struct ipc_perm *
ipc_perm_find(struct ipc_chan *c, uint16_t type)
{
	size_t	i;

	for (i = 0; i < c->nperms; i++)
		if (c->perms[i].type == type)
			return &c->perms[i];
	return NULL;
}

/* Ends the channel: the owner's closed callback decides what happens next. */
static void
ipc_fail(struct ipc_chan *c, const char *why, uint16_t type)
{
	if (why != NULL)
		log_warnx("ipc %s: %s (type 0x%04x %s); closing", c->name, why,
		    type, ipc_type_name(type));
	c->dead = 1;
	if (c->ev_read != NULL)
		event_del(c->ev_read);
	if (c->closed != NULL)
		c->closed(c, c->arg);
}

static void
ipc_read_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct ipc_chan		*c = arg;
	const struct ipc_perm	*perm;
	struct ipc_msg		 msg;
	ssize_t			 n;
	int			 pfd, flags, rounds;

	c->dispatching = 1;
	for (rounds = 0; rounds < c->batch && !c->dead; rounds++) {
		flags = 0;
		n = ipc_recvmsg(c->fd, c->rbuf, sizeof(struct ipc_hdr) +
		    c->maxlen + 1, &pfd, &flags);
		if (n == -1) {
			if (errno == EAGAIN || errno == EWOULDBLOCK ||
			    errno == EINTR)
				break;
			ipc_fail(c, NULL, 0);
			break;
		}
		if (n == 0) {
			ipc_fail(c, NULL, 0);
			break;
		}
		memcpy(&msg.hdr, c->rbuf, n >= (ssize_t)sizeof(msg.hdr) ?
		    sizeof(msg.hdr) : 0);
		msg.fd = pfd;
		msg.data = c->rbuf + sizeof(msg.hdr);
		if (n < (ssize_t)sizeof(msg.hdr) || (flags & MSG_TRUNC) ||
		    msg.hdr.len != (size_t)n - sizeof(msg.hdr)) {
			if (pfd != -1)
				close(pfd);
			ipc_fail(c, "malformed record", 0);
			break;
		}
		perm = ipc_perm_find(c, msg.hdr.type);
		if (perm == NULL || msg.hdr.len < perm->minlen ||
		    msg.hdr.len > perm->maxlen || (flags & MSG_CTRUNC) ||
		    (perm->fd != IPC_FD_OPTIONAL &&
		    (perm->fd != (pfd != -1) ||
		    perm->fd != ((msg.hdr.flags & IPC_F_FD) != 0))) ||
		    ((pfd != -1) != ((msg.hdr.flags & IPC_F_FD) != 0)) ||
		    (msg.hdr.flags & ~IPC_F_FD) != 0) {
			if (pfd != -1)
				close(pfd);
			ipc_fail(c, perm == NULL ? "type not permitted" :
			    "record does not match its permission", msg.hdr.type);
			break;
		}
		if (c->handler != NULL)
			c->handler(c, &msg, c->arg);
		else if (pfd != -1)
			close(pfd);
		/*
		 * The record may have carried a token (IPC_W_AUTH_REQ) or key
		 * material: handlers copy what they keep, so wipe it now
		 * rather than when the next record overwrites part of it.
		 */
		explicit_bzero(c->rbuf, (size_t)n);
	}
	c->dispatching = 0;
	if (c->dead && c->handler == NULL && c->closed == NULL)
		ipc_chan_free(c);
}

/* ---- payload builder ---- */

void
ipc_wr_init(struct ipc_wr *w)
{
	memset(w, 0, sizeof(*w));
}

void
ipc_wr_free(struct ipc_wr *w)
{
	if (w->buf != NULL)
		freezero(w->buf, w->cap);
	memset(w, 0, sizeof(*w));
}

void
ipc_wr_bytes(struct ipc_wr *w, const void *p, size_t n)
{
	size_t	ncap;
	uint8_t	*nb;

	if (w->len + n > w->cap) {
		ncap = w->cap ? w->cap : 256;
		while (ncap < w->len + n)
			ncap *= 2;
		/* Copy rather than realloc so secrets never linger in freed memory. */
		nb = xmalloc(ncap);
		if (w->len)
			memcpy(nb, w->buf, w->len);
		if (w->buf != NULL)
			freezero(w->buf, w->cap);
		w->buf = nb;
		w->cap = ncap;
	}
	if (n)
		memcpy(w->buf + w->len, p, n);
	w->len += n;
}

void
ipc_wr_u8(struct ipc_wr *w, uint8_t v)
{
	ipc_wr_bytes(w, &v, 1);
}

void
ipc_wr_u32(struct ipc_wr *w, uint32_t v)
{
	ipc_wr_bytes(w, &v, sizeof(v));
}

void
ipc_wr_u64(struct ipc_wr *w, uint64_t v)
{
	ipc_wr_bytes(w, &v, sizeof(v));
}

void
ipc_wr_strn(struct ipc_wr *w, const char *s, size_t n)
{
	ipc_wr_u32(w, (uint32_t)n);
	ipc_wr_bytes(w, s, n);
}

void
ipc_wr_str(struct ipc_wr *w, const char *s)
{
	ipc_wr_strn(w, s ? s : "", s ? strlen(s) : 0);
}

/* ---- payload reader ---- */

void
ipc_rd_init(struct ipc_rd *r, const struct ipc_msg *m)
{
	r->p = m->data;
	r->left = m->hdr.len;
	r->err = 0;
}

void
ipc_rd_bytes(struct ipc_rd *r, void *out, size_t n)
{
	if (r->err || n > r->left) {
		r->err = 1;
		memset(out, 0, n);
		return;
	}
	memcpy(out, r->p, n);
	r->p += n;
	r->left -= n;
}

/* All that is left of the payload (a tail written with ipc_wr_bytes). */
const uint8_t *
ipc_rd_rest(struct ipc_rd *r, size_t *n)
{
	const uint8_t	*p = r->p;

	*n = r->err ? 0 : r->left;
	r->p += *n;
	r->left -= *n;
	return r->err ? NULL : p;
}

uint8_t
ipc_rd_u8(struct ipc_rd *r)
{
	uint8_t	v;

	ipc_rd_bytes(r, &v, sizeof(v));
	return v;
}

uint32_t
ipc_rd_u32(struct ipc_rd *r)
{
	uint32_t v;

	ipc_rd_bytes(r, &v, sizeof(v));
	return v;
}

uint64_t
ipc_rd_u64(struct ipc_rd *r)
{
	uint64_t v;

	ipc_rd_bytes(r, &v, sizeof(v));
	return v;
}

/*
 * A length-prefixed string of at most max bytes without NUL; returns a
 * pointer into the payload (not terminated) or NULL on error.
 */
const char *
ipc_rd_strp(struct ipc_rd *r, size_t *lenp, size_t max)
{
	uint32_t	 n;
	const char	*s;

	n = ipc_rd_u32(r);
	if (r->err || n > max || n > r->left ||
	    memchr(r->p, '\0', n) != NULL) {
		r->err = 1;
		*lenp = 0;
		return NULL;
	}
	s = (const char *)r->p;
	r->p += n;
	r->left -= n;
	*lenp = n;
	return s;
}

void
ipc_rd_str(struct ipc_rd *r, char *dst, size_t dstsz)
{
	const char	*s;
	size_t		 n;

	s = ipc_rd_strp(r, &n, dstsz - 1);
	if (s == NULL) {
		dst[0] = '\0';
		return;
	}
	memcpy(dst, s, n);
	dst[n] = '\0';
}

char *
ipc_rd_strdup(struct ipc_rd *r, size_t max)
{
	const char	*s;
	size_t		 n;

	if ((s = ipc_rd_strp(r, &n, max)) == NULL)
		return NULL;
	return xstrndup(s, n);
}

int
ipc_rd_end(struct ipc_rd *r)
{
	if (r->err || r->left != 0)
		return -1;
	return 0;
}

const char *
ipc_type_name(uint16_t type)
{
	static const struct {
		uint16_t	 type;
		const char	*name;
	} names[] = {
		{ IPC_M_CONFIG, "M_CONFIG" },
		{ IPC_M_SHUTDOWN, "M_SHUTDOWN" },
		{ IPC_M_RELOAD, "M_RELOAD" },
		{ IPC_C_READY, "C_READY" },
		{ IPC_C_RELOADED, "C_RELOADED" },
		{ IPC_C_LOG, "C_LOG" },
		{ IPC_M_LISTENER, "M_LISTENER" },
		{ IPC_M_TLS, "M_TLS" },
		{ IPC_M_MTLS_CA, "M_MTLS_CA" },
		{ IPC_M_MTLS_AUTHD, "M_MTLS_AUTHD" },
		{ IPC_M_AUTHD_CHAN, "M_AUTHD_CHAN" },
		{ IPC_M_PROXY_CHAN, "M_PROXY_CHAN" },
		{ IPC_M_KEYD_CHAN, "M_KEYD_CHAN" },
		{ IPC_M_TLS_KEY, "M_TLS_KEY" },
		{ IPC_W_SIGN, "W_SIGN" },
		{ IPC_K_SIG, "K_SIG" },
		{ IPC_M_WORKER_CHAN, "M_WORKER_CHAN" },
		{ IPC_M_DOCKER_ANS, "M_DOCKER_ANS" },
		{ IPC_P_DOCKER_REQ, "P_DOCKER_REQ" },
		{ IPC_W_AUTH_REQ, "W_AUTH_REQ" },
		{ IPC_A_AUTH_ANS, "A_AUTH_ANS" },
		{ IPC_W_STREAM, "W_STREAM" },
		{ IPC_M_KEYS, "M_KEYS" },
		{ IPC_M_ENROLL_DONE, "M_ENROLL_DONE" },
		{ IPC_A_ENROLL_ADD, "A_ENROLL_ADD" },
		{ IPC_W_ENROLL_REQ, "W_ENROLL_REQ" },
		{ IPC_A_ENROLL_ANS, "A_ENROLL_ANS" },
		{ IPC_E_DIAL, "E_DIAL" },
		{ IPC_M_DIAL, "M_DIAL" },
		{ IPC_M_EDGE_CHAN, "M_EDGE_CHAN" },
		{ IPC_E_SUB, "E_SUB" },
		{ IPC_E_UNSUB, "E_UNSUB" },
		{ IPC_E_METRICS, "E_METRICS" },
		{ IPC_P_EDGE_FRAME, "P_EDGE_FRAME" },
		{ IPC_P_EDGE_INFO, "P_EDGE_INFO" },
	};
	size_t	i;

	for (i = 0; i < nitems(names); i++)
		if (names[i].type == type)
			return names[i].name;
	return "unknown";
}
