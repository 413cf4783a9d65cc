/*
 * pwcrypto.c: wire formats of keys, signatures and token hashes, built on
 * OpenSSL (EVP, base64) and libargon2.  Used by authd, the master (key
 * files), and the portwing CLI (keygen, hash-token, signing client).
 */
#include "pwbuild.h"

#include <sys/stat.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <argon2.h>
#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "log.h"
#include "pwcrypto.h"
#include "util.h"

/* ---- base64 (OpenSSL's codec; strictness and canonical checks here) ---- */

int
pwc_b64_encode(const uint8_t *in, size_t n, char *out, size_t outsz)
{
	if (outsz < 4 * ((n + 2) / 3) + 1 || n > INT32_MAX / 2)
		return -1;
	EVP_EncodeBlock((unsigned char *)out, in, (int)n);
	return 0;
}

static int
b64_std_char(int c)
{
	return isalnum(c) || c == '+' || c == '/';
}

/*
 * Decode exactly n padded standard-base64 bytes; the text must be the
 * canonical encoding of them (so one key has one spelling).
 */
int
pwc_b64_decode_exact(const char *in, size_t len, uint8_t *out, size_t n)
{
	unsigned char	buf[256];
	char		check[400];
	size_t		i, want = 4 * ((n + 2) / 3);
	int		r;

	if (len != want || n > 180)
		return -1;
	for (i = 0; i < len; i++)
		if (!b64_std_char((unsigned char)in[i]) &&
		    !(in[i] == '=' && i >= len - 2))
			return -1;
	r = EVP_DecodeBlock(buf, (const unsigned char *)in, (int)len);
	if (r < (int)n)
		return -1;
	memcpy(out, buf, n);
	if (pwc_b64_encode(out, n, check, sizeof(check)) == -1 ||
	    strlen(check) != len || memcmp(check, in, len) != 0)
		return -1;
	return 0;
}

/* Unpadded standard base64 (PHC strings): any length, canonical only. */
/*
 * Standard base64 of any length, padded or not (exec input, stream
 * data): 0 and *outlen, or -1 for anything else.
 */
int
pwc_b64_decode_any(const char *in, size_t len, uint8_t *out, size_t outsz,
    size_t *outlen)
{
	char	*tmp;
	size_t	 i, padded, pad = 0;
	int	 r;

	while (len > 0 && in[len - 1] == '=' && pad < 2) {
		len--;
		pad++;
	}
	if (len % 4 == 1)
		return -1;
	for (i = 0; i < len; i++)
		if (!b64_std_char((unsigned char)in[i]))
			return -1;
	padded = (len + 3) / 4 * 4;
	if ((pad > 0 && padded - len != pad) || padded / 4 * 3 > outsz)
		return -1;
	tmp = xmalloc(padded + 1);
	memcpy(tmp, in, len);
	for (i = len; i < padded; i++)
		tmp[i] = '=';
	tmp[padded] = '\0';
	r = padded ? EVP_DecodeBlock(out, (unsigned char *)tmp, (int)padded) :
	    0;
	free(tmp);
	if (r < 0)
		return -1;
	*outlen = (size_t)r - (padded - len);
	return 0;
}

int
pwc_b64_decode_nopad(const char *in, size_t len, uint8_t *out, size_t outsz,
    size_t *outlen)
{
	unsigned char	buf[256];
	char		tmp[352], check[352];
	size_t		i, padded, n;
	int		r;

	if (len == 0 || len % 4 == 1 || len > 340)
		return -1;
	for (i = 0; i < len; i++)
		if (!b64_std_char((unsigned char)in[i]))
			return -1;
	memcpy(tmp, in, len);
	padded = len;
	while (padded % 4)
		tmp[padded++] = '=';
	tmp[padded] = '\0';
	r = EVP_DecodeBlock(buf, (unsigned char *)tmp, (int)padded);
	if (r < 0)
		return -1;
	n = (size_t)r - (padded - len);
	if (n > outsz)
		return -1;
	memcpy(out, buf, n);
	/* Canonical only: the unused low bits of the last char must be 0. */
	if (pwc_b64_encode_nopad(out, n, check, sizeof(check)) == -1 ||
	    strlen(check) != len || memcmp(check, in, len) != 0)
		return -1;
	*outlen = n;
	return 0;
}

int
pwc_b64_encode_nopad(const uint8_t *in, size_t n, char *out, size_t outsz)
{
	size_t	l;

	if (pwc_b64_encode(in, n, out, outsz) == -1)
		return -1;
	l = strlen(out);
	while (l > 0 && out[l - 1] == '=')
		out[--l] = '\0';
	return 0;
}

