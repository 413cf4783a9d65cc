/*
 * worker.c: the worker role (process "portwingd: worker N").
 *
 * Sandboxed and unprivileged before the first client byte; receives its
 * listening socket, the TLS certificate and its channels to authd, the
 * proxy and keyd (which signs its handshakes)
 * from the master, then serves connections until told to drain.
 */
#include "pwbuild.h"

#include <sys/resource.h>
#include <sys/socket.h>
#include <arpa/inet.h>

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/bufferevent_ssl.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>

#include "authd/authd.h"
#include "child.h"
#include "cidr.h"
#include "keyd.h"
#include "log.h"
#include "mtls.h"
#include "mtlsl.h"
#include "proc.h"
#include "util.h"
#include "auditrec.h"
#include "stats.h"
#include "worker.h"

struct worker *worker;

static const struct ipc_perm perms_master[] = {
	{ IPC_M_LISTENER, 4, 4, 1 },
	{ IPC_M_TLS, 8, IPC_MAX_TLS, 0 },
	{ IPC_M_MTLS_CA, 4, 4 + MTLS_CA_MAX, 0 },
	{ IPC_M_KEYD_CHAN, 0, 0, 1 },
	{ IPC_M_AUTHD_CHAN, 0, 0, 1 },
	{ IPC_M_PROXY_CHAN, 0, 0, 1 },
	{ IPC_M_SHUTDOWN, 0, 0, 0 },
	{ IPC_M_RELOAD, 4, IPC_MAX_CONFIG, 0 },
	{ IPC_M_PING, 0, 0, 0 },
};

static const struct ipc_perm perms_authd[] = {
	{ IPC_A_AUTH_ANS, 8, 4096, 0 },
	{ IPC_A_ENROLL_ANS, 12, 4096, 0 },
};

/* The proxy answers on per-request streams, never on the channel. */
static const struct ipc_perm perms_proxy[] = {
	{ 0, 0, 0, 0 },
};


static void	worker_master_msg(struct ipc_chan *, struct ipc_msg *, void *);
static void	worker_master_closed(struct ipc_chan *, void *);
static void	worker_authd_msg(struct ipc_chan *, struct ipc_msg *, void *);
static void	worker_authd_closed(struct ipc_chan *, void *);
static void	worker_authd_lost(struct worker *);
static void	worker_proxy_closed(struct ipc_chan *, void *);
static void	worker_start_drain(struct worker *);

/*
 * MAX_CONNECTIONS_PER_ADDRESS.  Workers share one listening socket, so a
 * limit per address has to count every worker's connections.  Each
 * worker keeps its counts in its own slot of the shared segment
 * (stats.h, addr_conns: one writer per slot) and an accept reads the
 * other slots.  An address (IPv4, or the /64 of an IPv6 address) picks
 * one bucket in each of ST_ADDR_ROWS rows by SipHash under a key the
 * master drew at start, so nobody can aim at someone else's buckets; the
 * address's count is the smallest of its rows, which is exact unless
 * another address shares its bucket in every row.  Two workers
 * accepting from one address at the same moment may each see room:
 * the limit can be passed by at most WORKERS - 1.  Addresses in
 * TRUSTED_PROXIES speak for many clients and are not limited.
 */
static int
worker_addr_hash(struct worker *w, struct sockaddr *sa, uint16_t *idx)
{
	static const uint8_t v4mapped[12] = {
		0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff
	};
	uint8_t		 key[9], out[8];
	const uint8_t	*a;
	size_t		 n, outlen = 0;
	uint64_t	 h;
	int		 r;

	if (sa->sa_family == AF_INET) {
		key[0] = 4;
		memcpy(key + 1, &((struct sockaddr_in *)sa)->sin_addr, 4);
		n = 5;
	} else if (sa->sa_family == AF_INET6) {
		a = ((struct sockaddr_in6 *)sa)->sin6_addr.s6_addr;
		if (memcmp(a, v4mapped, sizeof(v4mapped)) == 0) {
			key[0] = 4;
			memcpy(key + 1, a + 12, 4);
			n = 5;
		} else {
			key[0] = 6;
			memcpy(key + 1, a, 8);	/* the /64 */
			n = 9;
		}
	} else
		return -1;
	if (w->addr_mac == NULL || !EVP_MAC_init(w->addr_mac, NULL, 0, NULL) ||
	    !EVP_MAC_update(w->addr_mac, key, n) ||
	    !EVP_MAC_final(w->addr_mac, out, &outlen, sizeof(out)) ||
	    outlen != sizeof(out))
		return -1;
	memcpy(&h, out, sizeof(h));
	for (r = 0; r < ST_ADDR_ROWS; r++) {
		idx[r] = (uint16_t)(h % ST_ADDR_BUCKETS);
		h /= ST_ADDR_BUCKETS;
	}
	return 0;
}

/* Open connections of the address behind idx, all workers together. */
static uint64_t
worker_addr_count(struct worker *w, const uint16_t *idx)
{
	uint64_t	 n, min = UINT64_MAX;
	int		 r, i;

	for (r = 0; r < ST_ADDR_ROWS; r++) {
		n = 0;
		for (i = 0; i < w->cfg.workers && i < ST_MAX_WORKERS; i++)
			n += ST_GET(pw_stats->worker[i].addr_conns[r][idx[r]]);
		if (n < min)
			min = n;
	}
	return min;
}

static void
worker_addr_add(struct worker *w, const uint16_t *idx, int delta)
{
	int	r;

	for (r = 0; r < ST_ADDR_ROWS; r++)
		ST_ADD(pw_stats->worker[w->slot].addr_conns[r][idx[r]],
		    (uint32_t)delta);
}

/* conn_free: the connection no longer counts against its address. */
void
worker_addr_release(struct conn *c)
{
	if (!c->addr_counted)
		return;
	worker_addr_add(c->w, c->addr_idx, -1);
	c->addr_counted = 0;
}

/*
 * May a connection from sa be kept?  Returns 1 with idx filled when it
 * is to be counted, 0 when it is not limited, -1 when the address is at
 * its limit.
 */
