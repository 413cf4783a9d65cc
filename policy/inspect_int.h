/*
 * inspect_int.h: helpers shared by the body inspectors (inspect.c) and
 * the request_body loader (pbody.c); the unit tests use them too.
 */
#ifndef PW_INSPECT_INT_H
#define PW_INSPECT_INT_H

#include <stddef.h>

#include <jansson.h>

#include "inspect.h"

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

/*
 * inspect_swarm.c: services, swarm, secrets, configs and plugin
 * privileges.  top is the decoded body (never NULL; json null is an
 * empty body); pol_inspect_plugin_query judges the query of a plugin
 * pull or upgrade, whatever the body.
 */
void	pol_inspect_swarm(const struct pol_body *, enum pol_insp,
	    const char *, const char *, json_t *, struct pol_verdict *);
void	pol_inspect_plugin_query(const struct pol_body *, const char *,
	    const char *, struct pol_verdict *);

/* inspect_build.c */
void	pol_inspect_build(const struct pol_body *, const char *,
	    const uint8_t *, size_t, struct pol_verdict *);
int	pol_dockerfile_check(const char *, size_t, struct pol_verdict *);
void	pol_inspect_plugin_create(const struct pol_body *, const uint8_t *,
	    size_t, struct pol_verdict *);
/* inspect_swarm.c: a plugin's config.json (set the verdict if denied). */
void	pol_plugin_config_check(const struct pol_body *, const uint8_t *,
	    size_t, struct pol_verdict *);

#endif
