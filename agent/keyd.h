/*
 * keyd.h: the TLS key process ("portwingd: keyd") and the workers' side of
 * it (agent/keyd.c).  keyd holds TLS_KEY; a worker holds only the
 * certificate, and its handshake signatures are made by keyd.
 */
#ifndef PW_KEYD_H
#define PW_KEYD_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/ssl.h>

#define KEYD_TIMEOUT_MS		1000	/* a worker waits this long for keyd */
#define KEYD_RATE		2000	/* signatures per second per worker */
#define KEYD_BURST		2000

/* Worker side. */
void	keyd_client_chan(int, uint32_t);
int	keyd_client_install(SSL_CTX *, uint32_t, char *, size_t);
#ifdef PW_TEST_HOOKS
void	keyd_test_probe(const char *, char *, size_t);
#endif

#endif
