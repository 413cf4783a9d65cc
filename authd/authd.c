/*
 * authd.c: the authd role (process "portwingd: authd").
 *
 * One channel per worker, created by the master.  Each IPC_W_AUTH_REQ is
 * answered with a verdict; accepted requests get an approval bound to the
 * method, target, principal, worker and (for signed requests) the body
 * digest, MACed with a key the workers never see (common/approval.c).
 * The decision follows reference 6.1: the failure limiter first, then a
 * signature (exclusively, when keys are configured and one is present),
 * else the token.  Argon2id derivations run on argon.c's threads; the
 * answer is sent when one finishes.  Enrollment is verified here and
 * written by the master (IPC_A_ENROLL_ADD), which alone may touch files.
 */
#include "pwbuild.h"

#include <sys/socket.h>
#include <sys/un.h>

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <jansson.h>
#include <openssl/crypto.h>
#include <sodium.h>

#include "agent/child.h"
#include "approval.h"
#include "auditrec.h"
#include "authd.h"
#include "http.h"
#include "ipc.h"
#include "dagent.h"
#include "log.h"
#include "mtls.h"
#include "mtlsl.h"
#include "util.h"

#define AUTHD_MAX_WORKERS	65	/* 64 workers, then IPC_EDGE_SLOT */
#define ENROLL_BODY_MAX		(64 * 1024)

enum { ENROLL_OFF, ENROLL_ON, ENROLL_BURNED };

/* A request waiting for a derivation or for the master. */
struct pending {
	uint32_t	slot;
	uint32_t	serial;
	uint32_t	reqid;
	char		ip[64];
	char		method[HTTP_METHOD_BUF];
	char		*target;
	char		keyid[PWC_KEYID_LEN + 1];
	char		b64[PWC_PUBKEY_B64_LEN + 1];
	char		principal[80];	/* claimed, until approved */
	char		presented[64];	/* key ID of a signed request */
	int		sig_ignored;	/* signature headers, no keys */
	/* AUTHF_FORWARD: approved, the request goes on to the proxy. */
	int		fwd;
	uint64_t	sid;		/* the worker's stream for it */
	uint32_t	rflags;		/* REQ flags */
	uint8_t		*rest;		/* REQ payload from the method on */
	size_t		restlen;
};

static struct {
	struct event_base	*base;
	struct pw_config	 cfg;
	uint32_t		 gen;
	uint64_t		 seq;
	struct ipc_chan		*master;
	struct ipc_chan		*workers[AUTHD_MAX_WORKERS];
	uint32_t		 serial[AUTHD_MAX_WORKERS];
	uint32_t		 next_serial;
	struct keyset		 keys;
	struct nonce_cache	*nonces;
	int			 enroll;
	uint8_t			 enroll_digest[32];
	uint32_t		 enroll_id;
	struct pending		*enroll_wait;
	struct ipc_chan		*audit;		/* to the proxy */
	int			 compose;	/* the compose runner's credential */
	uint8_t			 compose_digest[32];
} authd;

static const struct ipc_perm perms_master[] = {
	{ IPC_M_WORKER_CHAN, 0, 0, 1 },
	{ IPC_M_SHUTDOWN, 0, 0, 0 },
	{ IPC_M_RELOAD, 4, IPC_MAX_CONFIG, 0 },
	{ IPC_M_PING, 0, 0, 0 },
	{ IPC_M_KEYS, 4, IPC_MAX_KEYS, 0 },
	{ IPC_M_ENROLL_DONE, 4, 4, 0 },
	{ IPC_M_AUDIT_CHAN, 0, 0, 1 },
	{ IPC_M_APPROVAL_KEY, 32, 32, 0 },
	{ IPC_M_MTLS_AUTHD, 4, 4 + MTLS_CA_MAX, 0 },
	{ IPC_M_POLICY, 16, 16 + 256, 1 },
};

static const struct ipc_perm perms_worker[] = {
	{ IPC_W_AUTH_REQ, 20, IPC_MAX_AUTH, IPC_FD_OPTIONAL },
	{ IPC_W_ENROLL_REQ, 8, ENROLL_BODY_MAX + 128, 0 },
};

/*
 * An audit record for the proxy, which owns the trail.  A full channel
 * (the proxy far behind) loses the record rather than stalling authd.
 */
static void
authd_audit_send(const struct audit_rec *rec)
{
	struct ipc_wr	wr;

	if (authd.audit == NULL)
		return;
	ipc_wr_init(&wr);
	audit_rec_put(&wr, rec);
	(void)ipc_send(authd.audit, IPC_A_AUDIT, 0, 0, wr.buf, wr.len, -1);
	ipc_wr_free(&wr);
}

/*
 * A refused request: who it claimed to be (the principal a signature or
 * token would have made, and the presented key ID), the status and why.
 */
