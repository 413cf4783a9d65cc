/*
 * conn.c: one client connection in a worker, as a state machine.
 *
 *   READ_HEAD --parsed--> (public route) --------------------> respond
 *       |                                                        |
 *       +--> AUTH_WAIT --authd ok--> (own route) ---> respond ----+
 *                           |                                    |
 *                           +--> PROXY --101--> UPGRADED --> close
 *                                  |                             |
 *                                  +--END--> keep-alive? READ_HEAD : CLOSING
 *
 * Every transition happens here.  Bad client input gets a precise status
 * and closes this connection only; nothing a client sends can end the
 * process.  Buffers are bounded: a side that cannot keep up stops the
 * other side from being read (WORKER_HIGH_WATER per direction).
 */
#include "pwbuild.h"

#include <sys/ioctl.h>
#include <sys/socket.h>
#include <arpa/inet.h>
#include <netinet/tcp.h>

#include <sys/mman.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <jansson.h>
#include <openssl/evp.h>

#include "authd/authd.h"
#include "log.h"
#include "splice.h"
#include "pwcrypto.h"
#include "util.h"
#include "stats.h"
#include "tls.h"
#include "worker.h"

enum { TIMER_NONE, TIMER_HEADER, TIMER_IDLE, TIMER_INTERNAL };

static void	conn_readcb(struct bufferevent *, void *);
static void	conn_writecb(struct bufferevent *, void *);
static void	conn_eventcb(struct bufferevent *, short, void *);
static void	stream_readcb(struct bufferevent *, void *);
static void	stream_writecb(struct bufferevent *, void *);
static void	stream_eventcb(struct bufferevent *, short, void *);
static void	conn_read_head(struct conn *);
static int	stream_busy(struct conn *);
static int	conn_body_pump(struct conn *);
static void	conn_next_request(struct conn *);
static void	conn_close_after_flush(struct conn *);
static void	conn_linger(struct conn *);
static int	conn_linger_needless(struct conn *);
static void	conn_ask_authd(struct conn *);
static void	conn_spool_start(struct conn *);
static void	conn_spooled(struct conn *);
static void	conn_splice_stop(struct conn *);
static int	conn_stream(struct conn *);
static void	spool_pump(struct conn *);

/*
 * The request metrics (reference 10.1): every request that went through
 * authentication, with the status it got and its duration, once.  A
 * connection that ends before any answer is taken out of in-flight only.
 */
static void
conn_account(struct conn *c, int status)
{
	struct st_worker	*sw;

	if (pw_stats == NULL || c->w->slot >= ST_MAX_WORKERS)
		return;
	sw = &pw_stats->worker[c->w->slot];
	if (c->in_flight) {
		ST_ADD(sw->in_flight, -1);
		c->in_flight = 0;
		/* Answered here after authentication: audit it here too. */
		if (!c->proxied && status > 0)
			worker_audit(c, status);
	}
	if (c->counted && status > 0)
		stats_request(c->w->slot, c->req.method ? c->req.method : "",
		    status, (pw_now_us() - c->started_us) * 1000);
	c->counted = 0;
	c->proxied = 0;
}

static void
conn_timeout(evutil_socket_t fd, short ev, void *arg)
{
	struct conn	*c = arg;
	int		 kind = c->tkind;

	c->tkind = TIMER_NONE;
	if (kind == TIMER_HEADER && c->scan.pos == 0 &&
	    evbuffer_get_length(bufferevent_get_input(c->bev)) == 0) {
		conn_free(c);		/* never said a word: just close */
		return;
	}
	if (kind == TIMER_HEADER) {
		conn_error(c, 408, "timed out waiting for the request head");
		return;
	}
	if (kind == TIMER_INTERNAL && c->internal_done != NULL) {
		c->internal_done(c, 0);
		return;
	}
	conn_free(c);
}

static void
conn_arm(struct conn *c, int kind, int seconds)
{
	struct timeval	tv = { seconds, 0 };

	c->tkind = kind;
	if (kind == TIMER_NONE) {
		evtimer_del(c->timer);
		return;
	}
	evtimer_add(c->timer, &tv);
}

struct conn *
conn_new(struct worker *w, int fd, struct sockaddr *sa, int tls)
{
	struct conn	*c;
	uint32_t	 i;
	int		 one = 1, kind = tls;

	for (i = 0; i < w->table_size; i++)
		if (w->table[i] == NULL)
			break;
	if (i == w->table_size) {
		close(fd);
		return NULL;
	}
	c = xcalloc(1, sizeof(*c));
	c->w = w;
	c->idx = i;
	c->spool_fd = -1;
	w->table[i] = c;
	c->tls = tls == 1 || tls == 3;
	c->filter = tls == 2;	/* the filter's unix socket (LISTEN_SOCKET) */
	c->mtls = tls == 3;	/* the mutual-TLS listener (LISTEN_MTLS) */
	c->fd = fd;
	tls = c->tls;
	if (sa->sa_family == AF_INET)
		inet_ntop(AF_INET, &((struct sockaddr_in *)sa)->sin_addr,
		    c->peer, sizeof(c->peer));
	else if (sa->sa_family == AF_INET6)
		inet_ntop(AF_INET6, &((struct sockaddr_in6 *)sa)->sin6_addr,
		    c->peer, sizeof(c->peer));
	else
		pw_strlcpy(c->peer, kind == 4 ? "compose" : "unix",
		    sizeof(c->peer));
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (tls) {
		SSL *ssl = SSL_new(c->mtls ? w->mtls : w->tls);
		if (ssl == NULL) {
			close(fd);
			w->table[i] = NULL;
			free(c);
			return NULL;
		}
		c->bev = bufferevent_openssl_socket_new(w->base, fd, ssl,
		    BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE);
		if (c->bev != NULL)
			bufferevent_openssl_set_allow_dirty_shutdown(c->bev, 1);
	} else
		c->bev = bufferevent_socket_new(w->base, fd,
		    BEV_OPT_CLOSE_ON_FREE);
	if (c->bev == NULL)
		fatalx("bufferevent_new");
	bufferevent_setcb(c->bev, conn_readcb, conn_writecb, conn_eventcb, c);
	bufferevent_setwatermark(c->bev, EV_READ, 0, WORKER_HIGH_WATER);
	pw_bev_tune(c->bev);
	bufferevent_setwatermark(c->bev, EV_WRITE, WORKER_HIGH_WATER / 2, 0);
	if (tls)
		bufferevent_enable(c->bev, EV_READ | EV_WRITE);
	else {
		pw_bev_fastwrite(c->bev);
		bufferevent_enable(c->bev, EV_READ);
	}
	c->timer = evtimer_new(w->base, conn_timeout, c);
	c->state = CONN_READ_HEAD;
	http_scan_init(&c->scan);
	conn_arm(c, TIMER_HEADER, w->cfg.header_timeout);
	TAILQ_INSERT_TAIL(&w->conns, c, entry);
	w->nconns++;
	return c;
}

static void
conn_spool_free(struct conn *c)
{
	if (c->spool_md != NULL) {
		EVP_MD_CTX_free(c->spool_md);
		c->spool_md = NULL;
	}
	if (c->spool_fd != -1) {
		close(c->spool_fd);
		c->spool_fd = -1;
	}
	c->spool_len = c->spool_off = 0;
	c->is_signed = 0;
	c->lookout = 0;
}

/* The signed body, from its memfd into c->body. */
static int
conn_spool_load(struct conn *c)
{
	char		buf[16384];
	uint64_t	off = 0;
	ssize_t		n;

	if (c->body == NULL)
		c->body = evbuffer_new();
	while (off < c->spool_len) {
		n = pread(c->spool_fd, buf, sizeof(buf), (off_t)off);
		if (n <= 0)
			return -1;
		evbuffer_add(c->body, buf, (size_t)n);
		off += (uint64_t)n;
	}
	return 0;
}

