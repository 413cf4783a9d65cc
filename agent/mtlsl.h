/*
 * mtlsl.h: the mutual-TLS filter listener (LISTEN_MTLS) on the master's
 * and the workers' side; authd's side is authd/mtls.c.
 */
#ifndef PW_MTLSL_H
#define PW_MTLSL_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/ssl.h>

struct pw_config;
struct ipc_wr;

/* Chains a worker passes on: at most this many certificates and bytes. */
#define MTLS_CHAIN_CERTS	8
#define MTLS_CHAIN_MAX		(32 * 1024)
#define MTLS_CA_MAX		(192 * 1024)

/* master: read MTLS_CLIENT_CA and check that it holds CA certificates. */
int	 mtls_load_ca(const struct pw_config *, char **, size_t *, char *,
	    size_t);
/* master: open the LISTEN_MTLS socket. */
int	 mtls_open_listener(const struct pw_config *, char *, size_t);
/*
 * worker: the listener's context from the certificate chain of TLS
 * generation gen (keyd signs) and the CA PEM: TLS 1.3 only, a client
 * certificate required and verified, no resumption.
 */
SSL_CTX	*mtls_ctx_new(const char *, size_t, uint32_t, const char *, size_t,
	    char *, size_t);
/* worker: the client's chain (leaf first) as DER, for authd. */
int	 mtls_put_chain(SSL *, struct ipc_wr *);

#endif
