/*
 * medge.c: what the master does for the edge process before each dial.
 *
 * The edge process runs in an empty chroot with no resolver and no key,
 * so the master (a) resolves the controller's host name, on a thread of
 * its own so that a slow DNS server never stalls supervision, and (b)
 * signs the hello with PRIVATE_KEY_FILE.  The master builds the signed
 * bytes itself from its own clock and a fresh nonce: the edge process
 * names nothing that is signed, so a compromised one obtains hellos, at
 * most a few a second, and never a signature over bytes of its choosing.
 * The key file is read again for every hello, so a replaced key is used
 * from the next connection on, as in Portwing.
 */
#include "pwbuild.h"

#include <sys/socket.h>
#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <openssl/crypto.h>

#include "config.h"
#include "edge/edge.h"
#include "log.h"
#include "pwcrypto.h"
#include "util.h"

#define SIGN_BURST	4	/* hellos signed at once */
#define SIGN_EVERY_MS	500	/* then one per this */

struct rq {
	char	host[256];
	char	port[8];
};

struct ra {
	int	rc;			/* getaddrinfo's */
	char	addr[64];
};

static struct {
	struct event_base	*base;
	int			 rq[2], ra[2];	/* to and from the resolver */
	int			 started;
	struct event		*ev;
	int			 busy;		/* a resolution outstanding */
	uint32_t		 id;
	medge_done		 cb;
	void			*arg;
	struct edge_dial	 d;
	int			 credit;
	uint64_t		 credit_ms;
} me;

static void *
resolver_main(void *arg)
{
	struct addrinfo	 hints, *res;
	struct rq	 q;
	struct ra	 a;
	void		*ip;

	for (;;) {
		if (read(me.rq[0], &q, sizeof(q)) != (ssize_t)sizeof(q))
			return NULL;
		memset(&a, 0, sizeof(a));
		memset(&hints, 0, sizeof(hints));
		hints.ai_family = AF_UNSPEC;
		hints.ai_socktype = SOCK_STREAM;
		hints.ai_flags = AI_ADDRCONFIG;
		if ((a.rc = getaddrinfo(q.host, q.port, &hints, &res)) == 0) {
			ip = res->ai_family == AF_INET6 ?
			    (void *)&((struct sockaddr_in6 *)
			    res->ai_addr)->sin6_addr :
			    (void *)&((struct sockaddr_in *)
			    res->ai_addr)->sin_addr;
			if (inet_ntop(res->ai_family, ip, a.addr,
			    sizeof(a.addr)) == NULL)
				a.rc = EAI_FAIL;
			freeaddrinfo(res);
		}
		if (write(me.ra[1], &a, sizeof(a)) != (ssize_t)sizeof(a))
			return NULL;
	}
}

static void
resolved(evutil_socket_t fd, short ev, void *arg)
{
	struct ra	a;

	if (read(fd, &a, sizeof(a)) != (ssize_t)sizeof(a) || !me.busy)
		return;
	me.busy = 0;
	if (a.rc != 0) {
		me.d.status = EDGE_DIAL_E_RESOLVE;
		snprintf(me.d.err, sizeof(me.d.err), "cannot resolve the "
		    "controller's host name: %s", gai_strerror(a.rc));
	} else
		pw_strlcpy(me.d.addr, a.addr, sizeof(me.d.addr));
	me.cb(&me.d, me.id, me.arg);
	OPENSSL_cleanse(&me.d, sizeof(me.d));
}

