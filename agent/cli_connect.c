/*
 * cli_connect.c: "portwing connect", a local Docker endpoint for a remote
 * agent.  It listens on a unix socket only its owner can use, and every
 * request that arrives there goes to the agent with a fresh Ed25519
 * signature (reference http-and-auth.md 6.5), so
 *
 *	DOCKER_HOST=unix:///path/to/local.sock docker ps
 *
 * works with no token anywhere.
 *
 * Shape: the parent only accepts; each client connection gets a forked
 * child that does blocking I/O (poll where two directions matter) and
 * exits with its connection.  Per request the child reads the head with
 * the strict parser of common/http.c, spools the whole body into a memfd
 * while hashing it (the signature covers the body hash, so nothing can be
 * sent before the last byte is in), signs, forwards, and relays the
 * response by its framing.  A 101 answer (docker exec/attach) turns the
 * connection into a raw two-way pipe that carries half-closes across.
 *
 *	client ---unix---> child ---TCP/TLS---> portwingd
 *	         parse, spool, sign | relay <---
 */
#include "pwbuild.h"

#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "cli.h"
#include "http.h"
#include "log.h"
#include "pwcrypto.h"
#include "util.h"

#define CN_DEFAULT_MAX_BODY	(64ULL * 1024 * 1024)
#define CN_IO_CHUNK		(64 * 1024)
#define CN_CLIENT_BACKLOG	(1024 * 1024)	/* pipelined bytes we hold */
#define CN_CONNECT_TIMEOUT	15		/* seconds, TCP and TLS */
#define CN_LINGER_MS		2000

/* What every connection child inherits from the parent. */
struct cn_cfg {
	struct cli_url	 url;
	EVP_PKEY	*key;
	SSL_CTX		*tls;		/* NULL for http:// */
	uint64_t	 max_body;
	int		 insecure;
};

struct cn_peer {
	int		 fd;
	SSL		*ssl;
};

/* One client connection, inside its child. */
struct cn {
	const struct cn_cfg *cfg;
	struct cn_peer	 client;
	struct cn_peer	 remote;	/* fd -1: not connected */
	int		 remote_used;	/* has carried a response already */
	int		 client_eof;	/* client half-closed its side */
	struct evbuffer	*cin;		/* client bytes not yet consumed */
	struct evbuffer	*rin;		/* remote bytes not yet consumed */
	struct http_head req;
	struct http_head resp;
	int		 body_fd;	/* memfd holding the request body */
	uint64_t	 body_len;
	int		 has_body;	/* the request framed a body */
	char		 body_hex[PWC_SHA256_HEX_LEN + 1];
};

enum { CN_NEXT, CN_DONE };

static volatile sig_atomic_t cn_quit, cn_reap;

/* ---- byte I/O on either kind of peer ---- */

#define PEER_AGAIN	(-3)

/*
 * >0 bytes, 0 end of stream, -1 error, PEER_AGAIN when nothing can be read
 * now: a non-blocking socket is empty, or a TLS record carried no
 * application data (a session ticket, a key update).  The TLS context runs
 * without SSL_MODE_AUTO_RETRY so that such a record, announced by poll,
 * cannot leave us blocked in SSL_read while the client waits.
 */
static ssize_t
peer_read(struct cn_peer *p, void *buf, size_t n)
{
	ssize_t	r;
	int	e;

	if (p->ssl == NULL) {
		while ((r = read(p->fd, buf, n)) == -1 && errno == EINTR)
			;
		return r;
	}
	ERR_clear_error();
	errno = 0;
	if ((e = SSL_read(p->ssl, buf, (int)n)) > 0)
		return e;
	switch (SSL_get_error(p->ssl, e)) {
	case SSL_ERROR_ZERO_RETURN:
		return 0;
	case SSL_ERROR_WANT_READ:
	case SSL_ERROR_WANT_WRITE:
		return PEER_AGAIN;
	case SSL_ERROR_SYSCALL:
		return errno == 0 ? 0 : -1;
	default:
		return -1;
	}
}

static int
peer_write(struct cn_peer *p, const void *buf, size_t n)
{
	const char	*b = buf;
	ssize_t		 r;

	if (p->ssl != NULL) {
		/* Without SSL_MODE_ENABLE_PARTIAL_WRITE it is all or none. */
		if (n == 0)
			return 0;
		return SSL_write(p->ssl, buf, (int)n) == (int)n ? 0 : -1;
	}
	while (n > 0) {
		if ((r = write(p->fd, b, n)) == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		b += r;
		n -= (size_t)r;
	}
	return 0;
}

static int
peer_write_evbuffer(struct cn_peer *p, struct evbuffer *b)
{
	size_t	n = evbuffer_get_length(b);
	int	rc;

	if (n == 0)
		return 0;
	rc = peer_write(p, evbuffer_pullup(b, -1), n);
	evbuffer_drain(b, n);
	return rc;
}

static void
peer_close(struct cn_peer *p)
{
	if (p->ssl != NULL)
		SSL_free(p->ssl);
	if (p->fd != -1)
		close(p->fd);
	p->ssl = NULL;
	p->fd = -1;
}

/* ---- answers of our own ---- */

/*
 * Wait briefly for the client to stop sending before closing, so the
 * kernel does not answer its unread bytes with a reset that destroys the
 * response we just wrote.
 */
static void
linger_close(struct cn *c)
{
	struct pollfd	pfd = { c->client.fd, POLLIN, 0 };
	char		buf[CN_IO_CHUNK];
	uint64_t	deadline = pw_now_ms() + CN_LINGER_MS;
	size_t		total = 0;
	ssize_t		n;

	(void)shutdown(c->client.fd, SHUT_WR);
	while (total < 16 * CN_IO_CHUNK && pw_now_ms() < deadline) {
		if (poll(&pfd, 1, (int)(deadline - pw_now_ms())) <= 0)
			break;
		if ((n = read(c->client.fd, buf, sizeof(buf))) <= 0)
			break;
		total += (size_t)n;
	}
}

/* An error answer to the client, then the end of its connection. */
static int
respond_error(struct cn *c, int status, const char *msg)
{
	char	*out;
	int	 n;

	n = xasprintf(&out, "HTTP/1.1 %d %s\r\n"
	    "Content-Type: text/plain; charset=utf-8\r\n"
	    "Content-Length: %zu\r\n"
	    "Connection: close\r\n\r\nportwing: %s\n", status,
	    http_reason(status), strlen(msg) + 11, msg);
	(void)peer_write(&c->client, out, (size_t)n);
	free(out);
	linger_close(c);
	return CN_DONE;
}

/* ---- the remote connection ---- */

static int
tcp_connect_one(const struct addrinfo *ai, char *err, size_t errsz)
{
	struct pollfd	pfd;
	socklen_t	len = sizeof(int);
	int		fd, e = 0, one = 1;

	fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC |
	    SOCK_NONBLOCK, ai->ai_protocol);
	if (fd == -1) {
		snprintf(err, errsz, "socket: %s", strerror(errno));
		return -1;
	}
	if (connect(fd, ai->ai_addr, ai->ai_addrlen) == -1) {
		if (errno != EINPROGRESS)
			e = errno;
		else {
			pfd.fd = fd;
			pfd.events = POLLOUT;
			if (poll(&pfd, 1, CN_CONNECT_TIMEOUT * 1000) <= 0)
				e = ETIMEDOUT;
			else if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &e,
			    &len) == -1)
				e = errno;
		}
	}
	if (e != 0 || fcntl(fd, F_SETFL, 0) == -1) {
		snprintf(err, errsz, "%s", strerror(e != 0 ? e : errno));
		close(fd);
		return -1;
	}
	/* Interactive exec sessions send keystrokes, not bulk. */
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	(void)setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
	return fd;
}