static void
conn_stream_free(struct conn *c)
{
	conn_splice_stop(c);
	if (c->sbev != NULL) {
		bufferevent_free(c->sbev);
		c->sbev = NULL;
	}
}

/*
 * The connection is going: give its stream back to the worker's pool
 * when the last exchange on it is over in both directions (the proxy's
 * END came and ours went, nothing waits in either buffer), else close it,
 * which cancels whatever is in flight.
 */
static void
conn_stream_release(struct conn *c)
{
	if (c->sbev == NULL)
		return;
	if (!stream_busy(c) && !c->stream_eof && c->sink != SINK_PROXY &&
	    c->sink != SINK_SPOOL &&
	    evbuffer_get_length(bufferevent_get_input(c->sbev)) == 0 &&
	    evbuffer_get_length(bufferevent_get_output(c->sbev)) == 0 &&
	    worker_stream_put(c->w, c->sbev, c->sid) == 0) {
		c->sbev = NULL;
		return;
	}
	log_debug("closing the stream (state %d, sink %d, eof %d)", c->state,
	    c->sink, c->stream_eof);
	conn_stream_free(c);
}

void
conn_free(struct conn *c)
{
	struct worker	*w = c->w;

	conn_account(c, c->resp_status);
	worker_addr_release(c);
	TAILQ_REMOVE(&w->conns, c, entry);
	w->table[c->idx] = NULL;
	conn_splice_stop(c);
	conn_stream_release(c);
	conn_spool_free(c);
	if (c->bev != NULL)
		bufferevent_free(c->bev);
	event_free(c->timer);
	http_head_free(&c->req);
	if (c->body != NULL)
		evbuffer_free(c->body);
	if (c->ibody != NULL)
		evbuffer_free(c->ibody);
	free(c->mcp_id);
	free(c);
	w->nconns--;
	worker_conn_closed(w);
}

/*
 * Is the connection waiting for a request with nothing of it received?
 * 2: it never sent a byte of HTTP (a TLS handshake may be under way), or
 * its last answer is out and it only lingers; 1: an idle keep-alive
 * connection between requests; 0: busy.
 */
int
conn_idle(struct conn *c)
{
	int	n = 0;

	if (c->state == CONN_CLOSING && c->linger == 2)
		return 2;
	if (c->state != CONN_READ_HEAD || c->scan.pos != 0 ||
	    evbuffer_get_length(bufferevent_get_input(c->bev)) != 0)
		return 0;
	/* Bytes already in the kernel, not yet read: the client spoke. */
	if (ioctl(bufferevent_getfd(c->bev), FIONREAD, &n) == 0 && n > 0)
		return 0;
	return c->nreq == 0 ? 2 : 1;
}

/* Shutdown: idle connections go now, busy ones after their response. */
void
conn_drain(struct conn *c)
{
	c->keepalive = 0;
	if (conn_idle(c))
		conn_free(c);
}

/*
 * Does the current request still have body bytes the client may send and
 * nobody has read?  Such a connection can never carry another request:
 * the rest of the body would be parsed as one.
 */
static int
conn_body_unread(struct conn *c)
{
	if (c->body_done)
		return 0;
	return c->req.chunked || (c->req.has_cl && c->req.content_length > 0);
}

static void
conn_close_after_flush(struct conn *c)
{
	struct timeval	tv = { WORKER_DRAIN_SECONDS, 0 };

	c->state = CONN_CLOSING;
	conn_arm(c, TIMER_NONE, 0);
	conn_splice_stop(c);
	conn_stream_release(c);
	/*
	 * The client may still be sending: an unread body after an early
	 * answer, the rest of an over-long head after a 414 or 431,
	 * pipelined requests.  Closing with unread bytes makes the kernel
	 * send a reset, and the client may lose the answer with it.  So
	 * every close lingers: read and drop what arrives while the answer
	 * goes out, then half-close and drop more until the client's EOF,
	 * WORKER_LINGER_BYTES or WORKER_LINGER_SECONDS.
	 */
	c->linger = 1;
	c->lingered = 0;
	evbuffer_drain(bufferevent_get_input(c->bev),
	    evbuffer_get_length(bufferevent_get_input(c->bev)));
	bufferevent_enable(c->bev, EV_READ);
	if (evbuffer_get_length(bufferevent_get_output(c->bev)) == 0) {
		conn_linger(c);
		return;
	}
	/* A client that never reads its answer must not pin us. */
	c->tkind = TIMER_IDLE;
	evtimer_add(c->timer, &tv);
}

/*
 * The answer of a request read whole is out and the client has sent
 * nothing since: close now.  Lingering guards against a reset that
 * would cost the client its answer, and a reset needs unread bytes at
 * the close; a client that sends more after its last request (it said
 * close, or the worker is draining) races the close either way.  This
 * saves a wake-up, a shutdown and a read per connection-per-request
 * client.  TLS keeps lingering (close_notify first).
 */
static int
conn_linger_needless(struct conn *c)
{
	int	n = 0;

	if (!c->clean_close || c->linger != 1 || c->lingered != 0 ||
	    evbuffer_get_length(bufferevent_get_input(c->bev)) != 0)
		return 0;
	return ioctl(bufferevent_getfd(c->bev), FIONREAD, &n) == 0 && n == 0;
}

/* The answer is out: half-close and keep draining until EOF or timeout. */
static void
conn_linger(struct conn *c)
{
	struct timeval	 tv = { WORKER_LINGER_SECONDS, 0 };
	SSL		*ssl;

	if (c->linger == 2)
		return;
	c->linger = 2;
	if (c->tls && (ssl = bufferevent_openssl_get_ssl(c->bev)) != NULL)
		(void)SSL_shutdown(ssl);	/* close_notify, one way */
	shutdown(bufferevent_getfd(c->bev), SHUT_WR);
	bufferevent_enable(c->bev, EV_READ);
	c->tkind = TIMER_IDLE;
	evtimer_add(c->timer, &tv);
}

/* The response is complete: reuse the connection or close it. */
static void
conn_response_done(struct conn *c)
{
	conn_account(c, c->resp_status);
	/* An answer before the whole signed body went out: drop the stream. */
	if (c->sink == SINK_SPOOL && c->spool_fd != -1)
		conn_stream_free(c);
	/* The stream stays for the connection's next request. */
	if (!c->keepalive || c->w->draining || conn_body_unread(c)) {
		/*
		 * Nothing of the client's is left unread (no body, no
		 * pipelined bytes): once the answer is out the connection
		 * can close without lingering (conn_writecb).
		 */
		c->clean_close = !c->tls && !conn_body_unread(c) &&
		    evbuffer_get_length(bufferevent_get_input(c->bev)) == 0;
		conn_close_after_flush(c);
		return;
	}
	conn_next_request(c);
}

static void
conn_next_request(struct conn *c)
{
	http_head_free(&c->req);
	c->body_read = 0;
	if (c->body != NULL) {
		evbuffer_free(c->body);
		c->body = NULL;
	}
	c->internal = 0;
	c->internal_done = NULL;
	if (c->ibody != NULL) {
		evbuffer_free(c->ibody);
		c->ibody = NULL;
	}
	free(c->mcp_id);
	c->mcp_id = NULL;
	c->resp_started = c->resp_chunked = c->resp_close_delim = 0;
	c->resp_status = 0;
	c->body_mode = REQ_BODY_NONE;
	c->body_done = 0;
	c->body_total = 0;
	c->raw = c->raw_copy = 0;
	c->fwd = c->fwd_cancel = 0;
	conn_spool_free(c);
	c->sink = SINK_NONE;
	c->route = NULL;
	c->allow = NULL;
	c->body_limit = 0;
	memset(&c->approval, 0, sizeof(c->approval));
	c->principal[0] = '\0';
	c->state = CONN_READ_HEAD;
	http_scan_init(&c->scan);
	conn_arm(c, TIMER_IDLE, c->w->cfg.idle_timeout);
	bufferevent_enable(c->bev, EV_READ);
	if (evbuffer_get_length(bufferevent_get_input(c->bev)) > 0)
		conn_read_head(c);
}

