/*
 * approval.c: minting (authd) and checking (proxy) request approvals.
 */
#include "pwbuild.h"

#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "approval.h"
#include "ipc.h"
#include "log.h"
#include "util.h"

/*
 * The MAC input: each field length-prefixed (a native 32-bit length,
 * then the bytes), so no two field sequences share an encoding.  The
 * fixed fields are gathered into one buffer and hashed with one update.
 */
/* The ten fixed fields at their largest, each with its 4-byte length. */
#define MAC_FIXED_MAX	(10 * sizeof(uint32_t) + 20 +			\
	    sizeof(((struct approval *)0)->gen) +			\
	    sizeof(((struct approval *)0)->worker) +			\
	    sizeof(((struct approval *)0)->seq) +			\
	    sizeof(((struct approval *)0)->expires_ms) +		\
	    sizeof(((struct approval *)0)->flags) +			\
	    APPROVAL_PRINCIPAL_MAX + APPROVAL_POLICY_MAX + APPROVAL_ACTOR_MAX + \
	    sizeof(((struct approval *)0)->body_digest))

static size_t
mac_put(uint8_t *buf, size_t off, const void *p, size_t n)
{
	uint32_t	len = (uint32_t)n;

	memcpy(buf + off, &len, sizeof(len));
	if (n)
		memcpy(buf + off + sizeof(len), p, n);
	return off + sizeof(len) + n;
}

static void
mac_field(EVP_MAC_CTX *ctx, const void *p, size_t n)
{
	uint32_t	len = (uint32_t)n;

	EVP_MAC_update(ctx, (const unsigned char *)&len, sizeof(len));
	if (n)
		EVP_MAC_update(ctx, p, n);
}

static EVP_MAC		*hmac;
/*
 * An HMAC context keyed with the current approval key.  Each MAC starts
 * it again with the same key (EVP_MAC_init without one), which restores
 * the hashed key pads: neither the SHA-256 fetch nor the pads are paid
 * per request.  Rebuilt when the key changes.
 */
static EVP_MAC_CTX	*keyed;
static uint8_t		 keyed_key[32];

/* Fetch the HMAC implementation while files can still be opened. */
void
approval_init(void)
{
	if (hmac == NULL && (hmac = EVP_MAC_fetch(NULL, "HMAC", NULL)) == NULL)
		fatalx("approval: HMAC unavailable");
}

static EVP_MAC_CTX *
approval_ctx(const uint8_t *key)
{
	OSSL_PARAM	 params[2];
	EVP_MAC_CTX	*ctx;

	if (keyed == NULL || !pw_ct_equal(keyed_key, key, sizeof(keyed_key))) {
		approval_init();
		EVP_MAC_CTX_free(keyed);
		keyed = NULL;
		OPENSSL_cleanse(keyed_key, sizeof(keyed_key));
		if ((ctx = EVP_MAC_CTX_new(hmac)) == NULL)
			fatalx("approval: EVP_MAC_CTX_new");
		params[0] = OSSL_PARAM_construct_utf8_string("digest",
		    "SHA256", 0);
		params[1] = OSSL_PARAM_construct_end();
		if (!EVP_MAC_init(ctx, key, 32, params))
			fatalx("approval: EVP_MAC_init");
		keyed = ctx;
		memcpy(keyed_key, key, sizeof(keyed_key));
	} else if (!EVP_MAC_init(keyed, NULL, 0, NULL))
		fatalx("approval: EVP_MAC_init");
	return keyed;
}

static void
approval_mac(const struct approval *a, const uint8_t *key, const char *method,
    const char *target, uint8_t out[32])
{
	EVP_MAC_CTX	*ctx;
	uint8_t		 buf[MAC_FIXED_MAX];
	size_t		 off = 0, outl = 0;

	ctx = approval_ctx(key);
	off = mac_put(buf, off, "portwing-approval-v1", 20);
	off = mac_put(buf, off, &a->gen, sizeof(a->gen));
	off = mac_put(buf, off, &a->worker, sizeof(a->worker));
	off = mac_put(buf, off, &a->seq, sizeof(a->seq));
	off = mac_put(buf, off, &a->expires_ms, sizeof(a->expires_ms));
	off = mac_put(buf, off, &a->flags, sizeof(a->flags));
	off = mac_put(buf, off, a->principal, strnlen(a->principal,
	    sizeof(a->principal)));
	off = mac_put(buf, off, a->policy, strnlen(a->policy,
	    sizeof(a->policy)));
	off = mac_put(buf, off, a->actor, strnlen(a->actor,
	    sizeof(a->actor)));
	off = mac_put(buf, off, a->body_digest, sizeof(a->body_digest));
	EVP_MAC_update(ctx, buf, off);
	mac_field(ctx, method, strlen(method));
	mac_field(ctx, target, strlen(target));
	if (!EVP_MAC_final(ctx, out, &outl, 32) || outl != 32)
		fatalx("approval: EVP_MAC_final");
}