static int
worker_addr_admit(struct worker *w, struct sockaddr *sa, uint16_t *idx)
{
	char	 addr[INET6_ADDRSTRLEN] = "";
	time_t	 now;

	if (w->cfg.max_per_addr == 0 || pw_stats == NULL ||
	    w->slot >= ST_MAX_WORKERS || worker_addr_hash(w, sa, idx) == -1)
		return 0;
	if (sa->sa_family == AF_INET)
		inet_ntop(AF_INET, &((struct sockaddr_in *)sa)->sin_addr, addr,
		    sizeof(addr));
	else
		inet_ntop(AF_INET6, &((struct sockaddr_in6 *)sa)->sin6_addr,
		    addr, sizeof(addr));
	if (w->cfg.ntrusted > 0 && cidr_match(w->cfg.trusted, w->cfg.ntrusted,
	    addr))
		return 0;
	if (worker_addr_count(w, idx) < (uint64_t)w->cfg.max_per_addr)
		return 1;
	now = time(NULL);
	if (now - w->addr_logged >= 10) {
		w->addr_logged = now;
		log_warnx("refusing connections from %s: %d open from that "
		    "address (MAX_CONNECTIONS_PER_ADDRESS)", addr,
		    w->cfg.max_per_addr);
	}
	return -1;
}

/*
 * Under pressure (the connection limit, or no descriptor left), make
 * room by closing the oldest connection that never sent a byte, else the
 * oldest idle keep-alive one.  Neither has a request in progress, and a
 * client may close an idle connection at any time anyway.
 */
static int
worker_shed(struct worker *w)
{
	struct conn	*c, *victim = NULL;
	time_t		 now;
	int		 k, best = 0;

	TAILQ_FOREACH(c, &w->conns, entry) {
		if ((k = conn_idle(c)) > best) {
			best = k;
			victim = c;
			if (k == 2)
				break;
		}
	}
	if (victim == NULL)
		return -1;
	now = time(NULL);
	if (now - w->shed_logged >= 10) {
		w->shed_logged = now;
		log_warnx("%d connections open: closing idle ones to make room",
		    w->nconns);
	}
	conn_free(victim);
	return 0;
}

static void
worker_unwatch(struct worker *w)
{
	int	i;

	for (i = 0; i < (int)nitems(w->shed_watch); i++)
		if (w->shed_watch[i] != NULL)
			event_del(w->shed_watch[i]);
	evtimer_del(w->shed_timer);
}

static void
worker_listen(struct worker *w, int on)
{
	int	i;

	if (w->listening == on || (on && w->draining))
		return;
	for (i = 0; i < w->nlisteners; i++) {
		if (on)
			event_add(w->listeners[i], NULL);
		else
			event_del(w->listeners[i]);
	}
	w->listening = on;
	if (on)
		worker_unwatch(w);
}

/*
 * Paused at MAX_CONNECTIONS, a client waiting in the backlog (the
 * listening socket turns readable) makes the worker shed an idle
 * connection; conn_free then resumes accepting, and the newcomer takes
 * the freed place.  With nothing idle, look again in 100 ms.
 */
static void
worker_shed_ready(evutil_socket_t fd, short ev, void *arg)
{
	struct worker	*w = arg;
	struct timeval	 tv = { 0, 100 * 1000 };

	if (w->listening || w->draining)
		return;
	if (worker_shed(w) == 0)
		return;
	worker_unwatch(w);
	evtimer_add(w->shed_timer, &tv);
}

static void
worker_shed_watch(struct worker *w)
{
	int	i;

	for (i = 0; i < w->nlisteners; i++) {
		if (w->shed_watch[i] == NULL)
			w->shed_watch[i] = event_new(w->base,
			    event_get_fd(w->listeners[i]), EV_READ,
			    worker_shed_ready, w);
		event_add(w->shed_watch[i], NULL);
	}
}

static void
worker_shed_retry(evutil_socket_t fd, short ev, void *arg)
{
	struct worker	*w = arg;

	if (!w->listening && !w->draining)
		worker_shed_watch(w);
}

/* Serve a connection; idx: its per-address buckets, already counted. */
static void
worker_start_conn(struct worker *w, int fd, struct sockaddr *sa, int tls,
    const uint16_t *idx)
{
	struct conn	*c;

	if ((c = conn_new(w, fd, sa, tls)) == NULL) {
		if (idx != NULL)
			worker_addr_add(w, idx, -1);
		return;
	}
	if (idx != NULL) {
		memcpy(c->addr_idx, idx, sizeof(c->addr_idx));
		c->addr_counted = 1;
	}
	/* The request is usually there already: no wait for it. */
	if (!c->tls)
		pw_bev_read_now(c->bev, PW_BEV_LIBEVENT_READ);
}

/*
 * At MAX_CONNECTIONS with nothing idle to shed: hold the new connection
 * unread and stop accepting, so it and the clients behind it in the
 * backlog wait until a connection closes, or until the backlog watch
 * finds an idle one to shed.
 */
static void
worker_park(struct worker *w, int fd, struct sockaddr *sa, int salen,
    int tls, const uint16_t *idx)
{
	w->parked_fd = fd;
	w->parked_tls = tls;
	w->parked_counted = idx != NULL;
	if (idx != NULL)
		memcpy(w->parked_idx, idx, sizeof(w->parked_idx));
	memset(&w->parked_sa, 0, sizeof(w->parked_sa));
	memcpy(&w->parked_sa, sa, (size_t)salen < sizeof(w->parked_sa) ?
	    (size_t)salen : sizeof(w->parked_sa));
	worker_listen(w, 0);
	worker_shed_watch(w);
	log_warnx("connection limit (%d) reached; pausing accept",
	    w->cfg.max_conns);
}

static void
worker_unpark(struct worker *w)
{
	int	fd = w->parked_fd;

	w->parked_fd = -1;
	if (w->draining) {
		close(fd);
		if (w->parked_counted)
			worker_addr_add(w, w->parked_idx, -1);
		return;
	}
	worker_start_conn(w, fd, (struct sockaddr *)&w->parked_sa,
	    w->parked_tls, w->parked_counted ? w->parked_idx : NULL);
}

