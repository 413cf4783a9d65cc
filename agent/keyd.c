/*
 * keyd.c: the TLS key process ("portwingd: keyd") and the workers' side of
 * it.
 *
 * Workers parse hostile network input, so they do not hold TLS_KEY.  They
 * build their TLS context from the certificate chain and a stand-in key
 * carrying only the public half.  When a handshake needs the private-key
 * operation (the CertificateVerify of TLS 1.3, the ServerKeyExchange of
 * TLS 1.2), the stand-in's sign hook sends the handshake digest to keyd on
 * the worker's own channel and waits (at most KEYD_TIMEOUT_MS) for the
 * signature.  keyd signs only SHA-256/384/512 digests, only with
 * RSASSA-PKCS1-v1_5, RSASSA-PSS (MGF1 with the same digest, salt as long
 * as the digest) or ECDSA, and at most KEYD_RATE signatures per second per
 * worker.  Every key carries the generation the master gave it together
 * with the certificate, and a worker names the generation of the
 * certificate it serves, so a handshake never pairs one certificate with
 * another's key.
 *
 * The hook uses OpenSSL's legacy key-method interfaces (a custom
 * RSA_METHOD / EC_KEY_METHOD marks the stand-in as a "foreign" key, and a
 * custom EVP_PKEY_METHOD sees the digest and the padding parameters).
 * They are deprecated in OpenSSL 3.0, so deprecation warnings are
 * suppressed in this file only.
 */
#define OPENSSL_SUPPRESS_DEPRECATED 1

#include "pwbuild.h"

#include <sys/socket.h>

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "child.h"
#include "ipc.h"
#include "keyd.h"
#include "log.h"
#include "util.h"

#define KEYD_MAX_WORKERS	64
#define KEYD_DIGEST_MAX		64

/* Which digests keyd signs: the SHA-2 sizes TLS 1.2 and 1.3 use. */
static const EVP_MD *
keyd_md(uint32_t nid)
{
	switch (nid) {
	case NID_sha256:
		return EVP_sha256();
	case NID_sha384:
		return EVP_sha384();
	case NID_sha512:
		return EVP_sha512();
	default:
		return NULL;
	}
}

/* ---- keyd, the process ---- */

/*
 * A key and its signing contexts, set up once per scheme and digest:
 * OpenSSL 3.0 spends far longer creating and initialising a context
 * (method fetches) than an ECDSA signature takes.
 */
struct keyd_key {
	uint32_t	 gen;
	EVP_PKEY	*pk;
	EVP_PKEY_CTX	*ctx[3][3];	/* [scheme - 1][sha256, 384, 512] */
};

struct keyd_worker {
	struct ipc_chan	*chan;
	double		 tokens;
	uint64_t	 last_ms;
	uint64_t	 refused;	/* since the last log line */
	uint64_t	 logged_ms;
	const char	*logged_why;
	uint64_t	 signed_n;
};

static struct {
	struct event_base	*base;
	struct ipc_chan		*master;
	struct keyd_key		 key[2];	/* [0] current, [1] previous */
	struct keyd_worker	 w[KEYD_MAX_WORKERS];
} kd;

static const struct ipc_perm kd_perms_master[] = {
	{ IPC_M_TLS_KEY, 8, IPC_MAX_TLS, 0 },
	{ IPC_M_WORKER_CHAN, 0, 0, 1 },
	{ IPC_M_SHUTDOWN, 0, 0, 0 },
	{ IPC_M_RELOAD, 4, IPC_MAX_CONFIG, 0 },
	{ IPC_M_PING, 0, 0, 0 },
};

static const struct ipc_perm kd_perms_worker[] = {
	{ IPC_W_SIGN, 16, 16 + KEYD_DIGEST_MAX, 0 },
};

/*
 * Log refusals at most every 10 s per worker and reason, with a count: a
 * worker that keeps asking for what TLS never needs is a compromised one.
 */