void
approval_sign(struct approval *a, const uint8_t *key, const char *method,
    const char *target)
{
	approval_mac(a, key, method, target, a->mac);
}

int
approval_check_mac(const struct approval *a, const uint8_t *key,
    const char *method, const char *target)
{
	uint8_t	want[32];
	int	ok;

	approval_mac(a, key, method, target, want);
	ok = pw_ct_equal(want, a->mac, sizeof(want));
	OPENSSL_cleanse(want, sizeof(want));
	return ok ? 0 : -1;
}

/*
 * IPC_M_APPROVAL_KEY (authd and proxy): the master's new key replaces
 * key, so approvals minted under the old one no longer verify.
 */
void
approval_key_answer(struct ipc_msg *m, uint8_t *key)
{
	struct ipc_rd	rd;

	ipc_rd_init(&rd, m);
	ipc_rd_bytes(&rd, key, 32);
	if (ipc_rd_end(&rd) == -1)
		fatalx("malformed approval key from master");
}

void
approval_put(struct ipc_wr *w, const struct approval *a)
{
	ipc_wr_u32(w, a->gen);
	ipc_wr_u32(w, a->worker);
	ipc_wr_u64(w, a->seq);
	ipc_wr_u64(w, a->expires_ms);
	ipc_wr_u32(w, a->flags);
	ipc_wr_str(w, a->principal);
	ipc_wr_str(w, a->policy);
	ipc_wr_str(w, a->actor);
	ipc_wr_bytes(w, a->body_digest, sizeof(a->body_digest));
	ipc_wr_bytes(w, a->mac, sizeof(a->mac));
}

void
approval_get(struct ipc_rd *r, struct approval *a)
{
	memset(a, 0, sizeof(*a));
	a->gen = ipc_rd_u32(r);
	a->worker = ipc_rd_u32(r);
	a->seq = ipc_rd_u64(r);
	a->expires_ms = ipc_rd_u64(r);
	a->flags = ipc_rd_u32(r);
	ipc_rd_str(r, a->principal, sizeof(a->principal));
	ipc_rd_str(r, a->policy, sizeof(a->policy));
	ipc_rd_str(r, a->actor, sizeof(a->actor));
	ipc_rd_bytes(r, a->body_digest, sizeof(a->body_digest));
	ipc_rd_bytes(r, a->mac, sizeof(a->mac));
}

void
approval_replay_init(struct approval_replay *r)
{
	memset(r, 0, sizeof(*r));
}

/*
 * Single use: per generation, remember the highest sequence seen and a
 * bitmap of the APPROVAL_WINDOW below it (the IPsec anti-replay scheme).
 * Returns 0 and records seq if it was never used, -1 otherwise.  Eight
 * generations are tracked; an approval from an older one is refused.
 */
int
approval_replay_check(struct approval_replay *r, uint32_t gen, uint64_t seq)
{
	size_t		i, slot = 0;
	uint64_t	shift, k, off;
	uint32_t	oldest = UINT32_MAX;

	if (seq == 0)
		return -1;
	for (i = 0; i < nitems(r->gens); i++)
		if (r->gens[i].used && r->gens[i].gen == gen)
			break;
	if (i == nitems(r->gens)) {
		/* New generation: take a free slot, else the oldest one. */
		for (i = 0; i < nitems(r->gens); i++) {
			if (!r->gens[i].used) {
				slot = i;
				break;
			}
			if (r->gens[i].gen < oldest) {
				oldest = r->gens[i].gen;
				slot = i;
			}
		}
		if (i == nitems(r->gens) && gen < oldest)
			return -1;
		i = slot;
		memset(&r->gens[i], 0, sizeof(r->gens[i]));
		r->gens[i].used = 1;
		r->gens[i].gen = gen;
	}
	if (seq > r->gens[i].top) {
		shift = seq - r->gens[i].top;
		if (shift >= APPROVAL_WINDOW)
			memset(r->gens[i].bits, 0, sizeof(r->gens[i].bits));
		else
			for (k = r->gens[i].top + 1; k <= seq; k++) {
				off = k % APPROVAL_WINDOW;
				r->gens[i].bits[off / 64] &= ~(1ULL << (off % 64));
			}
		r->gens[i].top = seq;
	} else if (r->gens[i].top - seq >= APPROVAL_WINDOW)
		return -1;
	off = seq % APPROVAL_WINDOW;
	if (r->gens[i].bits[off / 64] & (1ULL << (off % 64)))
		return -1;
	r->gens[i].bits[off / 64] |= 1ULL << (off % 64);
	return 0;
}