static void
worker_accept(struct worker *w, int fd, struct sockaddr *sa, int salen,
    int tls)
{
	uint16_t	 idx[ST_ADDR_ROWS];
	int		 counted;

	if (w->draining || (counted = worker_addr_admit(w, sa, idx)) == -1) {
		close(fd);
		return;
	}
	if ((tls == 1 && w->tls == NULL) || (tls == 3 && w->mtls == NULL)) {
		log_warnx("TLS listener but no TLS context yet; dropping");
		close(fd);
		return;
	}
	if (counted)
		worker_addr_add(w, idx, 1);
	if (w->nconns >= w->cfg.max_conns && worker_shed(w) == -1) {
		worker_park(w, fd, sa, salen, tls, counted ? idx : NULL);
		return;
	}
	worker_start_conn(w, fd, sa, tls, counted ? idx : NULL);
}

static void
worker_accept_resume(evutil_socket_t fd, short ev, void *arg)
{
	struct worker	*w = arg;

	if (w->parked_fd == -1)
		worker_listen(w, 1);
}

static void
worker_accept_error(struct worker *w, int e)
{
	struct timeval	 tv = { 0, 100 * 1000 };

	if (e != EMFILE && e != ENFILE && e != ENOBUFS && e != ENOMEM) {
		log_warnx("accept: %s", strerror(e));
		return;
	}
	/* Out of descriptors: shed an idle connection, else pause briefly. */
	if (worker_shed(w) == 0)
		return;
	log_warnx("accept: %s; pausing accept for 100 ms", strerror(e));
	worker_listen(w, 0);
	evtimer_add(w->accept_timer, &tv);
}

/*
 * A listening socket turned readable: take one connection.  The workers
 * share the listening sockets and all of them wake for a newcomer; one
 * accept per wake-up lets each worker awake take its share of a burst
 * (accepting until EAGAIN, the first one awake took the whole burst and
 * kept every connection of it), and saves the accept that finds nothing
 * when one client connects at a time.  epoll reports a socket with more
 * waiting again at once.
 */
static void
worker_accept_ready(evutil_socket_t lfd, short ev, void *arg)
{
	struct worker		*w = arg;
	struct sockaddr_storage	 ss;
	socklen_t		 len = sizeof(ss);
	int			 fd, i, tls = 0;

	for (i = 0; i < w->nlisteners; i++)
		if (event_get_fd(w->listeners[i]) == lfd)
			tls = w->listener_tls[i];
	if ((fd = accept4(lfd, (struct sockaddr *)&ss, &len,
	    SOCK_NONBLOCK | SOCK_CLOEXEC)) == -1) {
		/* Another worker took it, or the client gave up first. */
		if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR &&
		    errno != ECONNABORTED)
			worker_accept_error(w, errno);
		return;
	}
	worker_accept(w, fd, (struct sockaddr *)&ss, len, tls);
}

/* Called by conn_free: resume accepting below the limit, finish draining. */
void
worker_conn_closed(struct worker *w)
{
	if (w->parked_fd != -1 && w->nconns < w->cfg.max_conns)
		worker_unpark(w);
	/* At the limit too: the next accept sheds an idle one, or parks. */
	if (!w->listening && !w->draining && w->parked_fd == -1 &&
	    !evtimer_pending(w->accept_timer, NULL))
		worker_listen(w, 1);
	if (w->draining && w->nconns == 0) {
		log_info("drained; exiting");
		event_base_loopexit(w->base, NULL);
	}
}

static void
worker_add_listener(struct worker *w, int fd, int tls)
{
	struct event	*ev;

	if (w->draining) {
		close(fd);
		return;
	}
	if (w->nlisteners >= (int)nitems(w->listeners)) {
		close(fd);
		fatalx("too many listeners");
	}
	/* The master already called listen(). */
	if (pw_set_nonblock(fd) == -1)
		fatal("listener: nonblock");
	if ((ev = event_new(w->base, fd, EV_READ | EV_PERSIST,
	    worker_accept_ready, w)) == NULL)
		fatalx("event_new");
	w->listener_tls[w->nlisteners] = tls;
	w->listeners[w->nlisteners++] = ev;
	if (w->listening || w->nlisteners == 1) {
		event_add(ev, NULL);
		w->listening = 1;
	}
}

/*
 * IPC_M_TLS: the certificate chain of TLS generation gen.  There is no key
 * in it: keyd signs this worker's handshakes with the key of the same
 * generation (agent/keyd.c).
 */
static void
worker_tls_update(struct worker *w, struct ipc_msg *m)
{
	struct ipc_rd	 rd;
	const char	*cert;
	size_t		 certlen;
	uint32_t	 gen;
	char		 err[256];
	SSL_CTX		*ctx;

	ipc_rd_init(&rd, m);
	gen = ipc_rd_u32(&rd);
	cert = ipc_rd_strp(&rd, &certlen, IPC_MAX_TLS);
	if (cert == NULL || ipc_rd_end(&rd) == -1)
		fatalx("malformed TLS message from master");
	if ((ctx = tls_ctx_from_cert(cert, certlen, err, sizeof(err))) ==
	    NULL || keyd_client_install(ctx, gen, err, sizeof(err)) == -1) {
		SSL_CTX_free(ctx);
		log_warnx("new TLS material rejected, keeping the old: %s", err);
		return;
	}
	if (w->mtls_ca != NULL) {
		/* The mTLS listener serves the same certificate. */
		SSL_CTX *mctx = mtls_ctx_new(cert, certlen, gen, w->mtls_ca,
		    w->mtls_calen, err, sizeof(err));
		if (mctx == NULL) {
			SSL_CTX_free(ctx);
			log_warnx("new TLS material rejected for LISTEN_MTLS, "
			    "keeping the old: %s", err);
			return;
		}
		SSL_CTX_free(w->mtls);
		w->mtls = mctx;
	}
	SSL_CTX_free(w->tls);
	w->tls = ctx;
	log_debug("TLS context of generation %u loaded", gen);
}

