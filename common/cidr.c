/*
 * cidr.c: parsing and matching of address ranges.
 */
#include "pwbuild.h"

#include <sys/socket.h>
#include <arpa/inet.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cidr.h"
#include "util.h"

/* Parse an address (IPv4, IPv6, IPv4-mapped IPv6 folded to IPv4). */
int
cidr_addr(const char *s, int *family, uint8_t out[16])
{
	struct in6_addr	a6;

	memset(out, 0, 16);
	if (inet_pton(AF_INET, s, out) == 1) {
		*family = AF_INET;
		return 0;
	}
	if (inet_pton(AF_INET6, s, &a6) == 1) {
		if (IN6_IS_ADDR_V4MAPPED(&a6)) {
			memcpy(out, a6.s6_addr + 12, 4);
			*family = AF_INET;
		} else {
			memcpy(out, a6.s6_addr, 16);
			*family = AF_INET6;
		}
		return 0;
	}
	return -1;
}

int
cidr_parse(const char *s, struct cidr *c)
{
	char		 buf[64], *slash;
	long long	 bits;
	int		 max;

	if (pw_strlcpy(buf, s, sizeof(buf)) >= sizeof(buf))
		return -1;
	if ((slash = strchr(buf, '/')) != NULL)
		*slash++ = '\0';
	if (cidr_addr(buf, &c->family, c->addr) == -1)
		return -1;
	max = c->family == AF_INET ? 32 : 128;
	if (slash == NULL)
		c->bits = max;
	else if (pw_strtonum(slash, 0, max, &bits) == -1)
		return -1;
	else
		c->bits = (int)bits;
	return 0;
}

/* Comma-separated, items trimmed, empty items skipped. */
int
cidr_parse_list(const char *list, struct cidr **out, int *n, char *err,
    size_t errsz)
{
	char	*copy, *tok, *save = NULL, *t;

	*out = NULL;
	*n = 0;
	copy = xstrdup(list);
	for (tok = strtok_r(copy, ",", &save); tok != NULL;
	    tok = strtok_r(NULL, ",", &save)) {
		t = pw_trim(tok);
		if (*t == '\0')
			continue;
		*out = xreallocarray(*out, (size_t)*n + 1, sizeof(**out));
		if (cidr_parse(t, &(*out)[*n]) == -1) {
			snprintf(err, errsz, "\"%s\" is not an IP address or "
			    "CIDR network", t);
			free(copy);
			free(*out);
			*out = NULL;
			*n = 0;
			return -1;
		}
		(*n)++;
	}
	free(copy);
	return 0;
}

/* Is the textual address ip inside any of the n networks? */
int
cidr_match(const struct cidr *nets, int n, const char *ip)
{
	uint8_t	a[16];
	int	fam, i, b, full, rest;

	if (cidr_addr(ip, &fam, a) == -1)
		return 0;
	for (i = 0; i < n; i++) {
		if (nets[i].family != fam)
			continue;
		b = nets[i].bits;
		full = b / 8;
		rest = b % 8;
		if (memcmp(nets[i].addr, a, (size_t)full) != 0)
			continue;
		if (rest && ((nets[i].addr[full] ^ a[full]) &
		    (uint8_t)(0xff << (8 - rest))))
			continue;
		return 1;
	}
	return 0;
}
