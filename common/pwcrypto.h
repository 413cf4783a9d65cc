/*
 * pwcrypto.h: the cryptographic formats portwing shares with Portwing and
 * Drydock (reference http-and-auth.md section 6), on top of OpenSSL and
 * libargon2.  Nothing here implements a primitive.
 *
 *   key ID       hex(SHA-256(raw 32-byte Ed25519 public key)[0..8))
 *   canonical    METHOD \n TARGET \n hex(SHA-256(body)) \n TS \n NONCE
 *   signature    Ed25519 over the canonical string, base64url, no padding
 *   public key   standard padded base64 of the raw 32 bytes
 *   private key  PEM "PRIVATE KEY" (PKCS#8)
 *   token hash   $argon2id$v=19$m=M,t=T,p=P$salt$hash (unpadded base64)
 */
#ifndef PW_PWCRYPTO_H
#define PW_PWCRYPTO_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#define PWC_KEYID_LEN		16		/* hex characters */
#define PWC_PUBKEY_B64_LEN	44
#define PWC_SIG_B64URL_LEN	86
#define PWC_NONCE_LEN		32		/* hex characters */
#define PWC_SHA256_HEX_LEN	64

/* Encodings (OpenSSL underneath); all strict, canonical forms only. */
int	pwc_b64_encode(const uint8_t *, size_t, char *, size_t);
int	pwc_b64_decode_exact(const char *, size_t, uint8_t *, size_t);
int	pwc_b64url_encode_nopad(const uint8_t *, size_t, char *, size_t);
int	pwc_b64url_decode_nopad_exact(const char *, size_t, uint8_t *, size_t);
int	pwc_b64_decode_nopad(const char *, size_t, uint8_t *, size_t, size_t *);
int	pwc_b64_decode_any(const char *, size_t, uint8_t *, size_t, size_t *);
int	pwc_b64_encode_nopad(const uint8_t *, size_t, char *, size_t);

const EVP_MD	*pwc_sha256_md(void);	/* fetched once */
void	pwc_sha256(const void *, size_t, uint8_t[32]);
void	pwc_sha256_hex(const void *, size_t, char[65]);
void	pwc_key_id(const uint8_t[32], char[PWC_KEYID_LEN + 1]);

/* Canonical string; caller frees.  target is what the version signs. */
char	*pwc_canonical(const char *, const char *, const char *, const char *,
	    const char *);
int	 pwc_target_v2(const char *, const char *, int, char *, size_t);

/* Ed25519. */
EVP_PKEY *pwc_pubkey_from_raw(const uint8_t[32]);
int	 pwc_verify(EVP_PKEY *, const char *, size_t, const uint8_t[64]);
int	 pwc_sign(EVP_PKEY *, const char *, size_t, uint8_t[64]);
EVP_PKEY *pwc_keygen(void);
int	 pwc_raw_public(EVP_PKEY *, uint8_t[32]);
char	*pwc_private_pem(EVP_PKEY *);
EVP_PKEY *pwc_private_from_pem(const char *, size_t, char *, size_t);
int	 pwc_load_private_file(const char *, EVP_PKEY **, char *, size_t);
int	 pwc_check_secret_file_mode(int, const char *, char *, size_t);
char	*pwc_authorized_line(EVP_PKEY *, const char *);

/* Argon2id PHC strings. */
struct pwc_phc {
	uint32_t	m;
	uint32_t	t;
	uint32_t	p;
	uint8_t		salt[64];
	size_t		saltlen;
	uint8_t		hash[64];
	size_t		hashlen;
};
int	pwc_phc_parse(const char *, struct pwc_phc *, char *, size_t);
int	pwc_phc_verify(const struct pwc_phc *, const char *, size_t);
char	*pwc_phc_hash(const char *, size_t);

#endif
