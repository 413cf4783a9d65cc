/*
 * token.c (authd): the shared-token credential, raw or as an Argon2id
 * hash.  A raw token is kept only as its SHA-256 and compared in constant
 * time.  With a hash, the first successful derivation caches SHA-256 of
 * the token, so later requests with it cost a hash; any other token pays
 * the full derivation (done on argon.c's threads), so guessing stays as
 * expensive as the hash parameters say.
 */
#include "pwbuild.h"

#include <string.h>

#include <openssl/crypto.h>

#include "authd.h"
#include "log.h"
#include "util.h"

enum { TOK_NONE, TOK_RAW, TOK_HASH };

static int		tok_mode;
static uint8_t		tok_digest[32];	/* raw: the token; hash: the cache */
static int		tok_cached;
static struct pwc_phc	tok_phc;

void
token_configure(const char *raw, const char *phc)
{
	char	err[128];

	OPENSSL_cleanse(tok_digest, sizeof(tok_digest));
	OPENSSL_cleanse(&tok_phc, sizeof(tok_phc));
	tok_cached = 0;
	tok_mode = TOK_NONE;
	if (raw != NULL && *raw != '\0') {
		pwc_sha256(raw, strlen(raw), tok_digest);
		tok_mode = TOK_RAW;
	} else if (phc != NULL && *phc != '\0') {
		if (pwc_phc_parse(phc, &tok_phc, err, sizeof(err)) == -1)
			fatalx("TOKEN_HASH from master: %s", err);
		tok_mode = TOK_HASH;
	}
}

int
token_configured(void)
{
	return tok_mode != TOK_NONE;
}

int
token_is_hash(void)
{
	return tok_mode == TOK_HASH;
}

/*
 * The cheap check.  Returns 1 when the token is good; 0 with *slow set
 * when only a derivation can tell (hash mode, not the cached token).
 */
int
token_verify_fast(const char *p, size_t n, int *slow)
{
	uint8_t	d[32];
	int	ok;

	*slow = 0;
	if (tok_mode == TOK_NONE || n == 0)
		return 0;
	pwc_sha256(p, n, d);
	if (tok_mode == TOK_RAW || tok_cached)
		ok = pw_ct_equal(d, tok_digest, sizeof(d));
	else
		ok = 0;
	OPENSSL_cleanse(d, sizeof(d));
	if (!ok && tok_mode == TOK_HASH)
		*slow = 1;
	return ok;
}

/* After a successful derivation: later requests cost a hash. */
void
token_remember(const char *p, size_t n)
{
	if (tok_mode != TOK_HASH)
		return;
	pwc_sha256(p, n, tok_digest);
	tok_cached = 1;
}

/* One full Argon2id derivation (runs on an argon.c thread). */
int
token_verify_slow(const char *p, size_t n)
{
	struct pwc_phc	ph = tok_phc;
	int		ok;

	ok = pwc_phc_verify(&ph, p, n) == 0;
	OPENSSL_cleanse(&ph, sizeof(ph));
	return ok;
}
