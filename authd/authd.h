/*
 * authd.h: the credential-verification process.  It alone holds what can
 * check a credential (token digest, Argon2id hash, authorized keys, the
 * enrollment token), answers workers with a verdict and, for accepted
 * requests, an approval the proxy will honour.  It never hands out key
 * material, and it keeps the one failed-attempt limiter for all workers.
 *
 * IPC_W_AUTH_REQ payload (worker -> authd), in order:
 *   u32 flags (AUTHF_*), str client (TCP peer), str method, str target,
 *   str path (escaped), str query (raw, "" when none), u32 bare '?',
 *   str presented token ("" when none), str X-Forwarded-For (first line),
 *   str X-Real-IP, then the five X-Portwing-* signature headers as str
 *   (key ID, timestamp, nonce, signature, signature version), then
 *   32 bytes SHA-256 of the body (signed requests); with AUTHF_CERT
 *   (authd/mtls.h), u32 count and that many certificates (u32 length,
 *   DER), leaf first.  AUTHF_PEER and AUTHF_CERT come with the client's
 *   connection as the descriptor.  With AUTHF_FORWARD (never with those
 *   two): u64 stream id, u32 REQ flags, and to the end of the payload the
 *   rest of the REQ payload (method onwards, proxy/proxy.h), which authd
 *   passes on to the proxy
 *   with the approval (IPC_A_REQ) instead of answering the worker; a
 *   refusal is still answered to the worker.
 * IPC_A_AUTH_ANS payload (authd -> worker), hdr.id echoed:
 *   u32 verdict (enum auth_verdict), str reason (X-Portwing-Reason for
 *   Ed25519 refusals and AUTH_REASON_NO_KEYS, the metric label of other
 *   401s, else the 429 text), str principal, approval.
 * IPC_W_ENROLL_REQ (worker -> authd): str client, str request body.
 * IPC_A_ENROLL_ANS (authd -> worker): u32 status, str content type,
 *   str body.
 */
#ifndef PW_AUTHD_H
#define PW_AUTHD_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "cidr.h"
#include "pwcrypto.h"

#define AUTHD_MAX_TOKEN		4096

#define AUTHF_SIGNED		0x01	/* X-Portwing-Signature present */
#define AUTHF_PEER		0x02	/* from LISTEN_SOCKET: fd = the client's
					   connection, for its peer credentials */
#define AUTHF_FORWARD		0x08	/* approved: pass it on to the proxy */

/*
 * The refusal of a token request that also carried signature headers
 * while no authorized keys are configured: the signature was ignored.
 * Sent as X-Portwing-Reason; counted as bad_token.
 */
#define AUTH_REASON_NO_KEYS	"no-authorized-keys"

/* keys.c */
struct authkey {
	char		 id[PWC_KEYID_LEN + 1];
	uint8_t		 pub[32];	/* what sig.c verifies with */
	char		 comment[256];
	struct cidr	*from;
	int		 nfrom;
	int64_t		 expiry;	/* unix seconds; 0 = never */
	char		 policy[64];
};

struct keyset {
	struct authkey	*keys;
	int		 n;
};

int	 keys_parse(const char *, size_t, struct keyset *, char *, size_t);
void	 keys_free(struct keyset *);
const struct authkey *keys_find(const struct keyset *, const char *);

/* sig.c */
struct nonce_cache;

struct sigreq {
	const char	*method;
	const char	*path;		/* escaped, as received */
	const char	*query;		/* raw, or "" */
	int		 bare_qmark;
	const char	*client;	/* effective client address */
	const char	*keyid;
	const char	*ts;
	const char	*nonce;
	const char	*sig;
	const char	*version;
	char		 bodyhex[PWC_SHA256_HEX_LEN + 1];
};

struct nonce_cache *nonce_cache_new(size_t, int64_t);
void	 nonce_cache_free(struct nonce_cache *);
const char *sig_verify(const struct keyset *, struct nonce_cache *, int,
	    const struct sigreq *, const struct authkey **, char *, size_t);

/* token.c */
void	token_configure(const char *, const char *);
int	token_configured(void);
int	token_is_hash(void);
int	token_verify_fast(const char *, size_t, int *);
void	token_remember(const char *, size_t);
int	token_verify_slow(const char *, size_t);

struct event_base;

/* argon.c: derivations off the event loop. */
typedef void (*argon_done)(void *, int);
int	argon_init(struct event_base *, int);
int	argon_submit(const char *, size_t, argon_done, void *);
int	argon_busy(void);

/* limiter.c */
#define LIM_ADDRESS	1	/* the address used up its failures */
#define LIM_GLOBAL	2	/* unknown address, global budget spent */
void	limiter_init(struct event_base *);
int	 limiter_rate(const char *, int);
int	limiter_blocked(const char *);
int	limiter_key_blocked(const char *);
void	limiter_key_fail(const char *);
int	limiter_abuse_blocked(const char *);
void	limiter_fail(const char *);
void	limiter_abuse(const char *);
int	limiter_acquire(const char *);
void	limiter_release(const char *);
void	client_address(const char *, const char *, const char *,
	    const struct cidr *, int, char *, size_t);

#endif