static void
keyd_refuse_log(struct keyd_worker *w, unsigned slot, const char *why)
{
	uint64_t	now = pw_now_ms();

	w->refused++;
	if (w->logged_ms != 0 && now - w->logged_ms < 10000 &&
	    w->logged_why == why)
		return;
	log_warnx("worker %u: refused %llu signature request(s): %s", slot,
	    (unsigned long long)w->refused, why);
	w->refused = 0;
	w->logged_ms = now;
	w->logged_why = why;
}

/* A token bucket per worker: KEYD_RATE per second, KEYD_BURST at once. */
static int
keyd_rate_ok(struct keyd_worker *w)
{
	uint64_t	now = pw_now_ms();

	if (w->last_ms == 0)
		w->tokens = KEYD_BURST;
	else
		w->tokens += (double)(now - w->last_ms) * KEYD_RATE / 1000.0;
	if (w->tokens > KEYD_BURST)
		w->tokens = KEYD_BURST;
	w->last_ms = now;
	if (w->tokens < 1.0)
		return 0;
	w->tokens -= 1.0;
	return 1;
}

static void
keyd_key_free(struct keyd_key *k)
{
	int	i, j;

	for (i = 0; i < 3; i++)
		for (j = 0; j < 3; j++)
			EVP_PKEY_CTX_free(k->ctx[i][j]);
	EVP_PKEY_free(k->pk);
	memset(k, 0, sizeof(*k));
}

static EVP_PKEY_CTX *
keyd_ctx(EVP_PKEY *pk, uint32_t scheme, const EVP_MD *md)
{
	EVP_PKEY_CTX	*pc;

	if ((pc = EVP_PKEY_CTX_new_from_pkey(NULL, pk, NULL)) == NULL)
		return NULL;
	if (EVP_PKEY_sign_init(pc) <= 0 ||
	    EVP_PKEY_CTX_set_signature_md(pc, md) <= 0)
		goto out;
	if (scheme == KEYD_SIG_RSA_PKCS1 &&
	    EVP_PKEY_CTX_set_rsa_padding(pc, RSA_PKCS1_PADDING) <= 0)
		goto out;
	if (scheme == KEYD_SIG_RSA_PSS &&
	    (EVP_PKEY_CTX_set_rsa_padding(pc, RSA_PKCS1_PSS_PADDING) <= 0 ||
	    EVP_PKEY_CTX_set_rsa_mgf1_md(pc, md) <= 0 ||
	    EVP_PKEY_CTX_set_rsa_pss_saltlen(pc, RSA_PSS_SALTLEN_DIGEST) <= 0))
		goto out;
	return pc;
out:
	ERR_clear_error();
	EVP_PKEY_CTX_free(pc);
	return NULL;
}

static uint32_t
keyd_do_sign(struct keyd_key *k, uint32_t scheme, const EVP_MD *md,
    const uint8_t *dg, size_t dlen, uint8_t *sig, size_t *siglen)
{
	EVP_PKEY_CTX	**pc;
	int		  mi = EVP_MD_get_size(md) == 32 ? 0 :
			    EVP_MD_get_size(md) == 48 ? 1 : 2;

	pc = &k->ctx[scheme - 1][mi];
	if (*pc == NULL && (*pc = keyd_ctx(k->pk, scheme, md)) == NULL)
		return KEYD_E_FAILED;
	if (EVP_PKEY_sign(*pc, sig, siglen, dg, dlen) <= 0) {
		ERR_clear_error();
		return KEYD_E_FAILED;
	}
	return KEYD_OK;
}

