/*
 * keyfile.h: authorized_keys and enrollment records on disk (master).
 */
#ifndef PW_KEYFILE_H
#define PW_KEYFILE_H

#include <stddef.h>

struct keyset;

int	keyfile_load(const char *, char **, size_t *, struct keyset *, char *,
	    size_t);
int	keyfile_append(const char *, const char *);
int	burn_check(const char *, const char *);
int	burn_record(const char *, const char *);

#endif