static void
write_head(struct conn *c, int status, const char *ctype, size_t len,
    const char *extra)
{
	struct evbuffer	*out = bufferevent_get_output(c->bev);

	evbuffer_add_printf(out, "HTTP/1.1 %d %s\r\n", status,
	    http_reason(status));
	if (ctype != NULL)
		evbuffer_add_printf(out, "Content-Type: %s\r\n", ctype);
	evbuffer_add_printf(out, "Content-Length: %zu\r\n", len);
	if (extra != NULL)
		evbuffer_add(out, extra, strlen(extra));
	if (!c->keepalive)
		evbuffer_add_printf(out, "Connection: close\r\n");
	else if (c->req.minor == 0)
		evbuffer_add_printf(out, "Connection: keep-alive\r\n");
	evbuffer_add(out, "\r\n", 2);
}

/*
 * A complete response from one of our own routes.  An unread request body
 * means the connection cannot be reused.
 */
void
conn_respond(struct conn *c, int status, const char *ctype, const char *body,
    size_t len, const char *extra)
{
	if (c->state == CONN_CLOSING || c->resp_started)
		return;
	/*
	 * An answer before the body was read (401, 403, 404, 405, 413,
	 * 429, 503, an own route that ignores its body): say close, and
	 * close with a linger.  Keeping the connection would parse the
	 * body as the next request.
	 */
	if (conn_body_unread(c))
		c->keepalive = 0;
	if (c->w->draining)
		c->keepalive = 0;
	c->resp_started = 1;
	c->resp_status = status;
	write_head(c, status, ctype, len, extra);
	if (!c->is_head && len > 0)
		evbuffer_add(bufferevent_get_output(c->bev), body, len);
	log_debug("%s %s %s -> %d", c->peer, c->req.method ? c->req.method :
	    "-", c->req.path ? c->req.path : "-", status);
	conn_response_done(c);
}

/* Errors produced by portwing itself: JSON {"message": ...}. */
void
conn_error(struct conn *c, int status, const char *msg)
{
	json_t	*o;
	char	*s;

	if (c->resp_started) {
		/* Too late for a status: cut the connection instead. */
		conn_free(c);
		return;
	}
	if (dagent_path(c)) {
		/* dockeragent's clients read its envelope. */
		char m[HTTP_MAX_REQLINE + 32];
		if (status == 404)
			snprintf(m, sizeof(m), "Cannot %s %s", c->req.method,
			    c->req.path);
		dagent_error(c, status, status == 405 ? "Method Not Allowed" :
		    status == 404 ? m : msg);
		return;
	}
	switch (status) {
	case 400: case 408: case 413: case 414: case 417: case 431:
	case 501: case 505:
		c->keepalive = 0;	/* the byte stream can't be trusted */
		break;
	}
	o = json_pack("{s:s}", "message", msg);
	s = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	{
		size_t n = strlen(s);
		char *b = xmalloc(n + 2), allow[64];
		memcpy(b, s, n);
		b[n] = '\n';
		if (status == 405 && c->allow != NULL)
			snprintf(allow, sizeof(allow), "Allow: %s\r\n", c->allow);
		conn_respond(c, status, "application/json", b, n + 1,
		    status == 405 && c->allow != NULL ? allow : NULL);
		free(b);
	}
	free(s);
}

/* Errors whose exact text clients match on (reference section 5). */
void
conn_text_error(struct conn *c, int status, const char *text,
    const char *reason)
{
	char	extra[160], body[256];
	int	n;

	snprintf(extra, sizeof(extra), "X-Content-Type-Options: nosniff\r\n");
	if (reason != NULL && *reason != '\0') {
		/* Named in the dialect the client authenticated with. */
		pw_strlcat(extra, c->lookout ? "X-Lookout-Reason: " :
		    "X-Portwing-Reason: ", sizeof(extra));
		pw_strlcat(extra, reason, sizeof(extra));
		pw_strlcat(extra, "\r\n", sizeof(extra));
	}
	n = snprintf(body, sizeof(body), "%s\n", text);
	if (c->resp_started) {
		conn_free(c);
		return;
	}
	if (dagent_path(c)) {
		dagent_error(c, status, status == 401 ?
		    "missing or invalid API key" : text);
		return;
	}
	conn_respond(c, status, "text/plain; charset=utf-8", body, (size_t)n,
	    extra);
}

static void
conn_body_setup(struct conn *c, enum body_sink sink)
{
	c->sink = sink;
	c->body_done = 0;
	c->body_total = 0;
	if (sink == SINK_LOCAL && c->body_limit == 0)
		c->body_limit = WORKER_LOCAL_BODY_MAX;
	if (c->req.chunked) {
		c->body_mode = REQ_BODY_CHUNKED;
		http_chunked_init(&c->chunk);
	} else if (c->req.has_cl && c->req.content_length > 0) {
		c->body_mode = REQ_BODY_LENGTH;
		c->body_left = c->req.content_length;
	} else {
		c->body_mode = REQ_BODY_NONE;
		c->body_done = 1;
	}
	if (c->req.expect_continue && c->body_mode != REQ_BODY_NONE &&
	    c->req.minor == 1)
		evbuffer_add_printf(bufferevent_get_output(c->bev),
		    "HTTP/1.1 100 Continue\r\n\r\n");
}

static void
conn_read_head(struct conn *c)
{
	struct evbuffer	*in = bufferevent_get_input(c->bev);
	struct worker	*w = c->w;
	const char	*why = NULL;
	unsigned char	*p;
	size_t		 n;
	route_fn	 fn;
	int		 r, status = 0;

	n = evbuffer_get_length(in);
	if (n == 0)
		return;
	if (c->tkind == TIMER_IDLE)
		conn_arm(c, TIMER_HEADER, w->cfg.header_timeout);
	if (n > w->limits.max_head + 1)
		n = w->limits.max_head + 1;
	p = evbuffer_pullup(in, (ssize_t)n);
	r = http_scan(&c->scan, &w->limits, p, n, 1, &why);
	if (r == 0)
		return;
	if (r < 0) {
		conn_error(c, -r, why);
		return;
	}
	status = http_parse_request(&c->req, (const char *)p, (size_t)r);
	/*
	 * The head may carry the token and c->req holds its own copy: clear
	 * the bytes in the chain, which libevent would keep after a drain.
	 */
	explicit_bzero(p, (size_t)r);
	evbuffer_drain(in, (size_t)r);
	if (status != 0) {
		conn_error(c, status, c->req.error ? c->req.error :
		    "bad request");
		return;
	}
	conn_arm(c, TIMER_NONE, 0);
	c->nreq++;
	c->started_us = pw_now_us();
	c->keepalive = c->req.keepalive && !w->draining;
	c->is_head = strcmp(c->req.method, "HEAD") == 0;

	fn = routes_lookup_public(c, &status);
	if (status != 0) {
		conn_error(c, status, status == 405 ? "method not allowed" :
		    "not found");
		return;
	}
	if (fn != NULL) {
		conn_body_setup(c, SINK_DISCARD);
		fn(c);
		return;
	}
	if (w->cfg.edge && !c->filter && !c->mtls && !routes_edge_served(c)) {
		conn_error(c, 404, "edge mode: Docker's API is served to the "
		    "controller only (DRYDOCK_URL); this port answers /health, "
		    "/ready, /metrics and /_portwing/audit/export");
		return;
	}
	{
		const struct http_hdr *sig;
		int dialect = worker_auth_dialect(c);

		if (dialect == -1) {
			c->keepalive = 0;
			conn_text_error(c, 400, "request mixes X-Portwing-* "
			    "and X-Lookout-* signature headers", NULL);
			return;
		}
		sig = http_header(&c->req, dialect ?
		    "X-Lookout-Signature" : "X-Portwing-Signature");
		if (w->cfg.keys && sig != NULL && sig->vlen > 0) {
			conn_spool_start(c);
			return;
		}
	}
	conn_ask_authd(c);
}