static void
authd_audit_refusal(const struct pending *p, const char *event, int status,
    const char *reason)
{
	struct audit_rec	rec;

	audit_rec_init(&rec, event, p->ip, p->method, p->target, "denied");
	rec.status = status;
	pw_strlcpy(rec.reason, reason, sizeof(rec.reason));
	pw_strlcpy(rec.principal, p->principal, sizeof(rec.principal));
	pw_strlcpy(rec.key_id, p->presented, sizeof(rec.key_id));
	authd_audit_send(&rec);
}

static void
authd_audit_closed(struct ipc_chan *ch, void *arg)
{
	if (authd.audit == ch)
		authd.audit = NULL;
	ipc_chan_free(ch);
}

static struct ipc_chan *
worker_chan(uint32_t slot, uint32_t serial)
{
	if (slot >= AUTHD_MAX_WORKERS || authd.workers[slot] == NULL ||
	    authd.serial[slot] != serial)
		return NULL;		/* that worker is gone */
	return authd.workers[slot];
}

static void
answer(uint32_t slot, uint32_t serial, uint32_t id, int verdict,
    const char *reason, const char *principal, const struct approval *ap)
{
	struct ipc_chan	*ch = worker_chan(slot, serial);
	struct ipc_wr	 wr;
	struct approval	 none;

	if (ch == NULL)
		return;
	if (ap == NULL) {
		memset(&none, 0, sizeof(none));
		ap = &none;
	}
	ipc_wr_init(&wr);
	ipc_wr_u32(&wr, (uint32_t)verdict);
	ipc_wr_str(&wr, reason);
	ipc_wr_str(&wr, principal);
	approval_put(&wr, ap);
	ipc_send(ch, IPC_A_AUTH_ANS, 0, id, wr.buf, wr.len, -1);
	ipc_wr_free(&wr);
}

/*
 * dockeragent's limit of DAGENT_RATE_PER_MIN requests a minute per
 * address on its /api/v1 routes (ADAPTER=dockeragent), counted once a
 * request has authenticated.  1: refused (429); p is the caller's.
 */
static int
rate_limited(struct pending *p)
{
	char	path[HTTP_MAX_REQLINE];

	if (!authd.cfg.dagent)
		return 0;
	http_percent_decode(p->target, strcspn(p->target, "?"), path,
	    sizeof(path));
	if (strcmp(path, "/api/v1") != 0 && strncmp(path, "/api/v1/", 8) != 0)
		return 0;
	if (!limiter_rate(p->ip, DAGENT_RATE_PER_MIN))
		return 0;
	authd_audit_refusal(p, "rate_limited", 429, "request-rate");
	answer(p->slot, p->serial, p->reqid, AUTH_RATE_LIMITED,
	    DAGENT_RATE_MSG, "", NULL);
	return 1;
}

static void
approve(struct pending *p, const char *principal, const char *policy,
    const uint8_t *digest)
{
	struct approval	ap;

	if (rate_limited(p))
		return;

	memset(&ap, 0, sizeof(ap));
	ap.gen = authd.gen;
	ap.worker = p->slot;
	ap.seq = ++authd.seq;
	ap.expires_ms = pw_now_ms() + APPROVAL_TTL_MS;
	pw_strlcpy(ap.principal, principal, sizeof(ap.principal));
	pw_strlcpy(ap.actor, p->ip, sizeof(ap.actor));
	if (policy != NULL)
		pw_strlcpy(ap.policy, policy, sizeof(ap.policy));
	if (digest != NULL) {
		ap.flags |= APPROVAL_F_BODY;
		memcpy(ap.body_digest, digest, sizeof(ap.body_digest));
	}
	approval_sign(&ap, authd.cfg.approval_key, p->method, p->target);
	if (p->fwd && authd.audit != NULL &&
	    worker_chan(p->slot, p->serial) != NULL) {
		struct ipc_wr	wr;

		/*
		 * Straight to the proxy, which serves it on the worker's
		 * stream: one message and one wake-up of the worker fewer.
		 * The slot is the channel's the request came on, so a
		 * worker can only name streams of its own.
		 */
		ipc_wr_init(&wr);
		ipc_wr_u32(&wr, p->slot);
		ipc_wr_u64(&wr, p->sid);
		ipc_wr_u32(&wr, p->rflags);
		approval_put(&wr, &ap);
		ipc_wr_bytes(&wr, p->rest, p->restlen);
		(void)ipc_send(authd.audit, IPC_A_REQ, 0, p->reqid, wr.buf,
		    wr.len, -1);
		OPENSSL_cleanse(wr.buf, wr.len);
		ipc_wr_free(&wr);
		return;
	}
	/* Without the proxy's channel the worker sends it as usual. */
	answer(p->slot, p->serial, p->reqid, AUTH_OK, "", principal, &ap);
}

static void	pending_free(struct pending *);
static void	deny(struct pending *, const char *, const char *);

/*
 * A request from the filter socket (LISTEN_SOCKET): it needs no token.
 * The worker hands over the client's connection and authd reads the
 * peer's credentials from it, after checking that it is a connection
 * accepted on that very socket: a worker cannot make one up (a
 * socketpair of its own has no such name), so the principal is the
 * connected process's uid, never a value the worker wrote.
 */
