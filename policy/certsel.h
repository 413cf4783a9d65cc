/*
 * certsel.h: clients.client_certificate_profiles (§7.3 of the policy
 * reference): which profile a verified client certificate selects.
 * Matching is a pure function of the policy and the fields of the
 * verified leaf, so it is unit-tested without any certificate; authd
 * (authd/mtls.c) extracts those fields from a chain it verified itself.
 */
#ifndef PW_CERTSEL_H
#define PW_CERTSEL_H

#include <stddef.h>
#include <stdint.h>

#define POL_CERT_PIN_LEN	32	/* SHA-256 of the SPKI */
#define POL_CERT_ID_MAX		32	/* names of one kind read from a leaf */

/*
 * One entry.  Fields that are set are ANDed (each must match one of its
 * values); entries are tried in order and the first that matches wins.
 * IP addresses are kept as 16 bytes, IPv4 as IPv4-mapped IPv6.
 */
struct pol_cert_profile {
	char		  profile[64];
	char		**cn;
	size_t		  ncn;
	char		**dns;
	size_t		  ndns;
	uint8_t		(*ip)[16];
	size_t		  nip;
	char		**uri;
	size_t		  nuri;
	char		**spiffe;
	size_t		  nspiffe;
	uint8_t		(*pin)[POL_CERT_PIN_LEN];
	size_t		  npin;
};

/* The fields of a verified leaf certificate, as authd read them. */
struct pol_cert_id {
	const char	*cn[POL_CERT_ID_MAX];	/* subject commonName values */
	size_t		 ncn;
	const char	*dns[POL_CERT_ID_MAX];	/* dNSName SANs */
	size_t		 ndns;
	uint8_t		 ip[POL_CERT_ID_MAX][16];	/* iPAddress SANs */
	size_t		 nip;
	const char	*uri[POL_CERT_ID_MAX];	/* URI SANs (SPIFFE IDs too) */
	size_t		 nuri;
	uint8_t		 spki[POL_CERT_PIN_LEN];
};

struct policy;

/*
 * Parsing one selector value; each returns 0 or -1 with a reason.
 * A pin is 64 hex digits, optionally after "sha256:"; an address is an
 * IPv4 or IPv6 literal; a SPIFFE ID starts with "spiffe://" and has a
 * trust domain.
 */
int	 pol_cert_parse_pin(const char *, uint8_t[POL_CERT_PIN_LEN],
	    const char **);
int	 pol_cert_parse_ip(const char *, uint8_t[16], const char **);
int	 pol_cert_check_spiffe(const char *, const char **);

/* Does one entry match the leaf's fields? */
int	 pol_cert_match(const struct pol_cert_profile *,
	    const struct pol_cert_id *);
/* The profile the first matching entry names, or NULL. */
const char *pol_cert_select(const struct pol_cert_profile *, size_t,
	    const struct pol_cert_id *);
void	 pol_cert_profiles_free(struct pol_cert_profile *, size_t);

#endif