int
pwc_b64url_encode_nopad(const uint8_t *in, size_t n, char *out, size_t outsz)
{
	char	*p;

	if (pwc_b64_encode_nopad(in, n, out, outsz) == -1)
		return -1;
	for (p = out; *p != '\0'; p++) {
		if (*p == '+')
			*p = '-';
		else if (*p == '/')
			*p = '_';
	}
	return 0;
}

/* base64url without padding, decoding to exactly n bytes. */
int
pwc_b64url_decode_nopad_exact(const char *in, size_t len, uint8_t *out,
    size_t n)
{
	char	tmp[352];
	size_t	i, got;

	if (len >= sizeof(tmp))
		return -1;
	for (i = 0; i < len; i++) {
		int c = (unsigned char)in[i];
		if (c == '-')
			tmp[i] = '+';
		else if (c == '_')
			tmp[i] = '/';
		else if (isalnum(c))
			tmp[i] = (char)c;
		else
			return -1;	/* '+', '/', '=' and the rest */
	}
	if (pwc_b64_decode_nopad(tmp, len, out, n, &got) == -1 || got != n)
		return -1;
	return 0;
}

/* ---- hashes and identifiers ---- */

/*
 * SHA-256 fetched once: EVP_sha256() makes every EVP_Digest look the
 * algorithm up by name in the provider (locks, string compares), which
 * cost more than hashing a token.
 */
const EVP_MD *
pwc_sha256_md(void)
{
	static EVP_MD	*sha256;

	if (sha256 == NULL && (sha256 = EVP_MD_fetch(NULL, "SHA256", NULL)) ==
	    NULL)
		fatalx("SHA-256 unavailable");
	return sha256;
}

void
pwc_sha256(const void *p, size_t n, uint8_t out[32])
{
	unsigned int	len = 32;

	if (!EVP_Digest(p, n, out, &len, pwc_sha256_md(), NULL) || len != 32)
		fatalx("SHA-256 failed");
}

void
pwc_sha256_hex(const void *p, size_t n, char out[65])
{
	uint8_t	d[32];

	pwc_sha256(p, n, d);
	pw_hex_encode(d, sizeof(d), out, 65);
}

void
pwc_key_id(const uint8_t pub[32], char out[PWC_KEYID_LEN + 1])
{
	uint8_t	d[32];

	pwc_sha256(pub, 32, d);
	pw_hex_encode(d, PWC_KEYID_LEN / 2, out, PWC_KEYID_LEN + 1);
}

/* The request target a version-2 signature covers: escaped path + query. */
int
pwc_target_v2(const char *path, const char *query, int bare_qmark, char *out,
    size_t outsz)
{
	int	n;

	if (path == NULL || *path == '\0')
		path = "/";
	if (query != NULL && *query != '\0')
		n = snprintf(out, outsz, "%s?%s", path, query);
	else
		n = snprintf(out, outsz, "%s%s", path, bare_qmark ? "?" : "");
	return n < 0 || (size_t)n >= outsz ? -1 : 0;
}

char *
pwc_canonical(const char *method, const char *target, const char *bodyhex,
    const char *ts, const char *nonce)
{
	char	*s;

	xasprintf(&s, "%s\n%s\n%s\n%s\n%s", method, target, bodyhex, ts, nonce);
	return s;
}

/* ---- Ed25519 ---- */

EVP_PKEY *
pwc_pubkey_from_raw(const uint8_t raw[32])
{
	return EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, raw, 32);
}

int
pwc_verify(EVP_PKEY *pk, const char *msg, size_t len, const uint8_t sig[64])
{
	EVP_MD_CTX	*ctx;
	int		 ok;

	if ((ctx = EVP_MD_CTX_new()) == NULL)
		return -1;
	ok = EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, pk) == 1 &&
	    EVP_DigestVerify(ctx, sig, 64, (const unsigned char *)msg,
	    len) == 1;
	EVP_MD_CTX_free(ctx);
	return ok ? 0 : -1;
}

int
pwc_sign(EVP_PKEY *pk, const char *msg, size_t len, uint8_t sig[64])
{
	EVP_MD_CTX	*ctx;
	size_t		 siglen = 64;
	int		 ok;

	if ((ctx = EVP_MD_CTX_new()) == NULL)
		return -1;
	ok = EVP_DigestSignInit(ctx, NULL, NULL, NULL, pk) == 1 &&
	    EVP_DigestSign(ctx, sig, &siglen, (const unsigned char *)msg,
	    len) == 1 && siglen == 64;
	EVP_MD_CTX_free(ctx);
	return ok ? 0 : -1;
}

EVP_PKEY *
pwc_keygen(void)
{
	return EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
}

int
pwc_raw_public(EVP_PKEY *pk, uint8_t out[32])
{
	size_t	len = 32;

	if (EVP_PKEY_get_base_id(pk) != EVP_PKEY_ED25519 ||
	    EVP_PKEY_get_raw_public_key(pk, out, &len) != 1 || len != 32)
		return -1;
	return 0;
}

