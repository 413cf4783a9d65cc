/*
 * polint.h: what the policy engine's files (engine.c, pconf.c, compat.c)
 * share and nobody else needs.
 */
#ifndef PW_POLINT_H
#define PW_POLINT_H

#include <stdarg.h>

#include "policy.h"

#define POL_DEFAULT_DENY	"no matching allow rule"
#define POL_PROBE_ID		"sockguard-test"

/* engine.c */
struct policy	*pol_new(const char *);
void		 pol_vis_free(struct pol_vis *);
void		 pol_warn(struct policy *, const char *, ...)
		    __attribute__((__format__(printf, 2, 3)));
int		 pol_rule_init(struct pol_rule *, const char *, const char *,
		    int, const char *, char *, size_t);
void		 pol_rule_free(struct pol_rule *);
void		 pol_ruleset_free(struct pol_ruleset *);
struct pol_rule	*pol_ruleset_add(struct pol_ruleset *);
int		 pol_ruleset_default(struct pol_ruleset *);
int		 pol_ruleset_is_default(const struct pol_ruleset *);
int		 pol_version_prefix_len(const char *);

/* pconf.c */
struct policy	*pol_load(const char *, const char *, const char *, size_t,
		    char *, size_t);
int		 pol_probe(const struct policy *, char *, size_t);
const struct pol_profile *pol_profile_find(const struct policy *,
		    const char *);

/* compat.c */
int		 pol_compat_present(char *const *);
int		 pol_compat_apply(struct policy *, char *const *, char *,
		    size_t);

#endif
