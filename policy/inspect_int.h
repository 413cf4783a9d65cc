/*
 * inspect_int.h: helpers shared by the body inspectors (inspect.c) and
 * the request_body loader (pbody.c); the unit tests use them too.
 */
#ifndef PW_INSPECT_INT_H
#define PW_INSPECT_INT_H

#include <stddef.h>

/* A parsed device cgroup rule, "<type> <major>:<minor> <perms>". */
struct cgrule {
	char	type;		/* 'a', 'b' or 'c' */
	char	major[16];	/* digits or "*" */
	char	minor[16];
	char	perms[4];	/* a subset of "rwm" */
};

int	pol_path_clean(const char *, char *, size_t);
int	pol_user_is_root(const char *);
int	pol_cgrule_parse(const char *, struct cgrule *);
void	pol_cap_norm(const char *, char *, size_t);
int	pol_query_get(const char *, const char *, char *, size_t);
void	pol_image_registry(const char *, char *, size_t, int *);

#endif