static void
keyd_worker_msg(struct ipc_chan *ch, struct ipc_msg *m, void *arg)
{
	struct keyd_worker	*w = arg;
	unsigned		 slot = (unsigned)(w - kd.w);
	struct ipc_rd		 rd;
	struct ipc_wr		 wr;
	struct keyd_key		*k = NULL;
	const EVP_MD		*md;
	uint8_t			 dg[KEYD_DIGEST_MAX];
	uint8_t			 sig[IPC_MAX_SIG - 8];
	size_t			 dlen, siglen = sizeof(sig);
	uint32_t		 gen, scheme, nid, st;
	int			 type, i;

	ipc_rd_init(&rd, m);
	gen = ipc_rd_u32(&rd);
	scheme = ipc_rd_u32(&rd);
	nid = ipc_rd_u32(&rd);
	dlen = ipc_rd_u32(&rd);
	if (dlen <= sizeof(dg))
		ipc_rd_bytes(&rd, dg, dlen);
	if (dlen > sizeof(dg) || ipc_rd_end(&rd) == -1) {
		keyd_refuse_log(w, slot, "malformed request; channel closed");
		ipc_chan_free(ch);
		w->chan = NULL;
		return;
	}
	for (i = 0; i < 2; i++)
		if (kd.key[i].pk != NULL && kd.key[i].gen == gen)
			k = &kd.key[i];
	md = keyd_md(nid);
	siglen = 0;
	/* Every request counts against the bucket, answered or not. */
	if (!keyd_rate_ok(w)) {
		st = KEYD_E_RATE;
		keyd_refuse_log(w, slot, "rate limit exceeded");
	} else if (k == NULL) {
		st = KEYD_E_NOKEY;
		keyd_refuse_log(w, slot, "no key of that generation");
	} else if (md == NULL || dlen != (size_t)EVP_MD_get_size(md) ||
	    ((type = EVP_PKEY_get_id(k->pk)) == EVP_PKEY_RSA &&
	    scheme != KEYD_SIG_RSA_PKCS1 && scheme != KEYD_SIG_RSA_PSS) ||
	    (type == EVP_PKEY_EC && scheme != KEYD_SIG_ECDSA)) {
		st = KEYD_E_REFUSED;
		keyd_refuse_log(w, slot, "not a TLS handshake digest");
	} else {
		siglen = sizeof(sig);
		st = keyd_do_sign(k, scheme, md, dg, dlen, sig, &siglen);
		if (st != KEYD_OK) {
			siglen = 0;
			log_warnx("worker %u: signing failed", slot);
		} else
			w->signed_n++;
	}
	ipc_wr_init(&wr);
	ipc_wr_u32(&wr, st);
	ipc_wr_u32(&wr, (uint32_t)siglen);
	ipc_wr_bytes(&wr, sig, siglen);
	(void)ipc_send(ch, IPC_K_SIG, 0, m->hdr.id, wr.buf, wr.len, -1);
	ipc_wr_free(&wr);
}

static void
keyd_worker_closed(struct ipc_chan *ch, void *arg)
{
	struct keyd_worker	*w = arg;

	ipc_chan_free(ch);
	if (w->chan == ch)
		w->chan = NULL;
}

/* IPC_M_TLS_KEY: a new key becomes current; the last one stays usable. */
static void
keyd_new_key(struct ipc_msg *m)
{
	struct ipc_rd	 rd;
	const char	*pem;
	size_t		 len;
	uint32_t	 gen;
	BIO		*bio;
	EVP_PKEY	*pk = NULL;

	ipc_rd_init(&rd, m);
	gen = ipc_rd_u32(&rd);
	pem = ipc_rd_strp(&rd, &len, IPC_MAX_TLS);
	if (pem == NULL || ipc_rd_end(&rd) == -1)
		fatalx("malformed key message from master");
	if ((bio = BIO_new_mem_buf(pem, (int)len)) != NULL) {
		pk = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
		BIO_free(bio);
	}
	OPENSSL_cleanse((void *)pem, len);
	if (pk == NULL || (EVP_PKEY_get_id(pk) != EVP_PKEY_RSA &&
	    EVP_PKEY_get_id(pk) != EVP_PKEY_EC))
		fatalx("unusable TLS key from master");
	keyd_key_free(&kd.key[1]);
	kd.key[1] = kd.key[0];
	memset(&kd.key[0], 0, sizeof(kd.key[0]));
	kd.key[0].gen = gen;
	kd.key[0].pk = pk;
	log_debug("TLS key of generation %u loaded", gen);
}