/* PEM PKCS#8 ("PRIVATE KEY"), unencrypted; caller frees with freezero_str. */
char *
pwc_private_pem(EVP_PKEY *pk)
{
	BIO	*bio;
	char	*data, *out;
	long	 n;

	if ((bio = BIO_new(BIO_s_mem())) == NULL)
		return NULL;
	if (!PEM_write_bio_PrivateKey(bio, pk, NULL, NULL, 0, NULL, NULL)) {
		BIO_free(bio);
		return NULL;
	}
	n = BIO_get_mem_data(bio, &data);
	out = xstrndup(data, (size_t)n);
	OPENSSL_cleanse(data, (size_t)n);
	BIO_free(bio);
	return out;
}

EVP_PKEY *
pwc_private_from_pem(const char *pem, size_t len, char *err, size_t errsz)
{
	BIO		*bio;
	EVP_PKEY	*pk;

	if (memmem(pem, len, "-----BEGIN PRIVATE KEY-----", 27) == NULL) {
		snprintf(err, errsz, "not a PEM \"PRIVATE KEY\" (PKCS#8)");
		return NULL;
	}
	if ((bio = BIO_new_mem_buf(pem, (int)len)) == NULL)
		return NULL;
	pk = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
	BIO_free(bio);
	if (pk == NULL) {
		snprintf(err, errsz, "unreadable PEM private key");
		return NULL;
	}
	if (EVP_PKEY_get_base_id(pk) != EVP_PKEY_ED25519) {
		snprintf(err, errsz, "not an Ed25519 key");
		EVP_PKEY_free(pk);
		return NULL;
	}
	return pk;
}

/*
 * Credential files must be regular files nobody else can read, and that
 * only their owner can write: mode & 0004 or & 0022 is refused.
 */