void
medge_init(struct event_base *base)
{
	pthread_t	th;
	sigset_t	all, old;

	me.base = base;
	me.credit = SIGN_BURST;
	if (pipe2(me.rq, O_CLOEXEC) == -1 || pipe2(me.ra, O_CLOEXEC) == -1)
		fatal("pipe for the edge resolver");
	/* The thread takes no signal: the master's loop handles them. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	if (pthread_create(&th, NULL, resolver_main, NULL) != 0)
		fatalx("cannot start the edge resolver thread");
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	pthread_detach(th);
	me.ev = event_new(base, me.ra[0], EV_READ | EV_PERSIST, resolved, NULL);
	event_add(me.ev, NULL);
	me.started = 1;
}

/*
 * The hello's signed fields: key ID, timestamp, nonce, and the signature
 * over GET, the fixed path, the empty body's digest, timestamp and nonce
 * (edge-protocol.md 6.1).  0, or -1 with d->err set.
 */
int
medge_sign(const char *keyfile, struct edge_dial *d)
{
	EVP_PKEY	*pk;
	uint8_t		 raw[32], sig[64], rnd[16];
	char		 body[65], ts[24], *canon;
	int		 rc;

	if (pwc_load_private_file(keyfile, &pk, d->err, sizeof(d->err)) == -1)
		return -1;
	if (pwc_raw_public(pk, raw) == -1) {
		EVP_PKEY_free(pk);
		pw_strlcpy(d->err, "cannot derive the public key",
		    sizeof(d->err));
		return -1;
	}
	pwc_key_id(raw, d->keyid);
	d->ts = (uint64_t)time(NULL);
	pw_random_bytes(rnd, sizeof(rnd));
	pw_hex_encode(rnd, sizeof(rnd), d->nonce, sizeof(d->nonce));
#ifdef PW_TEST_HOOKS
	/* Test build: the reference's fixed timestamp and nonce. */
	if (getenv("PW_TEST_EDGE_TS") != NULL)
		d->ts = strtoull(getenv("PW_TEST_EDGE_TS"), NULL, 10);
	if (getenv("PW_TEST_EDGE_NONCE") != NULL)
		pw_strlcpy(d->nonce, getenv("PW_TEST_EDGE_NONCE"),
		    sizeof(d->nonce));
#endif
	pwc_sha256_hex("", 0, body);
	snprintf(ts, sizeof(ts), "%llu", (unsigned long long)d->ts);
	canon = pwc_canonical("GET", EDGE_WS_PATH, body, ts, d->nonce);
	rc = pwc_sign(pk, canon, strlen(canon), sig);
	free(canon);
	EVP_PKEY_free(pk);
	if (rc == -1 || pwc_b64url_encode_nopad(sig, sizeof(sig), d->sig,
	    sizeof(d->sig)) == -1) {
		pw_strlcpy(d->err, "signing the hello failed", sizeof(d->err));
		return -1;
	}
	return 0;
}

/*
 * One dial: sign, then resolve (numeric addresses need no resolver).  cb
 * runs at once, or when the resolver answers; one dial at a time.
 */
void
medge_dial(const struct pw_config *cfg, uint32_t id, medge_done cb, void *arg)
{
	struct edge_dial	d;
	struct rq		q;
	struct in6_addr		a6;
	struct in_addr		a4;
	uint64_t		now = pw_now_ms();

	memset(&d, 0, sizeof(d));
	me.credit += (int)((now - me.credit_ms) / SIGN_EVERY_MS);
	if (me.credit > SIGN_BURST)
		me.credit = SIGN_BURST;
	me.credit_ms = now;
	if (me.busy || me.credit <= 0) {
		d.status = EDGE_DIAL_E_BUSY;
		pw_strlcpy(d.err, "dialling too often", sizeof(d.err));
		cb(&d, id, arg);
		return;
	}
	me.credit--;
	if (medge_sign(cfg->val[CK_PRIVATE_KEY_FILE], &d) == -1) {
		d.status = EDGE_DIAL_E_KEY;
		cb(&d, id, arg);
		return;
	}
	if (inet_pton(AF_INET, cfg->edge_host, &a4) == 1 ||
	    inet_pton(AF_INET6, cfg->edge_host, &a6) == 1) {
		pw_strlcpy(d.addr, cfg->edge_host, sizeof(d.addr));
		cb(&d, id, arg);
		OPENSSL_cleanse(&d, sizeof(d));
		return;
	}
	memset(&q, 0, sizeof(q));
	pw_strlcpy(q.host, cfg->edge_host, sizeof(q.host));
	snprintf(q.port, sizeof(q.port), "%d", cfg->edge_port);
	if (!me.started || write(me.rq[1], &q, sizeof(q)) != (ssize_t)sizeof(q)) {
		d.status = EDGE_DIAL_E_RESOLVE;
		pw_strlcpy(d.err, "the resolver is not running", sizeof(d.err));
		cb(&d, id, arg);
		return;
	}
	me.d = d;
	me.busy = 1;
	me.id = id;
	me.cb = cb;
	me.arg = arg;
}