/*
 * May authd pass this request on to the proxy itself (AUTHF_FORWARD)?
 * Only a proxied Docker call without a body, on a stream the proxy has
 * answered on before (so its IPC_W_STREAM is known there: authd's
 * message and the worker's travel on different channels).  A signed
 * request qualifies when it has no body (the approval then binds the
 * empty body's digest, which the proxy checks as for any signed
 * request); the filter listeners hand authd the connection itself.
 */
static int
conn_forwardable(struct conn *c)
{
	int	status = 0;

	if (c->filter || c->mtls || c->req.chunked ||
	    (c->req.has_cl && c->req.content_length > 0) ||
	    (c->req.conn_upgrade && c->req.upgrade != NULL))
		return 0;
	if (c->sbev != NULL ? !c->sknown : c->w->nidle_streams == 0)
		return 0;
	if (routes_lookup_private(c, &status) != NULL || status != 0)
		return 0;
#ifdef PW_TEST_HOOKS
	/* Test build: the dishonest worker's tricks need its own REQ. */
	for (int i = 0; i < c->req.nhdrs; i++)
		if (c->req.hdrs[i].nlen > 16 && strncasecmp(c->req.hdrs[i].name,
		    "X-Portwing-Test-", 16) == 0)
			return 0;
#endif
	return conn_stream(c) == 0 && c->sknown;
}

/* In portwing_http_requests_in_flight from authentication to the end. */
static void
conn_in_flight(struct conn *c, int on)
{
	if (c->in_flight == on)
		return;
	c->in_flight = on;
	ST_ADD(pw_stats->worker[c->w->slot].in_flight, on ? 1 : -1);
}

static void
conn_ask_authd(struct conn *c)
{
	c->counted = 1;
	c->state = CONN_AUTH_WAIT;
	c->fwd = conn_forwardable(c);
	if (worker_auth_request(c) == -1) {
		c->fwd = 0;
		conn_auth_answer(c, AUTH_UNAVAILABLE, "", "", NULL);
		return;
	}
	if (c->fwd) {
		/*
		 * authd answers only a refusal; an approval goes on to the
		 * proxy, whose answer comes on the stream as for any REQ.
		 */
		c->state = CONN_PROXY;
		c->proxied = 1;
		conn_in_flight(c, 1);
		c->body_mode = REQ_BODY_NONE;
		c->body_done = 1;
		c->sink = SINK_NONE;
	}
}

/*
 * A signed request: its signature covers the body, so the whole body is
 * read first (into a memfd, hashed as it arrives, up to
 * SIGNED_BODY_LIMIT) and authd judges the digest with the headers.
 */
static void
conn_spool_start(struct conn *c)
{
	EVP_MD_CTX	*md;

	if (c->req.has_cl && c->req.content_length >
	    (uint64_t)c->w->cfg.signed_body_limit) {
		c->keepalive = 0;
		conn_text_error(c, 413, "request body too large", NULL);
		return;
	}
	if (!c->req.chunked && !(c->req.has_cl && c->req.content_length > 0)) {
		/* No body: nothing to hold, the digest is the empty one's. */
		pwc_sha256("", 0, c->digest);
		c->is_signed = 1;
		conn_ask_authd(c);
		return;
	}
	if ((c->spool_fd = memfd_create("pw-signed-body", MFD_CLOEXEC)) == -1 ||
	    (md = EVP_MD_CTX_new()) == NULL ||
	    !EVP_DigestInit_ex(md, pwc_sha256_md(), NULL)) {
		log_warn("memfd for a signed body");
		conn_error(c, 500, "cannot hold the request body");
		return;
	}
	c->spool_md = md;
	c->is_signed = 1;
	c->body_limit = (uint64_t)c->w->cfg.signed_body_limit;
	c->state = CONN_SPOOL;
	conn_body_setup(c, SINK_SPOOL);
	if (conn_body_pump(c) == 0 && c->body_done)
		conn_spooled(c);
}

static void
conn_spooled(struct conn *c)
{
	unsigned int	len = 32;

	EVP_DigestFinal_ex(c->spool_md, c->digest, &len);
	EVP_MD_CTX_free(c->spool_md);
	c->spool_md = NULL;
	conn_ask_authd(c);
}

/* Send the spooled signed body to the proxy as DATA frames, then END. */
static void
spool_pump(struct conn *c)
{
	struct evbuffer		*out = bufferevent_get_output(c->sbev);
	struct frame_hdr	 fh;
	char			 buf[FRAME_MAX_DATA];
	ssize_t			 n;

	while (c->spool_off < c->spool_len &&
	    evbuffer_get_length(out) < WORKER_HIGH_WATER) {
		n = pread(c->spool_fd, buf, sizeof(buf), (off_t)c->spool_off);
		if (n <= 0) {
			log_warn("reading a spooled body");
			conn_free(c);
			return;
		}
#ifdef PW_TEST_HOOKS
		/* Test build: a worker changing an approved signed body. */
		if (c->spool_off == 0 && http_header(&c->req,
		    "X-Portwing-Test-Body") != NULL)
			buf[0] ^= 1;
#endif
		fh.type = FRAME_DATA;
		fh.len = (uint32_t)n;
		evbuffer_add(out, &fh, sizeof(fh));
		evbuffer_add(out, buf, (size_t)n);
		c->spool_off += (uint64_t)n;
	}
	if (c->spool_off == c->spool_len) {
		fh.type = FRAME_END;
		fh.len = 0;
		evbuffer_add(out, &fh, sizeof(fh));
		conn_spool_free(c);
		c->sink = SINK_NONE;
	}
}

void
conn_auth_answer(struct conn *c, int verdict, const char *reason,
    const char *principal, const struct approval *ap)
{
	route_fn	fn;
	int		status = 0;

	if (c->fwd) {
		/*
		 * authd answered itself: a refusal, or it could not pass the
		 * request on (then this worker sends it), or it went away
		 * before it did (FRAME_NOREQ).
		 */
		c->fwd = c->fwd_cancel = 0;
		c->state = CONN_AUTH_WAIT;
		c->proxied = 0;
		conn_in_flight(c, 0);
	}
	switch (verdict) {
	case AUTH_OK:
		break;
	case AUTH_DENIED:
		/* A token refused while its signature was ignored says so. */
		if (strcmp(reason, AUTH_REASON_NO_KEYS) == 0)
			status = STR_BAD_TOKEN;
		else
			status = stats_reason(reason);
		if (status != -1)
			ST_ADD(pw_stats->worker[c->w->slot].auth_fail[status], 1);
		/*
		 * Only Ed25519 failures, and a token refused beside ignored
		 * signature headers, name their reason to the client.
		 */
		if ((status == STR_BAD_TOKEN || status == STR_NO_CREDENTIALS) &&
		    strcmp(reason, AUTH_REASON_NO_KEYS) != 0)
			reason = "";
		conn_text_error(c, 401, "unauthorized", reason);
		return;
	case AUTH_RATE_LIMITED:
		ST_ADD(pw_stats->worker[c->w->slot].rate_limited, 1);
		conn_text_error(c, 429, *reason ? reason :
		    "too many failed attempts", NULL);
		return;
	case AUTH_TOO_LARGE:
		conn_text_error(c, 413, "request body too large", NULL);
		return;
	default:
		conn_error(c, 503, "authentication service unavailable");
		return;
	}
	pw_strlcpy(c->principal, principal, sizeof(c->principal));
	if (ap != NULL)
		c->approval = *ap;
	conn_in_flight(c, 1);
	/*
	 * The filter listeners (LISTEN_SOCKET, LISTEN_MTLS) serve Docker's
	 * API only, all of it judged by the policy: portwing's own
	 * authenticated routes need the token or a key.
	 */
	fn = NULL;
	if (!c->filter && !c->mtls)
		fn = routes_lookup_private(c, &status);
#ifdef PW_TEST_HOOKS
	/* Test build: a worker serving its own routes to a filter client. */
	else if (http_header(&c->req, "X-Portwing-Test-Own-Routes") != NULL)
		fn = routes_lookup_private(c, &status);
#endif
	if (status != 0) {
		conn_error(c, status, status == 405 ? "method not allowed" :
		    "no such portwing endpoint");
		return;
	}
	if (fn != NULL) {
		c->state = CONN_LOCAL_BODY;
		if (c->is_signed) {
			/*
			 * The body was read already, into the spool: a route
			 * that takes one (MCP) finds it in c->body.
			 */
			if (c->spool_len > 0 && conn_spool_load(c) == -1) {
				conn_error(c, 500, "cannot read the request "
				    "body");
				return;
			}
			conn_spool_free(c);
			c->sink = SINK_NONE;
			c->body_mode = REQ_BODY_NONE;
			c->body_done = 1;
			c->body_read = 1;
		} else
			conn_body_setup(c, SINK_DISCARD);
		fn(c);
		return;
	}
	conn_start_proxy(c, 0);
}