static void
worker_master_msg(struct ipc_chan *ch, struct ipc_msg *m, void *arg)
{
	struct worker	*w = arg;
	struct ipc_rd	 rd;
	uint32_t	 tls;

	switch (m->hdr.type) {
	case IPC_M_LISTENER:
		ipc_rd_init(&rd, m);
		/*
		 * 0 plain, 1 TLS, 2 the filter socket, 3 LISTEN_MTLS, 4 the
		 * compose runner's socket (plain, a credential of its own)
		 */
		tls = ipc_rd_u32(&rd);
		if (ipc_rd_end(&rd) == -1 || tls > 4)
			fatalx("malformed listener message");
		worker_add_listener(w, m->fd, (int)tls);
		break;
	case IPC_M_TLS:
		worker_tls_update(w, m);
		break;
	case IPC_M_MTLS_CA: {
		/* Kept for the next IPC_M_TLS, which the master sends next. */
		const char *ca;
		size_t calen;
		ipc_rd_init(&rd, m);
		ca = ipc_rd_strp(&rd, &calen, MTLS_CA_MAX);
		if (ca == NULL || ipc_rd_end(&rd) == -1)
			fatalx("malformed MTLS_CLIENT_CA message from master");
		free(w->mtls_ca);
		w->mtls_ca = xmalloc(calen + 1);
		memcpy(w->mtls_ca, ca, calen);
		w->mtls_ca[calen] = '\0';
		w->mtls_calen = calen;
		break;
	}
	case IPC_M_AUTHD_CHAN:
		if (w->authd != NULL) {
			ipc_chan_free(w->authd);
			w->authd = NULL;
			worker_authd_lost(w);
		}
		w->authd_gen = m->hdr.id;
		w->authd = ipc_chan_new(w->base, m->fd, "authd", perms_authd,
		    nitems(perms_authd), worker_authd_msg, worker_authd_closed,
		    w);
		ipc_set_batch(w->authd, 1);	/* one answer per request */
		log_debug("connected to authd");
		break;
	case IPC_M_KEYD_CHAN:
		keyd_client_chan(m->fd, w->slot);
		log_debug("connected to keyd");
		break;
	case IPC_M_PROXY_CHAN:
		/* Streams to an earlier proxy are of no use to the new one. */
		worker_streams_drop(w);
		if (w->proxy != NULL)
			ipc_chan_free(w->proxy);
		w->proxy = ipc_chan_new(w->base, m->fd, "proxy", perms_proxy, 0,
		    NULL, worker_proxy_closed, w);
		log_debug("connected to proxy");
		break;
	case IPC_M_SHUTDOWN:
		worker_start_drain(w);
		break;
	case IPC_M_RELOAD:
		/* Nothing in a worker's table changes without a restart yet. */
		break;
	case IPC_M_PING:
		ipc_send(w->master, IPC_C_PONG, w->slot, m->hdr.id, NULL, 0,
		    -1);
		break;
	default:
		fatalx("unexpected message 0x%04x from master", m->hdr.type);
	}
}

static void
worker_master_closed(struct ipc_chan *ch, void *arg)
{
	/* The master is gone: nobody supervises us, so stop at once. */
	log_warnx("master went away; exiting");
	exit(0);
}

static struct conn *
conn_by_reqid(struct worker *w, uint32_t id)
{
	struct conn	*c;
	uint32_t	 idx = id & 0xfffff;

	if (idx >= w->table_size || (c = w->table[idx]) == NULL ||
	    c->reqid != id || (c->state != CONN_AUTH_WAIT && !(c->fwd &&
	    c->state == CONN_PROXY && !c->resp_started)))
		return NULL;	/* the client left meanwhile */
	return c;
}

static void
worker_authd_msg(struct ipc_chan *ch, struct ipc_msg *m, void *arg)
{
	struct worker	*w = arg;
	struct ipc_rd	 rd;
	struct approval	 ap;
	struct conn	*c;
	const char	*body;
	size_t		 blen;
	uint32_t	 verdict;
	char		 reason[64], principal[APPROVAL_PRINCIPAL_MAX];
	char		 ctype[64];

	ipc_rd_init(&rd, m);
	if (m->hdr.type == IPC_A_ENROLL_ANS) {
		verdict = ipc_rd_u32(&rd);
		ipc_rd_str(&rd, ctype, sizeof(ctype));
		body = ipc_rd_strp(&rd, &blen, 4096);
		if (body == NULL || ipc_rd_end(&rd) == -1)
			goto bad;
		if ((c = conn_by_reqid(w, m->hdr.id)) != NULL)
			conn_enroll_answer(c, (int)verdict, ctype, body, blen);
		return;
	}
	verdict = ipc_rd_u32(&rd);
	ipc_rd_str(&rd, reason, sizeof(reason));
	ipc_rd_str(&rd, principal, sizeof(principal));
	approval_get(&rd, &ap);
	if (ipc_rd_end(&rd) == -1)
		goto bad;
	if ((c = conn_by_reqid(w, m->hdr.id)) != NULL)
		conn_auth_answer(c, (int)verdict, reason, principal, &ap);
	return;
bad:
	log_warnx("malformed answer from authd; dropping channel");
	ipc_chan_free(ch);
	w->authd = NULL;
}

/*
 * authd is gone: everyone waiting on it gets a 503, and so do newcomers.
 * A request authd was to pass on to the proxy may or may not have gone
 * before it died; the proxy knows, once it has read all authd sent, and
 * answers FRAME_CANCEL on the stream with FRAME_NOREQ (then a 503 here)
 * or with the answer to the request.
 */
