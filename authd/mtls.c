/*
 * mtls.c: authd's side of the mutual-TLS filter listener (LISTEN_MTLS).
 *
 * A worker is assumed compromised, so the worker's own verification of
 * the client's certificate (agent/mtlsl.c) decides nothing.  With each
 * request from that listener the worker passes the client's connection
 * and the certificate chain the client sent; here authd checks that the
 * connection was accepted on LISTEN_MTLS (its local address), reads the
 * client's address from it, verifies the chain against MTLS_CLIENT_CA
 * for TLS client use (X509_verify_cert), and evaluates the policy's
 * clients.client_certificate_profiles on the verified leaf only.  The
 * approval then binds "cert:" + the leaf's digest as principal and the
 * selected profile, so the proxy applies what authd established.
 *
 * What this cannot rule out: certificates are public.  A compromised
 * worker that has seen a client's certificate can present it with
 * another client's request; see DESIGN.md "The mutual-TLS listener".
 */
#include "pwbuild.h"

#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "certsel.h"
#include "config.h"
#include "ipc.h"
#include "log.h"
#include "mtls.h"
#include "mtlsl.h"
#include "pmsg.h"
#include "policy.h"
#include "util.h"

static X509_STORE	*ca_store;
static struct policy	*pol;

X509_STORE *
mtls_ca_store(const char *pem, size_t len, int *ncerts, char *err,
    size_t errsz)
{
	X509_STORE	*st;
	BIO		*bio;
	X509		*x;

	*ncerts = 0;
	if ((st = X509_STORE_new()) == NULL ||
	    (bio = BIO_new_mem_buf(pem, (int)len)) == NULL) {
		X509_STORE_free(st);
		snprintf(err, errsz, "MTLS_CLIENT_CA: out of memory");
		return NULL;
	}
	while ((x = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL) {
		if (!X509_check_ca(x)) {
			snprintf(err, errsz, "MTLS_CLIENT_CA: certificate "
			    "%d is not a CA certificate", *ncerts + 1);
			X509_free(x);
			goto fail;
		}
		if (!X509_STORE_add_cert(st, x)) {
			X509_free(x);
			snprintf(err, errsz, "MTLS_CLIENT_CA: certificate %d "
			    "cannot be added", *ncerts + 1);
			goto fail;
		}
		X509_free(x);
		(*ncerts)++;
	}
	ERR_clear_error();
	BIO_free(bio);
	if (*ncerts == 0) {
		snprintf(err, errsz, "MTLS_CLIENT_CA: no PEM certificate "
		    "found");
		X509_STORE_free(st);
		return NULL;
	}
	return st;
fail:
	ERR_clear_error();
	BIO_free(bio);
	X509_STORE_free(st);
	return NULL;
}

void
mtls_authd_ca(const struct ipc_msg *m)
{
	struct ipc_rd	 rd;
	const char	*pem;
	size_t		 len;
	X509_STORE	*st;
	int		 n;
	char		 err[256];

	ipc_rd_init(&rd, m);
	pem = ipc_rd_strp(&rd, &len, MTLS_CA_MAX);
	if (pem == NULL || ipc_rd_end(&rd) == -1)
		fatalx("malformed MTLS_CLIENT_CA message from master");
	if ((st = mtls_ca_store(pem, len, &n, err, sizeof(err))) == NULL) {
		log_warnx("%s; keeping the previous CA", err);
		return;
	}
	X509_STORE_free(ca_store);
	ca_store = st;
	log_debug("MTLS_CLIENT_CA: %d CA certificate%s", n, n == 1 ? "" : "s");
}

void
mtls_authd_policy(const struct ipc_msg *m)
{
	struct policy	*p;
	uint32_t	 gen;
	char		 err[512];

	if ((p = policy_msg_load(m, &gen, err, sizeof(err))) == NULL) {
		log_warnx("policy not loaded, keeping the previous one: %s",
		    err);
		return;
	}
	policy_free(pol);
	pol = p;
	log_debug("policy generation %u: %zu client certificate profile%s",
	    gen, pol->ncert, pol->ncert == 1 ? "" : "s");
}

struct mtls_chain {
	unsigned char	*der[MTLS_CHAIN_CERTS];
	size_t		 len[MTLS_CHAIN_CERTS];
	int		 n;
};

void
mtls_chain_free(struct mtls_chain *ch)
{
	int	i;

	if (ch == NULL)
		return;
	for (i = 0; i < ch->n; i++)
		free(ch->der[i]);
	free(ch);
}

struct mtls_chain *
mtls_chain_read(struct ipc_rd *rd)
{
	struct mtls_chain	*ch;
	uint32_t		 n, len, total = 0, i;

	n = ipc_rd_u32(rd);
	if (rd->err || n == 0 || n > MTLS_CHAIN_CERTS)
		return NULL;
	ch = xcalloc(1, sizeof(*ch));
	for (i = 0; i < n; i++) {
		len = ipc_rd_u32(rd);
		if (rd->err || len == 0 || len > MTLS_CHAIN_MAX - total) {
			mtls_chain_free(ch);
			return NULL;
		}
		total += len;
		ch->der[i] = xmalloc(len);
		ch->len[i] = len;
		ch->n++;
		ipc_rd_bytes(rd, ch->der[i], len);
	}
	if (rd->err) {
		mtls_chain_free(ch);
		return NULL;
	}
	return ch;
}

/* Was fd accepted on LISTEN_MTLS?  Then the client's address, from it. */
static int
check_conn(const struct pw_config *cfg, int fd, char *ip, size_t ipsz)
{
	struct sockaddr_storage	 ss;
	socklen_t		 sl = sizeof(ss);
	const uint8_t		*a;
	static const uint8_t	 zero[16];
	uint8_t			 got[16];
	int			 port, fam;

	memset(&ss, 0, sizeof(ss));
	if (getsockname(fd, (struct sockaddr *)&ss, &sl) == -1)
		return -1;
	memset(got, 0, sizeof(got));
	if (ss.ss_family == AF_INET) {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
		port = ntohs(s4->sin_port);
		memcpy(got, &s4->sin_addr, 4);
		fam = AF_INET;
	} else if (ss.ss_family == AF_INET6) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
		port = ntohs(s6->sin6_port);
		a = s6->sin6_addr.s6_addr;
		if (IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr)) {
			memcpy(got, a + 12, 4);
			fam = AF_INET;
		} else {
			memcpy(got, a, 16);
			fam = AF_INET6;
		}
	} else
		return -1;
	if (port != cfg->mtls_port)
		return -1;
	/* A listener on a wildcard address accepts on any local address. */
	if (memcmp(cfg->mtls_ip, zero, 16) != 0 &&
	    (fam != cfg->mtls_family || memcmp(got, cfg->mtls_ip,
	    fam == AF_INET ? 4 : 16) != 0))
		return -1;
	memset(&ss, 0, sizeof(ss));
	sl = sizeof(ss);
	if (getpeername(fd, (struct sockaddr *)&ss, &sl) == -1)
		return -1;
	if (ss.ss_family == AF_INET) {
		inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, ip,
		    (socklen_t)ipsz);
	} else if (ss.ss_family == AF_INET6) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
		if (IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr))
			inet_ntop(AF_INET, s6->sin6_addr.s6_addr + 12, ip,
			    (socklen_t)ipsz);
		else
			inet_ntop(AF_INET6, &s6->sin6_addr, ip,
			    (socklen_t)ipsz);
	} else
		return -1;
	return 0;
}