/* authd's answer to an enrollment, passed through. */
void
conn_enroll_answer(struct conn *c, int status, const char *ctype,
    const char *body, size_t len)
{
	c->state = CONN_LOCAL_BODY;
	conn_respond(c, status, ctype, body, len, status == 200 ? NULL :
	    "X-Content-Type-Options: nosniff\r\n");
}

/* Own routes that take a body: collect it (bounded), then run fn. */
void
conn_read_local_body(struct conn *c, route_fn fn, size_t limit)
{
	if (c->body_read) {
		/* Read already, to be judged with its signature. */
		if (c->body != NULL && evbuffer_get_length(c->body) > limit) {
			c->keepalive = 0;
			conn_text_error(c, 413, "request body too large", NULL);
			return;
		}
		fn(c);
		return;
	}
	if (c->req.has_cl && c->req.content_length > limit) {
		c->keepalive = 0;
		conn_text_error(c, 413, "request body too large", NULL);
		return;
	}
	c->state = CONN_LOCAL_BODY;
	c->route = fn;
	c->body_limit = limit;
	conn_body_setup(c, SINK_LOCAL);
	c->body = evbuffer_new();
	if (conn_body_pump(c) == 0 && c->body_done)
		fn(c);
}

/* Give the connection a stream, new or from the worker's pool. */
static void
stream_attach(struct conn *c, struct bufferevent *bev)
{
	c->sbev = bev;
	bufferevent_setcb(c->sbev, stream_readcb, stream_writecb,
	    stream_eventcb, c);
	bufferevent_enable(c->sbev, EV_READ);	/* writes: pw_bev_fastwrite */
}

static void
stream_open(struct conn *c, int fd)
{
	struct bufferevent	*bev;

	bev = bufferevent_socket_new(c->w->base, fd, BEV_OPT_CLOSE_ON_FREE);
	if (bev == NULL)
		fatalx("bufferevent_socket_new");
	bufferevent_setwatermark(bev, EV_READ, 0, WORKER_HIGH_WATER);
	pw_bev_tune(bev);
	bufferevent_setwatermark(bev, EV_WRITE, WORKER_HIGH_WATER / 2, 0);
	pw_bev_fastwrite(bev);
	stream_attach(c, bev);
}

/* The connection's stream to the proxy, opened on first use. */
static int
conn_stream(struct conn *c)
{
	struct bufferevent	*bev;
	int			 fd;

	if (c->sbev != NULL)
		return 0;
	if ((bev = worker_stream_get(c->w, &c->sid)) != NULL) {
		c->sknown = 1;		/* it served an exchange before */
		stream_attach(c, bev);
		return 0;
	}
	if ((fd = worker_new_stream(c->w, &c->sid)) == -1)
		return -1;
	c->sknown = 0;
	stream_open(c, fd);
	return 0;
}

void
conn_start_proxy(struct conn *c, int flags)
{
	struct frame_hdr	fh = { FRAME_END, 0 };
	int			mode;

	mode = c->req.chunked ? REQ_BODY_CHUNKED :
	    (c->req.has_cl && c->req.content_length) ? REQ_BODY_LENGTH :
	    REQ_BODY_NONE;
	if (conn_stream(c) == -1) {
		conn_error(c, 503, "Docker proxy unavailable");
		return;
	}
	c->proxied = 1;
	if (c->is_signed) {
		/* The body is already here, in the memfd authd judged. */
		c->req.content_length = c->spool_len;
		mode = c->spool_len ? REQ_BODY_LENGTH : REQ_BODY_NONE;
	}
	if (flags & PXF_DD) {
		/*
		 * A Drydock route is answered by the proxy alone; any body
		 * the client sent is read and dropped here.
		 */
		worker_proxy_request(c, PXF_DD, REQ_BODY_NONE);
		bufferevent_write(c->sbev, &fh, sizeof(fh));
		c->state = CONN_PROXY;
		(void)conn_body_pump(c);
		return;
	}
#ifdef PW_TEST_HOOKS
	/*
	 * Test build: a worker that frames a body other than it declares
	 * (X-Portwing-Test-Declare: N announces N bytes whatever follows),
	 * sends an empty DATA frame first, or bytes after its END; with
	 * X-Portwing-Test-Frame: raw, a large body goes unframed whatever
	 * was declared.
	 */
	const struct http_hdr *td = http_header(&c->req, "X-Portwing-Test-Declare");
	const struct http_hdr *tf = http_header(&c->req, "X-Portwing-Test-Frame");
	uint64_t real = c->req.content_length;
	if (td != NULL) {
		mode = REQ_BODY_LENGTH;
		c->req.content_length = strtoull(td->value, NULL, 10);
	}
#endif
	flags = (c->req.conn_upgrade && c->req.upgrade != NULL) ? PXF_UPGRADE :
	    0;
	/*
	 * A large Content-Length body goes unframed, so that the worker (for
	 * a plain connection; TLS records must be decrypted) and the proxy
	 * can splice it.
	 */
	if (!flags && !c->is_signed && mode == REQ_BODY_LENGTH &&
	    c->req.content_length >= WORKER_RAW_MIN
#ifdef PW_TEST_HOOKS
	    && ((td == NULL && tf == NULL) ||
	    (tf != NULL && strcmp(tf->value, "raw") == 0))
#endif
	    )
		flags = PXF_RAWBODY;
	worker_proxy_request(c, flags, mode);
#ifdef PW_TEST_HOOKS
	c->req.content_length = real;
	if (tf != NULL && strcmp(tf->value, "empty") == 0) {
		fh.type = FRAME_DATA;
		bufferevent_write(c->sbev, &fh, sizeof(fh));
	}
#endif
	c->state = CONN_PROXY;
	if (c->is_signed) {
		c->sink = SINK_SPOOL;
		spool_pump(c);
		return;
	}
	conn_body_setup(c, SINK_PROXY);
	c->raw = (flags & PXF_RAWBODY) != 0;
	c->raw_copy = c->tls;
	(void)conn_body_pump(c);
#ifdef PW_TEST_HOOKS
	if (tf != NULL && strcmp(tf->value, "after-end") == 0 && c->body_done) {
		static const char smuggled[] = "GET /containers/json?smuggled=1 "
		    "HTTP/1.1\r\nHost: docker\r\n\r\n";
		bufferevent_write(c->sbev, smuggled, sizeof(smuggled) - 1);
	}
#endif
}

