/*
 * tls.c: the TLS server context, built from PEM held in memory.  The master
 * uses it to validate TLS_CERT/TLS_KEY at start and on SIGHUP; workers use
 * it to build the context they serve with (they cannot open files) from
 * the certificate chain alone; keyd (agent/keyd.c) holds the key.
 *
 * Policy: TLS 1.2 and 1.3 only, AEAD suites only, X25519 and P-256 only,
 * no renegotiation, no compression, ALPN limited to http/1.1.
 *
 * A failed handshake is logged with the peer, the alert (sent or
 * received) and OpenSSL's reason, at most once a minute per worker; the
 * next line says how many were not logged in between.
 */
#include "pwbuild.h"

#include <stdint.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>

#include "config.h"
#include "ipc_msg.h"
#include "log.h"
#include "tls.h"
#include "util.h"

#define TLS12_CIPHERS	"ECDHE-ECDSA-AES256-GCM-SHA384:" \
			"ECDHE-RSA-AES256-GCM-SHA384:" \
			"ECDHE-ECDSA-AES128-GCM-SHA256:" \
			"ECDHE-RSA-AES128-GCM-SHA256:" \
			"ECDHE-ECDSA-CHACHA20-POLY1305:" \
			"ECDHE-RSA-CHACHA20-POLY1305"
#define TLS_SIGALGS	"ECDSA+SHA256:ECDSA+SHA384:ECDSA+SHA512:" \
			"rsa_pss_rsae_sha256:rsa_pss_rsae_sha384:" \
			"rsa_pss_rsae_sha512:RSA+SHA256:RSA+SHA384:RSA+SHA512"
#define TLS13_SUITES	"TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:" \
			"TLS_CHACHA20_POLY1305_SHA256"
#define TLS_LOG_EVERY_MS	60000

#define ALERT_RECEIVED	0x10000
#define ALERT_SENT	0x20000

/* Per connection: the first alert, as (direction | value), in ex data. */
static int		tls_alert_idx = -1;
static uint64_t		tls_logged_ms;
static unsigned long	tls_unlogged;

void
tls_global_init(void)
{
	if (!OPENSSL_init_ssl(OPENSSL_INIT_LOAD_SSL_STRINGS |
	    OPENSSL_INIT_LOAD_CRYPTO_STRINGS | OPENSSL_INIT_LOAD_CONFIG, NULL))
		fatalx("OpenSSL initialisation failed");
	tls_alert_idx = SSL_get_ex_new_index(0, NULL, NULL, NULL, NULL);
}

/* The first alert of a connection is the one that says why it failed. */
static void
tls_info(const SSL *cssl, int where, int ret)
{
	SSL	*ssl = (SSL *)(uintptr_t)cssl;

	if (!(where & SSL_CB_ALERT) || tls_alert_idx < 0 ||
	    SSL_get_ex_data(ssl, tls_alert_idx) != NULL)
		return;
	(void)SSL_set_ex_data(ssl, tls_alert_idx, (void *)(uintptr_t)
	    ((where & SSL_CB_READ ? ALERT_RECEIVED : ALERT_SENT) |
	    (ret & 0xffff)));
}

/*
 * A TLS connection ended (error or EOF).  When its handshake had not
 * finished and something was said (an alert, an OpenSSL error), log it
 * with the peer: rate-limited, since anyone can cause it.  A peer that
 * connects and closes without a byte is not worth a line.
 */