static int
tcp_connect(const struct cli_url *u, char *err, size_t errsz)
{
	struct addrinfo	 hints, *res, *ai;
	int		 fd = -1, r;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	if ((r = getaddrinfo(u->host, u->port, &hints, &res)) != 0) {
		snprintf(err, errsz, "%s", gai_strerror(r));
		return -1;
	}
	for (ai = res; ai != NULL && fd == -1; ai = ai->ai_next)
		fd = tcp_connect_one(ai, err, errsz);
	freeaddrinfo(res);
	return fd;
}

static void
set_io_timeout(int fd, int seconds)
{
	struct timeval	tv = { seconds, 0 };

	(void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	(void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

static int
host_is_ip(const char *h)
{
	struct in6_addr	a6;
	struct in_addr	a4;

	return inet_pton(AF_INET, h, &a4) == 1 ||
	    inet_pton(AF_INET6, h, &a6) == 1;
}

static void
tls_failure(SSL *ssl, char *err, size_t errsz)
{
	long	vr = SSL_get_verify_result(ssl);
	char	buf[256];

	if (vr != X509_V_OK) {
		snprintf(err, errsz, "TLS: certificate verification failed: "
		    "%s", X509_verify_cert_error_string(vr));
		return;
	}
	ERR_error_string_n(ERR_get_error(), buf, sizeof(buf));
	snprintf(err, errsz, "TLS handshake failed: %s", buf);
}

/* SNI for names (never for addresses) and the matching identity check. */
static int
tls_connect(struct cn *c, char *err, size_t errsz)
{
	const struct cli_url	*u = &c->cfg->url;
	SSL			*ssl;
	int			 ok;

	ERR_clear_error();
	if ((ssl = SSL_new(c->cfg->tls)) == NULL ||
	    SSL_set_fd(ssl, c->remote.fd) != 1) {
		SSL_free(ssl);
		snprintf(err, errsz, "TLS: out of memory");
		return -1;
	}
	c->remote.ssl = ssl;
	if (host_is_ip(u->host))
		ok = c->cfg->insecure || X509_VERIFY_PARAM_set1_ip_asc(
		    SSL_get0_param(ssl), u->host) == 1;
	else
		ok = SSL_set_tlsext_host_name(ssl, u->host) == 1 &&
		    (c->cfg->insecure || SSL_set1_host(ssl, u->host) == 1);
	if (!ok) {
		snprintf(err, errsz, "TLS: cannot set the server name");
		return -1;
	}
	set_io_timeout(c->remote.fd, CN_CONNECT_TIMEOUT);
	if (SSL_connect(ssl) != 1) {
		tls_failure(ssl, err, errsz);
		return -1;
	}
	/* Streams (logs -f, events, exec) may be quiet for hours. */
	set_io_timeout(c->remote.fd, 0);
	return 0;
}

static int
remote_connect(struct cn *c)
{
	char	err[512], msg[768];

	c->remote_used = 0;
	evbuffer_drain(c->rin, evbuffer_get_length(c->rin));
	if ((c->remote.fd = tcp_connect(&c->cfg->url, err, sizeof(err))) ==
	    -1 || (c->cfg->tls != NULL && tls_connect(c, err,
	    sizeof(err)) == -1)) {
		peer_close(&c->remote);
		snprintf(msg, sizeof(msg), "cannot reach %s: %s",
		    c->cfg->url.authority, err);
		cli_errx("connect: %s", msg);
		respond_error(c, 502, msg);
		return -1;
	}
	return 0;
}

/* A kept connection that has anything to say before we ask is dead. */
static int
remote_stale(struct cn *c)
{
	struct pollfd	pfd = { c->remote.fd, POLLIN, 0 };

	if (c->remote.ssl != NULL && SSL_pending(c->remote.ssl) > 0)
		return 1;
	return poll(&pfd, 1, 0) != 0;
}

/*
 * Block until the remote has bytes for us.  Meanwhile keep an eye on the
 * client: pipelined bytes are kept, a hang-up ends the wait (returns 0).
 */
static int
wait_remote(struct cn *c)
{
	struct pollfd	pfd[2];
	char		buf[CN_IO_CHUNK];
	ssize_t		n;

	if (c->remote.ssl != NULL && SSL_pending(c->remote.ssl) > 0)
		return 1;
	for (;;) {
		pfd[0].fd = c->remote.fd;
		pfd[0].events = POLLIN;
		pfd[1].fd = c->client.fd;
		pfd[1].events = c->client_eof || evbuffer_get_length(c->cin) >=
		    CN_CLIENT_BACKLOG ? 0 : POLLIN;
		pfd[0].revents = pfd[1].revents = 0;
		if (poll(pfd, 2, -1) == -1) {
			if (errno == EINTR)
				continue;
			return 0;
		}
		if (pfd[0].revents != 0)
			return 1;
		if (pfd[1].revents & (POLLHUP | POLLERR | POLLNVAL))
			return 0;
		if (pfd[1].revents & POLLIN) {
			if ((n = read(c->client.fd, buf, sizeof(buf))) < 0)
				return 0;
			if (n == 0)
				c->client_eof = 1;
			else
				evbuffer_add(c->cin, buf, (size_t)n);
		}
	}
}

/* More remote bytes into rin: >0 read, 0 end, -1 error, -2 client gone. */
static ssize_t
remote_fill(struct cn *c)
{
	char	buf[CN_IO_CHUNK];
	ssize_t	n;

	do {
		if (!wait_remote(c))
			return -2;
		n = peer_read(&c->remote, buf, sizeof(buf));
	} while (n == PEER_AGAIN);
	if (n > 0)
		evbuffer_add(c->rin, buf, (size_t)n);
	return n;
}

static ssize_t
client_fill(struct cn *c)
{
	char	buf[CN_IO_CHUNK];
	ssize_t	n;

	if (c->client_eof)
		return 0;
	if ((n = peer_read(&c->client, buf, sizeof(buf))) > 0)
		evbuffer_add(c->cin, buf, (size_t)n);
	else if (n == 0)
		c->client_eof = 1;
	return n;
}

/* ---- the request from the client ---- */

/* 1: a head is in c->req; 0: the client is done; -1: answered, close. */
static int
read_request_head(struct cn *c)
{
	struct http_limits	 lim;
	struct http_scan	 scan;
	const char		*why = "bad request";
	size_t			 len;
	int			 r, st;

	http_limits_default(&lim);
	http_scan_init(&scan);
	for (;;) {
		len = evbuffer_get_length(c->cin);
		r = len == 0 ? 0 : http_scan(&scan, &lim,
		    evbuffer_pullup(c->cin, -1), len, 1, &why);
		if (r < 0) {
			cli_errx("connect: bad request from the client: %s",
			    why);
			respond_error(c, -r, why);
			return -1;
		}
		if (r > 0)
			break;
		if (client_fill(c) <= 0)
			return 0;
	}
	st = http_parse_request(&c->req,
	    (const char *)evbuffer_pullup(c->cin, r), (size_t)r);
	evbuffer_drain(c->cin, (size_t)r);
	if (st != 0) {
		why = c->req.error != NULL ? c->req.error : "bad request";
		cli_errx("connect: bad request from the client: %s", why);
		respond_error(c, st, why);
		return -1;
	}
	return 1;
}

/* Append to the spooled body: 0, 1 when over --max-body, -1 on error. */
static int
body_add(struct cn *c, EVP_MD_CTX *md, const void *p, size_t n)
{
	const char	*b = p;
	ssize_t		 w;

	if (n == 0)
		return 0;
	if (c->body_len + n > c->cfg->max_body)
		return 1;
	if (c->body_fd == -1 &&
	    (c->body_fd = memfd_create("portwing-body", MFD_CLOEXEC)) == -1) {
		cli_errx("connect: memfd_create: %s", strerror(errno));
		return -1;
	}
	if (EVP_DigestUpdate(md, p, n) != 1)
		return -1;
	c->body_len += n;
	while (n > 0) {
		if ((w = write(c->body_fd, b, n)) == -1) {
			if (errno == EINTR)
				continue;
			cli_errx("connect: spooling the body: %s",
			    strerror(errno));
			return -1;
		}
		b += w;
		n -= (size_t)w;
	}
	return 0;
}

static int
too_large(struct cn *c)
{
	char	msg[128];

	snprintf(msg, sizeof(msg), "request body larger than --max-body "
	    "(%llu bytes)", (unsigned long long)c->cfg->max_body);
	cli_errx("connect: %s", msg);
	respond_error(c, 413, msg);
	return -1;
}

/* Move n bytes from b into the body; -1 ends the connection. */
static int
body_take(struct cn *c, EVP_MD_CTX *md, struct evbuffer *b, size_t n)
{
	int	r;

	r = body_add(c, md, evbuffer_pullup(b, (ssize_t)n), n);
	evbuffer_drain(b, n);
	if (r == 1)
		return too_large(c);
	if (r == -1) {
		respond_error(c, 500, "cannot spool the request body");
		return -1;
	}
	return 0;
}

static int
spool_length(struct cn *c, EVP_MD_CTX *md)
{
	uint64_t	left = c->req.content_length;
	size_t		n;

	if (left > c->cfg->max_body)
		return too_large(c);
	while (left > 0) {
		if (evbuffer_get_length(c->cin) == 0 && client_fill(c) <= 0)
			return -1;	/* the client gave up mid-body */
		n = evbuffer_get_length(c->cin);
		if (n > left)
			n = (size_t)left;
		if (body_take(c, md, c->cin, n) == -1)
			return -1;
		left -= n;
	}
	return 0;
}

static int
spool_chunked(struct cn *c, EVP_MD_CTX *md)
{
	struct http_chunked	 ch;
	struct evbuffer		*out;
	const char		*why = "bad chunked body";
	int			 r, rc = -1;

	if ((out = evbuffer_new()) == NULL)
		return -1;
	http_chunked_init(&ch);
	for (;;) {
		r = http_chunked_step(&ch, c->cin, out, CN_IO_CHUNK, &why);
		if (r == -1) {
			cli_errx("connect: bad request body: %s", why);
			respond_error(c, 400, why);
			break;
		}
		if (body_take(c, md, out, evbuffer_get_length(out)) == -1)
			break;
		if (r == 1) {
			rc = 0;
			break;
		}
		if (evbuffer_get_length(c->cin) == 0 && client_fill(c) <= 0)
			break;
	}
	evbuffer_free(out);
	return rc;
}

/*
 * Read the whole body (if the request frames one) into a memfd, hashing
 * as it comes: the signature needs the hash before a byte is forwarded.
 */
static int
spool_body(struct cn *c)
{
	EVP_MD_CTX	*md;
	uint8_t		 d[32];
	int		 rc = 0;

	c->has_body = c->req.has_cl || c->req.chunked;
	if (c->req.expect_continue && c->has_body &&
	    c->req.content_length <= c->cfg->max_body &&
	    evbuffer_get_length(c->cin) == 0 &&
	    peer_write(&c->client, "HTTP/1.1 100 Continue\r\n\r\n", 25) == -1)
		return -1;
	if ((md = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1) {
		EVP_MD_CTX_free(md);
		respond_error(c, 500, "out of memory");
		return -1;
	}
	if (c->req.chunked)
		rc = spool_chunked(c, md);
	else if (c->req.has_cl)
		rc = spool_length(c, md);
	if (rc == 0 && EVP_DigestFinal_ex(md, d, NULL) != 1) {
		respond_error(c, 500, "hashing the body failed");
		rc = -1;
	}
	EVP_MD_CTX_free(md);
	if (rc == 0)
		pw_hex_encode(d, sizeof(d), c->body_hex, sizeof(c->body_hex));
	return rc;
}

/* ---- forwarding ---- */

static int
method_wants_body(const char *m)
{
	return strcmp(m, "POST") == 0 || strcmp(m, "PUT") == 0 ||
	    strcmp(m, "PATCH") == 0;
}

/* RFC 9110 9.2.2: safe to send twice if the first try met a dead link. */
static int
method_idempotent(const char *m)
{
	static const char *const ok[] = {
		"GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE",
	};
	size_t	i;

	for (i = 0; i < nitems(ok); i++)
		if (strcmp(m, ok[i]) == 0)
			return 1;
	return 0;
}

/*
 * Client headers that travel on: not hop-by-hop ones (including those the
 * client's Connection header names), not framing or Host (ours), and no
 * credentials: the signature is the only one the agent sees.
 */
static int
header_forwardable(const struct http_head *h, const char *name)
{
	static const char *const drop[] = {
		"Connection", "Keep-Alive", "Transfer-Encoding", "TE",
		"Trailer", "Upgrade", "Host", "Content-Length", "Expect",
		"Authorization",
	};
	const struct http_hdr	*conn;
	size_t			 i;

	if (strncasecmp(name, "X-Portwing-", 11) == 0 ||
	    strncasecmp(name, "Proxy-", 6) == 0)
		return 0;
	for (i = 0; i < nitems(drop); i++)
		if (strcasecmp(name, drop[i]) == 0)
			return 0;
	if ((conn = http_header(h, "Connection")) != NULL &&
	    http_token_list_has(conn->value, conn->vlen, name))
		return 0;
	return 1;
}

static int
request_head(struct cn *c, struct evbuffer *out)
{
	const struct http_head	*r = &c->req;
	struct cli_sig		 sig;
	int			 i;

	if (cli_sign(c->cfg->key, r->method, r->target, c->body_hex,
	    &sig) == -1)
		return -1;
	evbuffer_add_printf(out, "%s %s HTTP/1.1\r\nHost: %s\r\n", r->method,
	    r->target, c->cfg->url.authority);
	for (i = 0; i < r->nhdrs; i++)
		if (header_forwardable(r, r->hdrs[i].name))
			evbuffer_add_printf(out, "%s: %s\r\n",
			    r->hdrs[i].name, r->hdrs[i].value);
	if (c->has_body || method_wants_body(r->method))
		evbuffer_add_printf(out, "Content-Length: %llu\r\n",
		    (unsigned long long)c->body_len);
	evbuffer_add_printf(out, "X-Portwing-Key-ID: %s\r\n"
	    "X-Portwing-Timestamp: %s\r\nX-Portwing-Nonce: %s\r\n"
	    "X-Portwing-Signature: %s\r\nX-Portwing-Signature-Version: 2\r\n",
	    sig.keyid, sig.ts, sig.nonce, sig.sig);
	if (r->conn_upgrade && r->upgrade != NULL)
		evbuffer_add_printf(out, "Connection: Upgrade\r\n"
		    "Upgrade: %s\r\n", r->upgrade);
	evbuffer_add(out, "\r\n", 2);
	return 0;
}

static int
send_body(struct cn *c)
{
	char		buf[CN_IO_CHUNK];
	uint64_t	off = 0;
	ssize_t		n;

	while (off < c->body_len) {
		n = pread(c->body_fd, buf, sizeof(buf), (off_t)off);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0) {
			cli_errx("connect: reading the spooled body: %s",
			    n == 0 ? "short file" : strerror(errno));
			return -1;
		}
		if (peer_write(&c->remote, buf, (size_t)n) == -1)
			return -1;
		off += (uint64_t)n;
	}
	return 0;
}

/* 0 sent, -1 the remote failed us, -2 we could not sign. */
static int
send_request(struct cn *c)
{
	struct evbuffer	*out;
	int		 rc;

	if ((out = evbuffer_new()) == NULL)
		return -2;
	if (request_head(c, out) == -1) {
		evbuffer_free(out);
		return -2;
	}
	rc = peer_write_evbuffer(&c->remote, out);
	evbuffer_free(out);
	if (rc == -1)
		return -1;
	return send_body(c);
}

/*
 * Read the response head into c->resp; its raw bytes stay at the front of
 * rin.  Interim 1xx answers other than 101 are dropped: we never send
 * Expect, and the client got its own 100 Continue.  Returns 1, 0 when
 * the remote closed before a byte, -1 bad response, -2 client gone.
 */
static int
read_response_head(struct cn *c, size_t *headlen)
{
	struct http_limits	 lim;
	struct http_scan	 scan;
	const char		*why = "bad response";
	ssize_t			 n;
	int			 r;

	http_limits_default(&lim);
	for (;;) {
		http_scan_init(&scan);
		for (r = 0; r == 0;) {
			if (evbuffer_get_length(c->rin) > 0 && (r = http_scan(
			    &scan, &lim, evbuffer_pullup(c->rin, -1),
			    evbuffer_get_length(c->rin), 0, &why)) != 0)
				break;
			if ((n = remote_fill(c)) == -2)
				return -2;
			if (n <= 0)
				return evbuffer_get_length(c->rin) == 0 ? 0 :
				    -1;
		}
		if (r < 0 || http_parse_response(&c->resp, (const char *)
		    evbuffer_pullup(c->rin, r), (size_t)r) != 0) {
			cli_errx("connect: bad response from %s: %s",
			    c->cfg->url.authority, r < 0 ? why :
			    c->resp.error);
			return -1;
		}
		if (c->resp.status >= 200 || c->resp.status == 101)
			break;
		evbuffer_drain(c->rin, (size_t)r);
		http_head_free(&c->resp);
	}
	*headlen = (size_t)r;
	return 1;
}

/*
 * Connect if needed, sign, send, and read the response head.  A kept
 * connection the agent closed meanwhile gets one more try on a fresh one
 * (freshly signed: a nonce is never sent twice) when nothing can have been
 * done twice.  0 with c->resp filled; -1 ends the client connection.
 */
static int
forward(struct cn *c, size_t *headlen)
{
	int	attempt, reused, sent, r;

	for (attempt = 0;; attempt++) {
		if (c->remote.fd != -1 && remote_stale(c))
			peer_close(&c->remote);
		reused = c->remote.fd != -1 && c->remote_used;
		if (c->remote.fd == -1 && remote_connect(c) == -1)
			return -1;
		if ((sent = send_request(c)) == -2) {
			cli_errx("connect: signing the request failed");
			respond_error(c, 500, "signing the request failed");
			return -1;
		}
		/* Even after a failed send, the agent may have answered. */
		if ((r = read_response_head(c, headlen)) == 1)
			return 0;
		peer_close(&c->remote);
		if (r == -2)
			return -1;
		if (r == 0 && reused && attempt == 0 &&
		    (sent == -1 || method_idempotent(c->req.method)))
			continue;
		if (r == 0)
			cli_errx("connect: %s closed the connection without "
			    "an answer", c->cfg->url.authority);
		respond_error(c, 502, r == 0 ? "the agent closed the "
		    "connection without an answer" : "bad response from the "
		    "agent");
		return -1;
	}
}

/* ---- the response ---- */

/* An HTTP/1.0 client cannot read chunked: same head, closed framing. */
static int
write_head_http10(struct cn *c)
{
	const struct http_head	*h = &c->resp;
	struct evbuffer		*out;
	int			 i, rc;

	if ((out = evbuffer_new()) == NULL)
		return -1;
	evbuffer_add_printf(out, "HTTP/1.1 %d %s\r\n", h->status,
	    http_reason(h->status));
	for (i = 0; i < h->nhdrs; i++) {
		const char *n = h->hdrs[i].name;
		if (strcasecmp(n, "Transfer-Encoding") != 0 &&
		    strcasecmp(n, "Connection") != 0 &&
		    strcasecmp(n, "Keep-Alive") != 0)
			evbuffer_add_printf(out, "%s: %s\r\n", n,
			    h->hdrs[i].value);
	}
	evbuffer_add_printf(out, "Connection: close\r\n\r\n");
	rc = peer_write_evbuffer(&c->client, out);
	evbuffer_free(out);
	return rc;
}

static int
write_head(struct cn *c, size_t headlen)
{
	int	rc;

	if (c->req.minor == 0)
		rc = write_head_http10(c);
	else
		rc = peer_write(&c->client, evbuffer_pullup(c->rin,
		    (ssize_t)headlen), headlen);
	evbuffer_drain(c->rin, headlen);
	return rc;
}

static int
relay_length(struct cn *c, uint64_t left)
{
	size_t	n;

	while (left > 0) {
		if (evbuffer_get_length(c->rin) == 0 && remote_fill(c) <= 0)
			return -1;
		n = evbuffer_get_length(c->rin);
		if (n > left)
			n = (size_t)left;
		if (peer_write(&c->client, evbuffer_pullup(c->rin,
		    (ssize_t)n), n) == -1)
			return -1;
		evbuffer_drain(c->rin, n);
		left -= n;
	}
	return 0;
}

static int
relay_until_eof(struct cn *c)
{
	ssize_t	n;

	for (;;) {
		if (peer_write_evbuffer(&c->client, c->rin) == -1)
			return -1;
		if ((n = remote_fill(c)) == 0)
			return 0;
		if (n < 0)
			return -1;
	}
}

/* Send what was decoded as one chunk (or raw to an HTTP/1.0 client). */
static int
write_chunk(struct cn *c, struct evbuffer *data)
{
	char	sz[32];
	size_t	n = evbuffer_get_length(data);

	if (n == 0)
		return 0;
	if (c->req.minor == 0)
		return peer_write_evbuffer(&c->client, data);
	snprintf(sz, sizeof(sz), "%zx\r\n", n);
	if (evbuffer_prepend(data, sz, strlen(sz)) == -1 ||
	    evbuffer_add(data, "\r\n", 2) == -1)
		return -1;
	return peer_write_evbuffer(&c->client, data);
}

/*
 * Decode the agent's chunked body and re-chunk it towards the client, a
 * read at a time, so streams (logs -f, events) stay live.  Trailers are
 * dropped.
 */
static int
relay_chunked(struct cn *c)
{
	struct http_chunked	 ch;
	struct evbuffer		*data;
	const char		*why = "bad chunked body";
	int			 r, rc = -1;

	if ((data = evbuffer_new()) == NULL)
		return -1;
	http_chunked_init(&ch);
	for (;;) {
		r = http_chunked_step(&ch, c->rin, data, 1024 * 1024, &why);
		if (r == -1) {
			cli_errx("connect: bad chunked body from %s: %s",
			    c->cfg->url.authority, why);
			break;
		}
		if (write_chunk(c, data) == -1)
			break;
		if (r == 1) {
			rc = c->req.minor == 0 ? 0 :
			    peer_write(&c->client, "0\r\n\r\n", 5);
			break;
		}
		if (evbuffer_get_length(c->rin) == 0 && remote_fill(c) <= 0)
			break;
	}
	evbuffer_free(data);
	return rc;
}

/* The body by its framing; *framed is 0 when only EOF ended it. */
static int
relay_body(struct cn *c, int *framed)
{
	int	st = c->resp.status;

	*framed = 1;
	if (strcmp(c->req.method, "HEAD") == 0 || st == 204 || st == 304)
		return 0;
	if (c->resp.chunked)
		return relay_chunked(c);
	if (c->resp.has_cl)
		return relay_length(c, c->resp.content_length);
	*framed = 0;
	return relay_until_eof(c);
}

/*
 * After a 101 both sides speak raw bytes until both are done.  The pipe is
 * non-blocking with a bounded buffer per direction: a blocking write in
 * one direction could otherwise wait on a peer that is itself waiting for
 * us to read the other (a bulk "docker exec -i cat" does exactly that).
 * An EOF from one side becomes a half-close towards the other once its
 * buffer is flushed: "docker exec" without -i shuts its sending side at
 * once and still wants the output.
 */
#define TUN_CAP		(256 * 1024)

struct tun {
	struct cn	*c;
	struct evbuffer	*up;		/* client -> remote */
	struct evbuffer	*down;		/* remote -> client */
	int		 up_eof;	/* the client sent EOF */
	int		 up_shut;	/* ... and the remote has been told */
	int		 down_eof;
	int		 down_shut;
	int		 ssl_wlen;	/* an SSL_write to repeat, or 0 */
	int		 ssl_rd_wants_out;	/* SSL_read needs POLLOUT */
	int		 ssl_wr_wants_in;	/* SSL_write needs POLLIN */
};

/* Read what is there into b: 0 ok (maybe nothing), -1 error. */
static int
tun_read(struct tun *t, struct cn_peer *p, struct evbuffer *b, int *eof)
{
	char	buf[CN_IO_CHUNK];
	ssize_t	n;

	while (!*eof && evbuffer_get_length(b) < TUN_CAP) {
		if (p->ssl == NULL && (n = read(p->fd, buf, sizeof(buf))) ==
		    -1 && (errno == EAGAIN || errno == EINTR))
			return 0;
		if (p->ssl != NULL) {
			n = peer_read(p, buf, sizeof(buf));
			t->ssl_rd_wants_out = n == PEER_AGAIN &&
			    SSL_want_write(p->ssl);
			if (n == PEER_AGAIN)
				return 0;
		}
		if (n < 0)
			return -1;
		if (n == 0)
			*eof = 1;
		else
			evbuffer_add(b, buf, (size_t)n);
	}
	return 0;
}

static int
tun_write_ssl(struct tun *t, SSL *ssl, struct evbuffer *b)
{
	size_t	n;
	int	w;

	while ((n = evbuffer_get_length(b)) > 0) {
		/* A retried SSL_write must repeat the same length. */
		if (t->ssl_wlen == 0)
			t->ssl_wlen = (int)(n < CN_IO_CHUNK ? n : CN_IO_CHUNK);
		ERR_clear_error();
		w = SSL_write(ssl, evbuffer_pullup(b, t->ssl_wlen),
		    t->ssl_wlen);
		if (w <= 0) {
			t->ssl_wr_wants_in = SSL_want_read(ssl);
			return SSL_want_write(ssl) || SSL_want_read(ssl) ?
			    0 : -1;
		}
		t->ssl_wr_wants_in = 0;
		t->ssl_wlen = 0;
		evbuffer_drain(b, (size_t)w);
	}
	return 0;
}

static int
tun_write(struct tun *t, struct cn_peer *p, struct evbuffer *b)
{
	if (p->ssl != NULL)
		return tun_write_ssl(t, p->ssl, b);
	while (evbuffer_get_length(b) > 0)
		if (evbuffer_write(b, p->fd) == -1)
			return errno == EAGAIN || errno == EINTR ? 0 : -1;
	return 0;
}

/* Pass on EOFs whose direction has been flushed. */
static void
tun_half_close(struct tun *t)
{
	struct cn	*c = t->c;

	if (t->up_eof && !t->up_shut && evbuffer_get_length(t->up) == 0) {
		if (c->remote.ssl == NULL)
			(void)shutdown(c->remote.fd, SHUT_WR);
		else if (SSL_shutdown(c->remote.ssl) < 0 &&
		    SSL_want_write(c->remote.ssl))
			return;		/* close_notify not out yet */
		t->up_shut = 1;
	}
	if (t->down_eof && !t->down_shut && evbuffer_get_length(t->down) == 0) {
		(void)shutdown(c->client.fd, SHUT_WR);
		t->down_shut = 1;
	}
}

static void
tun_events(struct tun *t, struct pollfd pfd[2])
{
	struct cn	*c = t->c;
	int		 up_room = evbuffer_get_length(t->up) < TUN_CAP;
	int		 down_room = evbuffer_get_length(t->down) < TUN_CAP;

	pfd[0].fd = c->client.fd;
	pfd[0].events = (!t->up_eof && up_room ? POLLIN : 0) |
	    (evbuffer_get_length(t->down) > 0 ? POLLOUT : 0);
	pfd[1].fd = c->remote.fd;
	pfd[1].events = (!t->down_eof && down_room ? POLLIN : 0) |
	    (evbuffer_get_length(t->up) > 0 ||
	    (t->up_eof && !t->up_shut) ? POLLOUT : 0);
	if (t->ssl_rd_wants_out)
		pfd[1].events |= POLLOUT;
	if (t->ssl_wr_wants_in)
		pfd[1].events |= POLLIN;
	pfd[0].revents = pfd[1].revents = 0;
}

/* One turn: 1 to go on, 0 when both directions are done, -1 on error. */
static int
tun_step(struct tun *t)
{
	struct cn	*c = t->c;
	struct pollfd	 pfd[2];
	int		 pending;

	if (tun_write(t, &c->remote, t->up) == -1 ||
	    tun_write(t, &c->client, t->down) == -1)
		return -1;
	tun_half_close(t);
	if (t->up_shut && t->down_shut)
		return 0;
	/* Decrypted bytes inside OpenSSL are invisible to poll. */
	pending = !t->down_eof && c->remote.ssl != NULL &&
	    SSL_pending(c->remote.ssl) > 0 &&
	    evbuffer_get_length(t->down) < TUN_CAP;
	tun_events(t, pfd);
	if (poll(pfd, 2, pending ? 0 : -1) == -1)
		return errno == EINTR ? 1 : -1;
	/* A client that hung up entirely can be sent nothing more. */
	if (pfd[0].revents & (POLLHUP | POLLERR) && t->up_eof)
		return 0;
	if (pfd[1].revents & (POLLHUP | POLLERR) && t->down_eof) {
		evbuffer_drain(t->up, evbuffer_get_length(t->up));
		t->up_eof = t->up_shut = 1;
	}
	if (pfd[0].revents != 0 &&
	    tun_read(t, &c->client, t->up, &t->up_eof) == -1)
		return -1;
	if ((pending || pfd[1].revents != 0) &&
	    tun_read(t, &c->remote, t->down, &t->down_eof) == -1)
		return -1;
	return 1;
}

static int
tunnel(struct cn *c)
{
	struct tun	t;
	int		r;

	memset(&t, 0, sizeof(t));
	t.c = c;
	t.up = c->cin;			/* already holds pipelined bytes */
	t.down = c->rin;		/* and what followed the 101 head */
	t.up_eof = c->client_eof;
	if (pw_set_nonblock(c->client.fd) == -1 ||
	    pw_set_nonblock(c->remote.fd) == -1)
		return -1;
	if (c->remote.ssl != NULL)
		SSL_set_mode(c->remote.ssl, SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	while ((r = tun_step(&t)) == 1)
		;
	if (r == -1)
		cli_errx("connect: upgraded connection to %s ended with an "
		    "error", c->cfg->url.authority);
	return r;
}

/* ---- one client connection (in its own child) ---- */

static void
request_reset(struct cn *c)
{
	http_head_free(&c->req);
	http_head_free(&c->resp);
	if (c->body_fd != -1)
		close(c->body_fd);
	c->body_fd = -1;
	c->body_len = 0;
	c->has_body = 0;
}

/* One request and its response: CN_NEXT to read another, else CN_DONE. */
static int
serve_one(struct cn *c)
{
	size_t	headlen;
	int	framed;

	if (read_request_head(c) != 1 || spool_body(c) == -1 ||
	    forward(c, &headlen) == -1)
		return CN_DONE;
	if (write_head(c, headlen) == -1)
		return CN_DONE;
	if (c->resp.status == 101) {
		(void)tunnel(c);
		return CN_DONE;
	}
	if (relay_body(c, &framed) == -1)
		return CN_DONE;
	if (c->resp.keepalive && framed && evbuffer_get_length(c->rin) == 0)
		c->remote_used = 1;
	else
		peer_close(&c->remote);
	if (!c->req.keepalive || !c->resp.keepalive || !framed ||
	    c->req.minor == 0 || c->client_eof)
		return CN_DONE;
	return CN_NEXT;
}

static int
serve(const struct cn_cfg *cfg, int fd)
{
	struct cn	c;

	memset(&c, 0, sizeof(c));
	c.cfg = cfg;
	c.client.fd = fd;
	c.remote.fd = -1;
	c.body_fd = -1;
	if ((c.cin = evbuffer_new()) == NULL ||
	    (c.rin = evbuffer_new()) == NULL) {
		cli_errx("connect: out of memory");
		return 1;
	}
	while (serve_one(&c) == CN_NEXT)
		request_reset(&c);
	request_reset(&c);
	peer_close(&c.remote);
	peer_close(&c.client);
	evbuffer_free(c.cin);
	evbuffer_free(c.rin);
	return 0;
}

/* ---- the listening parent ---- */

static void
on_signal(int sig)
{
	if (sig == SIGCHLD)
		cn_reap = 1;
	else
		cn_quit = sig;
}

static void
child_main(const struct cn_cfg *cfg, int lfd, int fd, pid_t parent,
    const sigset_t *omask)
{
	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	signal(SIGHUP, SIG_DFL);
	signal(SIGCHLD, SIG_DFL);
	signal(SIGPIPE, SIG_IGN);
	sigprocmask(SIG_SETMASK, omask, NULL);
	/* Connections end with the proxy that owns the socket. */
	if (prctl(PR_SET_PDEATHSIG, SIGTERM) == -1 || getppid() != parent)
		_exit(1);
	close(lfd);
	_exit(serve(cfg, fd));
}

static void
accept_one(const struct cn_cfg *cfg, int lfd, const sigset_t *omask)
{
	pid_t	pid, self = getpid();
	int	fd;

	if ((fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC)) == -1) {
		if (errno != EINTR && errno != EAGAIN && errno != ECONNABORTED)
			cli_errx("connect: accept: %s", strerror(errno));
		if (errno == EMFILE || errno == ENFILE)
			usleep(100 * 1000);	/* do not spin */
		return;
	}
	if ((pid = fork()) == -1)
		cli_errx("connect: fork: %s", strerror(errno));
	else if (pid == 0)
		child_main(cfg, lfd, fd, self, omask);
	close(fd);
}

static void
reap_children(void)
{
	while (waitpid(-1, NULL, WNOHANG) > 0)
		;
}

/*
 * Accept until SIGINT/SIGTERM/SIGHUP.  The signals stay blocked except
 * inside ppoll, so a flag set by a handler is never missed.
 */
static void
accept_loop(const struct cn_cfg *cfg, int lfd)
{
	struct sigaction	sa;
	struct pollfd		pfd = { lfd, POLLIN, 0 };
	sigset_t		block, omask, waitmask;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGHUP);
	sigaddset(&block, SIGCHLD);
	sigprocmask(SIG_BLOCK, &block, &omask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sigaction(SIGCHLD, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	waitmask = omask;
	sigdelset(&waitmask, SIGINT);
	sigdelset(&waitmask, SIGTERM);
	sigdelset(&waitmask, SIGHUP);
	sigdelset(&waitmask, SIGCHLD);
	while (!cn_quit) {
		if (cn_reap) {
			cn_reap = 0;
			reap_children();
		}
		pfd.revents = 0;
		if (ppoll(&pfd, 1, NULL, &waitmask) == -1) {
			if (errno == EINTR)
				continue;
			cli_errx("connect: poll: %s", strerror(errno));
			break;
		}
		if (pfd.revents & POLLIN)
			accept_one(cfg, lfd, &omask);
	}
	reap_children();
	sigprocmask(SIG_SETMASK, &omask, NULL);
}

/* Is a process listening there?  Only then is the socket file not stale. */
static int
socket_in_use(const char *path, const struct sockaddr_un *sun)
{
	int	fd, r;

	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return -1;
	r = connect(fd, (const struct sockaddr *)sun, sizeof(*sun));
	close(fd);
	if (r == 0)
		return 1;
	return errno == ECONNREFUSED || errno == ENOENT ? 0 : -1;
}

static int
remove_stale(const char *path, const struct sockaddr_un *sun)
{
	struct stat	st;
	int		r;

	if (lstat(path, &st) == -1)
		return errno == ENOENT ? 0 : -1;
	if (!S_ISSOCK(st.st_mode)) {
		cli_errx("connect: %s exists and is not a socket; not "
		    "touching it", path);
		return -1;
	}
	if ((r = socket_in_use(path, sun)) != 0) {
		cli_errx("connect: %s: %s", path, r == 1 ? "another process "
		    "is listening there" : strerror(errno));
		return -1;
	}
	if (unlink(path) == -1) {
		cli_errx("connect: removing stale %s: %s", path,
		    strerror(errno));
		return -1;
	}
	return 0;
}

/* A socket only its owner may connect to: 0600 from the moment it exists. */
static int
listen_unix(const char *path, struct stat *st)
{
	struct sockaddr_un	sun;
	mode_t			old;
	int			fd, r;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (pw_strlcpy(sun.sun_path, path, sizeof(sun.sun_path)) >=
	    sizeof(sun.sun_path)) {
		cli_errx("connect: socket path too long: %s", path);
		return -1;
	}
	if (remove_stale(path, &sun) == -1)
		return -1;
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1) {
		cli_errx("connect: socket: %s", strerror(errno));
		return -1;
	}
	old = umask(0177);
	r = bind(fd, (struct sockaddr *)&sun, sizeof(sun));
	umask(old);
	if (r == -1 || chmod(path, 0600) == -1 || listen(fd, 128) == -1 ||
	    pw_set_nonblock(fd) == -1 || stat(path, st) == -1) {
		cli_errx("connect: %s: %s", path, strerror(errno));
		if (r == 0)
			(void)unlink(path);
		close(fd);
		return -1;
	}
	return fd;
}

/* Remove the socket file, unless someone has replaced it meanwhile. */
static void
unlink_ours(const char *path, const struct stat *ours)
{
	struct stat	st;

	if (lstat(path, &st) == 0 && st.st_dev == ours->st_dev &&
	    st.st_ino == ours->st_ino)
		(void)unlink(path);
}

/* ---- setup ---- */

static SSL_CTX *
client_tls_ctx(const char *cacert, int insecure)
{
	static const unsigned char alpn[] = "\x08http/1.1";
	SSL_CTX	*ctx;
	char	 buf[256];

	if ((ctx = SSL_CTX_new(TLS_client_method())) == NULL)
		goto fail;
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION |
	    SSL_OP_NO_RENEGOTIATION | SSL_OP_IGNORE_UNEXPECTED_EOF);
	SSL_CTX_clear_mode(ctx, SSL_MODE_AUTO_RETRY);	/* see peer_read */
	if (SSL_CTX_set_alpn_protos(ctx, alpn, sizeof(alpn) - 1) != 0)
		goto fail;
	if (insecure) {
		SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
		return ctx;
	}
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	if (cacert != NULL) {
		if (SSL_CTX_load_verify_locations(ctx, cacert, NULL) != 1) {
			ERR_error_string_n(ERR_get_error(), buf, sizeof(buf));
			cli_errx("connect: -cacert %s: %s", cacert, buf);
			SSL_CTX_free(ctx);
			return NULL;
		}
	} else if (SSL_CTX_set_default_verify_paths(ctx) != 1)
		goto fail;
	return ctx;
 fail:
	ERR_error_string_n(ERR_get_error(), buf, sizeof(buf));
	cli_errx("connect: TLS setup: %s", buf);
	SSL_CTX_free(ctx);
	return NULL;
}

/* BYTES, or with a K, M or G suffix (powers of 1024). */
static int
parse_size(const char *s, uint64_t *out)
{
	char		 num[32];
	size_t		 n = strlen(s);
	long long	 v;
	int		 shift = 0;

	if (n == 0 || n >= sizeof(num))
		return -1;
	switch (toupper((unsigned char)s[n - 1])) {
	case 'K':
		shift = 10;
		break;
	case 'M':
		shift = 20;
		break;
	case 'G':
		shift = 30;
		break;
	}
	memcpy(num, s, n + 1);
	if (shift != 0)
		num[n - 1] = '\0';
	if (!isdigit((unsigned char)num[0]) ||
	    pw_strtonum(num, 1, (1LL << 40) >> shift, &v) == -1)
		return -1;
	*out = (uint64_t)v << shift;
	return 0;
}

static void
usage_connect(void)
{
	fprintf(stderr,
	    "usage: portwing connect -k keyfile -L socket [-cacert file] "
	    "[-insecure]\n"
	    "           [-max-body bytes] http[s]://host:port\n"
	    "  then: DOCKER_HOST=unix://socket docker ...\n");
}

struct connect_args {
	const char	*keyfile;
	const char	*sock;
	const char	*cacert;
	const char	*maxbody;
	const char	*url;
	int		 insecure;
};

static int
connect_args(int argc, char **argv, struct connect_args *a)
{
	struct cli_opt	opts[] = {
		{ "k", CLI_OPT_STR, &a->keyfile },
		{ "L", CLI_OPT_STR, &a->sock },
		{ "cacert", CLI_OPT_STR, &a->cacert },
		{ "insecure", CLI_OPT_BOOL, &a->insecure },
		{ "max-body", CLI_OPT_STR, &a->maxbody },
		{ NULL, CLI_OPT_BOOL, NULL },
	};
	int		next, r;

	memset(a, 0, sizeof(*a));
	if ((r = cli_parse_opts("connect", argc, argv, opts, &next)) != 0 ||
	    argc - next != 1 || a->keyfile == NULL || a->sock == NULL) {
		if (r == 0)
			cli_errx("connect: -k, -L and one URL are required");
		usage_connect();
		return -1;
	}
	a->url = argv[next];
	return 0;
}

/* Everything a child needs, checked before the socket appears. */
static int
connect_setup(const struct connect_args *a, struct cn_cfg *cfg)
{
	struct addrinfo	 hints, *res;
	char		 err[256];
	int		 r;

	memset(cfg, 0, sizeof(*cfg));
	cfg->max_body = CN_DEFAULT_MAX_BODY;
	cfg->insecure = a->insecure;
	if (a->maxbody != NULL && parse_size(a->maxbody, &cfg->max_body)) {
		cli_errx("connect: bad -max-body \"%s\"", a->maxbody);
		return -1;
	}
	if (cli_url_parse(a->url, &cfg->url, err, sizeof(err)) == -1 ||
	    strcmp(cfg->url.target, "/") != 0) {
		cli_errx("connect: %s: %s", a->url, cfg->url.target == NULL ?
		    err : "expected http[s]://host:port with no path");
		return -1;
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	if ((r = getaddrinfo(cfg->url.host, cfg->url.port, &hints,
	    &res)) != 0) {
		cli_errx("connect: %s: %s", cfg->url.host, gai_strerror(r));
		return -1;
	}
	freeaddrinfo(res);
	if ((cfg->key = cli_load_key(a->keyfile)) == NULL)
		return -1;
	if (cfg->url.tls && (cfg->tls = client_tls_ctx(a->cacert,
	    a->insecure)) == NULL)
		return -1;
	return 0;
}

static void
connect_free(struct cn_cfg *cfg)
{
	SSL_CTX_free(cfg->tls);
	EVP_PKEY_free(cfg->key);
	cli_url_free(&cfg->url);
}

int
cli_connect(int argc, char **argv)
{
	struct connect_args	a;
	struct cn_cfg		cfg;
	struct stat		st;
	uint8_t			pub[32];
	char			id[PWC_KEYID_LEN + 1];
	int			lfd, rc = 1;

	if (connect_args(argc, argv, &a) == -1)
		return 2;
	if (connect_setup(&a, &cfg) == -1 ||
	    (lfd = listen_unix(a.sock, &st)) == -1) {
		connect_free(&cfg);
		return 1;
	}
	if (pwc_raw_public(cfg.key, pub) == 0) {
		pwc_key_id(pub, id);
		fprintf(stderr, "portwing: connect: unix://%s -> %s (key ID "
		    "%s)\n", a.sock, cfg.url.origin, id);
	}
	accept_loop(&cfg, lfd);
	if (cn_quit != 0)
		rc = 0;
	close(lfd);
	unlink_ours(a.sock, &st);
	connect_free(&cfg);
	return rc;
}