static void
internal_begin(struct conn *c, void (*done)(struct conn *, int))
{
	struct frame_hdr	fh = { FRAME_END, 0 };

	bufferevent_write(c->sbev, &fh, sizeof(fh));
	c->state = CONN_LOCAL_WAIT;
	c->internal = 1;
	c->internal_done = done;
	conn_arm(c, TIMER_INTERNAL, c->w->cfg.request_timeout + 1);
}

/*
 * One of portwing's own routes the proxy answers, with header fields of
 * the worker's making (dockeragent's checked values); the answer is
 * relayed to the client as for any proxied call.  A body was read
 * already (the route's own), or is read and dropped.
 */
void
conn_start_own(struct conn *c, int n, const char *const *names,
    const char *const *values)
{
	struct frame_hdr	fh = { FRAME_END, 0 };

	if (conn_stream(c) == -1) {
		conn_error(c, 503, "Docker proxy unavailable");
		return;
	}
	c->proxied = 1;
	worker_own_request(c, n, names, values, 0);
	bufferevent_write(c->sbev, &fh, sizeof(fh));
	c->state = CONN_PROXY;
	(void)conn_body_pump(c);
}

/*
 * The same with a body of the worker's making (dockeragent's file
 * content, decoded from the client's JSON), sent in DATA frames.
 */
void
conn_start_own_body(struct conn *c, int n, const char *const *names,
    const char *const *values, const char *body, size_t blen)
{
	struct frame_hdr	fh = { FRAME_DATA, 0 };
	size_t			off, k;

	if (blen == 0) {
		conn_start_own(c, n, names, values);
		return;
	}
	if (conn_stream(c) == -1) {
		conn_error(c, 503, "Docker proxy unavailable");
		return;
	}
	c->proxied = 1;
	worker_own_request(c, n, names, values, blen);
	for (off = 0; off < blen; off += k) {
		k = blen - off < FRAME_MAX_DATA ? blen - off : FRAME_MAX_DATA;
		fh.type = FRAME_DATA;
		fh.len = (uint32_t)k;
		bufferevent_write(c->sbev, &fh, sizeof(fh));
		bufferevent_write(c->sbev, body + off, k);
	}
	fh.type = FRAME_END;
	fh.len = 0;
	bufferevent_write(c->sbev, &fh, sizeof(fh));
	c->state = CONN_PROXY;
	(void)conn_body_pump(c);
}

/* A request whose response we consume ourselves (readiness ping). */
void
conn_start_internal(struct conn *c, int flags, void (*done)(struct conn *, int))
{
	if (conn_stream(c) == -1) {
		done(c, 0);
		return;
	}
	worker_proxy_request(c, flags, REQ_BODY_NONE);
	internal_begin(c, done);
}

/*
 * An MCP tool call (agent/mcp.c): the proxy's answer, status and body
 * (at most CONN_IBODY_MAX), goes to done.
 */
void
conn_start_mcp(struct conn *c, const char *tool, const char *id, int tail,
    void (*done)(struct conn *, int))
{
	if (conn_stream(c) == -1) {
		done(c, 0);
		return;
	}
	if (c->ibody == NULL)
		c->ibody = evbuffer_new();
	worker_mcp_request(c, tool, id, tail);
	internal_begin(c, done);
}

/* Is an exchange on the stream in progress? */
static int
stream_busy(struct conn *c)
{
	return c->state == CONN_PROXY || c->state == CONN_LOCAL_WAIT ||
	    c->state == CONN_UPGRADED;
}

/* Append to the signed body's memfd, hashing as it goes. */
static int
spool_write(struct conn *c, struct evbuffer *src, size_t n)
{
	char	buf[16384];
	ssize_t	w;
	size_t	k, off;

	while (n > 0) {
		k = n > sizeof(buf) ? sizeof(buf) : n;
		evbuffer_remove(src, buf, k);
		EVP_DigestUpdate(c->spool_md, buf, k);
		for (off = 0; off < k; off += (size_t)w) {
			w = write(c->spool_fd, buf + off, k - off);
			if (w == -1) {
				if (errno == EINTR) {
					w = 0;
					continue;
				}
				log_warn("spooling a signed body");
				return -1;
			}
		}
		c->spool_len += k;
		n -= k;
	}
	return 0;
}

/* Frame body bytes towards the proxy (or a local sink). */
static int
emit_data(struct conn *c, struct evbuffer *src, size_t n)
{
	struct frame_hdr	 fh;
	struct evbuffer		*out;

	while (n > 0) {
		size_t k = n > FRAME_MAX_DATA ? FRAME_MAX_DATA : n;
		switch (c->sink) {
		case SINK_PROXY:
			out = bufferevent_get_output(c->sbev);
			fh.type = FRAME_DATA;
			fh.len = (uint32_t)k;
			evbuffer_add(out, &fh, sizeof(fh));
			evbuffer_remove_buffer(src, out, k);
			break;
		case SINK_LOCAL:
			evbuffer_remove_buffer(src, c->body, k);
			break;
		case SINK_SPOOL:
			if (spool_write(c, src, k) == -1)
				return -1;
			break;
		default:
			evbuffer_drain(src, k);
			break;
		}
		n -= k;
	}
	return 0;
}

/* Own routes and signed bodies are bounded: 413 beyond the limit. */
static int
over_limit(struct conn *c, size_t n)
{
	if (c->sink != SINK_LOCAL && c->sink != SINK_SPOOL)
		return 0;
	c->body_total += n;
	if (c->body_total <= c->body_limit)
		return 0;
	c->keepalive = 0;
	conn_spool_free(c);
	conn_text_error(c, 413, "request body too large", NULL);
	return 1;
}

/* The body's last byte is on its way to the proxy: END follows it. */
static void
conn_body_sent(struct conn *c)
{
	struct frame_hdr	fh = { FRAME_END, 0 };

	c->body_done = 1;
	bufferevent_write(c->sbev, &fh, sizeof(fh));
	c->sink = SINK_NONE;
}

static void
conn_splice_stop(struct conn *c)
{
	if (c->sp == NULL)
		return;
	c->body_left -= splicer_taken(c->sp);
	splicer_free(c->sp);
	c->sp = NULL;
}

/* The splicer's report: the body is through, or a side went away. */
static void
conn_spliced(struct splicer *sp, enum splice_end how, int err, void *arg)
{
	struct conn	*c = arg;
	uint64_t	 n = splicer_taken(sp);

	conn_splice_stop(c);
	switch (how) {
	case SPLICE_DONE:
		log_debug("%s %s %s: %llu body bytes spliced to the proxy",
		    c->peer, c->req.method, c->req.path, (unsigned long long)n);
		conn_body_sent(c);
		pw_bev_resume(c->bev);	/* pipelined bytes wait their turn */
		break;
	case SPLICE_EOF:
	case SPLICE_RDERR:
		/* The client left mid-body: the proxy sees the stream close. */
		log_debug("%s: client gone during the body (%s)", c->peer,
		    how == SPLICE_EOF ? "EOF" : strerror(err));
		conn_free(c);
		break;
	case SPLICE_WRERR:
		stream_eventcb(c->sbev, BEV_EVENT_WRITING | BEV_EVENT_ERROR, c);
		break;
	}
}

/*
 * PXF_RAWBODY: the body goes to the stream as it is.  What the client's
 * bufferevent already read is queued first; the client's side then stops
 * reading ahead, and once the stream has taken the queue the rest moves
 * from socket to socket by splice (or, with no pipe to be had, by copy
 * as for a framed body).
 */
