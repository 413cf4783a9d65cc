/*
 * tls.h: building and checking the TLS server context (agent/tls.c).
 */
#ifndef PW_TLS_H
#define PW_TLS_H

#include <stddef.h>

#include <openssl/ssl.h>

struct pw_config;

void	 tls_global_init(void);
void	 tls_handshake_ended(SSL *, unsigned long, const char *);
SSL_CTX	*tls_ctx_from_cert(const char *, size_t, char *, size_t);
SSL_CTX	*tls_ctx_from_pem(const char *, size_t, const char *, size_t,
	    char *, size_t);
int	 tls_load_files(const struct pw_config *, char **, size_t *, char **,
	    size_t *, char *, size_t);

#endif