static void
filter_peer(struct pending *p, int fd)
{
	struct sockaddr_un	sun;
	struct ucred		cr;
	socklen_t		sl = sizeof(sun), cl = sizeof(cr);
	const char		*path = authd.cfg.val[CK_LISTEN_SOCKET];
	char			principal[64];

	memset(&sun, 0, sizeof(sun));
	if (path == NULL || getsockname(fd, (struct sockaddr *)&sun, &sl) ==
	    -1 || sun.sun_family != AF_UNIX ||
	    strncmp(sun.sun_path, path, sizeof(sun.sun_path)) != 0 ||
	    getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &cl) == -1 ||
	    cl != sizeof(cr)) {
		log_warnx("worker %u sent a connection that is not from the "
		    "filter socket; refused", p->slot);
		deny(p, "no_credentials", "no credentials");
		return;
	}
	snprintf(p->ip, sizeof(p->ip), "unix:uid=%u,gid=%u", (unsigned)cr.uid,
	    (unsigned)cr.gid);
	snprintf(principal, sizeof(principal), "unix:%u", (unsigned)cr.uid);
	approve(p, principal, NULL, NULL);
}

/*
 * A request from the mutual-TLS listener (LISTEN_MTLS): it needs no
 * token either.  authd checks that the connection was accepted on that
 * listener, takes the client's address from it and verifies the chain
 * itself (authd/mtls.c); the verified leaf selects the profile.
 */
static void
filter_cert(struct pending *p, int fd, const struct mtls_chain *ch)
{
	const char	*why;
	char		 ip[64], principal[64], profile[64];

	why = mtls_authd_verify(&authd.cfg, fd, ch, ip, sizeof(ip), principal,
	    sizeof(principal), profile, sizeof(profile));
	if (why != NULL) {
		pw_strlcpy(p->principal, "certificate", sizeof(p->principal));
		deny(p, "no_credentials", why);
		return;
	}
	pw_strlcpy(p->ip, ip, sizeof(p->ip));
	approve(p, principal, profile[0] ? profile : NULL, NULL);
}

/*
 * 429: the audit record (with which limit: address-limit, key-limit,
 * global-limit, in-flight-limit, verification-capacity), the answer, and
 * the request is done.
 */
static void
refuse_limited(struct pending *p, const char *msg, const char *why)
{
	authd_audit_refusal(p, "rate_limited", 429, why);
	answer(p->slot, p->serial, p->reqid, AUTH_RATE_LIMITED, msg, "", NULL);
	pending_free(p);
}

/*
 * 401.  The failure counts against the address and, for an authorized
 * key ID, against that key.  A token refused while signature headers
 * were ignored (no keys configured) says so, in the log and to the
 * client.
 */
static void
deny(struct pending *p, const char *reason, const char *why)
{
	char	who[4 * sizeof(p->principal)];

	if (p->sig_ignored && strcmp(reason, "bad_token") == 0) {
		reason = AUTH_REASON_NO_KEYS;
		why = "signature headers ignored: no authorized keys are "
		    "configured, so only a token is accepted";
	}
	/* A presented key ID is the client's text: logged visibly encoded. */
	log_vis(who, sizeof(who), p->principal, strlen(p->principal));
	log_info("authentication failed from %s as %s (%s%s%s)", p->ip,
	    who, strcmp(reason, "bad_token") == 0 ?
	    "bad or missing token" : reason, *why ? ": " : "", why);
	limiter_fail(p->ip);
	if (*p->presented != '\0' && keys_find(&authd.keys, p->presented))
		limiter_key_fail(p->presented);
	authd_audit_refusal(p, "auth_failure", 401, reason);
	answer(p->slot, p->serial, p->reqid, AUTH_DENIED, reason, "", NULL);
}

static void
pending_free(struct pending *p)
{
	if (p == NULL)
		return;
	free(p->target);
	if (p->rest != NULL)
		freezero(p->rest, p->restlen);	/* may hold credentials */
	free(p);
}

/* An Argon2id derivation finished. */
static void
token_derived(void *arg, int ok)
{
	struct pending	*p = arg;

	limiter_release(p->ip);
	if (ok)
		approve(p, "token", authd.cfg.val[CK_TOKEN_POLICY], NULL);
	else
		deny(p, "bad_token", "");
	pending_free(p);
}

static void
verify_token(struct pending *p, const char *tok, size_t toklen)
{
	int	slow;

	if (!limiter_acquire(p->ip)) {
		refuse_limited(p, "too many failed attempts",
		    "in-flight-limit");
		return;
	}
	if (token_verify_fast(tok, toklen, &slow)) {
		limiter_release(p->ip);
		approve(p, "token", authd.cfg.val[CK_TOKEN_POLICY], NULL);
		pending_free(p);
		return;
	}
	if (!slow) {
		limiter_release(p->ip);
		deny(p, "bad_token", "");
		pending_free(p);
		return;
	}
	if (argon_submit(tok, toklen, token_derived, p) == -1) {
		/* Both derivation slots busy: not a failure, just later. */
		limiter_release(p->ip);
		refuse_limited(p,
		    "authentication verification capacity exceeded",
		    "verification-capacity");
	}
}