static int
conn_raw_pump(struct conn *c)
{
	struct evbuffer	*out = bufferevent_get_output(c->sbev);

	if (c->sp != NULL)
		return 0;
	c->body_left -= pw_evbuffer_take(bufferevent_get_input(c->bev), out,
	    c->body_left);
	if (c->body_left == 0) {
		conn_body_sent(c);
		return 0;
	}
	if (c->raw_copy) {
		if (evbuffer_get_length(out) >= WORKER_HIGH_WATER)
			bufferevent_disable(c->bev, EV_READ);
		else
			bufferevent_enable(c->bev, EV_READ);
		return 0;
	}
	bufferevent_disable(c->bev, EV_READ);
	if (evbuffer_get_length(out) > 0)
		return 0;		/* stream_writecb comes back */
	c->sp = splicer_new(c->w->base, bufferevent_getfd(c->bev),
	    bufferevent_getfd(c->sbev), c->body_left, conn_spliced, c);
	if (c->sp == NULL) {
		log_warn("no pipe to splice a request body; copying it");
		c->raw_copy = 1;
		bufferevent_enable(c->bev, EV_READ);
	}
	return 0;
}

/*
 * Move request body bytes from the client to the sink.  Returns -1 when
 * the connection was closed (bad framing, body too large).
 */
static int
conn_body_pump(struct conn *c)
{
	struct evbuffer	*in = bufferevent_get_input(c->bev);
	struct evbuffer	*tmp;
	const char	*why = NULL;
	size_t		 n;
	int		 r;

	if (c->raw && c->sink == SINK_PROXY && !c->body_done)
		return conn_raw_pump(c);
	while (!c->body_done) {
		if (c->sink == SINK_PROXY && evbuffer_get_length(
		    bufferevent_get_output(c->sbev)) >= WORKER_HIGH_WATER) {
			bufferevent_disable(c->bev, EV_READ);
			return 0;	/* stream_writecb resumes us */
		}
		if (c->body_mode == REQ_BODY_LENGTH) {
			n = evbuffer_get_length(in);
			if (n > c->body_left)
				n = (size_t)c->body_left;
			if (n > FRAME_MAX_DATA)
				n = FRAME_MAX_DATA;
			if (n == 0)
				break;
			if (over_limit(c, n))
				return -1;
			if (emit_data(c, in, n) == -1) {
				conn_error(c, 500, "cannot hold the request body");
				return -1;
			}
			c->body_left -= n;
			if (c->body_left == 0)
				c->body_done = 1;
		} else if (c->body_mode == REQ_BODY_CHUNKED) {
			tmp = evbuffer_new();
			r = http_chunked_step(&c->chunk, in, tmp, FRAME_MAX_DATA,
			    &why);
			n = evbuffer_get_length(tmp);
			if (r >= 0 && over_limit(c, n)) {
				evbuffer_free(tmp);
				return -1;
			}
			if (r >= 0 && n > 0 && emit_data(c, tmp, n) == -1) {
				evbuffer_free(tmp);
				conn_error(c, 500, "cannot hold the request body");
				return -1;
			}
			evbuffer_free(tmp);
			if (r < 0) {
				c->keepalive = 0;
				if (c->sink == SINK_PROXY && !c->resp_started) {
					conn_stream_free(c);
					c->state = CONN_LOCAL_BODY;
				}
				conn_error(c, 400, why);
				return -1;
			}
			if (r == 1)
				c->body_done = 1;
			else if (n == 0)
				break;
		} else
			c->body_done = 1;
	}
	if (c->body_done && c->sink == SINK_PROXY)
		conn_body_sent(c);
	return 0;
}

static void
conn_readcb(struct bufferevent *bev, void *arg)
{
	struct conn	*c = arg;

	if (!c->tls && (c->state == CONN_PROXY || c->state == CONN_UPGRADED))
		(void)pw_bev_fill(bev, WORKER_HIGH_WATER);
	switch (c->state) {
	case CONN_READ_HEAD:
		conn_read_head(c);
		break;
	case CONN_LOCAL_BODY:
		if (c->sink == SINK_LOCAL && !c->body_done) {
			if (conn_body_pump(c) == 0 && c->body_done &&
			    c->route != NULL)
				c->route(c);
		}
		break;
	case CONN_SPOOL:
		if (conn_body_pump(c) == 0 && c->body_done)
			conn_spooled(c);
		break;
	case CONN_PROXY:
		if (!c->body_done && (c->sink == SINK_PROXY ||
		    c->sink == SINK_DISCARD))
			(void)conn_body_pump(c);
		break;
	case CONN_UPGRADED:
		if (c->sbev != NULL)
			evbuffer_add_buffer(bufferevent_get_output(c->sbev),
			    bufferevent_get_input(bev));
		if (c->sbev != NULL && evbuffer_get_length(
		    bufferevent_get_output(c->sbev)) >= WORKER_HIGH_WATER)
			bufferevent_disable(c->bev, EV_READ);
		break;
	case CONN_CLOSING:
		if (c->linger) {
			size_t n = evbuffer_get_length(
			    bufferevent_get_input(bev));
			evbuffer_drain(bufferevent_get_input(bev), n);
			c->lingered += n;
			if (c->lingered > WORKER_LINGER_BYTES)
				conn_free(c);
		}
		break;
	default:
		/* Pipelined bytes wait for their turn (read is bounded). */
		break;
	}
}

static void
conn_writecb(struct bufferevent *bev, void *arg)
{
	struct conn	*c = arg;
	size_t		 left = evbuffer_get_length(bufferevent_get_output(bev));

	if (c->state == CONN_CLOSING) {
		if (left == 0 && conn_linger_needless(c))
			conn_free(c);
		else if (left == 0 && c->linger)
			conn_linger(c);
		else if (left == 0)
			conn_free(c);
		return;
	}
	if (c->sbev != NULL && left < WORKER_HIGH_WATER)
		pw_bev_resume(c->sbev);
	if (c->state == CONN_UPGRADED && c->stream_eof && left == 0) {
		if (c->tls || c->client_eof) {
			conn_free(c);
			return;
		}
		shutdown(bufferevent_getfd(c->bev), SHUT_WR);
	}
}

static void
conn_eventcb(struct bufferevent *bev, short what, void *arg)
{
	struct conn	*c = arg;

	if (what & BEV_EVENT_CONNECTED)
		return;
	if ((what & BEV_EVENT_EOF) && c->state == CONN_UPGRADED &&
	    !(what & BEV_EVENT_ERROR)) {
		/* Half-close: carry it to the proxy once our output drained. */
		c->client_eof = 1;
		bufferevent_disable(c->bev, EV_READ);
		/*
		 * libevent's TLS bufferevent stops writing when it reads a
		 * close_notify, and only restarts when data lands in an
		 * empty output buffer; output still queued would never be
		 * sent.  The other direction is still open: write on.
		 */
		if (c->tls)
			bufferevent_enable(c->bev, EV_WRITE);
		if (c->sbev != NULL && evbuffer_get_length(
		    bufferevent_get_output(c->sbev)) == 0)
			shutdown(bufferevent_getfd(c->sbev), SHUT_WR);
		if (c->stream_eof && evbuffer_get_length(
		    bufferevent_get_output(c->bev)) == 0)
			conn_free(c);
		return;
	}
	/* Client gone (or TLS failure): drop everything, proxy sees EOF. */
	if (c->tls)
		tls_handshake_ended(bufferevent_openssl_get_ssl(bev),
		    bufferevent_get_openssl_error(bev), c->peer);
	conn_free(c);
}

static void
stream_writecb(struct bufferevent *bev, void *arg)
{
	struct conn	*c = arg;
	size_t		 left = evbuffer_get_length(bufferevent_get_output(bev));

	if (c->state == CONN_UPGRADED) {
		if (c->client_eof && left == 0)
			shutdown(bufferevent_getfd(bev), SHUT_WR);
		else if (!c->client_eof && left < WORKER_HIGH_WATER)
			pw_bev_resume(c->bev);
		return;
	}
	if (c->state == CONN_PROXY && c->sink == SINK_SPOOL &&
	    left < WORKER_HIGH_WATER) {
		spool_pump(c);
		return;
	}
	if (c->state == CONN_PROXY && c->raw && c->sink == SINK_PROXY) {
		(void)conn_raw_pump(c);	/* splices once this is empty */
		return;
	}
	if (c->state == CONN_PROXY && !c->body_done &&
	    left < WORKER_HIGH_WATER) {
		bufferevent_enable(c->bev, EV_READ);
		(void)conn_body_pump(c);
	}
}