void
tls_handshake_ended(SSL *ssl, unsigned long err, const char *peer)
{
	uintptr_t	 a;
	uint64_t	 now = pw_now_ms();
	char		 alert[96], reason[160];
	const char	*r;

	if (ssl == NULL || SSL_is_init_finished(ssl))
		return;
	/* Nothing received: a port probe, not a client that failed. */
	if (SSL_get_rbio(ssl) == NULL ||
	    BIO_number_read(SSL_get_rbio(ssl)) == 0)
		return;
	a = tls_alert_idx < 0 ? 0 :
	    (uintptr_t)SSL_get_ex_data(ssl, tls_alert_idx);
	if (a == 0 && err == 0)
		return;
	if (tls_logged_ms != 0 && now - tls_logged_ms < TLS_LOG_EVERY_MS) {
		tls_unlogged++;
		return;
	}
	if (a != 0)
		snprintf(alert, sizeof(alert), "alert %s %s",
		    SSL_alert_desc_string_long((int)(a & 0xffff)),
		    a & ALERT_RECEIVED ? "received" : "sent");
	else
		pw_strlcpy(alert, "no alert", sizeof(alert));
	r = err != 0 ? ERR_reason_error_string(err) : NULL;
	snprintf(reason, sizeof(reason), "%s", r != NULL ? r :
	    err != 0 ? "unknown error" : "connection closed");
	if (tls_unlogged > 0)
		log_warnx("TLS handshake with %s failed: %s (%s); %lu more "
		    "failed handshake(s) not logged since the last line", peer,
		    alert, reason, tls_unlogged);
	else
		log_warnx("TLS handshake with %s failed: %s (%s)", peer, alert,
		    reason);
	tls_logged_ms = now;
	tls_unlogged = 0;
}

static int
alpn_select(SSL *ssl, const unsigned char **out, unsigned char *outlen,
    const unsigned char *in, unsigned int inlen, void *arg)
{
	static const unsigned char h11[] = "\x08http/1.1";
	unsigned char	*sel;

	if (SSL_select_next_proto(&sel, outlen, h11, sizeof(h11) - 1, in,
	    inlen) != OPENSSL_NPN_NEGOTIATED)
		return SSL_TLSEXT_ERR_NOACK;	/* e.g. h2 only: no ALPN */
	*out = sel;
	return SSL_TLSEXT_ERR_OK;
}

static void
tls_err(char *err, size_t errsz, const char *what)
{
	unsigned long	e = ERR_get_error();
	char		buf[256];

	ERR_error_string_n(e, buf, sizeof(buf));
	snprintf(err, errsz, "%s: %s", what, e ? buf : "unknown error");
	ERR_clear_error();
}

/* A context with portwing's policy and TLS_CERT's chain, but no key yet. */
SSL_CTX *
tls_ctx_from_cert(const char *cert, size_t certlen, char *err, size_t errsz)
{
	SSL_CTX		*ctx = NULL;
	BIO		*bio = NULL;
	X509		*x = NULL;
	int		 first = 1;

	if ((ctx = SSL_CTX_new(TLS_server_method())) == NULL) {
		tls_err(err, errsz, "SSL_CTX_new");
		return NULL;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION);
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION |
	    SSL_OP_NO_COMPRESSION | SSL_OP_CIPHER_SERVER_PREFERENCE |
	    SSL_OP_NO_TLSv1 | SSL_OP_NO_TLSv1_1 |
	    /* Decrypted records hold request heads (tokens): wipe them. */
	    SSL_OP_CLEANSE_PLAINTEXT);
	/*
	 * Signatures: SHA-2 digests only, which are all keyd signs
	 * (agent/keyd.c).
	 */
	if (!SSL_CTX_set_cipher_list(ctx, TLS12_CIPHERS) ||
	    !SSL_CTX_set_ciphersuites(ctx, TLS13_SUITES) ||
	    !SSL_CTX_set1_groups_list(ctx, "X25519:P-256") ||
	    !SSL_CTX_set1_sigalgs_list(ctx, TLS_SIGALGS)) {
		tls_err(err, errsz, "TLS policy");
		goto fail;
	}
	SSL_CTX_set_alpn_select_cb(ctx, alpn_select, NULL);
	SSL_CTX_set_info_callback(ctx, tls_info);
	SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);

	if ((bio = BIO_new_mem_buf(cert, (int)certlen)) == NULL)
		goto fail;
	while ((x = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL) {
		if (first) {
			if (!SSL_CTX_use_certificate(ctx, x)) {
				tls_err(err, errsz, "TLS_CERT");
				X509_free(x);
				goto fail;
			}
			X509_free(x);
			first = 0;
		} else if (!SSL_CTX_add_extra_chain_cert(ctx, x)) {
			X509_free(x);
			tls_err(err, errsz, "TLS_CERT chain");
			goto fail;
		}
	}
	ERR_clear_error();
	BIO_free(bio);
	bio = NULL;
	if (first) {
		snprintf(err, errsz, "TLS_CERT: no PEM certificate found");
		goto fail;
	}
	return ctx;
fail:
	BIO_free(bio);
	SSL_CTX_free(ctx);
	return NULL;
}