static void
keyd_master_msg(struct ipc_chan *ch, struct ipc_msg *m, void *arg)
{
	uint32_t	slot = m->hdr.peer;

	switch (m->hdr.type) {
	case IPC_M_TLS_KEY:
		keyd_new_key(m);
		break;
	case IPC_M_WORKER_CHAN:
		if (slot >= KEYD_MAX_WORKERS)
			fatalx("worker slot %u out of range", slot);
		if (kd.w[slot].chan != NULL)
			ipc_chan_free(kd.w[slot].chan);
		kd.w[slot].chan = ipc_chan_new(kd.base, m->fd, "worker",
		    kd_perms_worker, nitems(kd_perms_worker), keyd_worker_msg,
		    keyd_worker_closed, &kd.w[slot]);
		ipc_set_peer(kd.w[slot].chan, slot);
		break;
	case IPC_M_SHUTDOWN:
		exit(0);
	case IPC_M_RELOAD:
		break;
	case IPC_M_PING:
		ipc_send(kd.master, IPC_C_PONG, 0, m->hdr.id, NULL, 0, -1);
		break;
	default:
		fatalx("unexpected message 0x%04x from master", m->hdr.type);
	}
}

static void
keyd_master_closed(struct ipc_chan *ch, void *arg)
{
	log_warnx("master went away; exiting");
	exit(0);
}

static void
keyd_signal(evutil_socket_t sig, short ev, void *arg)
{
	exit(0);
}