/* Turn a FRAME_HEAD from the proxy into the client's response head. */
static int
relay_head(struct conn *c, const uint8_t *p, size_t len)
{
	struct frame_head	 fh;
	struct evbuffer		*out = bufferevent_get_output(c->bev);

	if (len < sizeof(fh))
		return -1;
	memcpy(&fh, p, sizeof(fh));
	if (fh.status < 100 || fh.status > 599)
		return -1;
	c->resp_status = (int)fh.status;
	if (c->internal)
		return 0;
	c->resp_started = 1;
	if (fh.flags & FH_CLOSE)
		c->keepalive = 0;
	if (c->w->draining)
		c->keepalive = 0;
	/*
	 * The answer started before the client finished its body (the
	 * proxy refused early): the connection will not be reused, say so.
	 */
	if (!(fh.flags & FH_UPGRADE) && conn_body_unread(c))
		c->keepalive = 0;
	evbuffer_add_printf(out, "HTTP/1.1 %u %s\r\n", fh.status,
	    http_reason((int)fh.status));
	evbuffer_add(out, p + sizeof(fh), len - sizeof(fh));
	if (fh.flags & FH_UPGRADE) {
		evbuffer_add(out, "\r\n", 2);
		return 1;
	}
	if (fh.flags & FH_LENGTH)
		evbuffer_add_printf(out, "Content-Length: %llu\r\n",
		    (unsigned long long)fh.content_length);
	else if (!(fh.flags & FH_NOBODY)) {
		if (c->req.minor >= 1) {
			evbuffer_add_printf(out,
			    "Transfer-Encoding: chunked\r\n");
			c->resp_chunked = 1;
		} else {
			c->resp_close_delim = 1;
			c->keepalive = 0;
		}
	}
	if (!c->keepalive)
		evbuffer_add_printf(out, "Connection: close\r\n");
	else if (c->req.minor == 0 || (fh.flags & FH_KEEPALIVE))
		evbuffer_add_printf(out, "Connection: keep-alive\r\n");
	evbuffer_add(out, "\r\n", 2);
	return 0;
}

static void
conn_upgrade(struct conn *c)
{
	struct evbuffer	*sin = bufferevent_get_input(c->sbev);

	c->state = CONN_UPGRADED;
	evbuffer_add_buffer(bufferevent_get_output(c->bev), sin);
	evbuffer_add_buffer(bufferevent_get_output(c->sbev),
	    bufferevent_get_input(c->bev));
	pw_bev_resume(c->bev);
}

static void
stream_readcb(struct bufferevent *bev, void *arg)
{
	struct conn		*c = arg;
	struct evbuffer		*in = bufferevent_get_input(bev);
	struct evbuffer		*out = bufferevent_get_output(c->bev);
	struct frame_hdr	 fh;
	uint8_t			*p;
	int			 r;

	if (!stream_busy(c)) {
		log_warnx("unexpected bytes from the proxy; dropping the stream");
		conn_stream_free(c);
		return;
	}
	(void)pw_bev_fill(bev, WORKER_HIGH_WATER);
	for (;;) {
		if (c->state == CONN_UPGRADED) {
			evbuffer_add_buffer(out, in);
			if (evbuffer_get_length(out) >= WORKER_HIGH_WATER)
				bufferevent_disable(bev, EV_READ);
			return;
		}
		if (!c->internal && evbuffer_get_length(out) >=
		    WORKER_HIGH_WATER) {
			bufferevent_disable(bev, EV_READ);
			return;		/* conn_writecb resumes us */
		}
		if (evbuffer_get_length(in) < sizeof(fh))
			return;
		evbuffer_copyout(in, &fh, sizeof(fh));
		if ((fh.type == FRAME_HEAD && fh.len > FRAME_MAX_HEAD) ||
		    (fh.type == FRAME_DATA && fh.len > FRAME_MAX_DATA) ||
		    ((fh.type == FRAME_END || fh.type == FRAME_ABORT ||
		    fh.type == FRAME_NOREQ) && fh.len != 0) ||
		    fh.type < FRAME_DATA || fh.type == FRAME_REQ ||
		    fh.type == FRAME_CANCEL || fh.type > FRAME_NOREQ) {
			log_warnx("malformed frame from proxy");
			goto abort;
		}
		if (evbuffer_get_length(in) < sizeof(fh) + fh.len)
			return;
		evbuffer_drain(in, sizeof(fh));
		c->sknown = 1;
		switch (fh.type) {
		case FRAME_NOREQ:
			/* authd died before it passed our request on. */
			if (!c->fwd_cancel || c->resp_started)
				goto abort;
			conn_auth_answer(c, AUTH_UNAVAILABLE, "", "", NULL);
			return;
		case FRAME_HEAD:
			if (c->resp_started)
				goto abort;
			p = evbuffer_pullup(in, fh.len);
			r = relay_head(c, p, fh.len);
			evbuffer_drain(in, fh.len);
			if (r < 0)
				goto abort;
			if (r == 1) {
				conn_upgrade(c);
				return;
			}
			break;
		case FRAME_DATA:
			if (c->internal && c->ibody != NULL) {
				if (evbuffer_get_length(c->ibody) + fh.len >
				    CONN_IBODY_MAX) {
					log_warnx("an internal answer over %d "
					    "bytes", CONN_IBODY_MAX);
					goto abort;
				}
				evbuffer_remove_buffer(in, c->ibody, fh.len);
				break;
			}
			if (c->internal || c->is_head) {
				evbuffer_drain(in, fh.len);
				break;
			}
			if (c->resp_chunked)
				evbuffer_add_printf(out, "%x\r\n", fh.len);
			evbuffer_remove_buffer(in, out, fh.len);
			if (c->resp_chunked)
				evbuffer_add(out, "\r\n", 2);
			break;
		case FRAME_END:
			if (c->internal) {
				c->internal_done(c, c->resp_status);
				return;
			}
			if (!c->resp_started)
				goto abort;
			if (c->resp_chunked && !c->is_head)
				evbuffer_add(out, "0\r\n\r\n", 5);
			log_debug("%s %s %s -> %d (proxied)", c->peer,
			    c->req.method, c->req.path, c->resp_status);
			conn_response_done(c);
			return;
		case FRAME_ABORT:
			goto abort;
		}
	}
abort:
	if (c->internal) {
		c->internal_done(c, 0);
		return;
	}
	if (!c->resp_started) {
		conn_stream_free(c);
		conn_error(c, 502, "Docker request failed");
		return;
	}
	/* Mid-response: cut the connection so the client sees the loss. */
	conn_free(c);
}

static void
stream_eventcb(struct bufferevent *bev, short what, void *arg)
{
	struct conn	*c = arg;

	if (!stream_busy(c)) {
		/* Between requests (e.g. the proxy restarted): just drop it. */
		conn_stream_free(c);
		return;
	}
	if (c->state == CONN_UPGRADED) {
		c->stream_eof = 1;
		bufferevent_disable(bev, EV_READ);
		if (evbuffer_get_length(bufferevent_get_output(c->bev)) == 0) {
			if (c->tls || c->client_eof) {
				conn_free(c);
				return;
			}
			shutdown(bufferevent_getfd(c->bev), SHUT_WR);
		}
		return;
	}
	/* The stream ended before END: the proxy went away or gave up. */
	log_debug("stream to proxy ended early (events 0x%x, %zu bytes unread)",
	    what, evbuffer_get_length(bufferevent_get_input(bev)));
	if (c->internal) {
		c->internal_done(c, 0);
		return;
	}
	if (!c->resp_started) {
		conn_stream_free(c);
		conn_error(c, 502, "Docker proxy connection lost");
		return;
	}
	conn_free(c);
}
