/*
 * presp.c: the proxy's half of response filtering (policy/redact.h and
 * DESIGN.md, "The policy engine").
 *
 * Docker's answers carry strings clients wrote (env, labels, names), so
 * the proxy, which holds Docker connections, never parses them.  A 2xx
 * answer on a route the policy filters is held here (at most 8 MiB),
 * put in a memfd that is sealed against writing, growing and shrinking,
 * and handed to policyd (IPC_P_RESPONSE) together with a second, empty
 * memfd (IPC_P_RESP_SINK).  policyd answers pass, hide (404), reject
 * (502) or rewritten (IPC_D_RESPONSE); a rewritten answer is in the sink,
 * which the proxy then seals and reads, and forwards only when its size
 * and SHA-256 are the ones policyd announced.  Docker's own bytes go out
 * only when policyd's digest of them is the proxy's own.
 */
#include "pwbuild.h"

#include <sys/mman.h>
#include <sys/queue.h>
#include <sys/stat.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>

#include "ipc.h"
#include "log.h"
#include "pgate.h"
#include "presp.h"
#include "pwcrypto.h"
#include "redact.h"
#include "util.h"

#define PRESP_TIMEOUT_S		10

struct presp {
	TAILQ_ENTRY(presp)	 entry;
	int			 asked;
	uint32_t		 id;
	uint32_t		 gen;
	int			 status;
	struct evbuffer		*lines;	/* Docker's header lines */
	struct evbuffer		*body;
	int			 sink;
	int			 over;	/* passed POL_RESP_MAX: dropped */
	uint8_t			 digest[32];
	struct event		*timer;
	presp_cb		 cb;
	void			*arg;
};

static struct {
	struct event_base	*base;
	uint32_t		 seq;
	TAILQ_HEAD(, presp)	 pending;
	int			 init;
} rs;

static void
init_once(void)
{
	if (rs.init)
		return;
	TAILQ_INIT(&rs.pending);
	rs.init = 1;
}

int
presp_want(const struct pgate_req *g, int status, int is_head, int has_cl,
    uint64_t cl)
{
	(void)has_cl;
	(void)cl;
	return g->rroute != PRR_NONE && !is_head && status >= 200 &&
	    status < 300 && status != 204 && status != 205;
}

struct presp *
presp_new(struct event_base *base, int status, struct evbuffer *lines)
{
	struct presp	*p;

	init_once();
	rs.base = base;
	p = xcalloc(1, sizeof(*p));
	p->status = status;
	p->lines = lines;
	p->body = evbuffer_new();
	p->sink = -1;
	return p;
}

void
presp_overflow(struct presp *p)
{
	p->over = 1;
	evbuffer_drain(p->body, evbuffer_get_length(p->body));
}

int
presp_add(struct presp *p, struct evbuffer *src, size_t n)
{
	if (p->over || evbuffer_get_length(p->body) + n > POL_RESP_MAX) {
		presp_overflow(p);
		evbuffer_drain(src, n);
		return -1;
	}
	evbuffer_remove_buffer(src, p->body, n);
	return 0;
}

static void
finish(struct presp *p, int status, const char *body, size_t len,
    const char *why)
{
	presp_cb	 cb = p->cb;
	void		*arg = p->arg;

	if (p->asked) {
		TAILQ_REMOVE(&rs.pending, p, entry);
		p->asked = 0;
	}
	if (p->timer != NULL) {
		event_free(p->timer);
		p->timer = NULL;
	}
	cb(arg, status, p->lines, body, len, why);
}

static void
timeout_cb(evutil_socket_t fd, short ev, void *arg)
{
	finish(arg, 503, NULL, 0, "the policy process did not answer in time");
}

static int
sealed_memfd(const char *name, const void *buf, size_t len)
{
	const uint8_t	*b = buf;
	size_t		 off;
	ssize_t		 n;
	int		 fd;

	if ((fd = memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING)) == -1)
		return -1;
	for (off = 0; off < len; off += (size_t)n)
		if ((n = write(fd, b + off, len - off)) <= 0) {
			close(fd);
			return -1;
		}
	if (buf != NULL && fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW |
	    F_SEAL_WRITE) == -1) {
		close(fd);
		return -1;
	}
	return fd;
}

