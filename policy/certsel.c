/*
 * certsel.c: matching a verified client certificate's fields against
 * clients.client_certificate_profiles (see certsel.h).
 */
#include "pwbuild.h"

#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "certsel.h"

static int
hexval(int ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

int
pol_cert_parse_pin(const char *s, uint8_t out[POL_CERT_PIN_LEN],
    const char **why)
{
	size_t	i;
	int	hi, lo;

	if (strncasecmp(s, "sha256:", 7) == 0)
		s += 7;
	if (strlen(s) != 2 * POL_CERT_PIN_LEN) {
		*why = "must be 64 hex digits (SHA-256 of the public key "
		    "info), optionally after \"sha256:\"";
		return -1;
	}
	for (i = 0; i < POL_CERT_PIN_LEN; i++) {
		if ((hi = hexval((unsigned char)s[2 * i])) == -1 ||
		    (lo = hexval((unsigned char)s[2 * i + 1])) == -1) {
			*why = "must be 64 hex digits (SHA-256 of the public "
			    "key info), optionally after \"sha256:\"";
			return -1;
		}
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

int
pol_cert_parse_ip(const char *s, uint8_t out[16], const char **why)
{
	struct in_addr	a4;

	if (inet_pton(AF_INET, s, &a4) == 1) {
		memset(out, 0, 10);
		out[10] = out[11] = 0xff;
		memcpy(out + 12, &a4, 4);
		return 0;
	}
	if (inet_pton(AF_INET6, s, out) == 1)
		return 0;
	*why = "not an IPv4 or IPv6 address";
	return -1;
}

int
pol_cert_check_spiffe(const char *s, const char **why)
{
	const char	*td = s + 9, *slash;

	if (strncmp(s, "spiffe://", 9) != 0) {
		*why = "a SPIFFE ID starts with spiffe://";
		return -1;
	}
	slash = strchr(td, '/');
	if (*td == '\0' || slash == td) {
		*why = "a SPIFFE ID needs a trust domain";
		return -1;
	}
	if (strpbrk(s, "?#") != NULL) {
		*why = "a SPIFFE ID has no query or fragment";
		return -1;
	}
	return 0;
}

/* Equal pins, compared in constant time (no early exit). */
static int
pin_equal(const uint8_t *a, const uint8_t *b)
{
	volatile uint8_t	d = 0;
	size_t			i;

	for (i = 0; i < POL_CERT_PIN_LEN; i++)
		d |= a[i] ^ b[i];
	return d == 0;
}

static int
any_str(char *const *want, size_t nwant, const char *const *have,
    size_t nhave, int icase)
{
	size_t	i, j;

	for (i = 0; i < nwant; i++)
		for (j = 0; j < nhave; j++)
			if (icase ? strcasecmp(want[i], have[j]) == 0 :
			    strcmp(want[i], have[j]) == 0)
				return 1;
	return 0;
}

int
pol_cert_match(const struct pol_cert_profile *e, const struct pol_cert_id *id)
{
	size_t	i, j;
	int	ok;

	if (e->ncn == 0 && e->ndns == 0 && e->nip == 0 && e->nuri == 0 &&
	    e->nspiffe == 0 && e->npin == 0)
		return 0;	/* refused at load; never a wildcard */
	if (e->ncn && !any_str(e->cn, e->ncn, id->cn, id->ncn, 0))
		return 0;
	if (e->ndns && !any_str(e->dns, e->ndns, id->dns, id->ndns, 1))
		return 0;
	if (e->nuri && !any_str(e->uri, e->nuri, id->uri, id->nuri, 0))
		return 0;
	if (e->nspiffe && !any_str(e->spiffe, e->nspiffe, id->uri, id->nuri,
	    0))
		return 0;
	if (e->nip) {
		ok = 0;
		for (i = 0; i < e->nip; i++)
			for (j = 0; j < id->nip; j++)
				if (memcmp(e->ip[i], id->ip[j], 16) == 0)
					ok = 1;
		if (!ok)
			return 0;
	}
	if (e->npin) {
		/* Every pin is compared, whether or not one matched. */
		ok = 0;
		for (i = 0; i < e->npin; i++)
			ok |= pin_equal(e->pin[i], id->spki);
		if (!ok)
			return 0;
	}
	return 1;
}

const char *
pol_cert_select(const struct pol_cert_profile *v, size_t n,
    const struct pol_cert_id *id)
{
	size_t	i;

	for (i = 0; i < n; i++)
		if (pol_cert_match(&v[i], id))
			return v[i].profile;
	return NULL;
}

static void
free_strs(char **v, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

void
pol_cert_profiles_free(struct pol_cert_profile *v, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++) {
		free_strs(v[i].cn, v[i].ncn);
		free_strs(v[i].dns, v[i].ndns);
		free_strs(v[i].uri, v[i].nuri);
		free_strs(v[i].spiffe, v[i].nspiffe);
		free(v[i].ip);
		free(v[i].pin);
	}
	free(v);
}
