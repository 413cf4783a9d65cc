/*
 * sig.c (authd): Ed25519 per-request signatures (reference section 6.5).
 *
 * Checks run in the reference's order, so each failure reports the same
 * X-Portwing-Reason as Portwing:
 *   headers present, nonce format        -> invalid-signature
 *   key known (and usable: from=, expiry)-> unknown-key
 *   timestamp within the skew            -> timestamp-skew
 *   nonce not seen before                -> replay
 *   signature encoding, version, verify  -> invalid-signature
 * A nonce is recorded only after its signature verified.
 *
 * Verification is libsodium's (crypto_sign_verify_detached), about twice
 * the speed of OpenSSL 3.0's Ed25519 on the same machine; authd is where
 * signed requests queue, so that is their throughput.  It is also the
 * stricter of the two: besides S < L it refuses a small-order R or public
 * key and non-canonical point encodings, so no signature OpenSSL would
 * refuse gets in.
 *
 * The nonce cache remembers each nonce for twice the skew window.  When it
 * is full the oldest entry goes, and the newest timestamp among evicted
 * entries becomes a horizon: a request whose timestamp is not newer than
 * the horizon could be the replay of a forgotten nonce, so it is refused
 * as a replay.  Memory stays bounded (NONCE_LRU_SIZE entries of 40 bytes)
 * and nothing is ever let through unrecorded; size the cache for the
 * peak signed request rate times twice the skew.  Nonces are compared
 * decoded, so one differing only in letter case is a replay too.
 */
#include "pwbuild.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "authd.h"
#include "http.h"
#include "log.h"
#include "util.h"

struct nonce_entry {
	uint8_t		nonce[PWC_NONCE_LEN / 2];	/* decoded: case-blind */
	int32_t		next;		/* hash chain */
	int64_t		ts;		/* the request's timestamp */
	uint64_t	expires_ms;	/* monotonic */
};

struct nonce_cache {
	struct nonce_entry	*ring;
	size_t			 cap;
	size_t			 head;
	size_t			 count;
	int32_t			*buckets;
	size_t			 nbuckets;
	int64_t			 ttl_ms;
	int64_t			 horizon;	/* newest evicted timestamp */
};

static size_t
nonce_hash(const struct nonce_cache *nc, const uint8_t *n)
{
	uint64_t	h;

	/* Nonces are random: their first bytes hash well enough. */
	memcpy(&h, n, sizeof(h));
	return (size_t)(h % nc->nbuckets);
}

struct nonce_cache *
nonce_cache_new(size_t cap, int64_t skew)
{
	struct nonce_cache	*nc = xcalloc(1, sizeof(*nc));
	size_t			 i;

	nc->cap = cap;
	nc->ring = xcalloc(cap, sizeof(*nc->ring));
	nc->nbuckets = cap * 2 + 1;
	nc->buckets = xcalloc(nc->nbuckets, sizeof(*nc->buckets));
	for (i = 0; i < nc->nbuckets; i++)
		nc->buckets[i] = -1;
	nc->ttl_ms = 2 * skew * 1000;
	nc->horizon = INT64_MIN;
	return nc;
}

void
nonce_cache_free(struct nonce_cache *nc)
{
	if (nc == NULL)
		return;
	free(nc->ring);
	free(nc->buckets);
	free(nc);
}

static int
nonce_find(const struct nonce_cache *nc, const uint8_t *n)
{
	int32_t	i;

	for (i = nc->buckets[nonce_hash(nc, n)]; i != -1; i = nc->ring[i].next)
		if (memcmp(nc->ring[i].nonce, n, sizeof(nc->ring[i].nonce)) == 0)
			return 1;
	return 0;
}

/* Drop the oldest entry (the ring's head) from the hash chains. */
static void
nonce_pop(struct nonce_cache *nc)
{
	struct nonce_entry	*e = &nc->ring[nc->head];
	int32_t			*pp = &nc->buckets[nonce_hash(nc, e->nonce)];

	while (*pp != -1 && *pp != (int32_t)nc->head)
		pp = &nc->ring[*pp].next;
	if (*pp != -1)
		*pp = e->next;
	nc->head = (nc->head + 1) % nc->cap;
	nc->count--;
}

static void
nonce_expire(struct nonce_cache *nc, uint64_t now)
{
	while (nc->count > 0 && nc->ring[nc->head].expires_ms <= now)
		nonce_pop(nc);
}

static void
nonce_add(struct nonce_cache *nc, const uint8_t *n, int64_t ts, uint64_t now)
{
	struct nonce_entry	*e;
	size_t			 slot, b;

	nonce_expire(nc, now);
	if (nc->count == nc->cap) {
		if (nc->ring[nc->head].ts > nc->horizon)
			nc->horizon = nc->ring[nc->head].ts;
		nonce_pop(nc);
	}
	slot = (nc->head + nc->count) % nc->cap;
	e = &nc->ring[slot];
	memcpy(e->nonce, n, sizeof(e->nonce));
	e->ts = ts;
	e->expires_ms = now + (uint64_t)nc->ttl_ms;
	b = nonce_hash(nc, n);
	e->next = nc->buckets[b];
	nc->buckets[b] = (int32_t)slot;
	nc->count++;
}

static int
hexdigit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	return (c | 0x20) - 'a' + 10;
}

