/*
 * mtlsl.c: the mutual-TLS filter listener (LISTEN_MTLS), master and
 * worker side.  The master reads MTLS_CLIENT_CA and opens the TCP socket;
 * each worker serves it with a context of its own: the server
 * certificate (its key stays in keyd, as for the main listener), TLS 1.3
 * only, and a client certificate that must verify against the CA.  The
 * worker's verification only ends the handshake early for a stranger:
 * what counts is authd's, on the chain the worker passes on with each
 * request (authd/mtls.c).
 */
#include "pwbuild.h"

#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "config.h"
#include "ipc.h"
#include "keyd.h"
#include "log.h"
#include "mtls.h"
#include "mtlsl.h"
#include "tls.h"
#include "util.h"

int
mtls_load_ca(const struct pw_config *cfg, char **pem, size_t *len, char *err,
    size_t errsz)
{
	X509_STORE	*st;
	ssize_t		 n;
	int		 ncerts;
	char		 ferr[256];

	*pem = NULL;
	*len = 0;
	if (!cfg->mtls)
		return 0;
	if ((n = pw_read_file(cfg->val[CK_MTLS_CLIENT_CA], pem, MTLS_CA_MAX,
	    ferr, sizeof(ferr))) == -1) {
		snprintf(err, errsz, "MTLS_CLIENT_CA: %s", ferr);
		return -1;
	}
	*len = (size_t)n;
	if ((st = mtls_ca_store(*pem, *len, &ncerts, err, errsz)) == NULL) {
		free(*pem);
		*pem = NULL;
		return -1;
	}
	X509_STORE_free(st);
	return 0;
}

int
mtls_open_listener(const struct pw_config *cfg, char *err, size_t errsz)
{
	struct sockaddr_storage	ss;
	socklen_t		sl;
	int			fd, one = 1;

	memset(&ss, 0, sizeof(ss));
	if (cfg->mtls_family == AF_INET6) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)cfg->mtls_port);
		memcpy(&s6->sin6_addr, cfg->mtls_ip, 16);
		sl = sizeof(*s6);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)cfg->mtls_port);
		memcpy(&s4->sin_addr, cfg->mtls_ip, 4);
		sl = sizeof(*s4);
	}
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0);
	if (fd == -1) {
		snprintf(err, errsz, "LISTEN_MTLS: socket: %s",
		    strerror(errno));
		return -1;
	}
	(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&ss, sl) == -1 ||
	    listen(fd, 1024) == -1) {
		snprintf(err, errsz, "LISTEN_MTLS=%s: cannot listen: %s",
		    cfg->val[CK_LISTEN_MTLS], strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

SSL_CTX *
mtls_ctx_new(const char *cert, size_t certlen, uint32_t gen, const char *ca,
    size_t calen, char *err, size_t errsz)
{
	static const unsigned char	 sid[] = "portwing-mtls";
	SSL_CTX				*ctx;
	X509_STORE			*st;
	int				 ncerts;

	if ((ctx = tls_ctx_from_cert(cert, certlen, err, errsz)) == NULL)
		return NULL;
	if (keyd_client_install(ctx, gen, err, errsz) == -1)
		goto fail;
	if ((st = mtls_ca_store(ca, calen, &ncerts, err, errsz)) == NULL)
		goto fail;
	SSL_CTX_set_cert_store(ctx, st);
	SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER |
	    SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
	SSL_CTX_set_verify_depth(ctx, MTLS_CHAIN_CERTS - 1);
	/*
	 * Every connection proves its certificate afresh: no tickets, no
	 * session cache, so no connection rides on an earlier handshake.
	 */
	SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
	SSL_CTX_set_num_tickets(ctx, 0);
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	if (!SSL_CTX_set_session_id_context(ctx, sid, sizeof(sid) - 1)) {
		snprintf(err, errsz, "MTLS: session id context");
		goto fail;
	}
	return ctx;
fail:
	SSL_CTX_free(ctx);
	return NULL;
}

/* u32 count, then each certificate as str (DER), the leaf first. */
int
mtls_put_chain(SSL *ssl, struct ipc_wr *wr)
{
	STACK_OF(X509)	*sk;
	X509		*leaf, *x;
	unsigned char	*der[MTLS_CHAIN_CERTS], *p;
	int		 len[MTLS_CHAIN_CERTS], n = 0, i, total = 0;

	if ((leaf = SSL_get0_peer_certificate(ssl)) == NULL)
		return -1;
	/* On the server's side the chain may lack the leaf. */
	sk = SSL_get_peer_cert_chain(ssl);
	for (i = -1; i < (sk != NULL ? sk_X509_num(sk) : 0); i++) {
		x = i < 0 ? leaf : sk_X509_value(sk, i);
		if (i >= 0 && X509_cmp(x, leaf) == 0)
			continue;
		if (n == MTLS_CHAIN_CERTS)
			break;
		if ((len[n] = i2d_X509(x, NULL)) <= 0 ||
		    total + len[n] > MTLS_CHAIN_MAX)
			break;
		der[n] = xmalloc((size_t)len[n]);
		p = der[n];
		(void)i2d_X509(x, &p);
		total += len[n];
		n++;
	}
	ipc_wr_u32(wr, (uint32_t)n);
	for (i = 0; i < n; i++) {
		ipc_wr_u32(wr, (uint32_t)len[i]);
		ipc_wr_bytes(wr, der[i], (size_t)len[i]);
		free(der[i]);
	}
	return n > 0 ? 0 : -1;
}