static void
worker_authd_lost(struct worker *w)
{
	struct conn	*c, *next;

	for (c = TAILQ_FIRST(&w->conns); c != NULL; c = next) {
		next = TAILQ_NEXT(c, entry);
		if (c->state == CONN_AUTH_WAIT)
			conn_auth_answer(c, AUTH_UNAVAILABLE, "", "", NULL);
		else if (c->fwd && c->state == CONN_PROXY && !c->resp_started &&
		    !c->fwd_cancel && c->sbev != NULL) {
			struct frame_hdr fh = { FRAME_CANCEL, 8 };
			uint32_t q[2] = { w->authd_gen, c->reqid };

			c->fwd_cancel = 1;
			bufferevent_write(c->sbev, &fh, sizeof(fh));
			bufferevent_write(c->sbev, q, sizeof(q));
		}
	}
}

static void
worker_authd_closed(struct ipc_chan *ch, void *arg)
{
	struct worker	*w = arg;

	log_warnx("lost authd; failing closed until it is back");
	ipc_chan_free(ch);
	w->authd = NULL;
	worker_authd_lost(w);
}

static void
worker_proxy_closed(struct ipc_chan *ch, void *arg)
{
	struct worker	*w = arg;

	log_warnx("lost the proxy; Docker requests fail until it is back");
	ipc_chan_free(ch);
	w->proxy = NULL;
	worker_streams_drop(w);
}

static void
worker_drain_timeout(evutil_socket_t fd, short ev, void *arg)
{
	struct worker	*w = arg;

	log_warnx("drain timeout: closing %d connection(s)", w->nconns);
	exit(0);
}

static void
worker_start_drain(struct worker *w)
{
	struct timeval	 tv = { WORKER_DRAIN_SECONDS, 0 };
	struct conn	*c, *next;
	int		 i;

	if (w->draining)
		return;
	w->draining = 1;
	worker_unwatch(w);
	if (w->parked_fd != -1)
		worker_unpark(w);	/* closes it */
	for (i = 0; i < w->nlisteners; i++) {
		if (w->shed_watch[i] != NULL)
			event_free(w->shed_watch[i]);
		w->shed_watch[i] = NULL;
		close(event_get_fd(w->listeners[i]));
		event_free(w->listeners[i]);
		w->listeners[i] = NULL;
	}
	w->nlisteners = 0;
	w->listening = 0;
	for (c = TAILQ_FIRST(&w->conns); c != NULL; c = next) {
		next = TAILQ_NEXT(c, entry);
		conn_drain(c);
	}
	w->drain_timer = evtimer_new(w->base, worker_drain_timeout, w);
	evtimer_add(w->drain_timer, &tv);
	worker_conn_closed(w);
}

static void
worker_signal(evutil_socket_t sig, short ev, void *arg)
{
	/* The master drives shutdown; a stray SIGTERM means drain too. */
	worker_start_drain(arg);
}

static const char *
header_value(struct conn *c, const char *name, size_t *len)
{
	const struct http_hdr	*h = http_header(&c->req, name);

	*len = h ? h->vlen : 0;
	return h ? h->value : "";
}

static void
new_reqid(struct conn *c)
{
	struct worker	*w = c->w;

	w->reqgen = (w->reqgen + 1) & 0xfff;
	c->reqid = (w->reqgen << 20) | c->idx;
}

/*
 * authd has the presented credentials: clear them from the parsed head,
 * which lives as long as the request (a stream can last hours).  No
 * credential header is forwarded, and nothing reads them again.
 */
static void
worker_wipe_credentials(struct conn *c)
{
	static const char *const cred[] = {
		"Authorization", "Proxy-Authorization", "X-Portwing-Token",
		"X-Lookout-Token", "X-Dd-Agent-Secret", "X-API-Key",
	};
	struct http_hdr	*h;
	size_t		 i;
	int		 k;

	for (k = 0; k < c->req.nhdrs; k++) {
		h = &c->req.hdrs[k];
		for (i = 0; i < nitems(cred); i++)
			if (h->nlen == strlen(cred[i]) &&
			    strncasecmp(h->name, cred[i], h->nlen) == 0) {
				explicit_bzero((char *)h->value, h->vlen);
				h->vlen = 0;
			}
	}
}

static const char *const pw_sighdr[] = {
	"X-Portwing-Key-ID", "X-Portwing-Timestamp", "X-Portwing-Nonce",
	"X-Portwing-Signature", "X-Portwing-Signature-Version",
};
/* Lookout v0.2 (Portwing's earlier name): same values, same order. */
static const char *const lo_sighdr[] = {
	"X-Lookout-Key-ID", "X-Lookout-Timestamp", "X-Lookout-Nonce",
	"X-Lookout-Signature", "X-Lookout-Signature-Version",
};

/*
 * Which signature headers does the request use: 0 X-Portwing-* (or
 * none), 1 X-Lookout-*, -1 both (refused: half of one set and half of
 * the other must not be read as one signature).  Sets c->lookout when
 * any X-Lookout-* credential header is present, for the reason header.
 */
int
worker_auth_dialect(struct conn *c)
{
	size_t	i;
	int	pw = 0, lo = 0;

	for (i = 0; i < nitems(pw_sighdr); i++) {
		if (http_header(&c->req, pw_sighdr[i]) != NULL)
			pw = 1;
		if (http_header(&c->req, lo_sighdr[i]) != NULL)
			lo = 1;
	}
	c->lookout = lo || http_header(&c->req, "X-Lookout-Token") != NULL;
	if (pw && lo)
		return -1;
	return lo;
}

/*
 * Ask authd about the current request.  The worker sends what the client
 * presented; authd decides.  Returns -1 when authd is unreachable.
 */
static void	req_rest_put(struct ipc_wr *, struct conn *, const char *,
		    int, int);

