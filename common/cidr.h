/*
 * cidr.h: IPv4/IPv6 networks, for TRUSTED_PROXIES and authorized_keys
 * from="..." options.  A bare address is a /32 or /128.
 */
#ifndef PW_CIDR_H
#define PW_CIDR_H

#include <stddef.h>
#include <stdint.h>

struct cidr {
	int	family;		/* AF_INET or AF_INET6 */
	uint8_t	addr[16];
	int	bits;
};

int	cidr_parse(const char *, struct cidr *);
int	cidr_parse_list(const char *, struct cidr **, int *, char *, size_t);
int	cidr_match(const struct cidr *, int, const char *);
int	cidr_addr(const char *, int *, uint8_t[16]);

#endif