int
keyd_run(struct child_boot *b)
{
	struct event	*ev_term;
	uint32_t	 v = IPC_PROTOCOL_VERSION;

	signal(SIGPIPE, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	signal(SIGINT, SIG_IGN);
	kd.base = pw_event_base();
	ev_term = evsignal_new(kd.base, SIGTERM, keyd_signal, NULL);
	evsignal_add(ev_term, NULL);

	child_sandbox(PROC_KEYD, b);

	kd.master = ipc_chan_new(kd.base, PROC_IPC_FD, "master",
	    kd_perms_master, nitems(kd_perms_master), keyd_master_msg,
	    keyd_master_closed, NULL);
	ipc_send(kd.master, IPC_C_READY, 0, 0, &v, sizeof(v), -1);
	log_debug("ready (generation %u)", b->gen);
	event_base_dispatch(kd.base);
	return 0;
}

/* ---- the worker's side ---- */

static struct {
	int			 fd;		/* worker <-> keyd, -1: none */
	uint32_t		 slot;
	uint32_t		 seq;
	RSA_METHOD		*rsa_meth;
	EC_KEY_METHOD		*ec_meth;
	int			 rsa_idx, ec_idx;
	int			(*rsa_sign)(EVP_PKEY_CTX *, unsigned char *,
				    size_t *, const unsigned char *, size_t);
	int			(*ec_sign)(EVP_PKEY_CTX *, unsigned char *,
				    size_t *, const unsigned char *, size_t);
	int			 ready;
	uint32_t		 gen;		/* of the newest context */
	int			 type;		/* its key type */
} kc = { .fd = -1 };

/* IPC_M_KEYD_CHAN: a (new) channel to keyd, after either side started. */
void
keyd_client_chan(int fd, uint32_t slot)
{
	if (kc.fd != -1)
		close(kc.fd);
	kc.fd = fd;
	kc.slot = slot;
}

/*
 * One request, one answer, synchronously: the handshake is waiting for
 * it.  Answers to earlier requests that timed out are skipped by id.
 */
static int
keyd_request(uint32_t gen, uint32_t scheme, int nid, const unsigned char *dg,
    size_t dlen, unsigned char *sig, size_t *siglen)
{
	struct ipc_wr	 wr;
	struct ipc_hdr	 hdr;
	struct ipc_msg	 m;
	struct ipc_rd	 rd;
	uint8_t		 buf[sizeof(struct ipc_hdr) + IPC_MAX_SIG + 1];
	uint64_t	 deadline = pw_now_ms() + KEYD_TIMEOUT_MS, now;
	uint32_t	 id = ++kc.seq, st;
	size_t		 slen;
	ssize_t		 n;
	int		 rv;

	if (kc.fd == -1) {
		log_warnx("TLS handshake failed: no channel to keyd");
		return 0;
	}
	ipc_wr_init(&wr);
	ipc_wr_u32(&wr, gen);
	ipc_wr_u32(&wr, scheme);
	ipc_wr_u32(&wr, (uint32_t)nid);
	ipc_wr_u32(&wr, (uint32_t)dlen);
	ipc_wr_bytes(&wr, dg, dlen);
	rv = ipc_send_sync(kc.fd, IPC_W_SIGN, kc.slot, id, wr.buf, wr.len, -1);
	ipc_wr_free(&wr);
	if (rv == -1) {
		log_warn("TLS handshake failed: sending to keyd");
		return 0;
	}
	for (;;) {
		struct pollfd pfd = { kc.fd, POLLIN, 0 };

		if ((now = pw_now_ms()) >= deadline) {
			log_warnx("TLS handshake failed: keyd did not answer "
			    "in %d ms", KEYD_TIMEOUT_MS);
			return 0;
		}
		if (poll(&pfd, 1, (int)(deadline - now)) == -1 &&
		    errno != EINTR)
			return 0;
		n = recv(kc.fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (n == -1 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (n <= 0) {
			log_warnx("TLS handshake failed: keyd is gone");
			return 0;
		}
		if ((size_t)n < sizeof(hdr))
			goto bad;
		memcpy(&hdr, buf, sizeof(hdr));
		if (hdr.type != IPC_K_SIG || hdr.flags != 0 ||
		    hdr.len != (size_t)n - sizeof(hdr) ||
		    hdr.len > IPC_MAX_SIG)
			goto bad;
		if (hdr.id == id)
			break;
	}
	m.hdr = hdr;
	m.data = buf + sizeof(hdr);
	m.fd = -1;
	ipc_rd_init(&rd, &m);
	st = ipc_rd_u32(&rd);
	slen = ipc_rd_u32(&rd);
	if (slen > *siglen || slen > rd.left)
		goto bad;
	ipc_rd_bytes(&rd, sig, slen);
	if (ipc_rd_end(&rd) == -1)
		goto bad;
	if (st != KEYD_OK) {
		log_warnx("TLS handshake failed: keyd refused to sign (%u)",
		    st);
		return 0;
	}
	if (slen == 0)
		goto bad;
	*siglen = slen;
	return 1;
bad:
	log_warnx("TLS handshake failed: malformed answer from keyd");
	return 0;
}

/* The sign operation of the stand-in keys' EVP_PKEY_METHOD. */
static int
stub_sign(EVP_PKEY_CTX *pc, unsigned char *sig, size_t *siglen,
    const unsigned char *tbs, size_t tbslen)
{
	EVP_PKEY	*pk = EVP_PKEY_CTX_get0_pkey(pc);
	const EVP_MD	*md = NULL, *mgf1 = NULL;
	const RSA	*rsa;
	const EC_KEY	*ec;
	uint32_t	 gen, scheme;
	int		 pad = 0, salt = 0;

	switch (EVP_PKEY_get_id(pk)) {
	case EVP_PKEY_RSA:
		rsa = EVP_PKEY_get0_RSA(pk);
		if (rsa == NULL || RSA_get_method(rsa) != kc.rsa_meth)
			return kc.rsa_sign(pc, sig, siglen, tbs, tbslen);
		gen = (uint32_t)(uintptr_t)RSA_get_ex_data(rsa, kc.rsa_idx);
		if (EVP_PKEY_CTX_get_rsa_padding(pc, &pad) <= 0)
			return 0;
		if (pad == RSA_PKCS1_PADDING)
			scheme = KEYD_SIG_RSA_PKCS1;
		else if (pad == RSA_PKCS1_PSS_PADDING)
			scheme = KEYD_SIG_RSA_PSS;
		else
			return 0;
		break;
	case EVP_PKEY_EC:
		ec = EVP_PKEY_get0_EC_KEY(pk);
		if (ec == NULL || EC_KEY_get_method(ec) != kc.ec_meth)
			return kc.ec_sign(pc, sig, siglen, tbs, tbslen);
		gen = (uint32_t)(uintptr_t)EC_KEY_get_ex_data(ec, kc.ec_idx);
		scheme = KEYD_SIG_ECDSA;
		break;
	default:
		return 0;
	}
	if (EVP_PKEY_CTX_get_signature_md(pc, &md) <= 0 || md == NULL ||
	    keyd_md((uint32_t)EVP_MD_get_type(md)) == NULL ||
	    tbslen != (size_t)EVP_MD_get_size(md))
		return 0;
	if (scheme == KEYD_SIG_RSA_PSS) {
		/* TLS: MGF1 with the same digest, salt as long as it. */
		if (EVP_PKEY_CTX_get_rsa_mgf1_md(pc, &mgf1) <= 0 ||
		    (mgf1 != NULL && EVP_MD_get_type(mgf1) !=
		    EVP_MD_get_type(md)) ||
		    EVP_PKEY_CTX_get_rsa_pss_saltlen(pc, &salt) <= 0 ||
		    (salt != RSA_PSS_SALTLEN_DIGEST &&
		    salt != EVP_MD_get_size(md)))
			return 0;
	}
	if (sig == NULL) {
		*siglen = (size_t)EVP_PKEY_get_size(pk);
		return 1;
	}
	return keyd_request(gen, scheme, EVP_MD_get_type(md), tbs, tbslen,
	    sig, siglen);
}

static EVP_PKEY_METHOD *
stub_pmeth(int id, int (**orig)(EVP_PKEY_CTX *, unsigned char *,
    size_t *, const unsigned char *, size_t))
{
	const EVP_PKEY_METHOD	*std;
	EVP_PKEY_METHOD		*pm;
	int			(*init)(EVP_PKEY_CTX *);

	if ((std = EVP_PKEY_meth_find(id)) == NULL ||
	    (pm = EVP_PKEY_meth_new(id, EVP_PKEY_FLAG_AUTOARGLEN)) == NULL)
		return NULL;
	EVP_PKEY_meth_copy(pm, std);
	EVP_PKEY_meth_get_sign(std, &init, orig);
	EVP_PKEY_meth_set_sign(pm, init, stub_sign);
	return pm;
}

static int
keyd_client_init(void)
{
	EVP_PKEY_METHOD	*pr, *pe;

	if (kc.ready)
		return 0;
	kc.rsa_meth = RSA_meth_dup(RSA_PKCS1_OpenSSL());
	kc.ec_meth = EC_KEY_METHOD_new(EC_KEY_OpenSSL());
	kc.rsa_idx = RSA_get_ex_new_index(0, NULL, NULL, NULL, NULL);
	kc.ec_idx = EC_KEY_get_ex_new_index(0, NULL, NULL, NULL, NULL);
	if (kc.rsa_meth == NULL || kc.ec_meth == NULL || kc.rsa_idx < 0 ||
	    kc.ec_idx < 0 ||
	    !RSA_meth_set1_name(kc.rsa_meth, "portwing keyd") ||
	    (pr = stub_pmeth(EVP_PKEY_RSA, &kc.rsa_sign)) == NULL ||
	    (pe = stub_pmeth(EVP_PKEY_EC, &kc.ec_sign)) == NULL ||
	    !EVP_PKEY_meth_add0(pr) || !EVP_PKEY_meth_add0(pe))
		return -1;
	kc.ready = 1;
	return 0;
}

/*
 * Give ctx (which holds the certificate) a stand-in private key: the
 * certificate's public key, whose signatures keyd makes with the key of
 * generation gen.
 */
int
keyd_client_install(SSL_CTX *ctx, uint32_t gen, char *err, size_t errsz)
{
	X509		*x = SSL_CTX_get0_certificate(ctx);
	EVP_PKEY	*pub, *stub = NULL;
	RSA		*rsa;
	EC_KEY		*ec;

	*err = '\0';
	if (keyd_client_init() == -1) {
		snprintf(err, errsz, "cannot set up the keyd signing hook");
		goto fail;
	}
	if (x == NULL || (pub = X509_get0_pubkey(x)) == NULL ||
	    (stub = EVP_PKEY_new()) == NULL) {
		snprintf(err, errsz, "no certificate key");
		goto fail;
	}
	switch (EVP_PKEY_get_id(pub)) {
	case EVP_PKEY_RSA:
		if ((rsa = EVP_PKEY_get1_RSA(pub)) == NULL)
			goto fail;
		if (!RSA_set_method(rsa, kc.rsa_meth) ||
		    !RSA_set_ex_data(rsa, kc.rsa_idx, (void *)(uintptr_t)gen) ||
		    !EVP_PKEY_assign_RSA(stub, rsa)) {
			RSA_free(rsa);
			goto fail;
		}
		break;
	case EVP_PKEY_EC:
		if ((ec = EVP_PKEY_get1_EC_KEY(pub)) == NULL)
			goto fail;
		if (!EC_KEY_set_method(ec, kc.ec_meth) ||
		    !EC_KEY_set_ex_data(ec, kc.ec_idx, (void *)(uintptr_t)gen) ||
		    !EVP_PKEY_assign_EC_KEY(stub, ec)) {
			EC_KEY_free(ec);
			goto fail;
		}
		break;
	default:
		snprintf(err, errsz, "certificate key is neither RSA nor EC");
		goto fail;
	}
	if (!SSL_CTX_use_PrivateKey(ctx, stub)) {
		snprintf(err, errsz, "the keyd stand-in key was refused");
		goto fail;
	}
	EVP_PKEY_free(stub);
	kc.gen = gen;
	kc.type = EVP_PKEY_get_id(pub);
	return 0;
fail:
	if (*err == '\0')
		snprintf(err, errsz, "cannot build the keyd stand-in key");
	ERR_clear_error();
	EVP_PKEY_free(stub);
	return -1;
}

#ifdef PW_TEST_HOOKS
/*
 * Test-build-only: play a compromised worker.  "sha1": a 20-byte SHA-1
 * digest; "short": a SHA-256 request with 31 bytes; "oldgen": a key
 * generation keyd never had; "flood": 8000 well-formed requests at once.
 */
void
keyd_test_probe(const char *what, char *out, size_t outsz)
{
	unsigned char	dg[32], sig[1024];
	size_t		siglen;
	int		i, n = 1, ok = 0, scheme, nid = NID_sha256;
	size_t		dlen = sizeof(dg);
	uint32_t	gen = kc.gen;

	scheme = kc.type == EVP_PKEY_RSA ? KEYD_SIG_RSA_PKCS1 :
	    KEYD_SIG_ECDSA;
	if (strcmp(what, "sha1") == 0) {
		nid = NID_sha1;
		dlen = 20;
	} else if (strcmp(what, "short") == 0)
		dlen = 31;
	else if (strcmp(what, "oldgen") == 0)
		gen += 1000;
	else if (strcmp(what, "flood") == 0)
		n = 8000;
	for (i = 0; i < n; i++) {
		pw_random_bytes(dg, sizeof(dg));
		siglen = sizeof(sig);
		ok += keyd_request(gen, (uint32_t)scheme, nid, dg, dlen, sig,
		    &siglen);
	}
	snprintf(out, outsz, "signed %d of %d", ok, n);
}
#endif