int
worker_auth_request(struct conn *c)
{
	static const char *const tokhdr[] = {
		"X-Portwing-Token", "X-Lookout-Token", "X-Dd-Agent-Secret",
		"X-API-Key",
	};
	const char *const	*sighdr;
	struct worker		*w = c->w;
	struct ipc_wr		 wr;
	const struct http_hdr	*h;
	const char		*tok = NULL, *v;
	size_t			 toklen = 0, vl, i;
	int			 rv;

	if (w->authd == NULL)
		return -1;
	/* conn.c refused a request mixing the two signature dialects. */
	sighdr = worker_auth_dialect(c) == 1 ? lo_sighdr : pw_sighdr;
	/*
	 * Token precedence (reference 6.2), X-Lookout-Token ranking with
	 * X-Portwing-Token (its earlier name), then dockeragent's X-API-Key.
	 */
	if ((h = http_header(&c->req, "Authorization")) != NULL &&
	    h->vlen > 7 && strncasecmp(h->value, "Bearer ", 7) == 0) {
		tok = h->value + 7;
		toklen = h->vlen - 7;
		while (toklen && (*tok == ' ' || *tok == '\t')) {
			tok++;
			toklen--;
		}
	}
	for (i = 0; i < nitems(tokhdr) && toklen == 0; i++)
		tok = header_value(c, tokhdr[i], &toklen);
	new_reqid(c);
	ipc_wr_init(&wr);
	ipc_wr_u32(&wr, (c->is_signed ? AUTHF_SIGNED : 0) |
	    (c->filter ? AUTHF_PEER : 0) | (c->mtls ? AUTHF_CERT : 0) |
	    (c->fwd ? AUTHF_FORWARD : 0));
	ipc_wr_str(&wr, c->peer);
	ipc_wr_str(&wr, c->req.method);
	ipc_wr_str(&wr, c->req.target);
	ipc_wr_str(&wr, c->req.path);
	ipc_wr_str(&wr, c->req.query ? c->req.query : "");
	ipc_wr_u32(&wr, c->req.bare_qmark);
	ipc_wr_strn(&wr, tok ? tok : "", toklen);
	v = header_value(c, "X-Forwarded-For", &vl);
	ipc_wr_strn(&wr, v, vl > 1000 ? 1000 : vl);
	v = header_value(c, "X-Real-IP", &vl);
	ipc_wr_strn(&wr, v, vl > 63 ? 63 : vl);
	for (i = 0; i < nitems(pw_sighdr); i++) {
		v = header_value(c, sighdr[i], &vl);
		ipc_wr_strn(&wr, v, vl > 120 ? 0 : vl);
	}
	ipc_wr_bytes(&wr, c->digest, sizeof(c->digest));
	/* LISTEN_MTLS: the chain the client sent, which authd verifies. */
#ifdef PW_TEST_HOOKS
	/*
	 * Test build: a worker passing another chain than the client's, its
	 * own server certificate (issued by the same CA in the tests).
	 */
	if (c->mtls && http_header(&c->req, "X-Portwing-Test-Chain") != NULL) {
		X509 *x = SSL_CTX_get0_certificate(w->mtls);
		unsigned char *der = NULL;
		int dl = x != NULL ? i2d_X509(x, &der) : -1;
		if (dl > 0) {
			ipc_wr_u32(&wr, 1);
			ipc_wr_u32(&wr, (uint32_t)dl);
			ipc_wr_bytes(&wr, der, (size_t)dl);
		}
		OPENSSL_free(der);
	} else
#endif
	if (c->mtls && mtls_put_chain(bufferevent_openssl_get_ssl(c->bev),
	    &wr) == -1) {
		ipc_wr_free(&wr);
		worker_wipe_credentials(c);
		return -1;
	}
	if (c->fwd) {
		/* Approved, authd passes it on to the proxy on this stream. */
		struct ipc_wr rest;

		ipc_wr_u64(&wr, c->sid);
		ipc_wr_u32(&wr, 0);		/* REQ flags */
		ipc_wr_init(&rest);
		req_rest_put(&rest, c, c->req.target, 0, REQ_BODY_NONE);
		ipc_wr_bytes(&wr, rest.buf, rest.len);	/* the tail */
		ipc_wr_free(&rest);
	}
	/*
	 * The filter socket's clients are known by their peer credentials,
	 * which authd reads itself from the connection (SO_PEERCRED).
	 */
	rv = ipc_send(w->authd, IPC_W_AUTH_REQ, w->slot, c->reqid, wr.buf,
	    wr.len, c->filter || c->mtls ? dup(c->fd) : -1);
	ipc_wr_free(&wr);
	worker_wipe_credentials(c);
	return rv;
}

/*
 * A REQ payload after its flags and approval: the method, the target, the
 * body framing, the client and the forwardable header fields.  The worker
 * writes it on the stream, or hands it to authd to pass on.
 */
static void
req_rest_put(struct ipc_wr *wr, struct conn *c, const char *target, int flags,
    int body_mode)
{
	int	i;

	frame_req_rest(wr, c->req.method, target, body_mode,
	    c->req.content_length, c->peer, (flags & PXF_UPGRADE) ?
	    c->req.upgrade : "");
	/* Portwing's own routes take nothing from the client's fields. */
	for (i = 0; i < c->req.nhdrs && !(flags & (PXF_PING | PXF_DD)); i++) {
		const struct http_hdr *h = &c->req.hdrs[i];
		if (!http_header_forwardable(h->name))
			continue;
		frame_req_header(wr, h->name, h->nlen, h->value, h->vlen);
	}
	frame_req_end(wr);
}

/*
 * An MCP tool call for the proxy (agent/mcp.c checked it): the approved
 * POST /_portwing/mcp as a PXF_DD request whose only fields are the
 * worker's own, naming the tool, the container id and the tail.
 */
void
worker_mcp_request(struct conn *c, const char *tool, const char *id, int tail)
{
	const char	*names[3], *values[3];
	char		 t[16];
	int		 n = 0;

	names[n] = "Pw-Mcp-Tool";
	values[n++] = tool;
	if (*id != '\0') {
		names[n] = "Pw-Mcp-Id";
		values[n++] = id;
	}
	if (tail > 0) {
		snprintf(t, sizeof(t), "%d", tail);
		names[n] = "Pw-Mcp-Tail";
		values[n++] = t;
	}
	worker_own_request(c, n, names, values, 0);
}

/*
 * One of portwing's own routes for the proxy (PXF_DD): the approved
 * method and target, and as its only header fields the n the worker
 * made (the MCP tool call, dockeragent's checked values); blen > 0 when
 * a body of the worker's making follows (a host file's content).
 */