/*
 * IPC_W_AUTH_REQ.  The worker slot comes from the channel, never from the
 * message.  A malformed request is a misbehaving worker: drop its channel.
 */
static void
authd_answer_verify(struct ipc_chan *ch, struct ipc_msg *m, void *arg)
{
	struct ipc_rd		 rd;
	struct sigreq		 sr;
	struct pending		*p;
	struct mtls_chain	*chain = NULL;
	const struct authkey	*key;
	const char		*tok, *reason;
	size_t			 toklen;
	uint32_t		 flags, bare;
	uint8_t			 digest[32];
	char			 peer[64], path[HTTP_MAX_REQLINE], query[HTTP_MAX_REQLINE];
	char			 xff[1024], xri[64], why[192], principal[64];
	/* As long as the worker may send (120): checked by sig_verify. */
	char			 keyid[128], ts[128], nonce[128], sig[128];
	char			 ver[128];
	int			 lim, is_signed;

	p = xcalloc(1, sizeof(*p));
	p->slot = ipc_peer(ch);
	p->serial = authd.serial[p->slot];
	p->reqid = m->hdr.id;
	ipc_rd_init(&rd, m);
	flags = ipc_rd_u32(&rd);
	ipc_rd_str(&rd, peer, sizeof(peer));
	ipc_rd_str(&rd, p->method, sizeof(p->method));
	p->target = ipc_rd_strdup(&rd, HTTP_MAX_REQLINE);
	ipc_rd_str(&rd, path, sizeof(path));
	ipc_rd_str(&rd, query, sizeof(query));
	bare = ipc_rd_u32(&rd);
	tok = ipc_rd_strp(&rd, &toklen, AUTHD_MAX_TOKEN);
	ipc_rd_str(&rd, xff, sizeof(xff));
	ipc_rd_str(&rd, xri, sizeof(xri));
	ipc_rd_str(&rd, keyid, sizeof(keyid));
	ipc_rd_str(&rd, ts, sizeof(ts));
	ipc_rd_str(&rd, nonce, sizeof(nonce));
	ipc_rd_str(&rd, sig, sizeof(sig));
	ipc_rd_str(&rd, ver, sizeof(ver));
	ipc_rd_bytes(&rd, digest, sizeof(digest));
	if (flags & AUTHF_CERT)
		chain = mtls_chain_read(&rd);
	if (flags & AUTHF_FORWARD) {
		const uint8_t	*rest;

		p->fwd = 1;
		p->sid = ipc_rd_u64(&rd);
		p->rflags = ipc_rd_u32(&rd);
		if ((rest = ipc_rd_rest(&rd, &p->restlen)) != NULL &&
		    p->restlen > 0 && p->restlen <= IPC_MAX_HEAD) {
			p->rest = xmalloc(p->restlen);
			memcpy(p->rest, rest, p->restlen);
		}
	}
	if (p->target == NULL || tok == NULL || ipc_rd_end(&rd) == -1 ||
	    (p->fwd && p->rest == NULL) ||
	    ((flags & AUTHF_FORWARD) && (flags & (AUTHF_PEER | AUTHF_CERT))) ||
	    (flags & ~(AUTHF_SIGNED | AUTHF_PEER | AUTHF_CERT |
	    AUTHF_FORWARD)) ||
	    !http_valid_method(p->method) ||
	    ((flags & AUTHF_CERT) && chain == NULL) ||
	    (flags & (AUTHF_PEER | AUTHF_CERT)) == (AUTHF_PEER | AUTHF_CERT) ||
	    ((flags & (AUTHF_PEER | AUTHF_CERT)) != 0) != (m->fd != -1)) {
		mtls_chain_free(chain);
		log_warnx("malformed request from worker %u; dropping it",
		    p->slot);
		if (m->fd != -1)
			close(m->fd);
		authd.workers[p->slot] = NULL;
		pending_free(p);
		ipc_chan_free(ch);
		return;
	}
	if (p->slot == IPC_EDGE_SLOT) {
		/*
		 * The edge process: a request of the controller, which
		 * reaches this agent only over the session the controller
		 * admitted it to (DESIGN.md, "Edge mode").  The channel says
		 * who; the approval binds the request to the edge slot, and
		 * the policy, when there is one, judges it as any other.
		 */
		mtls_chain_free(chain);
		if (flags != 0) {
			log_warnx("malformed request from the edge process; "
			    "dropping it");
			authd.workers[p->slot] = NULL;
			pending_free(p);
			ipc_chan_free(ch);
			return;
		}
		pw_strlcpy(p->ip, peer, sizeof(p->ip));
		approve(p, "controller", NULL, NULL);
		pending_free(p);
		return;
	}
	if (flags & AUTHF_CERT) {
		/* The mTLS listener: the chain, verified by authd itself. */
		pw_strlcpy(p->ip, peer, sizeof(p->ip));
		filter_cert(p, m->fd, chain);
		mtls_chain_free(chain);
		close(m->fd);
		pending_free(p);
		return;
	}
	if (flags & AUTHF_PEER) {
		/* The filter socket: who is connected, read by authd itself. */
		filter_peer(p, m->fd);
		close(m->fd);
		pending_free(p);
		return;
	}
	client_address(peer, xff, xri, authd.cfg.trusted, authd.cfg.ntrusted,
	    p->ip, sizeof(p->ip));
	is_signed = authd.cfg.keys && (flags & AUTHF_SIGNED);
	if (is_signed) {
		snprintf(p->principal, sizeof(p->principal), "key:%.64s",
		    keyid);
		pw_strlcpy(p->presented, keyid, sizeof(p->presented));
	} else {
		pw_strlcpy(p->principal, toklen > 0 ? "token" : "none",
		    sizeof(p->principal));
		p->sig_ignored = !authd.cfg.keys && (*sig != '\0' ||
		    *keyid != '\0');
	}

	/*
	 * 0. The compose runner's credential, from compose's own socket:
	 * principal "compose", judged as the token's requests are.
	 */
	if (authd.compose && !is_signed && toklen > 0 &&
	    strcmp(peer, "compose") == 0) {
		uint8_t d[32];
		pwc_sha256(tok, toklen, d);
		if (pw_ct_equal(d, authd.compose_digest, sizeof(d))) {
			approve(p, "compose", authd.cfg.val[CK_TOKEN_POLICY],
			    NULL);
			pending_free(p);
			return;
		}
	}
	/* 1. No credential configured at all (explicit opt-in only). */
	if (!token_configured() && authd.keys.n == 0 && !authd.cfg.keys) {
		approve(p, "anonymous", NULL, NULL);
		pending_free(p);
		return;
	}
	/*
	 * 2. The limiter, before any credential is looked at.  A signature
	 * by an authorized key is the exception: it cannot be guessed and
	 * costs one verification, so another client's failures at the same
	 * address (a NAT, a front proxy) do not refuse it.  Only when the
	 * key itself has used up its failures as well is it refused unseen.
	 */
	if ((lim = limiter_blocked(p->ip)) != 0) {
		if (!is_signed || keys_find(&authd.keys, keyid) == NULL) {
			refuse_limited(p, "too many failed attempts",
			    lim == LIM_GLOBAL ? "global-limit" :
			    "address-limit");
			return;
		}
		if (limiter_key_blocked(keyid)) {
			refuse_limited(p, "too many failed attempts",
			    "key-limit");
			return;
		}
	}
	/*
	 * 3. A signature, when keys are configured, decides alone.  It is
	 * verified here and now, so it never holds an in-flight slot.
	 */
	if (is_signed) {
		memset(&sr, 0, sizeof(sr));
		sr.method = p->method;
		sr.path = path;
		sr.query = query;
		sr.bare_qmark = bare != 0;
		sr.client = p->ip;
		sr.keyid = keyid;
		sr.ts = ts;
		sr.nonce = nonce;
		sr.sig = sig;
		sr.version = ver;
		pw_hex_encode(digest, sizeof(digest), sr.bodyhex,
		    sizeof(sr.bodyhex));
		reason = sig_verify(&authd.keys, authd.nonces,
		    authd.cfg.clock_skew, &sr, &key, why, sizeof(why));
		if (reason != NULL)
			deny(p, reason, why);
		else {
			snprintf(principal, sizeof(principal), "key:%s", key->id);
			approve(p, principal, key->policy[0] ? key->policy :
			    NULL, digest);
		}
		pending_free(p);
		return;
	}
	/* 4. Keys only, and no signature. */
	if (!token_configured()) {
		deny(p, "no_credentials", "no credentials");
		pending_free(p);
		return;
	}
	/* 5. The token (the pending request is handed on). */
	verify_token(p, tok, toklen);
}