int
pwc_check_secret_file_mode(int fd, const char *path, char *err, size_t errsz)
{
	struct stat	st;

	if (fstat(fd, &st) == -1) {
		snprintf(err, errsz, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(err, errsz, "%s: not a regular file", path);
		return -1;
	}
	if (st.st_mode & 0004) {
		snprintf(err, errsz, "%s: readable by everyone (mode %04o); "
		    "chmod 600 it", path, (unsigned)(st.st_mode & 07777));
		return -1;
	}
	if (st.st_mode & 0022) {
		snprintf(err, errsz, "%s: writable by group or others (mode "
		    "%04o); chmod 600 it", path, (unsigned)(st.st_mode & 07777));
		return -1;
	}
	return 0;
}

int
pwc_load_private_file(const char *path, EVP_PKEY **out, char *err,
    size_t errsz)
{
	char	buf[16384];
	ssize_t	n;
	size_t	len = 0;
	int	fd;

	*out = NULL;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) == -1) {
		snprintf(err, errsz, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (pwc_check_secret_file_mode(fd, path, err, errsz) == -1) {
		close(fd);
		return -1;
	}
	while (len < sizeof(buf) - 1 &&
	    (n = read(fd, buf + len, sizeof(buf) - 1 - len)) > 0)
		len += (size_t)n;
	close(fd);
	buf[len] = '\0';
	*out = pwc_private_from_pem(buf, len, err, errsz);
	OPENSSL_cleanse(buf, sizeof(buf));
	if (*out == NULL) {
		char tmp[256];
		snprintf(tmp, sizeof(tmp), "%s: %s", path, err);
		pw_strlcpy(err, tmp, errsz);
		return -1;
	}
	return 0;
}

/* "ed25519 <base64> [comment]" */
char *
pwc_authorized_line(EVP_PKEY *pk, const char *comment)
{
	uint8_t	raw[32];
	char	b64[64], *line;

	if (pwc_raw_public(pk, raw) == -1 ||
	    pwc_b64_encode(raw, 32, b64, sizeof(b64)) == -1)
		return NULL;
	if (comment != NULL && *comment != '\0')
		xasprintf(&line, "ed25519 %s %s", b64, comment);
	else
		xasprintf(&line, "ed25519 %s", b64);
	return line;
}

/* ---- Argon2id PHC strings ---- */

static int
phc_num(const char *s, size_t n, uint64_t max, uint32_t *out)
{
	uint64_t	v = 0;
	size_t		i;

	if (n == 0 || n > 10)
		return -1;
	for (i = 0; i < n; i++) {
		if (!isdigit((unsigned char)s[i]))
			return -1;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	if (v > max)
		return -1;
	*out = (uint32_t)v;
	return 0;
}

/*
 * $argon2id$v=19$m=M,t=T,p=P$salt$hash: exactly six '$' fields, params in
 * any order, t >= 1, 1 <= p <= 255, m >= 8p, unpadded base64.
 */
int
pwc_phc_parse(const char *s, struct pwc_phc *ph, char *err, size_t errsz)
{
	const char	*f[7], *p, *kv, *ke;
	size_t		 fl[7], n = 0;
	int		 seen_m = 0, seen_t = 0, seen_p = 0, np = 0;

	memset(ph, 0, sizeof(*ph));
	for (p = s; n < 7; n++) {
		const char *d = strchr(p, '$');
		f[n] = p;
		fl[n] = d ? (size_t)(d - p) : strlen(p);
		if (d == NULL) {
			n++;
			break;
		}
		p = d + 1;
	}
	if (n != 6 || fl[0] != 0) {
		snprintf(err, errsz, "expected $argon2id$v=19$m=..,t=..,p=..$"
		    "salt$hash");
		return -1;
	}
	if (fl[1] != 8 || strncmp(f[1], "argon2id", 8) != 0) {
		snprintf(err, errsz, "only argon2id is accepted");
		return -1;
	}
	if (fl[2] != 4 || strncmp(f[2], "v=19", 4) != 0) {
		snprintf(err, errsz, "version must be v=19");
		return -1;
	}
	for (kv = f[3]; kv < f[3] + fl[3]; kv = ke + 1) {
		uint32_t v;
		ke = memchr(kv, ',', (size_t)(f[3] + fl[3] - kv));
		if (ke == NULL)
			ke = f[3] + fl[3];
		if (ke - kv < 3 || kv[1] != '=') {
			snprintf(err, errsz, "malformed parameters");
			return -1;
		}
		np++;
		if (kv[0] == 'm' && !seen_m &&
		    phc_num(kv + 2, (size_t)(ke - kv - 2), UINT32_MAX, &v) == 0) {
			ph->m = v;
			seen_m = 1;
		} else if (kv[0] == 't' && !seen_t &&
		    phc_num(kv + 2, (size_t)(ke - kv - 2), UINT32_MAX, &v) == 0) {
			ph->t = v;
			seen_t = 1;
		} else if (kv[0] == 'p' && !seen_p &&
		    phc_num(kv + 2, (size_t)(ke - kv - 2), 255, &v) == 0) {
			ph->p = v;
			seen_p = 1;
		} else {
			snprintf(err, errsz, "malformed parameters");
			return -1;
		}
		if (ke == f[3] + fl[3])
			break;
	}
	if (np != 3 || !seen_m || !seen_t || !seen_p || ph->t < 1 ||
	    ph->p < 1 || ph->m < 8 * ph->p) {
		snprintf(err, errsz, "parameters need m, t and p with t >= 1, "
		    "1 <= p <= 255, m >= 8*p");
		return -1;
	}
	if (pwc_b64_decode_nopad(f[4], fl[4], ph->salt, sizeof(ph->salt),
	    &ph->saltlen) == -1 || ph->saltlen == 0 ||
	    pwc_b64_decode_nopad(f[5], fl[5], ph->hash, sizeof(ph->hash),
	    &ph->hashlen) == -1 || ph->hashlen < 4) {
		snprintf(err, errsz, "salt and hash must be unpadded base64");
		return -1;
	}
	return 0;
}

/* 0 when the password matches: one full Argon2id derivation. */
int
pwc_phc_verify(const struct pwc_phc *ph, const char *pw, size_t pwlen)
{
	uint8_t	out[64];
	int	ok;

	if (argon2id_hash_raw(ph->t, ph->m, ph->p, pw, pwlen, ph->salt,
	    ph->saltlen, out, ph->hashlen) != ARGON2_OK)
		return -1;
	ok = CRYPTO_memcmp(out, ph->hash, ph->hashlen) == 0;
	OPENSSL_cleanse(out, sizeof(out));
	return ok ? 0 : -1;
}

/* hash-token's parameters: m=19456 KiB, t=2, p=1, 16-byte salt, 32 bytes. */
char *
pwc_phc_hash(const char *pw, size_t pwlen)
{
	uint8_t	salt[16], hash[32];
	char	s64[32], h64[64], *out;

	pw_random_bytes(salt, sizeof(salt));
	if (argon2id_hash_raw(2, 19456, 1, pw, pwlen, salt, sizeof(salt),
	    hash, sizeof(hash)) != ARGON2_OK)
		return NULL;
	pwc_b64_encode_nopad(salt, sizeof(salt), s64, sizeof(s64));
	pwc_b64_encode_nopad(hash, sizeof(hash), h64, sizeof(h64));
	xasprintf(&out, "$argon2id$v=19$m=19456,t=2,p=1$%s$%s", s64, h64);
	OPENSSL_cleanse(hash, sizeof(hash));
	return out;
}