void
worker_own_request(struct conn *c, int n, const char *const *names,
    const char *const *values, size_t blen)
{
	struct ipc_wr		 wr;
	struct frame_hdr	 fh;
	int			 i;

	ipc_wr_init(&wr);
	ipc_wr_u32(&wr, PXF_DD);
	approval_put(&wr, &c->approval);
	frame_req_rest(&wr, c->req.method, c->req.target, blen > 0 ?
	    REQ_BODY_LENGTH : REQ_BODY_NONE, blen, c->peer, "");
	for (i = 0; i < n; i++)
		frame_req_header(&wr, names[i], strlen(names[i]), values[i],
		    strlen(values[i]));
	frame_req_end(&wr);
	fh.type = FRAME_REQ;
	fh.len = (uint32_t)wr.len;
	bufferevent_write(c->sbev, &fh, sizeof(fh));
	bufferevent_write(c->sbev, wr.buf, wr.len);
	ipc_wr_free(&wr);
}

/* POST /api/portwing/enroll: authd verifies, the master writes the key. */
int
worker_enroll_request(struct conn *c)
{
	struct worker	*w = c->w;
	struct ipc_wr	 wr;
	size_t		 n = evbuffer_get_length(c->body);
	int		 rv;

	if (w->authd == NULL)
		return -1;
	new_reqid(c);
	ipc_wr_init(&wr);
	ipc_wr_str(&wr, c->peer);
	ipc_wr_strn(&wr, (const char *)evbuffer_pullup(c->body, (ssize_t)n), n);
	rv = ipc_send(w->authd, IPC_W_ENROLL_REQ, w->slot, c->reqid, wr.buf,
	    wr.len, -1);
	ipc_wr_free(&wr);
	return rv;
}

/*
 * Give the proxy a new stream for one client connection (IPC_W_STREAM).
 * Returns the worker's end, or -1 when the proxy is unreachable.
 */
/*
 * The api_request record of an answer this worker gave itself after
 * authentication (its own routes, 404/405 on /_portwing/ paths).  The
 * proxy owns the audit trail; a full channel drops the record.
 */
void
worker_audit(struct conn *c, int status)
{
	struct worker		*w = c->w;
	struct audit_rec	 rec;
	struct ipc_wr		 wr;

	if (w->proxy == NULL)
		return;
	audit_rec_init(&rec, "api_request", c->approval.actor,
	    c->req.method, c->req.target, "allowed");
	audit_rec_principal(&rec, c->approval.principal);
	rec.status = status;
	rec.has_duration = 1;
	rec.duration_ms = (double)(pw_now_us() - c->started_us) / 1000.0;
	ipc_wr_init(&wr);
	audit_rec_put(&wr, &rec);
	(void)ipc_send(w->proxy, IPC_W_AUDIT, w->slot, 0, wr.buf, wr.len, -1);
	ipc_wr_free(&wr);
}

int
worker_new_stream(struct worker *w, uint64_t *sid)
{
	struct ipc_wr	wr;
	int		sv[2], rv;

	if (w->proxy == NULL)
		return -1;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0,
	    sv) == -1) {
		log_warn("socketpair");
		return -1;
	}
	*sid = w->next_sid++;
	ipc_wr_init(&wr);
	ipc_wr_u64(&wr, *sid);
	rv = ipc_send(w->proxy, IPC_W_STREAM, w->slot, 0, wr.buf, wr.len, sv[1]);
	ipc_wr_free(&wr);
	if (rv == -1) {
		close(sv[0]);
		return -1;
	}
	return sv[0];
}

/*
 * The stream pool.  A stream goes back to it only between exchanges
 * (both ENDs sent, nothing buffered either way: conn.c decides), so the
 * next connection's first REQ is the next thing the proxy reads on it.
 * An idle stream that sees bytes or an end (the proxy gave it up or
 * restarted) is dropped.
 */
static void
idle_stream_drop(struct worker *w, struct bufferevent *bev)
{
	int	i;

	for (i = 0; i < w->nidle_streams; i++)
		if (w->idle_streams[i] == bev) {
			w->nidle_streams--;
			w->idle_streams[i] = w->idle_streams[w->nidle_streams];
			w->idle_sids[i] = w->idle_sids[w->nidle_streams];
			break;
		}
	bufferevent_free(bev);
}

static void
idle_stream_readcb(struct bufferevent *bev, void *arg)
{
	log_warnx("unexpected bytes from the proxy on an idle stream");
	idle_stream_drop(arg, bev);
}

static void
idle_stream_eventcb(struct bufferevent *bev, short what, void *arg)
{
	log_debug("an idle stream to the proxy ended (events 0x%x)", what);
	idle_stream_drop(arg, bev);
}

int
worker_stream_put(struct worker *w, struct bufferevent *bev, uint64_t sid)
{
	if (w->proxy == NULL || w->draining ||
	    w->nidle_streams >= WORKER_IDLE_STREAMS)
		return -1;
	bufferevent_setcb(bev, idle_stream_readcb, NULL, idle_stream_eventcb,
	    w);
	/* The write side: pw_bev_fastwrite enables it while bytes wait. */
	bufferevent_enable(bev, EV_READ);
	w->idle_sids[w->nidle_streams] = sid;
	w->idle_streams[w->nidle_streams++] = bev;
	return 0;
}

struct bufferevent *
worker_stream_get(struct worker *w, uint64_t *sid)
{
	if (w->proxy == NULL || w->nidle_streams == 0)
		return NULL;
	w->nidle_streams--;
	*sid = w->idle_sids[w->nidle_streams];
	return w->idle_streams[w->nidle_streams];
}

void
worker_streams_drop(struct worker *w)
{
	while (w->nidle_streams > 0)
		bufferevent_free(w->idle_streams[--w->nidle_streams]);
}

/*
 * Queue the current request's REQ frame (proxy/proxy.h) on the
 * connection's stream: the approval, the parsed method and target, the
 * body framing and the forwardable header fields.
 */