/*
 * The whole context, certificate and key.  The master uses it to check
 * that the two belong together; workers never see the key.
 */
SSL_CTX *
tls_ctx_from_pem(const char *cert, size_t certlen, const char *key,
    size_t keylen, char *err, size_t errsz)
{
	SSL_CTX		*ctx;
	BIO		*bio = NULL;
	EVP_PKEY	*pk = NULL;

	if ((ctx = tls_ctx_from_cert(cert, certlen, err, errsz)) == NULL)
		return NULL;
	if ((bio = BIO_new_mem_buf(key, (int)keylen)) == NULL)
		goto fail;
	if ((pk = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL)) == NULL) {
		tls_err(err, errsz, "TLS_KEY: no usable PEM private key");
		goto fail;
	}
	if (EVP_PKEY_get_id(pk) != EVP_PKEY_RSA &&
	    EVP_PKEY_get_id(pk) != EVP_PKEY_EC) {
		snprintf(err, errsz, "TLS_KEY: only RSA and ECDSA keys are "
		    "supported");
		goto fail;
	}
	if (!SSL_CTX_use_PrivateKey(ctx, pk) ||
	    !SSL_CTX_check_private_key(ctx)) {
		tls_err(err, errsz, "TLS_KEY does not match TLS_CERT");
		goto fail;
	}
	EVP_PKEY_free(pk);
	BIO_free(bio);
	return ctx;
fail:
	EVP_PKEY_free(pk);
	BIO_free(bio);
	SSL_CTX_free(ctx);
	return NULL;
}

/*
 * Read TLS_CERT and TLS_KEY (when configured) and check them with OpenSSL.
 * On success the PEM texts are returned for the workers; on error nothing
 * is left allocated.
 */
int
tls_load_files(const struct pw_config *cfg, char **cert, size_t *certlen,
    char **key, size_t *keylen, char *err, size_t errsz)
{
	SSL_CTX	*ctx;
	ssize_t	 n;
	char	 ferr[256];

	*cert = *key = NULL;
	if (!cfg->tls)
		return 0;
	if ((n = pw_read_file(cfg->val[CK_TLS_CERT], cert, IPC_MAX_TLS / 2,
	    ferr, sizeof(ferr))) == -1) {
		snprintf(err, errsz, "TLS_CERT: %s", ferr);
		return -1;
	}
	*certlen = (size_t)n;
	if ((n = pw_read_file(cfg->val[CK_TLS_KEY], key, IPC_MAX_TLS / 2,
	    ferr, sizeof(ferr))) == -1) {
		snprintf(err, errsz, "TLS_KEY: %s", ferr);
		free(*cert);
		*cert = NULL;
		return -1;
	}
	*keylen = (size_t)n;
	if ((ctx = tls_ctx_from_pem(*cert, *certlen, *key, *keylen, err,
	    errsz)) == NULL) {
		free(*cert);
		freezero(*key, *keylen);
		*cert = *key = NULL;
		return -1;
	}
	SSL_CTX_free(ctx);
	return 0;
}