/* ---- enrollment ---- */

static void
enroll_answer(uint32_t slot, uint32_t serial, uint32_t id, int status,
    const char *ctype, const char *body, const char *actor, const char *keyid)
{
	struct ipc_chan		*ch = worker_chan(slot, serial);
	struct ipc_wr		 wr;
	struct audit_rec	 rec;

	/*
	 * Reference 6.6: an enrollment record for a decision on the token
	 * (success, wrong token, already used), none for 400/413/429/500.
	 * The principal is the enrollment token; a refusal says why.
	 */
	if (status == 200 || status == 401) {
		audit_rec_init(&rec, "enrollment", actor, NULL, NULL,
		    status == 200 ? "allowed" : "denied");
		rec.status = status;
		pw_strlcpy(rec.principal, "enrollment-token",
		    sizeof(rec.principal));
		if (status == 200 && keyid != NULL)
			pw_strlcpy(rec.key_id, keyid, sizeof(rec.key_id));
		if (status == 401)
			pw_strlcpy(rec.reason, strstr(body, "already used") ?
			    "token-already-used" : "wrong-token",
			    sizeof(rec.reason));
		authd_audit_send(&rec);
	}
	if (ch == NULL)
		return;
	ipc_wr_init(&wr);
	ipc_wr_u32(&wr, (uint32_t)status);
	ipc_wr_str(&wr, ctype);
	ipc_wr_str(&wr, body);
	ipc_send(ch, IPC_A_ENROLL_ANS, 0, id, wr.buf, wr.len, -1);
	ipc_wr_free(&wr);
}