/* Exactly 32 hex characters, either case, decoded into 16 bytes. */
static int
nonce_decode(const char *s, uint8_t out[PWC_NONCE_LEN / 2])
{
	unsigned int	b;
	size_t		i;

	if (strlen(s) != PWC_NONCE_LEN)
		return -1;
	for (i = 0; i < PWC_NONCE_LEN; i++)
		if (!isxdigit((unsigned char)s[i]))
			return -1;
	for (i = 0; i < PWC_NONCE_LEN / 2; i++) {
		b = (unsigned int)(hexdigit(s[2 * i]) << 4 |
		    hexdigit(s[2 * i + 1]));
		out[i] = (uint8_t)b;
	}
	return 0;
}

/* Base-10 with an optional sign, as Go's strconv.ParseInt accepts. */
static int
parse_ts(const char *s, int64_t *out)
{
	char		*end;
	long long	 v;

	if (*s == '\0' || isspace((unsigned char)*s))
		return -1;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || *end != '\0')
		return -1;
	*out = v;
	return 0;
}

static const char *
key_usable(const struct authkey *k, const char *client, char *why,
    size_t whysz)
{
	if (k->expiry != 0 && (int64_t)time(NULL) >= k->expiry) {
		snprintf(why, whysz, "key %s expired", k->id);
		return "unknown-key";
	}
	if (k->nfrom > 0 && !cidr_match(k->from, k->nfrom, client)) {
		snprintf(why, whysz, "key %s not allowed from %s", k->id,
		    client);
		return "unknown-key";
	}
	return NULL;
}

/*
 * Verify one signed request.  Returns NULL and the key on success, or the
 * X-Portwing-Reason of the failure (with a log-only detail in why).
 */
const char *
sig_verify(const struct keyset *ks, struct nonce_cache *nc, int skew,
    const struct sigreq *r, const struct authkey **keyp, char *why,
    size_t whysz)
{
	const struct authkey	*k;
	const char		*bad;
	struct timespec		 now;
	int64_t			 ts, diff_ns;
	uint8_t			 sig[64], nonce[PWC_NONCE_LEN / 2];
	char			 tsbuf[32], target[HTTP_MAX_REQLINE + 2], *canon;
	int			 v2, ok;

	*keyp = NULL;
	why[0] = '\0';
	if (*r->keyid == '\0' || *r->ts == '\0' || *r->nonce == '\0' ||
	    *r->sig == '\0') {
		snprintf(why, whysz, "missing signature header");
		return "invalid-signature";
	}
	if (nonce_decode(r->nonce, nonce) == -1) {
		snprintf(why, whysz, "nonce is not 32 hex characters");
		return "invalid-signature";
	}
	if ((k = keys_find(ks, r->keyid)) == NULL) {
		snprintf(why, whysz, "no key %.16s", r->keyid);
		return "unknown-key";
	}
	if ((bad = key_usable(k, r->client, why, whysz)) != NULL)
		return bad;
	clock_gettime(CLOCK_REALTIME, &now);
	if (parse_ts(r->ts, &ts) == -1 || ts > INT64_MAX / 1000000000LL ||
	    ts < -(INT64_MAX / 1000000000LL)) {
		snprintf(why, whysz, "unparsable timestamp");
		return "timestamp-skew";
	}
	diff_ns = ((int64_t)now.tv_sec - ts) * 1000000000LL + now.tv_nsec;
	if (diff_ns < 0)
		diff_ns = -diff_ns;
	if (diff_ns > (int64_t)skew * 1000000000LL) {
		snprintf(why, whysz, "timestamp %lld is %lld s off", (long long)ts,
		    (long long)(diff_ns / 1000000000LL));
		return "timestamp-skew";
	}
	if (nonce_find(nc, nonce) || ts <= nc->horizon) {
		snprintf(why, whysz, "nonce already used");
		return "replay";
	}
	if (pwc_b64url_decode_nopad_exact(r->sig, strlen(r->sig), sig, 64) ==
	    -1) {
		snprintf(why, whysz, "signature is not 64 bytes of unpadded "
		    "base64url");
		return "invalid-signature";
	}
	v2 = strcmp(r->version, "2") == 0;
	if (!v2 && *r->version != '\0') {
		snprintf(why, whysz, "unknown signature version");
		return "invalid-signature";
	}
	if (v2) {
		if (pwc_target_v2(r->path, r->query, r->bare_qmark, target,
		    sizeof(target)) == -1) {
			snprintf(why, whysz, "target too long");
			return "invalid-signature";
		}
	} else {
		/* Legacy form: the decoded path, never with a query. */
		if (*r->query != '\0' || r->bare_qmark) {
			snprintf(why, whysz, "legacy signatures cannot cover "
			    "a query; send X-Portwing-Signature-Version: 2");
			return "invalid-signature";
		}
		http_percent_decode(r->path, strlen(r->path), target,
		    sizeof(target));
		if (target[0] == '\0')
			pw_strlcpy(target, "/", sizeof(target));
	}
	snprintf(tsbuf, sizeof(tsbuf), "%lld", (long long)ts);
	canon = pwc_canonical(r->method, target, r->bodyhex, tsbuf, r->nonce);
	ok = crypto_sign_verify_detached(sig, (const unsigned char *)canon,
	    strlen(canon), k->pub) == 0;
	free(canon);
	if (!ok) {
		snprintf(why, whysz, "signature does not verify for key %s",
		    k->id);
		return "invalid-signature";
	}
	nonce_add(nc, nonce, ts, pw_now_ms());
	*keyp = k;
	return NULL;
}