int
presp_ask(struct presp *p, const struct pgate_req *g, const char *method,
    presp_cb cb, void *arg)
{
	struct ipc_chan	*ch = pgate_channel();
	struct ipc_wr	 wr;
	struct timeval	 tv = { PRESP_TIMEOUT_S, 0 };
	size_t		 len = evbuffer_get_length(p->body);
	const uint8_t	*b;
	int		 fd, sfd;

	if (p->over)
		return -2;
	if (ch == NULL || g->gen != pgate_generation())
		return -1;
	b = evbuffer_pullup(p->body, -1);
	if ((fd = sealed_memfd("pw-proxy-answer", b, len)) == -1 ||
	    (p->sink = sealed_memfd("pw-proxy-filtered", NULL, 0)) == -1) {
		log_warn("memfd for an answer to filter");
		if (fd != -1)
			close(fd);
		return -1;
	}
	/* ipc_send owns (and closes) the descriptors it is given. */
	if ((sfd = dup(p->sink)) == -1) {
		log_warn("dup");
		close(fd);
		return -1;
	}
	pwc_sha256(b, len, p->digest);
	p->cb = cb;
	p->arg = arg;
	p->gen = g->gen;
	p->id = ++rs.seq ? rs.seq : ++rs.seq;
	p->asked = 1;
	TAILQ_INSERT_TAIL(&rs.pending, p, entry);
	p->timer = evtimer_new(rs.base, timeout_cb, p);
	evtimer_add(p->timer, &tv);
	ipc_send(ch, IPC_P_RESP_SINK, 0, p->id, NULL, 0, sfd);
	ipc_wr_init(&wr);
	ipc_wr_u32(&wr, g->gen);
	ipc_wr_str(&wr, g->profile);
	ipc_wr_u32(&wr, (uint32_t)g->rroute);
	ipc_wr_str(&wr, method);
	ipc_wr_str(&wr, g->npath != NULL ? g->npath : "");
	ipc_wr_u32(&wr, (uint32_t)p->status);
	ipc_wr_u64(&wr, len);
	ipc_send(ch, IPC_P_RESPONSE, 0, p->id, wr.buf, wr.len, fd);
	ipc_wr_free(&wr);
	return 0;
}

/* The rewritten answer from the sink, checked against policyd's word. */
static char *
read_sink(struct presp *p, uint64_t len, const uint8_t want[32])
{
	struct stat	 st;
	uint8_t		 got[32];
	char		*buf;
	size_t		 off = 0;
	ssize_t		 n;

	if (len > POL_RESP_MAX || fcntl(p->sink, F_ADD_SEALS, F_SEAL_SHRINK |
	    F_SEAL_GROW | F_SEAL_WRITE) == -1 || fstat(p->sink, &st) == -1 ||
	    (uint64_t)st.st_size != len)
		return NULL;
	buf = xmalloc(len + 1);
	while (off < len) {
		if ((n = pread(p->sink, buf + off, len - off, (off_t)off)) <=
		    0) {
			free(buf);
			return NULL;
		}
		off += (size_t)n;
	}
	pwc_sha256((uint8_t *)buf, len, got);
	if (!pw_ct_equal(got, want, 32)) {
		free(buf);
		return NULL;
	}
	return buf;
}

void
presp_msg(struct ipc_msg *m)
{
	struct ipc_rd	 rd;
	struct presp	*p;
	char		 reason[257], *out;
	uint8_t		 din[32], dout[32];
	uint32_t	 gen, action;
	uint64_t	 outlen;
	size_t		 len;

	init_once();
	ipc_rd_init(&rd, m);
	gen = ipc_rd_u32(&rd);
	action = ipc_rd_u32(&rd);
	ipc_rd_str(&rd, reason, sizeof(reason));
	ipc_rd_bytes(&rd, din, sizeof(din));
	outlen = ipc_rd_u64(&rd);
	ipc_rd_bytes(&rd, dout, sizeof(dout));
	if (ipc_rd_end(&rd) == -1 || action > 4) {
		log_warnx("policyd sent a malformed response verdict");
		presp_fail_all("the policy process is unavailable");
		return;
	}
	TAILQ_FOREACH(p, &rs.pending, entry)
		if (p->id == m->hdr.id)
			break;
	if (p == NULL)
		return;		/* the request is gone */
	if (action == 4) {
		finish(p, 503, NULL, 0, reason);
		return;
	}
	if (gen != p->gen || !pw_ct_equal(din, p->digest, 32)) {
		log_error("policyd's answer on response %u does not match the "
		    "answer or the policy it was asked about", m->hdr.id);
		finish(p, 502, NULL, 0, "the verdict does not match the answer");
		return;
	}
	switch (action) {
	case PRA_PASS:
		len = evbuffer_get_length(p->body);
		finish(p, p->status, (const char *)evbuffer_pullup(p->body, -1),
		    len, NULL);
		return;
	case PRA_HIDE:
		finish(p, 404, NULL, 0, reason);
		return;
	case PRA_REJECT:
		finish(p, 502, NULL, 0, reason);
		return;
	default:
		break;
	}
	if ((out = read_sink(p, outlen, dout)) == NULL) {
		log_error("response %u: the filtered answer is not the one "
		    "policyd announced", m->hdr.id);
		finish(p, 502, NULL, 0, "the filtered answer does not match");
		return;
	}
	finish(p, p->status, out, (size_t)outlen, NULL);
	free(out);
}

void
presp_fail_all(const char *why)
{
	struct presp	*p;

	init_once();
	while ((p = TAILQ_FIRST(&rs.pending)) != NULL)
		finish(p, 503, NULL, 0, why);
}

int
presp_asked(const struct presp *p)
{
	return p != NULL && p->asked;
}

void
presp_free(struct presp *p)
{
	if (p == NULL)
		return;
	if (p->asked)
		TAILQ_REMOVE(&rs.pending, p, entry);
	if (p->timer != NULL)
		event_free(p->timer);
	if (p->lines != NULL)
		evbuffer_free(p->lines);
	evbuffer_free(p->body);
	if (p->sink != -1)
		close(p->sink);
	free(p);
}