/* An IA5String or a subject field as a C string; NULL when it has a NUL. */
static char *
asn1_cstr(const ASN1_STRING *s, int utf8)
{
	unsigned char	*u = NULL;
	char		*out;
	int		 n;

	if (utf8) {
		if ((n = ASN1_STRING_to_UTF8(&u, s)) < 0)
			return NULL;
	} else {
		n = ASN1_STRING_length(s);
		u = (unsigned char *)OPENSSL_malloc((size_t)n + 1);
		if (u == NULL)
			return NULL;
		memcpy(u, ASN1_STRING_get0_data(s), (size_t)n);
	}
	if (memchr(u, '\0', (size_t)n) != NULL) {
		OPENSSL_free(u);
		return NULL;
	}
	out = xmalloc((size_t)n + 1);
	memcpy(out, u, (size_t)n);
	out[n] = '\0';
	OPENSSL_free(u);
	return out;
}

static void
id_free(struct pol_cert_id *id)
{
	size_t	i;

	for (i = 0; i < id->ncn; i++)
		free((char *)(uintptr_t)id->cn[i]);
	for (i = 0; i < id->ndns; i++)
		free((char *)(uintptr_t)id->dns[i]);
	for (i = 0; i < id->nuri; i++)
		free((char *)(uintptr_t)id->uri[i]);
}