#define TEXT	"text/plain; charset=utf-8"

/* A JSON string member, matched case-insensitively as Go's decoder does. */
static json_t *
member(json_t *o, const char *name)
{
	const char	*k;
	json_t		*v;

	json_object_foreach(o, k, v)
		if (strcasecmp(k, name) == 0)
			return v;
	return NULL;
}

/*
 * IPC_W_ENROLL_REQ.  Order (reference 6.6): abuse/failure block, JSON,
 * already burned, token, public key; then the master appends the key.
 */
static void
authd_answer_enroll(struct ipc_chan *ch, struct ipc_msg *m, void *arg)
{
	struct ipc_rd	 rd;
	struct ipc_wr	 wr;
	json_error_t	 jerr;
	json_t		*doc = NULL, *jt, *jk;
	const char	*body;
	size_t		 blen;
	uint8_t		 d[32], pub[32];
	char		 peer[64], line[160], msg[80], b64[260];
	uint32_t	 slot = ipc_peer(ch), serial = authd.serial[slot];
	int		 ok;

	ipc_rd_init(&rd, m);
	ipc_rd_str(&rd, peer, sizeof(peer));
	body = ipc_rd_strp(&rd, &blen, ENROLL_BODY_MAX);
	if (body == NULL || ipc_rd_end(&rd) == -1) {
		log_warnx("malformed enrollment from worker %u", slot);
		authd.workers[slot] = NULL;
		ipc_chan_free(ch);
		return;
	}
	if (authd.enroll == ENROLL_OFF) {
		enroll_answer(slot, serial, m->hdr.id, 404, TEXT, "not found\n",
		    peer, NULL);
		return;
	}
	if (limiter_abuse_blocked(peer)) {
		enroll_answer(slot, serial, m->hdr.id, 429, TEXT,
		    "too many requests\n", peer, NULL);
		return;
	}
	doc = json_loadb(body, blen, JSON_REJECT_DUPLICATES, &jerr);
	if (doc == NULL || !json_is_object(doc)) {
		json_decref(doc);
		limiter_abuse(peer);
		enroll_answer(slot, serial, m->hdr.id, 400, TEXT,
		    "invalid JSON\n", peer, NULL);
		return;
	}
	if (authd.enroll == ENROLL_BURNED) {
		json_decref(doc);
		log_info("enrollment from %s refused: token already used", peer);
		limiter_fail(peer);
		enroll_answer(slot, serial, m->hdr.id, 401, TEXT,
		    "enrollment token already used\n", peer, NULL);
		return;
	}
	jt = member(doc, "enrollment_token");
	jk = member(doc, "public_key");
	if (json_is_string(jt)) {
		pwc_sha256(json_string_value(jt), json_string_length(jt), d);
		ok = pw_ct_equal(d, authd.enroll_digest, sizeof(d));
	} else
		ok = 0;
	if (!ok) {
		json_decref(doc);
		log_info("enrollment from %s refused: wrong token", peer);
		limiter_fail(peer);
		enroll_answer(slot, serial, m->hdr.id, 401, TEXT,
		    "unauthorized\n", peer, NULL);
		return;
	}
	if (!json_is_string(jk) || json_string_length(jk) == 0 ||
	    json_string_length(jk) > 256 ||
	    strspn(json_string_value(jk), "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghij"
	    "klmnopqrstuvwxyz0123456789+/=") != json_string_length(jk)) {
		json_decref(doc);
		limiter_abuse(peer);
		enroll_answer(slot, serial, m->hdr.id, 400, TEXT,
		    "public_key: invalid base64\n", peer, NULL);
		return;
	}
	pw_strlcpy(b64, json_string_value(jk), sizeof(b64));
	json_decref(doc);
	if (pwc_b64_decode_exact(b64, strlen(b64), pub, 32) == -1) {
		uint8_t tmp[256];
		size_t got;
		limiter_abuse(peer);
		if (pwc_b64_decode_nopad(b64, strcspn(b64, "="), tmp,
		    sizeof(tmp), &got) == 0 && got != 32)
			snprintf(msg, sizeof(msg), "public_key: expected 32 "
			    "bytes, got %zu\n", got);
		else
			snprintf(msg, sizeof(msg), "public_key: invalid base64\n");
		enroll_answer(slot, serial, m->hdr.id, 400, TEXT, msg, peer, NULL);
		return;
	}
	if (authd.enroll_wait != NULL) {
		enroll_answer(slot, serial, m->hdr.id, 429, TEXT,
		    "too many requests\n", peer, NULL);
		return;
	}
	authd.enroll_wait = xcalloc(1, sizeof(*authd.enroll_wait));
	authd.enroll_wait->slot = slot;
	authd.enroll_wait->serial = serial;
	authd.enroll_wait->reqid = m->hdr.id;
	pw_strlcpy(authd.enroll_wait->ip, peer, sizeof(authd.enroll_wait->ip));
	pwc_key_id(pub, authd.enroll_wait->keyid);
	pwc_b64_encode(pub, 32, authd.enroll_wait->b64,
	    sizeof(authd.enroll_wait->b64));
	snprintf(line, sizeof(line), "ed25519 %s enrolled:%s",
	    authd.enroll_wait->b64, authd.enroll_wait->keyid);
	ipc_wr_init(&wr);
	ipc_wr_str(&wr, line);
	ipc_wr_str(&wr, authd.enroll_wait->keyid);
	ipc_send(authd.master, IPC_A_ENROLL_ADD, 0, ++authd.enroll_id, wr.buf,
	    wr.len, -1);
	ipc_wr_free(&wr);
}