void
worker_proxy_request(struct conn *c, int flags, int body_mode)
{
	struct ipc_wr		 wr;
	struct frame_hdr	 fh;
	const char		*target = c->req.target;

#ifdef PW_TEST_HOOKS
	{
		const struct http_hdr *th;
		static struct approval saved;
		struct approval real = c->approval;
		int stash = 0;
		if ((th = http_header(&c->req, "X-Portwing-Test-Approval"))) {
			/* stash: keep this approval unused for a later replay */
			if ((stash = strcmp(th->value, "stash") == 0) ||
			    strcmp(th->value, "forge") == 0)
				pw_random_bytes(c->approval.mac,
				    sizeof(c->approval.mac));
			else if (strcmp(th->value, "alter") == 0)
				target = "/containers/json?all=1";
			else if (strcmp(th->value, "replay") == 0 && saved.seq)
				c->approval = saved;
			else if (strcmp(th->value, "other-worker") == 0)
				c->approval.worker ^= 1;
			else if (strncmp(th->value, "policy=", 7) == 0)
				/* claim another policy profile */
				pw_strlcpy(c->approval.policy, th->value + 7,
				    sizeof(c->approval.policy));
		}
		if (!(flags & PXF_PING))	/* readiness carries none */
			saved = stash ? real : c->approval;
	}
#endif
	ipc_wr_init(&wr);
	ipc_wr_u32(&wr, (uint32_t)flags);
	approval_put(&wr, &c->approval);
	req_rest_put(&wr, c, target, flags, body_mode);
	fh.type = FRAME_REQ;
	fh.len = (uint32_t)wr.len;
	bufferevent_write(c->sbev, &fh, sizeof(fh));
	bufferevent_write(c->sbev, wr.buf, wr.len);
	ipc_wr_free(&wr);
}

/*
 * Each connection may hold two descriptors (client, stream to the
 * proxy).  Raise the soft RLIMIT_NOFILE towards what MAX_CONNECTIONS
 * needs, up to the hard limit; when that is not enough, lower the
 * connection limit so the worker reaches it (and sheds idle
 * connections) before accept fails for want of descriptors.
 */
static void
worker_fd_limit(struct worker *w)
{
	struct rlimit	rl;
	rlim_t		want;
	int		max;

	want = (rlim_t)w->cfg.max_conns * 2 + WORKER_FD_RESERVE;
	if (getrlimit(RLIMIT_NOFILE, &rl) == -1)
		return;
	if (rl.rlim_cur < want) {
		rl.rlim_cur = rl.rlim_max < want ? rl.rlim_max : want;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
		(void)getrlimit(RLIMIT_NOFILE, &rl);
	}
	if (rl.rlim_cur >= want)
		return;
	max = rl.rlim_cur > 2 * WORKER_FD_RESERVE ?
	    (int)((rl.rlim_cur - WORKER_FD_RESERVE) / 2) : WORKER_FD_RESERVE / 2;
	log_warnx("descriptor limit %llu: %d connections per worker instead "
	    "of MAX_CONNECTIONS=%d", (unsigned long long)rl.rlim_cur, max,
	    w->cfg.max_conns);
	w->cfg.max_conns = max;
}

/* The per-address counts' hash: SipHash-2-4 under the master's key. */
static void
worker_addr_init(struct worker *w)
{
	EVP_MAC		*mac;
	OSSL_PARAM	 params[2];
	size_t		 outlen = 8;

	if (w->slot < ST_MAX_WORKERS)
		memset(pw_stats->worker[w->slot].addr_conns, 0,
		    sizeof(pw_stats->worker[w->slot].addr_conns));
	params[0] = OSSL_PARAM_construct_size_t(OSSL_MAC_PARAM_SIZE, &outlen);
	params[1] = OSSL_PARAM_construct_end();
	if ((mac = EVP_MAC_fetch(NULL, "SIPHASH", NULL)) == NULL ||
	    (w->addr_mac = EVP_MAC_CTX_new(mac)) == NULL ||
	    !EVP_MAC_init(w->addr_mac, pw_stats->master.addr_key,
	    sizeof(pw_stats->master.addr_key), params))
		fatalx("SipHash for the per-address limit is unavailable");
	EVP_MAC_free(mac);
}

int
worker_run(struct child_boot *b)
{
	struct worker	*w;
	struct event	*ev_term, *ev_int;

	w = xcalloc(1, sizeof(*w));
	worker = w;
	w->cfg = b->cfg;
	w->slot = b->slot;
	/* Stream ids never repeat in this slot, even across restarts. */
	w->next_sid = ((uint64_t)b->gen << 32) | 1;
	/* A predecessor's requests died with it. */
	ST_SET(pw_stats->worker[w->slot].in_flight, 0);
	w->started = pw_wall_time();
	http_limits_default(&w->limits);
	TAILQ_INIT(&w->conns);
	worker_fd_limit(w);
	worker_addr_init(w);
	w->table_size = (uint32_t)w->cfg.max_conns + 16;
	w->table = xcalloc(w->table_size, sizeof(*w->table));
	signal(SIGPIPE, SIG_IGN);
	/* SIGHUP is the master's business; reloads arrive over IPC. */
	signal(SIGHUP, SIG_IGN);
	w->base = pw_event_base();
	ev_term = evsignal_new(w->base, SIGTERM, worker_signal, w);
	ev_int = evsignal_new(w->base, SIGINT, worker_signal, w);
	evsignal_add(ev_term, NULL);
	evsignal_add(ev_int, NULL);
	w->accept_timer = evtimer_new(w->base, worker_accept_resume, w);
	w->shed_timer = evtimer_new(w->base, worker_shed_retry, w);
	w->parked_fd = -1;

	child_sandbox(PROC_WORKER, b);

	w->master = ipc_chan_new(w->base, PROC_IPC_FD, "master", perms_master,
	    nitems(perms_master), worker_master_msg, worker_master_closed, w);
	{
		uint32_t v = IPC_PROTOCOL_VERSION;
		ipc_send(w->master, IPC_C_READY, w->slot, 0, &v, sizeof(v), -1);
	}
	log_debug("ready");
	event_base_dispatch(w->base);
	return 0;
}