/* The fields of the verified leaf the selectors look at. */
static int
leaf_fields(X509 *leaf, struct pol_cert_id *id)
{
	X509_NAME		*nm = X509_get_subject_name(leaf);
	GENERAL_NAMES		*gens;
	const GENERAL_NAME	*g;
	X509_PUBKEY		*pk;
	unsigned char		*der = NULL;
	char			*s;
	unsigned int		 dl;
	int			 i, n, len;

	memset(id, 0, sizeof(*id));
	for (i = -1; nm != NULL && id->ncn < POL_CERT_ID_MAX &&
	    (i = X509_NAME_get_index_by_NID(nm, NID_commonName, i)) >= 0;) {
		s = asn1_cstr(X509_NAME_ENTRY_get_data(
		    X509_NAME_get_entry(nm, i)), 1);
		if (s != NULL)
			id->cn[id->ncn++] = s;
	}
	gens = X509_get_ext_d2i(leaf, NID_subject_alt_name, NULL, NULL);
	n = gens != NULL ? sk_GENERAL_NAME_num(gens) : 0;
	for (i = 0; i < n; i++) {
		g = sk_GENERAL_NAME_value(gens, i);
		if (g->type == GEN_DNS && id->ndns < POL_CERT_ID_MAX) {
			if ((s = asn1_cstr(g->d.dNSName, 0)) != NULL)
				id->dns[id->ndns++] = s;
		} else if (g->type == GEN_URI && id->nuri < POL_CERT_ID_MAX) {
			if ((s = asn1_cstr(g->d.uniformResourceIdentifier,
			    0)) != NULL)
				id->uri[id->nuri++] = s;
		} else if (g->type == GEN_IPADD && id->nip < POL_CERT_ID_MAX) {
			len = ASN1_STRING_length(g->d.iPAddress);
			if (len == 4) {
				memset(id->ip[id->nip], 0, 10);
				id->ip[id->nip][10] = 0xff;
				id->ip[id->nip][11] = 0xff;
				memcpy(id->ip[id->nip] + 12,
				    ASN1_STRING_get0_data(g->d.iPAddress), 4);
				id->nip++;
			} else if (len == 16) {
				memcpy(id->ip[id->nip],
				    ASN1_STRING_get0_data(g->d.iPAddress), 16);
				id->nip++;
			}
		}
	}
	GENERAL_NAMES_free(gens);
	if ((pk = X509_get_X509_PUBKEY(leaf)) == NULL ||
	    (len = i2d_X509_PUBKEY(pk, &der)) <= 0 ||
	    !EVP_Digest(der, (size_t)len, id->spki, &dl, EVP_sha256(), NULL)) {
		OPENSSL_free(der);
		id_free(id);
		return -1;
	}
	OPENSSL_free(der);
	return 0;
}

const char *
mtls_authd_verify(const struct pw_config *cfg, int fd,
    const struct mtls_chain *ch, char *ip, size_t ipsz, char *principal,
    size_t psz, char *profile, size_t prsz)
{
	X509			*leaf = NULL, *x;
	STACK_OF(X509)		*untrusted = NULL;
	X509_STORE_CTX		*ctx = NULL;
	struct pol_cert_id	 id;
	const unsigned char	*p;
	const char		*why = NULL, *name;
	unsigned char		 md[32];
	char			 hex[65];
	unsigned int		 ml;
	int			 i, rc;

	*profile = '\0';
	if (!cfg->mtls || check_conn(cfg, fd, ip, ipsz) == -1)
		return "the connection was not accepted on LISTEN_MTLS";
	if (ca_store == NULL)
		return "MTLS_CLIENT_CA is not loaded yet";
	p = ch->der[0];
	if ((leaf = d2i_X509(NULL, &p, (long)ch->len[0])) == NULL ||
	    p != ch->der[0] + ch->len[0]) {
		why = "the client certificate cannot be parsed";
		goto done;
	}
	if ((untrusted = sk_X509_new_null()) == NULL)
		fatalx("out of memory");
	for (i = 1; i < ch->n; i++) {
		p = ch->der[i];
		if ((x = d2i_X509(NULL, &p, (long)ch->len[i])) == NULL ||
		    p != ch->der[i] + ch->len[i]) {
			X509_free(x);
			why = "a chain certificate cannot be parsed";
			goto done;
		}
		if (!sk_X509_push(untrusted, x))
			fatalx("out of memory");
	}
	if ((ctx = X509_STORE_CTX_new()) == NULL ||
	    !X509_STORE_CTX_init(ctx, ca_store, leaf, untrusted))
		fatalx("X509_STORE_CTX");
	X509_STORE_CTX_set_purpose(ctx, X509_PURPOSE_SSL_CLIENT);
	X509_VERIFY_PARAM_set_depth(X509_STORE_CTX_get0_param(ctx),
	    MTLS_CHAIN_CERTS - 1);
	if ((rc = X509_verify_cert(ctx)) != 1) {
		why = X509_verify_cert_error_string(
		    X509_STORE_CTX_get_error(ctx));
		goto done;
	}
	/* The leaf authd verified, never anything else the worker sent. */
	if (!EVP_Digest(ch->der[0], ch->len[0], md, &ml, EVP_sha256(),
	    NULL)) {
		why = "digest";
		goto done;
	}
	for (i = 0; i < 16; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	snprintf(principal, psz, "cert:%s", hex);
	if (pol != NULL && pol->ncert > 0) {
		if (leaf_fields(leaf, &id) == -1) {
			why = "the client certificate's public key cannot be "
			    "read";
			goto done;
		}
		if ((name = pol_cert_select(pol->cert, pol->ncert, &id)) !=
		    NULL)
			pw_strlcpy(profile, name, prsz);
		id_free(&id);
	}
done:
	ERR_clear_error();
	X509_STORE_CTX_free(ctx);
	sk_X509_pop_free(untrusted, X509_free);
	X509_free(leaf);
	return why;
}