/* The master wrote (or failed to write) the enrolled key. */
static void
authd_enroll_done(struct ipc_msg *m)
{
	struct pending	*p = authd.enroll_wait;
	struct ipc_rd	 rd;
	json_t		*o;
	char		*s, comment[64];
	uint32_t	 err;

	ipc_rd_init(&rd, m);
	err = ipc_rd_u32(&rd);
	if (ipc_rd_end(&rd) == -1 || p == NULL || m->hdr.id != authd.enroll_id)
		fatalx("unexpected enrollment answer from master");
	authd.enroll_wait = NULL;
	if (err != 0) {
		enroll_answer(p->slot, p->serial, p->reqid, 500, TEXT,
		    "internal server error\n", p->ip, NULL);
		pending_free(p);
		return;
	}
	/* Burned: the master persisted it; forget the token here. */
	authd.enroll = ENROLL_BURNED;
	OPENSSL_cleanse(authd.enroll_digest, sizeof(authd.enroll_digest));
	snprintf(comment, sizeof(comment), "enrolled:%s", p->keyid);
	o = json_pack("{s:s, s:s}", "key_id", p->keyid, "comment", comment);
	s = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	s = xreallocarray(s, strlen(s) + 2, 1);
	strcat(s, "\n");
	log_info("enrolled key %s from %s", p->keyid, p->ip);
	enroll_answer(p->slot, p->serial, p->reqid, 200, "application/json", s,
	    p->ip, p->keyid);
	free(s);
	pending_free(p);
}

/* ---- master ---- */

static void
authd_keys(struct ipc_msg *m)
{
	struct ipc_rd	 rd;
	struct keyset	 ks;
	const char	*text;
	size_t		 len;
	char		 err[256];

	ipc_rd_init(&rd, m);
	text = ipc_rd_strp(&rd, &len, IPC_MAX_KEYS);
	if (text == NULL || ipc_rd_end(&rd) == -1)
		fatalx("malformed keys from master");
	if (keys_parse(text, len, &ks, err, sizeof(err)) == -1) {
		/* The master checked it: keep the old set, say why. */
		log_warnx("authorized keys from master refused (%s)", err);
		return;
	}
	keys_free(&authd.keys);
	authd.keys = ks;
	log_debug("%d authorized key(s) loaded", ks.n);
}

static void
authd_configure_credentials(struct pw_config *c)
{
	token_configure(c->token, c->token_hash);
	if (c->val[CK__COMPOSE_TOKEN] != NULL) {
		/* Drawn by the master at start; a reload does not change it. */
		pwc_sha256(c->val[CK__COMPOSE_TOKEN],
		    strlen(c->val[CK__COMPOSE_TOKEN]), authd.compose_digest);
		authd.compose = 1;
	}
	OPENSSL_cleanse(authd.enroll_digest, sizeof(authd.enroll_digest));
	if (c->enroll_token != NULL) {
		pwc_sha256(c->enroll_token, strlen(c->enroll_token),
		    authd.enroll_digest);
		authd.enroll = ENROLL_ON;
	} else
		authd.enroll = c->enroll ? ENROLL_BURNED : ENROLL_OFF;
}

static void
authd_reload(struct ipc_msg *m)
{
	struct pw_config	 next;
	struct ipc_rd		 rd;
	char			*kv, err[256];
	uint32_t		 rc = 0;

	ipc_rd_init(&rd, m);
	kv = ipc_rd_strdup(&rd, IPC_MAX_CONFIG);
	if (kv == NULL || ipc_rd_end(&rd) == -1)
		fatalx("malformed reload from master");
	if (config_from_kv(&next, kv, err, sizeof(err)) == -1) {
		log_warnx("reload refused: %s", err);
		rc = 1;
	} else {
		int burned = authd.enroll == ENROLL_BURNED;
		authd_configure_credentials(&next);
		if (burned)
			authd.enroll = ENROLL_BURNED;
		authd.cfg.allow_unauth = next.allow_unauth;
		log_info("credentials reloaded");
	}
	config_free(&next);
	freezero_str(kv);
	ipc_send(authd.master, IPC_C_RELOADED, 0, 0, &rc, sizeof(rc), -1);
}

