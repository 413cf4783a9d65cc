/*
 * mtls.h: authd's side of the mutual-TLS filter listener (LISTEN_MTLS):
 * the client certificate chain a worker passes on is verified again
 * here, against MTLS_CLIENT_CA, and its leaf selects the profile.
 */
#ifndef PW_AUTHD_MTLS_H
#define PW_AUTHD_MTLS_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/x509.h>

struct pw_config;
struct ipc_msg;
struct ipc_rd;

#define AUTHF_CERT		0x04	/* from LISTEN_MTLS: fd = the client's
					   connection; the payload ends with
					   its certificate chain */

/* A store of the CA certificates in PEM text (at least one). */
X509_STORE	*mtls_ca_store(const char *, size_t, int *, char *, size_t);

/* IPC_M_MTLS_AUTHD and IPC_M_POLICY (authd keeps the policy's selectors). */
void		 mtls_authd_ca(const struct ipc_msg *);
void		 mtls_authd_policy(const struct ipc_msg *);

struct mtls_chain;
/* Read the chain at the end of an IPC_W_AUTH_REQ (NULL: malformed). */
struct mtls_chain *mtls_chain_read(struct ipc_rd *);
void		 mtls_chain_free(struct mtls_chain *);

/*
 * Verify a request from LISTEN_MTLS: fd must be a connection accepted on
 * that listener (authd reads the client's address from it), the chain
 * must verify against MTLS_CLIENT_CA for TLS client use.  On success
 * returns NULL and fills the address, the principal ("cert:" and the
 * first 128 bits of the leaf's SHA-256, hex) and the profile its
 * fields select ("" when none); else the reason for the refusal.
 */
const char	*mtls_authd_verify(const struct pw_config *, int,
		    const struct mtls_chain *, char *, size_t, char *, size_t,
		    char *, size_t);

#endif