static void
authd_worker_closed(struct ipc_chan *ch, void *arg)
{
	uint32_t	slot = ipc_peer(ch);

	if (slot < AUTHD_MAX_WORKERS && authd.workers[slot] == ch)
		authd.workers[slot] = NULL;
	ipc_chan_free(ch);
}

static void
authd_worker_msg(struct ipc_chan *ch, struct ipc_msg *m, void *arg)
{
	if (m->hdr.type == IPC_W_ENROLL_REQ)
		authd_answer_enroll(ch, m, arg);
	else
		authd_answer_verify(ch, m, arg);
}

static void
authd_master_msg(struct ipc_chan *ch, struct ipc_msg *m, void *arg)
{
	uint32_t	slot = m->hdr.peer;

	switch (m->hdr.type) {
	case IPC_M_WORKER_CHAN:
		if (slot >= AUTHD_MAX_WORKERS)
			fatalx("worker slot %u out of range", slot);
		if (authd.workers[slot] != NULL)
			ipc_chan_free(authd.workers[slot]);
		authd.workers[slot] = ipc_chan_new(authd.base, m->fd, "worker",
		    perms_worker, nitems(perms_worker), authd_worker_msg,
		    authd_worker_closed, NULL);
		authd.serial[slot] = ++authd.next_serial;
		ipc_set_peer(authd.workers[slot], slot);
		ipc_set_batch(authd.workers[slot], 1);	/* one per request */
		break;
	case IPC_M_KEYS:
		authd_keys(m);
		break;
	case IPC_M_ENROLL_DONE:
		authd_enroll_done(m);
		break;
	case IPC_M_AUDIT_CHAN:
		if (authd.audit != NULL)
			ipc_chan_free(authd.audit);
		/* Send-only: nothing is accepted from the proxy. */
		authd.audit = ipc_chan_new(authd.base, m->fd, "proxy", NULL, 0,
		    NULL, authd_audit_closed, NULL);
		break;
	case IPC_M_RELOAD:
		authd_reload(m);
		break;
	case IPC_M_MTLS_AUTHD:
		mtls_authd_ca(m);
		break;
	case IPC_M_POLICY:
		/* For the client certificate selectors (LISTEN_MTLS). */
		mtls_authd_policy(m);
		close(m->fd);
		break;
	case IPC_M_APPROVAL_KEY:
		approval_key_answer(m, authd.cfg.approval_key);
		log_info("new approval key (the proxy restarted)");
		break;
	case IPC_M_SHUTDOWN:
		event_base_loopexit(authd.base, NULL);
		break;
	case IPC_M_PING:
		ipc_send(authd.master, IPC_C_PONG, 0, m->hdr.id, NULL, 0, -1);
		break;
	default:
		fatalx("unexpected message 0x%04x from master", m->hdr.type);
	}
}

static void
authd_master_closed(struct ipc_chan *ch, void *arg)
{
	log_warnx("master went away; exiting");
	exit(0);
}

static void
authd_signal(evutil_socket_t sig, short ev, void *arg)
{
	event_base_loopexit(authd.base, NULL);
}

int
authd_run(struct child_boot *b)
{
	struct event	*ev_term;
	uint32_t	 v = IPC_PROTOCOL_VERSION;

	authd.cfg = b->cfg;
	authd.gen = b->gen;
	if (!authd.cfg.have_approval_key)
		fatalx("no approval key from master");
	authd_configure_credentials(&authd.cfg);
	/* Secrets live on as digests only. */
	freezero_str(authd.cfg.token);
	authd.cfg.token = NULL;
	freezero_str(authd.cfg.enroll_token);
	authd.cfg.enroll_token = NULL;
	freezero_str(authd.cfg.val[CK_TOKEN]);
	authd.cfg.val[CK_TOKEN] = NULL;
	freezero_str(authd.cfg.val[CK_ENROLLMENT_TOKEN]);
	authd.cfg.val[CK_ENROLLMENT_TOKEN] = NULL;
	authd.nonces = nonce_cache_new((size_t)authd.cfg.nonce_size,
	    authd.cfg.clock_skew);
	signal(SIGPIPE, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	signal(SIGINT, SIG_IGN);
	authd.base = pw_event_base();
	ev_term = evsignal_new(authd.base, SIGTERM, authd_signal, NULL);
	evsignal_add(ev_term, NULL);
	limiter_init(authd.base);
	if (argon_init(authd.base, 2) == -1)
		fatal("argon threads");
	/* libsodium picks its code paths here, before the sandbox. */
	if (sodium_init() < 0)
		fatal("libsodium does not start");

	child_sandbox(PROC_AUTHD, b);

	authd.master = ipc_chan_new(authd.base, PROC_IPC_FD, "master",
	    perms_master, nitems(perms_master), authd_master_msg,
	    authd_master_closed, NULL);
	ipc_send(authd.master, IPC_C_READY, 0, 0, &v, sizeof(v), -1);
	log_debug("ready (generation %u)", authd.gen);
	event_base_dispatch(authd.base);
	return 0;
}
